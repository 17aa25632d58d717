// One training step of the reference MLP (784→128→10, batch 64, cross-entropy, Adam 1e-3) in TensorFlow.js 4.22:
// a manual loop with variableGrads/applyGradients inside tf.tidy. Prints one JSON line of results.
// Usage: node tfjs-step.mjs cpu|wasm [steps]
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";

const backend = process.argv[2] ?? "cpu";
const steps = Number(process.argv[3] ?? 200);
const require = createRequire(import.meta.url);
setWasmPaths(join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/");
await tf.setBackend(backend);
await tf.ready();

const B = 64, IN = 784, H = 128, OUT = 10, POOL = 16;
// The same synthetic batches as the tsgrad bench: an LCG over [0, 1) pixels and labels 0–9.
let s = 12345;
const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) | 0) >>> 8) / 16777216;
const xs = [], ys = [];
for (let b = 0; b < POOL; b++) {
  const x = new Float32Array(B * IN).map(() => next());
  const y = new Int32Array(B).map(() => Math.floor(next() * 10));
  xs.push(tf.tensor2d(x, [B, IN]));
  ys.push(tf.oneHot(tf.tensor1d(y, "int32"), OUT).toFloat());
}
const lim1 = 1 / Math.sqrt(IN), lim2 = 1 / Math.sqrt(H);
const w1 = tf.variable(tf.randomUniform([IN, H], -lim1, lim1, "float32", 1));
const b1 = tf.variable(tf.randomUniform([H], -lim1, lim1, "float32", 2));
const w2 = tf.variable(tf.randomUniform([H, OUT], -lim2, lim2, "float32", 3));
const b2 = tf.variable(tf.randomUniform([OUT], -lim2, lim2, "float32", 4));
const opt = tf.train.adam(1e-3);

function step(i) {
  const x = xs[i % POOL], y = ys[i % POOL];
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
      const logits = tf.add(tf.matMul(h, w2), b2);
      return tf.losses.softmaxCrossEntropy(y, logits);
    });
    opt.applyGradients(grads);
    value.dataSync();
  });
}

function timeMatmul(m, n, k, transposeA, transposeB) {
  const a = transposeA ? tf.randomUniform([k, m]) : tf.randomUniform([m, k]);
  const b = transposeB ? tf.randomUniform([n, k]) : tf.randomUniform([k, n]);
  const run = () => tf.tidy(() => tf.matMul(a, b, transposeA, transposeB).dataSync());
  for (let i = 0; i < 10; i++) run();
  const times = [];
  for (let r = 0; r < 31; r++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((p, q) => p - q);
  const ms = times[15];
  return (2 * m * n * k) / (ms * 1e6);
}

const warmup = Math.min(30, Math.floor(steps / 4));
for (let i = 0; i < warmup; i++) step(i);
const times = [];
let gcCount = 0, gcMs = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) { gcCount++; gcMs += e.duration; }
});
observer.observe({ entryTypes: ["gc"] });
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  step(i);
  times.push(performance.now() - t0);
}
await new Promise((resolve) => setTimeout(resolve, 20)); // gc entries are delivered asynchronously
observer.disconnect();
const gcShare = gcMs / times.reduce((a, b) => a + b, 0);
times.sort((p, q) => p - q);
const gflops = {
  forward: timeMatmul(B, H, IN, false, false), // x·W1 (tfjs keeps W1 as [784, 128])
  gradInput: timeMatmul(B, IN, H, false, true), // dY·W1ᵀ (not needed by the step, measured for the table)
  gradWeight: timeMatmul(IN, H, B, true, false), // xᵀ·dY
};
console.log(JSON.stringify({
  system: `tfjs-${backend}`,
  msPerStep: times[times.length >> 1],
  steps,
  peakRssMB: process.resourceUsage().maxRSS / 1024,
  gcPauses: gcCount / steps,
  gcShare,
  gflops,
}));
