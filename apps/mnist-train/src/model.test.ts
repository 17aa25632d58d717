// The two models: the CNN against PyTorch's golden run of main.py's Net (keys renamed), its state-dict layout, a
// checkpoint of it loading into a fresh model (weights, Adadelta and StepLR), and evaluation in chunks.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadFixture, testdataPath, type GoldenTensor } from "@tsgrad/testing";
import { Generator, Tensor, noGrad, tensor } from "@tsgrad/tensor";
import { crossEntropy, type StateDict } from "@tsgrad/nn";
import { Adadelta, StepLR } from "@tsgrad/optim";
import { DataLoader, parseIdx } from "@tsgrad/data";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import {
  architectureOf, buildCnn, buildNet, CNN_NORMALIZE, countParameters, describeNet, IMAGE_SIZE, sequentialKeys, type Net,
} from "./model.js";
import { evaluate, pixelTable, trainEpoch, type Split } from "./train.js";

const dir = mkdtempSync(join(tmpdir(), "mnist-train-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Real MNIST digits: the embedded default's 1,000 hold-out images (a committed fixture). */
function holdout(): Split {
  const images = parseIdx(readFileSync(testdataPath("mnist/embedded-holdout-images-idx3-ubyte.gz")));
  const labels = parseIdx(readFileSync(testdataPath("mnist/embedded-holdout-labels-idx1-ubyte.gz")));
  return { images: images.data, labels: labels.data, count: labels.dims[0]! };
}

/** Whether two arrays hold the same bits (faster than a deep comparison of a million numbers). */
const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** main.py's Net's keys → the Sequential's. */
const RENAME: Readonly<Record<string, string>> = { conv1: "0", conv2: "2", fc1: "7", fc2: "10" };
const seqKey = (netKey: string): string => netKey.replace(/^(conv1|conv2|fc1|fc2)\./, (_, m: string) => `${RENAME[m]!}.`);

interface CnnCase {
  readonly kind: string;
  readonly lr: number;
  readonly init: { seed: number; fanIn: Record<string, number>; head: Record<string, number[]> };
  readonly inputs: GoldenTensor[];
  readonly targets: GoldenTensor[];
  readonly outputs: GoldenTensor[];
  readonly losses: number[];
  readonly finalStateDict: Record<string, GoldenTensor | { readonly samples: number[] }>;
}

/** MurmurHash3's 32-bit finalizer, as scripts/goldens_conv.py computes it. */
function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

describe("the CNN is main.py's Net", () => {
  const c = loadFixture<{ cases: CnnCase[] }>("conv-golden.json").cases.find((x) => x.kind === "cnn");
  if (c === undefined) throw new Error('conv-golden.json holds no "cnn" case');

  it("trains as PyTorch's Net does: the golden run's log-probabilities, losses and final weights (keys 0, 2, 7, 10)", () => {
    const net = buildNet("cnn", 0, new Generator(0));
    // The golden's initial values (testdata/README.md), element i of the k-th parameter in state-dict order.
    const sd: StateDict = {};
    Object.keys(c.init.fanIn).forEach((key, k) => {
      const shape = net.module.stateDict()[seqKey(key)]!.shape;
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      const bound = 1 / Math.sqrt(c.init.fanIn[key]!);
      for (let i = 0; i < data.length; i++) data[i] = ((fmix32((c.init.seed ^ (k << 24) ^ i) >>> 0) >>> 8) / 8388608 - 1) * bound;
      expect(Array.from(data.slice(0, 8)), key).toEqual(c.init.head[key]!.map(Math.fround));
      sd[seqKey(key)] = new Tensor(data, shape);
    });
    net.module.loadStateDict(sd);
    net.module.eval(); // the golden runs dropout in evaluation mode
    const opt = new Adadelta(net.module.parameters(), { lr: c.lr });
    c.inputs.forEach((x, step) => {
      opt.zeroGrad();
      const out = net.forward(tensor(x.data, { shape: [x.shape[0]!, IMAGE_SIZE] })); // rows of 784, as the DataLoader gives
      const loss = net.loss(out, c.targets[step]!.data);
      loss.backward();
      opt.step();
      expect(out, `log-probabilities of step ${step + 1}`).toBeAllClose(c.outputs[step]!.data);
      expect(loss.item()).toBeAllClose(c.losses[step]!);
    });
    const final = net.module.stateDict();
    for (const [key, want] of Object.entries(c.finalStateDict)) if ("data" in want) expect(final[seqKey(key)]!, key).toBeAllClose(want.data);
  });

  it("has nn.Sequential's state-dict keys and shapes, 1,199,882 parameters", () => {
    const model = buildCnn(new Generator(1));
    expect(Object.entries(model.stateDict()).map(([k, t]) => [k, t.shape])).toEqual([
      ["0.weight", [32, 1, 3, 3]], ["0.bias", [32]], ["2.weight", [64, 32, 3, 3]], ["2.bias", [64]],
      ["7.weight", [128, 9216]], ["7.bias", [128]], ["10.weight", [10, 128]], ["10.bias", [10]],
    ]);
    expect(countParameters(model)).toBe(1_199_882);
    expect(describeNet({ model: "cnn" }, 1_199_882)).toMatch(/^Conv2d\(1→32, 3×3\) → ReLU → .* → LogSoftmax, 1,199,882 parameters$/);
  });

  it("sequentialKeys renames main.py's Net's keys, and leaves any other state dict alone", () => {
    const seq = buildCnn(new Generator(1)).stateDict();
    const net: StateDict = Object.fromEntries(Object.entries(seq).map(([k, t]) => [k.replace(/^(\d+)\./, (_, i: string) => `${{ 0: "conv1", 2: "conv2", 7: "fc1", 10: "fc2" }[i]!}.`), t]));
    expect(Object.keys(net)).toEqual(["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);
    const renamed = sequentialKeys(net);
    expect(Object.keys(renamed)).toEqual(Object.keys(seq));
    for (const k of Object.keys(seq)) expect(renamed[k]).toBe(seq[k]);
    expect(sequentialKeys(seq)).toBe(seq);
    const mlp = buildNet("mlp", 8, new Generator(1)).module.stateDict();
    expect(sequentialKeys(mlp)).toBe(mlp);
    expect(sequentialKeys({ ...net, extra: seq["0.bias"]! })).not.toHaveProperty("0.weight");
  });

  it("architectureOf reads the model from the weights", () => {
    expect(architectureOf(buildCnn(new Generator(1)).stateDict())).toEqual({ model: "cnn" });
    expect(architectureOf(buildNet("mlp", 64, new Generator(1)).module.stateDict())).toEqual({ model: "mlp", hidden: 64 });
    expect(architectureOf({})).toBeNull();
    expect(architectureOf({ "0.weight": new Tensor(new Float32Array(32 * 9 * 2), [32, 2, 3, 3]) })).toBeNull();
    expect(architectureOf({ "0.weight": new Tensor(new Float32Array(100), [10, 10]) })).toBeNull();
  });
});

/** Two steps of the CNN on real digits, dropout on, from a seeded generator. */
async function trainedCnn(seed: number): Promise<{ net: Net; optimizer: Adadelta; scheduler: StepLR; generator: Generator }> {
  const generator = new Generator(seed);
  const net = buildNet("cnn", 0, generator);
  const optimizer = new Adadelta(net.module.parameters(), { lr: 1 });
  const scheduler = new StepLR(optimizer, 1, { gamma: 0.7 });
  const h = holdout();
  const loader = new DataLoader({ images: h.images.subarray(0, 32 * IMAGE_SIZE), labels: h.labels.subarray(0, 32) }, {
    batchSize: 16, shuffle: true, generator, normalize: CNN_NORMALIZE,
  });
  await trainEpoch({ net, optimizer, state: { batchesDone: 0, lossSum: 0, imagesSeen: 0 }, batches: loader.batches() });
  scheduler.step();
  return { net, optimizer, scheduler, generator };
}

describe("a CNN checkpoint", () => {
  it("loads into a fresh model: the same weights and outputs, and the same next step (Adadelta and StepLR state)", async () => {
    const a = await trainedCnn(3);
    const path = join(dir, "cnn.safetensors");
    writeCheckpoint(path, a.net.module.stateDict(), {
      epoch: 1, batchesDone: 0, lossSum: 0, imagesSeen: 0, generator: a.generator.getState(), epochStartGenerator: null,
      options: { model: "cnn" }, history: [],
    }, a.optimizer.stateDict(), a.scheduler.stateDict());
    const ckpt = readCheckpoint(path);
    expect(ckpt.scheduler).toEqual({ lastEpoch: 1, stepCount: 2, baseLrs: [1], lastLr: [0.7] });

    const b = { net: buildNet("cnn", 0, new Generator(99)) };
    const before = b.net.module.stateDict()["0.weight"]!.data.slice();
    expect(sameBits(before, a.net.module.stateDict()["0.weight"]!.data)).toBe(false);
    b.net.module.loadStateDict(ckpt.model);
    const optimizer = new Adadelta(b.net.module.parameters(), { lr: 1 });
    const scheduler = new StepLR(optimizer, 1, { gamma: 0.7 });
    optimizer.loadStateDict(ckpt.optimizer!);
    scheduler.loadStateDict(ckpt.scheduler!);
    for (const [k, t] of Object.entries(a.net.module.stateDict())) expect(sameBits(b.net.module.stateDict()[k]!.data, t.data), k).toBe(true);

    const x = new Tensor(Float32Array.from(holdout().images.subarray(0, 4 * IMAGE_SIZE), (v) => pixelTable(CNN_NORMALIZE)[v]!), [4, IMAGE_SIZE]);
    a.net.module.eval();
    b.net.module.eval();
    const [ya, yb] = noGrad(() => [a.net.forward(x), b.net.forward(x)]);
    expect(Array.from(yb!.data)).toEqual(Array.from(ya!.data));

    // One more step on both (dropout off, so the masks play no part): identical weights, learning rates and state.
    const y = Int32Array.from([0, 1, 2, 3]);
    for (const [net, opt] of [[a.net, a.optimizer], [b.net, optimizer]] as const) {
      opt.zeroGrad();
      net.loss(net.forward(x), y).backward();
      opt.step();
    }
    a.scheduler.step();
    scheduler.step();
    expect(optimizer.paramGroups[0]!.lr).toBe(a.optimizer.paramGroups[0]!.lr);
    expect(optimizer.paramGroups[0]!.lr).toBeCloseTo(0.49, 15);
    for (const [k, t] of Object.entries(a.net.module.stateDict())) expect(sameBits(b.net.module.stateDict()[k]!.data, t.data), k).toBe(true);
  });
});

describe("evaluate", () => {
  const split = holdout();

  it("gives the CNN's results bit for bit whatever the chunk (memory only)", async () => {
    const { net } = await trainedCnn(5);
    const part: Split = { images: split.images.subarray(0, 120 * IMAGE_SIZE), labels: split.labels.subarray(0, 120), count: 120 };
    const whole = evaluate(net, part, { batchSize: 50 }); // batches of 50, 50 and 20, each in one pass
    for (const chunkSize of [16, 7]) expect(evaluate(net, part, { batchSize: 50, chunkSize })).toEqual(whole);
    expect(whole.images).toBe(120);
    expect(whole.confusion.flat().reduce((s, v) => s + v, 0)).toBe(120);
    expect(whole.accuracy).toBeGreaterThan(0);
    const first = evaluate(net, part, { batchSize: 50, images: 50 });
    expect(first.images).toBe(50);
    expect(first.confusion.flat().reduce((s, v) => s + v, 0)).toBe(50);
  });

  it("gives the MLP's results as before: pixels/255, cross-entropy summed per batch of 1000", () => {
    const net = buildNet("mlp", 32, new Generator(2));
    const ev = evaluate(net, split);
    let lossSum = 0;
    let correct = 0;
    net.module.eval();
    noGrad(() => {
      for (let start = 0; start < split.count; start += 1000) {
        const rows = Math.min(1000, split.count - start);
        const x = Float32Array.from(split.images.subarray(start * IMAGE_SIZE, (start + rows) * IMAGE_SIZE), (v) => v / 255);
        const logits = net.module.forward(new Tensor(x, [rows, IMAGE_SIZE]));
        const labels = split.labels.subarray(start, start + rows);
        lossSum += crossEntropy(logits, labels, { reduction: "sum" }).item();
        logits.argmax(1).data.forEach((p, r) => (correct += p === labels[r]! ? 1 : 0));
      }
    });
    expect(ev.loss).toBe(lossSum / split.count);
    expect(ev.accuracy).toBe(correct / split.count);
  });

  it("normalises pixels exactly as the DataLoader does for training", () => {
    const images = Uint8Array.from({ length: 256 }, (_, v) => v);
    const batch = new DataLoader({ images, labels: [0] }, { batchSize: 1, normalize: CNN_NORMALIZE }).batches().next();
    expect(Array.from(pixelTable(CNN_NORMALIZE))).toEqual(Array.from(batch.done === true ? [] : batch.value.inputs.data));
    expect(Array.from(pixelTable(undefined))).toEqual(Array.from(images, (v) => Math.fround(v / 255)));
  });
});
