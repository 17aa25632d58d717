// Reductions (sum mean max argmax logsumexp) and the stable softmax/logSoftmax, each with a direct backward.
import { takeArray, takeZeros } from "../pool.js";
import { recordOp } from "../autograd.js";
import { ShapeError } from "../errors.js";
import { formatShape, normalizeDim, normalizeDims, numel, reducedShape } from "../shape.js";
import { reduceIndexMap, splitAt, sumOverDims } from "../kernels/reduce.js";
import { Tensor } from "../tensor.js";

type Dims = number | readonly number[] | undefined;

function checkTensor(x: unknown, op: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${x === null ? "null" : typeof x}`);
}

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
  return recordOp("sum", out, shape, [x], (g) => [expandReduced(g, x, dims, 1)], { savesValues: false });
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
  return recordOp("mean", out, shape, [x], (g) => [expandReduced(g, x, dims, 1 / count)], { savesValues: dim !== undefined });
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
    const out = takeZeros(outer * inner);
    const idx = new Int32Array(outer * inner);
    const xd = x.data;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        let best = -Infinity;
        let at = 0;
        for (let s = 0; s < size; s++) {
          const v = xd[(o * size + s) * inner + j]!;
          if (v > best || (v !== v && best === best)) {
            best = v;
            at = s;
          }
        }
        out[o * inner + j] = best;
        idx[o * inner + j] = at;
      }
    }
    return recordOp("max", out, shape, [x], (g) => {
      const gx = takeZeros(x.numel);
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < inner; j++) gx[(o * size + idx[o * inner + j]!) * inner + j] = g[o * inner + j]!;
      }
      return [gx];
    });
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
  return recordOp("max", out, shape, [x], (g) => {
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
  });
}

/** Indices of the first maxima along `dim` (of the flattened tensor when omitted), stored as floats; no gradient. */
export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  checkTensor(x, "argmax");
  checkKeepdim(keepdim, "argmax");
  if (x.numel === 0) throw new ShapeError(`argmax: expected a non-empty tensor, got shape ${formatShape(x.shape)}`);
  if (dim === undefined) {
    const xd = x.data;
    let best = -Infinity;
    let at = 0;
    for (let i = 0; i < xd.length; i++) {
      const v = xd[i]!;
      if (v > best || (v !== v && best === best)) {
        best = v;
        at = i;
      }
    }
    return new Tensor(new Float32Array([at]), keepdim ? x.shape.map(() => 1) : []);
  }
  const d = normalizeDim(dim, x.ndim, "argmax");
  const shape = reducedShape(x.shape, x.ndim === 0 ? [] : [d], keepdim);
  const { outer, size, inner } = splitAt(x.shape, d);
  const out = takeZeros(outer * inner);
  const xd = x.data;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = -Infinity;
      let at = 0;
      for (let s = 0; s < size; s++) {
        const v = xd[(o * size + s) * inner + j]!;
        if (v > best || (v !== v && best === best)) {
          best = v;
          at = s;
        }
      }
      out[o * inner + j] = at;
    }
  }
  return new Tensor(out, shape);
}

/** `log Σ exp(x)` over `dim`: max subtracted first, so large logits neither overflow nor underflow. */
export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  checkTensor(x, "logsumexp");
  checkKeepdim(keepdim, "logsumexp");
  if (dim === undefined) throw new TypeError("logsumexp: dim is required");
  const dims = dimsOf(x, dim, "logsumexp");
  const shape = reducedShape(x.shape, dims, keepdim);
  const map = reduceIndexMap(x.shape, dims);
  const n = numel(shape);
  const xd = x.data;
  const m = new Float64Array(n).fill(-Infinity);
  for (let i = 0; i < xd.length; i++) if (xd[i]! > m[map[i]!]!) m[map[i]!] = xd[i]!;
  const s = new Float64Array(n);
  for (let i = 0; i < xd.length; i++) {
    const mo = m[map[i]!]!;
    if (Number.isFinite(mo)) s[map[i]!]! += Math.exp(xd[i]! - mo);
  }
  const out = takeZeros(n);
  for (let o = 0; o < n; o++) {
    const mo = m[o]!;
    out[o] = Number.isFinite(mo) ? mo + Math.log(s[o]!) : mo; // all −inf → −inf; any +inf → +inf
  }
  for (let i = 0; i < xd.length; i++) if (xd[i] !== xd[i]) out[map[i]!] = NaN;
  // d/dx_i = exp(x_i − lse).
  return recordOp("logsumexp", out, shape, [x], (g) => {
    const gx = takeZeros(xd.length);
    for (let i = 0; i < gx.length; i++) {
      const o = map[i]!;
      gx[i] = g[o]! * Math.exp(xd[i]! - out[o]!);
    }
    return [gx];
  });
}

/**
 * Below this magnitude of a lane's max m, `m + log Σ` is formed in float64 (an error of at most 2^-29, below the float32
 * resolution of any result, and the values of earlier versions bit for bit); from it on, `log Σ` would drown in `m`,
 * so the two are kept apart and subtracted one after the other, as PyTorch computes `(x − m) − log Σ`.
 */
const FUSED_LSE_LIMIT = 2 ** 24;

/**
 * Per (outer, inner) lane along `dim`, in float64: `shift` and `tail` such that log-softmax is `(x − shift) − tail`
 * (`m + log Σ exp(x − m)` and 0 for a moderate max m, else `m` and `log Σ`). A lane holding NaN or +inf, or only −inf,
 * gives NaN everywhere, as PyTorch (`x − m` is NaN there).
 */
function rowLse(x: Tensor, dim: number, op: string): { lse: Float64Array; outer: number; size: number; inner: number } {
  const d = normalizeDim(dim, x.ndim, op);
  const { outer, size, inner } = splitAt(x.shape, d);
  const lse = new Float64Array(2 * outer * inner);
  const xd = x.data;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * size * inner + j;
      let m = -Infinity;
      for (let s = 0; s < size; s++) {
        const v = xd[base + s * inner]!;
        if (v > m || v !== v) m = v;
      }
      let acc = 0;
      for (let s = 0; s < size; s++) acc += Math.exp(xd[base + s * inner]! - m);
      const tail = Math.log(acc);
      const lane = 2 * (o * inner + j);
      if (Math.abs(m) < FUSED_LSE_LIMIT) {
        lse[lane] = m + tail;
        lse[lane + 1] = 0;
      } else {
        lse[lane] = m;
        lse[lane + 1] = tail;
      }
    }
  }
  return { lse, outer, size, inner };
}

function checkDim(dim: unknown, op: string): asserts dim is number {
  if (typeof dim !== "number") throw new TypeError(`${op}: dim must be a number, got ${typeof dim}`);
}

/** Softmax along `dim`: `exp((x − max) − log Σ exp(x − max))`, stable for any magnitude. */
export function softmax(x: Tensor, dim: number): Tensor {
  checkTensor(x, "softmax");
  checkDim(dim, "softmax");
  const { lse, outer, size, inner } = rowLse(x, dim, "softmax");
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
  return recordOp("softmax", out, x.shape, [x], (g) => {
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
  });
}

/** Log-softmax along `dim`: `(x − max) − log Σ exp(x − max)`, as PyTorch; never `log(softmax(x))`. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  checkTensor(x, "logSoftmax");
  checkDim(dim, "logSoftmax");
  const { lse, outer, size, inner } = rowLse(x, dim, "logSoftmax");
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
  return recordOp("logSoftmax", out, x.shape, [x], (g) => {
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
  });
}
