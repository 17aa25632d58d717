// mnist-train: the reference MNIST run as a command-line tool (wiring, output, signals, exit codes).
import { existsSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { Generator, getBackend, setBackend, setMemoryDebug, setNumThreads, setWorkerFactory } from "@tsgrad/tensor";
import { CrossEntropyLoss } from "@tsgrad/nn";
import { Adam } from "@tsgrad/optim";
import { DataLoader } from "@tsgrad/data";
import { loadMnist, type MnistData } from "@tsgrad/data/node";
import { parseCli, UsageError, helpText, type PredictOptions, type TrainOptions } from "./cli.js";
import { readCheckpoint, writeCheckpoint, type RunState } from "./checkpoint.js";
import { writeFileAtomic } from "./atomic.js";
import { buildModel, countParameters, describeModel, IMAGE_SIZE } from "./model.js";
import { epochProgress, formatDuration, styler } from "./progress.js";
import { predictImage, renderDigit, topK } from "./predict.js";
import { renderReport, type EpochRecord } from "./report.js";
import { evaluate, trainEpoch, type EpochState, type EpochStatus } from "./train.js";

const FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** Raised to stop with exit code 130 after Ctrl-C. */
class Interrupted extends Error {}

const out = (s: string): void => void process.stdout.write(s);
const err = (s: string): void => void process.stderr.write(s);
const color = process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined;
// TSGRAD_MEMORY_DEBUG=1: recycled arrays filled with NaN (the tests run the CLI this way; see setMemoryDebug).
if (process.env["TSGRAD_MEMORY_DEBUG"] === "1") setMemoryDebug(true);
const st = styler(color);

let stopRequested = false;

/** Runs the CLI and returns its exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = parseCli(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`mnist-train: ${e.message}\nhint: run "mnist-train --help" for the options and their defaults\n`);
      return 2;
    }
    throw e;
  }
  if (options.command === "help") {
    out(`${helpText}\n`);
    return 0;
  }
  try {
    if (options.dataDir !== undefined && !(existsSync(options.dataDir) && statSync(options.dataDir).isDirectory())) {
      throw new UsageError(`--data-dir ${options.dataDir} is not a folder`);
    }
    if (options.command === "predict") return await predict(options);
    return await train(options);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`mnist-train: ${e.message}\nhint: run "mnist-train --help" for the options and their defaults\n`);
      return 2;
    }
    if (e instanceof Interrupted) return 130;
    err(`mnist-train: ${(e as Error).message}\n`);
    return 1;
  }
}

async function loadData(o: { dataset: TrainOptions["dataset"]; dataDir: string | undefined; cacheDir: string | undefined; download: boolean }, quiet: boolean): Promise<MnistData> {
  return loadMnist({
    dataset: o.dataset,
    ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
    ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
    download: o.download,
    onProgress: (e) => {
      if (quiet) return;
      if (e.kind === "notice") err(`${e.message}\n`);
      else if (e.kind === "download-start") err(`downloading ${e.url} ...\n`);
      else if (e.kind === "download-failed") err(`  failed: ${e.error}\n`);
    },
  });
}

function setThreads(threads: number | undefined): number {
  const n = threads ?? availableParallelism();
  setWorkerFactory((source: string) => new Worker(source, { eval: true }));
  setNumThreads(n);
  return n;
}

/** Hidden width of a checkpoint's first layer (`0.weight` is [hidden, 784]). */
function hiddenOf(model: Record<string, { shape: readonly number[] }>, path: string): number {
  const w = model["0.weight"];
  if (w === undefined || w.shape.length !== 2 || w.shape[1] !== IMAGE_SIZE) {
    throw new Error(`${path} does not hold the weights of Linear(784, hidden) → ReLU → Linear(hidden, 10) (no 0.weight [hidden, 784])`);
  }
  return w.shape[0]!;
}

async function train(o: TrainOptions): Promise<number> {
  const threads = setThreads(o.threads);
  if (o.backend !== undefined) setBackend(o.backend);
  const log = (s: string): void => {
    if (!o.quiet) out(`${s}\n`);
  };
  const resumed = o.resume !== undefined ? readCheckpoint(o.resume) : null;
  const evalOnly = o.eval !== undefined ? readCheckpoint(o.eval, { withOptimizer: false }) : null;
  if (resumed !== null && resumed.run === null) throw new UsageError(`--resume ${o.resume} is not a checkpoint written by --save`);

  // Resuming keeps the run's shape: hidden width, batch size, seed and dataset come from the checkpoint.
  const saved = resumed?.run?.options ?? {};
  const hidden = evalOnly !== null ? hiddenOf(evalOnly.model, o.eval!) : typeof saved["hidden"] === "number" ? saved["hidden"] : o.hidden;
  const batchSize = typeof saved["batchSize"] === "number" ? saved["batchSize"] : o.batchSize;
  const seed = typeof saved["seed"] === "number" ? saved["seed"] : o.seed;
  const lr = o.lr;

  const data = await loadData(o, o.quiet);
  const classes = data.dataset === "fashion-mnist" ? FASHION_CLASSES : DIGITS;
  const generator = new Generator(seed);
  const model = buildModel(hidden, generator);

  if (evalOnly !== null) {
    model.loadStateDict(evalOnly.model);
    const t0 = performance.now();
    const ev = evaluate(model, data.test);
    out(`${data.description}\n`);
    out(`checkpoint ${o.eval}: test loss ${ev.loss.toFixed(4)}, test accuracy ${(ev.accuracy * 100).toFixed(2)}% ` +
      `(${data.test.count.toLocaleString("en-US")} images, ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    return 0;
  }

  const lossFn = new CrossEntropyLoss();
  const optimizer = new Adam(model.parameters(), { lr });
  const loader = new DataLoader(data.train, { batchSize, shuffle: true, generator });
  let startEpoch = 0;
  let state: EpochState = { batchesDone: 0, lossSum: 0, imagesSeen: 0 };
  const history: EpochRecord[] = [];
  if (resumed !== null && resumed.run !== null) {
    model.loadStateDict(resumed.model);
    if (resumed.optimizer !== null) optimizer.loadStateDict(resumed.optimizer);
    for (const g of optimizer.paramGroups) g.lr = lr;
    const run = resumed.run;
    startEpoch = run.epoch;
    const seconds = previousSeconds(o.metrics);
    history.push(...run.history.map((r) => ({ ...r, seconds: seconds.get(r.epoch) ?? null })));
    if (run.batchesDone > 0 && run.epochStartGenerator !== null) {
      generator.setState(run.epochStartGenerator);
      state = { batchesDone: run.batchesDone, lossSum: run.lossSum, imagesSeen: run.imagesSeen };
    } else {
      generator.setState(run.generator);
    }
  }

  const params = countParameters(model);
  log(st.bold(`mnist-train — ${data.dataset === "mnist" ? "MNIST" : "Fashion-MNIST"}`));
  log(`data:      ${data.description}`);
  log(`splits:    ${data.train.count.toLocaleString("en-US")} train / ${data.test.count.toLocaleString("en-US")} test images`);
  log(`model:     ${describeModel(hidden, params)}`);
  log(`optimizer: Adam(lr=${lr}), CrossEntropyLoss, batch ${batchSize}, shuffled, ${o.epochs} epochs, seed ${seed}, ${threads} thread${threads === 1 ? "" : "s"}, ${getBackend()} kernels`);
  if (resumed !== null) {
    log(`resumed:   ${o.resume} at epoch ${startEpoch}${state.batchesDone > 0 ? `, batch ${state.batchesDone}/${loader.length}` : ""}`);
  }
  if (startEpoch >= o.epochs) log(`nothing to do: the checkpoint has ${startEpoch} epochs and --epochs is ${o.epochs}`);

  let interrupted = false;
  const onSigint = (): void => {
    if (stopRequested) {
      // A second Ctrl-C: stop now. Checkpoints are written atomically, so the last one on disk is intact.
      err("\ninterrupted again: exiting without a new checkpoint\n");
      process.exit(130);
    }
    stopRequested = true;
  };
  process.on("SIGINT", onSigint);

  const runOptions = { hidden, batchSize, lr, seed, dataset: data.dataset };
  const saveCheckpoint = (epoch: number, st8: EpochState, epochStart: RunState["epochStartGenerator"]): void => {
    if (o.save === undefined) return;
    writeCheckpoint(o.save, model.stateDict(), {
      epoch, batchesDone: st8.batchesDone, lossSum: st8.lossSum, imagesSeen: st8.imagesSeen,
      generator: generator.getState(), epochStartGenerator: epochStart, options: runOptions, history,
    }, optimizer.stateDict());
  };

  let lastYield = performance.now();
  const yieldToEvents = (): Promise<void> => {
    lastYield = performance.now();
    return new Promise((resolve) => setImmediate(resolve)); // lets a pending Ctrl-C in
  };
  try {
    for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
      await yieldToEvents(); // at least once per epoch, however short
      const t0 = performance.now();
      // The loop is done with each batch (backward and step) before it takes the next: one pair of arrays per epoch.
      const batches = loader.batches({ startBatch: state.batchesDone, reuseStorage: true });
      const epochStart = loader.epochStartState;
      const progress = epochProgress(
        { write: err, isTTY: process.stderr.isTTY === true, color: color && process.stderr.isTTY === true, quiet: o.quiet },
        `epoch ${epoch + 1}/${o.epochs}`, loader.length, batchSize, state.batchesDone,
      );
      let status: EpochStatus;
      for (;;) {
        status = trainEpoch({
          model, lossFn, optimizer, state, batches,
          onBatch: (s) => progress.update(s.batchesDone, s.lossSum / s.imagesSeen),
          check: () => {
            if (stopRequested) return "stop";
            return performance.now() - lastYield < 50 ? "go" : "pause";
          },
        });
        if (status !== "paused") break;
        await yieldToEvents();
      }
      const completed = status === "done";
      progress.finish();
      if (!completed) {
        interrupted = true;
        saveCheckpoint(epoch, state, epochStart);
        err(`\ninterrupted at epoch ${epoch + 1}, batch ${state.batchesDone}/${loader.length}` +
          (o.save !== undefined ? `; checkpoint written to ${o.save} (resume with --resume ${o.save})\n` : "; no checkpoint (use --save PATH)\n"));
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
          title: `mnist-train: ${data.dataset === "mnist" ? "MNIST" : "Fashion-MNIST"}`,
          subtitle: `${describeModel(hidden, params)}; Adam(lr=${lr}), batch ${batchSize}, seed ${seed}; ${data.description}`,
          records: history, confusion: ev.confusion, classNames: classes,
        }));
      }
      log(`epoch ${String(epoch + 1).padStart(String(o.epochs).length)}/${o.epochs}  train loss ${record.trainLoss.toFixed(4)}  ` +
        `test loss ${ev.loss.toFixed(4)}  test accuracy ${st.green(`${(ev.accuracy * 100).toFixed(2)}%`)}  ${seconds.toFixed(1)} s`);
      if (stopRequested) {
        interrupted = true;
        err(`interrupted after epoch ${epoch + 1}${o.save !== undefined ? `; checkpoint written to ${o.save}` : ""}\n`);
        break;
      }
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
  if (interrupted) throw new Interrupted();
  const last = history.at(-1);
  if (last !== undefined) {
    const total = history.reduce((s, r) => s + (r.seconds ?? 0), 0);
    out(`final: test accuracy ${(last.testAccuracy * 100).toFixed(2)}%, test loss ${last.testLoss.toFixed(4)} after ${last.epoch} epochs ` +
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

async function predict(o: PredictOptions): Promise<number> {
  const ckpt = readCheckpoint(o.checkpoint, { withOptimizer: false });
  const hidden = hiddenOf(ckpt.model, o.checkpoint);
  const data = await loadData(o, false);
  if (o.index >= data.test.count) {
    throw new UsageError(`--index ${o.index} is out of range: the test split has ${data.test.count} images (0 to ${data.test.count - 1})`);
  }
  const model = buildModel(hidden, new Generator(0));
  model.loadStateDict(ckpt.model);
  const pixels = data.test.images.subarray(o.index * IMAGE_SIZE, (o.index + 1) * IMAGE_SIZE);
  const probs = predictImage(model, pixels);
  const classes = data.dataset === "fashion-mnist" ? FASHION_CLASSES : DIGITS;
  out(`${renderDigit(pixels, color)}\n`);
  out(`test image ${o.index} of ${data.description}; label: ${classes[data.test.labels[o.index]!]}\n`);
  for (const { index, probability } of topK(probs, 3)) {
    out(`  ${classes[index]!.padEnd(12)} ${(probability * 100).toFixed(2).padStart(6)}%\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    err(`mnist-train: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
