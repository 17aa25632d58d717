// Argument checks shared by the ops: what was passed where a Tensor was expected.
import { Tensor } from "../tensor.js";

/** How a value that is not a Tensor appears in a message: `null`, "an array (wrap it with tensor())", its type. */
export function describeNonTensor(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array (wrap it with tensor())";
  return typeof x;
}

/** Throws `<op>: expected a Tensor, got …` (a TypeError) unless `x` is a Tensor. */
export function checkTensor(x: unknown, op: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${describeNonTensor(x)}`);
}
