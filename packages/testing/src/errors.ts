// Error-table checks shared by every package's tests: the exact class and message a call throws.
import { expect } from "vitest";

/** A constructor of errors, e.g. `RangeError`. */
export type ErrorClass = new (...args: never[]) => Error;

/** Calls `thunk` and expects it to throw exactly `errorClass` (not a subclass) with exactly `message`. */
export function expectExactError(thunk: () => unknown, errorClass: ErrorClass, message: string): void {
  let caught: unknown;
  try {
    thunk();
  } catch (e) {
    caught = e;
  }
  expect(caught, "no error was thrown").toBeInstanceOf(errorClass);
  expect((caught as Error).constructor).toBe(errorClass);
  expect((caught as Error).message).toBe(message);
}
