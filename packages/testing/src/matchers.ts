// The toBeAllClose matcher: element-wise |a − b| <= atol + rtol·|b| over tensors, typed arrays or nested arrays.

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

type Numeric = TensorLike | ArrayLike<number> | number | readonly unknown[];

function flat(x: Numeric): { values: number[]; shape: string } {
  if (isTensor(x)) return { values: Array.from(x.data), shape: `[${x.shape.join(", ")}]` };
  if (typeof x === "number") return { values: [x], shape: "[]" };
  if (Array.isArray(x)) {
    const values = (x as unknown[]).flat(Infinity as 1) as number[];
    return { values, shape: `(${values.length} values)` };
  }
  return { values: Array.from(x as ArrayLike<number>), shape: `(${(x as ArrayLike<number>).length} values)` };
}

/** Compares two numeric things; returns a message for the first mismatches, or null when all are close. */
export function allCloseMessage(actual: Numeric, expected: Numeric, options: CloseOptions = {}): string | null {
  const { atol = 1e-5, rtol = 1e-4 } = options;
  const a = flat(actual);
  const e = flat(expected);
  if (isTensor(actual) && isTensor(expected) && a.shape !== e.shape) {
    return `shape ${a.shape} differs from expected ${e.shape}`;
  }
  if (a.values.length !== e.values.length) return `${a.values.length} values, expected ${e.values.length}`;
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
