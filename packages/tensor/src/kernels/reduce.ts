// Reduction kernels on raw Float32Arrays: index maps, sums over dims, and summing a broadcast gradient back to a shape.
import { releaseArray, takeArray, takeFloat64 } from "../pool.js";
import { numel, stridesOf, type Shape } from "../shape.js";

/**
 * For a tensor of `shape` reduced over `dims` (sorted, normalised), the flat output index of every input element.
 * Output indices number the kept dims in row-major order (the same with or without keepdim).
 */
export function reduceIndexMap(shape: Shape, dims: readonly number[]): Int32Array {
  const nd = shape.length;
  const keptShape = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const ostr = stridesOf(keptShape).map((s, i) => (dims.includes(i) ? 0 : s));
  const n = numel(shape);
  const map = new Int32Array(n);
  const count = new Array<number>(nd).fill(0);
  let o = 0;
  for (let i = 0; i < n; i++) {
    map[i] = o;
    for (let d = nd - 1; d >= 0; d--) {
      o += ostr[d]!;
      if (++count[d]! < shape[d]!) break;
      o -= ostr[d]! * shape[d]!;
      count[d] = 0;
    }
  }
  return map;
}

/** Sums `x` (of `shape`) over `dims` into an array of `outSize` values, accumulating in float64. */
export function sumOverDims(x: Float32Array, shape: Shape, dims: readonly number[], outSize: number): Float32Array {
  const out = takeArray(outSize);
  if (dims.length === 0) {
    out.set(x);
  } else if (dims.length === shape.length) {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]!;
    out[0] = s;
  } else {
    const acc = takeFloat64(outSize).fill(0);
    const map = reduceIndexMap(shape, dims);
    for (let i = 0; i < x.length; i++) acc[map[i]!]! += x[i]!;
    for (let i = 0; i < outSize; i++) out[i] = acc[i]!;
    releaseArray(acc);
  }
  return out;
}

/**
 * Sums a gradient of broadcast shape `from` back to `to` (right-aligned broadcasting: leading dims and dims where
 * `to` has size 1 are summed). Used once, centrally, by autograd.
 */
export function sumToShape(g: Float32Array, from: Shape, to: Shape): Float32Array {
  const lead = from.length - to.length;
  const dims: number[] = [];
  for (let i = 0; i < from.length; i++) {
    if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) dims.push(i);
  }
  return sumOverDims(g, from, dims, numel(to));
}

/** For a reduction over one dim: sizes of the outer block, the reduced dim and the inner block. */
export function splitAt(shape: Shape, dim: number): { outer: number; size: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < dim; i++) outer *= shape[i]!;
  for (let i = dim + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, size: shape[dim] ?? 1, inner };
}

/**
 * Below this magnitude of a lane's max m, `m + log Σ` is formed in float64 (an error of at most 2^-29, below the float32
 * resolution of any result); from it on, `log Σ` would drown in `m`, so the two are kept apart and subtracted one
 * after the other, as PyTorch computes `log_softmax = (x − m) − log Σ`.
 */
const FUSED_LSE_LIMIT = 2 ** 24;

/**
 * The log-sum-exp of every lane of `x` viewed as [outer, size, inner] along its middle dim, in float64 and stable: per
 * lane l, `lse[2l]` (shift) and `lse[2l + 1]` (tail) with `log softmax(x)_s = (x_s − shift) − tail` and
 * `logsumexp = shift + tail`: `m + log Σ exp(x − m)` and 0 for a moderate max m, else `m` and `log Σ`. A lane holding
 * NaN, or +inf, or only −inf has a NaN tail, as PyTorch's `x − m`. Softmax, logSoftmax, logsumexp and the fused
 * losses all use it. Returns a pooled array (release it, or save it for the backward).
 */
export function laneLogSumExp(x: Float32Array, outer: number, size: number, inner: number): Float64Array {
  const lse = takeFloat64(2 * outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * size * inner + j;
      let m = -Infinity;
      for (let s = 0; s < size; s++) {
        const v = x[base + s * inner]!;
        if (v > m || v !== v) m = v;
      }
      let acc = 0;
      for (let s = 0; s < size; s++) acc += Math.exp(x[base + s * inner]! - m);
      const lane = 2 * (o * inner + j);
      if (Math.abs(m) < FUSED_LSE_LIMIT) {
        lse[lane] = m + Math.log(acc);
        lse[lane + 1] = 0;
      } else {
        lse[lane] = m;
        lse[lane + 1] = Math.log(acc);
      }
    }
  }
  return lse;
}

/**
 * For every lane of `x` viewed as [outer, size, inner]: the index along the middle dim of the first NaN, else of the
 * first maximum (`torch.max(x, dim)` and `argmax`'s choice), into `index`, and that value into `value` (when given).
 */
export function laneArgmax(
  x: Float32Array, outer: number, size: number, inner: number, index: Int32Array | Float32Array, value: Float32Array | null,
): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = -Infinity;
      let at = 0;
      for (let s = 0; s < size; s++) {
        const v = x[(o * size + s) * inner + j]!;
        if (v > best || (v !== v && best === best)) {
          best = v;
          at = s;
        }
      }
      index[o * inner + j] = at;
      if (value !== null) value[o * inner + j] = best;
    }
  }
}
