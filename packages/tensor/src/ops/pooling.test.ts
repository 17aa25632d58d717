// maxPool2d and avgPool2d: every "pool2d" case of testdata/conv-golden.json, PyTorch's tie and NaN rules (checked
// by hand against PyTorch 1.13), gradcheck, and PyTorch's error messages.
import { describe, expect, it } from "vitest";
import { loadFixture, type GoldenTensor, sameBits } from "@tsgrad/testing";
import { getBackend, setBackend } from "../compute.js";
import { gradcheck } from "../gradcheck.js";
import { Generator } from "../random.js";
import { randn, tensor } from "../creation.js";
import { Tensor } from "../tensor.js";
import { avgPool2d, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from "./pooling.js";

interface PoolCase {
  readonly name: string;
  readonly kind: string;
  readonly op: "maxPool2d" | "avgPool2d";
  readonly input: GoldenTensor;
  readonly options: MaxPool2dOptions & AvgPool2dOptions;
  readonly upstream: GoldenTensor;
  readonly output: GoldenTensor;
  readonly gradInput: GoldenTensor;
}

const cases = loadFixture<{ cases: PoolCase[] }>("conv-golden.json").cases.filter((c) => c.kind === "pool2d");

describe.each(["js", "wasm"] as const)("pooling against PyTorch on the %s backend", (backend) => {
  it("covers the golden file", () => {
    expect(cases.filter((c) => c.op === "maxPool2d").length).toBeGreaterThanOrEqual(12);
    expect(cases.filter((c) => c.op === "avgPool2d").length).toBeGreaterThanOrEqual(10);
  });
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const previous = getBackend();
    setBackend(backend);
    try {
      const x = tensor(c.input.data, { shape: c.input.shape, requiresGrad: true });
      const y = c.op === "maxPool2d" ? maxPool2d(x, c.options) : avgPool2d(x, c.options);
      expect(y.shape).toEqual(c.output.shape);
      expect(y).toBeAllClose(c.output.data);
      y.backward(tensor(c.upstream.data, { shape: c.upstream.shape }));
      expect(x.grad!).toBeAllClose(c.gradInput.data);
    } finally {
      setBackend(previous);
    }
  });
});

describe("maxPool2d's SIMD path (2×2, stride 2, wasm backend) makes the JavaScript loop's choices", () => {
  // At least 1024 outputs each (the SIMD threshold); odd sizes drop their last row or column, 23 columns leave a tail.
  const shapes: number[][] = [[2, 5, 24, 24], [2, 3, 31, 29], [16, 1, 8, 46]];
  it.each(shapes)("input [%i, %i, %i, %i] with ties, NaN, −∞ and upstream −0: same values, same gradients", (...shape) => {
    const g = new Generator(shape[2]!);
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, () => {
      const u = g.nextFloat();
      return u < 0.02 ? NaN : u < 0.04 ? -Infinity : Math.floor(u * 4);
    });
    const upstream = tensor(Array.from({ length: shape[0]! * shape[1]! * Math.floor(shape[2]! / 2) * Math.floor(shape[3]! / 2) },
      () => (g.nextFloat() < 0.05 ? -0 : g.nextNormal())), { shape: [shape[0]!, shape[1]!, Math.floor(shape[2]! / 2), Math.floor(shape[3]! / 2)] });
    const previous = getBackend();
    const run = (backend: "js" | "wasm"): [Float32Array, Float32Array] => {
      setBackend(backend);
      try {
        const x = tensor(values, { shape, requiresGrad: true });
        const y = maxPool2d(x, { kernelSize: 2 });
        y.backward(upstream);
        return [y.data, x.grad!.data];
      } finally {
        setBackend(previous);
      }
    };
    const [js, wasm] = [run("js"), run("wasm")];
    expect(sameBits(wasm[0], js[0])).toBe(true);
    expect(sameBits(wasm[1], js[1])).toBe(true);
  });
});

describe("maxPool2d follows PyTorch's scan: first maximum wins, NaN propagates", () => {
  const nan = NaN;
  // Each row: a 2×2 window, the value PyTorch 1.13 returns and where its gradient goes.
  const windows: [number[], number, number][] = [
    [[1, 3, 3, 0], 3, 1],
    [[3, 3, 3, 3], 3, 0],
    [[1, nan, 3, nan], nan, 3],
    [[nan, 5, 1, 2], nan, 0],
    [[2, nan, nan, 1], nan, 2],
    [[-Infinity, -Infinity, -Infinity, -Infinity], -Infinity, 0],
  ];
  it.each(windows)("window %j → %d, gradient at %d", (values, value, at) => {
    const x = tensor(values, { shape: [1, 1, 2, 2], requiresGrad: true });
    const y = maxPool2d(x, { kernelSize: 2 });
    expect(Object.is(y.data[0], value) || (Number.isNaN(value) && Number.isNaN(y.data[0]))).toBe(true);
    y.sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([0, 1, 2, 3].map((i) => (i === at ? 1 : 0)));
  });

  it("a window that holds no element gives −∞ and no gradient (dilation past the input), as PyTorch", () => {
    const x = randn([1, 1, 4, 4], { requiresGrad: true });
    const y = maxPool2d(x, { kernelSize: 2, padding: 1, dilation: 5 });
    expect(y.shape).toEqual([1, 1, 1, 1]);
    expect(y.data[0]).toBe(-Infinity);
    y.sum().backward();
    expect(x.grad!.data.every((v) => v === 0)).toBe(true);
  });

  it("a window with only −∞ inside padding picks its first element inside the image", () => {
    const x = tensor(new Array(9).fill(-Infinity), { shape: [1, 1, 3, 3], requiresGrad: true });
    const y = maxPool2d(x, { kernelSize: 2, stride: 2, padding: 1 });
    y.sum().backward();
    // PyTorch's indices: [[0, 1], [3, 4]].
    expect(Array.from(x.grad!.data)).toEqual([1, 1, 0, 1, 1, 0, 0, 0, 0]);
  });
});

describe("pooling gradients against central differences", () => {
  const g = new Generator(2);
  it("avgPool2d with padding, ceil mode and countIncludePad false", () => {
    const x = randn([2, 2, 7, 6], { generator: g, requiresGrad: true });
    const o: AvgPool2dOptions = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false };
    expect(gradcheck((a) => avgPool2d(a, o), [x])).toBe(true);
  });
  it("maxPool2d with overlapping windows (distinct values: no ties near the step)", () => {
    const values = Array.from({ length: 2 * 36 }, (_, i) => ((i * 37) % 72) * 0.1);
    const x = tensor(values, { shape: [2, 6, 6], requiresGrad: true });
    expect(gradcheck((a) => maxPool2d(a, { kernelSize: 3, stride: 1, padding: 1 }), [x])).toBe(true);
  });
});

describe("pooling: bad arguments raise PyTorch's errors", () => {
  const x = randn([2, 4, 5, 5]);
  const table: [string, () => unknown, RegExp][] = [
    ["2-D input", () => maxPool2d(randn([5, 5]), { kernelSize: 2 }),
      /^maxPool2d: Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch size for input, but got: \[5, 5\]$/],
    ["zero channels", () => avgPool2d(randn([1, 0, 4, 4]), { kernelSize: 2 }), /^avgPool2d: Expected 3D or 4D .* but got: \[1, 0, 4, 4\]$/],
    ["kernel 0", () => maxPool2d(x, { kernelSize: 0 }), /^maxPool2d: kernel size should be greater than zero, but got kH: 0 kW: 0$/],
    ["negative stride", () => avgPool2d(x, { kernelSize: 2, stride: -1 }), /stride should be greater than zero, but got dH: -1 dW: -1/],
    ["dilation 0", () => maxPool2d(x, { kernelSize: 2, dilation: 0 }),
      /dilation should be greater than zero, but got dilationH: 0 dilationW: 0/],
    ["padding too large", () => maxPool2d(x, { kernelSize: 2, padding: 2 }),
      /^maxPool2d: pad should be at most half of kernel size, but got pad=2 and kernel_size=2$/],
    ["negative padding", () => avgPool2d(x, { kernelSize: 2, padding: [0, -1] }), /pad must be non-negative, but got pad: -1/],
    ["output too small", () => maxPool2d(randn([1, 1, 2, 2]), { kernelSize: 3 }),
      /^maxPool2d: Given input size: \(1x2x2\)\. Calculated output size: \(1x0x0\)\. Output size is too small$/],
    ["kernel of 3", () => maxPool2d(x, { kernelSize: [2, 2, 2] as unknown as [number, number] }),
      /maxPool2d: kernelSize must either be a single int, or a tuple of two ints/],
    ["stride of 3", () => avgPool2d(x, { kernelSize: 2, stride: [1, 1, 1] as unknown as [number, number] }),
      /stride must either be omitted, a single int, or a tuple of two ints/],
    ["divisor 0", () => avgPool2d(x, { kernelSize: 2, divisorOverride: 0 }), /^avgPool2d: divisor must be not zero$/],
    ["fractional divisor", () => avgPool2d(x, { kernelSize: 2, divisorOverride: 1.5 }), /divisorOverride must be an integer, got 1\.5/],
    ["missing kernel", () => maxPool2d(x, {} as MaxPool2dOptions), /maxPool2d: kernelSize is required/],
    ["not a tensor", () => avgPool2d([1] as unknown as Tensor, { kernelSize: 1 }), /avgPool2d: expected input to be a Tensor/],
  ];
  it.each(table)("%s", (_label, f, message) => {
    expect(f).toThrow(message);
  });
  it("an empty batch gives an empty result", () => {
    expect(maxPool2d(randn([0, 2, 4, 4]), { kernelSize: 2 }).shape).toEqual([0, 2, 2, 2]);
  });
});
