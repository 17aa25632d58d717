// Factories: tensor() validates and flattens user input once; zeros/ones/full/arange/rand/randn/randperm.
import { ShapeError } from "./errors.js";
import { newFloat32 } from "./pool.js";
import { checkShape, formatShape, numel, type Shape } from "./shape.js";
import { defaultGenerator, type Generator } from "./random.js";
import { Tensor, type NestedArray } from "./tensor.js";

/** Options of {@link tensor}. */
export interface TensorOptions {
  /** The shape of flat values (a `Float32Array` or any `ArrayLike<number>`); checked against nested arrays. */
  readonly shape?: readonly number[];
  /** Whether gradients flow to the new leaf (default false). */
  readonly requiresGrad?: boolean;
}

/** Options of the factories that take a shape. */
export interface FactoryOptions {
  readonly requiresGrad?: boolean;
}

/** Options of the random factories. */
export interface RandomOptions extends FactoryOptions {
  /** The generator to draw from (default: the one {@link manualSeed} seeds). */
  readonly generator?: Generator;
}

/**
 * A new leaf tensor from a number, nested arrays, a `Float32Array` or any `ArrayLike<number>` (copied).
 *
 * ```ts
 * tensor([[1, 2, 3], [4, 5, 6]]);                  // shape [2, 3]
 * tensor(new Float32Array(6), { shape: [2, 3], requiresGrad: true });
 * ```
 */
export function tensor(values: NestedArray | ArrayLike<number>, options: TensorOptions = {}): Tensor {
  const { shape, requiresGrad = false } = options;
  if (shape !== undefined) checkShape(shape, "tensor");
  let data: Float32Array;
  let inferred: number[];
  if (typeof values === "number") {
    data = new Float32Array([values]);
    inferred = [];
  } else if (Array.isArray(values)) {
    inferred = nestedShape(values);
    data = newFloat32(numel(inferred));
    flattenInto(values, inferred, 0, data, 0);
  } else if (values instanceof Float32Array || isArrayLike(values)) {
    const flat = values as ArrayLike<number>;
    if (!ArrayBuffer.isView(flat)) {
      for (let i = 0; i < flat.length; i++) {
        if (typeof flat[i] !== "number") throw new TypeError(`tensor: expected numbers, got ${typeName(flat[i])} at index ${i}`);
      }
    }
    data = newFloat32(flat.length);
    if (ArrayBuffer.isView(flat)) data.set(flat);
    else for (let i = 0; i < flat.length; i++) data[i] = flat[i]!;
    inferred = [data.length];
  } else {
    throw new TypeError(`tensor: expected a number, nested arrays or an array-like of numbers, got ${typeName(values)}`);
  }
  if (shape !== undefined) {
    if (numel(shape) !== data.length) {
      throw new ShapeError(
        `tensor: shape ${formatShape(shape)} holds ${numel(shape)} elements, but ${data.length} values were given`,
      );
    }
    inferred = [...shape];
  }
  return new Tensor(data, inferred, requiresGrad);
}

function typeName(x: unknown): string {
  return x === null ? "null" : typeof x === "object" ? (x.constructor?.name ?? "object") : typeof x;
}

function isArrayLike(x: unknown): x is ArrayLike<number> {
  return typeof x === "object" && x !== null && typeof (x as { length?: unknown }).length === "number";
}

/** Shape of nested arrays, from the first element at each depth; flattenInto checks the rest. */
function nestedShape(values: readonly NestedArray[]): number[] {
  const shape: number[] = [];
  let cur: NestedArray = values;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = (cur as readonly NestedArray[])[0]!;
  }
  return shape;
}

function flattenInto(v: NestedArray, shape: Shape, dim: number, out: Float32Array, offset: number): number {
  if (dim === shape.length) {
    if (Array.isArray(v)) throw new ShapeError(`tensor: expected numbers at nesting depth ${dim}, got an array (ragged nesting)`);
    if (typeof v !== "number") throw new TypeError(`tensor: expected numbers, got ${typeName(v)}`);
    out[offset] = v;
    return offset + 1;
  }
  if (typeof v === "number") {
    throw new ShapeError(`tensor: expected a sequence of length ${shape[dim]} at dim ${dim}, got a number (ragged nesting)`);
  }
  if (!Array.isArray(v)) throw new TypeError(`tensor: expected numbers, got ${typeName(v)}`);
  if (v.length !== shape[dim]) {
    throw new ShapeError(`tensor: expected sequence of length ${shape[dim]} at dim ${dim} (got ${v.length})`);
  }
  for (const item of v) offset = flattenInto(item, shape, dim + 1, out, offset);
  return offset;
}

function filled(shape: readonly number[], value: number, op: string, options: FactoryOptions): Tensor {
  checkShape(shape, op);
  return new Tensor(newFloat32(numel(shape)).fill(value), shape, options.requiresGrad ?? false);
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], options: FactoryOptions = {}): Tensor {
  return filled(shape, 0, "zeros", options);
}

/** A tensor of ones. */
export function ones(shape: readonly number[], options: FactoryOptions = {}): Tensor {
  return filled(shape, 1, "ones", options);
}

/** A tensor filled with `value`. */
export function full(shape: readonly number[], value: number, options: FactoryOptions = {}): Tensor {
  if (typeof value !== "number") throw new TypeError(`full: value must be a number, got ${typeof value}`);
  return filled(shape, value, "full", options);
}

/** Zeros of `like`'s shape. */
export function zerosLike(like: Tensor, options: FactoryOptions = {}): Tensor {
  return zeros(like.shape, options);
}

/** Ones of `like`'s shape. */
export function onesLike(like: Tensor, options: FactoryOptions = {}): Tensor {
  return ones(like.shape, options);
}

/**
 * Values from `start` (inclusive) to `end` (exclusive) by `step`, as `torch.arange`: `arange(5)` is 0…4,
 * `arange(1, 2, 0.25)` is 1, 1.25, 1.5, 1.75.
 */
export function arange(start: number, end?: number, step = 1, options: FactoryOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (![lo, hi, step].every(Number.isFinite)) throw new RangeError(`arange: expected finite bounds and step, got ${lo}, ${hi}, ${step}`);
  if (step === 0) throw new RangeError("arange: step must be nonzero");
  if ((hi - lo) / step < 0) throw new RangeError(`arange: upper bound and larger bound inconsistent with step sign (${lo}, ${hi}, ${step})`);
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const data = newFloat32(n);
  for (let i = 0; i < n; i++) data[i] = lo + i * step;
  return new Tensor(data, [n], options.requiresGrad ?? false);
}

/** Uniform samples in [0, 1) (`torch.rand`). */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShape(shape, "rand");
  const g = options.generator ?? defaultGenerator;
  const data = newFloat32(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = g.nextFloat();
  return new Tensor(data, shape, options.requiresGrad ?? false);
}

/** Standard normal samples (`torch.randn`). */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShape(shape, "randn");
  const g = options.generator ?? defaultGenerator;
  const data = newFloat32(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = g.nextNormal();
  return new Tensor(data, shape, options.requiresGrad ?? false);
}

/**
 * Uniform samples in [low, high) (`torch.empty(shape).uniform_(low, high)`): `low + (high − low)·u` for a 24-bit
 * uniform `u` (one draw of the generator per value, as PyTorch's float32 `uniform_`), rounded to float32. Where that
 * rounding would leave the range (e.g. `1 + (1 − 2⁻²⁴)` rounds to 2 in [1, 2); −1/28 itself rounds below −1/28) the
 * value is drawn again, so every value lies in [low, high) exactly; PyTorch keeps such values. `low = high` gives `low`.
 */
export function uniform(shape: readonly number[], low: number, high: number, options: RandomOptions = {}): Tensor {
  if (!(low <= high)) throw new RangeError(`uniform: expected low <= high, got ${low} and ${high}`);
  if (!Number.isFinite(low) || !Number.isFinite(high)) {
    throw new RangeError(`uniform: expected finite low and high, got ${low} and ${high}`);
  }
  checkShape(shape, "uniform");
  const g = options.generator ?? defaultGenerator;
  const width = high - low;
  if (!Number.isFinite(width)) throw new RangeError(`uniform: high − low overflows for ${low} and ${high}`);
  if (width > 0 && !(nextFloat32Up(low) < high)) throw new RangeError(`uniform: no float32 value lies in [${low}, ${high})`);
  const data = newFloat32(numel(shape));
  for (let i = 0; i < data.length; i++) {
    let v = Math.fround(low + width * g.nextFloat());
    while (width > 0 && (v >= high || v < low)) v = Math.fround(low + width * g.nextFloat());
    data[i] = v;
  }
  return new Tensor(data, shape, options.requiresGrad ?? false);
}

/** The smallest float32 value ≥ x (x finite). */
function nextFloat32Up(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  const bits = new Float32Array([f]);
  const u = new Int32Array(bits.buffer);
  u[0] = f > 0 ? u[0]! + 1 : f < 0 ? u[0]! - 1 : 1; // one step up: magnitude up if positive, down if negative
  return bits[0]!;
}

/** A random permutation of 0…n−1 (`torch.randperm`), as float values. */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`randperm: n must be a non-negative integer, got ${n}`);
  if (n > 16777216) {
    throw new RangeError(`randperm: n must be at most 2^24 = 16777216 (float32 holds larger integers inexactly), got ${n}`);
  }
  const g = options.generator ?? defaultGenerator;
  const idx = newFloat32(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  g.shuffle(idx);
  return new Tensor(idx, [n], options.requiresGrad ?? false);
}
