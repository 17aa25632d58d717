// One training step of pytorch/examples' MNIST CNN in tsgrad (batch 64, nll, Adadelta lr 1.0, dropout in training
// mode), and a per-op profile. Prints one JSON line. Usage (bundle with esbuild first, as run.mjs does):
//   node cnn-step.mjs [threads] [steps] [js|wasm] [--profile] [--breakdown]
// --profile times each op alone on the step's shapes; --breakdown times, inside the timed steps, each layer's forward,
// each graph node's backward (by name, in graph order) and the optimizer step (medians over the steps, in ms).
// The PyTorch twin is bench/peers/torch-cnn-step.py (same shapes, same step).
import { Worker } from "node:worker_threads";
import {
  Generator, Tensor, conv2d, getBackend, maxPool2d, memoryStats, noGrad, setBackend, setNumThreads, setWorkerFactory, tensor,
} from "@tsgrad/tensor";
import { releaseArray } from "@tsgrad/tensor/internal";
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential, linear, nllLoss } from "@tsgrad/nn";
import { Adadelta } from "@tsgrad/optim";
import { median } from "./stats.js";

const threads = Number(process.argv[2] ?? 1);
const steps = Number(process.argv[3] ?? 30);
const backendArg = process.argv[4];
const profile = process.argv.includes("--profile");
const breakdown = process.argv.includes("--breakdown");
if (backendArg === "js" || backendArg === "wasm") setBackend(backendArg);
setWorkerFactory((src: string) => new Worker(src, { eval: true }));
setNumThreads(threads);
const B = 64, POOL = 8;

/** pytorch/examples mnist/main.py's Net. */
class Net extends Module<[Tensor], Tensor> {
  conv1: Conv2d;
  conv2: Conv2d;
  dropout1: Dropout;
  dropout2: Dropout;
  fc1: Linear;
  fc2: Linear;

  constructor(g: Generator) {
    super();
    this.conv1 = new Conv2d(1, 32, 3, { generator: g });
    this.conv2 = new Conv2d(32, 64, 3, { generator: g });
    this.dropout1 = new Dropout(0.25, { generator: g });
    this.dropout2 = new Dropout(0.5, { generator: g });
    this.fc1 = new Linear(9216, 128, { generator: g });
    this.fc2 = new Linear(128, 10, { generator: g });
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

/** The Net's layers in a Sequential (state-dict keys 0.*, 2.*, 7.*, 10.*), log-softmax applied after it. */
function sequentialNet(gen: Generator): Module<[Tensor], Tensor> {
  const body = new Sequential(
    new Conv2d(1, 32, 3, { generator: gen }), new ReLU(), new Conv2d(32, 64, 3, { generator: gen }), new ReLU(),
    new MaxPool2d(2), new Dropout(0.25, { generator: gen }), new Flatten(), new Linear(9216, 128, { generator: gen }),
    new ReLU(), new Dropout(0.5, { generator: gen }), new Linear(128, 10, { generator: gen }),
  );
  return new (class extends Module<[Tensor], Tensor> {
    body = body;
    forward(x: Tensor): Tensor {
      return this.body.forward(x).logSoftmax(1);
    }
  })();
}

// Synthetic normalised images and labels, the same LCG as the PyTorch twin.
let s = 12345;
const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) | 0) >>> 8) / 16777216;
const xs: Tensor[] = [];
const ys: Int32Array[] = [];
for (let b = 0; b < POOL; b++) {
  xs.push(tensor(new Float32Array(B * 784).map(() => (next() - 0.1307) / 0.3081), { shape: [B, 1, 28, 28] }));
  ys.push(new Int32Array(B).map(() => Math.floor(next() * 10)));
}

const g = new Generator(1);
// The main.py Net (a Module with fields), or the same layers in a Sequential (which recycles its intermediates).
const sequential = process.argv.includes("--sequential");
const model: Module<[Tensor], Tensor> = sequential ? sequentialNet(g) : new Net(g);
const opt = new Adadelta(model.parameters(), { lr: 1.0 });

function step(i: number): number {
  opt.zeroGrad();
  const loss = nllLoss(model.forward(xs[i % POOL]!), ys[i % POOL]!);
  loss.backward();
  opt.step();
  return loss.item();
}

/** Median ms of `fn` over `runs` calls after `warmup`. */
function time(fn: () => void, runs = 15, warmup = 3): number {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** Forward and backward of one op on the step's shapes, each timed alone (backward = op + backward − op). */
function opProfile(): Record<string, { forwardMs: number; backwardMs: number; gflops?: number }> {
  const rnd = (shape: number[], grad = false): Tensor =>
    new Tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() - 0.5), shape, grad);
  const out: Record<string, { forwardMs: number; backwardMs: number; gflops?: number }> = {};
  const measure = (name: string, make: () => Tensor[], run: (ins: Tensor[]) => Tensor, flops?: number): void => {
    const ins = make();
    // Outputs go back to the pool (as in a training step, where the graph or the next layer recycles them).
    const fwd = time(() => releaseArray(noGrad(() => run(ins)).data));
    const seed = new Float32Array(run(ins).numel).fill(1e-3);
    const both = time(() => {
      for (const t of ins) t.grad = null;
      const y = run(ins);
      y.backward(new Tensor(seed, y.shape));
      releaseArray(y.data);
    });
    out[name] = { forwardMs: fwd, backwardMs: both - fwd };
    if (flops !== undefined) out[name]!.gflops = flops / ((both) * 1e6);
  };
  // The input images need no gradient: conv1's backward is the weight and bias gradients only.
  measure("conv1 1→32 3×3 (28→26)", () => [rnd([B, 1, 28, 28]), rnd([32, 1, 3, 3], true), rnd([32], true)],
    ([x, w, b]) => conv2d(x!, w!, b!), 2 * 2 * B * 32 * 26 * 26 * 9);
  measure("relu [64, 32, 26, 26]", () => [rnd([B, 32, 26, 26], true)], ([x]) => x!.relu());
  measure("conv2 32→64 3×3 (26→24)", () => [rnd([B, 32, 26, 26], true), rnd([64, 32, 3, 3], true), rnd([64], true)],
    ([x, w, b]) => conv2d(x!, w!, b!), 3 * 2 * B * 64 * 24 * 24 * 288);
  measure("relu [64, 64, 24, 24]", () => [rnd([B, 64, 24, 24], true)], ([x]) => x!.relu());
  measure("maxPool2d 2 [64, 64, 24, 24]", () => [rnd([B, 64, 24, 24], true)], ([x]) => maxPool2d(x!, { kernelSize: 2 }));
  const drop = new Dropout(0.25, { generator: new Generator(3) });
  measure("dropout 0.25 [64, 9216]", () => [rnd([B, 9216], true)], ([x]) => drop.forward(x!));
  measure("fc1 9216→128", () => [rnd([B, 9216], true), rnd([128, 9216], true), rnd([128], true)],
    ([x, w, b]) => linear(x!, w!, b!), 3 * 2 * B * 9216 * 128);
  measure("fc2 + logSoftmax + nll", () => [rnd([B, 128], true), rnd([10, 128], true), rnd([10], true)],
    ([x, w, b]) => nllLoss(linear(x!, w!, b!).logSoftmax(1), ys[0]!));
  const params = model.parameters();
  for (const p of params) p.grad = new Tensor(new Float32Array(p.numel).fill(1e-3), p.shape);
  const adadelta = new Adadelta(params.map((p) => new Tensor(p.data.slice(), p.shape, true)));
  adadelta.paramGroups[0]!.params.forEach((p, i) => (p.grad = params[i]!.grad));
  out["Adadelta (1.2M parameters)"] = { forwardMs: time(() => adadelta.step()), backwardMs: 0 };
  return out;
}

/** Per step: ms of each labelled part (layer forwards, node backwards, the optimizer), filled when `breakdown`. */
const parts = new Map<string, number[]>();
let partsStep = -1;
function addPart(label: string, ms: number): void {
  let list = parts.get(label);
  if (list === undefined) parts.set(label, (list = []));
  while (list.length <= partsStep) list.push(0);
  list[partsStep]! += ms;
}
function timed<A extends unknown[], R>(label: (self: unknown, args: A) => string, fn: (...args: A) => R): (...args: A) => R {
  return function (this: unknown, ...args: A): R {
    const t0 = performance.now();
    const r = fn.apply(this, args);
    if (partsStep >= 0) addPart(label(this, args), performance.now() - t0);
    return r;
  };
}
if (breakdown) {
  // Each layer's forward (the Sequential's children, or the Net's fields), labelled "forward <index> <class>".
  const layers = sequential ? (model.children()[0]!.children()) : model.children();
  layers.forEach((m, i) => {
    const label = `forward ${String(i).padStart(2)} ${m.constructor.name}`;
    m.forward = timed(() => label, m.forward.bind(m) as (...a: unknown[]) => unknown) as typeof m.forward;
  });
  // Every graph node's backward, by the node's name (the Node class is reached through a recorded op).
  const probe = new Tensor(new Float32Array(1), [1], true).relu();
  const nodeProto = Object.getPrototypeOf(probe.gradFn!) as { _apply: (...a: unknown[]) => unknown };
  const apply = nodeProto._apply;
  nodeProto._apply = timed((self) => `backward ${(self as { name: string }).name}`, apply);
  const optStep = opt.step.bind(opt);
  opt.step = timed(() => "optimizer step", optStep) as typeof opt.step;
}

const warmup = Math.min(5, Math.floor(steps / 3));
for (let i = 0; i < warmup; i++) step(i);
const times: number[] = [];
let loss = 0;
const losses: number[] = [];
const arraysBefore = memoryStats().allocatedArrays;
for (let i = 0; i < steps; i++) {
  partsStep = i;
  const t0 = performance.now();
  loss = step(i);
  times.push(performance.now() - t0);
  losses.push(loss);
}
const result: Record<string, unknown> = {
  system: `tsgrad-${getBackend()}-${threads}t${sequential ? "-sequential" : ""}`,
  msPerStep: median(times),
  minMsPerStep: Math.min(...times),
  steps,
  lastLoss: loss,
  losses,
  newArraysPerStep: (memoryStats().allocatedArrays - arraysBefore) / steps,
  peakRssMB: process.resourceUsage().maxRSS / 1024,
};
partsStep = -1;
if (breakdown) {
  result["breakdown"] = Object.fromEntries([...parts].map(([k, v]) => [k, Math.round(median(v) * 100) / 100]));
}
if (profile) result["profile"] = opProfile();
console.log(JSON.stringify(result));
