// Every error of the layers, losses, modules and safetensors, exactly: PyTorch's sentence where PyTorch has one, this
// API's option names (labelSmoothing, ignoreIndex, stateDict, ...), and where it comes from as the prefix.
import { expectExactError } from "@tsgrad/testing";
import { describe, expect, it } from "vitest";
import { ShapeError, Tensor, randn, tensor, zeros } from "@tsgrad/tensor";
import {
  CrossEntropyLoss, Dropout, Linear, Module, ReLU, SafetensorsError, Sequential, crossEntropy, linear, loadSafetensors,
  logSoftmax, mseLoss, nllLoss, relu, saveSafetensors, type AnyModule, type Reduction,
} from "./index.js";

/** Loosens the compile-time types to pass the wrong kind of value, as plain JavaScript callers can. */
function untyped<T>(x: unknown): T {
  return x as T;
}

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError | typeof ShapeError | typeof SafetensorsError;

const logits = (): Tensor => randn([4, 10]);
const fc = (): Linear => new Linear(2, 2);
const selfContaining = (): Sequential => {
  const seq = new Sequential(new ReLU());
  seq.registerModule("again", seq as unknown as AnyModule);
  return seq;
};

const cases: [string, () => unknown, ErrorClass, string][] = [
  // Module
  ["registerParameter of a number", () => fc().registerParameter("w", untyped(3)), TypeError,
    'registerParameter: cannot assign number to parameter "w" (a Tensor or null required)'],
  ["registerModule of a Tensor", () => fc().registerModule("m", untyped(zeros([1]))), TypeError,
    'registerModule: cannot assign Tensor to module "m" (a Module or null required)'],
  ["registerModule with a dot", () => fc().registerModule("a.b", new ReLU() as unknown as AnyModule), TypeError,
    'registerModule: module name can\'t contain ".", got: a.b'],
  ["registerParameter with no name", () => fc().registerParameter("", zeros([1])), TypeError,
    'registerParameter: parameter name can\'t be empty string ""'],
  ["registerModule with a number as name", () => fc().registerModule(untyped(1), null), TypeError,
    "registerModule: module name should be a string. Got number"],
  ["registerParameter over a method", () => fc().registerParameter("forward", zeros([1])), TypeError,
    'registerParameter: attribute "forward" already exists (a member of Linear)'],
  ["a module that contains itself", () => selfContaining().parameters(), Error,
    'Sequential: a module contains itself (at "again.")'],
  ["loadStateDict of null", () => fc().loadStateDict(untyped(null)), TypeError, "loadStateDict: expected a record of tensors, got null"],
  ["loadStateDict: missing and unexpected keys", () => fc().loadStateDict({ weight: zeros([2, 2]), extra: zeros([1]) }), Error,
    'loadStateDict: Error(s) in loading stateDict for Linear:\n\tUnexpected key(s) in stateDict: "extra".\n\t' +
      'Missing key(s) in stateDict: "bias".'],
  ["loadStateDict: a shape", () => fc().loadStateDict({ weight: zeros([3, 2]), bias: zeros([2]) }), ShapeError,
    "loadStateDict: Error(s) in loading stateDict for Linear:\n\tsize mismatch for weight: copying a param with shape " +
      "[3, 2] from checkpoint, the shape in current model is [2, 2]."],
  ["loadStateDict: not a tensor", () => fc().loadStateDict({ weight: untyped(1), bias: zeros([2]) }), Error,
    "loadStateDict: Error(s) in loading stateDict for Linear:\n\tvalue for weight is not a Tensor (got number)."],
  // layers
  ["Dropout p", () => new Dropout(1.5), RangeError, "Dropout: dropout probability has to be between 0 and 1, but got 1.5"],
  ["Sequential of a number", () => new Sequential(untyped(3)), TypeError, "Sequential: argument 0 is not a Module"],
  ["Sequential.at", () => new Sequential(new ReLU()).at(5), RangeError, "Sequential: index 5 is out of range for 1 modules"],
  ["Linear inFeatures", () => new Linear(-1, 2), RangeError, "Linear: inFeatures must be a non-negative integer, got -1"],
  ["Linear outFeatures", () => new Linear(2, 1.5), RangeError, "Linear: outFeatures must be a non-negative integer, got 1.5"],
  ["linear shapes", () => linear(zeros([2, 3]), zeros([4, 2])), ShapeError,
    "linear: expected x [..., in] and weight [out, in], got [2, 3] and [4, 2]"],
  ["linear bias", () => linear(zeros([2, 3]), zeros([4, 3]), zeros([3])), ShapeError,
    "linear: expected bias [4] for weight [4, 3], got [3]"],
  ["linear of arrays", () => linear(untyped([1]), zeros([1, 1])), TypeError, "linear: expected Tensors for x and weight"],
  ["relu of a number", () => relu(untyped(1)), TypeError, "relu: expected a Tensor"],
  ["logSoftmax of a number", () => logSoftmax(untyped(1), 0), TypeError, "logSoftmax: expected a Tensor"],
  // losses
  ["CrossEntropyLoss labelSmoothing", () => new CrossEntropyLoss({ labelSmoothing: 2 }), RangeError,
    "CrossEntropyLoss: labelSmoothing must be between 0.0 and 1.0. Got: 2"],
  ["CrossEntropyLoss reduction", () => new CrossEntropyLoss({ reduction: untyped<Reduction>("avg") }), RangeError,
    "CrossEntropyLoss: avg is not a valid value for reduction"],
  ["CrossEntropyLoss ignoreIndex", () => new CrossEntropyLoss({ ignoreIndex: 1.5 }), TypeError,
    "CrossEntropyLoss: ignoreIndex must be an integer, got 1.5"],
  ["crossEntropy labelSmoothing", () => crossEntropy(logits(), [0, 1, 2, 3], { labelSmoothing: -0.1 }), RangeError,
    "crossEntropy: labelSmoothing must be between 0.0 and 1.0. Got: -0.1"],
  ["crossEntropy ignoreIndex with probabilities", () => crossEntropy(logits(), randn([4, 10]), { ignoreIndex: 1 }), RangeError,
    "crossEntropy: ignoreIndex is not supported for floating point target"],
  ["crossEntropy batch size", () => crossEntropy(logits(), [0, 1, 2]), ShapeError,
    "crossEntropy: Expected input batch size (4) to match target batch size (3)."],
  ["crossEntropy target", () => crossEntropy(logits(), [0, 10, 1, 2]), RangeError, "crossEntropy: Target 10 is out of bounds."],
  ["crossEntropy weight", () => crossEntropy(logits(), [0, 1, 2, 3], { weight: zeros([5]) }), ShapeError,
    "crossEntropy: weight tensor should be defined either for all 10 classes or no classes but got weight tensor of shape: [5]"],
  ["crossEntropy of a scalar", () => crossEntropy(tensor(1), [0]), ShapeError, "crossEntropy: Expected 1 or more dimensions (got 0)"],
  ["nllLoss ignoreIndex", () => nllLoss(logits(), [0, 1, 2, 3], { ignoreIndex: 0.5 }), TypeError,
    "nllLoss: ignoreIndex must be an integer, got 0.5"],
  ["nllLoss batch size", () => nllLoss(logits(), tensor([1, 2])), ShapeError,
    "nllLoss: Expected input batch size (4) to match target batch size (2)."],
  ["mseLoss shapes", () => mseLoss(zeros([2]), zeros([3])), ShapeError,
    "mseLoss: expected input and target of the same shape, got [2] and [3]"],
  ["mseLoss reduction", () => mseLoss(zeros([2]), zeros([2]), { reduction: untyped<Reduction>("avg") }), RangeError,
    "mseLoss: avg is not a valid value for reduction"],
  // safetensors
  ["saveSafetensors __metadata__", () => saveSafetensors({ __metadata__: zeros([1]) }), TypeError,
    'saveSafetensors: "__metadata__" cannot name a tensor'],
  ["saveSafetensors of an array", () => saveSafetensors({ w: untyped([1]) }), TypeError, 'saveSafetensors: "w" is not a Tensor'],
  ["loadSafetensors of an empty file", () => loadSafetensors(new Uint8Array(0), { name: "a.safetensors" }), SafetensorsError,
    "loadSafetensors: a.safetensors: not a safetensors file (the file is empty; a safetensors file starts with an " +
      "8-byte header length and a JSON header)"],
];

/** Names of the file format and of PyTorch's API that messages may quote as they are. */
const QUOTED = new Set(["data_offsets", "save_file", "__metadata__"]);

describe("nn: every error, exactly", () => {
  it.each(cases)("%s", (_name, thunk, errorClass, message) => expectExactError(thunk, errorClass, message));
  it("every message starts with where it comes from and names this API's options, not PyTorch's snake_case", () => {
    for (const [, , , message] of cases) {
      expect(message).toMatch(/^[A-Za-z][\w.]*: \S/);
      const snake = (message.match(/\b_*[a-z]+_[a-z_]+\b/g) ?? []).filter((w) => !QUOTED.has(w));
      expect(snake, message).toEqual([]);
    }
  });
  it("a refused loadStateDict copies nothing", () => {
    const m = new Linear(2, 2);
    const before = m.weight.data.slice();
    expect(() => m.loadStateDict({ weight: zeros([2, 2]), bias: zeros([3]) })).toThrow(ShapeError);
    expect(m.weight.data).toEqual(before);
  });
});

describe("Module subclasses name themselves", () => {
  it("loadStateDict names the class of the module it was called on", () => {
    class Net extends Module<[Tensor], Tensor> {
      fc = new Linear(1, 1);
      forward(x: Tensor): Tensor {
        return this.fc.forward(x);
      }
    }
    expect(() => new Net().loadStateDict({})).toThrow(/^loadStateDict: Error\(s\) in loading stateDict for Net:/);
  });
});
