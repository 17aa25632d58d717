// Element-wise kernels on raw Float32Arrays: broadcast binary loops and strided (permuted) copies.
import { takeZeros } from "../pool.js";
import { numel, stridesOf, type Shape } from "../shape.js";

/** One binary op applied along a run: out[o + t] = f(a[ai + t·as], b[bi + t·bs]) for t < len. */
export type BinaryRun = (
  out: Float32Array, o: number,
  a: Float32Array, ai: number, as: number,
  b: Float32Array, bi: number, bs: number,
  len: number,
) => void;

export const addRun: BinaryRun = (out, o, a, ai, as, b, bi, bs, len) => {
  for (let t = 0; t < len; t++, ai += as, bi += bs) out[o + t] = a[ai]! + b[bi]!;
};
export const subRun: BinaryRun = (out, o, a, ai, as, b, bi, bs, len) => {
  for (let t = 0; t < len; t++, ai += as, bi += bs) out[o + t] = a[ai]! - b[bi]!;
};
export const mulRun: BinaryRun = (out, o, a, ai, as, b, bi, bs, len) => {
  for (let t = 0; t < len; t++, ai += as, bi += bs) out[o + t] = a[ai]! * b[bi]!;
};
export const divRun: BinaryRun = (out, o, a, ai, as, b, bi, bs, len) => {
  for (let t = 0; t < len; t++, ai += as, bi += bs) out[o + t] = a[ai]! / b[bi]!;
};
export const powRun: BinaryRun = (out, o, a, ai, as, b, bi, bs, len) => {
  for (let t = 0; t < len; t++, ai += as, bi += bs) out[o + t] = Math.pow(a[ai]!, b[bi]!);
};

/**
 * out (of shape `outShape`) = run(a, b) with a of `aShape` and b of `bShape` broadcast to it (strides 0 on
 * broadcast dims). The innermost dimension is one call of `run`.
 */
export function broadcastBinary(
  run: BinaryRun,
  a: Float32Array, aShape: Shape,
  b: Float32Array, bShape: Shape,
  outShape: Shape,
  out: Float32Array = takeZeros(numel(outShape)),
): Float32Array {
  const n = out.length;
  if (n === 0) return out;
  if (a.length === n && b.length === n) {
    run(out, 0, a, 0, 1, b, 0, 1, n);
    return out;
  }
  if (b.length === 1 && a.length === n) {
    run(out, 0, a, 0, 1, b, 0, 0, n);
    return out;
  }
  if (a.length === 1 && b.length === n) {
    run(out, 0, a, 0, 0, b, 0, 1, n);
    return out;
  }
  const nd = outShape.length;
  const as = broadcastStrides(aShape, outShape);
  const bs = broadcastStrides(bShape, outShape);
  const last = outShape[nd - 1]!;
  const asl = as[nd - 1]!;
  const bsl = bs[nd - 1]!;
  const count = new Array<number>(nd).fill(0);
  let ai = 0;
  let bi = 0;
  for (let o = 0; o < n; o += last) {
    run(out, o, a, ai, asl, b, bi, bsl, last);
    for (let d = nd - 2; d >= 0; d--) {
      ai += as[d]!;
      bi += bs[d]!;
      if (++count[d]! < outShape[d]!) break;
      ai -= as[d]! * outShape[d]!;
      bi -= bs[d]! * outShape[d]!;
      count[d] = 0;
    }
  }
  return out;
}

/** Strides of `shape` viewed as broadcast to `outShape` (0 on broadcast dims). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const s = stridesOf(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, i) => (i < lead || shape[i - lead] === 1 ? 0 : s[i - lead]!));
}

/** Copies `x` (of `shape`) into a new contiguous array with its dims reordered by `perm`. */
export function permuteCopy(x: Float32Array, shape: Shape, perm: readonly number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]!);
  const n = x.length;
  const out = takeZeros(n);
  if (n === 0) return out;
  const inStr = stridesOf(shape);
  const src = perm.map((p) => inStr[p]!); // input stride of each output dim
  const nd = outShape.length;
  if (nd === 2) {
    const [r, c] = outShape as [number, number];
    const s0 = src[0]!, s1 = src[1]!;
    const B = 32;
    for (let i0 = 0; i0 < r; i0 += B) {
      for (let j0 = 0; j0 < c; j0 += B) {
        const i1 = Math.min(i0 + B, r), j1 = Math.min(j0 + B, c);
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) out[i * c + j] = x[i * s0 + j * s1]!;
      }
    }
    return out;
  }
  const count = new Array<number>(nd).fill(0);
  let si = 0;
  for (let o = 0; o < n; o++) {
    out[o] = x[si]!;
    for (let d = nd - 1; d >= 0; d--) {
      si += src[d]!;
      if (++count[d]! < outShape[d]!) break;
      si -= src[d]! * outShape[d]!;
      count[d] = 0;
    }
  }
  return out;
}
