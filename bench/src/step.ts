// One training step of the reference MLP in tsgrad (784→128→10, batch 64, cross-entropy, Adam 1e-3).
// Prints one JSON line: median ms per step after warm-up, peak RSS, and GFLOP/s of the step's matmul shapes.
// Usage: node [--experimental-wasm-relaxed-simd] step.mjs [threads] [steps] [js|wasm] [relaxed]
import { Worker } from "node:worker_threads";
import {
  Generator, gemm, getBackend, setBackend, setNumThreads, setRelaxedSimd, setWorkerFactory, tensor, zeros, type Tensor,
} from "@tsgrad/tensor";
import { kernelInstructions } from "@tsgrad/tensor/internal";
import { CrossEntropyLoss, Linear, ReLU, Sequential } from "@tsgrad/nn";
import { Adam } from "@tsgrad/optim";
import { gcMeter, median, timeIt } from "./stats.js";

const threads = Number(process.argv[2] ?? 1);
const steps = Number(process.argv[3] ?? 300);
const backendArg = process.argv[4];
if (backendArg === "js" || backendArg === "wasm") setBackend(backendArg);
if (process.argv[5] === "relaxed" && setRelaxedSimd(true) !== "relaxed-simd") throw new Error("step: relaxed SIMD is not available here");
setWorkerFactory((src: string) => new Worker(src, { eval: true }));
setNumThreads(threads);
const B = 64, IN = 784, H = 128, OUT = 10, POOL = 16;

// The same synthetic batches as the peers: an LCG over [0, 1) pixels and labels 0–9.
let s = 12345;
const next = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) | 0) >>> 8) / 16777216;
const xs: Tensor[] = [];
const ys: Int32Array[] = [];
for (let b = 0; b < POOL; b++) {
  xs.push(tensor(new Float32Array(B * IN).map(() => next()), { shape: [B, IN] }));
  ys.push(new Int32Array(B).map(() => Math.floor(next() * 10)));
}

const g = new Generator(0);
const model = new Sequential(new Linear(IN, H, { generator: g }), new ReLU(), new Linear(H, OUT, { generator: g }));
const lossFn = new CrossEntropyLoss();
const opt = new Adam(model.parameters(), { lr: 1e-3 });

function step(i: number): number {
  opt.zeroGrad();
  const loss = lossFn.forward(model.forward(xs[i % POOL]!), ys[i % POOL]!);
  loss.backward();
  opt.step();
  return loss.item();
}

function gflops(m: number, n: number, k: number, transA: boolean, transB: boolean): number {
  // Operands in tensor storage, as the step's (the tensor heap where memory can be shared: nothing copied).
  const a = tensor(new Float32Array(m * k).map(() => next())).data;
  const b = tensor(new Float32Array(k * n).map(() => next())).data;
  const c = zeros([m * n]).data;
  const ms = timeIt(() => gemm(m, n, k, a, 0, transA, b, 0, transB, c, 0), { warmup: 20, runs: 31, inner: 3 });
  return (2 * m * n * k) / (ms * 1e6);
}

const warmup = Math.min(100, Math.floor(steps / 4));
for (let i = 0; i < warmup; i++) step(i);
const rssAfterWarmup = process.memoryUsage().rss;
const times: number[] = [];
const gc = gcMeter();
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  step(i);
  times.push(performance.now() - t0);
}
const gcTotals = await gc.stop();
const rssEnd = process.memoryUsage().rss;
console.log(
  JSON.stringify({
    // wasm+relaxed: the gemms run f32x4.relaxed_madd (an engine with relaxed SIMD), wasm: f32x4.mul then add.
    system: `tsgrad-${getBackend()}${getBackend() === "wasm" && kernelInstructions() === "relaxed-simd" ? "+relaxed" : ""}-${threads}t`,
    msPerStep: median(times),
    steps,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    rssGrowthMB: (rssEnd - rssAfterWarmup) / 2 ** 20,
    gcPauses: gcTotals.count / steps, // per step
    gcShare: gcTotals.ms / times.reduce((a, b) => a + b, 0), // of the timed steps' wall time
    gflops: {
      forward: gflops(B, H, IN, false, true), // x·W1ᵀ, W1 stored [128, 784]
      gradInput: gflops(B, IN, H, false, false), // dY·W1 (not needed by the step: x needs no grad)
      gradWeight: gflops(H, IN, B, true, false), // dW1 = dYᵀ·x
    },
  }),
);
