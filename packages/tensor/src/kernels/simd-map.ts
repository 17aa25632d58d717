// Element-wise maps of the CNN's layers (ReLU, its gradient, a product) on the wasm backend: the SIMD kernels of
// wasm/conv-kernels.ts, in place on arrays of the tensor heap (split across the thread team when large), else through
// its scratch in chunks of 1 MiB.
import { getBackend } from "../compute.js";
import { addressOf } from "../heap.js";
import { rangeOnTeam } from "../parallel.js";
import { kernelEngine } from "../wasm/engine.js";

/** The maps: `relu` (x), `relu_grad` (x, g), `mul` (a, b); results as the kernels of the same name document. */
export type MapKernel = "relu" | "relu_grad" | "mul";

/**
 * Floats of each array per chunk (1 MiB): measured in the CNN step, chunks of 8–32 KiB were 25–45 % slower (a copy
 * call per chunk), whole arrays (up to 9 MiB) 35 % slower.
 */
const CHUNK = 262144;
/** Arrays shorter than this stay in JavaScript. */
const MIN_ELEMENTS = 4096;

/**
 * out = kernel(inputs) element by element on the SIMD kernels, where the wasm backend is chosen and available; returns
 * false (nothing written) otherwise, and the caller runs its JavaScript loop, which gives the same bits. Every input
 * has `out.length` elements (one for `relu`, two for the others).
 */
export function simdMap(kernel: MapKernel, inputs: readonly Float32Array[], out: Float32Array): boolean {
  const n = out.length;
  if (n < MIN_ELEMENTS || getBackend() !== "wasm") return false;
  const e = kernelEngine();
  if (e === null) return false;
  const a = inputs[0]!, b = inputs[1] ?? a;
  const { conv } = e;
  const pa = addressOf(a, 0), pb = addressOf(b, 0), po = addressOf(out, 0);
  if (pa >= 0 && pb >= 0 && po >= 0) {
    // All in the tensor heap: in place, split across the thread team when it pays, else one call.
    const args = kernel === "relu" ? [pa, po, n] : [pa, pb, po, n];
    const count = args.length - 1;
    if (rangeOnTeam({ kernel, args, count, shifts: args.slice(0, count).map((_, i) => [i, 4] as const), units: n }, n)) return true;
    if (kernel === "relu") conv.relu(pa, po, n);
    else if (kernel === "mul") conv.mul(pa, pb, po, n);
    else conv.relu_grad(pa, pb, po, n);
    return true;
  }
  e.arena.reset();
  const chunk = Math.min(CHUNK, n);
  const sa = e.arena.alloc(chunk), sb = e.arena.alloc(chunk), so = e.arena.alloc(chunk);
  const heap = e.f32();
  for (let s = 0; s < n; s += chunk) {
    const len = Math.min(chunk, n - s);
    heap.set(a.subarray(s, s + len), sa >> 2);
    if (kernel === "relu") {
      conv.relu(sa, so, len);
    } else {
      heap.set(b.subarray(s, s + len), sb >> 2);
      if (kernel === "mul") conv.mul(sa, sb, so, len);
      else conv.relu_grad(sa, sb, so, len);
    }
    out.set(heap.subarray(so >> 2, (so >> 2) + len), s);
  }
  e.arena.reset();
  return true;
}

/**
 * Dropout's mask and output in one pass of the SIMD module's `dropout_mask` (its xoshiro128** steps, threshold and
 * products: see ConvKernelExports), `state` (four int32 words) advanced in place; false (nothing done) where the wasm
 * backend is not chosen or unavailable, or an array lies outside the tensor heap: the caller runs its JavaScript loop,
 * which gives the same bits.
 */
export function simdDropout(state: Int32Array, threshold: number, kept: number, x: Float32Array, mask: Float32Array, out: Float32Array): boolean {
  const n = out.length;
  if (n < MIN_ELEMENTS || getBackend() !== "wasm") return false;
  const e = kernelEngine();
  if (e === null) return false;
  const px = addressOf(x, 0), pm = addressOf(mask, 0), po = addressOf(out, 0);
  if (px < 0 || pm < 0 || po < 0) return false;
  e.arena.reset();
  const ps = e.arena.alloc(4), words = new Int32Array(e.f32().buffer, ps, 4);
  words.set(state);
  e.conv.dropout_mask(ps, threshold, kept, px, pm, po, n);
  state.set(words);
  e.arena.reset();
  return true;
}
