// A Linear layer's bias on the wasm backend: added to every row, and its gradient as float64 column sums, in SIMD
// (wasm/conv-kernels.ts) on arrays of the tensor heap; elsewhere the JavaScript loops, which give the same bits.
import { getBackend } from "../compute.js";
import { addressOf } from "../heap.js";
import { releaseArray, takeFloat64 } from "../pool.js";
import { inHeap, kernelEngine } from "../wasm/engine.js";

/** Matrices of fewer elements stay in JavaScript (a kernel call costs about as much). */
const MIN_ELEMENTS = 1024;

/** out[i·n + j] += bias[j] for `rows` rows of n (f32), in place. */
export function addBiasRows(out: Float32Array, bias: Float32Array, rows: number, n: number): void {
  const e = rows * n >= MIN_ELEMENTS && getBackend() === "wasm" ? kernelEngine() : null;
  const po = e === null ? -1 : addressOf(out, 0);
  if (e === null || po < 0) {
    for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) out[i * n + j]! += bias[j]!;
    return;
  }
  e.arena.reset();
  e.conv.add_rows(po, inHeap(e, bias, 0, n), po, rows, n);
  e.arena.reset();
}

/**
 * out[j] = Σ_i g[i·n + j] over `rows` rows of n: each column summed in float64 from 0 in row order, then rounded to
 * float32 (the bias gradient of a Linear).
 */
export function biasGradient(g: Float32Array, rows: number, n: number, out: Float32Array): void {
  const e = rows * n >= MIN_ELEMENTS && getBackend() === "wasm" ? kernelEngine() : null;
  if (e === null) {
    const acc = takeFloat64(n).fill(0);
    for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) acc[j]! += g[i * n + j]!;
    for (let j = 0; j < n; j++) out[j] = acc[j]!;
    releaseArray(acc);
    return;
  }
  e.arena.reset();
  const pg = inHeap(e, g, 0, rows * n), sums = e.arena.alloc(2 * n);
  e.conv.column_sums(pg, sums, rows, n);
  const acc = e.f64(), at = sums >> 3;
  for (let j = 0; j < n; j++) out[j] = acc[at + j]!;
  e.arena.reset();
}
