// gradcheck itself: it passes correct gradients, catches wrong ones, and leaves the caller's tensors alone.
import { describe, expect, it } from "vitest";
import { defineOp } from "./autograd.js";
import { randn, tensor } from "./creation.js";
import { GradcheckError } from "./errors.js";
import { gradcheck } from "./gradcheck.js";
import { Generator } from "./random.js";
import { Tensor } from "./tensor.js";

/** x² with a backward that is off by `factor` (1 is correct). */
function square(x: Tensor, factor: number): Tensor {
  return defineOp({
    name: "square", inputs: [x], output: x.data.map((v) => v * v), shape: x.shape,
    backward: (g) => [g.map((gi, i) => factor * 2 * x.data[i]! * gi)],
  });
}

describe("gradcheck", () => {
  it("accepts a correct gradient and returns true", () => {
    const x = randn([3, 2], { generator: new Generator(1), requiresGrad: true });
    expect(gradcheck((t) => square(t, 1), [x])).toBe(true);
  });
  it("throws a GradcheckError naming the input, the element and both values for a wrong gradient", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => gradcheck((t) => square(t, 1.1), [x])).toThrow(GradcheckError);
    expect(() => gradcheck((t) => square(t, 1.1), [x])).toThrow(/2 gradient element\(s\) disagree[\s\S]*input 0 \[2\] element 0: analytic/);
  });
  it("catches a gradient that a plain sum would hide (errors that cancel)", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    // Swaps the two gradient entries: Σ of the output's gradient is unchanged, a random cotangent is not.
    const swapped = (t: Tensor): Tensor =>
      defineOp({ name: "swap", inputs: [t], output: t.data.map((v, i) => v * (i + 1)), shape: t.shape,
        backward: (g) => [new Float32Array([g[1]! * 2, g[0]!])] });
    expect(() => gradcheck(swapped, [x])).toThrow(GradcheckError);
  });
  it("checks only the inputs that require grad and leaves the caller's tensors untouched", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4]);
    expect(gradcheck((p, q) => p.mul(q), [a, b])).toBe(true);
    expect(a.grad).toBeNull();
    expect(a.toArray()).toEqual([1, 2]);
    expect(b.toArray()).toEqual([3, 4]);
  });
  it("rejects an output that does not require grad, and a non-tensor output", () => {
    expect(() => gradcheck((p) => p.mul(2), [tensor([1])])).toThrow(
      new GradcheckError("gradcheck: the output does not require grad (no input requires grad?)"),
    );
    expect(() => gradcheck(() => 3 as unknown as Tensor, [tensor([1], { requiresGrad: true })])).toThrow(
      new TypeError("gradcheck: fn must return a Tensor"),
    );
  });
  it("the tolerances are options", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(gradcheck((t) => square(t, 1.001), [x], { rtol: 0.01 })).toBe(true);
    expect(() => gradcheck((t) => square(t, 1.001), [x], { rtol: 1e-5, atol: 1e-6 })).toThrow(GradcheckError);
  });
});
