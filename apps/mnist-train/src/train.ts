// The training loop and the evaluation, free of I/O so that tests can drive them directly.
import { Tensor, noGrad } from "@tsgrad/tensor";
import { newFloat32 } from "@tsgrad/tensor/internal";
import type { Normalize } from "@tsgrad/data";
import { CLASSES, IMAGE_SIZE, type Net } from "./model.js";

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
  readonly net: Net;
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
  /** End the epoch ("done") once this many batches are done (a dry run: 1; default: all). */
  readonly maxBatches?: number;
}

/** Lets the event loop run pending events (a signal handler, a stream error) before training goes on. */
const yieldToEvents = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains on batches until the epoch ends or `shouldStop` says so, yielding to the event loop once at the start and
 * then every `yieldEveryMs` (so Ctrl-C is seen between two steps). One step is PyTorch's: zero the gradients,
 * forward, the loss (cross-entropy, or the CNN's nll of log-probabilities), backward, optimizer step. The epoch's
 * training loss is the mean over images.
 */
export async function trainEpoch(options: TrainEpochOptions): Promise<EpochStatus> {
  const { net, optimizer, batches, state, onBatch, shouldStop = () => false, yieldEveryMs = 50, maxBatches = Infinity } = options;
  net.module.train();
  await yieldToEvents();
  let lastYield = performance.now();
  for (;;) {
    if (state.batchesDone >= maxBatches) return "done";
    const next = batches.next();
    if (next.done === true) return "done";
    const { inputs, targets } = next.value;
    optimizer.zeroGrad();
    const loss = net.loss(net.forward(inputs), targets);
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
  /** Images evaluated (the split's, or the first `images` of it). */
  readonly images: number;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Images per test batch (default 1000, as main.py's --test-batch-size): the loss is summed batch by batch. */
  readonly batchSize?: number;
  /**
   * Images per forward pass (default: the batch). A smaller chunk bounds the memory of a large model's intermediates
   * (the CNN's second convolution gives 147 MB for 1,000 images) and changes nothing else: each image's output does
   * not depend on the others in the pass, and the batch's outputs are gathered before its loss is taken.
   */
  readonly chunkSize?: number;
  /** Evaluate only the first `images` of the split (a dry run: one batch; default: all). */
  readonly images?: number;
}

/** Pixel → input value as the DataLoader computes it: (v/255 − mean)/std in float64, rounded once to float32. */
export function pixelTable(normalize: Normalize | undefined): Float32Array {
  const { mean = 0, std = 1 } = normalize ?? {};
  return Float32Array.from({ length: 256 }, (_, v) => (v / 255 - mean) / std);
}

/** Mean test loss (the net's loss, summed per batch), accuracy (a fraction) and confusion matrix, without graph. */
export function evaluate(net: Net, split: Split, options: EvaluateOptions = {}): Evaluation {
  const { batchSize = 1000, images = split.count } = options;
  const chunkSize = Math.min(options.chunkSize ?? batchSize, batchSize);
  const count = Math.min(images, split.count);
  const confusion = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
  const lut = pixelTable(net.normalize);
  let lossSum = 0;
  let correct = 0;
  net.module.eval();
  const scratch = newFloat32(Math.min(chunkSize, count) * IMAGE_SIZE); // each pass overwrites the last
  const gathered = chunkSize < batchSize ? new Float32Array(Math.min(batchSize, count) * CLASSES) : null;
  /** The outputs of images [start, start + rows): one forward pass over the scratch. */
  const forward = (start: number, rows: number): Tensor => {
    const x = scratch.subarray(0, rows * IMAGE_SIZE);
    const px = split.images.subarray(start * IMAGE_SIZE, (start + rows) * IMAGE_SIZE);
    for (let i = 0; i < x.length; i++) x[i] = lut[px[i]!]!;
    return net.forward(new Tensor(x, [rows, IMAGE_SIZE])); // wraps the scratch (tensor() would copy it)
  };
  noGrad(() => {
    for (let start = 0; start < count; start += batchSize) {
      const rows = Math.min(batchSize, count - start);
      let output: Tensor;
      if (gathered === null) {
        output = forward(start, rows);
      } else {
        for (let c = 0; c < rows; c += chunkSize) gathered.set(forward(start + c, Math.min(chunkSize, rows - c)).data, c * CLASSES);
        output = new Tensor(gathered.subarray(0, rows * CLASSES), [rows, CLASSES]);
      }
      const labels = split.labels.subarray(start, start + rows);
      lossSum += net.loss(output, labels, "sum").item();
      const pred = output.argmax(1).data;
      for (let r = 0; r < rows; r++) {
        const y = labels[r]!;
        const p = pred[r]!;
        confusion[y]![p]! += 1;
        if (p === y) correct += 1;
      }
    }
  });
  net.module.train();
  return { loss: lossSum / count, accuracy: correct / count, confusion, images: count };
}
