// Printing: PyTorch's exact reprs (scripts/goldens_edge.py runs PyTorch's own printing code), console.log in Node,
// Python's number formats, and the print options.
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { loadFixture } from "@tsgrad/testing";
import { defineOp } from "./autograd.js";
import { tensor, zeros } from "./creation.js";
import { formatExponential, formatFixed, getPrintOptions, setPrintOptions, type SetPrintOptionsOptions } from "./format.js";
import { Tensor } from "./tensor.js";

interface Stored {
  readonly shape: number[];
  readonly data: (number | "NaN" | "Infinity" | "-Infinity")[];
}

interface ReprCase {
  readonly name: string;
  readonly input: Stored;
  /** null, "leaf" (requires grad) or the name of the op that made it. */
  readonly grad: string | null;
  readonly options: SetPrintOptionsOptions;
  readonly toString: string;
  readonly inspect: string;
}

interface NumberCase {
  readonly value: number | "NaN" | "Infinity" | "-Infinity";
  readonly precision: number;
  readonly fixed: string;
  readonly exponential: string;
}

const golden = loadFixture<{ tensorRepr: ReprCase[]; numberFormat: NumberCase[] }>("edge-golden.json");

/** The case's tensor: a leaf, or the output of a one-node op named as PyTorch's grad_fn would be here. */
function build(c: ReprCase): Tensor {
  const values = Float32Array.from(c.input.data.map(Number));
  if (c.grad === null) return tensor(values, { shape: c.input.shape });
  const leaf = tensor(values, { shape: c.input.shape, requiresGrad: true });
  if (c.grad === "leaf") return leaf;
  return defineOp({ name: c.grad, inputs: [leaf], output: values.slice(), shape: c.input.shape, backward: (g) => [g] });
}

afterEach(() => setPrintOptions({ profile: "default" }));

describe("tensor repr: PyTorch's exact strings", () => {
  it("covers the fixture", () => expect(golden.tensorRepr.length).toBeGreaterThan(40));
  it.each(golden.tensorRepr.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    setPrintOptions(c.options);
    const t = build(c);
    expect(t.toString()).toBe(c.toString);
    expect(String(t)).toBe(c.toString);
    expect(`${t}`).toBe(c.toString);
    expect(inspect(t)).toBe(c.inspect); // what console.log prints
  });
});

describe("console.log in Node", () => {
  it("shows values, shape and requiresGrad, not the fields of the class", () => {
    const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    expect(inspect(w)).toBe("tensor([[1., 2.],\n        [3., 4.]], shape=[2, 2], requiresGrad=true)");
    const y = w.mul(2);
    expect(inspect(y)).toBe("tensor([[2., 4.],\n        [6., 8.]], shape=[2, 2], gradFn=<mul>)");
    expect(inspect(y)).not.toMatch(/data|Float32Array|requiresGradFlag/);
    expect(inspect(y.gradFn)).toBe("<mul>");
    expect(String(y.gradFn)).toBe("<mul>");
    expect(inspect({ loss: tensor(0.25) })).toBe("{ loss: tensor(0.2500, shape=[]) }");
  });
  it("summarises a big tensor: a million elements print as a few lines", () => {
    const big = zeros([1000, 1000]);
    big.data[0] = 1.5;
    const text = inspect(big);
    const lines = text.split("\n");
    expect(lines.length).toBe(8); // 3 rows, "...", 3 rows, and the suffix, which no longer fits the last line
    expect(lines[0]).toBe("tensor([[1.5000, 0.0000, 0.0000,  ..., 0.0000, 0.0000, 0.0000],");
    expect(lines[3]).toBe("        ...,");
    expect(lines[7]).toBe("       shape=[1000, 1000])");
  });
});

describe("Python's number formats, as PyTorch prints them", () => {
  it.each(golden.numberFormat.map((c) => [c.value, c.precision, c] as const))("%s with %d digits", (_v, p, c) => {
    const v = Number(c.value);
    expect(formatFixed(v, p)).toBe(c.fixed);
    expect(formatExponential(v, p)).toBe(c.exponential);
  });
});

describe("setPrintOptions", () => {
  it("changes only the options given, applies a profile first, and is read back by getPrintOptions", () => {
    setPrintOptions({ precision: 2 });
    setPrintOptions({ linewidth: 60 });
    expect(getPrintOptions()).toEqual({ precision: 2, threshold: 1000, edgeitems: 3, linewidth: 60, sciMode: null });
    setPrintOptions({ profile: "full", precision: 1 });
    expect(getPrintOptions()).toEqual({ precision: 1, threshold: Infinity, edgeitems: 3, linewidth: 80, sciMode: null });
    expect(tensor([1.25, 2]).toString()).toBe("tensor([1.2, 2.0])");
  });
  it.each<[SetPrintOptionsOptions, ErrorConstructor, string]>([
    [{ precision: -1 }, RangeError, "setPrintOptions: precision must be an integer from 0 to 50, got -1"],
    [{ precision: 1.5 }, RangeError, "setPrintOptions: precision must be an integer from 0 to 50, got 1.5"],
    [{ edgeitems: 0 }, RangeError, "setPrintOptions: edgeitems must be an integer from 1 to 1000000, got 0"],
    [{ linewidth: 0 }, RangeError, "setPrintOptions: linewidth must be an integer from 1 to 1000000, got 0"],
    [{ threshold: -5 }, RangeError, "setPrintOptions: threshold must be a number >= 0 (Infinity for no summary), got -5"],
    [{ sciMode: "yes" as unknown as boolean }, TypeError, "setPrintOptions: sciMode must be true, false or null, got yes"],
    [{ profile: "long" as "full" }, RangeError, 'setPrintOptions: profile must be "default", "short" or "full", got "long"'],
  ])("rejects %o", (options, kind, message) => {
    const before = getPrintOptions();
    expect(() => setPrintOptions(options)).toThrow(new kind(message));
    expect(getPrintOptions()).toEqual(before);
  });
});
