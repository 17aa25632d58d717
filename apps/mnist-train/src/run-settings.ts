// A checkpoint defines its run: how its recorded settings and the command line's flags combine, and when they clash.
import { RUN_FLAGS, UsageError, runDefaults, type DatasetName, type RunSettings } from "./cli.js";
import type { Architecture, ModelKind } from "./model.js";
import { count } from "./text.js";

/** What reads a checkpoint: `--resume` trains on, `--eval` and `predict` only run the weights. */
export type CheckpointUse = "resume" | "eval" | "predict";

/** What a checkpoint records about its run; a file from PyTorch or an older mnist-train lacks some fields. */
export interface RecordedRun extends Partial<RunSettings> {
  /** Images in the training split the run was trained on (recorded since the checkpoint defines its run). */
  readonly trainImages?: number;
}

/** The recorded run from a checkpoint's `options` metadata; fields of the wrong type count as not recorded. */
export function recordedRun(options: Readonly<Record<string, unknown>> | null): RecordedRun {
  if (options === null) return {};
  const int = (k: string, min: number): number | undefined => {
    const v = options[k];
    return typeof v === "number" && Number.isSafeInteger(v) && v >= min ? v : undefined;
  };
  const lr = options["lr"];
  const dataset = options["dataset"];
  const model = options["model"];
  const fields = {
    model: model === "mlp" || model === "cnn" ? (model as ModelKind) : undefined,
    dataset: dataset === "mnist" || dataset === "fashion-mnist" ? (dataset as DatasetName) : undefined,
    hidden: int("hidden", 1),
    batchSize: int("batchSize", 1),
    lr: typeof lr === "number" && Number.isFinite(lr) && lr > 0 ? lr : undefined,
    seed: int("seed", 0),
    trainImages: int("trainImages", 1),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as RecordedRun;
}

/** Where a resumed checkpoint stands, when it stopped inside an epoch. */
export interface MidEpoch {
  /** The epoch it stopped in (1-based) and the batches done in it. */
  readonly epoch: number;
  readonly batchesDone: number;
}

/** What {@link resolveRun} combines. */
export interface ResolveRunInput {
  readonly use: CheckpointUse;
  /** The checkpoint as the user named it, for messages (`--resume run.safetensors`). */
  readonly flag: string;
  readonly path: string;
  readonly recorded: RecordedRun;
  /** What the checkpoint's weights are: the model, and the MLP's hidden width (`0.weight` is [hidden, 784]). */
  readonly weights: Architecture;
  /** The settings typed on the command line. */
  readonly given: Partial<RunSettings>;
  readonly override: boolean;
  /** Set when a resumed checkpoint stopped inside an epoch. */
  readonly midEpoch: MidEpoch | null;
}

/** The run's settings, what to tell the user about them, and which flags replaced a recorded value. */
export interface ResolvedRun {
  readonly settings: RunSettings;
  readonly notes: readonly string[];
  readonly overridden: readonly (keyof RunSettings)[];
}

/** How the messages name each setting. */
export const RUN_LABELS: Readonly<Record<keyof RunSettings, string>> = {
  model: "model", dataset: "dataset", hidden: "hidden width", batchSize: "batch size", lr: "learning rate", seed: "seed",
};

const KEYS = ["model", "dataset", "hidden", "batchSize", "lr", "seed"] as const satisfies readonly (keyof RunSettings)[];

/** The settings that matter to each use: `--eval` and `predict` train nothing, so only the data and the weights count. */
const USED: Readonly<Record<CheckpointUse, ReadonlySet<keyof RunSettings>>> = {
  resume: new Set(KEYS),
  eval: new Set(["model", "dataset", "hidden"]),
  predict: new Set(["model", "dataset", "hidden"]),
};

/**
 * The settings of a run that reads a checkpoint: each comes from the checkpoint; a flag that says the same is fine, a
 * flag that contradicts it is a {@link UsageError} naming both values unless `override` lets it win where it can
 * (`--dataset`, `--batch-size` and `--lr`; with `--resume`, the dataset and batch size only at an epoch boundary).
 * The model and the hidden width are the weights' and the seed the shuffling's: no flag overrides them (the CNN has
 * no hidden width: `--hidden` with one is an error). A setting the checkpoint does not record comes from the flag,
 * else the model's default, with a note.
 */
export function resolveRun(input: ResolveRunInput): ResolvedRun {
  const { use, flag, path, recorded, weights, given, override, midEpoch } = input;
  const notes: string[] = [];
  const overridden: (keyof RunSettings)[] = [];
  const defaults = runDefaults(weights.model);
  const settings: Record<keyof RunSettings, string | number> = { ...defaults };
  const recordedValues: Partial<RunSettings> = {
    ...recorded, model: weights.model, hidden: weights.model === "mlp" ? weights.hidden : defaults.hidden,
  };
  if (weights.model === "cnn" && given.hidden !== undefined) {
    throw new UsageError(`--hidden ${given.hidden} does not apply to ${flag} ${path}: it holds the CNN, which has no hidden width (leave --hidden out)`);
  }
  for (const key of KEYS) {
    const label = RUN_LABELS[key];
    const f = RUN_FLAGS[key];
    const mine = given[key];
    const theirs = recordedValues[key];
    if (theirs === undefined) {
      settings[key] = mine ?? defaults[key];
      if (USED[use].has(key)) {
        notes.push(`${path} does not record its ${label}: using ${settings[key]}${mine === undefined ? ` (the default; set it with ${f})` : ` (${f})`}`);
      }
      continue;
    }
    settings[key] = theirs;
    if (mine === undefined || mine === theirs) continue;
    const clash = `${f} ${mine} contradicts the checkpoint's ${label} ${theirs}`;
    if (key === "model") {
      throw new UsageError(`${clash}: ${flag} ${path} holds the weights of the ${theirs === "cnn" ? "CNN" : "MLP"}, and no flag changes the model (leave ${f} out)`);
    }
    if (key === "hidden") {
      throw new UsageError(`${clash}: the weights of ${flag} ${path} are Linear(784→${theirs}), and no flag changes them (leave ${f} out)`);
    }
    if (!USED[use].has(key)) {
      throw new UsageError(`${clash}: ${use === "eval" ? "--eval" : use} trains nothing, so ${f} would have no effect (leave it out)`);
    }
    if (key === "seed") {
      throw new UsageError(`${clash}: the shuffling continues from the checkpoint's generator, so ${f} cannot change it (leave ${f} out, or start a new run without ${flag})`);
    }
    if (!override) throw new UsageError(`${clash} (${flag} ${path}); add --override to use ${f} ${mine} anyway`);
    if (midEpoch !== null && key !== "lr") {
      throw new UsageError(
        `${clash}, and ${path} stops inside epoch ${midEpoch.epoch} (after ${count(midEpoch.batchesDone, "batch", "batches")}): ` +
          `--override can change the ${label} only at an epoch boundary (finish that epoch first with ${flag} ${path} --epochs ${midEpoch.epoch} --save ${path})`,
      );
    }
    settings[key] = mine;
    overridden.push(key);
  }
  return { settings: settings as unknown as RunSettings, notes, overridden };
}

/** What {@link checkTrainingSplit} compares. */
export interface TrainingSplitCheck {
  readonly flag: string;
  readonly path: string;
  readonly recorded: RecordedRun;
  /** Images in the training split loaded now, and a description of the data (`MNIST: 60,000 train / ...`). */
  readonly images: number;
  readonly description: string;
  readonly override: boolean;
  readonly midEpoch: MidEpoch | null;
}

/**
 * A resumed run continues on a training split of the size it was trained on (the embedded 9,000 images and the full
 * 60,000 are different runs); `override` accepts another at an epoch boundary. Returns the notes to print.
 */
export function checkTrainingSplit(c: TrainingSplitCheck): string[] {
  const { flag, path, recorded, images, description, override, midEpoch } = c;
  if (recorded.trainImages === undefined) {
    return [`${path} does not record the size of its training split (an older checkpoint): not checked`];
  }
  if (recorded.trainImages === images) return [];
  const clash = `${flag} ${path} was trained on ${count(recorded.trainImages, "training image")}, ` +
    `but the data now has ${images.toLocaleString("en-US")} (${description})`;
  if (!override) throw new UsageError(`${clash}; give the run's data (--data-dir), or add --override to continue on this data`);
  if (midEpoch !== null) {
    throw new UsageError(`${clash}, and the checkpoint stops inside epoch ${midEpoch.epoch}: --override can change the data only at an epoch boundary`);
  }
  return [];
}

