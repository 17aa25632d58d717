// Every error of the optimizers and schedulers, exactly: PyTorch's sentence where PyTorch has one, this API's option
// names (weightDecay, betas, momentum, dampening, nesterov, initialLr, paramGroups), and the class as the prefix.
import { expectExactError } from "@tsgrad/testing";
import { describe, expect, it } from "vitest";
import { ShapeError, Tensor, tensor, zeros } from "@tsgrad/tensor";
import {
  Adam, AdamW, CosineAnnealingLR, SGD, StepLR, type AdamOptions, type OptimizerStateDict, type SGDOptions,
} from "./index.js";

/** Loosens the compile-time types to pass the wrong kind of value, as plain JavaScript callers can. */
function untyped<T>(x: unknown): T {
  return x as T;
}

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError | typeof ShapeError;

const p = (): Tensor[] => [zeros([2], { requiresGrad: true })];
const adam = (o: AdamOptions): Adam => new Adam(p(), o);
const sgd = (o: SGDOptions): SGD => new SGD(p(), { lr: 0.1, ...o });
/** An Adam that has stepped once, and its state dict, to corrupt. */
function stepped(): { opt: Adam; sd: OptimizerStateDict } {
  const w = tensor([1, 2], { requiresGrad: true });
  const opt = new Adam([w]);
  w.grad = tensor([0.5, -0.5]);
  opt.step();
  return { opt, sd: opt.stateDict() };
}

const cases: [string, () => unknown, ErrorClass, string][] = [
  // Adam and AdamW: torch.optim.Adam's checks
  ["Adam lr", () => adam({ lr: -1 }), RangeError, "Adam: Invalid learning rate: -1"],
  ["Adam eps", () => adam({ eps: -1e-8 }), RangeError, "Adam: Invalid epsilon value: -1e-8"],
  ["Adam beta 0", () => adam({ betas: [1, 0.999] }), RangeError, "Adam: Invalid beta parameter at index 0: 1"],
  ["Adam beta 1", () => adam({ betas: [0.9, 1.5] }), RangeError, "Adam: Invalid beta parameter at index 1: 1.5"],
  ["Adam one beta", () => adam({ betas: untyped([0.9]) }), TypeError, "Adam: betas must be a pair [beta1, beta2], got [0.9]"],
  ["Adam betas a number", () => adam({ betas: untyped(0.9) }), TypeError, "Adam: betas must be a pair [beta1, beta2], got 0.9"],
  ["Adam weightDecay", () => adam({ weightDecay: -1 }), RangeError, "Adam: Invalid weightDecay value: -1"],
  ["Adam lr of a string", () => adam({ lr: untyped("0.1") }), TypeError, "Adam: lr must be a number, got string"],
  ["Adam amsgrad", () => adam({ amsgrad: untyped(1) }), TypeError, "Adam: amsgrad must be a boolean, got number"],
  ["Adam maximize", () => adam({ maximize: untyped("yes") }), TypeError, "Adam: maximize must be a boolean, got string"],
  ["AdamW weightDecay", () => new AdamW(p(), { weightDecay: -0.1 }), RangeError, "AdamW: Invalid weightDecay value: -0.1"],
  ["AdamW beta", () => new AdamW(p(), { betas: [-0.1, 0.999] }), RangeError, "AdamW: Invalid beta parameter at index 0: -0.1"],
  ["Adam group option", () => new Adam([{ params: p(), weightDecay: -2 }]), RangeError, "Adam: Invalid weightDecay value: -2"],
  // SGD
  ["SGD lr", () => sgd({ lr: -0.1 }), RangeError, "SGD: Invalid learning rate: -0.1"],
  ["SGD momentum", () => sgd({ momentum: -1 }), RangeError, "SGD: Invalid momentum value: -1"],
  ["SGD weightDecay", () => sgd({ weightDecay: -1 }), RangeError, "SGD: Invalid weightDecay value: -1"],
  ["SGD nesterov without momentum", () => sgd({ nesterov: true }), RangeError,
    "SGD: Nesterov momentum requires a momentum and zero dampening"],
  ["SGD nesterov with dampening", () => sgd({ nesterov: true, momentum: 0.9, dampening: 0.5 }), RangeError,
    "SGD: Nesterov momentum requires a momentum and zero dampening"],
  ["SGD dampening of a string", () => sgd({ dampening: untyped("0") }), TypeError, "SGD: dampening must be a number, got string"],
  ["SGD nesterov of a number", () => sgd({ nesterov: untyped(1) }), TypeError, "SGD: nesterov must be a boolean, got number"],
  // parameters and groups
  ["params of a number", () => new SGD(untyped(3)), TypeError,
    "SGD: params argument given to the optimizer should be an array of Tensors or of groups, got number"],
  ["no params", () => new Adam([]), RangeError, "Adam: optimizer got an empty parameter list"],
  ["an empty group", () => new Adam([{ params: [] }]), RangeError, "Adam: optimizer got an empty parameter list"],
  ["a number as a param", () => new SGD([{ params: untyped([1]) }]), TypeError,
    "SGD: optimizer can only optimize Tensors, but one of the params is number"],
  ["a non-leaf", () => new SGD([tensor([1], { requiresGrad: true }).mul(2)]), TypeError, "SGD: can't optimize a non-leaf Tensor"],
  ["a parameter twice in a group", () => {
    const w = zeros([1], { requiresGrad: true });
    return new SGD([w, w]);
  }, TypeError, "SGD: a parameter group contains the same parameter twice"],
  ["a parameter in two groups", () => {
    const q = p();
    return new SGD([{ params: q }, { params: q }]);
  }, TypeError, "SGD: some parameters appear in more than one parameter group"],
  ["a group that is not one", () => sgd({}).addParamGroup(untyped(null)), TypeError,
    "SGD: a parameter group must be an object with a params array"],
  // state dicts
  ["loadStateDict of a number", () => stepped().opt.loadStateDict(untyped(1)), TypeError,
    "Adam: loadStateDict expects { state, paramGroups }"],
  ["loadStateDict: group count", () => {
    const { opt, sd } = stepped();
    opt.loadStateDict({ ...sd, paramGroups: [...sd.paramGroups, sd.paramGroups[0]!] });
  }, RangeError, "Adam: loaded state dict has a different number of parameter groups (2, expected 1)"],
  ["loadStateDict: group size", () => {
    const { opt, sd } = stepped();
    opt.loadStateDict({ ...sd, paramGroups: [{ ...sd.paramGroups[0]!, params: [0, 1] }] });
  }, RangeError,
  "Adam: loaded state dict contains a parameter group that doesn't match the size of optimizer's group " +
    "(group 0: 2 parameters, expected 1)"],
  ["loadStateDict: unknown parameter", () => {
    const { opt, sd } = stepped();
    opt.loadStateDict({ ...sd, state: { 5: sd.state[0]! } });
  }, RangeError, "Adam: loaded state refers to parameter 5, which no group lists"],
  ["loadStateDict: missing buffer", () => {
    const { opt, sd } = stepped();
    opt.loadStateDict({ ...sd, state: { 0: { step: 1, expAvgSq: sd.state[0]!["expAvgSq"]! } } });
  }, TypeError, 'Adam: loaded state is missing tensor "expAvg"'],
  ["loadStateDict: buffer shape", () => {
    const { opt, sd } = stepped();
    opt.loadStateDict({ ...sd, state: { 0: { ...sd.state[0]!, expAvg: zeros([3]) } } });
  }, ShapeError, 'Adam: loaded state "expAvg" has shape [3], the parameter has shape [2]'],
  ["loadStateDict: step", () => {
    const { opt, sd } = stepped();
    opt.loadStateDict({ ...sd, state: { 0: { ...sd.state[0]!, step: -1 } } });
  }, TypeError, "Adam: loaded state has an invalid step -1"],
  // schedulers
  ["StepLR of a non-optimizer", () => new StepLR(untyped({ paramGroups: [] }), 1), TypeError, "StepLR: expected an Optimizer"],
  ["StepLR stepSize", () => new StepLR(sgd({}), 0), RangeError, "StepLR: stepSize must be a positive integer, got 0"],
  ["StepLR gamma", () => new StepLR(sgd({}), 1, { gamma: NaN }), RangeError, "StepLR: gamma must be a finite number, got NaN"],
  ["StepLR lastEpoch", () => new StepLR(sgd({}), 1, { lastEpoch: -2 }), RangeError, "StepLR: lastEpoch must be an integer >= -1, got -2"],
  ["StepLR resumed without initialLr", () => new StepLR(sgd({}), 2, { lastEpoch: 4 }), RangeError,
    "StepLR: param 'initialLr' is not specified in paramGroups[0] when resuming an optimizer"],
  ["StepLR loadStateDict", () => new StepLR(sgd({}), 2).loadStateDict({ lastEpoch: 0, stepCount: 1, baseLrs: [0.1, 0.1], lastLr: [0.1, 0.1] }),
    RangeError, "StepLR.loadStateDict: loaded state has 2 groups, expected 1"],
  ["CosineAnnealingLR tMax", () => new CosineAnnealingLR(sgd({}), 0), RangeError, "CosineAnnealingLR: tMax must be a positive integer, got 0"],
  ["CosineAnnealingLR etaMin", () => new CosineAnnealingLR(sgd({}), 5, { etaMin: -1 }), RangeError,
    "CosineAnnealingLR: etaMin must be >= 0, got -1"],
];

describe("optim: every error, exactly", () => {
  it.each(cases)("%s", (_name, thunk, errorClass, message) => expectExactError(thunk, errorClass, message));
  it("every message starts with its class and names this API's options, not PyTorch's snake_case", () => {
    for (const [, , , message] of cases) {
      expect(message).toMatch(/^(Adam|AdamW|SGD|StepLR|CosineAnnealingLR)(\.\w+)?: \S/);
      expect(message).not.toMatch(/\b[a-z]+_[a-z_]+\b/);
    }
  });
  it("a refused loadStateDict leaves the optimizer as it was", () => {
    const { opt, sd } = stepped();
    const before = opt.stateDict();
    expect(() => opt.loadStateDict({ ...sd, state: { 0: { ...sd.state[0]!, expAvg: zeros([3]) } } })).toThrow(ShapeError);
    expect(opt.stateDict()).toEqual(before);
  });
});
