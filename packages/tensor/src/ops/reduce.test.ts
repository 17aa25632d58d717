// Reductions and softmax: hand-checked values, a float64 reference over dims, stability, views, and gradcheck.
import { describe, expect, it } from "vitest";
import { arange, randn, tensor } from "../creation.js";
import { gradcheck } from "../gradcheck.js";
import { Generator } from "../random.js";
import { Tensor } from "../tensor.js";
import { argmax, logSoftmax, logsumexp, max, mean, softmax, sum } from "./reduce.js";

/** Float64 reduction of `data` (shape) over `dims`: groups the elements of each output position and folds them. */
function refReduce(data: ArrayLike<number>, shape: number[], dims: number[], fold: (xs: number[]) => number): number[] {
  const keep = shape.map((_, i) => !dims.includes(i));
  const groups = new Map<number, number[]>();
  const total = shape.reduce((p, d) => p * d, 1);
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    let key = 0;
    let mult = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const idx = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
      if (keep[d]) {
        key += idx * mult;
        mult *= shape[d]!;
      }
    }
    const list = groups.get(key) ?? [];
    list.push(data[flat]!);
    groups.set(key, list);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((k) => fold(groups.get(k)!));
}

const refSum = (xs: number[]): number => xs.reduce((p, v) => p + v, 0);
const refMean = (xs: number[]): number => refSum(xs) / xs.length;
const refMax = (xs: number[]): number => Math.max(...xs);
const refLse = (xs: number[]): number => {
  const m = refMax(xs);
  return m + Math.log(refSum(xs.map((v) => Math.exp(v - m))));
};

/** Float64 softmax of `data` (shape) along `dim`, in place order. */
function refSoftmax(data: ArrayLike<number>, shape: number[], dim: number, log = false): number[] {
  const inner = shape.slice(dim + 1).reduce((p, d) => p * d, 1);
  const size = shape[dim]!;
  const outer = shape.slice(0, dim).reduce((p, d) => p * d, 1);
  const out = new Array<number>(data.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const idx = Array.from({ length: size }, (_, s) => (o * size + s) * inner + j);
      const lse = refLse(idx.map((i) => data[i]!));
      for (const i of idx) out[i] = log ? data[i]! - lse : Math.exp(data[i]! - lse);
    }
  }
  return out;
}

function randomTensor(shape: number[], seed: number, requiresGrad = true): Tensor {
  return randn(shape, { generator: new Generator(seed), requiresGrad });
}

const x23 = (): Tensor => tensor([[1, 2, 3], [4, 5, 6]]);

describe("sum and mean: hand-checked values", () => {
  it("sum over all, one, negative and several dims, with and without keepdim", () => {
    const x = x23();
    expect(sum(x).toArray()).toBe(21);
    expect(sum(x).shape).toEqual([]);
    expect(x.sum(0).toArray()).toEqual([5, 7, 9]);
    expect(x.sum(1).toArray()).toEqual([6, 15]);
    expect(x.sum(-1, true).toArray()).toEqual([[6], [15]]);
    expect(x.sum(0, true).shape).toEqual([1, 3]);
    expect(x.sum([0, 1]).toArray()).toBe(21);
    expect(x.sum([-1, 0], true).toArray()).toEqual([[21]]);
    expect(x.sum([]).toArray()).toBe(21); // PyTorch: an empty dim list reduces every dim
    expect(x.sum(undefined, true).shape).toEqual([1, 1]);
  });
  it("mean", () => {
    const x = x23();
    expect(mean(x).toArray()).toBe(3.5);
    expect(x.mean(0).toArray()).toEqual([2.5, 3.5, 4.5]);
    expect(x.mean(1, true).toArray()).toEqual([[2], [5]]);
    expect(x.mean([0, 1]).toArray()).toBe(3.5);
  });
  it("sum and mean of a scalar, and of an empty tensor", () => {
    expect(tensor(4).sum().toArray()).toBe(4);
    expect(tensor(4).sum(0).toArray()).toBe(4);
    expect(tensor(4).mean(-1, true).shape).toEqual([]);
    expect(tensor([]).sum().toArray()).toBe(0);
    expect(tensor([]).mean().toArray()).toBeNaN();
  });
  it("sum accumulates in float64 (1 + 1e-8 × 1e6 is not lost)", () => {
    const x = tensor(new Float32Array(1_000_001).fill(1e-8), {});
    x.data[0] = 1;
    expect(x.sum().item()).toBeCloseTo(1.01, 6);
  });
});

describe("max, argmax, logsumexp, softmax: hand-checked values", () => {
  it("max and argmax", () => {
    const x = tensor([[1, 7, 3], [9, 5, 9]]);
    expect(max(x).toArray()).toBe(9);
    expect(x.max(1).toArray()).toEqual([7, 9]);
    expect(x.max(0, true).toArray()).toEqual([[9, 7, 9]]);
    expect(x.max(-1, true).shape).toEqual([2, 1]);
    expect(argmax(x).toArray()).toBe(3); // first maximum of the flattened tensor
    expect(x.argmax(1).toArray()).toEqual([1, 0]);
    expect(x.argmax(0, true).toArray()).toEqual([[1, 0, 1]]);
    expect(tensor([-Infinity, -Infinity]).max().toArray()).toBe(-Infinity);
    expect(tensor([1, NaN, 3]).max().toArray()).toBeNaN();
    expect(tensor([[1, NaN, 3]]).max(1).toArray()).toEqual([NaN]);
  });
  it("logsumexp", () => {
    expect(logsumexp(tensor([0, 0]), 0).toArray()).toBeCloseTo(Math.LN2, 6);
    expect(tensor([[0, Math.log(3)], [1, 1]]).logsumexp(1)).toBeAllClose([Math.log(4), 1 + Math.LN2]);
    expect(tensor([[0, Math.log(3)], [1, 1]]).logsumexp(-1, true).shape).toEqual([2, 1]);
    expect(tensor([[1, 2], [3, 4]]).logsumexp([0, 1])).toBeAllClose([refLse([1, 2, 3, 4])]);
    expect(tensor([-Infinity, -Infinity]).logsumexp(0).toArray()).toBe(-Infinity);
    expect(tensor([1, Infinity]).logsumexp(0).toArray()).toBe(Infinity);
  });
  it("softmax and logSoftmax", () => {
    const x = tensor([[0, Math.log(3)], [5, 5]]);
    expect(softmax(x, 1)).toBeAllClose([[0.25, 0.75], [0.5, 0.5]]);
    expect(logSoftmax(x, -1)).toBeAllClose([[Math.log(0.25), Math.log(0.75)], [-Math.LN2, -Math.LN2]]);
    expect(x.softmax(0)).toBeAllClose(refSoftmax(x.data, [2, 2], 0));
    expect(tensor(3).softmax(0).toArray()).toBe(1);
  });
  it("stays finite for logits of ±1e4 (max subtracted)", () => {
    expect(tensor([1e4, 1e4]).softmax(0).toArray()).toEqual([0.5, 0.5]);
    expect(tensor([-1e4, 1e4]).logSoftmax(0).toArray()).toEqual([-2e4, 0]);
    expect(tensor([1e4, 1e4]).logsumexp(0)).toBeAllClose([1e4 + Math.LN2]);
    expect(tensor([-1e4, -1e4, -1e4]).logsumexp(0)).toBeAllClose([-1e4 + Math.log(3)]);
    const z = tensor([[-1e4, 0, 1e4]], { requiresGrad: true });
    z.logSoftmax(1).mul(tensor([[1, 2, 3]])).sum().backward();
    expect(z.grad!.data.every(Number.isFinite)).toBe(true);
    expect(z.grad!).toBeAllClose([[1, 2, -3]]);
  });
});

const reduceShapes: [number[], (number | number[] | undefined)[]][] = [
  [[5], [undefined, 0, -1]],
  [[2, 3, 4], [undefined, 0, 1, 2, -1, [0, 2], [1, 2], [0, 1, 2], [-3, -1]]],
  [[3, 1, 2], [1, [0, 1]]],
];
const reduceCases = reduceShapes.flatMap(([shape, dims]) =>
  dims.flatMap((dim) => [false, true].map((keepdim) => [shape, dim, keepdim] as const)),
);

function normDims(dim: number | number[] | undefined, nd: number): number[] {
  if (dim === undefined) return Array.from({ length: nd }, (_, i) => i);
  return (typeof dim === "number" ? [dim] : dim).map((d) => (d < 0 ? d + nd : d));
}

function keptShape(shape: number[], dims: number[], keepdim: boolean): number[] {
  return shape.flatMap((d, i) => (dims.includes(i) ? (keepdim ? [1] : []) : [d]));
}

describe("reductions against a float64 reference", () => {
  it.each(reduceCases)("shape %j dim %j keepdim %s", (shape, dim, keepdim) => {
    const x = randomTensor([...shape], 1, false);
    const dims = normDims(dim, shape.length);
    const outShape = keptShape([...shape], dims, keepdim);
    const checks: [Tensor, (xs: number[]) => number][] = [
      [x.sum(dim, keepdim), refSum],
      [x.mean(dim, keepdim), refMean],
      [x.max(dim, keepdim), refMax],
    ];
    if (dim !== undefined) checks.push([x.logsumexp(dim, keepdim), refLse]);
    for (const [out, fold] of checks) {
      expect(out.shape).toEqual(outShape);
      expect(out).toBeAllClose(refReduce(x.data, [...shape], dims, fold));
    }
  });
  it.each([[[4], 0], [[2, 3, 4], 0], [[2, 3, 4], 1], [[2, 3, 4], -1], [[1, 5], 0]] as const)(
    "softmax/logSoftmax of %j along %i",
    (shape, dim) => {
      const x = randomTensor([...shape], 2, false);
      const d = dim < 0 ? dim + shape.length : dim;
      expect(x.softmax(dim)).toBeAllClose(refSoftmax(x.data, [...shape], d));
      expect(x.logSoftmax(dim)).toBeAllClose(refSoftmax(x.data, [...shape], d, true));
      expect(x.softmax(dim).shape).toEqual(shape);
    },
  );
  it("reductions of a transposed or permuted input match reductions of the source along the swapped dim", () => {
    const x = randomTensor([3, 4], 3, false);
    const xt = x.t();
    expect(xt.sum(0).toArray()).toEqual(x.sum(1).toArray());
    expect(xt.max(1).toArray()).toEqual(x.max(0).toArray());
    expect(xt.argmax(0).toArray()).toEqual(x.argmax(1).toArray());
    expect(xt.softmax(1)).toBeAllClose(x.softmax(0).t().data);
    expect(xt.logSoftmax(0)).toBeAllClose(x.logSoftmax(1).t().data);
    expect(xt.logsumexp(0)).toBeAllClose(x.logsumexp(1).data);
    const y = randomTensor([2, 3, 4], 4, false);
    const yp = y.permute([2, 0, 1]);
    expect(yp.mean(0)).toBeAllClose(y.mean(2).data);
    expect(yp.sum([1, 2])).toBeAllClose(y.sum([0, 1]).data);
  });
});

describe("reduction gradients", () => {
  it("max sends the gradient to the first maximal element along a dim", () => {
    const x = tensor([[1, 5, 5], [2, 0, 1]], { requiresGrad: true });
    x.max(1).mul(tensor([10, 20])).sum().backward();
    expect(x.grad!.toArray()).toEqual([[0, 10, 0], [20, 0, 0]]);
  });
  it("max over all dims shares the gradient between ties (as torch.max(x))", () => {
    const x = tensor([[1, 5, 5], [2, 0, 1]], { requiresGrad: true });
    x.max().backward();
    expect(x.grad!.toArray()).toEqual([[0, 0.5, 0.5], [0, 0, 0]]);
  });
  it("argmax records no graph", () => {
    const x = tensor([1, 3, 2], { requiresGrad: true });
    const i = x.argmax();
    expect(i.requiresGrad).toBe(false);
    expect(i.gradFn).toBeNull();
  });
  it("sum and mean spread the gradient evenly", () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    x.mean(0).mul(tensor([1, 2, 3])).sum().backward();
    expect(x.grad!.toArray()).toEqual([[0.5, 1, 1.5], [0.5, 1, 1.5]]);
    x.grad = null;
    x.sum(1, true).mul(tensor([[1], [2]])).sum().backward();
    expect(x.grad!.toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);
  });
  it("softmax rows sum to 1 and their gradient under a constant upstream is 0", () => {
    const x = randomTensor([3, 5], 5);
    const y = x.softmax(1);
    expect(y.sum(1)).toBeAllClose([1, 1, 1]);
    y.sum().backward();
    expect(x.grad!).toBeAllClose(new Float32Array(15), { atol: 1e-6 });
  });

  const gradCases: [string, (x: Tensor) => Tensor, number[]][] = [
    ["sum()", (x) => x.sum(), [2, 3]],
    ["sum(1)", (x) => x.sum(1), [2, 3, 4]],
    ["sum([0, 2], keepdim)", (x) => x.sum([0, 2], true), [2, 3, 4]],
    ["sum(-1) of a scalar", (x) => x.sum(-1), []],
    ["mean()", (x) => x.mean(), [2, 3]],
    ["mean(0)", (x) => x.mean(0), [2, 3, 4]],
    ["mean([1, 2], keepdim)", (x) => x.mean([1, 2], true), [2, 3, 4]],
    ["max()", (x) => x.max(), [2, 3]],
    ["max(1)", (x) => x.max(1), [2, 3, 4]],
    ["max(-1, keepdim)", (x) => x.max(-1, true), [3, 5]],
    ["max([0, 2])", (x) => x.max([0, 2]), [2, 3, 4]],
    ["logsumexp(1)", (x) => x.logsumexp(1), [2, 3, 4]],
    ["logsumexp([0, 2], keepdim)", (x) => x.logsumexp([0, 2], true), [2, 3, 4]],
    ["logsumexp(0) of a vector", (x) => x.logsumexp(0), [6]],
    ["softmax(0)", (x) => x.softmax(0), [3, 4]],
    ["softmax(1)", (x) => x.softmax(1), [2, 3, 4]],
    ["softmax(-1)", (x) => x.softmax(-1), [2, 3, 4]],
    ["logSoftmax(0)", (x) => x.logSoftmax(0), [3, 4]],
    ["logSoftmax(1)", (x) => x.logSoftmax(1), [2, 3, 4]],
    ["logSoftmax(-1)", (x) => x.logSoftmax(-1), [5]],
  ];
  it.each(gradCases)("gradcheck %s", (_name, f, shape) => {
    expect(gradcheck(f, [randomTensor(shape, 6)])).toBe(true);
  });
  it.each(gradCases.filter(([, , shape]) => shape.length >= 2))("gradcheck %s of a permuted input", (_name, f, shape) => {
    const rev = shape.map((_, i) => shape.length - 1 - i);
    const src = randomTensor([...shape].reverse(), 7);
    expect(gradcheck((x) => f(x.permute(rev)), [src])).toBe(true);
  });
  it("gradcheck reductions of a broadcast product", () => {
    const a = randomTensor([3, 1], 8);
    const b = randomTensor([4], 9);
    expect(gradcheck((p, q) => p.mul(q).logSoftmax(1).sum(0), [a, b])).toBe(true);
    expect(gradcheck((p, q) => p.add(q).softmax(0).mean(), [a, b])).toBe(true);
  });
  it("arange values reduce exactly", () => {
    const x = arange(24).reshape([2, 3, 4]);
    expect(x.sum([0, 2]).toArray()).toEqual([60, 92, 124]);
    expect(x.max(1).toArray()).toEqual([[8, 9, 10, 11], [20, 21, 22, 23]]);
  });
});
