// The training loop and the evaluation, free of I/O so that tests can drive them directly.
import { Tensor, noGrad } from "@tsgrad/tensor";
import { crossEntropy, type CrossEntropyLoss, type Sequential } from "@tsgrad/nn";
import { CLASSES, IMAGE_SIZE } from "./model.js";

/** Images and labels of one split. */
export interface Split {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** Where an epoch stands: batches done and the sum of per-image losses so far (to resume mid-epoch exactly). */
export interface EpochState {
  batchesDone: number;
  lossSum: number;
  imagesSeen: number;
}

/** How {@link trainEpoch} ended: the epoch is over, or `shouldStop` said so (Ctrl-C) after a step. */
export type EpochStatus = "done" | "stopped";

/** What {@link trainEpoch} needs. */
export interface TrainEpochOptions {
  readonly model: Sequential;
  readonly lossFn: CrossEntropyLoss;
  readonly optimizer: { zeroGrad(): void; step(): void };
  /** Where the epoch stands (mutated as it goes); fresh epochs start at zeros. */
  readonly state: EpochState;
  /** The epoch's batches, positioned at `state.batchesDone`. */
  readonly batches: Iterator<{ inputs: Tensor; targets: Tensor }>;
  readonly onBatch?: (state: EpochState) => void;
  /** Asked after every step: true ends the epoch there (a step once begun always finishes). */
  readonly shouldStop?: () => boolean;
  /** The loop lets pending events in (a signal, a closed pipe) at least this often (default 50 ms). */
  readonly yieldEveryMs?: number;
}

/** Lets the event loop run pending events (a signal handler, a stream error) before training goes on. */
const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains on batches until the epoch ends or `shouldStop` says so, yielding to the event loop once at the start and
 * then every `yieldEveryMs` (so Ctrl-C is seen between two steps). One step is PyTorch's: zero the gradients,
 * forward, cross-entropy, backward, Adam step. The epoch's training loss is the mean over images.
 */
export async function trainEpoch(options: TrainEpochOptions): Promise<EpochStatus> {
  const { model, lossFn, optimizer, batches, state, onBatch, shouldStop = () => false, yieldEveryMs = 50 } = options;
  model.train();
  await yieldToEvents();
  let lastYield = performance.now();
  for (;;) {
    const next = batches.next();
    if (next.done === true) return "done";
    const { inputs, targets } = next.value;
    optimizer.zeroGrad();
    const loss = lossFn.forward(model.forward(inputs), targets);
    loss.backward();
    optimizer.step();
    const b = targets.numel;
    state.lossSum += loss.item() * b;
    state.imagesSeen += b;
    state.batchesDone += 1;
    onBatch?.(state);
    if (shouldStop()) return "stopped";
    if (performance.now() - lastYield >= yieldEveryMs) {
      await yieldToEvents();
      lastYield = performance.now();
    }
  }
}

/** Test-split results. */
export interface Evaluation {
  readonly loss: number;
  readonly accuracy: number;
  /** confusion[true][predicted] */
  readonly confusion: number[][];
}

/** Mean cross-entropy, accuracy (a fraction) and confusion matrix over a split, without recording graph. */
export function evaluate(model: Sequential, split: Split, batchSize = 1000): Evaluation {
  const confusion = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
  let lossSum = 0;
  let correct = 0;
  model.eval();
  const scratch = new Float32Array(Math.min(batchSize, split.count) * IMAGE_SIZE); // each batch overwrites the last
  noGrad(() => {
    for (let start = 0; start < split.count; start += batchSize) {
      const rows = Math.min(batchSize, split.count - start);
      const x = scratch.subarray(0, rows * IMAGE_SIZE);
      const px = split.images.subarray(start * IMAGE_SIZE, (start + rows) * IMAGE_SIZE);
      for (let i = 0; i < x.length; i++) x[i] = px[i]! / 255;
      const labels = split.labels.subarray(start, start + rows);
      const logits = model.forward(new Tensor(x, [rows, IMAGE_SIZE])); // wraps the scratch (tensor() would copy it)
      lossSum += crossEntropy(logits, labels, { reduction: "sum" }).item();
      const pred = logits.argmax(1).data;
      for (let r = 0; r < rows; r++) {
        const y = labels[r]!;
        const p = pred[r]!;
        confusion[y]![p]! += 1;
        if (p === y) correct += 1;
      }
    }
  });
  model.train();
  return { loss: lossSum / split.count, accuracy: correct / split.count, confusion };
}
