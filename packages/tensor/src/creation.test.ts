// Factories and conversions: tensor() from every accepted input, zeros/ones/full/arange, and copying accessors.
import { describe, expect, it } from "vitest";
import { arange, full, ones, onesLike, tensor, zeros, zerosLike } from "./creation.js";
import { Tensor } from "./tensor.js";

describe("tensor()", () => {
  it("from a number: a 0-d tensor", () => {
    const t = tensor(2.5);
    expect(t.shape).toEqual([]);
    expect(t.ndim).toBe(0);
    expect(t.numel).toBe(1);
    expect(t.item()).toBe(2.5);
    expect(t.toArray()).toBe(2.5);
  });
  it("from nested arrays", () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor([[[1], [2]], [[3], [4]]]).shape).toEqual([2, 2, 1]);
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
    expect(tensor([[], []]).toArray()).toEqual([[], []]);
  });
  it("rounds to float32", () => {
    expect(tensor([0.1]).data[0]).toBe(Math.fround(0.1));
    expect(tensor([1e40, -1e40]).toArray()).toEqual([Infinity, -Infinity]);
    expect(tensor([NaN]).toArray()).toEqual([NaN]);
  });
  it("from a Float32Array (copied), flat or with a shape", () => {
    const src = new Float32Array([1, 2, 3, 4, 5, 6]);
    const flat = tensor(src);
    expect(flat.shape).toEqual([6]);
    const t = tensor(src, { shape: [3, 2] });
    expect(t.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    src[0] = 100;
    expect(t.data[0]).toBe(1);
    expect(flat.data[0]).toBe(1);
  });
  it("from any ArrayLike<number> with a shape", () => {
    expect(tensor(new Float64Array([1.5, 2.5]), { shape: [2, 1] }).toArray()).toEqual([[1.5], [2.5]]);
    expect(tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] }).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tensor(new Uint8Array([7, 8])).toArray()).toEqual([7, 8]);
    expect(tensor({ length: 3, 0: 1, 1: 2, 2: 3 }, { shape: [3] }).toArray()).toEqual([1, 2, 3]);
    expect(tensor([1, 2, 3, 4], { shape: [2, 2] }).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tensor(5, { shape: [1, 1] }).toArray()).toEqual([[5]]);
    expect(tensor([5], { shape: [] }).shape).toEqual([]);
  });
  it("requiresGrad makes a leaf that collects gradients", () => {
    const t = tensor([1, 2], { requiresGrad: true });
    expect(t.requiresGrad).toBe(true);
    expect(t.isLeaf).toBe(true);
    expect(t.grad).toBeNull();
    expect(tensor([1, 2]).requiresGrad).toBe(false);
  });
  it("nested arrays are copied", () => {
    const rows = [[1, 2], [3, 4]];
    const t = tensor(rows);
    rows[0]![0] = 9;
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
  });
});

describe("conversions", () => {
  it("toFloat32Array is a row-major copy", () => {
    const t = tensor([[1, 2], [3, 4]]);
    const a = t.toFloat32Array();
    expect(a).toBeInstanceOf(Float32Array);
    expect(Array.from(a)).toEqual([1, 2, 3, 4]);
    a[0] = 9;
    expect(t.data[0]).toBe(1);
    expect(Array.from(t.t().toFloat32Array())).toEqual([1, 3, 2, 4]);
  });
  it("toArray returns fresh nested arrays; item reads one element", () => {
    const t = tensor([[1, 2], [3, 4]]);
    const a = t.toArray() as number[][];
    a[0]![0] = 9;
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tensor([[7]]).item()).toBe(7);
    expect(tensor([3]).item()).toBe(3);
  });
  it("clone copies the values; detach shares them", () => {
    const t = tensor([1, 2]);
    const c = t.clone();
    c.data[0] = 5;
    expect(t.toArray()).toEqual([1, 2]);
    expect(t.detach().data).toBe(t.data);
  });
  it("toString is PyTorch's repr (torch.tensor([[1., 2.]], requires_grad=True)), in this API's words", () => {
    expect(tensor([[1, 2]], { requiresGrad: true }).toString()).toBe("tensor([[1., 2.]], requiresGrad=true)");
  });
  it("shape is readonly", () => {
    const t = tensor([1, 2]);
    expect(Object.isFrozen(t.shape)).toBe(true);
  });
});

describe("zeros, ones, full, *Like, arange", () => {
  it("zeros, ones, full", () => {
    expect(zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(ones([2]).toArray()).toEqual([1, 1]);
    expect(full([2, 2], 7.5).toArray()).toEqual([[7.5, 7.5], [7.5, 7.5]]);
    expect(zeros([]).shape).toEqual([]);
    expect(ones([]).item()).toBe(1);
    expect(zeros([0, 4]).numel).toBe(0);
    expect(ones([2], { requiresGrad: true }).requiresGrad).toBe(true);
    const like = tensor([[1, 2, 3]]);
    expect(zerosLike(like).toArray()).toEqual([[0, 0, 0]]);
    expect(onesLike(like).toArray()).toEqual([[1, 1, 1]]);
  });
  it.each([
    [[5], [0, 1, 2, 3, 4]],
    [[0], []],
    [[2.5], [0, 1, 2]],
    [[1, 4], [1, 2, 3]],
    [[1, 2, 0.25], [1, 1.25, 1.5, 1.75]],
    [[0, 1, 0.3], [0, 0.3, 0.6, 0.9].map(Math.fround)],
    [[5, 1, -1], [5, 4, 3, 2]],
    [[1, -1, -0.5], [1, 0.5, 0, -0.5]],
    [[-3, 3, 2], [-3, -1, 1]],
    [[3, 3], []],
    [[1, 2.5], [1, 2]],
  ] as [number[], number[]][])("arange(%j) is %j, as torch.arange", (args, expected) => {
    const t = arange(args[0]!, args[1], args[2]);
    expect(t.shape).toEqual([expected.length]);
    expect(Array.from(t.data)).toEqual(expected.map(Math.fround));
  });
  it("arange takes factory options", () => {
    expect(arange(0, 3, 1, { requiresGrad: true }).requiresGrad).toBe(true);
  });
  it("factories make independent tensors", () => {
    const a = zeros([2]);
    const b = zeros([2]);
    a.data[0] = 1;
    expect(b.data[0]).toBe(0);
    expect(a).toBeInstanceOf(Tensor);
  });
});
