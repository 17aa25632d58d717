// The loss modules NLLLoss and MSELoss: their functional's values and gradients, worked out by hand, options kept.
import { describe, expect, it } from "vitest";
import { tensor } from "@tsgrad/tensor";
import { MSELoss, NLLLoss, mseLoss, nllLoss } from "./index.js";

describe("NLLLoss", () => {
  const logp = () => tensor([[-1, -2, -3], [-0.5, -1.5, -2.5]], { requiresGrad: true });

  it("picks −x[r, y] and averages over the weights of the targets, as nllLoss", () => {
    expect(new NLLLoss().forward(logp(), [0, 2]).item()).toBeCloseTo((1 + 2.5) / 2, 6);
    expect(new NLLLoss({ reduction: "sum" }).forward(logp(), [0, 2]).item()).toBeCloseTo(3.5, 6);
    expect(new NLLLoss({ reduction: "none" }).forward(logp(), [0, 2]).toArray()).toEqual([1, 2.5]);
    const weighted = new NLLLoss({ weight: [1, 2, 3] });
    expect(weighted.forward(logp(), [0, 2]).item()).toBeCloseTo((1 * 1 + 3 * 2.5) / (1 + 3), 6);
    expect(new NLLLoss({ ignoreIndex: 2 }).forward(logp(), [0, 2]).item()).toBeCloseTo(1, 6);
    const x = logp();
    expect(weighted.forward(x, [0, 2]).item()).toBe(nllLoss(logp(), [0, 2], { weight: [1, 2, 3] }).item());
  });

  it("sends −w_y / Σw to the picked element and 0 elsewhere", () => {
    const x = logp();
    new NLLLoss({ weight: [1, 2, 3] }).forward(x, [0, 2]).backward();
    expect(x.grad!).toBeAllClose([[-1 / 4, 0, 0], [0, 0, -3 / 4]]);
  });
});

describe("MSELoss", () => {
  const pred = () => tensor([1, 2, 3], { requiresGrad: true });
  const target = tensor([1, 0, 5]);

  it("averages, sums or keeps (input − target)², as mseLoss", () => {
    expect(new MSELoss().forward(pred(), target).item()).toBeCloseTo(8 / 3, 6);
    expect(new MSELoss({ reduction: "sum" }).forward(pred(), target).item()).toBe(8);
    expect(new MSELoss({ reduction: "none" }).forward(pred(), target).toArray()).toEqual([0, 4, 4]);
    expect(new MSELoss().forward(pred(), target).item()).toBe(mseLoss(pred(), target).item());
  });

  it("has the gradient 2·(input − target)/n, and −that for a target that requires grad", () => {
    const x = pred();
    const y = tensor([1, 0, 5], { requiresGrad: true });
    new MSELoss().forward(x, y).backward();
    expect(x.grad!).toBeAllClose([0, 4 / 3, -4 / 3]);
    expect(y.grad!).toBeAllClose([0, -4 / 3, 4 / 3]);
  });
});
