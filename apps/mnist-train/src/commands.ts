// The three commands of mnist-train: train (and resume), evaluate a checkpoint, predict one test image.
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { Generator, getBackend, setBackend, setNumThreads, setWorkerFactory } from "@tsgrad/tensor";
import type { Sequential, StateDict } from "@tsgrad/nn";
import { Adadelta, Adam, StepLR } from "@tsgrad/optim";
import { DataLoader } from "@tsgrad/data";
import { writeFileAtomic, type MnistData } from "@tsgrad/data/node";
import { MODEL_DEFAULTS, UsageError, type DatasetName, type PredictOptions, type RunSettings, type TrainOptions } from "./cli.js";
import { readCheckpoint, writeCheckpoint, type Checkpoint, type RunState } from "./checkpoint.js";
import { limitData, loadData, parseLimit, type LoadDataOptions } from "./data.js";
import { color, columns, err, Failure, out, st, stop, STOPS, Stopped, type StopReason } from "./io.js";
import {
  architectureOf, buildNet, CNN_NORMALIZE, countParameters, describeNet, IMAGE_SIZE, sequentialKeys, type Architecture, type Net,
} from "./model.js";
import { epochProgress, formatDuration } from "./progress.js";
import { describeLabel, predictImage, renderDigit, topK } from "./predict.js";
import { renderReport, type EpochRecord } from "./report.js";
import { checkTrainingSplit, recordedRun, resolveRun, type CheckpointUse, type MidEpoch, type RecordedRun } from "./run-settings.js";
import { count } from "./text.js";
import { evaluate, trainEpoch, type EpochState, type Evaluation } from "./train.js";

const FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const TITLES: Readonly<Record<DatasetName, string>> = { mnist: "MNIST", "fashion-mnist": "Fashion-MNIST" };

function dataOptions(o: TrainOptions | PredictOptions, dataset: DatasetName, quiet: boolean): LoadDataOptions {
  return { dataset, dataDir: o.dataDir, cacheDir: o.cacheDir, download: o.download, verbose: o.verbose, quiet };
}

/** Loads the data; `TSGRAD_MNIST_LIMIT=TRAIN,TEST` (a knob for tests) keeps only the first images of each split. */
async function load(o: LoadDataOptions): Promise<MnistData> {
  const limit = parseLimit(process.env["TSGRAD_MNIST_LIMIT"]);
  const data = await loadData(o, { write: err, isTTY: process.stderr.isTTY === true, columns });
  return limit === null ? data : limitData(data, limit);
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
    const ckpt = readCheckpoint(path, { withOptimizer });
    return { ...ckpt, model: sequentialKeys(ckpt.model) }; // main.py's Net from PyTorch: the Sequential's keys
  } catch (e) {
    const reason = (e as Error).message.replace(/^loadSafetensors: /, "");
    throw new Failure(`${flag} ${path} cannot be read as a checkpoint: ${reason}`);
  }
}

/** What a checkpoint's weights are (the MLP and its hidden width, or the CNN), checked against its metadata. */
function architectureFrom(ckpt: Checkpoint, flag: string, path: string): Architecture {
  const arch = architectureOf(ckpt.model);
  if (arch === null) {
    throw new Failure(`${flag} ${path} does not hold the weights of Linear(784, hidden) → ReLU → Linear(hidden, 10) or of the CNN ` +
      "(no 0.weight [hidden, 784] or [32, 1, 3, 3])");
  }
  if (ckpt.run === null) return arch; // weights only (from PyTorch): they say what they are
  const recorded = ckpt.run.options["model"] ?? "mlp"; // an MLP's metadata names no model
  if (recorded !== arch.model) {
    throw new Failure(`${flag} ${path} records the model ${String(recorded)} but holds the weights of the ${arch.model === "cnn" ? "CNN" : "MLP"}`);
  }
  return arch;
}

/** Loads a checkpoint's weights into `model`; a mismatch names the file. */
function loadWeights(model: Sequential, weights: StateDict, flag: string, path: string): void {
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
  const weights = architectureFrom(ckpt, flag, path);
  const resolved = resolveRun({ use, flag, path, recorded, weights, given: o.given, override: o.override, midEpoch });
  if (o.quiet !== true) for (const n of resolved.notes) err(`note: ${n}\n`);
  return { recorded, ...resolved };
}

/** The CNN's learning-rate decay per epoch (main.py's --gamma) and its test batch. */
const CNN_GAMMA = 0.7;
const TEST_BATCH = 1000;
/**
 * Images per forward pass when the CNN is evaluated: 1,000 at once hold 147 MB for one output of its second
 * convolution and as much for the ReLU after it (the evaluation of Fashion-MNIST's test split then peaks at 1 GB
 * RSS); 40 at a time add 12 MB to what training holds (100: 59 MB), as fast, with the same results (see `evaluate`).
 */
const CNN_EVAL_CHUNK = 40;

/** A net of the run's model, its weights drawn from `generator`. */
function netOf(settings: RunSettings, generator: Generator): Net {
  return buildNet(settings.model, settings.hidden, generator);
}

function architecture(settings: RunSettings): Architecture {
  return settings.model === "cnn" ? { model: "cnn" } : { model: "mlp", hidden: settings.hidden };
}

/** The test split's evaluation at the model's test batch (in chunks for the CNN). */
function evaluateNet(net: Net, data: MnistData, images?: number) {
  return evaluate(net, data.test, {
    batchSize: TEST_BATCH, ...(net.kind === "cnn" ? { chunkSize: CNN_EVAL_CHUNK } : {}), ...(images !== undefined ? { images } : {}),
  });
}

/** `--eval PATH`: the test loss and accuracy of a checkpoint, on the dataset it was trained on. */
export async function evalCheckpoint(o: TrainOptions, path: string): Promise<number> {
  setUpKernels(o);
  const ckpt = openCheckpoint("--eval", path, false);
  const { settings } = checkpointRun("eval", "--eval", path, ckpt, o, null);
  const data = await load(dataOptions(o, settings.dataset, o.quiet));
  const net = netOf(settings, new Generator(0));
  loadWeights(net.module, ckpt.model, "--eval", path);
  const t0 = performance.now();
  const ev = evaluateNet(net, data);
  const epochs = ckpt.run === null ? "" : `, ${count(ckpt.run.epoch, "epoch")}`;
  const what = settings.model === "cnn" ? "CNN" : `hidden ${settings.hidden}`;
  out(`${data.description}\n`);
  out(`checkpoint ${path} (${TITLES[settings.dataset]}, ${what}${epochs}): test loss ${ev.loss.toFixed(4)}, ` +
    `test accuracy ${(ev.accuracy * 100).toFixed(2)}% (${count(data.test.count, "image")}, ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  return 0;
}

/** The optimizer of each model: Adam for the MLP; Adadelta with main.py's StepLR for the CNN. */
function optimizerOf(net: Net, lr: number): { optimizer: Adam | Adadelta; scheduler: StepLR | null } {
  if (net.kind === "mlp") return { optimizer: new Adam(net.module.parameters(), { lr }), scheduler: null };
  const optimizer = new Adadelta(net.module.parameters(), { lr });
  return { optimizer, scheduler: new StepLR(optimizer, 1, { gamma: CNN_GAMMA }) };
}

/** What the header and the report say about the optimizer, the loss and the schedule. */
function describeTraining(net: Net, lr: number, batchSize: number): string {
  return net.kind === "mlp"
    ? `Adam(lr=${lr}), CrossEntropyLoss, batch ${batchSize}`
    : `Adadelta(lr=${lr}), StepLR(step_size=1, gamma=${CNN_GAMMA}) per epoch, nll_loss of log_softmax, batch ${batchSize}`;
}

/** The settings a checkpoint records: the MLP's keys as they always were (same bytes), the CNN's with its kind. */
function runOptionsOf(settings: RunSettings, data: MnistData): RunState["options"] {
  const { hidden, batchSize, lr, seed } = settings;
  if (settings.model === "mlp") return { hidden, batchSize, lr, seed, dataset: data.dataset, trainImages: data.train.count };
  return {
    model: "cnn", batchSize, lr, seed, dataset: data.dataset, trainImages: data.train.count,
    gamma: CNN_GAMMA, stepSize: 1, normalizeMean: CNN_NORMALIZE.mean, normalizeStd: CNN_NORMALIZE.std, testBatchSize: TEST_BATCH,
  };
}

/** Trains (or resumes) the run for its epochs, evaluating, saving and reporting after every epoch. */
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
  let overridden: readonly (keyof RunSettings)[] = [];
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
    overridden = run.overridden;
  }
  const { batchSize, seed, lr } = settings;
  const epochs = o.dryRun ? 1 : o.epochs ?? MODEL_DEFAULTS[settings.model].epochs;

  const data = await load(dataOptions(o, settings.dataset, o.quiet));
  if (resumed !== null) {
    const notes = checkTrainingSplit({
      flag: "--resume", path: o.resume!, recorded, images: data.train.count, description: data.description, override: o.override, midEpoch,
    });
    if (!o.quiet) for (const n of notes) err(`note: ${n}\n`);
  }
  const classes = data.dataset === "fashion-mnist" ? FASHION_CLASSES : DIGITS;
  // One generator, as main.py's global one: the initial weights, then each epoch's shuffling and the dropout masks.
  const generator = new Generator(seed);
  const net = netOf(settings, generator);
  const { optimizer, scheduler } = optimizerOf(net, lr);
  const loader = new DataLoader(data.train, { batchSize, shuffle: true, generator, normalize: net.normalize });
  let startEpoch = 0;
  let state: EpochState = { batchesDone: 0, lossSum: 0, imagesSeen: 0 };
  /** The generator after the last step, restored once the resumed epoch's order is drawn again (dropout continues). */
  let resumeGenerator: RunState["generator"] | null = null;
  const history: EpochRecord[] = [];
  if (resumed !== null) {
    loadWeights(net.module, resumed.model, "--resume", o.resume!);
    if (resumed.optimizer !== null) optimizer.loadStateDict(resumed.optimizer);
    if (scheduler === null) {
      for (const g of optimizer.paramGroups) g.lr = lr;
    } else {
      if (resumed.scheduler === null) throw new Failure(`--resume ${o.resume} lacks the state of its learning-rate schedule (StepLR)`);
      scheduler.loadStateDict(resumed.scheduler);
      if (overridden.includes("lr")) restartSchedule(optimizer, scheduler, lr);
    }
    const run = resumed.run;
    startEpoch = run.epoch;
    const seconds = previousSeconds(o.metrics);
    history.push(...run.history.map((r) => ({ ...r, seconds: seconds.get(r.epoch) ?? null })));
    if (midEpoch !== null && run.epochStartGenerator !== null) {
      generator.setState(run.epochStartGenerator);
      resumeGenerator = run.generator;
      state = { batchesDone: run.batchesDone, lossSum: run.lossSum, imagesSeen: run.imagesSeen };
    } else {
      generator.setState(run.generator);
    }
  }

  const arch = architecture(settings);
  const params = countParameters(net.module);
  const training = describeTraining(net, lr, batchSize);
  const batchesPerEpoch = o.dryRun ? 1 : loader.length;
  log(st.bold(`mnist-train — ${TITLES[data.dataset]}`));
  log(`data:      ${data.description}`);
  log(`splits:    ${data.train.count.toLocaleString("en-US")} train / ${data.test.count.toLocaleString("en-US")} test images`);
  log(`model:     ${describeNet(arch, params)}`);
  log(`optimizer: ${training}, shuffled, ${count(epochs, "epoch")}, seed ${seed}, ${count(threads, "thread")}, ${getBackend()} kernels`);
  if (net.normalize !== undefined) log(`inputs:    pixels/255, then (x − ${net.normalize.mean}) / ${net.normalize.std} (Normalize)`);
  if (o.dryRun) {
    const trainImages = Math.min(batchSize, data.train.count);
    const testImages = Math.min(TEST_BATCH, data.test.count);
    log(`dry run:   1 training batch (${count(trainImages, "image")}) and 1 test batch (${count(testImages, "image")}); nothing is saved`);
  }
  if (resumed !== null) {
    const at = `${o.resume} at epoch ${startEpoch}${state.batchesDone > 0 ? `, batch ${state.batchesDone}/${loader.length}` : ""}`;
    const lrNow = scheduler === null ? "" : `, learning rate now ${optimizer.paramGroups[0]!.lr}`;
    log(`resumed:   ${at}${lrNow}${o.save !== undefined ? `; new epochs are saved to ${o.save}` : ""}`);
    if (o.save === undefined) {
      err(`warning: --resume without --save: the epochs trained now are not saved anywhere (add --save ${o.resume} to update the checkpoint)\n`);
    }
  }
  if (startEpoch >= epochs) log(`nothing to do: the checkpoint has ${count(startEpoch, "epoch")} and --epochs is ${epochs}`);

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

  const runOptions = runOptionsOf(settings, data);
  const saveCheckpoint = (epoch: number, st8: EpochState, epochStart: RunState["epochStartGenerator"]): void => {
    if (o.save === undefined) return;
    writeCheckpoint(o.save, net.module.stateDict(), {
      epoch, batchesDone: st8.batchesDone, lossSum: st8.lossSum, imagesSeen: st8.imagesSeen,
      generator: generator.getState(), epochStartGenerator: epochStart, options: runOptions, history,
    }, optimizer.stateDict(), scheduler?.stateDict() ?? null);
  };
  /** What a stop says on standard error (nothing when the reader of the output went away). */
  const sayStopped = (reason: StopReason, where: string, resumeHint: boolean): void => {
    if (reason === "EPIPE") return;
    const saved = o.save === undefined ? "; no checkpoint (use --save PATH)"
      : `; checkpoint written to ${o.save}${resumeHint ? ` (resume with --resume ${o.save})` : ""}`;
    err(`\n${STOPS[reason].word} ${where}${saved}\n`);
  };

  let stopped: StopReason | null = null;
  let lastEval: Evaluation | null = null;
  try {
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const t0 = performance.now();
      // The loop is done with each batch (backward and step) before it takes the next: one pair of arrays per epoch.
      const batches = loader.batches({ startBatch: state.batchesDone, reuseStorage: true });
      const epochStart = loader.epochStartState;
      if (resumeGenerator !== null) {
        generator.setState(resumeGenerator); // the order is drawn again: the dropout masks go on where the run stopped
        resumeGenerator = null;
      }
      const progress = epochProgress(
        { write: err, isTTY: process.stderr.isTTY === true, color: color && process.stderr.isTTY === true, quiet: o.quiet, columns },
        `epoch ${epoch + 1}/${epochs}`, batchesPerEpoch, batchSize, state.batchesDone,
      );
      const status = await trainEpoch({
        net, optimizer, state, batches, maxBatches: batchesPerEpoch,
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
      const ev = evaluateNet(net, data, o.dryRun ? TEST_BATCH : undefined);
      lastEval = ev;
      scheduler?.step(); // main.py: train, test, then scheduler.step()
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
          title: `mnist-train: ${TITLES[data.dataset]}${o.dryRun ? " (dry run)" : ""}`,
          subtitle: `${describeNet(arch, params)}; ${training}, seed ${seed}; ${data.description}`,
          records: history, confusion: ev.confusion, classNames: classes,
        }));
      }
      log(`epoch ${String(epoch + 1).padStart(String(epochs).length)}/${epochs}  train loss ${record.trainLoss.toFixed(4)}  ` +
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
  if (o.dryRun && last !== undefined && lastEval !== null) {
    out(`dry run: train loss ${last.trainLoss.toFixed(4)} on 1 batch of ${count(Math.min(batchSize, data.train.count), "image")}, ` +
      `test accuracy ${(last.testAccuracy * 100).toFixed(2)}%, test loss ${last.testLoss.toFixed(4)} on ${count(lastEval.images, "test image")} ` +
      `(${formatDuration(last.seconds ?? 0)})\n`);
  } else if (last !== undefined) {
    const total = history.reduce((s, r) => s + (r.seconds ?? 0), 0);
    out(`final: test accuracy ${(last.testAccuracy * 100).toFixed(2)}%, test loss ${last.testLoss.toFixed(4)} after ${count(last.epoch, "epoch")} ` +
      `(${formatDuration(total)} total${o.save !== undefined ? `; checkpoint ${o.save}` : ""})\n`);
  }
  return 0;
}

/**
 * `--override --lr` on a resumed CNN: the schedule restarts from the new learning rate as if the run had begun with
 * it (StepLR's recursive form: lr·γ once per epoch done).
 */
function restartSchedule(optimizer: Adam | Adadelta, scheduler: StepLR, lr: number): void {
  let now = lr;
  for (let e = 0; e < scheduler.lastEpoch; e++) now *= scheduler.gamma;
  for (const g of optimizer.paramGroups) {
    g.initialLr = lr;
    g.lr = now;
  }
  scheduler.baseLrs.fill(lr);
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
  const net = netOf(settings, new Generator(0));
  loadWeights(net.module, ckpt.model, "--checkpoint", o.checkpoint);
  const pixels = data.test.images.subarray(o.index * IMAGE_SIZE, (o.index + 1) * IMAGE_SIZE);
  const probs = predictImage(net, pixels);
  const classes = data.dataset === "fashion-mnist" ? FASHION_CLASSES : DIGITS;
  const top = topK(probs, 3);
  out(`${renderDigit(pixels, color)}\n`);
  out(`test image ${o.index} of ${data.description}\n${describeLabel(data.test.labels[o.index]!, top[0]!.index, classes)}\n`);
  for (const { index, probability } of top) {
    out(`  ${classes[index]!.padEnd(12)} ${(probability * 100).toFixed(2).padStart(6)}%\n`);
  }
  return 0;
}
