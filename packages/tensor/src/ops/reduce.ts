// Reductions (sum mean max argmax logsumexp) and the stable softmax/logSoftmax, each with a direct backward.
import { releaseArray, takeArray, takeInt32, takeZeros } from "../pool.js";
import { defineOp } from "../autograd.js";
import { ShapeError } from "../errors.js";
import { formatShape, normalizeDim, normalizeDims, numel, reducedShape } from "../shape.js";
import { laneArgmax, laneLogSumExp, reduceIndexMap, splitAt, sumOverDims } from "../kernels/reduce.js";
import { permuteCopy } from "../kernels/elementwise.js";
import { Tensor } from "../tensor.js";
import { checkTensor } from "./checks.js";

type Dims = number | readonly number[] | undefined;

/** Normalised dims; an empty list means every dim (PyTorch's `dim=[]`). */
function dimsOf(x: Tensor, dim: Dims, op: string): number[] {
  if (dim !== undefined && typeof dim !== "number" && !Array.isArray(dim)) {
    throw new TypeError(`${op}: dim must be a number or an array of numbers, got ${typeof dim}`);
  }
  const dims = normalizeDims(dim, x.ndim, op);
  return dims.length === 0 ? normalizeDims(undefined, x.ndim, op) : dims;
}

function checkKeepdim(keepdim: unknown, op: string): void {
  if (typeof keepdim !== "boolean") throw new TypeError(`${op}: keepdim must be a boolean, got ${typeof keepdim}`);
}

/** Broadcasts a reduced gradient back over the reduced dims: gx[i] = scale · g[map[i]]. */
function expandReduced(g: Float32Array, x: Tensor, dims: readonly number[], scale: number): Float32Array {
  const gx = takeZeros(x.numel);
  if (dims.length === x.ndim) {
    gx.fill(g[0]! * scale);
    return gx;
  }
  const map = reduceIndexMap(x.shape, dims);
  for (let i = 0; i < gx.length; i++) gx[i] = g[map[i]!]! * scale;
  return gx;
}

/** Sum over `dim` (every dim when omitted), accumulated in float64. */
export function sum(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkTensor(x, "sum");
  checkKeepdim(keepdim, "sum");
  const dims = dimsOf(x, dim, "sum");
  const shape = reducedShape(x.shape, dims, keepdim);
  const out = sumOverDims(x.data, x.shape, dims, numel(shape));
  // d/dx = 1 on every reduced element (no values saved).
  const backward = (g: Float32Array): Float32Array[] => [expandReduced(g, x, dims, 1)];
  return defineOp({ name: "sum", inputs: [x], output: out, shape, savesValues: false, backward });
}

/** Mean over `dim` (every dim when omitted). */
export function mean(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkTensor(x, "mean");
  checkKeepdim(keepdim, "mean");
  const dims = dimsOf(x, dim, "mean");
  const shape = reducedShape(x.shape, dims, keepdim);
  let count = 1;
  for (const d of dims) count *= x.shape[d]!;
  const out = sumOverDims(x.data, x.shape, dims, numel(shape));
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / count;
  // d/dx = 1/count on every reduced element. PyTorch 1.13 saves the input for mean over given dims (not for mean()):
  // a second backward through it throws there, and so here.
  const backward = (g: Float32Array): Float32Array[] => [expandReduced(g, x, dims, 1 / count)];
  return defineOp({ name: "mean", inputs: [x], output: out, shape, savesValues: dim !== undefined, backward });
}

/**
 * Maximum values over `dim`, NaN propagating, with PyTorch's three gradients:
 * - one `dim` (`torch.max(x, dim)`): the gradient goes to the index it returns, the first NaN or else the first maximum;
 * - no `dim` (`torch.max(x)`): shared evenly between the maxima, or between the NaNs when the result is NaN;
 * - a list of dims (`torch.amax(x, dims)`): shared evenly between the maxima; a slice whose maximum is NaN has no
 *   maximum to share it, and its gradient is NaN.
 */
export function max(x: Tensor, dim?: Dims, keepdim = false): Tensor {
  checkTensor(x, "max");
  checkKeepdim(keepdim, "max");
  if (x.numel === 0) throw new ShapeError(`max: expected a non-empty tensor, got shape ${formatShape(x.shape)}`);
  if (typeof dim === "number") {
    const d = normalizeDim(dim, x.ndim, "max");
    const shape = reducedShape(x.shape, x.ndim === 0 ? [] : [d], keepdim);
    const { outer, size, inner } = splitAt(x.shape, d);
    const out = takeArray(outer * inner);
    const idx = takeInt32(outer * inner);
    laneArgmax(x.data, outer, size, inner, idx, out);
    // d/dx = g at the index torch.max(x, dim) returns, 0 elsewhere.
    return defineOp({ name: "max", inputs: [x], output: out, shape, saved: [idx], backward: (g) => {
      const gx = takeZeros(x.numel);
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) gx[(o * size + idx[o * inner + j]!) * inner + j] = g[o * inner + j]!;
      }
      return [gx];
    } });
  }
  const dims = dimsOf(x, dim, "max");
  const shape = reducedShape(x.shape, dims, keepdim);
  const map = reduceIndexMap(x.shape, dims);
  const out = takeArray(numel(shape)).fill(-Infinity);
  const xd = x.data;
  for (let i = 0; i < xd.length; i++) {
    const o = map[i]!;
    const v = xd[i]!;
    if (v > out[o]! || v !== v) out[o] = v;
  }
  const all = dim === undefined;
  return defineOp({ name: "max", inputs: [x], output: out, shape, backward: (g) => {
    // max(): the maxima, or the NaNs when the result is NaN (evenly_distribute_backward); amax: x == result only.
    const hit = (v: number, m: number): boolean => v === m || (all && m !== m && v !== v);
    const ties = takeZeros(out.length);
    for (let i = 0; i < xd.length; i++) if (hit(xd[i]!, out[map[i]!]!)) ties[map[i]!]! += 1;
    const gx = takeZeros(xd.length);
    for (let i = 0; i < xd.length; i++) {
      const o = map[i]!;
      // amax is (g / count) · mask: NaN off the mask where g / count is not finite (a slice without a maximum has
      // count 0); max() fills the mask only.
      if (hit(xd[i]!, out[o]!)) gx[i] = g[o]! / ties[o]!;
      else if (!all && !Number.isFinite(g[o]! / ties[o]!)) gx[i] = NaN;
    }
    return [gx];
  } });
}

/** Indices of the first maxima along `dim` (of the flattened tensor when omitted), stored as floats; no gradient. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  checkTensor(x, "argmax");
  checkKeepdim(keepdim, "argmax");
  if (x.numel === 0) throw new ShapeError(`argmax: expected a non-empty tensor, got shape ${formatShape(x.shape)}`);
  if (dim === undefined) {
    const out = takeArray(1);
    laneArgmax(x.data, 1, x.numel, 1, out, null);
    return new Tensor(out, keepdim ? x.shape.map(() => 1) : []);
  }
  const d = normalizeDim(dim, x.ndim, "argmax");
  const shape = reducedShape(x.shape, x.ndim === 0 ? [] : [d], keepdim);
  const { outer, size, inner } = splitAt(x.shape, d);
  const out = takeArray(outer * inner);
  laneArgmax(x.data, outer, size, inner, out, null);
  return new Tensor(out, shape);
}

/** `log Σ exp(x)` over `dim`: max subtracted first, so large logits neither overflow nor underflow. */
export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  checkTensor(x, "logsumexp");
  checkKeepdim(keepdim, "logsumexp");
  if (dim === undefined) throw new TypeError("logsumexp: dim is required");
  const dims = dimsOf(x, dim, "logsumexp");
  const shape = reducedShape(x.shape, dims, keepdim);
  const n = numel(shape);
  // The reduced dims last (kept ones first, both in order): each output's elements are then one contiguous lane, in
  // the order of their flat indices.
  const perm = [...x.shape.map((_, i) => i).filter((i) => !dims.includes(i)), ...dims];
  const lanes = perm.every((p, i) => p === i) ? x.data : permuteCopy(x.data, x.shape, perm);
  const lse = laneLogSumExp(lanes, n, n === 0 ? 0 : x.numel / n, 1);
  if (lanes !== x.data) releaseArray(lanes);
  const out = takeArray(n);
  for (let o = 0; o < n; o++) {
    const shift = lse[2 * o]!;
    out[o] = Number.isFinite(shift) ? shift + lse[2 * o + 1]! : shift; // a lane of −inf, or holding +inf, is ±inf
  }
  releaseArray(lse);
  const xd = x.data;
  const map = reduceIndexMap(x.shape, dims);
  // d/dx_i = exp(x_i − lse).
  return defineOp({ name: "logsumexp", inputs: [x], output: out, shape, backward: (g) => {
    const gx = takeZeros(xd.length);
    for (let i = 0; i < gx.length; i++) {
      const o = map[i]!;
      gx[i] = g[o]! * Math.exp(xd[i]! - out[o]!);
    }
    return [gx];
  } });
}

/** The log-sum-exp of every lane of `x` along `dim` (see `laneLogSumExp`), with the lane layout. */
function lanesAlong(x: Tensor, dim: number, op: string): { lse: Float64Array; outer: number; size: number; inner: number } {
  const { outer, size, inner } = splitAt(x.shape, normalizeDim(dim, x.ndim, op));
  return { lse: laneLogSumExp(x.data, outer, size, inner), outer, size, inner };
}

function checkDim(dim: unknown, op: string): asserts dim is number {
  if (typeof dim !== "number") throw new TypeError(`${op}: dim must be a number, got ${typeof dim}`);
}

/** Softmax along `dim`: `exp((x − max) − log Σ exp(x − max))`, stable for any magnitude. */
export function softmax(x: Tensor, dim: number): Tensor {
  checkTensor(x, "softmax");
  checkDim(dim, "softmax");
  const { lse, outer, size, inner } = lanesAlong(x, dim, "softmax");
  const xd = x.data;
  const out = takeZeros(xd.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const shift = lse[2 * (o * inner + j)]!;
      const tail = lse[2 * (o * inner + j) + 1]!;
      for (let s = 0; s < size; s++) {
        const i = (o * size + s) * inner + j;
        out[i] = Math.exp(xd[i]! - shift - tail);
      }
    }
  }
  // dx = y · (g − Σ g·y).
  return defineOp({ name: "softmax", inputs: [x], output: out, shape: x.shape, backward: (g) => {
    const gx = takeZeros(xd.length);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        let dot = 0;
        for (let s = 0; s < size; s++) {
          const i = (o * size + s) * inner + j;
          dot += g[i]! * out[i]!;
        }
        for (let s = 0; s < size; s++) {
          const i = (o * size + s) * inner + j;
          gx[i] = out[i]! * (g[i]! - dot);
        }
      }
    }
    return [gx];
  } });
}

/** Log-softmax along `dim`: `(x − max) − log Σ exp(x − max)`, as PyTorch; never `log(softmax(x))`. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  checkTensor(x, "logSoftmax");
  checkDim(dim, "logSoftmax");
  const { lse, outer, size, inner } = lanesAlong(x, dim, "logSoftmax");
  const xd = x.data;
  const out = takeZeros(xd.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const shift = lse[2 * (o * inner + j)]!;
      const tail = lse[2 * (o * inner + j) + 1]!;
      for (let s = 0; s < size; s++) {
        const i = (o * size + s) * inner + j;
        out[i] = xd[i]! - shift - tail;
      }
    }
  }
  // dx = g − softmax(x) · Σ g.
  return defineOp({ name: "logSoftmax", inputs: [x], output: out, shape: x.shape, backward: (g) => {
    const gx = takeZeros(xd.length);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        let total = 0;
        for (let s = 0; s < size; s++) total += g[(o * size + s) * inner + j]!;
        for (let s = 0; s < size; s++) {
          const i = (o * size + s) * inner + j;
          gx[i] = g[i]! - Math.exp(out[i]!) * total;
        }
      }
    }
    return [gx];
  } });
}
