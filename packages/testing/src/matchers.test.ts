// toBeAllClose: tolerances, NaN, and shapes compared whenever one side is a tensor and the other has a shape.
import { describe, expect, it } from "vitest";
import { allCloseMessage, sameBits } from "./matchers.js";

const t = (shape: number[], values: number[]) => ({ shape, data: Float32Array.from(values) });

describe("allCloseMessage", () => {
  it("passes within atol + rtol·|expected|, NaN against NaN, and fails past it", () => {
    expect(allCloseMessage([1, NaN], [1 + 1e-6, NaN])).toBeNull();
    expect(allCloseMessage([1], [1.01])).toMatch(/1 of 1 values differ beyond atol 0.00001, rtol 0.0001: \[0\] 1 vs 1.01/);
  });
  it("compares a tensor's shape with a tensor's, a { shape, data }'s, a number's and nested arrays'", () => {
    expect(allCloseMessage(t([2, 3], [1, 2, 3, 4, 5, 6]), t([3, 2], [1, 2, 3, 4, 5, 6]))).toBe("shape [2, 3] differs from expected [3, 2]");
    expect(allCloseMessage(t([2, 2], [1, 2, 3, 4]), { shape: [4], data: [1, 2, 3, 4] })).toBe("shape [2, 2] differs from expected [4]");
    expect(allCloseMessage(t([2, 2], [1, 2, 3, 4]), [[1, 2, 3, 4]])).toBe("shape [2, 2] differs from expected [1, 4]");
    expect(allCloseMessage(t([1], [5]), 5)).toBe("shape [1] differs from expected []");
    expect(allCloseMessage(t([2, 2], [1, 2, 3, 4]), [[1, 2], [3, 4]])).toBeNull();
    expect(allCloseMessage([[1, 2], [3, 4]], t([2, 2], [1, 2, 3, 4]))).toBeNull();
  });
  it("compares a flat list (typed array or number[]) by its values alone, counting them", () => {
    expect(allCloseMessage(t([2, 2], [1, 2, 3, 4]), [1, 2, 3, 4])).toBeNull();
    expect(allCloseMessage(t([2, 2], [1, 2, 3, 4]), new Float64Array([1, 2, 3, 4]))).toBeNull();
    expect(allCloseMessage(t([2, 2], [1, 2, 3, 4]), [1, 2, 3])).toBe("[2, 2] holds 4 values, expected 3 ((3 values))");
  });
});

describe("sameBits", () => {
  it("compares each array's own bits: views of one buffer alone, -0 against 0 and NaN payloads told apart", () => {
    const whole = new Float32Array([1, 2, 3, 1, 2, 4]);
    expect(sameBits(whole.subarray(0, 2), whole.subarray(3, 5))).toBe(true);
    expect(sameBits(whole.subarray(0, 3), whole.subarray(3, 6))).toBe(false);
    expect(sameBits(new Float32Array([0]), new Float32Array([-0]))).toBe(false);
    const nan = new Float32Array(new Uint32Array([0x7fc00001]).buffer);
    expect(sameBits(nan, new Float32Array([NaN]))).toBe(false);
    expect(sameBits(new Float32Array(2), new Float32Array(3))).toBe(false);
  });
});
