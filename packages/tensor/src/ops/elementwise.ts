// Element-wise ops with broadcasting (add sub mul div pow) and unary maps (neg exp log sqrt abs tanh sigmoid relu).
import { defineOp } from "../autograd.js";
import { takeArray, takeZeros } from "../pool.js";
import { broadcastShapes, sameShape } from "../shape.js";
import { addRun, broadcastBinary, divRun, mulRun, powRun, subRun, type BinaryRun } from "../kernels/elementwise.js";
import { simdMap } from "../kernels/simd-map.js";
import { Tensor } from "../tensor.js";
import { checkTensor, describeNonTensor } from "./checks.js";

/** A number operand becomes a constant scalar tensor (no grad). */
function asTensor(x: Tensor | number, op: string): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== "number") throw new TypeError(`${op}: expected a Tensor or a number, got ${describeNonTensor(x)}`);
  return new Tensor(new Float32Array([x]), []);
}

/**
 * A broadcast binary op. `savesValues` is false for the ops whose backward reads only the incoming gradient (`add`,
 * `sub`: PyTorch saves nothing for them, so a second `backward()` may pass through).
 */
function binary(
  op: string,
  a: Tensor,
  bIn: Tensor | number,
  run: BinaryRun,
  backward: (g: Float32Array, out: Float32Array, a: Tensor, b: Tensor, needs: readonly boolean[]) => (Float32Array | null)[],
  savesValues = true,
): Tensor {
  checkTensor(a, op);
  const b = asTensor(bIn, op);
  const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(a.shape, b.shape, op);
  const out = broadcastBinary(run, a.data, a.shape, b.data, b.shape, shape);
  return defineOp({ name: op, inputs: [a, b], output: out, shape, savesValues, backward: (g, needs) => backward(g, out, a, b, needs) });
}

/** Element-wise `a + b` with broadcasting. */
export function add(a: Tensor, b: Tensor | number): Tensor {
  // d/da = 1, d/db = 1 (autograd sums broadcast dims back).
  return binary("add", a, b, addRun, (g) => [g, g], false);
}

/** Element-wise `a − b` with broadcasting. */
export function sub(a: Tensor, b: Tensor | number): Tensor {
  // d/da = 1, d/db = −1.
  return binary("sub", a, b, subRun, (g, _o, _a, _b, needs) => [g, needs[1] ? g.map((v) => -v) : null], false);
}

/** Element-wise `a · b` with broadcasting. */
export function mul(a: Tensor, b: Tensor | number): Tensor {
  // d/da = b, d/db = a.
  return binary("mul", a, b, mulRun, (g, out, a, b, needs) => {
    const shape = outShapeOf(out, a, b);
    return [
      needs[0] ? broadcastBinary(mulRun, g, shape, b.data, b.shape, shape) : null,
      needs[1] ? broadcastBinary(mulRun, g, shape, a.data, a.shape, shape) : null,
    ];
  });
}

/** Element-wise `a / b` with broadcasting. */
export function div(a: Tensor, b: Tensor | number): Tensor {
  // d/da = 1/b, d/db = −a/b² = −out/b.
  return binary("div", a, b, divRun, (g, out, a, b, needs) => {
    const shape = outShapeOf(out, a, b);
    const ga = needs[0] ? broadcastBinary(divRun, g, shape, b.data, b.shape, shape) : null;
    let gb: Float32Array | null = null;
    if (needs[1]) {
      const t = takeZeros(out.length);
      for (let i = 0; i < t.length; i++) t[i] = -g[i]! * out[i]!;
      gb = broadcastBinary(divRun, t, shape, b.data, b.shape, shape);
    }
    return [ga, gb];
  });
}

/** Element-wise `a ^ exponent` with broadcasting. */
export function pow(a: Tensor, exponent: Tensor | number): Tensor {
  // d/da = e·a^(e−1) (0 where e = 0), d/de = a^e · ln a (0 where a = 0 and e ≥ 0, as PyTorch).
  return binary("pow", a, exponent, powRun, (g, out, a, e, needs) => {
    const shape = outShapeOf(out, a, e);
    const ab = expandTo(a.data, a.shape, shape);
    const eb = expandTo(e.data, e.shape, shape);
    let ga: Float32Array | null = null;
    let ge: Float32Array | null = null;
    if (needs[0]) {
      ga = takeZeros(out.length);
      for (let i = 0; i < ga.length; i++) {
        const ei = eb[i]!;
        ga[i] = ei === 0 ? 0 : g[i]! * ei * Math.pow(ab[i]!, ei - 1);
      }
    }
    if (needs[1]) {
      ge = takeZeros(out.length);
      for (let i = 0; i < ge.length; i++) {
        const ai = ab[i]!;
        ge[i] = ai === 0 && eb[i]! >= 0 ? 0 : g[i]! * out[i]! * Math.log(ai);
      }
    }
    return [ga, ge];
  });
}

/** `x` (of `shape`) broadcast to `outShape`, materialised. */
function expandTo(x: Float32Array, shape: readonly number[], outShape: readonly number[]): Float32Array {
  if (x.length === outShape.reduce((p, d) => p * d, 1)) return x;
  return broadcastBinary(addRun, x, shape, ZERO, [], outShape);
}

const ZERO = new Float32Array([0]);

function outShapeOf(out: Float32Array, a: Tensor, b: Tensor): readonly number[] {
  if (a.numel === out.length && sameShape(a.shape, b.shape)) return a.shape;
  return broadcastShapes(a.shape, b.shape, "backward");
}

function unary(
  op: string,
  x: Tensor,
  f: (v: number) => number,
  df: (g: number, x: number, y: number) => number,
): Tensor {
  checkTensor(x, op);
  const xd = x.data;
  const out = takeZeros(xd.length);
  for (let i = 0; i < out.length; i++) out[i] = f(xd[i]!);
  return defineOp({ name: op, inputs: [x], output: out, shape: x.shape, backward: (g) => {
    const gx = takeZeros(g.length);
    for (let i = 0; i < gx.length; i++) gx[i] = df(g[i]!, xd[i]!, out[i]!);
    return [gx];
  } });
}

/** `−x`. d/dx = −1: the backward reads only the gradient (PyTorch saves nothing for `neg`). */
export function neg(x: Tensor): Tensor {
  checkTensor(x, "neg");
  const xd = x.data;
  const out = takeArray(xd.length);
  for (let i = 0; i < out.length; i++) out[i] = -xd[i]!;
  const backward = (g: Float32Array): Float32Array[] => {
    const gx = takeArray(g.length);
    for (let i = 0; i < gx.length; i++) gx[i] = -g[i]!;
    return [gx];
  };
  return defineOp({ name: "neg", inputs: [x], output: out, shape: x.shape, savesValues: false, backward });
}

/** `e^x`. d/dx = e^x. */
export function exp(x: Tensor): Tensor {
  return unary("exp", x, Math.exp, (g, _x, y) => g * y);
}

/** Natural logarithm. d/dx = 1/x. */
export function log(x: Tensor): Tensor {
  return unary("log", x, Math.log, (g, v) => g / v);
}

/** Square root. d/dx = 1/(2√x). */
export function sqrt(x: Tensor): Tensor {
  return unary("sqrt", x, Math.sqrt, (g, _x, y) => g / (2 * y));
}

/** |x|. d/dx = sign(x), 0 at 0 (PyTorch's choice). */
export function abs(x: Tensor): Tensor {
  return unary("abs", x, Math.abs, (g, v) => (v > 0 ? g : v < 0 ? -g : 0));
}

/** tanh x. d/dx = 1 − tanh²x. */
export function tanh(x: Tensor): Tensor {
  return unary("tanh", x, Math.tanh, (g, _x, y) => g * (1 - y * y));
}

/** 1/(1+e^−x), written so that neither branch overflows. d/dx = σ(1−σ). */
export function sigmoid(x: Tensor): Tensor {
  return unary(
    "sigmoid",
    x,
    (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v))),
    (g, _x, y) => g * y * (1 - y),
  );
}

/**
 * max(x, 0) (NaN stays NaN). d/dx = 0 where x <= 0, else 1 (0 at the kink; 1 at NaN, which passes the gradient on, as
 * PyTorch's `threshold_backward`): the backward is a mask pass.
 */
export function relu(x: Tensor): Tensor {
  checkTensor(x, "relu");
  const xd = x.data;
  const n = xd.length;
  const out = takeArray(n);
  // On the wasm backend, SIMD kernels with the same results (the JavaScript loops branch on the sign of every element,
  // which random signs make several times slower than memory).
  if (!simdMap("relu", [xd], out)) {
    for (let i = 0; i < n; i++) {
      const v = xd[i]!;
      out[i] = v > 0 ? v : v === v ? 0 : v;
    }
  }
  return defineOp({ name: "relu", inputs: [x], output: out, shape: x.shape, backward: (g) => {
    const gx = takeArray(n);
    if (!simdMap("relu_grad", [xd, g], gx)) for (let i = 0; i < n; i++) gx[i] = xd[i]! <= 0 ? 0 : g[i]!;
    return [gx];
  } });
}

/** Options of {@link gelu}. */
export interface GeluOptions {
  /** `"none"` (default): the exact `x·Φ(x)`; `"tanh"`: PyTorch's tanh approximation. */
  readonly approximate?: "none" | "tanh";
}

/**
 * GELU, `x·Φ(x)` with Φ the standard normal CDF (`torch.nn.functional.gelu`); with `approximate: "tanh"`,
 * `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`. Computed in float64, rounded once to float32.
 *
 * ```ts
 * gelu(tensor([-1, 0, 2])); // [-0.1587, 0, 1.9545]
 * ```
 */
export function gelu(x: Tensor, { approximate = "none" }: GeluOptions = {}): Tensor {
  checkTensor(x, "gelu");
  if (approximate !== "none" && approximate !== "tanh") {
    throw new RangeError(`gelu: approximate argument must be either "none" or "tanh", got ${JSON.stringify(approximate)}`);
  }
  const exact = approximate === "none";
  const xd = x.data;
  const out = takeArray(xd.length);
  for (let i = 0; i < out.length; i++) {
    const v = xd[i]!;
    out[i] = exact ? v * normalCdf(v) : 0.5 * v * (1 + Math.tanh(GELU_K * (v + 0.044715 * v * v * v)));
  }
  // exact: d/dx = Φ(x) + x·φ(x); tanh: 0.5·(1 + t) + 0.5·x·(1 − t²)·k·(1 + 3·0.044715·x²), t = tanh(k·(x + 0.044715·x³)).
  return defineOp({ name: "gelu", inputs: [x], output: out, shape: x.shape, backward: (g) => {
    const gx = takeArray(g.length);
    for (let i = 0; i < gx.length; i++) {
      const v = xd[i]!;
      let d: number;
      if (exact) {
        d = normalCdf(v) + v * normalPdf(v);
      } else {
        const t = Math.tanh(GELU_K * (v + 0.044715 * v * v * v));
        d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * 0.044715 * v * v);
      }
      gx[i] = g[i]! * d;
    }
    return [gx];
  } });
}

/** φ(x), the standard normal density. */
function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}

/** √(2/π), the tanh approximation's scale. */
const GELU_K = Math.sqrt(2 / Math.PI);

/**
 * Φ(x) = erfc(−x/√2)/2 to float64 accuracy, relative accuracy kept in the far left tail (where x·Φ(x) is tiny):
 * the erf Taylor series for |z| < 2, else the continued fraction of erfc (JavaScript has no `Math.erf`).
 */
function normalCdf(x: number): number {
  const z = -x / Math.SQRT2;
  return 0.5 * (z >= 0 ? erfcPositive(z) : 2 - erfcPositive(-z));
}

/** erfc(z) for z ≥ 0. */
function erfcPositive(z: number): number {
  if (z < 2) {
    // erf z = 2/√π · Σ (−1)ⁿ z^(2n+1) / (n!·(2n+1))
    let term = z, sum = z;
    for (let n = 1; n < 60 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (z > 27) return 0;
  // erfc z = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated bottom-up from a fixed depth.
  let frac = z;
  for (let n = 60; n >= 1; n--) frac = z + n / 2 / frac;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / frac;
}
