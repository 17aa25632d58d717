// Adadelta, RMSprop, Adagrad: the PyTorch trajectories of testdata/conv-golden.json, hand-computed first steps,
// hyperparameter errors in PyTorch's words, state-dict layout and bit-exact resumption.
import { describe, expect, it } from "vitest";
import { loadFixture, type GoldenTensor } from "@tsgrad/testing";
import { Generator, Tensor, randn, tensor, zeros } from "@tsgrad/tensor";
import {
  Adadelta, Adagrad, RMSprop, StepLR, type AdadeltaOptions, type AdagradOptions, type Optimizer, type RMSpropOptions,
} from "./index.js";

type AnyOptimizer = Optimizer<{ lr: number }, unknown>;

interface OptimizerCase {
  readonly name: string;
  readonly kind: string;
  readonly optimizer: string;
  readonly options: Record<string, unknown>;
  readonly initial: GoldenTensor[];
  readonly grads: GoldenTensor[][];
  readonly trajectory: GoldenTensor[][];
}

function build(kind: string, params: Tensor[], options: Record<string, unknown>): AnyOptimizer {
  switch (kind) {
    case "Adadelta": return new Adadelta(params, options as AdadeltaOptions) as unknown as AnyOptimizer;
    case "RMSprop": return new RMSprop(params, options as RMSpropOptions) as unknown as AnyOptimizer;
    case "Adagrad": return new Adagrad(params, options as AdagradOptions) as unknown as AnyOptimizer;
    default: throw new Error(`golden optimizer "${kind}" is not mapped in this test`);
  }
}

const cases = loadFixture<{ cases: OptimizerCase[] }>("conv-golden.json").cases.filter((c) => c.kind === "optimizer");

describe("Adadelta, RMSprop, Adagrad: PyTorch golden trajectories", () => {
  it("covers every optimizer of the golden file", () => {
    for (const name of ["Adadelta", "RMSprop", "Adagrad"]) {
      expect(cases.filter((c) => c.optimizer === name).length).toBeGreaterThanOrEqual(7);
    }
  });
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const params = c.initial.map((t) => tensor(t.data, { shape: t.shape, requiresGrad: true }));
    const opt = build(c.optimizer, params, c.options);
    expect(c.grads.length).toBeGreaterThanOrEqual(10);
    c.grads.forEach((stepGrads, step) => {
      params.forEach((p, i) => {
        p.grad = tensor(stepGrads[i]!.data, { shape: stepGrads[i]!.shape });
      });
      opt.step();
      params.forEach((p, i) => expect(p, `step ${step + 1}, parameter ${i}`).toBeAllClose(c.trajectory[step]![i]!.data));
    });
  });
});

describe("first steps by hand", () => {
  it("Adadelta: Δ = √eps / √((1−ρ)·g² + eps) · g on the first step", () => {
    const p = tensor([1, -1], { requiresGrad: true });
    const opt = new Adadelta([p], { lr: 1, rho: 0.9, eps: 1e-6 });
    p.grad = tensor([0.5, -2]);
    opt.step();
    const delta = (g: number): number => (Math.sqrt(1e-6) / Math.sqrt(0.1 * g * g + 1e-6)) * g;
    expect(p).toBeAllClose([1 - delta(0.5), -1 - delta(-2)], { atol: 1e-7, rtol: 1e-6 });
  });

  it("RMSprop centered with momentum: b = g / (√(v − ḡ²) + eps), θ −= lr·b", () => {
    const p = tensor([2], { requiresGrad: true });
    const opt = new RMSprop([p], { lr: 0.1, alpha: 0.5, eps: 0, momentum: 0.9, centered: true });
    p.grad = tensor([4]);
    opt.step(); // v = 8, ḡ = 2, avg = √(8 − 4) = 2, b = 2
    expect(p.data[0]).toBeCloseTo(1.8, 6);
    opt.step(); // v = 12, ḡ = 3, avg = √3, b = 0.9·2 + 4/√3
    expect(p.data[0]).toBeCloseTo(1.8 - 0.1 * (1.8 + 4 / Math.sqrt(3)), 5);
  });

  it("Adagrad: lr decays as lr / (1 + (t − 1)·lrDecay), the sum starts at initialAccumulatorValue", () => {
    const p = tensor([0], { requiresGrad: true });
    const opt = new Adagrad([p], { lr: 1, lrDecay: 1, initialAccumulatorValue: 3, eps: 0 });
    p.grad = tensor([1]);
    opt.step(); // sum 4: θ = −1/2
    opt.step(); // sum 5, clr = 1/2: θ = −1/2 − 1/(2√5)
    expect(p.data[0]).toBeCloseTo(-0.5 - 0.5 / Math.sqrt(5), 6);
  });
});

describe("with a scheduler", () => {
  it("StepLR(stepSize 1, gamma 0.7) scales Adadelta's lr each epoch, and the update follows it (main.py's schedule)", () => {
    const make = (lr: number): Tensor => {
      const p = tensor([1], { requiresGrad: true });
      const opt = new Adadelta([p], { lr });
      p.grad = tensor([0.5]);
      opt.step();
      return p;
    };
    const p = tensor([1], { requiresGrad: true });
    const opt = new Adadelta([p], { lr: 1 });
    const sched = new StepLR(opt, 1, { gamma: 0.7 });
    sched.step();
    sched.step();
    expect(opt.paramGroups[0]!.lr).toBeCloseTo(0.49, 12);
    p.grad = tensor([0.5]);
    opt.step();
    expect(p.data[0]).toBe(make(0.49).data[0]);
  });
});

describe("hyperparameter errors in PyTorch's words", () => {
  const p = (): Tensor[] => [zeros([2], { requiresGrad: true })];
  const table: [string, () => unknown, RegExp][] = [
    ["Adadelta lr", () => new Adadelta(p(), { lr: -1 }), /^Adadelta: Invalid learning rate: -1$/],
    ["Adadelta rho", () => new Adadelta(p(), { rho: 1.5 }), /^Adadelta: Invalid rho value: 1\.5$/],
    ["Adadelta rho NaN", () => new Adadelta(p(), { rho: NaN }), /Invalid rho value: NaN/],
    ["Adadelta eps", () => new Adadelta(p(), { eps: -1e-6 }), /Invalid epsilon value: -0\.000001/],
    ["Adadelta weightDecay", () => new Adadelta(p(), { weightDecay: -0.1 }), /Invalid weightDecay value: -0\.1/],
    ["Adadelta maximize type", () => new Adadelta(p(), { maximize: 1 as unknown as boolean }), /maximize must be a boolean/],
    ["RMSprop lr", () => new RMSprop(p(), { lr: -0.01 }), /^RMSprop: Invalid learning rate: -0\.01$/],
    ["RMSprop eps", () => new RMSprop(p(), { eps: -1 }), /Invalid epsilon value: -1/],
    ["RMSprop momentum", () => new RMSprop(p(), { momentum: -0.9 }), /Invalid momentum value: -0\.9/],
    ["RMSprop weightDecay", () => new RMSprop(p(), { weightDecay: -1 }), /Invalid weightDecay value: -1/],
    ["RMSprop alpha", () => new RMSprop(p(), { alpha: -0.5 }), /Invalid alpha value: -0\.5/],
    ["RMSprop centered type", () => new RMSprop(p(), { centered: "yes" as unknown as boolean }), /centered must be a boolean/],
    ["Adagrad lr", () => new Adagrad(p(), { lr: -1 }), /^Adagrad: Invalid learning rate: -1$/],
    ["Adagrad lrDecay", () => new Adagrad(p(), { lrDecay: -1 }), /Invalid lrDecay value: -1/],
    ["Adagrad weightDecay", () => new Adagrad(p(), { weightDecay: -1 }), /Invalid weightDecay value: -1/],
    ["Adagrad initialAccumulatorValue", () => new Adagrad(p(), { initialAccumulatorValue: -1 }),
      /Invalid initialAccumulatorValue value: -1/],
    ["Adagrad eps", () => new Adagrad(p(), { eps: -1 }), /Invalid epsilon value: -1/],
    ["group option", () => new RMSprop([{ params: p(), alpha: -1 }]), /Invalid alpha value: -1/],
    ["empty params", () => new Adagrad([]), /optimizer got an empty parameter list/],
  ];
  it.each(table)("%s", (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});

describe("state dicts", () => {
  const makeParams = (): Tensor[] => {
    const g = new Generator(9);
    return [randn([3, 4], { generator: g, requiresGrad: true }), randn([4], { generator: g, requiresGrad: true })];
  };
  const gradsAt = (step: number, params: Tensor[]): void => {
    const g = new Generator(200 + step);
    for (const p of params) p.grad = randn([...p.shape], { generator: g });
  };
  const kinds: [string, (ps: Tensor[]) => AnyOptimizer, string[]][] = [
    ["Adadelta", (ps) => new Adadelta(ps, { weightDecay: 0.01 }) as unknown as AnyOptimizer, ["step", "squareAvg", "accDelta"]],
    ["RMSprop centered momentum", (ps) => new RMSprop(ps, { momentum: 0.9, centered: true }) as unknown as AnyOptimizer,
      ["step", "squareAvg", "momentumBuffer", "gradAvg"]],
    ["RMSprop plain", (ps) => new RMSprop(ps) as unknown as AnyOptimizer, ["step", "squareAvg"]],
    ["Adagrad", (ps) => new Adagrad(ps, { lrDecay: 0.1, initialAccumulatorValue: 0.2 }) as unknown as AnyOptimizer, ["step", "sum"]],
  ];

  it.each(kinds)("%s: K steps, a state-dict round trip into a new optimizer, then N−K steps equal N steps bit for bit", (_n, make, keys) => {
    const n = 10, k = 4;
    const ref = makeParams();
    const refOpt = make(ref);
    for (let s = 0; s < n; s++) {
      gradsAt(s, ref);
      refOpt.step();
    }
    const first = makeParams();
    const firstOpt = make(first);
    for (let s = 0; s < k; s++) {
      gradsAt(s, first);
      firstOpt.step();
    }
    const saved = firstOpt.stateDict();
    expect(Object.keys(saved.state[0]!)).toEqual(keys);
    expect(saved.state[0]!["step"]).toBe(k);
    const resumed = first.map((p) => tensor(p.data.slice(), { shape: p.shape, requiresGrad: true }));
    const resumedOpt = make(resumed);
    resumedOpt.loadStateDict(saved);
    for (let s = k; s < n; s++) {
      gradsAt(s, resumed);
      resumedOpt.step();
    }
    resumed.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(ref[i]!.data)));
  });

  it("Adadelta keeps no state for a parameter never stepped; Adagrad has state for every parameter from the start", () => {
    const [a, b] = makeParams() as [Tensor, Tensor];
    const delta = new Adadelta([a, b]);
    a.grad = zeros([...a.shape]).add(1);
    delta.step();
    expect(Object.keys(delta.stateDict().state)).toEqual(["0"]);
    const ada = new Adagrad([a, b], { initialAccumulatorValue: 0.5 });
    const sd = ada.stateDict();
    expect(Object.keys(sd.state)).toEqual(["0", "1"]);
    expect(sd.state[1]!["step"]).toBe(0);
    expect(Array.from((sd.state[1]!["sum"] as Tensor).data)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(sd.paramGroups[0]).toEqual({
      lr: 0.01, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0.5, eps: 1e-10, maximize: false, params: [0, 1],
    });
  });
});
