// Registers the toBeAllClose matcher for every test file.
import { expect } from "vitest";
import { allCloseMessage, type CloseOptions } from "@tsgrad/testing";

expect.extend({
  toBeAllClose(received: unknown, expected: unknown, options?: CloseOptions) {
    const message = allCloseMessage(received as never, expected as never, options);
    return {
      pass: message === null,
      message: () => (message === null ? "expected values not to be all close" : message),
    };
  },
});
