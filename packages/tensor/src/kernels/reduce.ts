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
