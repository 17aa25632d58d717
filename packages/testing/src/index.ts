// @tsgrad/testing (private): golden loading and the toBeAllClose matcher shared by every package's tests.
export { loadGolden, sharedPath, sharedDir, repoRoot } from "./golden";
export type { GoldenCase, GoldenTensor } from "./golden";
export { allCloseMessage } from "./matchers";
export type { CloseOptions } from "./matchers";
