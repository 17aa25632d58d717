// Type of the toBeAllClose matcher registered in vitest.setup.ts.
import "vitest";
import type { CloseOptions } from "@tsgrad/testing";

declare module "vitest" {
  interface Matchers<T = unknown> {
    /** Element-wise |actual − expected| <= atol + rtol·|expected| (defaults 1e-5, 1e-4). */
    toBeAllClose(expected: unknown, options?: CloseOptions): T;
  }
}
