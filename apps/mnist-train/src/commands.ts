// The three commands of mnist-train: train (and resume), evaluate a checkpoint, predict one test image.
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { Generator, getBackend, setBackend, setNumThreads, setWorkerFactory } from "@tsgrad/tensor";
import { CrossEntropyLoss, type StateDict } from "@tsgrad/nn";
import { Adam } from "@tsgrad/optim";
import { DataLoader } from "@tsgrad/data";
import { writeFileAtomic, type MnistData } from "@tsgrad/data/node";
import { UsageError, type DatasetName, type PredictOptions, type RunSettings, type TrainOptions } from "./cli.js";
import { readCheckpoint, writeCheckpoint, type Checkpoint, type RunState } from "./checkpoint.js";
import { loadData, type LoadDataOptions } from "./data.js";
import { color, columns, err, Failure, out, st, stop, STOPS, Stopped, type StopReason } from "./io.js";
import { buildModel, countParameters, describeModel, IMAGE_SIZE } from "./model.js";
import { epochProgress, formatDuration } from "./progress.js";
import { describeLabel, predictImage, renderDigit, topK } from "./predict.js";
import { renderReport, type EpochRecord } from "./report.js";
import { checkTrainingSplit, recordedRun, resolveRun, type CheckpointUse, type MidEpoch, type RecordedRun } from "./run-settings.js";
import { count } from "./text.js";
import { evaluate, trainEpoch, type EpochState } from "./train.js";

const FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const TITLES: Readonly<Record<DatasetName, string>> = { mnist: "MNIST", "fashion-mnist": "Fashion-MNIST" };

function dataOptions(o: TrainOptions | PredictOptions, dataset: DatasetName, quiet: boolean): LoadDataOptions {
  return { dataset, dataDir: o.dataDir, cacheDir: o.cacheDir, download: o.download, verbose: o.verbose, quiet };
}

function load(o: LoadDataOptions): Promise<MnistData> {
  return loadData(o, { write: err, isTTY: process.stderr.isTTY === true, columns });
}

/** Threads (`--threads`, default the cores) and kernels (`--backend`) for a command that computes; returns the threads. */
function setUpKernels(o: { threads?: number | undefined; backend?: "js" | "wasm" | undefined }): number {
  const n = o.threads ?? availableParallelism();
  setWorkerFactory((source: string) => new Worker(source, { eval: true }));
  setNumThreads(n);
  if (o.backend !== undefined) setBackend(o.backend);
  return n;
}

/** Reads a checkpoint; any failure names the flag and the user's path. */
function openCheckpoint(flag: string, path: string, withOptimizer: boolean): Checkpoint {
  try {
    return readCheckpoint(path, { withOptimizer });
  } catch (e) {
    const reason = (e as Error).message.replace(/^loadSafetensors: /, "");
    throw new Failure(`${flag} ${path} cannot be read as a checkpoint: ${reason}`);
  }
}

/** Hidden width of a checkpoint's first layer (`0.weight` is [hidden, 784]). */
function hiddenOf(model: StateDict, flag: string, path: string): number {
  const w = model["0.weight"];
  if (w === undefined || w.shape.length !== 2 || w.shape[1] !== IMAGE_SIZE) {
    throw new Failure(`${flag} ${path} does not hold the weights of Linear(784, hidden) → ReLU → Linear(hidden, 10) (no 0.weight [hidden, 784])`);
  }
  return w.shape[0]!;
}

/** Loads a checkpoint's weights into `model`; a mismatch names the file. */
function loadWeights(model: ReturnType<typeof buildModel>, weights: StateDict, flag: string, path: string): void {
  try {
    model.loadStateDict(weights);
  } catch (e) {
    throw new Failure(`${flag} ${path}: ${(e as Error).message}`);
  }
}

/** The run a checkpoint defines, with the flags checked against it; notes go to standard error. */
function checkpointRun(
  use: CheckpointUse, flag: string, path: string, ckpt: Checkpoint,
  o: { given: Partial<RunSettings>; override: boolean; quiet?: boolean }, midEpoch: MidEpoch | null,
) {
  const recorded = recordedRun(ckpt.run?.options ?? null);
  const resolved = resolveRun({
    use, flag, path, recorded, weightsHidden: hiddenOf(ckpt.model, flag, path), given: o.given, override: o.override, midEpoch,
  });
  if (o.quiet !== true) for (const n of resolved.notes) err(`note: ${n}\n`);
  return { recorded, ...resolved };
}

/** `--eval PATH`: the test loss and accuracy of a checkpoint, on the dataset it was trained on. */
export async function evalCheckpoint(o: TrainOptions, path: string): Promise<number> {
  setUpKernels(o);
  const ckpt = openCheckpoint("--eval", path, false);
  const { settings } = checkpointRun("eval", "--eval", path, ckpt, o, null);
  const data = await load(dataOptions(o, settings.dataset, o.quiet));
  const model = buildModel(settings.hidden, new Generator(0));
  loadWeights(model, ckpt.model, "--eval", path);
  const t0 = performance.now();
  const ev = evaluate(model, data.test);
  const epochs = ckpt.run === null ? "" : `, ${count(ckpt.run.epoch, "epoch")}`;
  out(`${data.description}\n`);
  out(`checkpoint ${path} (${TITLES[settings.dataset]}, hidden ${settings.hidden}${epochs}): test loss ${ev.loss.toFixed(4)}, ` +
    `test accuracy ${(ev.accuracy * 100).toFixed(2)}% (${count(data.test.count, "image")}, ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  return 0;
}

/** Trains (or resumes) the reference run for `o.epochs`, evaluating, saving and reporting after every epoch. */
export async function train(o: TrainOptions): Promise<number> {
  const threads = setUpKernels(o);
  const log = (s: string): void => {
    if (!o.quiet) out(`${s}\n`);
  };

  // A checkpoint defines its run: the settings come from it, and flags may only repeat them (or --override them).
  let settings: RunSettings = o;
  let resumed: (Checkpoint & { run: RunState }) | null = null;
  let midEpoch: MidEpoch | null = null;
  let recorded: RecordedRun = {};
  if (o.resume !== undefined) {
    const ckpt = openCheckpoint("--resume", o.resume, true);
    if (ckpt.run === null) {
      throw new UsageError(`--resume ${o.resume} holds weights only (it was not written by mnist-train --save): it can be evaluated with --eval, not resumed`);
    }
    resumed = { ...ckpt, run: ckpt.run };
    if (ckpt.run.batchesDone > 0 && ckpt.run.epochStartGenerator !== null) {
      midEpoch = { epoch: ckpt.run.epoch + 1, batchesDone: ckpt.run.batchesDone };
    }
    const run = checkpointRun("resume", "--resume", o.resume, ckpt, o, midEpoch);
    settings = run.settings;
    recorded = run.recorded;
  }
  const { hidden, batchSize, seed, lr } = settings;

  const data = await load(dataOptions(o, settings.dataset, o.quiet));
  if (resumed !== null) {
    const notes = checkTrainingSplit({
      flag: "--resume", path: o.resume!, recorded, images: data.train.count, description: data.description, override: o.override, midEpoch,
    });
    if (!o.quiet) for (const n of notes) err(`note: ${n}\n`);
  }
  const classes = data.dataset === "fashion-mnist" ? FASHION_CLASSES : DIGITS;
  const generator = new Generator(seed);
  const model = buildModel(hidden, generator);

  const lossFn = new CrossEntropyLoss();
  const optimizer = new Adam(model.parameters(), { lr });
  const loader = new DataLoader(data.train, { batchSize, shuffle: true, generator });
  let startEpoch = 0;
  let state: EpochState = { batchesDone: 0, lossSum: 0, imagesSeen: 0 };
  const history: EpochRecord[] = [];
  if (resumed !== null) {
    loadWeights(model, resumed.model, "--resume", o.resume!);
    if (resumed.optimizer !== null) optimizer.loadStateDict(resumed.optimizer);
    for (const g of optimizer.paramGroups) g.lr = lr;
    const run = resumed.run;
    startEpoch = run.epoch;
    const seconds = previousSeconds(o.metrics);
    history.push(...run.history.map((r) => ({ ...r, seconds: seconds.get(r.epoch) ?? null })));
    if (midEpoch !== null && run.epochStartGenerator !== null) {
      generator.setState(run.epochStartGenerator);
      state = { batchesDone: run.batchesDone, lossSum: run.lossSum, imagesSeen: run.imagesSeen };
    } else {
      generator.setState(run.generator);
    }
  }

  const params = countParameters(model);
  log(st.bold(`mnist-train — ${TITLES[data.dataset]}`));
  log(`data:      ${data.description}`);
  log(`splits:    ${data.train.count.toLocaleString("en-US")} train / ${data.test.count.toLocaleString("en-US")} test images`);
  log(`model:     ${describeModel(hidden, params)}`);
  log(`optimizer: Adam(lr=${lr}), CrossEntropyLoss, batch ${batchSize}, shuffled, ${count(o.epochs, "epoch")}, seed ${seed}, ` +
    `${count(threads, "thread")}, ${getBackend()} kernels`);
  if (resumed !== null) {
    const at = `${o.resume} at epoch ${startEpoch}${state.batchesDone > 0 ? `, batch ${state.batchesDone}/${loader.length}` : ""}`;
    log(`resumed:   ${at}${o.save !== undefined ? `; new epochs are saved to ${o.save}` : ""}`);
    if (o.save === undefined) {
      err(`warning: --resume without --save: the epochs trained now are not saved anywhere (add --save ${o.resume} to update the checkpoint)\n`);
    }
  }
  if (startEpoch >= o.epochs) log(`nothing to do: the checkpoint has ${count(startEpoch, "epoch")} and --epochs is ${o.epochs}`);

  const onSignal = (signal: "SIGINT" | "SIGTERM") => (): void => {
    if (stop.reason === "SIGINT" || stop.reason === "SIGTERM") {
      // A second signal: stop now. Checkpoints are written atomically, so the last one on disk is intact.
      err(`\n${STOPS[signal].word} again: exiting without a new checkpoint\n`);
      process.exit(STOPS[signal].code);
    }
    stop.reason = signal;
  };
  const onSigint = onSignal("SIGINT");
  const onSigterm = onSignal("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);

  const runOptions = { hidden, batchSize, lr, seed, dataset: data.dataset, trainImages: data.train.count };
  const saveCheckpoint = (epoch: number, st8: EpochState, epochStart: RunState["epochStartGenerator"]): void => {
    if (o.save === undefined) return;
    writeCheckpoint(o.save, model.stateDict(), {
      epoch, batchesDone: st8.batchesDone, lossSum: st8.lossSum, imagesSeen: st8.imagesSeen,
      generator: generator.getState(), epochStartGenerator: epochStart, options: runOptions, history,
    }, optimizer.stateDict());
  };
  /** What a stop says on standard error (nothing when the reader of the output went away). */
  const sayStopped = (reason: StopReason, where: string, resumeHint: boolean): void => {
    if (reason === "EPIPE") return;
    const saved = o.save === undefined ? "; no checkpoint (use --save PATH)"
      : `; checkpoint written to ${o.save}${resumeHint ? ` (resume with --resume ${o.save})` : ""}`;
    err(`\n${STOPS[reason].word} ${where}${saved}\n`);
  };

  let stopped: StopReason | null = null;
  try {
    for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
      const t0 = performance.now();
      // The loop is done with each batch (backward and step) before it takes the next: one pair of arrays per epoch.
      const batches = loader.batches({ startBatch: state.batchesDone, reuseStorage: true });
      const epochStart = loader.epochStartState;
      const progress = epochProgress(
        { write: err, isTTY: process.stderr.isTTY === true, color: color && process.stderr.isTTY === true, quiet: o.quiet, columns },
        `epoch ${epoch + 1}/${o.epochs}`, loader.length, batchSize, state.batchesDone,
      );
      const status = await trainEpoch({
        model, lossFn, optimizer, state, batches,
        onBatch: (s) => progress.update(s.batchesDone, s.lossSum / s.imagesSeen),
        shouldStop: () => stop.reason !== null,
      });
      progress.finish();
      if (status !== "done") {
        stopped = stop.reason ?? "SIGINT";
        saveCheckpoint(epoch, state, epochStart);
        sayStopped(stopped, `at epoch ${epoch + 1}, batch ${state.batchesDone}/${loader.length}`, true);
        break;
      }
      const ev = evaluate(model, data.test);
      const seconds = (performance.now() - t0) / 1000;
      const record: EpochRecord = {
        epoch: epoch + 1, trainLoss: state.lossSum / state.imagesSeen, testLoss: ev.loss, testAccuracy: ev.accuracy, seconds,
        rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      };
      history.push(record);
      state = { batchesDone: 0, lossSum: 0, imagesSeen: 0 };
      saveCheckpoint(epoch + 1, state, null);
      if (o.metrics !== undefined) writeFileAtomic(o.metrics, history.map((r) => JSON.stringify(r)).join("\n") + "\n");
      if (o.report !== undefined) {
        writeFileAtomic(o.report, renderReport({
          title: `mnist-train: ${TITLES[data.dataset]}`,
          subtitle: `${describeModel(hidden, params)}; Adam(lr=${lr}), batch ${batchSize}, seed ${seed}; ${data.description}`,
          records: history, confusion: ev.confusion, classNames: classes,
        }));
      }
      log(`epoch ${String(epoch + 1).padStart(String(o.epochs).length)}/${o.epochs}  train loss ${record.trainLoss.toFixed(4)}  ` +
        `test loss ${ev.loss.toFixed(4)}  test accuracy ${st.green(`${(ev.accuracy * 100).toFixed(2)}%`)}  ${seconds.toFixed(1)} s`);
      if (stop.reason !== null) {
        stopped = stop.reason;
        sayStopped(stopped, `after epoch ${epoch + 1}`, false);
        break;
      }
    }
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
  }
  if (stopped !== null) throw new Stopped(stopped);
  const last = history.at(-1);
  if (last !== undefined) {
    const total = history.reduce((s, r) => s + (r.seconds ?? 0), 0);
    out(`final: test accuracy ${(last.testAccuracy * 100).toFixed(2)}%, test loss ${last.testLoss.toFixed(4)} after ${count(last.epoch, "epoch")} ` +
      `(${formatDuration(total)} total${o.save !== undefined ? `; checkpoint ${o.save}` : ""})\n`);
  }
  return 0;
}

/** Epoch → seconds from an existing metrics file (to keep timings of epochs trained before a resume). */
function previousSeconds(path: string | undefined): Map<number, number> {
  const seconds = new Map<number, number>();
  if (path === undefined || !existsSync(path)) return seconds;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    try {
      const r = JSON.parse(line) as Partial<EpochRecord>;
      if (typeof r.epoch === "number" && typeof r.seconds === "number") seconds.set(r.epoch, r.seconds);
    } catch {
      // not a record: ignore
    }
  }
  return seconds;
}

/** `predict`: one test image, the top 3 classes, and whether the top guess is right. */
export async function predict(o: PredictOptions): Promise<number> {
  const ckpt = openCheckpoint("--checkpoint", o.checkpoint, false);
  const { settings } = checkpointRun("predict", "--checkpoint", o.checkpoint, ckpt, o, null);
  const data = await load(dataOptions(o, settings.dataset, false));
  if (o.index >= data.test.count) {
    throw new UsageError(`--index ${o.index} is out of range: the test split has ${count(data.test.count, "image")} (0 to ${data.test.count - 1})`);
  }
  const model = buildModel(settings.hidden, new Generator(0));
  loadWeights(model, ckpt.model, "--checkpoint", o.checkpoint);
  const pixels = data.test.images.subarray(o.index * IMAGE_SIZE, (o.index + 1) * IMAGE_SIZE);
  const probs = predictImage(model, pixels);
  const classes = data.dataset === "fashion-mnist" ? FASHION_CLASSES : DIGITS;
  const top = topK(probs, 3);
  out(`${renderDigit(pixels, color)}\n`);
  out(`test image ${o.index} of ${data.description}\n${describeLabel(data.test.labels[o.index]!, top[0]!.index, classes)}\n`);
  for (const { index, probability } of top) {
    out(`  ${classes[index]!.padEnd(12)} ${(probability * 100).toFixed(2).padStart(6)}%\n`);
  }
  return 0;
}
