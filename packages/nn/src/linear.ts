// Linear layer and the functional linear: y = x·Wᵀ + b as one fused graph node on the gemm kernel.
import { Tensor, ShapeError, defineOp, formatShape, numel, uniform, type Generator } from "@tsgrad/tensor";
import { addBiasRows, biasGradient, gemm, takeArray } from "@tsgrad/tensor/internal";
import { Module } from "./module.js";

/**
 * `y = x·Wᵀ + b` (`torch.nn.functional.linear`), recorded as one node named `"linear"`. `x` is `[in]`, `[N, in]` or
 * `[..., in]`, `weight` `[out, in]`, `bias` `[out]`; the result is `[..., out]` (`[out]` for a 1-D `x`). `W` is read
 * in place with a transpose flag: nothing transposed is materialised, forward or backward.
 *
 * ```ts
 * const y = linear(x, w, b); // x [32, 784], w [128, 784], b [128] → y [32, 128]
 * ```
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (!(x instanceof Tensor) || !(weight instanceof Tensor)) throw new TypeError("linear: expected Tensors for x and weight");
  if (bias !== undefined && bias !== null && !(bias instanceof Tensor)) throw new TypeError("linear: bias must be a Tensor or null");
  if (weight.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new ShapeError(
      `linear: expected x [..., in] and weight [out, in], got ${formatShape(x.shape)} and ${formatShape(weight.shape)}`,
    );
  }
  const outF = weight.shape[0]!;
  const inF = weight.shape[1]!;
  const b = bias ?? null;
  if (b !== null && (b.ndim !== 1 || b.shape[0] !== outF)) {
    throw new ShapeError(`linear: expected bias [${outF}] for weight ${formatShape(weight.shape)}, got ${formatShape(b.shape)}`);
  }
  const m = numel(x.shape.slice(0, -1));
  const out = takeArray(m * outF); // gemm writes every element
  gemm(m, outF, inF, x.data, 0, false, weight.data, 0, true, out, 0);
  if (b !== null) addBiasRows(out, b.data, m, outF);
  const shape = [...x.shape.slice(0, -1), outF];
  const inputs = b === null ? [x, weight] : [x, weight, b];
  return defineOp({
    name: "linear",
    inputs,
    output: out,
    shape,
    // As PyTorch's addmm, x is saved for dW and W for dX; a bias-only gradient reads nothing but dY.
    savesValues: x.requiresGrad || weight.requiresGrad,
    // dX = dY·W, dW = dYᵀ·X, db = Σ_rows dY.
    backward: (g, needs) => {
      let gx: Float32Array | null = null;
      let gw: Float32Array | null = null;
      let gb: Float32Array | null = null;
      if (needs[0]) {
        gx = takeArray(m * inF);
        gemm(m, inF, outF, g, 0, false, weight.data, 0, false, gx, 0);
      }
      if (needs[1]) {
        gw = takeArray(outF * inF);
        gemm(outF, inF, m, g, 0, true, x.data, 0, false, gw, 0);
      }
      if (b !== null && needs[2]) {
        gb = takeArray(outF);
        biasGradient(g, m, outF, gb);
      }
      return b === null ? [gx, gw] : [gx, gw, gb];
    },
  });
}

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  readonly bias?: boolean;
  /** Generator for the initial values (default: the global one that `manualSeed` seeds). */
  readonly generator?: Generator;
}

/**
 * Fully connected layer `y = x·Wᵀ + b` (`torch.nn.Linear`). `weight` is `[out, in]` and `bias` `[out]`, both drawn
 * uniformly from ±1/√inFeatures, as PyTorch's default (`kaiming_uniform_(a=√5)` for the weight). Weight first, then
 * bias, from the same generator.
 *
 * ```ts
 * const fc = new Linear(784, 128, { generator: new Generator(0) });
 * const y = fc.forward(x); // [N, 784] → [N, 128]
 * ```
 */
export class Linear extends Module<[Tensor], Tensor> {
  override readonly keepsTensors = false;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** `[outFeatures, inFeatures]`. */
  weight: Tensor;
  /** `[outFeatures]`, or `null` with `{ bias: false }`. */
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, { bias = true, generator }: LinearOptions = {}) {
    super();
    for (const [name, v] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`Linear: ${name} must be a non-negative integer, got ${v}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    const opts = generator === undefined ? { requiresGrad: true } : { requiresGrad: true, generator };
    this.weight = uniform([outFeatures, inFeatures], -bound, bound, opts);
    this.bias = bias ? uniform([outFeatures], -bound, bound, opts) : null;
  }

  /** `x·Wᵀ + b` for x of shape `[..., inFeatures]`. */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  /** PyTorch's: `in_features=784, out_features=128, bias=True`. */
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null ? "True" : "False"}`;
  }
}
