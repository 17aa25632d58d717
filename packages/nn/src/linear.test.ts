// Linear: PyTorch's initialisation, the fused x·Wᵀ + b node, shapes [in], [N, in], [..., in], and its gradient.
import { describe, expect, it } from "vitest";
import { loadGolden, type GoldenTensor } from "@tsgrad/testing";
import { Tensor, Generator, gradcheck, randn, tensor } from "@tsgrad/tensor";
import { Linear, linear } from "./index.js";

describe("Linear: initialisation as PyTorch (uniform in ±1/√in)", () => {
  const fc = new Linear(784, 128, { generator: new Generator(0) });
  const bound = 1 / Math.sqrt(784);

  it("has weight [128, 784] and bias [128], both requiring grad", () => {
    expect(fc.weight.shape).toEqual([128, 784]);
    expect(fc.bias!.shape).toEqual([128]);
    expect(fc.weight.requiresGrad && fc.bias!.requiresGrad).toBe(true);
  });

  it.each([["weight"], ["bias"]] as const)("%s stays within the bound and fills it", (name) => {
    const d = (name === "weight" ? fc.weight : fc.bias!).data;
    let min = Infinity;
    let max = -Infinity;
    for (const v of d) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(-bound);
    expect(max).toBeLessThanOrEqual(bound);
    // 128 uniform draws reach within 5% of each end with probability 1 − 2·0.95^128 ≈ 0.997; fixed seed, so exact.
    expect(min).toBeLessThan(-0.95 * bound);
    expect(max).toBeGreaterThan(0.95 * bound);
  });

  it("has the mean and variance of U(−b, b) over its 100352 weights", () => {
    const d = fc.weight.data;
    let s = 0;
    let s2 = 0;
    for (const v of d) {
      s += v;
      s2 += v * v;
    }
    const mean = s / d.length;
    const variance = s2 / d.length - mean * mean;
    // σ of the mean is b/√(3n) ≈ 6.5e-5: 5σ bounds.
    expect(Math.abs(mean)).toBeLessThan(3.3e-4);
    // Variance b²/3; its relative standard error is ≈ √(0.8/n) ≈ 0.3%: 2% is over 6σ.
    expect(variance / (bound * bound / 3)).toBeGreaterThan(0.98);
    expect(variance / (bound * bound / 3)).toBeLessThan(1.02);
  });

  it("is reproducible from a seed and differs between seeds", () => {
    const a = new Linear(10, 3, { generator: new Generator(5) });
    const b = new Linear(10, 3, { generator: new Generator(5) });
    const c = new Linear(10, 3, { generator: new Generator(6) });
    expect(Array.from(a.weight.data)).toEqual(Array.from(b.weight.data));
    expect(Array.from(a.weight.data)).not.toEqual(Array.from(c.weight.data));
  });

  it("has no bias with { bias: false }", () => {
    const fc2 = new Linear(4, 2, { bias: false });
    expect(fc2.bias).toBeNull();
    expect(fc2.namedParameters().map(([n]) => n)).toEqual(["weight"]);
  });

  it.each([[-1, 2], [2.5, 2], [3, NaN]])("rejects features (%d, %d)", (i, o) => {
    expect(() => new Linear(i, o)).toThrow(/must be a non-negative integer/);
  });
});

describe("linear: one fused node", () => {
  const g = new Generator(11);
  const w = randn([4, 6], { generator: g, requiresGrad: true });
  const b = randn([4], { generator: g, requiresGrad: true });

  const goldens = loadGolden("op").filter((k) => k["op"] === "linear");
  it("has golden linear cases", () => {
    expect(goldens.length).toBeGreaterThanOrEqual(1);
  });
  it.each(goldens.map((c) => [c.name, c] as const))("matches the PyTorch golden case %s, forward and gradients", (_name, c) => {
    const args = (c["args"] as GoldenTensor[]).map((a) => tensor(a.data, { shape: a.shape, requiresGrad: true }));
    const y = linear(args[0]!, args[1]!, args[2]);
    const out = c["output"] as GoldenTensor;
    expect(y.shape).toEqual(out.shape);
    expect(y).toBeAllClose(out);
    const up = c["upstream"] as GoldenTensor;
    y.mul(tensor(up.data, { shape: up.shape })).sum().backward();
    (c["grads"] as GoldenTensor[]).forEach((gr, i) => expect(args[i]!.grad!, `grad of argument ${i}`).toBeAllClose(gr));
  });

  it("records one node named linear with inputs [x, weight, bias]", () => {
    const x = randn([3, 6], { generator: g, requiresGrad: true });
    const y = linear(x, w, b);
    expect(y.gradFn!.name).toBe("linear");
    expect(y.gradFn!.inputs).toEqual([x, w, b]);
    expect(y.gradFn!.inputs[1]).toBe(w);
    expect(linear(x, w).gradFn!.inputs).toHaveLength(2);
  });

  it.each([[[6]], [[3, 6]], [[2, 3, 6]], [[2, 1, 2, 6]]])("x of shape %j equals x·Wᵀ + b row by row", (shape) => {
    const x = randn(shape, { generator: g });
    const y = linear(x, w, b);
    expect(y.shape).toEqual([...shape.slice(0, -1), 4]);
    const ref = x.reshape([-1, 6]).matmul(w.t()).add(b).reshape([...shape.slice(0, -1), 4]);
    expect(y).toBeAllClose(ref);
  });

  it.each([[[6]], [[3, 6]], [[2, 3, 6]]])("passes gradcheck for x of shape %j", (shape) => {
    const x = randn(shape, { generator: g, requiresGrad: true });
    expect(gradcheck((xx, ww, bb) => linear(xx, ww, bb), [x, w, b])).toBe(true);
    expect(gradcheck((xx, ww) => linear(xx, ww), [x, w])).toBe(true);
  });

  it("Linear.forward is linear(x, weight, bias)", () => {
    const fc = new Linear(6, 4, { generator: new Generator(1) });
    const x = randn([5, 6], { generator: g });
    expect(fc.forward(x)).toBeAllClose(linear(x, fc.weight, fc.bias));
  });

  it.each([
    ["x [3, 5] with weight [4, 6]", () => linear(randn([3, 5]), w, b), /linear: expected x \[\.\.\., in\] and weight \[out, in\], got \[3, 5\] and \[4, 6\]/],
    ["bias [3]", () => linear(randn([3, 6]), w, randn([3])), /linear: expected bias \[4\].*got \[3\]/],
    ["scalar x", () => linear(tensor(1), w, b), /linear: expected x/],
  ] as [string, () => Tensor, RegExp][])("rejects %s", (_n, fn, message) => {
    expect(fn).toThrow(message);
  });
});

// The reference model's initial values against PyTorch's nn.Linear law (issue 16): weights by kaiming_uniform_(a=√5),
// biases by U(±1/√fan_in). Each bound is crossed with probability about 1e-5 by a sound initialisation (|z| ≤ 4.42;
// √n·D ≤ 2.47 for Kolmogorov–Smirnov; end gaps ≤ 12 expected gaps, e^−12); the seeds are fixed, so never flaky.
describe("Linear: initial values of Linear(784, 128) → Linear(128, 10) against PyTorch's law, seeds 1–8", () => {
  /** PyTorch's bound: kaiming_uniform_(a=√5) has gain √(2/(1 + a²)), std gain/√fan_in and bound √3·std. */
  const kaimingBound = (fanIn: number): number => Math.sqrt(3) * (Math.sqrt(2 / (1 + 5)) / Math.sqrt(fanIn));
  const ks = (d: Float32Array, b: number): number => {
    const s = Float64Array.from(d).sort();
    let dist = 0;
    for (let i = 0; i < s.length; i++) {
      const f = (s[i]! + b) / (2 * b);
      dist = Math.max(dist, (i + 1) / s.length - f, f - i / s.length);
    }
    return Math.sqrt(s.length) * dist;
  };

  it.each([1, 2, 3, 4, 5, 6, 7, 8])("seed %d: each tensor is U(−b, b) with PyTorch's b, inside it and filling it", (seed) => {
    const g = new Generator(seed);
    const layers = [new Linear(784, 128, { generator: g }), new Linear(128, 10, { generator: g })];
    for (const fc of layers) {
      const b = kaimingBound(fc.inFeatures);
      expect(b).toBeCloseTo(1 / Math.sqrt(fc.inFeatures), 15); // PyTorch's bias bound is the same
      for (const t of [fc.weight, fc.bias!]) {
        const d = t.data;
        const n = d.length;
        let s = 0;
        let s2 = 0;
        let min = Infinity;
        let max = -Infinity;
        for (const v of d) {
          s += v;
          s2 += v * v;
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        expect(min).toBeGreaterThanOrEqual(-b);
        expect(max).toBeLessThan(b);
        if (n >= 100) {
          // The gap at each end is ~Exp with mean 2b/n (a bound that means something once 12·2b/n < 2b).
          expect(min + b).toBeLessThan((12 * 2 * b) / n);
          expect(b - max).toBeLessThan((12 * 2 * b) / n);
        }
        // Mean 0 with sd b/√(3n); mean square b²/3 with sd b²·√(1/5 − 1/9)/√n.
        expect(Math.abs(s / n / (b / Math.sqrt(3 * n)))).toBeLessThan(4.42);
        expect(Math.abs((s2 / n - (b * b) / 3) / ((b * b * Math.sqrt(1 / 5 - 1 / 9)) / Math.sqrt(n)))).toBeLessThan(4.42);
        expect(ks(d, b)).toBeLessThan(2.47);
      }
    }
  });
});
