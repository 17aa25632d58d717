// Registers the toBeAllClose matcher for every test file, and runs every test with the storage pool's debug mode on.
import { expect } from "vitest";
import { setMemoryDebug } from "@tsgrad/tensor";
import { allCloseMessage, type CloseOptions } from "@tsgrad/testing";

// Recycled arrays are filled with NaN, and a double release throws: a use after recycling cannot pass unseen.
setMemoryDebug(true);

expect.extend({
  toBeAllClose(received: unknown, expected: unknown, options?: CloseOptions) {
    const message = allCloseMessage(received as never, expected as never, options);
    return {
      pass: message === null,
      message: () => (message === null ? "expected values not to be all close" : message),
    };
  },
});
