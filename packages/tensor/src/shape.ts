// Shape arithmetic: sizes, strides, broadcasting, dimension normalisation and formatting for messages.
import { ShapeError } from "./errors.js";

/** A tensor shape: sizes from the outermost to the innermost dimension. */
export type Shape = readonly number[];

/** Number of elements of a tensor of this shape (1 for a scalar `[]`). */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** `[2, 3]` — how shapes appear in every message. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy/PyTorch broadcasting of two shapes; throws a ShapeError naming `op` and both shapes. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together ` +
          `(size ${da} vs ${db} at dimension ${i - n})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** How a user-given value appears in a message: numbers as they are, arrays in brackets, strings quoted. */
export function describeValue(x: unknown): string {
  if (typeof x === "number") return String(x);
  if (typeof x === "string") return JSON.stringify(x);
  if (Array.isArray(x)) return `[${x.map(describeValue).join(", ")}]`;
  if (x === null) return "null";
  return typeof x;
}

/** Maps a possibly negative `dim` into [0, ndim); throws a ShapeError naming `op` when it is out of range. */
export function normalizeDim(dim: number, ndim: number, op: string): number {
  if (!Number.isInteger(dim)) throw new TypeError(`${op}: dim must be an integer, got ${describeValue(dim)}`);
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (dim < lo || dim > hi) {
    throw new ShapeError(`${op}: dim ${dim} is out of range for a tensor of ${ndim} dimensions`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** Normalises `dim` (a number, an array, or undefined for all dims) into a sorted, duplicate-free list. */
export function normalizeDims(dim: number | readonly number[] | undefined, ndim: number, op: string): number[] {
  if (dim === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dim === "number" ? [dim] : dim;
  const seen = new Set<number>();
  for (const d of list) {
    const nd = ndim === 0 ? (normalizeDim(d, 0, op), -1) : normalizeDim(d, ndim, op);
    if (nd < 0) continue;
    if (seen.has(nd)) throw new ShapeError(`${op}: dim ${nd} appears multiple times in the list of dims`);
    seen.add(nd);
  }
  return [...seen].sort((x, y) => x - y);
}

/** Shape after reducing `dims` (sorted, normalised), keeping them as size 1 when `keepdim`. */
export function reducedShape(shape: Shape, dims: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (dims.includes(i)) {
      if (keepdim) out.push(1);
    } else out.push(shape[i]!);
  }
  return out;
}

/** Checks that every entry of a user-given shape is a non-negative integer. */
export function checkShape(shape: Shape, op: string): void {
  if (!Array.isArray(shape)) throw new TypeError(`${op}: shape must be an array of integers, got ${describeValue(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: shape must hold non-negative integers, got ${describeValue(shape)}`);
    }
  }
}
