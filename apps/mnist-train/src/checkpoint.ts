// Checkpoints: model weights under PyTorch's names in a safetensors file (run state in its string metadata), the
// optimizer state in a sibling file; both written atomically and tied together by a content hash.
import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { Tensor, type GeneratorState } from "@tsgrad/tensor";
import { loadSafetensors, saveSafetensors, type StateDict } from "@tsgrad/nn";
import type { OptimizerStateDict, SchedulerStateDict } from "@tsgrad/optim";
import { writeFileAtomic } from "@tsgrad/data/node";
import type { EpochRecord } from "./report.js";

/** The run's state stored in the model file's metadata. */
export interface RunState {
  /** Epochs completed. */
  readonly epoch: number;
  /** Batches done in the epoch after `epoch` (0 at an epoch boundary). */
  readonly batchesDone: number;
  /** Sum of per-image training losses and images seen in that partial epoch. */
  readonly lossSum: number;
  readonly imagesSeen: number;
  /** The generator now (at an epoch boundary) and when the partial epoch's permutation was drawn. */
  readonly generator: GeneratorState;
  readonly epochStartGenerator: GeneratorState | null;
  /**
   * The options that shape the run: the MLP's hidden, batch size, lr, seed, dataset, training images (no `model` key:
   * an MLP's metadata is as before there was a CNN); the CNN's `model: "cnn"`, the same but hidden, and its fixed
   * settings (`gamma`, `stepSize`, `normalizeMean`, `normalizeStd`, `testBatchSize`).
   */
  readonly options: Readonly<Record<string, string | number | boolean>>;
  /** Per-epoch metrics so far, so that metrics files and reports survive a resume (no timings: same seed, same bytes). */
  readonly history: readonly Omit<EpochRecord, "seconds">[];
}

/** What a checkpoint holds. */
export interface Checkpoint {
  readonly model: StateDict;
  readonly run: RunState | null;
  readonly optimizer: OptimizerStateDict | null;
  /** The learning-rate scheduler's state (the CNN's StepLR), kept in the optimizer file; null for the MLP. */
  readonly scheduler: SchedulerStateDict | null;
}

const FORMAT = "tsgrad-mnist-train/1";

/** `run.safetensors` → `run.optim.safetensors`; `run` → `run.optim`. */
export function optimizerPath(path: string): string {
  const ext = extname(path);
  return ext === "" ? `${path}.optim` : `${path.slice(0, -ext.length)}.optim${ext}`;
}

/** FNV-1a (32-bit) of bytes, as 8 hex digits: ties the model file to its optimizer file. */
export function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** The optimizer state as tensors (`state.<i>.<name>`) plus JSON metadata for numbers and groups. */
export function encodeOptimizer(sd: OptimizerStateDict): { tensors: StateDict; metadata: Record<string, string> } {
  const tensors: StateDict = {};
  const scalars: Record<string, Record<string, number | boolean | null>> = {};
  for (const [index, entry] of Object.entries(sd.state)) {
    for (const [name, value] of Object.entries(entry)) {
      if (value instanceof Tensor) tensors[`state.${index}.${name}`] = value;
      else (scalars[index] ??= {})[name] = value as number | boolean | null;
    }
  }
  return { tensors, metadata: { scalars: JSON.stringify(scalars), paramGroups: JSON.stringify(sd.paramGroups) } };
}

/** Inverse of {@link encodeOptimizer}. */
export function decodeOptimizer(tensors: Readonly<Record<string, Tensor>>, metadata: Readonly<Record<string, string>>): OptimizerStateDict {
  const state: Record<string, Record<string, unknown>> = {};
  const scalars = JSON.parse(metadata["scalars"] ?? "{}") as Record<string, Record<string, unknown>>;
  for (const [index, entry] of Object.entries(scalars)) state[index] = { ...entry };
  for (const [key, t] of Object.entries(tensors)) {
    const m = /^state\.(\d+)\.(.+)$/.exec(key);
    if (m === null) throw new Error(`optimizer file: unexpected tensor "${key}"`);
    (state[m[1]!] ??= {})[m[2]!] = t;
  }
  return { state, paramGroups: JSON.parse(metadata["paramGroups"] ?? "[]") } as unknown as OptimizerStateDict;
}

/**
 * Writes the optimizer file (with the scheduler's state, when there is one) under a temporary name, then the model
 * file (atomically: the commit point, holding the optimizer file's hash), then renames the optimizer file into place.
 * A kill at any moment leaves the previous checkpoint, or the new model file with its optimizer state still under the
 * temporary name, which {@link readCheckpoint} renames into place.
 */
export function writeCheckpoint(
  path: string, model: StateDict, run: RunState, optimizer: OptimizerStateDict, scheduler: SchedulerStateDict | null = null,
): void {
  const opt = encodeOptimizer(optimizer);
  const schedulerMetadata: Record<string, string> = scheduler === null ? {} : { scheduler: JSON.stringify(scheduler) };
  const optBytes = saveSafetensors(opt.tensors, { format: `${FORMAT}/optimizer`, ...opt.metadata, ...schedulerMetadata });
  const hash = fnv1a(optBytes);
  const optFinal = optimizerPath(path);
  const optPending = pendingPath(optFinal, hash);
  writeFileAtomic(optPending, optBytes);
  const metadata: Record<string, string> = {
    format: FORMAT,
    epoch: String(run.epoch),
    batchesDone: String(run.batchesDone),
    lossSum: String(run.lossSum),
    imagesSeen: String(run.imagesSeen),
    generator: JSON.stringify(run.generator),
    epochStartGenerator: JSON.stringify(run.epochStartGenerator),
    options: JSON.stringify(run.options),
    history: JSON.stringify(run.history.map(({ epoch, trainLoss, testLoss, testAccuracy }) => ({ epoch, trainLoss, testLoss, testAccuracy }))),
    optimizerHash: hash,
  };
  writeFileAtomic(path, saveSafetensors(model, metadata));
  renameSync(optPending, optFinal);
  removeLeftovers(path, optFinal);
}

function pendingPath(optFinal: string, hash: string): string {
  return join(dirname(optFinal), `.${basename(optFinal)}.${hash}.pending`);
}

/**
 * Reads a checkpoint. A file from PyTorch (`torch.save` of a state dict converted with safetensors) holds only
 * weights: `run` and `optimizer` are then null.
 */
export function readCheckpoint(path: string, { withOptimizer = true } = {}): Checkpoint {
  if (!existsSync(path)) throw new Error(`checkpoint ${path} does not exist`);
  const file = loadSafetensors(readFileSync(path));
  const md = file.metadata;
  if (md["format"] !== FORMAT) return { model: file.tensors, run: null, optimizer: null, scheduler: null };
  const run: RunState = {
    epoch: Number(md["epoch"]),
    batchesDone: Number(md["batchesDone"]),
    lossSum: Number(md["lossSum"]),
    imagesSeen: Number(md["imagesSeen"]),
    generator: JSON.parse(md["generator"]!) as GeneratorState,
    epochStartGenerator: JSON.parse(md["epochStartGenerator"] ?? "null") as GeneratorState | null,
    options: JSON.parse(md["options"] ?? "{}") as Record<string, string | number | boolean>,
    history: JSON.parse(md["history"] ?? "[]") as Omit<EpochRecord, "seconds">[],
  };
  if (!withOptimizer) return { model: file.tensors, run, optimizer: null, scheduler: null };
  const optFinal = optimizerPath(path);
  const hash = md["optimizerHash"] ?? "";
  const pending = pendingPath(optFinal, hash);
  if (existsSync(pending)) renameSync(pending, optFinal); // finish a write that was interrupted after its commit point
  if (!existsSync(optFinal)) throw new Error(`the optimizer state of ${path} is missing: expected ${optFinal}`);
  const optBytes = readFileSync(optFinal);
  if (fnv1a(optBytes) !== hash) {
    throw new Error(`the optimizer state ${optFinal} does not belong to ${path} (hash ${fnv1a(optBytes)}, expected ${hash})`);
  }
  const opt = loadSafetensors(optBytes, { name: optFinal }); // the checkpoint itself is named by the caller
  const scheduler = opt.metadata["scheduler"] === undefined ? null : (JSON.parse(opt.metadata["scheduler"]) as SchedulerStateDict);
  return { model: file.tensors, run, optimizer: decodeOptimizer(opt.tensors, opt.metadata), scheduler };
}

/** Removes what killed runs left beside the checkpoint: temporary and uncommitted optimizer files. */
function removeLeftovers(path: string, optFinal: string): void {
  const dir = dirname(path);
  const stems = [`${basename(path)}.`, `${basename(optFinal)}.`];
  for (const name of readdirSync(dir)) {
    const ours = name.startsWith(".") && stems.some((s) => name.includes(s));
    if (ours && (name.endsWith(".tmp") || name.endsWith(".pending"))) {
      rmSync(join(dir, name), { force: true });
    }
  }
}
