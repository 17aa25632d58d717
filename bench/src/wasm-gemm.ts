// WebAssembly SIMD gemm benchmark: GFLOP/s of the JS gemm and of the wasm kernels (1 thread) for the three products
// of a 784→128 Linear at batch 64. `--tune` also sweeps the register blockings of each layout.
//   npx esbuild bench/src/wasm-gemm.ts --bundle --platform=node --format=esm --outfile=/tmp/wg.mjs && node /tmp/wg.mjs
import { gemm } from "@tsgrad/tensor";
import { buildKernelModule, createMemory, WasmKernels, type GemmBlocking, type GemmLayout, type WasmModule } from "../../packages/tensor/src/wasm/index.js";
import { Heap, Scratch } from "../../packages/tensor/src/heap.js";
import { machine, median, timeIt } from "./stats.js";

interface Case {
  readonly layout: GemmLayout;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly role: string;
}

const cases: Case[] = [
  { layout: "nt", m: 64, n: 128, k: 784, role: "forward x·Wᵀ (x [64, 784], W [128, 784])" },
  { layout: "nn", m: 64, n: 784, k: 128, role: "dX = dY·W (dY [64, 128], W [128, 784])" },
  { layout: "tn", m: 128, n: 784, k: 64, role: "dW = dYᵀ·x (dY [64, 128], x [64, 784])" },
  { layout: "tn", m: 784, n: 128, k: 64, role: "dWᵀ = xᵀ·dY (the JS bench's shape)" },
];

function fill(out: Float32Array, seed: number): void {
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    out[i] = (s >>> 8) / 16777216 - 0.5;
  }
}

const gflops = (c: Case, ms: number): number => (2 * c.m * c.n * c.k) / (ms * 1e6);

const memory = createMemory({ initialPages: 64 });
const arena = new Scratch(new Heap(memory, false));
const WA = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => WasmModule } }).WebAssembly;

/** Operands of a case, in the wasm memory (pointers) and as plain arrays for the JS gemm. */
function operands(c: Case): { a: number; b: number; out: number; ja: Float32Array; jb: Float32Array; jc: Float32Array } {
  arena.reset();
  const a = arena.alloc(c.m * c.k), b = arena.alloc(c.k * c.n), out = arena.alloc(c.m * c.n);
  const ja = new Float32Array(c.m * c.k), jb = new Float32Array(c.k * c.n);
  fill(ja, 1);
  fill(jb, 2);
  new Float32Array(memory.buffer, a, ja.length).set(ja);
  new Float32Array(memory.buffer, b, jb.length).set(jb);
  return { a, b, out, ja, jb, jc: new Float32Array(c.m * c.n) };
}

/** Median and fastest ms per call over `rounds` samples (each the median of a short batch): the fastest shows the
 * kernel's speed when other processes share the cores, the median what a caller sees. */
function sample(fn: () => void, rounds = 31): { median: number; best: number } {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) samples.push(timeIt(fn, { warmup: r === 0 ? 50 : 2, runs: 5, inner: 4 }));
  return { median: median(samples), best: Math.min(...samples) };
}

function timeWasm(kernels: WasmKernels, c: Case): { median: number; best: number } {
  const { a, b, out } = operands(c);
  return sample(() => kernels.gemm(c.layout, c.m, c.n, c.k, a, b, out));
}

function timeJs(c: Case): { median: number; best: number } {
  const { ja, jb, jc } = operands(c);
  return sample(() => gemm(c.m, c.n, c.k, ja, 0, c.layout === "tn", jb, 0, c.layout === "nt", jc, 0));
}

console.log(`gemm, 1 thread, JS vs WebAssembly SIMD, on ${machine()}`);
if (process.argv.includes("--tune")) {
  // Candidates are timed in interleaved rounds, so load from other processes weighs on all of them alike.
  const blockings: GemmBlocking[] = [];
  for (const order of ["ij", "ji"] as const) {
    for (const [rows, cols] of [[2, 4], [4, 2], [2, 3], [3, 2]] as const) {
      for (const unroll of [1, 2, 4]) blockings.push({ rows, cols, order, unroll });
    }
  }
  const rounds = 15;
  for (const c of cases) {
    const candidates = blockings.map((blocking) => ({
      blocking,
      kernels: new WasmKernels(new WA.Module(buildKernelModule({ shared: false, blocking: { [c.layout]: blocking } })), memory),
      samples: [] as number[],
    }));
    const { a, b, out } = operands(c);
    for (let r = 0; r < rounds; r++) {
      for (const cand of candidates) {
        cand.samples.push(timeIt(() => cand.kernels.gemm(c.layout, c.m, c.n, c.k, a, b, out), { warmup: 3, runs: 5, inner: 5 }));
      }
    }
    const rows = candidates
      .map(({ blocking, samples }) => ({ blocking, med: median(samples), best: Math.min(...samples) }))
      .sort((x, y) => x.med - y.med)
      .map(({ blocking, med, best }) => `${blocking.rows}×${blocking.cols} ${blocking.order} u${blocking.unroll ?? 1}: median ${gflops(c, med).toFixed(1)}, best ${gflops(c, best).toFixed(1)}`);
    console.log(`${c.layout} ${c.m}×${c.n}×${c.k} (GFLOP/s)\n  ${rows.join("\n  ")}`);
  }
} else {
  const kernels = new WasmKernels(new WA.Module(buildKernelModule({ shared: false })), memory);
  console.log("GFLOP/s, median (best) of 31 samples");
  console.log("layout  m×n×k        JS GFLOP/s      wasm GFLOP/s     speed-up  role");
  for (const c of cases) {
    const js = timeJs(c);
    const wasm = timeWasm(kernels, c);
    const cell = (t: { median: number; best: number }): string => `${gflops(c, t.median).toFixed(2).padStart(6)} (${gflops(c, t.best).toFixed(2).padStart(5)})`;
    console.log(`${c.layout.padEnd(7)} ${`${c.m}×${c.n}×${c.k}`.padEnd(12)} ${cell(js)}  ${cell(wasm)}  ${(js.median / wasm.median).toFixed(1).padStart(6)}×  ${c.role}`);
  }
}
