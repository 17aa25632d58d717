// The public entry: every name the issue lists is exported and callable through it (others build on these).
import { describe, expect, it } from "vitest";
import * as tg from "./index.js";

describe("public entry", () => {
  it.each([
    "Tensor", "tensor", "zeros", "ones", "full", "arange", "rand", "randn", "manualSeed", "Generator", "noGrad",
    "gradcheck", "ShapeError", "GradcheckError", "defineOp", "gemm",
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu",
    "sum", "mean", "max", "argmax", "logsumexp", "softmax", "logSoftmax", "matmul",
    "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "t", "clone",
  ])("exports %s", (name) => {
    expect(typeof (tg as Record<string, unknown>)[name]).toBe("function");
  });
  it.each([
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sum", "mean",
    "max", "argmax", "logsumexp", "softmax", "logSoftmax", "matmul", "reshape", "view", "transpose", "t", "permute",
    "flatten", "squeeze", "unsqueeze", "backward", "detach", "clone", "toFloat32Array", "toArray", "item",
  ])("Tensor has the method %s", (name) => {
    expect(typeof (tg.Tensor.prototype as unknown as Record<string, unknown>)[name]).toBe("function");
  });
  it("a short end-to-end use through the entry", () => {
    tg.manualSeed(0);
    const w = tg.randn([3, 2], { requiresGrad: true });
    const x = tg.tensor([[1, 2, 3]]);
    const loss = x.matmul(w).relu().sum();
    loss.backward();
    expect(w.grad!.shape).toEqual([3, 2]);
    expect(tg.noGrad(() => x.matmul(w)).requiresGrad).toBe(false);
  });
});
