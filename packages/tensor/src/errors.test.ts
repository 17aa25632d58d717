// Bad input, op by op: the exact error class and message each must raise (PyTorch's optim_error_inputs style).
import { expectExactError } from "@tsgrad/testing";
import { describe, expect, it } from "vitest";
import { arange, full, rand, randn, randperm, tensor, uniform, zeros } from "./creation.js";
import { ShapeError } from "./errors.js";
import { Tensor } from "./tensor.js";
import { add, mul, pow } from "./ops/elementwise.js";
import { matmul } from "./ops/matmul.js";
import { sum } from "./ops/reduce.js";

/** Loosens the compile-time types to pass the wrong kind of value, as plain JavaScript callers can. */
function untyped<T>(x: unknown): T {
  return x as T;
}

type ErrorClass = typeof Error | typeof ShapeError | typeof TypeError | typeof RangeError;

const x23 = (): Tensor => tensor([[1, 2, 3], [4, 5, 6]]);
const grad23 = (): Tensor => tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });

const cases: [string, () => unknown, ErrorClass, string][] = [
  // matmul
  ["matmul 2-D mismatch", () => zeros([2, 3]).matmul(zeros([4, 5])), ShapeError,
    "matmul: expected shapes [m, k] and [k, n], got [2, 3] and [4, 5]"],
  ["matmul through a transpose", () => zeros([3, 2]).t().matmul(zeros([4, 5])), ShapeError,
    "matmul: expected shapes [m, k] and [k, n], got [2, 3] and [4, 5]"],
  ["matmul with a transposed right operand", () => zeros([2, 3]).matmul(zeros([5, 4]).t()), ShapeError,
    "matmul: expected shapes [m, k] and [k, n], got [2, 3] and [4, 5]"],
  ["matmul 1-D · 2-D", () => zeros([3]).matmul(zeros([4, 5])), ShapeError,
    "matmul: expected shapes [k] and [k, n], got [3] and [4, 5]"],
  ["matmul 2-D · 1-D", () => zeros([2, 3]).matmul(zeros([4])), ShapeError,
    "matmul: expected shapes [m, k] and [k], got [2, 3] and [4]"],
  ["matmul 1-D · 1-D", () => zeros([3]).matmul(zeros([4])), ShapeError,
    "matmul: expected shapes [k] and [k], got [3] and [4]"],
  ["matmul batched", () => zeros([2, 2, 3]).matmul(zeros([2, 4, 5])), ShapeError,
    "matmul: expected shapes [..., m, k] and [..., k, n], got [2, 2, 3] and [2, 4, 5]"],
  ["matmul batch dims", () => zeros([2, 2, 3]).matmul(zeros([3, 3, 5])), ShapeError,
    "matmul: batch dims [2] and [3] of [2, 2, 3] and [3, 3, 5] cannot be broadcast together"],
  ["matmul of a scalar", () => zeros([]).matmul(zeros([2])), ShapeError,
    "matmul: expected tensors of at least 1 dimension, got [] and [2]"],
  ["matmul with a number", () => zeros([2]).matmul(untyped(3)), TypeError,
    "matmul: expected a Tensor as the other operand, got 3"],
  ["matmul function on an array", () => matmul(untyped([1, 2]), zeros([2])), TypeError,
    "matmul: expected a Tensor, got [1, 2]"],
  // broadcasting
  ["add broadcast", () => zeros([2, 3]).add(zeros([4])), ShapeError,
    "add: shapes [2, 3] and [4] cannot be broadcast together (size 3 vs 4 at dimension -1)"],
  ["sub broadcast", () => zeros([2, 3]).sub(zeros([3, 3])), ShapeError,
    "sub: shapes [2, 3] and [3, 3] cannot be broadcast together (size 2 vs 3 at dimension -2)"],
  ["mul broadcast", () => zeros([5, 2, 3]).mul(zeros([4, 1, 3])), ShapeError,
    "mul: shapes [5, 2, 3] and [4, 1, 3] cannot be broadcast together (size 5 vs 4 at dimension -3)"],
  ["div broadcast", () => zeros([2]).div(zeros([3])), ShapeError,
    "div: shapes [2] and [3] cannot be broadcast together (size 2 vs 3 at dimension -1)"],
  ["pow broadcast", () => pow(zeros([2]), zeros([3])), ShapeError,
    "pow: shapes [2] and [3] cannot be broadcast together (size 2 vs 3 at dimension -1)"],
  ["add an array", () => zeros([2]).add(untyped([1, 2])), TypeError,
    "add: expected a Tensor or a number, got an array (wrap it with tensor())"],
  ["mul a string", () => zeros([2]).mul(untyped("2")), TypeError, "mul: expected a Tensor or a number, got string"],
  ["add function on a number", () => add(untyped(1), zeros([2])), TypeError, "add: expected a Tensor, got number"],
  ["mul function on null", () => mul(untyped(null), 2), TypeError, "mul: expected a Tensor, got null"],
  // reductions
  ["sum dim 3", () => x23().sum(3), ShapeError, "sum: dim 3 is out of range for a tensor of 2 dimensions"],
  ["sum dim -3", () => x23().sum(-3), ShapeError, "sum: dim -3 is out of range for a tensor of 2 dimensions"],
  ["sum dim list", () => x23().sum([0, 2]), ShapeError, "sum: dim 2 is out of range for a tensor of 2 dimensions"],
  ["sum repeated dim", () => x23().sum([1, -1]), ShapeError, "sum: dim 1 appears multiple times in the list of dims"],
  ["sum fractional dim", () => sum(x23(), 0.5), TypeError, "sum: dim must be an integer, got 0.5"],
  ["sum string dim", () => x23().sum(untyped("0")), TypeError, "sum: dim must be a number or an array of numbers, got string"],
  ["sum keepdim", () => x23().sum(0, untyped(1)), TypeError, "sum: keepdim must be a boolean, got number"],
  ["sum of a scalar at dim 1", () => tensor(1).sum(1), ShapeError, "sum: dim 1 is out of range for a tensor of 0 dimensions"],
  ["mean dim", () => x23().mean(2), ShapeError, "mean: dim 2 is out of range for a tensor of 2 dimensions"],
  ["max dim", () => x23().max(-3), ShapeError, "max: dim -3 is out of range for a tensor of 2 dimensions"],
  ["max of empty", () => zeros([0]).max(), ShapeError, "max: expected a non-empty tensor, got shape [0]"],
  ["argmax dim", () => x23().argmax(2), ShapeError, "argmax: dim 2 is out of range for a tensor of 2 dimensions"],
  ["argmax dim list", () => x23().argmax(untyped([0, 1])), TypeError, "argmax: dim must be an integer, got [0, 1]"],
  ["argmax of empty", () => zeros([2, 0]).argmax(), ShapeError, "argmax: expected a non-empty tensor, got shape [2, 0]"],
  ["logsumexp dim", () => x23().logsumexp(5), ShapeError, "logsumexp: dim 5 is out of range for a tensor of 2 dimensions"],
  ["logsumexp without dim", () => x23().logsumexp(untyped(undefined)), TypeError, "logsumexp: dim is required"],
  ["softmax dim", () => x23().softmax(2), ShapeError, "softmax: dim 2 is out of range for a tensor of 2 dimensions"],
  ["softmax without dim", () => x23().softmax(untyped(undefined)), TypeError, "softmax: dim must be a number, got undefined"],
  ["logSoftmax dim", () => x23().logSoftmax(-3), ShapeError, "logSoftmax: dim -3 is out of range for a tensor of 2 dimensions"],
  // shapes
  ["reshape size", () => x23().reshape([4, 2]), ShapeError, "reshape: cannot reshape [2, 3] (6 elements) into [4, 2] (8 elements)"],
  ["view size", () => x23().view([7]), ShapeError, "view: cannot reshape [2, 3] (6 elements) into [7] (7 elements)"],
  ["reshape inferred", () => x23().reshape([-1, 4]), ShapeError, "reshape: cannot reshape [2, 3] (6 elements) into [-1, 4]"],
  ["reshape two -1", () => x23().reshape([-1, -1]), ShapeError, "reshape: only one dimension can be inferred, got [-1, -1]"],
  ["reshape negative", () => x23().reshape([-2, -3]), ShapeError, "reshape: invalid shape dimension -2 in [-2, -3]"],
  ["reshape fractional", () => x23().reshape([1.5, 4]), ShapeError, "reshape: invalid shape dimension 1.5 in [1.5, 4]"],
  ["reshape a number", () => x23().reshape(untyped(6)), TypeError, "reshape: shape must be an array of integers, got 6"],
  ["reshape strings", () => x23().reshape(untyped(["2", 3])), TypeError, 'reshape: shape must be an array of integers, got ["2", 3]'],
  ["transpose dim", () => x23().transpose(0, 2), ShapeError, "transpose: dim 2 is out of range for a tensor of 2 dimensions"],
  ["t of 3-D", () => zeros([2, 3, 4]).t(), ShapeError, "t: expected a tensor of at most 2 dims, got [2, 3, 4]"],
  ["permute length", () => x23().permute([0]), ShapeError, "permute: expected 2 dims for a tensor of shape [2, 3], got [0]"],
  ["permute repeat", () => x23().permute([0, -2]), ShapeError, "permute: dims [0, -2] repeat a dim"],
  ["permute dim", () => x23().permute([0, 2]), ShapeError, "permute: dim 2 is out of range for a tensor of 2 dimensions"],
  ["flatten order", () => zeros([2, 3, 4]).flatten(2, 1), ShapeError, "flatten: startDim 2 comes after endDim 1 for shape [2, 3, 4]"],
  ["flatten dim", () => x23().flatten(3), ShapeError, "flatten: dim 3 is out of range for a tensor of 2 dimensions"],
  ["flatten of a scalar", () => tensor(1).flatten(5), ShapeError, "flatten: dim 5 is out of range for a tensor of 0 dimensions"],
  ["squeeze dim", () => x23().squeeze(2), ShapeError, "squeeze: dim 2 is out of range for a tensor of 2 dimensions"],
  ["unsqueeze dim", () => x23().unsqueeze(3), ShapeError,
    "unsqueeze: dim 3 is out of range for a tensor of 2 dimensions (expected -3 <= dim <= 2)"],
  ["unsqueeze negative dim", () => x23().unsqueeze(-4), ShapeError,
    "unsqueeze: dim -4 is out of range for a tensor of 2 dimensions (expected -3 <= dim <= 2)"],
  // tensor()
  ["ragged rows", () => tensor([[1, 2], [3]]), ShapeError, "tensor: expected sequence of length 2 at dim 1 (got 1)"],
  ["ragged depth (number for a row)", () => tensor(untyped([[1, 2], 3])), ShapeError,
    "tensor: expected a sequence of length 2 at dim 1, got a number (ragged nesting)"],
  ["ragged depth (row for a number)", () => tensor([1, [2]]), ShapeError,
    "tensor: expected numbers at nesting depth 1, got an array (ragged nesting)"],
  ["ragged 3-D", () => tensor([[[1], [2]], [[3]]]), ShapeError, "tensor: expected sequence of length 2 at dim 1 (got 1)"],
  ["shape size", () => tensor([1, 2, 3], { shape: [2, 2] }), ShapeError,
    "tensor: shape [2, 2] holds 4 elements, but 3 values were given"],
  ["shape of a Float32Array", () => tensor(new Float32Array(6), { shape: [4] }), ShapeError,
    "tensor: shape [4] holds 4 elements, but 6 values were given"],
  ["shape of a number", () => tensor(1, { shape: [2] }), ShapeError,
    "tensor: shape [2] holds 2 elements, but 1 values were given"],
  ["negative shape", () => tensor([1], { shape: [-1] }), ShapeError, "tensor: shape must hold non-negative integers, got [-1]"],
  ["string values", () => tensor(untyped([1, "2"])), TypeError, "tensor: expected numbers, got string"],
  ["string in an array-like", () => tensor(untyped({ length: 2, 0: 1, 1: "x" })), TypeError,
    "tensor: expected numbers, got string at index 1"],
  ["a string", () => tensor(untyped("12")), TypeError,
    "tensor: expected a number, nested arrays or an array-like of numbers, got string"],
  ["null", () => tensor(untyped(null)), TypeError,
    "tensor: expected a number, nested arrays or an array-like of numbers, got null"],
  // factories
  ["zeros negative", () => zeros([2, -1]), ShapeError, "zeros: shape must hold non-negative integers, got [2, -1]"],
  ["zeros number", () => zeros(untyped(3)), TypeError, "zeros: shape must be an array of integers, got 3"],
  ["full value", () => full([2], untyped("1")), TypeError, "full: value must be a number, got string"],
  ["rand shape", () => rand([1.5]), ShapeError, "rand: shape must hold non-negative integers, got [1.5]"],
  ["randn shape", () => randn(untyped(2)), TypeError, "randn: shape must be an array of integers, got 2"],
  ["arange step 0", () => arange(0, 3, 0), RangeError, "arange: step must be nonzero"],
  ["arange sign", () => arange(0, 3, -1), RangeError,
    "arange: upper bound and larger bound inconsistent with step sign (0, 3, -1)"],
  ["arange infinite", () => arange(Infinity), RangeError, "arange: expected finite bounds and step, got 0, Infinity, 1"],
  ["randperm", () => randperm(-1), RangeError, "randperm: n must be a non-negative integer, got -1"],
  ["uniform", () => uniform([2], 1, 0), RangeError, "uniform: expected low <= high, got 1 and 0"],
  // tensor members and autograd
  ["backward on a non-scalar", () => grad23().mul(2).backward(), ShapeError,
    "backward: grad can be implicitly created only for scalar outputs, got shape [2, 3]"],
  ["backward without grad", () => x23().sum().backward(), Error,
    "backward: element 0 of tensors does not require grad and does not have a gradFn"],
  ["backward gradient shape", () => grad23().mul(2).backward(zeros([3, 2])), ShapeError,
    "backward: Mismatch in shape: gradient has a shape of [3, 2] and the output has a shape of [2, 3]"],
  ["backward gradient kind", () => grad23().mul(2).backward(untyped([1])), TypeError, "backward: gradient must be a Tensor, got an array"],
  ["backward twice through saved values", () => {
    const y = grad23().mul(2).sum();
    y.backward();
    y.backward();
  }, Error, 'backward: Trying to backward through the graph a second time (the values saved by "mul" were freed). ' +
    "Saved intermediate values of the graph are freed when you call backward(). " +
    "Specify { retainGraph: true } if you need to backward through the graph a second time."],
  ["item of many", () => x23().item(), ShapeError, "item: a Tensor with 6 elements cannot be converted to Scalar"],
  ["grad of another shape", () => {
    grad23().grad = zeros([3]);
  }, ShapeError, "grad: assigned grad has data of a different size: shape [3], the tensor's is [2, 3]"],
  ["grad of another kind", () => {
    grad23().grad = untyped([1, 2]);
  }, TypeError, "grad: assigned grad expected to be a Tensor or null but got an array"],
  ["Tensor constructor", () => new Tensor(new Float32Array(3), [2, 2]), ShapeError, "Tensor: shape [2, 2] needs 4 values, got 3"],
  ["requiresGrad of a non-leaf", () => {
    grad23().mul(2).requiresGrad = false;
  }, Error, "requiresGrad: you can only change requiresGrad flags of leaf variables. If you want to use a computed " +
    "variable in a subgraph that doesn't require differentiation use detach()"],
  ["grad of a number", () => {
    grad23().grad = untyped(0);
  }, TypeError, "grad: assigned grad expected to be a Tensor or null but got number"],
  ["backward gradient null", () => grad23().mul(2).backward(untyped(null)), TypeError, "backward: gradient must be a Tensor, got null"],
];

describe("bad input raises the exact error", () => {
  it.each(cases)("%s", (_name, thunk, errorClass, message) => expectExactError(thunk, errorClass, message));
  it("every message starts with where it comes from and names this API's options, not PyTorch's snake_case", () => {
    for (const [, , , message] of cases) {
      expect(message).toMatch(/^[A-Za-z][\w.]*: \S/);
      expect(message).not.toMatch(/\b[a-z]+_[a-z_]+\b/);
    }
  });
  it("ShapeError is an Error subclass with its own name", () => {
    const e = new ShapeError("x");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("ShapeError");
  });
});
