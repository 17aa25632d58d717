// crossEntropy against PyTorch goldens (and the edge goldens: huge logits, ±inf/NaN rows), gradcheck in every mode,
// errors from a table, one graph node, stability.
import { describe, expect, it } from "vitest";
import { loadFixture, loadGolden, type GoldenTensor } from "@tsgrad/testing";
import { Tensor, Generator, gradcheck, randn, rand, tensor } from "@tsgrad/tensor";
import { crossEntropy, nllLoss, CrossEntropyLoss, type CrossEntropyOptions, type Reduction } from "./index.js";

interface GoldenOptions {
  weight: GoldenTensor | null;
  ignoreIndex: number;
  reduction: Reduction;
  labelSmoothing: number;
}

const leaf = (t: GoldenTensor, requiresGrad = false): Tensor => tensor(t.data, { shape: t.shape, requiresGrad });

describe("crossEntropy: PyTorch golden cases", () => {
  const cases = loadGolden("cross_entropy");
  it("covers the golden file", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const input = leaf(c["input"] as GoldenTensor, true);
    const target = leaf(c["target"] as GoldenTensor);
    const o = c["options"] as GoldenOptions;
    const options: CrossEntropyOptions = {
      weight: o.weight === null ? null : leaf(o.weight),
      ignoreIndex: o.ignoreIndex,
      reduction: o.reduction,
      labelSmoothing: o.labelSmoothing,
    };
    const loss = crossEntropy(input, target, options);
    const expected = c["output"] as GoldenTensor;
    expect(loss.shape).toEqual(expected.shape);
    // Forward and gradient are checked separately: a fused op has two code paths.
    expect(loss).toBeAllClose(expected);
    loss.mul(leaf(c["upstream"] as GoldenTensor)).sum().backward();
    const grad = c["gradInput"] as GoldenTensor;
    expect(input.grad).not.toBeNull();
    expect(input.grad!.shape).toEqual(grad.shape);
    expect(input.grad!).toBeAllClose(grad);
  });
});

/** A tensor of the edge fixture (scripts/goldens_edge.py): NaN and ±inf stored as strings. */
interface Stored {
  readonly shape: number[];
  readonly data: (number | "NaN" | "Infinity" | "-Infinity")[];
}

interface EdgeCase {
  readonly name: string;
  readonly op: string;
  readonly input: Stored;
  readonly output: Stored;
  readonly upstream: Stored;
  readonly grad: Stored;
  readonly options: {
    readonly target?: number[];
    readonly probabilities?: Stored;
    readonly reduction?: Reduction;
    readonly labelSmoothing?: number;
    readonly ignoreIndex?: number;
    readonly weight?: Stored;
  };
}

const stored = (s: Stored, requiresGrad = false): Tensor =>
  tensor(s.data.map(Number), { shape: s.shape, requiresGrad });

describe("crossEntropy at the edges: huge logits, ±inf and NaN rows, against PyTorch", () => {
  const cases = loadFixture<{ reductions: EdgeCase[] }>("edge-golden.json").reductions.filter((c) => c.op === "crossEntropy");
  it("covers every magnitude and special row", () => {
    expect(cases.length).toBeGreaterThanOrEqual(70);
    expect(cases.some((c) => c.name.includes("magnitude 1e+16"))).toBe(true);
  });
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const o = c.options;
    const x = stored(c.input, true);
    const target = o.probabilities !== undefined ? stored(o.probabilities) : o.target!;
    const options: CrossEntropyOptions = {
      ...(o.reduction !== undefined && { reduction: o.reduction }),
      ...(o.labelSmoothing !== undefined && { labelSmoothing: o.labelSmoothing }),
      ...(o.ignoreIndex !== undefined && { ignoreIndex: o.ignoreIndex }),
      ...(o.weight !== undefined && { weight: stored(o.weight) }),
    };
    const loss = crossEntropy(x, target, options);
    expect(loss.shape).toEqual(c.output.shape);
    expect(loss).toBeAllClose(c.output.data.map(Number), { atol: 1e-6, rtol: 1e-5 });
    loss.backward(stored(c.upstream));
    expect(x.grad!).toBeAllClose(c.grad.data.map(Number), { atol: 1e-6, rtol: 1e-5 });
  });
  it("the loss of [[1e16, 1e16, 0]] is log 2 and its gradient (p − onehot)", () => {
    const x = tensor([[1e16, 1e16, 0]], { requiresGrad: true });
    const loss = crossEntropy(x, [1]);
    expect(loss.item()).toBeCloseTo(Math.LN2, 6);
    loss.backward();
    expect(x.grad!.toArray()).toEqual([[0.5, -0.5, 0]]);
  });
});

describe("crossEntropy: one fused node", () => {
  it("records exactly one node whose only input is the logits (class indices)", () => {
    const x = randn([4, 5], { requiresGrad: true, generator: new Generator(1) });
    const loss = crossEntropy(x, [0, 1, 2, 3], { labelSmoothing: 0.2, weight: rand([5]) });
    expect(loss.gradFn).not.toBeNull();
    expect(loss.gradFn!.name).toBe("crossEntropy");
    expect(loss.gradFn!.inputs).toHaveLength(1);
    expect(loss.gradFn!.inputs[0]).toBe(x);
  });

  it("takes the probability target as a second input only when it requires grad", () => {
    const g = new Generator(2);
    const x = randn([3, 4], { requiresGrad: true, generator: g });
    const p = randn([3, 4], { generator: g }).softmax(1);
    const fixed = crossEntropy(x, p.detach());
    expect(fixed.gradFn!.inputs).toEqual([x]);
    const q = p.detach();
    q.requiresGrad = true;
    const both = crossEntropy(x, q);
    expect(both.gradFn!.name).toBe("crossEntropy");
    expect(both.gradFn!.inputs).toHaveLength(2);
    expect(both.gradFn!.inputs[1]).toBe(q);
  });

  it("records no node for a logits tensor that does not require grad", () => {
    expect(crossEntropy(randn([2, 3]), [0, 1]).gradFn).toBeNull();
  });
});

describe("crossEntropy: gradcheck in every mode", () => {
  const g = new Generator(7);
  const w = rand([5], { generator: g }).add(0.5);
  const idx = [0, 3, -100, 4, 1, 2];
  // The ignored slot holds the mode's ignoreIndex (3 must then be ignored wherever it appears).
  const ignored = (values: number[], o: CrossEntropyOptions): number[] => values.map((v) => (v === -100 ? (o.ignoreIndex ?? -100) : v));
  const modes: [string, CrossEntropyOptions][] = [];
  for (const reduction of ["mean", "sum", "none"] as const) {
    modes.push([`${reduction}`, { reduction }]);
    modes.push([`${reduction} + weight`, { reduction, weight: w }]);
    modes.push([`${reduction} + ignoreIndex 3`, { reduction, ignoreIndex: 3 }]);
    modes.push([`${reduction} + smoothing`, { reduction, labelSmoothing: 0.3 }]);
    modes.push([`${reduction} + weight + smoothing`, { reduction, weight: w, labelSmoothing: 0.15 }]);
  }
  it.each(modes)("class indices [6, 5], %s", (_name, options) => {
    const x = randn([6, 5], { requiresGrad: true, generator: g });
    expect(gradcheck((z) => crossEntropy(z, ignored(idx, options), options), [x])).toBe(true);
  });
  it.each(modes.filter(([, o]) => o.ignoreIndex === undefined))("probability targets [4, 5], %s", (_name, options) => {
    const x = randn([4, 5], { requiresGrad: true, generator: g });
    const t = randn([4, 5], { generator: g }).softmax(1).detach();
    t.requiresGrad = true;
    expect(gradcheck((z, p) => crossEntropy(z, p, options), [x, t])).toBe(true);
  });
  it.each(modes)("K-dimensional [2, 5, 3], %s", (_name, options) => {
    const x = randn([2, 5, 3], { requiresGrad: true, generator: g });
    const y = tensor(ignored([0, 4, 2, -100, 3, 1], options), { shape: [2, 3] });
    expect(gradcheck((z) => crossEntropy(z, y, options), [x])).toBe(true);
  });
  it.each(modes.filter(([, o]) => o.ignoreIndex === undefined))("unbatched [5], %s", (_name, options) => {
    const x = randn([5], { requiresGrad: true, generator: g });
    expect(gradcheck((z) => crossEntropy(z, tensor(2), options), [x])).toBe(true);
  });
  it("nllLoss with weight and ignored targets", () => {
    const x = randn([6, 5], { requiresGrad: true, generator: g });
    expect(gradcheck((z) => nllLoss(z.logSoftmax(1), idx, { weight: w }), [x])).toBe(true);
  });
});

describe("crossEntropy: semantics", () => {
  const x = tensor([[1, 2, 3], [0.5, -1, 2], [3, 3, -2]], { requiresGrad: true });

  it("gives NaN for mean when every target is ignored, and a zero gradient", () => {
    const loss = crossEntropy(x, [-100, -100, -100]);
    expect(Number.isNaN(loss.item())).toBe(true);
    loss.backward();
    expect(x.grad!).toBeAllClose(new Float32Array(9));
    x.grad = null;
    expect(Number.isNaN(crossEntropy(x, [1, 1, 1], { ignoreIndex: 1, labelSmoothing: 0.1 }).item())).toBe(true);
    expect(crossEntropy(x, [-100, -100, -100], { reduction: "sum" }).item()).toBe(0);
  });

  it("accepts a Tensor, Int32Array, Uint8Array or number[] target alike", () => {
    const ref = crossEntropy(x, tensor([2, 0, 1])).item();
    expect(crossEntropy(x, new Int32Array([2, 0, 1])).item()).toBe(ref);
    expect(crossEntropy(x, new Uint8Array([2, 0, 1])).item()).toBe(ref);
    expect(crossEntropy(x, [2, 0, 1]).item()).toBe(ref);
    expect(new CrossEntropyLoss().forward(x, [2, 0, 1]).item()).toBe(ref);
  });

  it("matches a float64 reference for mean with ignored rows and smoothing (same denominator)", () => {
    const z = [[1, 2, 3], [0.5, -1, 2], [3, 3, -2]];
    const y = [2, -100, 1];
    const eps = 0.2;
    let total = 0;
    z.forEach((row, r) => {
      if (y[r] === -100) return;
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      const nll = lse - row[y[r]!]!;
      const smooth = row.reduce((a, v) => a + (lse - v), 0);
      total += (1 - eps) * nll + (eps / 3) * smooth;
    });
    expect(crossEntropy(x, y, { labelSmoothing: eps }).item()).toBeCloseTo(total / 2, 5);
  });
});

describe("crossEntropy: target and weight forms", () => {
  const logits = tensor([[1.5, -0.5, 0.25], [0.1, 0.2, -2], [3, 1, 0.5], [-1, 0, 1]]);
  const reference = crossEntropy(logits, tensor([2, 0, 1, 2]), { weight: tensor([0.5, 2, 1]) }).item();

  it.each([
    ["number[]", [2, 0, 1, 2]],
    ["Int32Array", Int32Array.from([2, 0, 1, 2])],
    ["Uint8Array", Uint8Array.from([2, 0, 1, 2])],
    ["Float32Array", Float32Array.from([2, 0, 1, 2])],
    ["Float64Array", Float64Array.from([2, 0, 1, 2])],
  ])("class indices as %s give the Tensor's loss", (_name, target) => {
    expect(crossEntropy(logits, target, { weight: tensor([0.5, 2, 1]) }).item()).toBe(reference);
  });

  it("takes the weight as plain numbers", () => {
    expect(crossEntropy(logits, [2, 0, 1, 2], { weight: [0.5, 2, 1] }).item()).toBe(reference);
    expect(crossEntropy(logits, [2, 0, 1, 2], { weight: Float32Array.from([0.5, 2, 1]) }).item()).toBe(reference);
  });

  it("takes one number as the target of an unbatched [C] input", () => {
    const x = tensor([0.3, -1.2, 2.5, 0]);
    const expected = crossEntropy(x, tensor(2, {})).item();
    expect(crossEntropy(x, 2).item()).toBe(expected);
    expect(() => crossEntropy(x, 4)).toThrow("Target 4 is out of bounds.");
    expect(() => crossEntropy(logits, 1)).toThrow(/Expected input batch size \(4\) to match target batch size \(1\)/);
  });

  it("rejects what is not class indices", () => {
    expect(() => crossEntropy(logits, "2" as never)).toThrow(TypeError);
    expect(() => crossEntropy(logits, [2, 0, 1, 2], { weight: "x" as never })).toThrow(/weight must be a Tensor, numbers or null/);
  });
});

describe("crossEntropy: stability", () => {
  // Rows are built so that the exact loss is known in closed form: logits (a + 0, a + 1, a + 2) for any offset a.
  const lse012 = Math.log(1 + Math.E + Math.E ** 2);
  it.each([[1000], [-5000], [1e4], [-1e4]])("offset %d gives the exact loss and gradient", (a) => {
    const x = tensor([[a, a + 1, a + 2], [a + 2, a, a + 1]], { requiresGrad: true });
    const loss = crossEntropy(x, [0, 1]);
    expect(loss.item()).toBeCloseTo(lse012 - 0, 4);
    loss.backward();
    const p = [1, Math.E, Math.E ** 2].map((v) => v / (1 + Math.E + Math.E ** 2));
    const expected = [p[0]! - 1, p[1]!, p[2]!, p[2]!, p[0]! - 1, p[1]!].map((v) => v / 2);
    expect(x.grad!).toBeAllClose(expected);
  });

  it("logits of magnitude 1e4 give a finite loss and gradient", () => {
    const x = tensor([[1e4, -1e4, 0], [-1e4, 1e4, 5e3]], { requiresGrad: true });
    const loss = crossEntropy(x, [1, 1], { labelSmoothing: 0.1 });
    expect(Number.isFinite(loss.item())).toBe(true);
    // Row 0: nll 2e4, smooth Σ(lse − z) = 0 + 2e4 + 1e4; row 1: nll 0, smooth 2e4 + 0 + 5e3.
    expect(loss.item()).toBeCloseTo((0.9 * 2e4 + (0.1 / 3) * 3e4 + (0.1 / 3) * 2.5e4) / 2, 1);
    loss.backward();
    expect(Array.from(x.grad!.data).every(Number.isFinite)).toBe(true);
  });
});

describe("crossEntropy: errors in PyTorch's words", () => {
  const x = randn([4, 10]);
  const bad: [string, () => unknown, RegExp][] = [
    ["target out of bounds", () => crossEntropy(x, [0, 10, 1, 2]), /Target 10 is out of bounds\./],
    ["negative target", () => crossEntropy(x, [0, -1, 1, 2]), /Target -1 is out of bounds\./],
    ["batch size", () => crossEntropy(x, [0, 1, 2]), /Expected input batch size \(4\) to match target batch size \(3\)\./],
    ["batch size (Tensor)", () => crossEntropy(x, tensor([0, 1, 2])), /Expected input batch size \(4\) to match target batch size \(3\)\./],
    ["non-integral index", () => crossEntropy(x, [0, 1.5, 1, 2]), /expected class indices \(whole numbers\).*1\.5 at index 1/],
    ["NaN index", () => crossEntropy(x, [0, NaN, 1, 2]), /expected class indices/],
    ["weight length", () => crossEntropy(x, [0, 1, 2, 3], { weight: randn([5]) }), /weight tensor should be defined either for all 10 classes or no classes but got weight tensor of shape: \[5\]/],
    ["smoothing 1.5", () => crossEntropy(x, [0, 1, 2, 3], { labelSmoothing: 1.5 }), /labelSmoothing must be between 0\.0 and 1\.0\. Got: 1\.5/],
    ["smoothing -0.1", () => crossEntropy(x, [0, 1, 2, 3], { labelSmoothing: -0.1 }), /labelSmoothing must be between 0\.0 and 1\.0\. Got: -0\.1/],
    ["unknown reduction", () => crossEntropy(x, [0, 1, 2, 3], { reduction: "avg" as Reduction }), /avg is not a valid value for reduction/],
    ["scalar input", () => crossEntropy(tensor(1), [0]), /Expected 1 or more dimensions \(got 0\)/],
    ["K-dim target shape", () => crossEntropy(randn([2, 3, 4]), tensor([[0, 1, 2], [0, 1, 2]])), /Expected target size \[2, 4\], got \[2, 3\]/],
    ["2-D target for [N, C]", () => crossEntropy(x, tensor([[0], [1], [2], [3]])), /0D or 1D target tensor expected/],
    ["ignoreIndex with probabilities", () => crossEntropy(x, randn([4, 10]), { ignoreIndex: 1 }), /ignoreIndex is not supported for floating point target/],
    ["target kind", () => crossEntropy(x, "abc" as unknown as number[]), /expected target to be a Tensor/],
    ["module: smoothing", () => new CrossEntropyLoss({ labelSmoothing: 1.5 }), /labelSmoothing must be between 0\.0 and 1\.0\. Got: 1\.5/],
    ["module: reduction", () => new CrossEntropyLoss({ reduction: "avg" as Reduction }), /avg is not a valid value for reduction/],
  ];
  it.each(bad)("%s", (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});
