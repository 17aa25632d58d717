// Element-wise ops: hand-checked values, broadcasting against a float64 reference, views, and gradcheck.
import { describe, expect, it } from "vitest";
import { tensor, randn, rand, full } from "../creation.js";
import { gradcheck } from "../gradcheck.js";
import { Generator } from "../random.js";
import { Tensor } from "../tensor.js";
import { add, sub, mul, div, pow, neg, exp, log, sqrt, abs, tanh, sigmoid, relu, gelu } from "./elementwise.js";

/** A float64 broadcast of f over a (shape as) and b (shape bs), written plainly with index arithmetic. */
function refBinary(
  f: (x: number, y: number) => number, a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[],
): { shape: number[]; data: number[] } {
  const nd = Math.max(as.length, bs.length);
  const pa = [...new Array<number>(nd - as.length).fill(1), ...as];
  const pb = [...new Array<number>(nd - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const total = shape.reduce((p, d) => p * d, 1);
  const data: number[] = [];
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = nd - 1; d >= 0; d--) {
      const idx = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
      if (pa[d] !== 1) ia += idx * sa;
      if (pb[d] !== 1) ib += idx * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    data.push(f(a[ia]!, b[ib]!));
  }
  return { shape, data };
}

function randomTensor(shape: number[], seed: number, requiresGrad = false): Tensor {
  return randn(shape, { generator: new Generator(seed), requiresGrad });
}

/** Values pushed at least `gap` away from 0 (away from the kinks of abs and relu). */
function awayFromZero(shape: number[], seed: number, gap = 0.2): Tensor {
  const t = randomTensor(shape, seed);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i]! + (d[i]! >= 0 ? gap : -gap);
  t.requiresGrad = true;
  return t;
}

/** Positive values in [lo, lo + 1). */
function positive(shape: number[], seed: number, lo = 0.5): Tensor {
  const t = rand(shape, { generator: new Generator(seed) });
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i]! + lo;
  t.requiresGrad = true;
  return t;
}

describe("binary ops: hand-checked values", () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  it("add", () => {
    expect(add(a, tensor([10, 20, 30])).toArray()).toEqual([[11, 22, 33], [14, 25, 36]]);
    expect(a.add(1).toArray()).toEqual([[2, 3, 4], [5, 6, 7]]);
    expect(tensor([[1], [2]]).add(tensor([10, 20, 30])).toArray()).toEqual([[11, 21, 31], [12, 22, 32]]);
    expect(tensor(2).add(tensor(3)).toArray()).toBe(5);
    expect(tensor(2).add(tensor(3)).shape).toEqual([]);
  });
  it("sub", () => {
    expect(sub(a, tensor([[1], [2]])).toArray()).toEqual([[0, 1, 2], [2, 3, 4]]);
    expect(a.sub(0.5).toArray()).toEqual([[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]]);
    expect(tensor(1).sub(a).toArray()).toEqual([[0, -1, -2], [-3, -4, -5]]);
  });
  it("mul", () => {
    expect(mul(a, tensor([2, 0, -1])).toArray()).toEqual([[2, 0, -3], [8, 0, -6]]);
    expect(a.mul(-2).toArray()).toEqual([[-2, -4, -6], [-8, -10, -12]]);
  });
  it("div", () => {
    expect(div(a, tensor([1, 2, 4])).toArray()).toEqual([[1, 1, 0.75], [4, 2.5, 1.5]]);
    expect(a.div(2).toArray()).toEqual([[0.5, 1, 1.5], [2, 2.5, 3]]);
    expect(tensor([1, -1, 0]).div(0).toArray()).toEqual([Infinity, -Infinity, NaN]);
  });
  it("pow with a number and with a tensor exponent", () => {
    expect(pow(tensor([1, 2, 3]), 2).toArray()).toEqual([1, 4, 9]);
    expect(tensor([4, 9, 16]).pow(0.5).toArray()).toEqual([2, 3, 4]);
    expect(tensor([2, 3]).pow(tensor([[0], [3]])).toArray()).toEqual([[1, 1], [8, 27]]);
    expect(tensor([2, 4]).pow(-1).toArray()).toEqual([0.5, 0.25]);
  });
  it("broadcasts [2, 1, 3] with [4, 1] to [2, 4, 3]", () => {
    const x = tensor([[[1, 2, 3]], [[4, 5, 6]]]);
    const y = tensor([[0], [10], [20], [30]]);
    const out = x.add(y);
    expect(out.shape).toEqual([2, 4, 3]);
    expect(out.toArray()).toEqual([
      [[1, 2, 3], [11, 12, 13], [21, 22, 23], [31, 32, 33]],
      [[4, 5, 6], [14, 15, 16], [24, 25, 26], [34, 35, 36]],
    ]);
  });
  it("handles empty tensors", () => {
    expect(tensor([]).add(1).shape).toEqual([0]);
    expect(tensor(new Float32Array(0), { shape: [0, 3] }).mul(tensor([1, 2, 3])).shape).toEqual([0, 3]);
  });
});

type BinaryFn = (a: Tensor, b: Tensor | number) => Tensor;
const binaries: [string, BinaryFn, (x: number, y: number) => number][] = [
  ["add", add, (x, y) => x + y],
  ["sub", sub, (x, y) => x - y],
  ["mul", mul, (x, y) => x * y],
  ["div", div, (x, y) => x / y],
  ["pow", pow, (x, y) => Math.pow(x, y)],
];
const shapePairs: [number[], number[]][] = [
  [[2, 3], [2, 3]], [[2, 3], [3]], [[2, 3], [2, 1]], [[3, 1], [1, 4]], [[2, 3], []], [[], [2, 3]],
  [[4], [2, 1, 4]], [[2, 1, 3], [4, 1]], [[1, 1], [3]], [[2, 3, 4], [3, 1]],
];

describe.each(binaries)("%s against a float64 reference", (_name, f, ref) => {
  it.each(shapePairs)("%j with %j", (as, bs) => {
    const a = positive(as, 1);
    const b = positive(bs, 2);
    const out = f(a, b);
    const expected = refBinary(ref, a.data, as, b.data, bs);
    expect(out.shape).toEqual(expected.shape);
    expect(out).toBeAllClose(expected);
  });
  it("takes transposed and permuted inputs", () => {
    const a = positive([3, 4], 3).t(); // [4, 3]
    const b = positive([2, 3, 4], 4).permute([2, 0, 1]); // [4, 2, 3]
    const out = f(a.unsqueeze(1), b);
    const expected = refBinary(ref, a.data, [4, 1, 3], b.data, [4, 2, 3]);
    expect(out.shape).toEqual([4, 2, 3]);
    expect(out).toBeAllClose(expected);
    // The transposed values are the source's, reordered.
    expect(a.toArray()).toEqual(tensor(Array.from(a.data), { shape: [4, 3] }).toArray());
  });
});

describe("unary ops: hand-checked values", () => {
  it("neg", () => expect(neg(tensor([1, -2, 0])).toArray()).toEqual([-1, 2, -0]));
  it("exp", () => expect(exp(tensor([0, 1, -1, -200, 100]))).toBeAllClose([1, Math.E, 1 / Math.E, 0, Infinity]));
  it("log", () => expect(log(tensor([1, Math.E, 0, -1]))).toBeAllClose([0, 1, -Infinity, NaN]));
  it("sqrt", () => expect(sqrt(tensor([0, 1, 4, 2.25])).toArray()).toEqual([0, 1, 2, 1.5]));
  it("abs", () => expect(abs(tensor([-3, 0, 2.5])).toArray()).toEqual([3, 0, 2.5]));
  it("tanh", () => expect(tanh(tensor([0, 1, -1, 50]))).toBeAllClose([0, Math.tanh(1), -Math.tanh(1), 1]));
  it("sigmoid is exact at 0 and finite far out", () => {
    expect(sigmoid(tensor([0, 1, -1]))).toBeAllClose([0.5, 1 / (1 + Math.exp(-1)), 1 / (1 + Math.E)]);
    const far = sigmoid(tensor([-1000, 1000])).toArray();
    expect(far).toEqual([0, 1]);
  });
  it("relu keeps NaN and zeroes negatives", () => {
    expect(relu(tensor([-1, 0, 2, NaN])).toArray()).toEqual([0, 0, 2, NaN]);
  });
  it("methods match the functions on a transposed input", () => {
    const x = positive([3, 5], 9).t();
    const xs = Array.from(x.data);
    expect(x.sqrt()).toBeAllClose(xs.map(Math.sqrt));
    expect(x.log()).toBeAllClose(xs.map(Math.log));
    expect(x.exp()).toBeAllClose(xs.map(Math.exp));
    expect(x.neg().abs()).toBeAllClose(xs);
    expect(x.tanh()).toBeAllClose(xs.map(Math.tanh));
    expect(x.sigmoid()).toBeAllClose(xs.map((v) => 1 / (1 + Math.exp(-v))));
    expect(x.neg().relu()).toBeAllClose(xs.map(() => 0));
    expect(x.shape).toEqual([5, 3]);
  });
});

describe("gradcheck: binary ops over broadcasting shapes and views", () => {
  const inputs = (as: number[], bs: number[], name: string): [Tensor, Tensor] =>
    name === "div" || name === "pow" ? [positive(as, 5), positive(bs, 6)] : [randomTensor(as, 5, true), randomTensor(bs, 6, true)];
  describe.each(binaries)("%s", (name, f) => {
    it.each(shapePairs)("%j with %j", (as, bs) => {
      expect(gradcheck((a, b) => f(a, b), inputs(as, bs, name))).toBe(true);
    });
    it("with a number operand", () => {
      const [a] = inputs([2, 3], [], name);
      expect(gradcheck((x) => f(x, 1.5), [a])).toBe(true);
    });
    it("through transposed and permuted inputs", () => {
      const [a, b] = inputs([3, 4], [2, 4, 3], name);
      expect(gradcheck((x, y) => f(x.t().unsqueeze(1), y.permute([1, 0, 2])), [a, b])).toBe(true);
    });
    it("with one operand that does not require grad", () => {
      const [a, b] = inputs([2, 3], [3], name);
      b.requiresGrad = false;
      expect(gradcheck((x, y) => f(x, y), [a, b])).toBe(true);
      a.requiresGrad = false;
      b.requiresGrad = true;
      expect(gradcheck((x, y) => f(x, y), [a, b])).toBe(true);
    });
  });
  it("pow with a negative and a fractional number exponent", () => {
    expect(gradcheck((x) => x.pow(-1.5), [positive([2, 3], 7)])).toBe(true);
    expect(gradcheck((x) => x.pow(3), [randomTensor([2, 3], 8, true)])).toBe(true);
  });
  it("the same tensor on both sides", () => {
    for (const [, f] of binaries) expect(gradcheck((x) => f(x, x), [positive([3, 2], 9)])).toBe(true);
  });
});

describe("gradcheck: unary ops", () => {
  const unaries: [string, (x: Tensor) => Tensor, () => Tensor][] = [
    ["neg", neg, () => randomTensor([2, 3], 1, true)],
    ["exp", exp, () => randomTensor([2, 3], 2, true)],
    ["log", log, () => positive([2, 3], 3)],
    ["sqrt", sqrt, () => positive([2, 3], 4)],
    ["abs", abs, () => awayFromZero([2, 3], 5)],
    ["tanh", tanh, () => randomTensor([2, 3], 6, true)],
    ["sigmoid", sigmoid, () => randomTensor([2, 3], 7, true)],
    ["relu", relu, () => awayFromZero([2, 3], 8)],
  ];
  it.each(unaries)("%s", (_name, f, make) => {
    expect(gradcheck(f, [make()])).toBe(true);
  });
  it.each(unaries)("%s through a transpose", (_name, f, make) => {
    expect(gradcheck((x) => f(x.t()).mul(tensor([1, 2]).unsqueeze(1).t()), [make()])).toBe(true);
  });
  it("abs and relu have gradient 0 at 0 (as PyTorch)", () => {
    const x = tensor([0, 0], { requiresGrad: true });
    abs(x).add(relu(x)).sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 0]);
  });
  it("pow has gradient 0 for a zero exponent and for a zero base with a non-negative exponent", () => {
    const x = tensor([0, 2], { requiresGrad: true });
    const e = tensor([0, 0], { requiresGrad: true });
    x.pow(e).sum().backward();
    expect(x.grad!.toArray()).toEqual([0, 0]);
    expect(e.grad!).toBeAllClose([0, Math.log(2)]);
  });
  it("a transposed input receives its gradient transposed back", () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const w = tensor([[1, 10], [100, 1000], [1e4, 1e5]]);
    x.t().mul(w).sum().backward();
    expect(x.grad!.toArray()).toEqual([[1, 100, 1e4], [10, 1000, 1e5]]);
  });
  it("broadcast gradients are summed back to each input's shape", () => {
    const a = full([2, 3], 2, { requiresGrad: true });
    const b = tensor([[1], [2]], { requiresGrad: true });
    const c = tensor(3, { requiresGrad: true });
    a.mul(b).add(c).sum().backward();
    expect(a.grad!.toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(b.grad!.toArray()).toEqual([[6], [6]]);
    expect(c.grad!.toArray()).toBe(6);
  });
});

describe("gelu (PyTorch values: the gelu cases of testdata/pytorch-golden.json)", () => {
  it("exact and tanh forms at hand-checked points (Φ from a float64 erf)", () => {
    // 0.5·x·(1 + erf(x/√2)) at −1, 0, 2 and far out, where x·Φ(x) is tiny but not 0.
    expect(gelu(tensor([-1, 0, 2, -8, 8]))).toBeAllClose([-0.15865525393145707, 0, 1.9544997361036416, -4.976768e-15, 8], { atol: 1e-20, rtol: 1e-6 });
    const t = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    expect(gelu(tensor([-1, 0, 2, 3]), { approximate: "tanh" })).toBeAllClose([t(-1), 0, t(2), t(3)], { atol: 0, rtol: 1e-6 });
  });
  it.each(["none", "tanh"] as const)("gradcheck, approximate %s", (approximate) => {
    expect(gradcheck((x) => gelu(x, { approximate }), [randomTensor([3, 5], 12, true)])).toBe(true);
  });
  it("rejects an unknown approximation and a non-tensor", () => {
    expect(() => gelu(tensor([1]), { approximate: "erf" as "none" })).toThrow(
      new RangeError('gelu: approximate argument must be either "none" or "tanh", got "erf"'));
    expect(() => gelu([1] as unknown as Tensor)).toThrow(new TypeError("gelu: expected a Tensor, got an array (wrap it with tensor())"));
  });
});
