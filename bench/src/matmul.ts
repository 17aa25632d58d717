// Matmul kernel benchmark: GFLOP/s of the JS gemm for the products of a 784→128 Linear at batch 64 (dW in both orders).
import { gemm, setBackend, type Backend } from "@tsgrad/tensor";
import { machine, timeIt } from "./stats.js";

interface Case {
  readonly label: string;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly role: string;
}

const cases: Case[] = [
  { label: "[64×784]·[784×128]", m: 64, n: 128, k: 784, transA: false, transB: true, role: "forward x·Wᵀ (W stored [128, 784])" },
  { label: "[64×128]·[128×784]", m: 64, n: 784, k: 128, transA: false, transB: false, role: "dX = dY·W" },
  { label: "[128×64]·[64×784]", m: 128, n: 784, k: 64, transA: true, transB: false, role: "dW = dYᵀ·x (dY stored [64, 128]): the step's" },
  { label: "[784×64]·[64×128]", m: 784, n: 128, k: 64, transA: true, transB: false, role: "dWᵀ = xᵀ·dY (x stored [64, 784])" },
];

function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) | 0;
    a[i] = (s >>> 8) / 16777216 - 0.5;
  }
  return a;
}

console.log(`matmul (gemm, 1 thread) on ${machine()}`);
console.log("backend  shape                 layout  median ms  GFLOP/s  role");
// The JS kernel first (the wasm backend is the default): the GFLOP/s a core gets in plain JavaScript.
for (const backend of ["js", "wasm"] as const satisfies readonly Backend[]) {
  setBackend(backend);
  for (const c of cases) {
    const a = fill(c.m * c.k, 1);
    const b = fill(c.k * c.n, 2);
    const out = new Float32Array(c.m * c.n);
    const ms = timeIt(() => gemm(c.m, c.n, c.k, a, 0, c.transA, b, 0, c.transB, out, 0), { warmup: 20, runs: 41, inner: 5 });
    const gflops = (2 * c.m * c.n * c.k) / (ms * 1e6);
    const layout = `${c.transA ? "T" : "N"}${c.transB ? "T" : "N"}`;
    console.log(
      `${backend.padEnd(8)} ${c.label.padEnd(21)} ${layout.padEnd(7)} ${ms.toFixed(3).padStart(9)}  ${gflops.toFixed(2).padStart(7)}  ${c.role}`,
    );
  }
}
