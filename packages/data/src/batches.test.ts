// DataLoader: coverage of every index per epoch, dropLast, seeded shuffling and resume, batch contents; TensorDataset.
import { Generator, ShapeError, tensor } from "@tsgrad/tensor";
import { beforeAll, describe, expect, it } from "vitest";
import { DataLoader, TensorDataset, type Batch } from "./batches.js";

/** n images of 784 bytes whose first two pixels spell the sample index (low byte, high byte); label = index % 10. */
function indexedImages(n: number): { images: Uint8Array; labels: Uint8Array; count: number } {
  const images = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    images[i * 784] = i & 255;
    images[i * 784 + 1] = i >> 8;
    for (let j = 2; j < 784; j++) images[i * 784 + j] = (i * 7 + j) & 255;
    labels[i] = i % 10;
  }
  return { images, labels, count: n };
}

/** The sample indices of a batch, read back from its pixels (x = byte / 255). */
function indicesOf(batch: Batch): number[] {
  const [rows, size] = batch.inputs.shape as [number, number];
  return Array.from({ length: rows }, (_, r) => {
    const low = Math.round(batch.inputs.data[r * size]! * 255);
    const high = Math.round(batch.inputs.data[r * size + 1]! * 255);
    return low + 256 * high;
  });
}

const epoch = (loader: DataLoader, startBatch = 0) => [...loader.batches({ startBatch })].flatMap(indicesOf);

describe("DataLoader", () => {
  const data = indexedImages(1000);

  it("yields [B, 784] pixel/255 inputs and [B] labels in dataset order by default", () => {
    const loader = new DataLoader(data, { batchSize: 64 });
    expect(loader.length).toBe(16);
    expect(loader.count).toBe(1000);
    const batches = [...loader];
    expect(batches.map((b) => b.inputs.shape[0])).toEqual([...new Array(15).fill(64), 40]);
    expect(batches[15]!.inputs.shape).toEqual([40, 784]);
    expect(batches[15]!.targets.shape).toEqual([40]);
    expect(batches.flatMap(indicesOf)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    for (const { inputs, targets } of batches) {
      const ids = indicesOf({ inputs, targets });
      ids.forEach((id, r) => {
        expect(targets.data[r]).toBe(id % 10);
        for (const j of [2, 100, 783]) {
          expect(inputs.data[r * 784 + j]).toBe(Math.fround(data.images[id * 784 + j]! / 255));
        }
      });
    }
  });

  it("scales exactly like ToTensor and normalises like Normalize", () => {
    const images = Uint8Array.from({ length: 784 * 2 }, (_, i) => i % 256);
    const plain = [...new DataLoader({ images, labels: [3, 4] })][0]!;
    expect(plain.inputs.data[255]).toBe(Math.fround(255 / 255));
    expect(plain.inputs.data[1]).toBe(Math.fround(1 / 255));
    expect(Array.from(plain.targets.data)).toEqual([3, 4]);
    const normalized = [...new DataLoader({ images, labels: [3, 4] }, { normalize: { mean: 0.1307, std: 0.3081 } })][0]!;
    for (const j of [0, 1, 128, 255, 800]) {
      expect(normalized.inputs.data[j]).toBe(Math.fround((((j % 256) / 255) - 0.1307) / 0.3081));
    }
  });

  it("dropLast drops only the short tail", () => {
    const loader = new DataLoader(data, { batchSize: 64, dropLast: true, shuffle: true, generator: new Generator(1) });
    expect(loader.length).toBe(15);
    const batches = [...loader];
    expect(batches.map((b) => b.inputs.shape[0])).toEqual(new Array(15).fill(64));
    const seen = batches.flatMap(indicesOf);
    expect(new Set(seen).size).toBe(960);
    const exact = new DataLoader(indexedImages(128), { batchSize: 64, dropLast: true });
    expect(exact.length).toBe(2);
    expect(epoch(exact)).toEqual(Array.from({ length: 128 }, (_, i) => i));
  });

  it("shuffles: every index once per epoch, a new permutation each epoch, the same sequence for the same seed", () => {
    const loader = new DataLoader(data, { batchSize: 100, shuffle: true, generator: new Generator(42) });
    const first = epoch(loader);
    const second = epoch(loader);
    const sorted = Array.from({ length: 1000 }, (_, i) => i);
    expect([...first].sort((a, b) => a - b)).toEqual(sorted);
    expect([...second].sort((a, b) => a - b)).toEqual(sorted);
    expect(first).not.toEqual(sorted);
    expect(second).not.toEqual(first);
    const replay = new DataLoader(data, { batchSize: 100, shuffle: true, generator: new Generator(42) });
    expect(epoch(replay)).toEqual(first);
    expect(epoch(replay)).toEqual(second);
    const other = new DataLoader(data, { batchSize: 100, shuffle: true, generator: new Generator(43) });
    expect(epoch(other)).not.toEqual(first);
  });

  it("draws the permutation when the epoch starts, so a checkpointed state resumes it mid-way", () => {
    const loader = new DataLoader(data, { batchSize: 64, shuffle: true, generator: new Generator(7) });
    expect(loader.epochStartState).toBeNull();
    epoch(loader);
    const iterator = loader.batches();
    const saved = loader.epochStartState!;
    const full = [...iterator].flatMap(indicesOf);
    const resumed = new DataLoader(data, { batchSize: 64, shuffle: true, generator: new Generator(0) });
    resumed.generator.setState(saved);
    expect(epoch(resumed, 5)).toEqual(full.slice(5 * 64));
    expect(epoch(resumed)).toEqual(epoch(loader)); // and the epochs after it match too
    expect([...loader.batches({ startBatch: loader.length })]).toEqual([]);
  });

  it("returns fresh arrays for every batch", () => {
    const batches = [...new DataLoader(data, { batchSize: 10 })];
    expect(batches[0]!.inputs.data).not.toBe(batches[1]!.inputs.data);
    expect(indicesOf(batches[0]!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("with reuseStorage writes every batch into one pair of arrays, with the same values and order", () => {
    const fresh = new DataLoader(data, { batchSize: 64, shuffle: true, generator: new Generator(4) });
    const reused = new DataLoader(data, { batchSize: 64, shuffle: true, generator: new Generator(4) });
    const iterator = reused.batches({ reuseStorage: true });
    const buffers = new Set<ArrayBufferLike>();
    let n = 0;
    for (const expected of fresh.batches()) {
      const got = iterator.next();
      expect(got.done).toBe(false);
      const batch = got.value as Batch;
      expect(batch.inputs.shape).toEqual(expected.inputs.shape);
      expect(batch.inputs.data).toEqual(expected.inputs.data);
      expect(batch.targets.data).toEqual(expected.targets.data);
      buffers.add(batch.inputs.data.buffer).add(batch.targets.data.buffer);
      n++;
    }
    expect(iterator.next().done).toBe(true);
    expect(n).toBe(16); // the last one short: 40 rows, at the front of the same arrays
    expect(buffers.size).toBe(2);
  });

  it.each<[string, () => unknown, new (message: string) => Error, RegExp]>([
    ["batchSize 0", () => new DataLoader(data, { batchSize: 0 }), RangeError, /^DataLoader: batchSize should be a positive integer value, but got batchSize=0$/],
    ["batchSize 1.5", () => new DataLoader(data, { batchSize: 1.5 }), RangeError, /^DataLoader: batchSize should be a positive integer value, but got batchSize=1.5$/],
    ["std 0", () => new DataLoader(data, { normalize: { mean: 0, std: 0 } }), RangeError, /^DataLoader: invalid normalize.std: 0 \(expected a finite std > 0\)$/],
    ["mean NaN", () => new DataLoader(data, { normalize: { mean: NaN, std: 1 } }), RangeError, /invalid normalize.mean: NaN/],
    ["images of another length", () => new DataLoader({ images: new Uint8Array(785), labels: [1, 2] }), ShapeError, /got count 2, 785 image values and 2 labels/],
    ["count disagreeing with labels", () => new DataLoader({ images: new Uint8Array(784 * 3), labels: [1, 2], count: 3 }), ShapeError, /got count 3, 2352 image values and 2 labels/],
    ["no samples", () => new DataLoader({ images: new Uint8Array(0), labels: [] }), ShapeError, /expected count >= 1/],
    ["images as numbers", () => new DataLoader({ images: [1, 2] as unknown as Uint8Array, labels: [1, 2] }), TypeError, /expected images to be a Uint8Array or a Float32Array/],
    ["startBatch past the end", () => new DataLoader(data, { batchSize: 100 }).batches({ startBatch: 11 }), RangeError, /^DataLoader.batches: invalid startBatch: 11 \(expected 0 to 10\)$/],
  ])("rejects %s", (_, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
});

describe("TensorDataset", () => {
  const inputs = tensor(Array.from({ length: 5 }, (_, i) => [[i, i + 0.5], [-i, 2 * i]]));
  const targets = tensor([0, 1, 2, 3, 4]);

  it("batches rows of any shape, values as they are, optionally normalised", () => {
    const ds = new TensorDataset(inputs, targets);
    expect(ds.count).toBe(5);
    const batches = [...new DataLoader(ds, { batchSize: 2 })];
    expect(batches.map((b) => b.inputs.shape)).toEqual([[2, 2, 2], [2, 2, 2], [1, 2, 2]]);
    expect(batches[1]!.inputs.toArray()).toEqual([[[2, 2.5], [-2, 4]], [[3, 3.5], [-3, 6]]]);
    expect(Array.from(batches[2]!.targets.data)).toEqual([4]);
    const normalized = [...new DataLoader(ds, { batchSize: 5, normalize: { mean: 1, std: 2 } })][0]!;
    expect(Array.from(normalized.inputs.data.subarray(4, 8))).toEqual([0, 0.25, -1, 0.5]);
  });

  it("shuffles rows and targets together", () => {
    const ds = new TensorDataset(inputs, targets);
    for (const { inputs: x, targets: y } of new DataLoader(ds, { batchSize: 2, shuffle: true, generator: new Generator(3) })) {
      for (let r = 0; r < y.shape[0]!; r++) expect(x.data[r * 4]).toBe(y.data[r]);
    }
  });

  it("rejects tensors that disagree on the first dimension", () => {
    expect(() => new TensorDataset(inputs, tensor([1, 2]))).toThrow(
      "TensorDataset: expected inputs [N, ...] and targets [N], got [5, 2, 2] and [2]",
    );
  });
});

// The shuffle over many epochs (issue 16). Each statistic is bounded where a sound shuffle crosses it with probability
// about 1e-5 (|z| ≤ 4.42, chi-square through Wilson–Hilferty); the seeds are fixed, so the outcome never changes.
describe("DataLoader: the shuffle, statistically", () => {
  const Z_BOUND = 4.42;
  const chiSquareZ = (chi2: number, df: number): number => {
    const c = 2 / (9 * df);
    return (Math.cbrt(chi2 / df) - (1 - c)) / Math.sqrt(c);
  };
  const n = 1000;
  const ids = new TensorDataset(tensor(Array.from({ length: n }, (_, i) => [i])), tensor(Array.from({ length: n }, (_, i) => i)));

  /** Batch index of every sample in each of `epochs` shuffled epochs of batch 64 (15 of 64, the last of 40). */
  function batchOfSample(epochs: number, seed: number): Int32Array[] {
    const loader = new DataLoader(ids, { batchSize: 64, shuffle: true, generator: new Generator(seed) });
    return Array.from({ length: epochs }, () => {
      const where = new Int32Array(n).fill(-1);
      let b = 0;
      for (const { targets } of loader) {
        for (const id of targets.data) where[id] = b;
        b += 1;
      }
      return where;
    });
  }

  let epochs: Int32Array[] = [];
  beforeAll(() => {
    epochs = batchOfSample(2000, 61);
  });
  const sizes = [...new Array<number>(15).fill(64), 40];

  it("puts every sample in every batch equally often, the short last batch included", () => {
    const table = new Float64Array(n * 16);
    for (const where of epochs) for (let i = 0; i < n; i++) table[i * 16 + where[i]!]! += 1;
    let chi2 = 0;
    let lastChi2 = 0;
    for (let i = 0; i < n; i++) {
      for (let b = 0; b < 16; b++) {
        const e = (epochs.length * sizes[b]!) / n;
        const term = (table[i * 16 + b]! - e) ** 2 / e;
        chi2 += term;
        if (b === 15) lastChi2 += term;
      }
    }
    // Every epoch fills each batch exactly and places each sample once: the cells' covariance is n/(n − 1) times
    // that of independent multinomials, so Pearson's statistic is n/(n − 1) times a chi-square on (n − 1)(16 − 1) df.
    expect(Math.abs(chiSquareZ((chi2 * (n - 1)) / n, (n - 1) * 15))).toBeLessThan(Z_BOUND);
    // The last batch alone: each sample lands in it with p = 40/1000; statistic (1 − p)·n/(n − 1) times χ²(n − 1).
    const p = 40 / n;
    expect(Math.abs(chiSquareZ((lastChi2 * (n - 1)) / (n * (1 - p)), n - 1))).toBeLessThan(Z_BOUND);
  });

  it("draws each epoch's order independently of the previous epoch's (batch of a sample, epoch e against e + 1)", () => {
    const table = new Float64Array(16 * 16);
    for (let e = 1; e < epochs.length; e++) {
      for (let i = 0; i < n; i++) table[epochs[e - 1]![i]! * 16 + epochs[e]![i]!]! += 1;
    }
    let chi2 = 0;
    for (let b = 0; b < 16; b++) {
      for (let c = 0; c < 16; c++) {
        const e = ((epochs.length - 1) * sizes[b]! * sizes[c]!) / n;
        chi2 += (table[b * 16 + c]! - e) ** 2 / e;
      }
    }
    expect(Math.abs(chiSquareZ(chi2, 15 * 15))).toBeLessThan(Z_BOUND);
  });

  it("keeps the last partial batch, as PyTorch does: 60000 images in batches of 64 are 937 full ones and one of 32", () => {
    const big = new DataLoader(
      { images: new Uint8Array(60_000), labels: new Uint8Array(60_000) },
      { batchSize: 64, shuffle: true, generator: new Generator(1) },
    );
    expect(big.length).toBe(938);
    const shapes = [...big].map((b) => b.inputs.shape[0]);
    expect(shapes.length).toBe(938);
    expect(shapes.slice(0, 937).every((s) => s === 64)).toBe(true);
    expect(shapes[937]).toBe(32);
  });
});
