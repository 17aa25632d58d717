// Fused, stable cross-entropy and NLL losses (one graph node each) with PyTorch's semantics and error messages.
import { Tensor, ShapeError, defineOp, formatShape } from "@tsgrad/tensor";
import { laneLogSumExp, releaseArray, sameShape, takeArray, takeFloat64, takeInt32, takeZeros } from "@tsgrad/tensor/internal";

/** How a loss reduces its per-element values: PyTorch's `reduction`. */
export type Reduction = "mean" | "sum" | "none";

/**
 * Class-index targets: a `Tensor` of whole numbers, flat integers in any array or typed array (read in the target's
 * expected shape), or one number for an unbatched `[C]` input.
 */
export type ClassTarget = Tensor | Int32Array | Uint8Array | readonly number[] | ArrayLike<number> | number;

/** Options of {@link nllLoss}. */
export interface NllLossOptions {
  /** A manual rescaling weight per class, `[C]`: a `Tensor` or plain numbers (default: all ones). */
  readonly weight?: Tensor | ArrayLike<number> | null;
  /** Target value that contributes nothing to the loss nor to the denominator (default −100). */
  readonly ignoreIndex?: number;
  /** `"mean"` (default), `"sum"` or `"none"`. */
  readonly reduction?: Reduction;
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions extends NllLossOptions {
  /** ε in [0, 1]: the target becomes (1−ε)·one-hot + ε/C (default 0). */
  readonly labelSmoothing?: number;
}

/** The layout of a loss input `[C]`, `[N, C]` or `[N, C, d1, ...]`: element (n, c, s) is at (n·C + c)·inner + s. */
interface Layout {
  readonly n: number;
  readonly c: number;
  readonly inner: number;
  /** Shape of the per-row loss (`[]`, `[N]` or `[N, d1, ...]`), also the shape class indices must have. */
  readonly rowShape: readonly number[];
}

function layoutOf(input: unknown, op: string): Layout & { input: Tensor } {
  if (!(input instanceof Tensor)) throw new TypeError(`${op}: expected input to be a Tensor, got ${describe(input)}`);
  if (input.ndim < 1) throw new ShapeError(`${op}: Expected 1 or more dimensions (got 0)`);
  if (input.ndim === 1) return { input, n: 1, c: input.shape[0]!, inner: 1, rowShape: [] };
  const rest = input.shape.slice(2);
  const inner = rest.reduce((a, d) => a * d, 1);
  return { input, n: input.shape[0]!, c: input.shape[1]!, inner, rowShape: [input.shape[0]!, ...rest] };
}

function describe(x: unknown): string {
  return x === null ? "null" : Array.isArray(x) ? "an array" : typeof x;
}

/** The reduction, checked (`<op>: avg is not a valid value for reduction` otherwise): every loss uses it. */
export function checkReduction(reduction: unknown, op: string): Reduction {
  if (reduction === "mean" || reduction === "sum" || reduction === "none") return reduction;
  throw new RangeError(`${op}: ${String(reduction)} is not a valid value for reduction`);
}

function checkWeight(given: Tensor | ArrayLike<number> | null | undefined, c: number, op: string): Float32Array | null {
  if (given === undefined || given === null) return null;
  const weight = given instanceof Tensor ? given : isNumbers(given) ? new Tensor(Float32Array.from(given), [given.length]) : null;
  if (weight === null) throw new TypeError(`${op}: weight must be a Tensor, numbers or null, got ${describe(given)}`);
  if (weight.ndim !== 1 || weight.numel !== c) {
    throw new ShapeError(
      `${op}: weight tensor should be defined either for all ${c} classes or no classes ` +
        `but got weight tensor of shape: ${formatShape(weight.shape)}`,
    );
  }
  return weight.data;
}

/** Plain numbers: an array or a typed array (not a DataView, not a string). */
function isNumbers(x: unknown): x is ArrayLike<number> {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

/** Validates class indices against the layout: shapes as PyTorch's nll_loss, whole numbers, in [0, C) or ignored. */
function classIndices(target: ClassTarget, lay: Layout, ignoreIndex: number, op: string, inputShape: readonly number[]): Int32Array {
  let values: ArrayLike<number>;
  if (target instanceof Tensor) {
    const ts = target.shape;
    if (lay.rowShape.length === 0) {
      if (ts.length !== 0) {
        throw new ShapeError(`${op}: size mismatch (got input: ${formatShape(inputShape)}, target: ${formatShape(ts)})`);
      }
    } else {
      if (ts.length === 0 || ts[0] !== lay.n) {
        throw new ShapeError(`${op}: Expected input batch size (${lay.n}) to match target batch size (${ts[0] ?? 0}).`);
      }
      if (lay.rowShape.length === 1 && ts.length !== 1) {
        throw new ShapeError(`${op}: 0D or 1D target tensor expected, multi-target not supported (got target ${formatShape(ts)})`);
      }
      if (!sameShape(ts, lay.rowShape)) {
        throw new ShapeError(`${op}: Expected target size ${formatShape(lay.rowShape)}, got ${formatShape(ts)}`);
      }
    }
    values = target.data;
  } else if (typeof target === "number" || isNumbers(target)) {
    if (typeof target === "number") target = [target];
    const rows = lay.n * lay.inner;
    if (target.length !== rows) {
      throw new ShapeError(
        lay.rowShape.length === 1
          ? `${op}: Expected input batch size (${lay.n}) to match target batch size (${target.length}).`
          : `${op}: expected ${rows} class indices (target shape ${formatShape(lay.rowShape)}), got ${target.length}`,
      );
    }
    values = target as ArrayLike<number>;
  } else {
    throw new TypeError(`${op}: expected target to be a Tensor, class indices (an array or typed array) or a number, got ${describe(target)}`);
  }
  const out = takeInt32(values.length);
  for (let i = 0; i < values.length; i++) {
    const y = values[i]!;
    if (typeof y !== "number" || !Number.isInteger(y)) {
      throw new TypeError(`${op}: expected class indices (whole numbers) as target, got ${String(y)} at index ${i}`);
    }
    if (y !== ignoreIndex && (y < 0 || y >= lay.c)) throw new RangeError(`${op}: Target ${y} is out of bounds.`);
    out[i] = y;
  }
  return out;
}

/** The upstream factor of row r: `g[r]` for "none", `g[0] / denom` for "mean", `g[0]` for "sum". */
function upstream(g: Float32Array, r: number, reduction: Reduction, denom: number): number {
  return reduction === "none" ? g[r]! : reduction === "mean" ? g[0]! / denom : g[0]!;
}

/** Reduces per-row losses: "none" keeps them, "sum" adds them, "mean" divides the sum by `denom`. Frees `rows`. */
function reduce(rows: Float64Array, reduction: Reduction, denom: number): Float32Array {
  let out: Float32Array;
  if (reduction === "none") {
    out = takeArray(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = rows[i]!;
  } else {
    let s = 0;
    for (let i = 0; i < rows.length; i++) s += rows[i]!;
    out = takeArray(1);
    out[0] = reduction === "sum" ? s : s / denom;
  }
  releaseArray(rows);
  return out;
}

/**
 * Cross-entropy between logits and targets, as `torch.nn.functional.cross_entropy`, fused into one graph node.
 *
 * - `input`: `[N, C]`, unbatched `[C]`, or `[N, C, d1, ...]` (classes on dim 1).
 * - `target`: class indices of shape `[N]` / `[]` / `[N, d1, ...]` (a Tensor of whole numbers, or a flat
 *   `Int32Array` / `Uint8Array` / `number[]` read in that shape), or class probabilities (a Tensor of the input's shape).
 * - `"mean"` divides by the summed weights of the targets that are not ignored (NaN when all are ignored), or by the
 *   number of rows for probability targets. Label smoothing ε gives `(1−ε)·NLL + ε/C·Σ_c w_c·(−log p_c)` with ignored
 *   rows masked and the same denominator (PyTorch ≥ 1.10).
 *
 * One pass per row computes the max, the log-sum-exp and the loss (`−log p = log Σ − (z − max)`, as PyTorch: stable
 * for any logit magnitude); the backward writes `(softmax − smoothed one-hot)·weight·upstream/denominator` straight
 * into the input's gradient.
 *
 * ```ts
 * const loss = crossEntropy(logits, [3, 0, 9], { labelSmoothing: 0.1 }); // logits [3, 10] → scalar
 * loss.backward();
 * ```
 */
export function crossEntropy(input: Tensor, target: ClassTarget, options: CrossEntropyOptions = {}): Tensor {
  const op = "crossEntropy";
  const lay = layoutOf(input, op);
  const { ignoreIndex = -100, labelSmoothing = 0 } = options;
  const reduction = checkReduction(options.reduction ?? "mean", op);
  const w = checkWeight(options.weight, lay.c, op);
  if (typeof labelSmoothing !== "number" || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new RangeError(`${op}: labelSmoothing must be between 0.0 and 1.0. Got: ${String(labelSmoothing)}`);
  }
  if (!Number.isInteger(ignoreIndex)) throw new TypeError(`${op}: ignoreIndex must be an integer, got ${String(ignoreIndex)}`);
  if (target instanceof Tensor && sameShape(target.shape, input.shape)) {
    if (ignoreIndex >= 0) throw new RangeError(`${op}: ignoreIndex is not supported for floating point target`);
    return crossEntropyProbs(input, target, lay, w, reduction, labelSmoothing);
  }
  const y = classIndices(target, lay, ignoreIndex, op, input.shape);
  return crossEntropyIndices(input, y, lay, w, ignoreIndex, reduction, labelSmoothing);
}

function crossEntropyIndices(
  input: Tensor, y: Int32Array, lay: Layout, w: Float32Array | null, ignoreIndex: number, reduction: Reduction, eps: number,
): Tensor {
  const { n, c, inner } = lay;
  const z = input.data;
  const lse = laneLogSumExp(z, lay.n, lay.c, lay.inner);
  const rows = takeFloat64(n * inner).fill(0);
  let wSum = 0; // Σ_c w_c, for the smoothing term
  for (let k = 0; k < c; k++) wSum += w === null ? 1 : w[k]!;
  let denom = 0; // Σ w_y over the targets that are not ignored
  for (let b = 0; b < n; b++) {
    for (let s = 0; s < inner; s++) {
      const r = b * inner + s;
      const t = y[r]!;
      if (t === ignoreIndex) continue;
      const base = b * c * inner + s;
      const shift = lse[2 * r]!;
      const tail = lse[2 * r + 1]!;
      const wy = w === null ? 1 : w[t]!;
      denom += wy;
      // −log p_y = tail − (z_y − shift), the same number as (m + log Σ) − z_y when tail is 0.
      let loss = wy * (tail - (z[base + t * inner]! - shift));
      if (eps > 0) {
        let smooth = 0;
        for (let k = 0; k < c; k++) smooth += (w === null ? 1 : w[k]!) * (tail - (z[base + k * inner]! - shift));
        loss = (1 - eps) * loss + (eps / c) * smooth;
      }
      rows[r] = loss;
    }
  }
  return defineOp({
    name: "crossEntropy",
    inputs: [input],
    output: reduce(rows, reduction, denom),
    shape: reduction === "none" ? lay.rowShape : [],
    saved: [y, lse],
    // dz_c = u·[p_c·((1−ε)·w_y + ε/C·Σw) − (1−ε)·w_y·[c = y] − ε/C·w_c], p = softmax(z); ignored rows get 0.
    backward: (g) => {
      const gz = takeZeros(z.length); // ignored rows stay 0
      for (let b = 0; b < n; b++) {
        for (let s = 0; s < inner; s++) {
          const r = b * inner + s;
          const t = y[r]!;
          if (t === ignoreIndex) continue;
          const u = upstream(g, r, reduction, denom);
          const base = b * c * inner + s;
          const shift = lse[2 * r]!;
          const tail = lse[2 * r + 1]!;
          const wy = (1 - eps) * (w === null ? 1 : w[t]!);
          const pScale = wy + (eps / c) * wSum;
          for (let k = 0; k < c; k++) {
            const i = base + k * inner;
            const target = (k === t ? wy : 0) + (eps / c) * (w === null ? 1 : w[k]!);
            gz[i] = u * (Math.exp(z[i]! - shift - tail) * pScale - target);
          }
        }
      }
      return [gz];
    },
  });
}

function crossEntropyProbs(
  input: Tensor, target: Tensor, lay: Layout, w: Float32Array | null, reduction: Reduction, eps: number,
): Tensor {
  const { n, c, inner } = lay;
  const z = input.data;
  const td = target.data;
  const lse = laneLogSumExp(z, lay.n, lay.c, lay.inner);
  const rows = takeFloat64(n * inner).fill(0);
  const smoothed = (i: number): number => td[i]! * (1 - eps) + eps / c;
  for (let b = 0; b < n; b++) {
    for (let s = 0; s < inner; s++) {
      const r = b * inner + s;
      const base = b * c * inner + s;
      const shift = lse[2 * r]!;
      const tail = lse[2 * r + 1]!;
      let loss = 0;
      for (let k = 0; k < c; k++) {
        const i = base + k * inner;
        loss += (w === null ? 1 : w[k]!) * smoothed(i) * (tail - (z[i]! - shift));
      }
      rows[r] = loss;
    }
  }
  const denom = n * inner;
  const shape = reduction === "none" ? lay.rowShape : [];
  return defineOp({
    name: "crossEntropy",
    inputs: target.requiresGrad ? [input, target] : [input],
    output: reduce(rows, reduction, denom),
    shape,
    saved: [lse],
    // dz_c = u·(p_c·Σ_k w_k·t'_k − w_c·t'_c) and dt_c = u·(1−ε)·w_c·(lse − z_c), with t' = (1−ε)·t + ε/C.
    backward: (g, needs) => {
      const gz = needs[0] ? takeArray(z.length) : null; // every element is written
      const gt = needs[1] === true ? takeArray(z.length) : null;
      for (let b = 0; b < n; b++) {
        for (let s = 0; s < inner; s++) {
          const r = b * inner + s;
          const u = upstream(g, r, reduction, denom);
          const base = b * c * inner + s;
          const shift = lse[2 * r]!;
          const tail = lse[2 * r + 1]!;
          let mass = 0;
          for (let k = 0; k < c; k++) mass += (w === null ? 1 : w[k]!) * smoothed(base + k * inner);
          for (let k = 0; k < c; k++) {
            const i = base + k * inner;
            const wk = w === null ? 1 : w[k]!;
            if (gz !== null) gz[i] = u * (Math.exp(z[i]! - shift - tail) * mass - wk * smoothed(i));
            if (gt !== null) gt[i] = u * (1 - eps) * wk * (tail - (z[i]! - shift));
          }
        }
      }
      return target.requiresGrad ? [gz, gt] : [gz];
    },
  });
}

/**
 * Negative log-likelihood of log-probabilities (`torch.nn.functional.nll_loss`), one graph node: `loss = −w_y·x_y`
 * per row; `"mean"` divides by the summed weights of the targets that are not ignored (NaN when all are ignored).
 * Shapes as {@link crossEntropy} with class-index targets.
 *
 * ```ts
 * const loss = nllLoss(logits.logSoftmax(1), [1, 0]);
 * ```
 */
export function nllLoss(input: Tensor, target: ClassTarget, options: NllLossOptions = {}): Tensor {
  const op = "nllLoss";
  const lay = layoutOf(input, op);
  const { ignoreIndex = -100 } = options;
  const reduction = checkReduction(options.reduction ?? "mean", op);
  const w = checkWeight(options.weight, lay.c, op);
  if (!Number.isInteger(ignoreIndex)) throw new TypeError(`${op}: ignoreIndex must be an integer, got ${String(ignoreIndex)}`);
  const y = classIndices(target, lay, ignoreIndex, op, input.shape);
  const { n, c, inner } = lay;
  const x = input.data;
  const count = n * inner;
  const rows = takeFloat64(count).fill(0);
  let denom = 0;
  for (let r = 0; r < count; r++) {
    const t = y[r]!;
    if (t === ignoreIndex) continue;
    const wy = w === null ? 1 : w[t]!;
    denom += wy;
    rows[r] = -wy * x[(Math.floor(r / inner) * c + t) * inner + (r % inner)]!;
  }
  return defineOp({
    name: "nllLoss",
    inputs: [input],
    output: reduce(rows, reduction, denom),
    shape: reduction === "none" ? lay.rowShape : [],
    saved: [y],
    // dx_{r,y} = −w_y·u; every other element 0.
    backward: (g) => {
      const gx = takeZeros(x.length);
      for (let r = 0; r < count; r++) {
        const t = y[r]!;
        if (t === ignoreIndex) continue;
        const wy = w === null ? 1 : w[t]!;
        gx[(Math.floor(r / inner) * c + t) * inner + (r % inner)] = -wy * upstream(g, r, reduction, denom);
      }
      return [gx];
    },
  });
}
