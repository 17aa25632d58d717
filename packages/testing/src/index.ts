// @tsgrad/testing (private): golden loading and the toBeAllClose matcher shared by every package's tests.
export { loadGolden, loadFixture, testdataPath, testdataDir, repoRoot } from "./golden.js";
export type { GoldenCase, GoldenTensor } from "./golden.js";
export { allCloseMessage, sameBits } from "./matchers.js";
export { expectExactError } from "./errors.js";
export type { ErrorClass } from "./errors.js";
export type { CloseOptions } from "./matchers.js";
