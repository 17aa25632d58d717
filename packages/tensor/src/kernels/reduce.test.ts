// Reduction kernels: index maps, float64 sums over dims, and summing broadcast gradients back to a shape.
import { describe, expect, it } from "vitest";
import { reduceIndexMap, splitAt, sumOverDims, sumToShape } from "./reduce.js";

describe("reduction kernels", () => {
  it("reduceIndexMap numbers the kept dims row-major", () => {
    expect(Array.from(reduceIndexMap([2, 3], [1]))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(Array.from(reduceIndexMap([2, 3], [0]))).toEqual([0, 1, 2, 0, 1, 2]);
    expect(Array.from(reduceIndexMap([2, 2, 2], [0, 2]))).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
  });
  it("sumOverDims", () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]);
    expect(Array.from(sumOverDims(x, [2, 3], [0], 3))).toEqual([5, 7, 9]);
    expect(Array.from(sumOverDims(x, [2, 3], [1], 2))).toEqual([6, 15]);
    expect(Array.from(sumOverDims(x, [2, 3], [0, 1], 1))).toEqual([21]);
    expect(Array.from(sumOverDims(x, [2, 3], [], 6))).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it("sumToShape sums leading dims and dims broadcast from 1", () => {
    const g = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // [2, 2, 3]
    expect(Array.from(sumToShape(g, [2, 2, 3], [3]))).toEqual([22, 26, 30]);
    expect(Array.from(sumToShape(g, [2, 2, 3], [2, 1]))).toEqual([1 + 2 + 3 + 7 + 8 + 9, 4 + 5 + 6 + 10 + 11 + 12]);
    expect(Array.from(sumToShape(g, [2, 2, 3], [1, 2, 3]))).toEqual([8, 10, 12, 14, 16, 18]);
    expect(Array.from(sumToShape(g, [2, 2, 3], []))).toEqual([78]);
  });
  it("splitAt", () => {
    expect(splitAt([2, 3, 4], 1)).toEqual({ outer: 2, size: 3, inner: 4 });
    expect(splitAt([], 0)).toEqual({ outer: 1, size: 1, inner: 1 });
  });
});
