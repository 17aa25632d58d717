// Conv2d: PyTorch's default init and state-dict layout, forward equal to the functional conv2d, constructor errors,
// and intermediates recycled by Sequential between conv, pooling and ReLU layers.
import { describe, expect, it } from "vitest";
import { Generator, Tensor, memoryStats, randn, uniform } from "@tsgrad/tensor";
import { AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, conv2d, crossEntropy } from "./index.js";

describe("Conv2d: parameters as PyTorch lays them out", () => {
  it("weight [out, in/groups, kH, kW] and bias [out], drawn from ±1/√fanIn, weight first", () => {
    const conv = new Conv2d(6, 4, [3, 2], { groups: 2, generator: new Generator(5) });
    expect(conv.weight.shape).toEqual([4, 3, 3, 2]);
    expect(conv.bias!.shape).toEqual([4]);
    const bound = 1 / Math.sqrt(3 * 3 * 2);
    const g = new Generator(5);
    expect(Array.from(conv.weight.data)).toEqual(Array.from(uniform([4, 3, 3, 2], -bound, bound, { generator: g }).data));
    expect(Array.from(conv.bias!.data)).toEqual(Array.from(uniform([4], -bound, bound, { generator: g }).data));
    expect(conv.weight.requiresGrad && conv.bias!.requiresGrad).toBe(true);
  });

  it("spreads the weights over the whole range (fan-in of the reference CNN's second convolution)", () => {
    const w = new Conv2d(32, 64, 3, { generator: new Generator(1) }).weight.data;
    const bound = 1 / Math.sqrt(32 * 9);
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(0.99 * bound);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    expect(Math.abs(mean)).toBeLessThan(0.02 * bound);
  });

  it("state-dict keys and shapes are PyTorch's, with and without bias, inside a Sequential", () => {
    const model = new Sequential(new Conv2d(1, 32, 3), new ReLU(), new Conv2d(32, 64, 3, { bias: false }));
    const sd = model.stateDict();
    expect(Object.entries(sd).map(([k, t]) => [k, t.shape])).toEqual([
      ["0.weight", [32, 1, 3, 3]],
      ["0.bias", [32]],
      ["2.weight", [64, 32, 3, 3]],
    ]);
  });

  it("forward is conv2d with the layer's options; unbatched input works", () => {
    const g = new Generator(2);
    const x = randn([2, 4, 7, 7], { generator: g });
    const same = new Conv2d(4, 6, 3, { padding: "same", dilation: [2, 1], groups: 2, generator: g });
    expect(same.forward(x).shape).toEqual([2, 6, 7, 7]);
    const expectedSame = conv2d(x, same.weight, same.bias, { padding: "same", dilation: [2, 1], groups: 2 });
    expect(Array.from(same.forward(x).data)).toEqual(Array.from(expectedSame.data));
    const strided = new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: [1, 0], bias: false, generator: g });
    expect(strided.bias).toBeNull();
    const expected = conv2d(x, strided.weight, null, { stride: [2, 1], padding: [1, 0] });
    expect(Array.from(strided.forward(x).data)).toEqual(Array.from(expected.data));
    expect(strided.forward(randn([4, 7, 7], { generator: g })).shape).toEqual([6, 4, 6]);
  });

  const table: [string, () => unknown, RegExp][] = [
    ["groups 0", () => new Conv2d(4, 6, 3, { groups: 0 }), /^Conv2d: groups must be a positive integer$/],
    ["in channels vs groups", () => new Conv2d(5, 6, 3, { groups: 2 }), /^Conv2d: inChannels must be divisible by groups$/],
    ["out channels vs groups", () => new Conv2d(4, 6, 3, { groups: 4 }), /^Conv2d: outChannels must be divisible by groups$/],
    ["padding string", () => new Conv2d(4, 6, 3, { padding: "full" as "same" }),
      /^Conv2d: Invalid padding string 'full', should be one of \{'valid', 'same'\}$/],
    ["same with stride", () => new Conv2d(4, 6, 3, { stride: 2, padding: "same" }), /padding='same' is not supported for strided convolutions/],
    ["padding mode", () => new Conv2d(4, 6, 3, { paddingMode: "reflect" as "zeros" }),
      /paddingMode must be 'zeros' .* but got paddingMode='reflect'/],
    ["negative channels", () => new Conv2d(-1, 6, 3), /^Conv2d: inChannels must be a non-negative integer, got -1$/],
    ["kernel 0", () => new Conv2d(4, 6, 0), /^Conv2d: kernelSize must be a positive integer or a pair of them, got 0$/],
    ["stride pair of 3", () => new Conv2d(4, 6, 3, { stride: [1, 1, 1] as unknown as [number, number] }),
      /stride must be a positive integer or a pair of them, got \[1, 1, 1\]/],
    ["negative padding", () => new Conv2d(4, 6, 3, { padding: -1 }), /padding must be a non-negative integer or a pair of them, got -1/],
  ];
  it.each(table)("rejects %s", (_label, f, message) => {
    expect(f).toThrow(message);
  });

  it("a bad input shape at forward names conv2d and both shapes", () => {
    expect(() => new Conv2d(3, 4, 3).forward(randn([2, 2, 5, 5]))).toThrow(
      /conv2d: Given groups=1, weight of size \[4, 3, 3, 3\], expected input\[2, 2, 5, 5\] to have 3 channels, but got 2 channels instead/,
    );
  });
});

describe("Sequential with convolutions and pooling", () => {
  const g = new Generator(4);
  const model = new Sequential(
    new Conv2d(1, 8, 3, { generator: g }), new ReLU(), new Conv2d(8, 8, 3, { padding: 1, generator: g }), new ReLU(),
    new MaxPool2d(2), new AvgPool2d(2, { stride: 1 }),
  );
  const head = new Linear(8 * 4 * 4, 10, { generator: g });
  const x = randn([3, 1, 12, 12], { generator: g });
  const y = Int32Array.from([1, 4, 9]);

  it("computes what the layers compute one by one", () => {
    const layers = [0, 1, 2, 3, 4, 5].map((i) => model.at(i));
    const manual = layers.reduce((t: Tensor, m) => m.forward(t), x);
    expect(Array.from(model.forward(x).data)).toEqual(Array.from(manual.data));
  });

  it("recycles the intermediates: a steady step creates only the arrays it hands out", () => {
    const step = (): void => {
      model.zeroGrad();
      head.zeroGrad();
      crossEntropy(head.forward(new Flatten().forward(model.forward(x))), y).backward();
    };
    for (let i = 0; i < 3; i++) step();
    const before = memoryStats().allocatedArrays;
    step();
    // The model's output, the logits and the loss are the caller's; everything else came from the pool.
    expect(memoryStats().allocatedArrays - before).toBeLessThanOrEqual(3);
  });
});
