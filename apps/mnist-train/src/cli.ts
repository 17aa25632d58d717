// Command-line options: the parseArgs spec, validation into typed options, and the --help text.
import { parseArgs } from "node:util";

/** A bad command line: printed as one line plus a hint, exit code 2, never a stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type DatasetName = "mnist" | "fashion-mnist";

/** Options of a training run (and of `--eval`). */
export interface TrainOptions {
  readonly command: "train";
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly hidden: number;
  readonly seed: number;
  readonly threads: number | undefined;
  readonly backend: "js" | "wasm" | undefined;
  readonly dataset: DatasetName;
  readonly dataDir: string | undefined;
  readonly cacheDir: string | undefined;
  readonly download: boolean;
  readonly save: string | undefined;
  readonly resume: string | undefined;
  readonly eval: string | undefined;
  readonly metrics: string | undefined;
  readonly report: string | undefined;
  readonly quiet: boolean;
}

/** Options of `predict`. */
export interface PredictOptions {
  readonly command: "predict";
  readonly checkpoint: string;
  readonly index: number;
  readonly dataset: DatasetName;
  readonly dataDir: string | undefined;
  readonly cacheDir: string | undefined;
  readonly download: boolean;
}

export type CliOptions = TrainOptions | PredictOptions | { readonly command: "help"; readonly text: string };

interface Spec {
  readonly type: "string" | "boolean";
  readonly value?: string;
  readonly default: string;
  readonly help: string;
}

const common: Record<string, Spec> = {
  dataset: { type: "string", value: "NAME", default: "mnist", help: "mnist or fashion-mnist" },
  "data-dir": { type: "string", value: "DIR", default: "-", help: "folder holding the four IDX files (raw or .gz)" },
  "cache-dir": { type: "string", value: "DIR", default: "$XDG_CACHE_HOME/tsgrad or ~/.cache/tsgrad", help: "where downloads are kept" },
  "no-download": { type: "boolean", default: "false", help: "never use the network (MNIST falls back to the embedded 10,000 images)" },
};

const trainSpec: Record<string, Spec> = {
  epochs: { type: "string", value: "N", default: "10", help: "total number of epochs (also when resuming)" },
  "batch-size": { type: "string", value: "N", default: "64", help: "images per training step" },
  lr: { type: "string", value: "X", default: "0.001", help: "Adam learning rate" },
  hidden: { type: "string", value: "N", default: "128", help: "width of the hidden layer" },
  seed: { type: "string", value: "N", default: "1", help: "seed of the initialisation and the shuffling" },
  threads: { type: "string", value: "N", default: "number of cores", help: "threads for the large matrix products" },
  backend: { type: "string", value: "NAME", default: "wasm where SIMD runs, else js", help: "matrix-product kernels: wasm (SIMD) or js" },
  ...common,
  save: { type: "string", value: "PATH", default: "-", help: "checkpoint (safetensors) after every epoch; optimizer state beside it" },
  resume: { type: "string", value: "PATH", default: "-", help: "continue from a checkpoint up to --epochs" },
  eval: { type: "string", value: "PATH", default: "-", help: "evaluate a checkpoint on the test split and exit" },
  metrics: { type: "string", value: "PATH", default: "-", help: "JSON lines, one record per epoch" },
  report: { type: "string", value: "PATH", default: "-", help: "HTML report: loss and accuracy curves, confusion matrix" },
  quiet: { type: "boolean", default: "false", help: "only errors and the final result" },
  help: { type: "boolean", default: "false", help: "show this help" },
};

const predictSpec: Record<string, Spec> = {
  checkpoint: { type: "string", value: "PATH", default: "(required)", help: "a checkpoint written by --save" },
  index: { type: "string", value: "I", default: "0", help: "index of the test image to classify" },
  ...common,
  help: { type: "boolean", default: "false", help: "show this help" },
};

function helpBlock(spec: Record<string, Spec>): string {
  return Object.entries(spec)
    .map(([name, s]) => {
      const flag = `  --${name}${s.value ? ` ${s.value}` : ""}`;
      const def = s.type === "boolean" || s.default === "-" ? "" : s.default === "(required)" ? " (required)" : ` (default: ${s.default})`;
      return `${flag.padEnd(24)} ${s.help}${def}`;
    })
    .join("\n");
}

/** The --help text: every option with its default. */
export const helpText = `Usage: mnist-train [options]
       mnist-train predict --checkpoint PATH [--index I] [data options]

Trains Linear(784, hidden) → ReLU → Linear(hidden, 10) with cross-entropy and Adam on MNIST or Fashion-MNIST
(batch 64, shuffled, pixels/255 by default: PyTorch's classic MNIST run).

Training options:
${helpBlock(trainSpec)}

predict options:
${helpBlock(predictSpec)}

Exit codes: 0 success, 1 failure, 2 bad usage, 130 interrupted (Ctrl-C).`;

function parseOptionsConfig(spec: Record<string, Spec>): Record<string, { type: "string" | "boolean" }> {
  return Object.fromEntries(Object.entries(spec).map(([k, s]) => [k, { type: s.type }]));
}

function intOption(raw: string | undefined, name: string, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isSafeInteger(v)) throw new UsageError(`--${name} expects a whole number, got "${raw}"`);
  if (v < min) throw new UsageError(`--${name} must be at least ${min}, got ${v}`);
  return v;
}

function dataset(raw: string | undefined): DatasetName {
  const v = raw ?? "mnist";
  if (v !== "mnist" && v !== "fashion-mnist") throw new UsageError(`--dataset must be mnist or fashion-mnist, got "${v}"`);
  return v;
}

/** Parses argv (without node and the script) into typed options; throws UsageError on bad usage. */
export function parseCli(given: readonly string[]): CliOptions {
  // `npm run train -- --epochs 2` and some pnpm versions pass the separator on: a leading "--" is not an argument.
  const argv = given[0] === "--" ? given.slice(1) : given;
  const isPredict = argv[0] === "predict";
  const spec = isPredict ? predictSpec : trainSpec;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: isPredict ? argv.slice(1) : [...argv],
      options: parseOptionsConfig(spec),
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    const text = (e as Error).message;
    const dash = /use '(--[\w-]+=-XYZ)'/.exec(text);
    const first = text.split("\n")[0]!.replace(/\.$/, "");
    throw new UsageError(dash === null ? first : `${first}: to pass a value that starts with a dash, write ${dash[1]}`);
  }
  const str = (k: string): string | undefined => {
    const v = values[k];
    if (typeof v === "string" && v.trim() === "") throw new UsageError(`--${k} expects a value`);
    return typeof v === "string" ? v : undefined;
  };
  if (values["help"] === true) return { command: "help", text: helpText };
  const data = {
    dataset: dataset(str("dataset")),
    dataDir: str("data-dir"),
    cacheDir: str("cache-dir"),
    download: values["no-download"] !== true,
  };
  if (isPredict) {
    const checkpoint = str("checkpoint");
    if (checkpoint === undefined) throw new UsageError("predict needs --checkpoint PATH");
    return { command: "predict", checkpoint, index: intOption(str("index"), "index", 0, 0), ...data };
  }
  const lrRaw = str("lr");
  const lr = lrRaw === undefined ? 1e-3 : Number(lrRaw);
  if (!Number.isFinite(lr) || lr <= 0) throw new UsageError(`--lr expects a positive number, got "${lrRaw}"`);
  const threadsRaw = str("threads");
  const backend = str("backend");
  if (backend !== undefined && backend !== "js" && backend !== "wasm") {
    throw new UsageError(`--backend must be js or wasm, got "${backend}"`);
  }
  return {
    command: "train",
    epochs: intOption(str("epochs"), "epochs", 10, 1),
    batchSize: intOption(str("batch-size"), "batch-size", 64, 1),
    lr,
    hidden: intOption(str("hidden"), "hidden", 128, 1),
    seed: intOption(str("seed"), "seed", 1, 0),
    threads: threadsRaw === undefined ? undefined : intOption(threadsRaw, "threads", 1, 1),
    backend,
    ...data,
    save: str("save"),
    resume: str("resume"),
    eval: str("eval"),
    metrics: str("metrics"),
    report: str("report"),
    quiet: values["quiet"] === true,
  };
}
