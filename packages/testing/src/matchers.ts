// The toBeAllClose matcher: element-wise |a − b| <= atol + rtol·|b| over tensors, typed arrays or nested arrays,
// shapes compared whenever one side is a tensor and the other has a shape.

/** A tensor, recognised by shape (this package depends on no other, so that every package's tests can use it). */
interface TensorLike {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

function isTensor(x: unknown): x is TensorLike {
  return typeof x === "object" && x !== null && (x as TensorLike).data instanceof Float32Array && Array.isArray((x as TensorLike).shape);
}

/** Tolerances of toBeAllClose (defaults 1e-5 and 1e-4, float32 against a float64 reference). */
export interface CloseOptions {
  readonly atol?: number;
  readonly rtol?: number;
}

/** A shaped list of values such as the goldens' tensors: `{ shape, data }` with `data` row-major. */
interface ShapedLike {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

function isShaped(x: unknown): x is ShapedLike {
  return typeof x === "object" && x !== null && !Array.isArray(x) && Array.isArray((x as ShapedLike).shape)
    && typeof (x as ShapedLike).data === "object";
}

type Numeric = TensorLike | ShapedLike | ArrayLike<number> | number | readonly unknown[];

/** The shape of rectangular nested arrays (`[[1, 2], [3, 4]]` → [2, 2]), or null for ragged ones. */
function nestedShape(x: readonly unknown[]): number[] | null {
  const first = x[0];
  if (!Array.isArray(first)) return [x.length];
  const inner = nestedShape(first);
  if (inner === null) return null;
  for (const row of x) {
    const s = Array.isArray(row) ? nestedShape(row) : null;
    if (s === null || s.join() !== inner.join()) return null;
  }
  return [x.length, ...inner];
}

/**
 * The values, and the shape when the value carries one: a tensor, a `{ shape, data }`, a number (`[]`), or nested
 * arrays of two or more levels. A flat list (a typed array, or `number[]`) has none: it is compared by values only.
 */
function flat(x: Numeric): { values: number[]; shape: string | null; count: string } {
  const text = (shape: readonly number[]): string => `[${shape.join(", ")}]`;
  if (isTensor(x) || isShaped(x)) return { values: Array.from(x.data), shape: text(x.shape), count: text(x.shape) };
  if (typeof x === "number") return { values: [x], shape: "[]", count: "[]" };
  if (Array.isArray(x)) {
    const values = (x as unknown[]).flat(Infinity as 1) as number[];
    const shape = Array.isArray(x[0]) ? nestedShape(x) : null;
    return { values, shape: shape === null ? null : text(shape), count: `(${values.length} values)` };
  }
  const values = Array.from(x as ArrayLike<number>);
  return { values, shape: null, count: `(${values.length} values)` };
}

/** Compares two numeric things; returns a message for the first mismatches, or null when all are close. */
export function allCloseMessage(actual: Numeric, expected: Numeric, options: CloseOptions = {}): string | null {
  const { atol = 1e-5, rtol = 1e-4 } = options;
  const a = flat(actual);
  const e = flat(expected);
  // Whenever one side is a tensor, shapes are compared as soon as the other side has one.
  if ((isTensor(actual) || isTensor(expected)) && a.shape !== null && e.shape !== null && a.shape !== e.shape) {
    return `shape ${a.shape} differs from expected ${e.shape}`;
  }
  if (a.values.length !== e.values.length) return `${a.count} holds ${a.values.length} values, expected ${e.values.length} (${e.count})`;
  const bad: string[] = [];
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i]!;
    const y = e.values[i]!;
    const same = Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
    if (!same && !(Math.abs(x - y) <= atol + rtol * Math.abs(y))) bad.push(`[${i}] ${x} vs ${y}`);
  }
  if (bad.length === 0) return null;
  return `${bad.length} of ${a.values.length} values differ beyond atol ${atol}, rtol ${rtol}: ${bad.slice(0, 8).join(", ")}`;
}

/**
 * Whether two float32 arrays hold the same bits, element for element (NaN payloads and the sign of zero included),
 * reading each array's own bytes: a view of a larger buffer (tensor storage in the shared heap) is compared alone.
 */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}
