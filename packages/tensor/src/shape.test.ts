// Shape arithmetic: sizes, strides, broadcasting, dim normalisation and the messages of each check.
import { describe, expect, it } from "vitest";
import { ShapeError } from "./errors.js";
import {
  broadcastShapes, checkShape, describeValue, formatShape, normalizeDim, normalizeDims, numel, reducedShape, sameShape,
  stridesOf,
} from "./shape.js";

describe("shape arithmetic", () => {
  it("numel, strides, formatShape, sameShape", () => {
    expect([numel([]), numel([3]), numel([2, 3, 4]), numel([2, 0, 5])]).toEqual([1, 3, 24, 0]);
    expect([stridesOf([]), stridesOf([5]), stridesOf([2, 3, 4])]).toEqual([[], [1], [12, 4, 1]]);
    expect([formatShape([]), formatShape([2, 3])]).toEqual(["[]", "[2, 3]"]);
    expect([sameShape([2, 3], [2, 3]), sameShape([2, 3], [3, 2]), sameShape([2], [2, 1]), sameShape([], [])]).toEqual([true, false, false, true]);
  });

  it.each([
    [[3, 4], [4], [3, 4]], [[3, 1], [1, 4], [3, 4]], [[2, 1, 3], [4, 1], [2, 4, 3]], [[], [2, 3], [2, 3]], [[0, 3], [1], [0, 3]],
  ])("broadcastShapes(%j, %j) is %j", (a, b, out) => {
    expect(broadcastShapes(a, b, "add")).toEqual(out);
    expect(broadcastShapes(b, a, "add")).toEqual(out);
  });

  it("broadcastShapes names the op, both shapes and the dimension", () => {
    expect(() => broadcastShapes([2, 3], [4, 3], "mul")).toThrow(
      new ShapeError("mul: shapes [2, 3] and [4, 3] cannot be broadcast together (size 2 vs 4 at dimension -2)"));
  });

  it("describeValue", () => {
    expect([describeValue(3), describeValue("a"), describeValue([1, [2]]), describeValue(null), describeValue({})]).toEqual(
      ["3", '"a"', "[1, [2]]", "null", "object"]);
  });

  it("normalizeDim maps negatives and rejects what is out of range or not an integer", () => {
    expect([normalizeDim(-1, 3, "sum"), normalizeDim(2, 3, "sum"), normalizeDim(0, 0, "sum"), normalizeDim(-1, 0, "sum")]).toEqual([2, 2, 0, 0]);
    expect(() => normalizeDim(3, 3, "sum")).toThrow(new ShapeError("sum: dim 3 is out of range for a tensor of 3 dimensions"));
    expect(() => normalizeDim(-4, 3, "sum")).toThrow(ShapeError);
    expect(() => normalizeDim(1.5, 3, "sum")).toThrow(new TypeError("sum: dim must be an integer, got 1.5"));
  });

  it("normalizeDims sorts, removes nothing twice, and refuses repeats", () => {
    expect(normalizeDims(undefined, 3, "sum")).toEqual([0, 1, 2]);
    expect(normalizeDims([-1, 0], 3, "sum")).toEqual([0, 2]);
    expect(normalizeDims(1, 3, "sum")).toEqual([1]);
    expect(normalizeDims([0, -1], 0, "sum")).toEqual([]);
    expect(() => normalizeDims([1, -2], 3, "sum")).toThrow(new ShapeError("sum: dim 1 appears multiple times in the list of dims"));
  });

  it("reducedShape keeps reduced dims as 1 with keepdim", () => {
    expect(reducedShape([2, 3, 4], [1], false)).toEqual([2, 4]);
    expect(reducedShape([2, 3, 4], [0, 2], true)).toEqual([1, 3, 1]);
    expect(reducedShape([2, 3], [0, 1], false)).toEqual([]);
  });

  it("checkShape accepts non-negative integers and names the op otherwise", () => {
    expect(() => checkShape([2, 0, 3], "zeros")).not.toThrow();
    expect(() => checkShape([2, -1], "zeros")).toThrow(new ShapeError("zeros: shape must hold non-negative integers, got [2, -1]"));
    expect(() => checkShape([1.5], "zeros")).toThrow(ShapeError);
    expect(() => checkShape(3 as unknown as number[], "zeros")).toThrow(new TypeError("zeros: shape must be an array of integers, got 3"));
  });
});
