// Command-line options: the parseArgs spec, validation into typed options, and the --help text.
import { parseArgs } from "node:util";
import type { ModelKind } from "./model.js";

/** A bad command line: printed as one line plus a hint, exit code 2, never a stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type DatasetName = "mnist" | "fashion-mnist";

/** What defines a run: a checkpoint records these, and `--resume`, `--eval` and `predict` take them from it. */
export interface RunSettings {
  readonly model: ModelKind;
  readonly dataset: DatasetName;
  /** The MLP's hidden width (the CNN has none: its value is then unused). */
  readonly hidden: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly seed: number;
}

/** The settings of a new run when no flag says otherwise (the MLP's; {@link runDefaults} gives either model's). */
export const RUN_DEFAULTS: RunSettings = { model: "mlp", dataset: "mnist", hidden: 128, batchSize: 64, lr: 1e-3, seed: 1 };

/** What differs between the two models' reference runs: the learning rate and the number of epochs. */
export const MODEL_DEFAULTS: Readonly<Record<ModelKind, { readonly lr: number; readonly epochs: number }>> = {
  mlp: { lr: 1e-3, epochs: 10 },
  cnn: { lr: 1.0, epochs: 14 },
};

/** The default settings of a run of `model`. */
export function runDefaults(model: ModelKind): RunSettings {
  return { ...RUN_DEFAULTS, model, lr: MODEL_DEFAULTS[model].lr };
}

/** The CLI flag of each run setting. */
export const RUN_FLAGS: Readonly<Record<keyof RunSettings, string>> = {
  model: "--model", dataset: "--dataset", hidden: "--hidden", batchSize: "--batch-size", lr: "--lr", seed: "--seed",
};

/** Where the data comes from (paths as the user typed them). */
export interface DataOptions {
  readonly dataDir: string | undefined;
  readonly cacheDir: string | undefined;
  readonly download: boolean;
  readonly verbose: boolean;
}

/** Options of a training run (and of `--eval`). */
export interface TrainOptions extends RunSettings, DataOptions {
  readonly command: "train";
  /** `--epochs`; undefined: the model's default (10 for the MLP, 14 for the CNN), known once a checkpoint is read. */
  readonly epochs: number | undefined;
  /** One training batch and one test batch, then stop (main.py's `--dry-run`); nothing is saved. */
  readonly dryRun: boolean;
  /** The run settings typed on the command line (the others are defaults, or come from a checkpoint). */
  readonly given: Partial<RunSettings>;
  /** Let flags replace what a checkpoint records (where that makes sense: see {@link helpText}). */
  readonly override: boolean;
  readonly threads: number | undefined;
  readonly backend: "js" | "wasm" | undefined;
  readonly save: string | undefined;
  readonly resume: string | undefined;
  readonly eval: string | undefined;
  readonly metrics: string | undefined;
  readonly report: string | undefined;
  readonly quiet: boolean;
}

/** Options of `predict`. */
export interface PredictOptions extends DataOptions {
  readonly command: "predict";
  readonly checkpoint: string;
  readonly index: number;
  readonly dataset: DatasetName;
  readonly given: Partial<RunSettings>;
  readonly override: boolean;
}

export type CliOptions = TrainOptions | PredictOptions | { readonly command: "help"; readonly text: string };

interface Spec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly value?: string;
  readonly default: string;
  readonly help: string;
}

const common: Record<string, Spec> = {
  dataset: { type: "string", value: "NAME", default: "mnist", help: "mnist or fashion-mnist" },
  "data-dir": { type: "string", value: "DIR", default: "-", help: "folder holding the four IDX files (raw or .gz)" },
  "cache-dir": { type: "string", value: "DIR", default: "$XDG_CACHE_HOME/tsgrad or ~/.cache/tsgrad", help: "where downloads are kept" },
  "no-download": { type: "boolean", default: "false", help: "never use the network (MNIST falls back to the embedded 9,000 / 1,000 images)" },
  override: { type: "boolean", default: "false", help: "let --dataset, --batch-size and --lr replace the checkpoint's values (see below)" },
  verbose: { type: "boolean", default: "false", help: "say more: each download attempt and why it failed" },
};

const trainSpec: Record<string, Spec> = {
  model: { type: "string", value: "NAME", default: "mlp", help: "mlp, or cnn (pytorch/examples' MNIST CNN; see above)" },
  epochs: { type: "string", value: "N", default: "10; cnn: 14", help: "total number of epochs (also when resuming)" },
  "batch-size": { type: "string", value: "N", default: "64", help: "images per training step" },
  lr: { type: "string", value: "X", default: "0.001; cnn: 1.0", help: "learning rate of Adam (mlp) or Adadelta (cnn)" },
  hidden: { type: "string", value: "N", default: "128", help: "width of the MLP's hidden layer" },
  seed: { type: "string", value: "N", default: "1", help: "seed of the initialisation, the shuffling and the dropout" },
  "dry-run": { type: "boolean", default: "false", help: "one training batch and one test batch, then stop (main.py's --dry-run); saves nothing" },
  threads: { type: "string", value: "N", default: "number of cores", help: "threads for the large matrix products" },
  backend: { type: "string", value: "NAME", default: "wasm where SIMD runs, else js", help: "matrix-product kernels: wasm (SIMD) or js" },
  ...common,
  save: { type: "string", value: "PATH", default: "-", help: "checkpoint (safetensors) after every epoch; optimizer state beside it" },
  resume: { type: "string", value: "PATH", default: "-", help: "continue the run of a checkpoint up to --epochs" },
  eval: { type: "string", value: "PATH", default: "-", help: "evaluate a checkpoint on the test split and exit" },
  metrics: { type: "string", value: "PATH", default: "-", help: "JSON lines, one record per epoch" },
  report: { type: "string", value: "PATH", default: "-", help: "HTML report: loss and accuracy curves, confusion matrix" },
  quiet: { type: "boolean", default: "false", help: "only errors and the final result" },
  help: { type: "boolean", short: "h", default: "false", help: "show this help" },
};

const predictSpec: Record<string, Spec> = {
  checkpoint: { type: "string", value: "PATH", default: "(required)", help: "a checkpoint written by --save" },
  index: { type: "string", value: "I", default: "0", help: "index of the test image to classify" },
  ...common,
  override: { type: "boolean", default: "false", help: "let --dataset replace the checkpoint's dataset" },
  help: { type: "boolean", short: "h", default: "false", help: "show this help" },
};

function helpBlock(spec: Record<string, Spec>): string {
  return Object.entries(spec)
    .map(([name, s]) => {
      const flag = `  ${s.short !== undefined ? `-${s.short}, ` : ""}--${name}${s.value ? ` ${s.value}` : ""}`;
      const def = s.type === "boolean" || s.default === "-" ? "" : s.default === "(required)" ? " (required)" : ` (default: ${s.default})`;
      return `${flag.padEnd(24)} ${s.help}${def}`;
    })
    .join("\n");
}

/** The --help text: every option with its default. */
export const helpText = `Usage: mnist-train [options]
       mnist-train predict --checkpoint PATH [--index I] [data options]

Trains one of two models on MNIST or Fashion-MNIST, with the settings of PyTorch's reference runs by default:
  --model mlp (default): Linear(784, hidden) → ReLU → Linear(hidden, 10), cross-entropy, Adam(lr=0.001), batch 64,
    shuffled, pixels/255, 10 epochs (PyTorch's classic MNIST run);
  --model cnn: pytorch/examples' mnist/main.py: Conv2d(1, 32, 3) → ReLU → Conv2d(32, 64, 3) → ReLU → max_pool2d(2)
    → Dropout(0.25) → flatten → Linear(9216, 128) → ReLU → Dropout(0.5) → Linear(128, 10) → log_softmax, nll_loss,
    Adadelta(lr=1.0), StepLR(step_size=1, gamma=0.7) after each epoch, batch 64, shuffled, pixels/255 then
    Normalize((0.1307,), (0.3081,)), test batch 1000, 14 epochs.

Training options:
${helpBlock(trainSpec)}

predict options:
${helpBlock(predictSpec)}

A checkpoint defines its run. --resume, --eval and predict take the model, the dataset, the hidden width, the batch
size, the seed and the learning rate from it (the CNN's also its learning-rate schedule and the dropout's generator),
and --resume checks that the training split has as many images as the run's; a flag that contradicts the checkpoint
is an error. --override lets --dataset, --batch-size and --lr (and a training split of another size) win instead:
with --resume the new epochs then use them (at an epoch boundary only, except --lr; the CNN's schedule then starts
from the new --lr), and --eval / predict score the weights on the --dataset given. The model and the hidden width
(fixed by the weights) and the seed (the shuffling and the dropout continue from the checkpoint's generator) cannot
be overridden. Without --save, --resume trains but keeps nothing. A checkpoint that lacks a setting (one converted
from PyTorch, or from an older mnist-train) uses the flag or the default, and says so; its model is read from its
weights.

--dry-run checks a run quickly: one training batch and one test batch (the first 1,000 test images), one line of
results, nothing saved (--metrics and --report are written, for a look at them).

Paths are relative to the folder the command was run in (INIT_CWD under pnpm and npm scripts). --save, --metrics
and --report are checked before anything is trained: their folder must exist and be writable.

Exit codes: 0 success, 1 failure (also a file that is not a checkpoint or not IDX data), 2 bad usage (flags,
missing files or folders, unwritable output paths), 130 interrupted (Ctrl-C), 141 standard output closed (e.g.
piped into head: the run stops quietly, with a checkpoint when --save is given), 143 terminated (SIGTERM: handled
like Ctrl-C).`;

function parseOptionsConfig(spec: Record<string, Spec>): Record<string, { type: "string" | "boolean"; short?: string }> {
  return Object.fromEntries(
    Object.entries(spec).map(([k, s]) => [k, s.short === undefined ? { type: s.type } : { type: s.type, short: s.short }]),
  );
}

/** A whole number from a flag: `min` 1 reads "a positive integer", `min` 0 "a non-negative integer". */
function intOption(raw: string | undefined, name: string, fallback: number, min: 0 | 1, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined) return fallback;
  const what = min === 1 ? "a positive integer" : "a non-negative integer";
  const text = raw.trim();
  const v = Number(text);
  if (!/^\+?\d+$/.test(text) || !Number.isSafeInteger(v) || v < min) throw new UsageError(`--${name} must be ${what}, got "${raw}"`);
  if (v > max) throw new UsageError(`--${name} must be at most ${max.toLocaleString("en-US")}, got ${v}`);
  return v;
}

function modelOption(raw: string | undefined): ModelKind | undefined {
  if (raw === undefined) return undefined;
  if (raw !== "mlp" && raw !== "cnn") throw new UsageError(`--model must be mlp or cnn, got "${raw}"`);
  return raw;
}

function datasetOption(raw: string | undefined): DatasetName | undefined {
  if (raw === undefined) return undefined;
  if (raw !== "mnist" && raw !== "fashion-mnist") throw new UsageError(`--dataset must be mnist or fashion-mnist, got "${raw}"`);
  return raw;
}

/**
 * `--epochs -1` reaches parseArgs as an option `-1`; joined into `--epochs=-1`, it gets the plain range message.
 * Only a value that looks like a negative number is joined, after a flag that takes a value.
 */
function joinNegativeValues(argv: readonly string[], spec: Record<string, Spec>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith("--") ? a.slice(2) : "";
    if (spec[name]?.type === "string" && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

function parseError(e: unknown, isPredict: boolean): UsageError {
  const text = (e as Error).message;
  const first = text.split("\n")[0]!.replace(/\.$/, "");
  const dash = /use '(--[\w-]+=-XYZ)'/.exec(text);
  if (dash !== null) return new UsageError(`${first}: to pass a value that starts with a dash, write ${dash[1]}`);
  const positional = /Unexpected argument '(.*)'/.exec(first);
  if (positional !== null) {
    return new UsageError(isPredict
      ? `unexpected argument "${positional[1]}": predict takes options only (--checkpoint PATH, --index I)`
      : `unexpected argument "${positional[1]}": mnist-train takes options only, or the command predict`);
  }
  return new UsageError(first);
}

/** Flags that only a training run uses: with --eval they would do nothing, so they are refused. */
const TRAIN_ONLY = ["epochs", "save", "resume", "metrics", "report", "dry-run"] as const;

/** Flags that contradict a dry run (one batch, nothing saved, a fresh run). */
const NOT_DRY = ["epochs", "save", "resume"] as const;

/** Parses argv (without node and the script) into typed options; throws UsageError on bad usage. */
export function parseCli(given: readonly string[]): CliOptions {
  // `npm run train -- --epochs 2` and some pnpm versions pass the separator on: a leading "--" is not an argument.
  const argv = given[0] === "--" ? given.slice(1) : given;
  const isPredict = argv[0] === "predict";
  const spec = isPredict ? predictSpec : trainSpec;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: joinNegativeValues(isPredict ? argv.slice(1) : argv, spec),
      options: parseOptionsConfig(spec),
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw parseError(e, isPredict);
  }
  const str = (k: string): string | undefined => {
    const v = values[k];
    if (typeof v === "string" && v.trim() === "") throw new UsageError(`--${k} expects a value`);
    return typeof v === "string" ? v : undefined;
  };
  if (values["help"] === true) return { command: "help", text: helpText };
  const givenDataset = datasetOption(str("dataset"));
  const data: DataOptions = {
    dataDir: str("data-dir"),
    cacheDir: str("cache-dir"),
    download: values["no-download"] !== true,
    verbose: values["verbose"] === true,
  };
  const override = values["override"] === true;
  if (isPredict) {
    const checkpoint = str("checkpoint");
    if (checkpoint === undefined) throw new UsageError("predict needs --checkpoint PATH");
    const runGiven: Partial<RunSettings> = givenDataset === undefined ? {} : { dataset: givenDataset };
    return {
      command: "predict", checkpoint, index: intOption(str("index"), "index", 0, 0),
      dataset: givenDataset ?? RUN_DEFAULTS.dataset, given: runGiven, override, ...data,
    };
  }
  const lrRaw = str("lr");
  const lr = lrRaw === undefined ? undefined : Number(lrRaw);
  if (lr !== undefined && (!Number.isFinite(lr) || lr <= 0)) throw new UsageError(`--lr must be a positive number, got "${lrRaw}"`);
  const threadsRaw = str("threads");
  const backend = str("backend");
  if (backend !== undefined && backend !== "js" && backend !== "wasm") {
    throw new UsageError(`--backend must be js or wasm, got "${backend}"`);
  }
  const hidden = str("hidden") === undefined ? undefined : intOption(str("hidden"), "hidden", 0, 1, 1 << 16);
  const batchSize = str("batch-size") === undefined ? undefined : intOption(str("batch-size"), "batch-size", 0, 1);
  const seed = str("seed") === undefined ? undefined : intOption(str("seed"), "seed", 0, 0);
  const model = modelOption(str("model"));
  if (model === "cnn" && hidden !== undefined) {
    throw new UsageError(`--hidden ${hidden} applies to --model mlp only: the CNN has no hidden width to set (leave --hidden out)`);
  }
  const runGiven: Partial<RunSettings> = {
    ...(model !== undefined ? { model } : {}),
    ...(givenDataset !== undefined ? { dataset: givenDataset } : {}),
    ...(hidden !== undefined ? { hidden } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(lr !== undefined ? { lr } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
  const options: TrainOptions = {
    command: "train",
    ...runDefaults(model ?? "mlp"),
    ...runGiven,
    given: runGiven,
    override,
    epochs: str("epochs") === undefined ? undefined : intOption(str("epochs"), "epochs", 0, 1),
    dryRun: values["dry-run"] === true,
    threads: threadsRaw === undefined ? undefined : intOption(threadsRaw, "threads", 1, 1, 256),
    backend,
    ...data,
    save: str("save"),
    resume: str("resume"),
    eval: str("eval"),
    metrics: str("metrics"),
    report: str("report"),
    quiet: values["quiet"] === true,
  };
  if (options.eval !== undefined) {
    if (options.resume !== undefined) throw new UsageError("--eval and --resume cannot be used together: --eval evaluates a checkpoint, --resume trains it further");
    for (const k of TRAIN_ONLY) {
      if (values[k] !== undefined) throw new UsageError(`--${k} has no effect with --eval (it evaluates a checkpoint and trains nothing)`);
    }
  }
  if (options.dryRun) {
    for (const k of NOT_DRY) {
      if (values[k] !== undefined) {
        throw new UsageError(`--${k} cannot be used with --dry-run: a dry run trains one batch of a new run and saves no checkpoint`);
      }
    }
  }
  if (override && options.resume === undefined && options.eval === undefined) {
    throw new UsageError("--override only applies with --resume or --eval (or to predict): there is no checkpoint to override");
  }
  return options;
}
