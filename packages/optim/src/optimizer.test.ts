// Every "optimizer" golden case (Adam, AdamW, SGD trajectories), hyperparameter errors, groups, zeroGrad, state dicts.
import { describe, expect, it } from "vitest";
import { loadGolden, type GoldenTensor } from "@tsgrad/testing";
import { Tensor, Generator, randn, tensor, zeros } from "@tsgrad/tensor";
import { Adam, AdamW, SGD, Optimizer, type AdamOptions, type SGDOptions, type OptimizerStateDict } from "./index.js";

type AnyOptimizer = Optimizer<{ lr: number }, unknown>;

function build(kind: string, params: Tensor[], options: Record<string, unknown>): AnyOptimizer {
  switch (kind) {
    case "Adam": return new Adam(params, options as AdamOptions);
    case "AdamW": return new AdamW(params, options as AdamOptions);
    case "SGD": return new SGD(params, options as SGDOptions);
    default: throw new Error(`golden optimizer "${kind}" is not mapped in this test`);
  }
}

describe("optimizers: PyTorch golden trajectories", () => {
  const cases = loadGolden("optimizer");
  it("covers the golden file", () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const params = (c["initial"] as GoldenTensor[]).map((t) => tensor(t.data, { shape: t.shape, requiresGrad: true }));
    const opt = build(c["optimizer"] as string, params, c["options"] as Record<string, unknown>);
    const grads = c["grads"] as GoldenTensor[][];
    const trajectory = c["trajectory"] as GoldenTensor[][];
    expect(grads.length).toBeGreaterThanOrEqual(10);
    grads.forEach((stepGrads, step) => {
      params.forEach((p, i) => {
        p.grad = tensor(stepGrads[i]!.data, { shape: stepGrads[i]!.shape });
      });
      opt.step();
      params.forEach((p, i) => {
        expect(p, `step ${step + 1}, parameter ${i}`).toBeAllClose(trajectory[step]![i]!.data);
      });
    });
  });
});

describe("optimizers: hand-computed steps", () => {
  it("Adam's first step moves every coordinate by lr (m̂/√v̂ = ±1), eps after the square root", () => {
    const p = tensor([1, -2, 3], { requiresGrad: true });
    const opt = new Adam([p], { lr: 0.1, eps: 0 });
    p.grad = tensor([0.5, -4, 1e-3]);
    opt.step();
    expect(p).toBeAllClose([0.9, -1.9, 2.9]);
  });

  it("Adam skips parameters whose grad is null, without advancing their step", () => {
    const a = tensor([1], { requiresGrad: true });
    const b = tensor([1], { requiresGrad: true });
    const opt = new Adam([a, b], { lr: 0.1 });
    a.grad = tensor([1]);
    opt.step();
    expect(b.data[0]).toBe(1);
    expect(opt.stateDict().state).toHaveProperty("0");
    expect(opt.stateDict().state).not.toHaveProperty("1");
    b.grad = tensor([1]);
    opt.step();
    expect(b.data[0]).toBeCloseTo(0.9, 6); // b's first step: bias correction of step 1
  });

  it("SGD with momentum: the buffer starts as the first gradient", () => {
    const p = tensor([1], { requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
    p.grad = tensor([1]);
    opt.step(); // b = 1
    expect(p.data[0]).toBeCloseTo(0.9, 7);
    opt.step(); // b = 0.9 + 0.5 = 1.4
    expect(p.data[0]).toBeCloseTo(0.76, 6);
  });

  it("updates in place into buffers allocated once, at construction", () => {
    const p = tensor([1, 2, 3], { requiresGrad: true });
    const data = p.data;
    const opt = new Adam([p], { amsgrad: true });
    const s = opt.state.get(p)!;
    const buffers = [s.expAvg, s.expAvgSq, s.maxExpAvgSq];
    for (let i = 0; i < 3; i++) {
      p.grad = tensor([1, -1, 2]);
      opt.step();
    }
    expect(p.data).toBe(data);
    expect([s.expAvg, s.expAvgSq, s.maxExpAvgSq]).toEqual(buffers);
    expect(s.expAvg).toBe(buffers[0]);
    expect(s.step).toBe(3);
  });

  it("records no graph and keeps the parameters leaves", () => {
    const p = tensor([1, 2], { requiresGrad: true });
    const opt = new AdamW([p]);
    p.grad = tensor([1, 1]);
    opt.step();
    expect(p.isLeaf).toBe(true);
    expect(p.gradFn).toBeNull();
  });
});

describe("optimizers: hyperparameter errors in PyTorch's words", () => {
  const p = (): Tensor[] => [zeros([2], { requiresGrad: true })];
  const table: [string, () => unknown, RegExp][] = [
    ["Adam lr", () => new Adam(p(), { lr: -1 }), /Invalid learning rate: -1/],
    ["Adam lr NaN", () => new Adam(p(), { lr: NaN }), /Invalid learning rate: NaN/],
    ["Adam eps", () => new Adam(p(), { eps: -1e-8 }), /Invalid epsilon value: -1e-8/],
    ["Adam beta0", () => new Adam(p(), { betas: [1, 0.999] }), /Invalid beta parameter at index 0: 1/],
    ["Adam beta1", () => new Adam(p(), { betas: [0.9, -0.1] }), /Invalid beta parameter at index 1: -0\.1/],
    ["Adam weightDecay", () => new Adam(p(), { weightDecay: -1 }), /Invalid weightDecay value: -1/],
    ["AdamW lr", () => new AdamW(p(), { lr: -0.5 }), /Invalid learning rate: -0\.5/],
    ["SGD lr", () => new SGD(p(), { lr: -1 }), /Invalid learning rate: -1/],
    ["SGD momentum", () => new SGD(p(), { lr: 0.1, momentum: -0.9 }), /Invalid momentum value: -0\.9/],
    ["SGD weightDecay", () => new SGD(p(), { lr: 0.1, weightDecay: -1 }), /Invalid weightDecay value: -1/],
    ["SGD nesterov without momentum", () => new SGD(p(), { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum and zero dampening/],
    ["SGD nesterov with dampening", () => new SGD(p(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /Nesterov momentum requires a momentum and zero dampening/],
    ["group option", () => new Adam([{ params: p(), lr: -2 }]), /Invalid learning rate: -2/],
    ["empty params", () => new Adam([]), /optimizer got an empty parameter list/],
    ["not a tensor", () => new SGD([{ params: [1 as unknown as Tensor] }]), /optimizer can only optimize Tensors/],
    ["non-leaf", () => new SGD([randn([2], { requiresGrad: true }).mul(2)]), /can't optimize a non-leaf Tensor/],
    ["shared parameter", () => {
      const q = p();
      return new SGD([{ params: q }, { params: q }]);
    }, /some parameters appear in more than one parameter group/],
  ];
  it.each(table)("%s", (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});

describe("optimizers: groups and zeroGrad", () => {
  it("gives each group its own options, defaults for the rest", () => {
    const a = tensor([1], { requiresGrad: true });
    const b = tensor([1], { requiresGrad: true });
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum])).toEqual([[0.1, 0.9], [0.5, 0.9]]);
    a.grad = tensor([1]);
    b.grad = tensor([1]);
    opt.step();
    expect(a.data[0]).toBeCloseTo(0.9, 7);
    expect(b.data[0]).toBeCloseTo(0.5, 7);
  });

  it("sets gradients to null by default, or to zeros in place", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const opt = new Adam([a]);
    a.grad = tensor([3, 4]);
    const g = a.grad;
    opt.zeroGrad({ setToNone: false });
    expect(a.grad).toBe(g);
    expect(Array.from(a.grad!.data)).toEqual([0, 0]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });
});

describe("optimizers: state dicts", () => {
  const makeParams = (): Tensor[] => {
    const g = new Generator(3);
    return [randn([3, 4], { generator: g, requiresGrad: true }), randn([4], { generator: g, requiresGrad: true })];
  };
  const gradsAt = (step: number, params: Tensor[]): void => {
    const g = new Generator(100 + step);
    for (const p of params) p.grad = randn([...p.shape], { generator: g });
  };
  const kinds: [string, (ps: Tensor[]) => AnyOptimizer][] = [
    ["Adam amsgrad", (ps) => new Adam(ps, { lr: 0.01, amsgrad: true, weightDecay: 0.1 })],
    ["AdamW", (ps) => new AdamW(ps, { lr: 0.01 })],
    ["SGD nesterov", (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true })],
  ];

  it.each(kinds)("%s: N steps equal K steps, a state-dict round trip into a new optimizer, then N−K steps, bit for bit", (_n, make) => {
    const n = 12;
    const k = 5;
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
    for (let s = 0; s < 3; s++) {
      gradsAt(50 + s, first);
      firstOpt.step(); // a snapshot must not follow later steps
    }
    // The parameters as they were at step K (replayed), in a fresh optimizer that loads the saved state.
    const replay = makeParams();
    const replayOpt = make(replay);
    for (let s = 0; s < k; s++) {
      gradsAt(s, replay);
      replayOpt.step();
    }
    const resumed = replay.map((p) => tensor(p.data, { shape: p.shape, requiresGrad: true }));
    const resumedOpt = make(resumed);
    resumedOpt.loadStateDict(saved);
    for (let s = k; s < n; s++) {
      gradsAt(s, resumed);
      resumedOpt.step();
    }
    resumed.forEach((p, i) => expect(Array.from(p.data)).toEqual(Array.from(ref[i]!.data)));
  });

  it("uses PyTorch's layout: state by position, group options with params as positions", () => {
    const ps = makeParams();
    const opt = new Adam([{ params: [ps[0]!] }, { params: [ps[1]!], lr: 0.5 }], { lr: 0.01, amsgrad: true });
    ps.forEach((p) => (p.grad = zeros([...p.shape]).add(1)));
    opt.step();
    const sd = opt.stateDict();
    expect(sd.paramGroups).toEqual([
      { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [0] },
      { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [1] },
    ]);
    expect(Object.keys(sd.state)).toEqual(["0", "1"]);
    expect(Object.keys(sd.state[1]!)).toEqual(["step", "expAvg", "expAvgSq", "maxExpAvgSq"]);
    expect(sd.state[1]!["step"]).toBe(1);
    expect((sd.state[1]!["expAvg"] as Tensor).shape).toEqual([4]);
  });

  it("restores group options (a scheduled lr) and rejects mismatched dicts without changing anything", () => {
    const ps = makeParams();
    const opt = new SGD(ps, { lr: 0.1, momentum: 0.9 });
    ps.forEach((p) => (p.grad = zeros([...p.shape]).add(1)));
    opt.step();
    opt.paramGroups[0]!.lr = 0.01;
    const sd = opt.stateDict();
    const other = new SGD(makeParams(), { lr: 0.1, momentum: 0.9 });
    other.loadStateDict(sd);
    expect(other.paramGroups[0]!.lr).toBe(0.01);
    expect(other.stateDict()).toEqual(sd);

    const wrongGroups: OptimizerStateDict = { state: {}, paramGroups: [...sd.paramGroups, ...sd.paramGroups] };
    expect(() => other.loadStateDict(wrongGroups)).toThrow(/different number of parameter groups/);
    const wrongSize: OptimizerStateDict = { state: {}, paramGroups: [{ ...sd.paramGroups[0]!, params: [0] }] };
    expect(() => other.loadStateDict(wrongSize)).toThrow(/doesn't match the size of optimizer's group/);
    const wrongShape: OptimizerStateDict = { ...sd, state: { 0: { momentumBuffer: zeros([5]) } } };
    expect(() => other.loadStateDict(wrongShape)).toThrow(/momentumBuffer" has shape \[5\], the parameter has shape \[3, 4\]/);
    expect(other.stateDict()).toEqual(sd);
  });
});
