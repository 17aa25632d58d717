// Shape ops: hand-checked values and shapes, data sharing of views, copies of transposes, and gradcheck.
import { describe, expect, it } from "vitest";
import { arange, randn, tensor } from "../creation.js";
import { gradcheck } from "../gradcheck.js";
import { Generator } from "../random.js";
import { Tensor } from "../tensor.js";
import { clone, flatten, permute, reshape, squeeze, t, transpose, unsqueeze } from "./movement.js";

function randomTensor(shape: number[], seed: number): Tensor {
  return randn(shape, { generator: new Generator(seed), requiresGrad: true });
}

/** Float64 permutation reference: out[idx] = x[idx permuted back], by index arithmetic. */
function refPermute(x: ArrayLike<number>, shape: number[], perm: number[]): number[] {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const total = shape.reduce((p, d) => p * d, 1);
  const out: number[] = [];
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    let src = 0;
    for (let d = outShape.length - 1; d >= 0; d--) {
      const idx = rem % outShape[d]!;
      rem = Math.floor(rem / outShape[d]!);
      src += idx * inStrides[perm[d]!]!;
    }
    out.push(x[src]!);
  }
  return out;
}

describe("shape ops: values", () => {
  const x = arange(6).reshape([2, 3]);
  it("reshape and view, with one inferred dim", () => {
    expect(x.toArray()).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(reshape(x, [3, 2]).toArray()).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(x.reshape([-1]).toArray()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(x.view([3, -1]).shape).toEqual([3, 2]);
    expect(x.reshape([1, -1, 1]).shape).toEqual([1, 6, 1]);
    expect(tensor([7]).reshape([]).shape).toEqual([]);
    expect(tensor(7).reshape([1, 1]).toArray()).toEqual([[7]]);
    expect(tensor([]).reshape([0, 4]).shape).toEqual([0, 4]);
  });
  it("reshape, view, flatten, squeeze and unsqueeze share the data", () => {
    const y = x.detach().clone();
    for (const v of [y.reshape([3, 2]), y.view([6]), y.flatten(), y.unsqueeze(0), y.unsqueeze(0).squeeze()]) {
      expect(v.data).toBe(y.data);
    }
  });
  it("transpose, t and permute are contiguous copies", () => {
    const xt = x.t();
    expect(xt.toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(Array.from(xt.data)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(xt.data).not.toBe(x.data);
    expect(xt.isContiguous()).toBe(true);
    expect(transpose(x, 0, 1).toArray()).toEqual(xt.toArray());
    expect(transpose(x, -1, -2).toArray()).toEqual(xt.toArray());
    expect(transpose(x, 1, 1).toArray()).toEqual(x.toArray());
    expect(t(tensor([1, 2, 3])).toArray()).toEqual([1, 2, 3]);
    expect(tensor(5).t().toArray()).toBe(5);
    expect(permute(x, [1, 0]).toArray()).toEqual(xt.toArray());
  });
  it("permute and transpose of 3-D and 4-D tensors match a float64 reference", () => {
    const y = arange(24).reshape([2, 3, 4]);
    for (const perm of [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0], [0, 2, 1]]) {
      const out = y.permute(perm);
      expect(out.shape).toEqual(perm.map((p) => y.shape[p]));
      expect(Array.from(out.data)).toEqual(refPermute(y.data, [2, 3, 4], perm));
    }
    expect(y.permute([-1, 0, 1]).toArray()).toEqual(y.permute([2, 0, 1]).toArray());
    expect(Array.from(y.transpose(0, 2).data)).toEqual(refPermute(y.data, [2, 3, 4], [2, 1, 0]));
    const z = arange(120).reshape([2, 3, 4, 5]);
    expect(Array.from(z.permute([3, 1, 0, 2]).data)).toEqual(refPermute(z.data, [2, 3, 4, 5], [3, 1, 0, 2]));
    // A permute of a permute composes.
    expect(Array.from(y.permute([2, 0, 1]).permute([1, 2, 0]).data)).toEqual(Array.from(y.data));
  });
  it("flatten", () => {
    const y = arange(24).reshape([2, 3, 4]);
    expect(flatten(y).shape).toEqual([24]);
    expect(y.flatten(1).shape).toEqual([2, 12]);
    expect(y.flatten(0, 1).shape).toEqual([6, 4]);
    expect(y.flatten(-2, -1).shape).toEqual([2, 12]);
    expect(y.flatten(1, 1).shape).toEqual([2, 3, 4]);
    expect(tensor(3).flatten().shape).toEqual([1]);
    expect(Array.from(y.flatten(1).data)).toEqual(Array.from(y.data));
  });
  it("squeeze and unsqueeze", () => {
    const y = tensor([[[1], [2], [3]]]); // [1, 3, 1]
    expect(squeeze(y).shape).toEqual([3]);
    expect(y.squeeze(0).shape).toEqual([3, 1]);
    expect(y.squeeze(-1).shape).toEqual([1, 3]);
    expect(y.squeeze(1).shape).toEqual([1, 3, 1]); // not size 1: unchanged, as PyTorch
    expect(tensor([5]).squeeze().shape).toEqual([]);
    expect(tensor(5).squeeze(0).shape).toEqual([]);
    expect(unsqueeze(tensor([1, 2]), 0).shape).toEqual([1, 2]);
    expect(tensor([1, 2]).unsqueeze(1).toArray()).toEqual([[1], [2]]);
    expect(tensor([1, 2]).unsqueeze(-1).shape).toEqual([2, 1]);
    expect(tensor([1, 2]).unsqueeze(-2).shape).toEqual([1, 2]);
    expect(tensor(5).unsqueeze(0).shape).toEqual([1]);
  });
  it("clone copies the data and keeps the graph", () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const c = clone(a);
    expect(c.data).not.toBe(a.data);
    expect(c.toArray()).toEqual([1, 2, 3]);
    expect(c.gradFn?.name).toBe("clone");
    c.data[0] = 9;
    expect(a.toArray()).toEqual([1, 2, 3]);
    a.clone().mul(tensor([4, 5, 6])).sum().backward();
    expect(a.grad!.toArray()).toEqual([4, 5, 6]);
  });
});

describe("shape ops: gradcheck", () => {
  const cases: [string, (x: Tensor) => Tensor, number[]][] = [
    ["reshape", (x) => x.reshape([3, 2]), [2, 3]],
    ["reshape with -1", (x) => x.reshape([-1, 4]), [2, 3, 4]],
    ["view", (x) => x.view([6]), [2, 3]],
    ["transpose", (x) => x.transpose(0, 2), [2, 3, 4]],
    ["transpose(-1, -2)", (x) => x.transpose(-1, -2), [2, 3, 4]],
    ["t", (x) => x.t(), [3, 5]],
    ["t of a vector", (x) => x.t(), [4]],
    ["permute", (x) => x.permute([1, 2, 0]), [2, 3, 4]],
    ["flatten", (x) => x.flatten(), [2, 3, 4]],
    ["flatten(1)", (x) => x.flatten(1), [2, 3, 4]],
    ["squeeze", (x) => x.squeeze(), [1, 3, 1]],
    ["squeeze(0)", (x) => x.squeeze(0), [1, 3]],
    ["unsqueeze", (x) => x.unsqueeze(1), [2, 3]],
    ["clone", (x) => x.clone(), [2, 3]],
    ["chained views", (x) => x.t().reshape([2, 3]).unsqueeze(0).permute([2, 0, 1]).flatten().mul(x.flatten()), [3, 2]],
    ["a view used twice", (x) => x.reshape([6]).mul(x.t().flatten()), [3, 2]],
  ];
  it.each(cases)("%s", (_name, f, shape) => {
    expect(gradcheck(f, [randomTensor(shape, shape.length * 7 + 1)])).toBe(true);
  });
  it("a permute's gradient is permuted back (hand-checked)", () => {
    const x = arange(6).reshape([1, 2, 3]);
    x.requiresGrad = true;
    x.permute([2, 0, 1]).mul(arange(6).reshape([3, 1, 2])).sum().backward();
    // out[c, 0, r] = x[0, r, c] is weighted by 2c + r.
    expect(x.grad!.toArray()).toEqual([[[0, 2, 4], [1, 3, 5]]]);
  });
});
