// DataLoader: seeded shuffling and batching of in-memory datasets into float32 tensors; TensorDataset. No I/O.
import { Generator, ShapeError, Tensor, defaultGenerator, formatShape, type GeneratorState } from "@tsgrad/tensor";
import { newFloat32 } from "@tsgrad/tensor/internal";

/**
 * An in-memory dataset of `count` samples: `images` holds `count` equal rows back to back (a {@link MnistSplit} has
 * 784 bytes per row), `labels` one class index per sample. `Uint8Array` images are pixels, scaled by 1/255;
 * `Float32Array` images are used as they are. `count` defaults to `labels.length`.
 */
export interface ImageDataset {
  readonly images: Uint8Array | Float32Array;
  readonly labels: ArrayLike<number>;
  readonly count?: number;
}

/**
 * A dataset of two tensors sharing their first dimension, like `torch.utils.data.TensorDataset`: sample i is row i of
 * `inputs` and element i of `targets`.
 *
 * ```ts
 * const ds = new TensorDataset(randn([100, 4]), tensor(labels));
 * for (const { inputs, targets } of new DataLoader(ds, { batchSize: 10 })) { ... } // inputs [10, 4], targets [10]
 * ```
 */
export class TensorDataset {
  /** Number of samples: the first dimension of both tensors. */
  readonly count: number;

  constructor(
    readonly inputs: Tensor,
    readonly targets: Tensor,
  ) {
    if (inputs.ndim < 1 || targets.ndim !== 1 || inputs.shape[0] !== targets.shape[0]) {
      throw new ShapeError(
        `TensorDataset: expected inputs [N, ...] and targets [N], got ${formatShape(inputs.shape)} and ` +
          formatShape(targets.shape),
      );
    }
    this.count = targets.shape[0]!;
  }
}

/** Per-value normalisation `(x - mean) / std`, applied after scaling pixels to [0, 1] (torchvision's `Normalize`). */
export interface Normalize {
  readonly mean: number;
  readonly std: number;
}

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Samples per batch (default 64). */
  readonly batchSize?: number;
  /** Draw a new permutation of the samples at the start of every epoch (default false: dataset order). */
  readonly shuffle?: boolean;
  /** Leave out the last batch when it is short (default false). */
  readonly dropLast?: boolean;
  /** Where permutations come from (default: the default generator that `manualSeed` seeds). */
  readonly generator?: Generator;
  /** Normalise inputs, e.g. `{ mean: 0.1307, std: 0.3081 }` for MNIST (default: none). */
  readonly normalize?: Normalize;
}

/** Options of {@link DataLoader.batches}. */
export interface BatchesOptions {
  /** The first batch to produce, to resume an epoch in the middle (default 0). */
  readonly startBatch?: number;
  /**
   * Write every batch of the epoch into the same two arrays, so that the epoch creates none (default false: each
   * batch has arrays of its own, as PyTorch's). A batch then holds its values only until the next one is requested:
   * for a training loop that is done with a batch (its `backward()` and optimizer step) before taking the next.
   */
  readonly reuseStorage?: boolean;
}

/** One batch: `inputs` [B, ...sample shape] float32, `targets` [B] (class indices for images). */
export interface Batch {
  readonly inputs: Tensor;
  readonly targets: Tensor;
}

/** Rows of a dataset, viewed uniformly. */
interface Table {
  readonly count: number;
  readonly rowShape: readonly number[];
  readonly rowSize: number;
  readonly values: Uint8Array | Float32Array;
  readonly targets: ArrayLike<number>;
}

/**
 * Batches an in-memory dataset: `torch.utils.data.DataLoader` for data that fits in memory.
 *
 * Each batch costs one pass over its B×rowSize values: pixels go through a 256-entry float32 table (pixel/255, then
 * normalisation, computed in float64 and rounded once), so `inputs` equals torchvision's `ToTensor()` exactly. Every
 * batch gets fresh arrays: batches kept by the caller are never overwritten.
 *
 * With `shuffle`, each epoch (each `for...of`, or each {@link DataLoader.batches} call) draws one permutation from
 * the generator when it starts: the same seed gives the same sequence of epochs. To resume mid-epoch from a
 * checkpoint, save {@link DataLoader.epochStartState} and the next batch index, then restore:
 *
 * ```ts
 * const loader = new DataLoader(mnist.train, { batchSize: 64, shuffle: true, generator: new Generator(0) });
 * for (const { inputs, targets } of loader) { ... }        // inputs [64, 784] in [0, 1], targets [64]
 * // resume: loader.generator.setState(saved.epochStartState); loader.batches({ startBatch: saved.nextBatch })
 * ```
 */
export class DataLoader implements Iterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator;
  readonly normalize: Normalize | undefined;
  private readonly table: Table;
  private readonly pixelTable: Float32Array;
  private startState: GeneratorState | null = null;

  constructor(dataset: ImageDataset | TensorDataset, options: DataLoaderOptions = {}) {
    const { batchSize = 64, shuffle = false, dropLast = false, generator = defaultGenerator, normalize } = options;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`DataLoader: batchSize should be a positive integer value, but got batchSize=${batchSize}`);
    }
    if (normalize !== undefined) {
      if (!Number.isFinite(normalize.mean)) throw new RangeError(`DataLoader: invalid normalize.mean: ${normalize.mean}`);
      if (!(normalize.std > 0 && Number.isFinite(normalize.std))) {
        throw new RangeError(`DataLoader: invalid normalize.std: ${normalize.std} (expected a finite std > 0)`);
      }
    }
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.generator = generator;
    this.normalize = normalize;
    this.table = toTable(dataset);
    const { mean = 0, std = 1 } = normalize ?? {};
    this.pixelTable = Float32Array.from({ length: 256 }, (_, v) => (v / 255 - mean) / std);
  }

  /** Number of samples in the dataset. */
  get count(): number {
    return this.table.count;
  }

  /** Number of batches per epoch (`len(loader)`). */
  get length(): number {
    const { count } = this.table;
    return this.dropLast ? Math.floor(count / this.batchSize) : Math.ceil(count / this.batchSize);
  }

  /**
   * The generator state just before the permutation of the latest epoch was drawn (null before the first shuffled
   * epoch). Restoring it and calling `batches({ startBatch })` replays that epoch's order.
   */
  get epochStartState(): GeneratorState | null {
    return this.startState;
  }

  /** One epoch of batches: same as `for...of`. */
  [Symbol.iterator](): IterableIterator<Batch> {
    return this.batches();
  }

  /** One epoch of batches from `startBatch` on; the permutation (if `shuffle`) is drawn now, not at the first `next()`. */
  batches(options: BatchesOptions = {}): IterableIterator<Batch> {
    const { startBatch = 0, reuseStorage = false } = options;
    if (!Number.isSafeInteger(startBatch) || startBatch < 0 || startBatch > this.length) {
      throw new RangeError(`DataLoader.batches: invalid startBatch: ${startBatch} (expected 0 to ${this.length})`);
    }
    let order: Int32Array | null = null;
    if (this.shuffle) {
      this.startState = this.generator.getState();
      order = this.generator.shuffle(Int32Array.from({ length: this.table.count }, (_, i) => i));
    }
    return this.epoch(order, startBatch, reuseStorage);
  }

  private *epoch(order: Int32Array | null, startBatch: number, reuseStorage: boolean): EpochIterator {
    const { count, rowSize } = this.table;
    // With reuseStorage, one pair of arrays for the epoch (in the tensor heap, where the kernels read them in place); a
    // shorter last batch uses the front of them. Without it, ordinary arrays: a loop that never yields to the event
    // loop gives the heap nothing back (its blocks return through FinalizationRegistry), while the collector reclaims
    // ordinary arrays at once.
    let shared: { inputs: Float32Array; labels: Float32Array } | null = null;
    for (let b = startBatch; b < this.length; b++) {
      const start = b * this.batchSize;
      const rows = Math.min(start + this.batchSize, count) - start;
      if (reuseStorage) {
        shared ??= { inputs: newFloat32(this.batchSize * rowSize), labels: new Float32Array(this.batchSize) };
        yield this.gather(order, start, rows, shared.inputs.subarray(0, rows * rowSize), shared.labels.subarray(0, rows));
      } else {
        yield this.gather(order, start, rows, new Float32Array(rows * rowSize), new Float32Array(rows));
      }
    }
  }

  private gather(order: Int32Array | null, start: number, rows: number, inputs: Float32Array, labels: Float32Array): Batch {
    const { rowShape, rowSize, values, targets } = this.table;
    const lut = this.pixelTable;
    const { mean = 0, std = 1 } = this.normalize ?? {};
    if (values instanceof Uint8Array) {
      gatherBytes(values, lut, order, start, rows, rowSize, inputs);
    } else {
      for (let r = 0; r < rows; r++) {
        const src = (order === null ? start + r : order[start + r]!) * rowSize;
        if (this.normalize === undefined) inputs.set(values.subarray(src, src + rowSize), r * rowSize);
        else for (let j = 0; j < rowSize; j++) inputs[r * rowSize + j] = (values[src + j]! - mean) / std;
      }
    }
    for (let r = 0; r < rows; r++) labels[r] = targets[order === null ? start + r : order[start + r]!]!;
    return { inputs: new Tensor(inputs, [rows, ...rowShape]), targets: new Tensor(labels, [rows]) };
  }
}

/** What a generator function over batches returns (the global `Generator`, which the RNG class shadows here). */
type EpochIterator = globalThis.Generator<Batch, void, undefined>;

function toTable(dataset: ImageDataset | TensorDataset): Table {
  if (dataset instanceof TensorDataset) {
    const { inputs, targets, count } = dataset;
    const rowShape = inputs.shape.slice(1);
    return { count, rowShape, rowSize: rowShape.reduce((a, b) => a * b, 1), values: inputs.data, targets: targets.data };
  }
  const { images, labels, count = labels.length } = dataset;
  if (!(images instanceof Uint8Array || images instanceof Float32Array)) {
    throw new TypeError("DataLoader: expected images to be a Uint8Array or a Float32Array");
  }
  if (!Number.isSafeInteger(count) || count < 1 || labels.length !== count || images.length % count !== 0) {
    throw new ShapeError(
      `DataLoader: expected count >= 1 samples with images.length a multiple of count and one label each, got ` +
        `count ${count}, ${images.length} image values and ${labels.length} labels`,
    );
  }
  return { count, rowShape: [images.length / count], rowSize: images.length / count, values: images, targets: labels };
}

/** Rows of bytes through the 256-entry table into `out`: a monomorphic loop (the hot path of every MNIST epoch). */
function gatherBytes(
  values: Uint8Array, lut: Float32Array, order: Int32Array | null,
  start: number, rows: number, rowSize: number, out: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const src = (order === null ? start + r : order[start + r]!) * rowSize;
    const dst = r * rowSize;
    for (let j = 0; j < rowSize; j++) out[dst + j] = lut[values[src + j]!]!;
  }
}
