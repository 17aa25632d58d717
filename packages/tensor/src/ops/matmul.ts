// matmul with torch.matmul's rules (1-D, 2-D, broadcast batches) and its gradient, on the gemm kernel.
import { takeZeros } from "../pool.js";
import { defineOp } from "../autograd.js";
import { ShapeError } from "../errors.js";
import { broadcastShapes, describeValue, formatShape, numel, sameShape, stridesOf } from "../shape.js";
import { gemm } from "../compute.js";
import { sumToShape } from "../kernels/reduce.js";
import { Tensor } from "../tensor.js";

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
  if (a.ndim <= 2 && b.ndim <= 2) return matmul2d(a, b, m, k, n);
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
  return defineOp({ name: "matmul", inputs: [a, b], output: out, shape: outShape, backward: (g, needs) => {
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
  } });
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

/** A·B for operands of at most 2 dims ([m, k] or [k], [k, n] or [k]); a 1-D operand's dim is not in the result. */
function matmul2d(a: Tensor, b: Tensor, m: number, k: number, n: number): Tensor {
  const out = takeZeros(m * n);
  gemm(m, n, k, a.data, 0, false, b.data, 0, false, out, 0);
  const shape = a.ndim === 1 ? (b.ndim === 1 ? [] : [n]) : b.ndim === 1 ? [m] : [m, n];
  return defineOp({ name: "matmul", inputs: [a, b], output: out, shape, backward: (g, needs) => {
    let ga: Float32Array | null = null;
    let gb: Float32Array | null = null;
    if (needs[0]) {
      ga = takeZeros(m * k);
      gemm(m, k, n, g, 0, false, b.data, 0, true, ga, 0); // dA = dC·Bᵀ, B read in place
    }
    if (needs[1]) {
      gb = takeZeros(k * n);
      gemm(k, n, m, a.data, 0, true, g, 0, false, gb, 0); // dB = Aᵀ·dC, A read in place
    }
    return [ga, gb];
  } });
}
