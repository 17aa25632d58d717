// matmul with torch.matmul's rules (1-D, 2-D, broadcast batches) and its gradient, on the gemm kernel.
import { takeZeros } from "../pool.js";
import { recordOp } from "../autograd.js";
import { ShapeError } from "../errors.js";
import { broadcastShapes, describeValue, formatShape, numel, sameShape, stridesOf } from "../shape.js";
import { gemm } from "../compute.js";
import { sumToShape } from "../kernels/reduce.js";
import { Tensor } from "../tensor.js";
import { transposeSource } from "./movement.js";

/**
 * Matrix product with `torch.matmul`'s rules: 1-D·1-D is a dot product, a 1-D left (right) operand is a row (column)
 * vector whose dim is removed from the result, and leading batch dims broadcast.
 * Shapes: [..., m, k] · [..., k, n] → [..., m, n].
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (!(a instanceof Tensor)) throw new TypeError(`matmul: expected a Tensor, got ${describeValue(a)}`);
  if (!(b instanceof Tensor)) throw new TypeError(`matmul: expected a Tensor as the other operand, got ${describeValue(b)}`);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(
      `matmul: expected tensors of at least 1 dimension, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  if (a.ndim === 2 && b.ndim === 2) {
    // x·wᵀ (or aᵀ·b) on a tensor made by t(): read the source with a transpose flag, send its gradient there.
    const sa = storedTranspose(a);
    const sb = storedTranspose(b);
    if (sa !== undefined || sb !== undefined) return matmul2d(sa ?? a, sa !== undefined, sb ?? b, sb !== undefined);
  }
  const aS = a.ndim === 1 ? [1, a.shape[0]!] : a.shape;
  const bS = b.ndim === 1 ? [b.shape[0]!, 1] : b.shape;
  const m = aS[aS.length - 2]!;
  const k = aS[aS.length - 1]!;
  const n = bS[bS.length - 1]!;
  if (bS[bS.length - 2] !== k) {
    const left = a.ndim === 1 ? "[k]" : a.ndim === 2 ? "[m, k]" : "[..., m, k]";
    const right = b.ndim === 1 ? "[k]" : b.ndim === 2 ? "[k, n]" : "[..., k, n]";
    throw new ShapeError(`matmul: expected shapes ${left} and ${right}, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  if (a.ndim <= 2 && b.ndim <= 2) {
    const t = matmul2d(new Tensor(a.data, aS), false, new Tensor(b.data, bS), false, a, b);
    return t;
  }
  const aB = aS.slice(0, -2);
  const bB = bS.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(aB, bB, "matmul");
  } catch {
    throw new ShapeError(
      `matmul: batch dims ${formatShape(aB)} and ${formatShape(bB)} of ${formatShape(a.shape)} and ` +
        `${formatShape(b.shape)} cannot be broadcast together`,
    );
  }
  const outShape = [...batch, ...(a.ndim === 1 ? [] : [m]), ...(b.ndim === 1 ? [] : [n])];
  const count = numel(batch);
  const aOffs = batchOffsets(aB, batch, m * k);
  const bOffs = batchOffsets(bB, batch, k * n);
  const out = takeZeros(count * m * n);
  for (let t = 0; t < count; t++) gemm(m, n, k, a.data, aOffs[t]!, false, b.data, bOffs[t]!, false, out, t * m * n);
  return recordOp("matmul", out, outShape, [a, b], (g, needs) => {
    let ga: Float32Array | null = null;
    let gb: Float32Array | null = null;
    if (needs[0]) {
      // dA = dC · Bᵀ per batch, summed over broadcast batch dims.
      const full = takeZeros(count * m * k);
      for (let t = 0; t < count; t++) gemm(m, k, n, g, t * m * n, false, b.data, bOffs[t]!, true, full, t * m * k);
      ga = sameShape(aB, batch) ? full : sumToShape(full, [...batch, m, k], aS);
    }
    if (needs[1]) {
      // dB = Aᵀ · dC per batch, summed over broadcast batch dims.
      const full = takeZeros(count * k * n);
      for (let t = 0; t < count; t++) gemm(k, n, m, a.data, aOffs[t]!, true, g, t * m * n, false, full, t * k * n);
      gb = sameShape(bB, batch) ? full : sumToShape(full, [...batch, k, n], bS);
    }
    return [ga, gb];
  });
}

/**
 * The tensor that `x` (made by `transpose`/`t()`) transposes, when reading it in place with a transpose flag gives the
 * same values and gradients as using `x`: either `x` was recorded as the transpose of that source (the gradient may
 * skip the transpose node and go to the source), or `x` is a constant (the source is read without its graph, so no
 * gradient leaks to it when the transpose was made under `noGrad`). A transposed leaf that requires grad is used as is.
 */
function storedTranspose(x: Tensor): Tensor | undefined {
  const source = transposeSource.get(x);
  if (source === undefined) return undefined;
  if (x.gradFn !== null) return x.gradFn.inputs[0] === source ? source : undefined;
  return x.requiresGrad ? undefined : source.detach();
}

/** Offset of each batch's matrix in an operand whose batch dims `shape` broadcast to `batch`. */
function batchOffsets(shape: readonly number[], batch: readonly number[], matrix: number): Int32Array {
  const count = numel(batch);
  const offs = new Int32Array(count);
  const str = stridesOf(shape);
  const lead = batch.length - shape.length;
  const bstr = stridesOf(batch);
  for (let t = 0; t < count; t++) {
    let off = 0;
    for (let d = lead; d < batch.length; d++) {
      const idx = Math.floor(t / bstr[d]!) % batch[d]!;
      if (shape[d - lead] !== 1) off += idx * str[d - lead]!;
    }
    offs[t] = off * matrix;
  }
  return offs;
}

/**
 * op(A)·op(B) for 2-D operands stored as given (transposed when the flag is set), recording the gradient for the
 * stored tensors (or for `gradA`/`gradB`, same data under the caller's shapes). Both gradient products read their
 * operands in place through transpose flags.
 */
function matmul2d(a: Tensor, transA: boolean, b: Tensor, transB: boolean, gradA: Tensor = a, gradB: Tensor = b): Tensor {
  const m = transA ? a.shape[1]! : a.shape[0]!;
  const k = transA ? a.shape[0]! : a.shape[1]!;
  const kb = transB ? b.shape[1]! : b.shape[0]!;
  const n = transB ? b.shape[0]! : b.shape[1]!;
  if (k !== kb) {
    const shapeA = transA ? [m, k] : a.shape;
    const shapeB = transB ? [kb, n] : b.shape;
    throw new ShapeError(`matmul: expected shapes [m, k] and [k, n], got ${formatShape(shapeA)} and ${formatShape(shapeB)}`);
  }
  const out = takeZeros(m * n);
  gemm(m, n, k, a.data, 0, transA, b.data, 0, transB, out, 0);
  const shape = gradA.ndim === 1 ? (gradB.ndim === 1 ? [] : [n]) : gradB.ndim === 1 ? [m] : [m, n];
  return recordOp("matmul", out, shape, [gradA, gradB], (g, needs) => {
    let ga: Float32Array | null = null;
    let gb: Float32Array | null = null;
    if (needs[0]) {
      ga = takeZeros(m * k);
      // dA = dC·op(B)ᵀ (stored [m, k]); with transA the stored A is [k, m], so dAstored = op(B)·dCᵀ.
      if (transA) gemm(k, m, n, b.data, 0, transB, g, 0, true, ga, 0);
      else gemm(m, k, n, g, 0, false, b.data, 0, !transB, ga, 0);
    }
    if (needs[1]) {
      gb = takeZeros(k * n);
      // dB = op(A)ᵀ·dC (stored [k, n]); with transB the stored B is [n, k], so dBstored = dCᵀ·op(A).
      if (transB) gemm(n, k, m, g, 0, true, a.data, 0, transA, gb, 0);
      else gemm(k, n, m, a.data, 0, !transA, g, 0, false, gb, 0);
    }
    return [ga, gb];
  });
}
