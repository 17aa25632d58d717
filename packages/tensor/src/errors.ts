// Error types thrown at the public boundary, and invariant() for internal failures.

/** A shape mismatch or an out-of-range dimension: the message names the op and both shapes. */
export class ShapeError extends Error {
  override name = "ShapeError";
}

/** Raised by {@link gradcheck} when an analytic gradient disagrees with central differences. */
export class GradcheckError extends Error {
  override name = "GradcheckError";
}

/** Throws an "internal:" error when a library invariant is broken (a bug in tsgrad, not in user code). */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`internal: ${message}`);
}
