// MaxPool2d and AvgPool2d modules: the functional ops with the layer's options, defaults, and constructor errors.
import { describe, expect, it } from "vitest";
import { Generator, randn } from "@tsgrad/tensor";
import { AvgPool2d, MaxPool2d, avgPool2d, maxPool2d } from "./index.js";

describe("pooling layers", () => {
  const x = randn([2, 3, 9, 8], { generator: new Generator(6) });

  it("MaxPool2d is maxPool2d with its options; stride defaults to the kernel size", () => {
    const pool = new MaxPool2d([3, 2], { padding: [1, 0], dilation: [1, 2], ceilMode: true });
    expect(pool.stride).toEqual([3, 2]);
    const expected = maxPool2d(x, { kernelSize: [3, 2], stride: [3, 2], padding: [1, 0], dilation: [1, 2], ceilMode: true });
    expect(Array.from(pool.forward(x).data)).toEqual(Array.from(expected.data));
    expect(new MaxPool2d(2).forward(x).shape).toEqual([2, 3, 4, 4]);
  });

  it("AvgPool2d is avgPool2d with its options", () => {
    const pool = new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false, divisorOverride: null, ceilMode: true });
    const expected = avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false, ceilMode: true });
    expect(Array.from(pool.forward(x).data)).toEqual(Array.from(expected.data));
    expect(new AvgPool2d(2, { divisorOverride: 1 }).forward(x).data[0]).toBeCloseTo(
      x.data[0]! + x.data[1]! + x.data[8]! + x.data[9]!, 5,
    );
  });

  it("hold no parameters", () => {
    expect(new MaxPool2d(2).parameters()).toEqual([]);
    expect(Object.keys(new AvgPool2d(2).stateDict())).toEqual([]);
  });

  const table: [string, () => unknown, RegExp][] = [
    ["kernel 0", () => new MaxPool2d(0), /^MaxPool2d: kernel size should be greater than zero, but got kH: 0 kW: 0$/],
    ["stride 0", () => new AvgPool2d(2, { stride: 0 }), /^AvgPool2d: stride should be greater than zero, but got dH: 0 dW: 0$/],
    ["dilation 0", () => new MaxPool2d(2, { dilation: [1, 0] }), /dilation should be greater than zero, but got dilationH: 1 dilationW: 0/],
    ["negative padding", () => new MaxPool2d(2, { padding: -1 }), /pad must be non-negative, but got pad: -1/],
    ["padding over half", () => new AvgPool2d(3, { padding: 2 }), /pad should be at most half of kernel size, but got pad=2 and kernel_size=3/],
    ["kernel of 3", () => new MaxPool2d([2, 2, 2] as unknown as [number, number]), /kernelSize must either be a single int, or a tuple of two ints/],
    ["divisor 0", () => new AvgPool2d(2, { divisorOverride: 0 }), /^AvgPool2d: divisor must be not zero$/],
    ["fractional divisor", () => new AvgPool2d(2, { divisorOverride: 2.5 }), /divisorOverride must be an integer, got 2\.5/],
  ];
  it.each(table)("rejects %s", (_label, f, message) => {
    expect(f).toThrow(message);
  });
});
