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

/** How a call of {@link trainEpoch} ended: the epoch is over, stopped (Ctrl-C), or paused to let events in. */
export type EpochStatus = "done" | "stopped" | "paused";

/** What one call of {@link trainEpoch} needs. */
export interface TrainEpochOptions {
  readonly model: Sequential;
  readonly lossFn: CrossEntropyLoss;
  readonly optimizer: { zeroGrad(): void; step(): void };
  /** Where the epoch stands (mutated as it goes); fresh epochs start at zeros. */
  readonly state: EpochState;
  /** The epoch's batches, positioned at `state.batchesDone`; a paused call leaves it where it stopped. */
  readonly batches: Iterator<{ inputs: Tensor; targets: Tensor }>;
  readonly onBatch?: (state: EpochState) => void;
  /** Asked after every step: "stop" ends the epoch early, "pause" returns so the caller can yield to events. */
  readonly check?: () => "stop" | "pause" | "go";
}

/**
 * Trains on batches until the epoch ends or `check` asks to stop or pause. One step is PyTorch's:
 * zero the gradients, forward, cross-entropy, backward, Adam step. The epoch's training loss is the mean over images.
 */
export function trainEpoch(options: TrainEpochOptions): EpochStatus {
  const { model, lossFn, optimizer, batches, state, onBatch, check } = options;
  model.train();
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
    const verdict = check?.() ?? "go";
    if (verdict === "stop") return "stopped";
    if (verdict === "pause") return "paused";
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
