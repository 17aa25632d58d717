// The pytorch/examples MNIST CNN from the public API: the "cnn" golden run (Adadelta steps from a formula's state
// dict) on both backends and 1 and 2 threads, its state-dict names and shapes, and a safetensors round trip.
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { loadFixture, type GoldenTensor, sameBits } from "@tsgrad/testing";
import {
  Generator, Tensor, gemm, getBackend, maxPool2d, noGrad, setBackend, setNumThreads, setWorkerFactory, tensor,
} from "@tsgrad/tensor";
import { Adadelta } from "@tsgrad/optim";
import {
  Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential, loadSafetensors, nllLoss, saveSafetensors,
  type StateDict,
} from "./index.js";

/** pytorch/examples mnist/main.py's Net, field for field (so the state-dict keys are PyTorch's). */
class Net extends Module<[Tensor], Tensor> {
  conv1: Conv2d;
  conv2: Conv2d;
  dropout1: Dropout;
  dropout2: Dropout;
  fc1: Linear;
  fc2: Linear;

  constructor(g?: Generator) {
    super();
    const opts = g === undefined ? {} : { generator: g };
    this.conv1 = new Conv2d(1, 32, 3, { stride: 1, ...opts });
    this.conv2 = new Conv2d(32, 64, 3, { stride: 1, ...opts });
    this.dropout1 = new Dropout(0.25, opts);
    this.dropout2 = new Dropout(0.5, opts);
    this.fc1 = new Linear(9216, 128, opts);
    this.fc2 = new Linear(128, 10, opts);
  }

  forward(x: Tensor): Tensor {
    let y = this.conv1.forward(x).relu();
    y = this.conv2.forward(y).relu();
    y = maxPool2d(y, { kernelSize: 2 });
    y = this.dropout1.forward(y).flatten(1);
    y = this.fc1.forward(y).relu();
    y = this.dropout2.forward(y);
    return this.fc2.forward(y).logSoftmax(1);
  }
}

interface Summary {
  readonly shape: number[];
  readonly deltaSum: number;
  readonly deltaAbsSum: number;
  readonly deltaSquareSum: number;
  readonly sampleIndices: number[];
  readonly samples: number[];
}

interface CnnCase {
  readonly name: string;
  readonly kind: string;
  readonly lr: number;
  readonly init: { seed: number; fanIn: Record<string, number>; head: Record<string, number[]> };
  readonly inputs: GoldenTensor[];
  readonly targets: GoldenTensor[];
  readonly outputs: GoldenTensor[];
  readonly losses: number[];
  readonly firstGrads: Record<string, GoldenTensor>;
  readonly finalStateDict: Record<string, GoldenTensor | Summary>;
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

/** The golden's initial state dict: element i of parameter k is fround(((fmix32(seed ^ (k << 24) ^ i) >> 8) / 2²³ − 1) / √fanIn). */
function formulaStateDict(model: Net, seed: number, fanIn: Record<string, number>): StateDict {
  const sd: StateDict = {};
  Object.entries(model.stateDict()).forEach(([key, t], k) => {
    const bound = 1 / Math.sqrt(fanIn[key]!);
    const data = new Float32Array(t.numel);
    for (let i = 0; i < data.length; i++) data[i] = ((fmix32((seed ^ (k << 24) ^ i) >>> 0) >>> 8) / 8388608 - 1) * bound;
    sd[key] = new Tensor(data, t.shape);
  });
  return sd;
}

const golden = loadFixture<{ cases: CnnCase[] }>("conv-golden.json").cases.find((c) => c.kind === "cnn");

/** Waits until the workers of a 2-thread pool have started (a product runs alone until they have). */
async function startWorkers(): Promise<void> {
  let online = 0;
  setWorkerFactory((src) => {
    const w = new Worker(src, { eval: true });
    w.once("online", () => online++);
    return w;
  });
  setNumThreads(2);
  const a = new Float32Array(256 * 256), c = new Float32Array(256 * 256);
  gemm(256, 256, 256, a, 0, false, a, 0, false, c, 0); // creates the pool
  for (let i = 0; i < 500 && online < 1; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100)); // the worker reports ready right after it comes online
  expect(online).toBe(1);
}

function runGolden(c: CnnCase): { model: Net; losses: number[]; outputs: Tensor[]; grads: Record<string, Tensor> } {
  const model = new Net(new Generator(0));
  model.loadStateDict(formulaStateDict(model, c.init.seed, c.init.fanIn));
  model.eval(); // the golden runs dropout in evaluation mode
  const opt = new Adadelta(model.parameters(), { lr: c.lr });
  const losses: number[] = [];
  const outputs: Tensor[] = [];
  const grads: Record<string, Tensor> = {};
  c.inputs.forEach((x, step) => {
    opt.zeroGrad();
    const out = model.forward(tensor(x.data, { shape: x.shape }));
    const loss = nllLoss(out, c.targets[step]!.data);
    loss.backward();
    if (step === 0) for (const [name, p] of model.namedParameters()) grads[name] = new Tensor(p.grad!.data.slice(), p.shape);
    opt.step();
    losses.push(loss.item());
    outputs.push(out);
  });
  return { model, losses, outputs, grads };
}

describe("the reference CNN: PyTorch golden run", () => {
  afterAll(() => {
    setNumThreads(1);
    setWorkerFactory(null);
  });
  if (golden === undefined) throw new Error('conv-golden.json holds no "cnn" case');
  const c = golden;

  it("the formula reproduces the golden's initial values bit for bit", () => {
    const model = new Net();
    const sd = formulaStateDict(model, c.init.seed, c.init.fanIn);
    for (const [key, head] of Object.entries(c.init.head)) expect(Array.from(sd[key]!.data.slice(0, 8)), key).toEqual(head.map(Math.fround));
  });

  const combos: [Backend, number][] = [["js", 1], ["wasm", 1], ["wasm", 2], ["js", 2]];
  let reference: Float32Array[] | null = null; // wasm, 1 thread
  it.each(combos)("%s backend, %i thread(s): losses, outputs, gradients and the final weights match", async (backend, threads) => {
    const previous = getBackend();
    setBackend(backend);
    try {
      if (threads === 2) await startWorkers();
      const { model, losses, outputs, grads } = runGolden(c);
      expect(losses).toBeAllClose(c.losses);
      outputs.forEach((o, i) => expect(o, `log-probabilities of step ${i + 1}`).toBeAllClose(c.outputs[i]!.data));
      for (const [name, g] of Object.entries(c.firstGrads)) {
        expect(grads[name]!, `first gradient of ${name}`).toBeAllClose(g.data);
      }
      const sd = model.stateDict();
      for (const [name, want] of Object.entries(c.finalStateDict)) {
        const got = sd[name]!;
        if ("data" in want) {
          expect(got, `final ${name}`).toBeAllClose(want.data);
          continue;
        }
        expect(got.shape).toEqual(want.shape);
        expect(Array.from(want.sampleIndices, (i) => got.data[i]!), `final ${name} samples`).toBeAllClose(want.samples);
        const initial = formulaStateDict(new Net(), c.init.seed, c.init.fanIn)[name]!.data;
        let sum = 0, abs = 0, sq = 0;
        for (let i = 0; i < got.numel; i++) {
          const d = got.data[i]! - initial[i]!;
          sum += d;
          abs += Math.abs(d);
          sq += d * d;
        }
        // Sums over 1.2M changes of ~1e-3, each within float32 rounding of PyTorch's: 1e-4 relative.
        expect([sum, abs, sq], `final ${name} change sums`).toBeAllClose([want.deltaSum, want.deltaAbsSum, want.deltaSquareSum], { rtol: 1e-4 });
      }
      // Whatever the thread count, the same bits as one thread (per backend; the first combo of each is 1 thread).
      const bits = Object.values(sd).map((t) => t.data.slice());
      if (backend === "wasm" && threads === 1) reference = bits;
      if (backend === "wasm" && threads === 2) {
        expect(reference).not.toBeNull();
        bits.forEach((b, i) => expect(sameBits(b, reference![i]!)).toBe(true));
      }
    } finally {
      setBackend(previous);
    }
  });
});

type Backend = "js" | "wasm";

// scripts/cnn_checkpoint_check.py loads both layouts' safetensors into PyTorch with strict=True (run by hand).
describe("the reference CNN's checkpoint", () => {
  it("has PyTorch's Net state-dict names and shapes, in PyTorch's order", () => {
    const sd = new Net(new Generator(1)).stateDict();
    expect(Object.entries(sd).map(([k, t]) => [k, t.shape])).toEqual([
      ["conv1.weight", [32, 1, 3, 3]],
      ["conv1.bias", [32]],
      ["conv2.weight", [64, 32, 3, 3]],
      ["conv2.bias", [64]],
      ["fc1.weight", [128, 9216]],
      ["fc1.bias", [128]],
      ["fc2.weight", [10, 128]],
      ["fc2.bias", [10]],
    ]);
  });

  it("as a Sequential, has the keys of PyTorch's nn.Sequential of the same layers (LogSoftmax last, no parameters)", () => {
    const g = new Generator(1);
    const seq = new Sequential(
      new Conv2d(1, 32, 3, { generator: g }), new ReLU(), new Conv2d(32, 64, 3, { generator: g }), new ReLU(), new MaxPool2d(2),
      new Dropout(0.25), new Flatten(), new Linear(9216, 128, { generator: g }), new ReLU(), new Dropout(0.5),
      new Linear(128, 10, { generator: g }),
    );
    expect(Object.entries(seq.stateDict()).map(([k, t]) => [k, t.shape])).toEqual([
      ["0.weight", [32, 1, 3, 3]], ["0.bias", [32]], ["2.weight", [64, 32, 3, 3]], ["2.bias", [64]],
      ["7.weight", [128, 9216]], ["7.bias", [128]], ["10.weight", [10, 128]], ["10.bias", [10]],
    ]);
  });

  it("goes through safetensors and back into a fresh model with the same outputs", () => {
    const a = new Net(new Generator(2)).eval();
    const b = new Net(new Generator(3)).eval();
    b.loadStateDict(loadSafetensors(saveSafetensors(a.stateDict())).tensors);
    const x = tensor(Float32Array.from({ length: 2 * 784 }, (_, i) => Math.sin(i)), { shape: [2, 1, 28, 28] });
    const [ya, yb] = noGrad(() => [a.forward(x), b.forward(x)]);
    expect(Array.from(yb!.data)).toEqual(Array.from(ya!.data));
  });
});
