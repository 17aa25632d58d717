// StepLR and CosineAnnealingLR: PyTorch's schedules epoch by epoch, resuming, and validation.
import { describe, expect, it } from "vitest";
import { zeros } from "@tsgrad/tensor";
import { CosineAnnealingLR, SGD, StepLR, Adam } from "./index.js";

const sgd = (lr: number): SGD => new SGD([zeros([1], { requiresGrad: true })], { lr });

describe("StepLR", () => {
  it("multiplies lr by gamma every stepSize epochs", () => {
    const opt = sgd(0.05);
    const sched = new StepLR(opt, 3, { gamma: 0.1 });
    const seen: number[] = [];
    for (let epoch = 0; epoch < 8; epoch++) {
      seen.push(opt.paramGroups[0]!.lr);
      sched.step();
    }
    const expected = [0.05, 0.05, 0.05, 0.005, 0.005, 0.005, 0.0005, 0.0005];
    seen.forEach((lr, i) => expect(lr).toBeCloseTo(expected[i]!, 12));
    expect(sched.getLastLr()).toEqual([opt.paramGroups[0]!.lr]);
    expect(opt.paramGroups[0]!.initialLr).toBe(0.05);
  });
});

describe("CosineAnnealingLR", () => {
  it.each([[0], [0.001]])("follows η_min + (η_0 − η_min)(1 + cos(πt/T))/2 over three half-periods (etaMin %d)", (etaMin) => {
    const opt = sgd(0.1);
    const tMax = 10;
    const sched = new CosineAnnealingLR(opt, tMax, { etaMin });
    for (let t = 0; t <= 3 * tMax; t++) {
      const closed = etaMin + ((0.1 - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
      expect(opt.paramGroups[0]!.lr, `epoch ${t}`).toBeCloseTo(closed, 12);
      sched.step();
    }
  });

  it("applies to every group from its own initial lr", () => {
    const opt = new Adam([{ params: [zeros([1], { requiresGrad: true })], lr: 1 }, { params: [zeros([1], { requiresGrad: true })], lr: 0.5 }]);
    const sched = new CosineAnnealingLR(opt, 4);
    sched.step();
    sched.step();
    expect(sched.getLastLr()[0]).toBeCloseTo(0.5, 12);
    expect(sched.getLastLr()[1]).toBeCloseTo(0.25, 12);
  });

  it("resumes from its state dict and the optimizer's", () => {
    const optA = sgd(0.1);
    const a = new CosineAnnealingLR(optA, 7);
    for (let i = 0; i < 4; i++) a.step();
    const optB = sgd(0.1);
    optB.loadStateDict(optA.stateDict());
    const b = new CosineAnnealingLR(optB, 7, { lastEpoch: 3 });
    b.loadStateDict(a.stateDict());
    for (let i = 0; i < 6; i++) {
      a.step();
      b.step();
      expect(optB.paramGroups[0]!.lr).toBe(optA.paramGroups[0]!.lr);
    }
  });
});

describe("schedulers: validation", () => {
  it.each([
    ["StepLR stepSize 0", () => new StepLR(sgd(0.1), 0), /stepSize must be a positive integer, got 0/],
    ["CosineAnnealingLR tMax 1.5", () => new CosineAnnealingLR(sgd(0.1), 1.5), /tMax must be a positive integer, got 1\.5/],
    ["CosineAnnealingLR etaMin", () => new CosineAnnealingLR(sgd(0.1), 5, { etaMin: -1 }), /etaMin must be >= 0/],
    ["resume without initialLr", () => new StepLR(sgd(0.1), 2, { lastEpoch: 4 }), /param 'initialLr' is not specified in paramGroups\[0\] when resuming an optimizer/],
  ] as [string, () => unknown, RegExp][])("%s", (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});
