// Shape ops: reshape/view, flatten, squeeze, unsqueeze (sharing data), transpose/t/permute (contiguous copies), clone.
import { defineOp } from "../autograd.js";
import { ShapeError } from "../errors.js";
import { describeValue, formatShape, normalizeDim, numel } from "../shape.js";
import { permuteCopy } from "../kernels/elementwise.js";
import type { Tensor } from "../tensor.js";
import { checkTensor } from "./checks.js";


/** A tensor sharing `x`'s data under a new shape; the gradient passes through unchanged (no values saved). */
function sameData(x: Tensor, shape: readonly number[], op: string): Tensor {
  return defineOp({ name: op, inputs: [x], output: x.data, shape, savesValues: false, backward: (g) => [g] });
}

/** `x` with a new shape of the same size; one entry may be −1. */
export function reshape(x: Tensor, shape: readonly number[], op = "reshape"): Tensor {
  checkTensor(x, op);
  if (!Array.isArray(shape)) throw new TypeError(`${op}: shape must be an array of integers, got ${describeValue(shape)}`);
  let infer = -1;
  let known = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === -1) {
      if (infer >= 0) throw new ShapeError(`${op}: only one dimension can be inferred, got ${formatShape(shape)}`);
      infer = i;
    } else if (typeof d !== "number") {
      throw new TypeError(`${op}: shape must be an array of integers, got ${describeValue(shape)}`);
    } else if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: invalid shape dimension ${d} in ${formatShape(shape)}`);
    } else known *= d;
  }
  const out = [...shape];
  if (infer >= 0) {
    if (known === 0 || x.numel % known !== 0) {
      throw new ShapeError(`${op}: cannot reshape ${formatShape(x.shape)} (${x.numel} elements) into ${formatShape(shape)}`);
    }
    out[infer] = x.numel / known;
  } else if (known !== x.numel) {
    throw new ShapeError(
      `${op}: cannot reshape ${formatShape(x.shape)} (${x.numel} elements) into ${formatShape(shape)} (${known} elements)`,
    );
  }
  return sameData(x, out, op);
}

/** Flattens dims `startDim`…`endDim` (inclusive, negative allowed) into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor(x, "flatten");
  const s = normalizeDim(startDim, x.ndim, "flatten");
  const e = normalizeDim(endDim, x.ndim, "flatten");
  if (x.ndim === 0) return sameData(x, [1], "flatten");
  if (s > e) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${formatShape(x.shape)}`);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return sameData(x, shape, "flatten");
}

/** Removes every size-1 dim, or only `dim` when given (a no-op if that dim is not 1, as PyTorch). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  checkTensor(x, "squeeze");
  if (dim === undefined) return sameData(x, x.shape.filter((d) => d !== 1), "squeeze");
  const d = normalizeDim(dim, x.ndim, "squeeze");
  if (x.ndim === 0 || x.shape[d] !== 1) return sameData(x, x.shape, "squeeze");
  return sameData(x, x.shape.filter((_, i) => i !== d), "squeeze");
}

/** Inserts a size-1 dim at `dim` (in [−ndim−1, ndim]). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkTensor(x, "unsqueeze");
  if (Number.isInteger(dim) && (dim < -x.ndim - 1 || dim > x.ndim)) {
    throw new ShapeError(
      `unsqueeze: dim ${dim} is out of range for a tensor of ${x.ndim} dimensions (expected ${-x.ndim - 1} <= dim <= ${x.ndim})`,
    );
  }
  const d = normalizeDim(dim, x.ndim + 1, "unsqueeze");
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return sameData(x, shape, "unsqueeze");
}

/** Reorders dims by `dims` (a permutation, negatives allowed) into a contiguous copy. */
export function permute(x: Tensor, dims: readonly number[], op = "permute"): Tensor {
  checkTensor(x, op);
  if (!Array.isArray(dims) || dims.length !== x.ndim) {
    throw new ShapeError(
      `${op}: expected ${x.ndim} dims for a tensor of shape ${formatShape(x.shape)}, got ${describeValue(dims)}`,
    );
  }
  const perm = dims.map((d) => normalizeDim(d, x.ndim, op));
  if (new Set(perm).size !== perm.length) throw new ShapeError(`${op}: dims ${formatShape(dims)} repeat a dim`);
  const shape = perm.map((p) => x.shape[p]!);
  const out = permuteCopy(x.data, x.shape, perm);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  // The gradient is permuted back by the inverse permutation (no values saved).
  return defineOp({ name: op, inputs: [x], output: out, shape, savesValues: false, backward: (g) => [permuteCopy(g, shape, inverse)] });
}

/** Swaps `dim0` and `dim1`. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  checkTensor(x, "transpose");
  const a = normalizeDim(dim0, x.ndim, "transpose");
  const b = normalizeDim(dim1, x.ndim, "transpose");
  const perm = x.shape.map((_, i) => i);
  if (x.ndim > 0) [perm[a], perm[b]] = [perm[b]!, perm[a]!];
  return permute(x, perm, "transpose");
}

/** Transpose of a tensor of at most 2 dims (`t()`): 0-D and 1-D tensors are returned as they are. */
export function t(x: Tensor): Tensor {
  checkTensor(x, "t");
  if (x.ndim > 2) throw new ShapeError(`t: expected a tensor of at most 2 dims, got ${formatShape(x.shape)}`);
  return x.ndim < 2 ? sameData(x, x.shape, "t") : transpose(x, 0, 1);
}

/** A copy of the data; the gradient passes through (no values saved). */
export function clone(x: Tensor): Tensor {
  checkTensor(x, "clone");
  return defineOp({ name: "clone", inputs: [x], output: x.data.slice(), shape: x.shape, savesValues: false, backward: (g) => [g] });
}
