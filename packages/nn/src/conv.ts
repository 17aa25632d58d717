// Conv2d (torch.nn.Conv2d: zeros padding, PyTorch's default init and state-dict layout) and the functional conv2d.
import { Tensor, conv2d, uniform, type Conv2dPadding, type Generator, type IntPair } from "@tsgrad/tensor";
import { Module } from "./module.js";

export { conv2d } from "@tsgrad/tensor";

/** Options of {@link Conv2d} (PyTorch's names and defaults). */
export interface Conv2dLayerOptions {
  /** Step of the window (default 1). */
  readonly stride?: IntPair;
  /** Zeros on each side (default 0), `"valid"` (none) or `"same"` (stride 1 only). */
  readonly padding?: Conv2dPadding;
  /** Spacing between kernel elements (default 1). */
  readonly dilation?: IntPair;
  /** Blocked connections: both channel counts must be divisible by it (default 1). */
  readonly groups?: number;
  /** Learn an additive bias per output channel (default true). */
  readonly bias?: boolean;
  /** How the input is padded: `"zeros"`, the default and the only mode implemented. */
  readonly paddingMode?: "zeros";
  /** Generator for the initial values (default: the global one that `manualSeed` seeds). */
  readonly generator?: Generator;
}

/** How a user's value appears in a message. */
export function describe(value: unknown): string {
  return Array.isArray(value) ? `[${value.map(String).join(", ")}]` : typeof value === "string" ? `'${value}'` : String(value);
}

function pair(value: unknown, name: string, atLeast: number): [number, number] {
  const p = typeof value === "number" ? [value, value] : value;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === "number" && Number.isInteger(v) && v >= atLeast)) {
    const what = atLeast === 0 ? "non-negative" : "positive";
    throw new RangeError(`Conv2d: ${name} must be a ${what} integer or a pair of them, got ${describe(value)}`);
  }
  return [p[0] as number, p[1] as number];
}

/**
 * 2-D convolution layer (`torch.nn.Conv2d`) over [N, C, H, W] or [C, H, W] inputs. `weight` is
 * `[outChannels, inChannels / groups, kH, kW]` and `bias` `[outChannels]`, both drawn uniformly from ±1/√fanIn with
 * fanIn = inChannels / groups · kH · kW (PyTorch's `kaiming_uniform_(a=√5)` and bias rule), weight first, from the
 * same generator. State-dict keys and shapes are PyTorch's.
 *
 * ```ts
 * const conv = new Conv2d(1, 32, 3);              // PyTorch's nn.Conv2d(1, 32, 3, 1)
 * conv.forward(x).shape;                          // [64, 1, 28, 28] → [64, 32, 26, 26]
 * ```
 */
export class Conv2d extends Module<[Tensor], Tensor> {
  override readonly keepsTensors = false;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number] | "same" | "valid";
  readonly dilation: readonly [number, number];
  readonly groups: number;
  readonly paddingMode: "zeros";
  /** `[outChannels, inChannels / groups, kH, kW]`. */
  weight: Tensor;
  /** `[outChannels]`, or `null` with `{ bias: false }`. */
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: IntPair, options: Conv2dLayerOptions = {}) {
    super();
    const { stride = 1, padding = 0, dilation = 1, groups = 1, bias = true, paddingMode = "zeros", generator } = options;
    for (const [name, v] of [["inChannels", inChannels], ["outChannels", outChannels]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`Conv2d: ${name} must be a non-negative integer, got ${v}`);
    }
    if (typeof groups !== "number" || !Number.isInteger(groups) || groups <= 0) {
      throw new RangeError("Conv2d: groups must be a positive integer");
    }
    if (inChannels % groups !== 0) throw new RangeError("Conv2d: inChannels must be divisible by groups");
    if (outChannels % groups !== 0) throw new RangeError("Conv2d: outChannels must be divisible by groups");
    this.kernelSize = pair(kernelSize, "kernelSize", 1);
    this.stride = pair(stride, "stride", 1);
    this.dilation = pair(dilation, "dilation", 1);
    if (typeof padding === "string") {
      if (padding !== "same" && padding !== "valid") {
        throw new RangeError(`Conv2d: Invalid padding string '${String(padding)}', should be one of {'valid', 'same'}`);
      }
      if (padding === "same" && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
        throw new RangeError("Conv2d: padding='same' is not supported for strided convolutions");
      }
      this.padding = padding;
    } else {
      this.padding = pair(padding, "padding", 0);
    }
    if (paddingMode !== "zeros") {
      throw new RangeError(
        `Conv2d: paddingMode must be 'zeros' (tsgrad implements no other; PyTorch also has 'replicate', 'reflect', ` +
          `'circular'), but got paddingMode='${String(paddingMode)}'`,
      );
    }
    if (typeof bias !== "boolean") throw new TypeError(`Conv2d: bias must be a boolean, got ${typeof bias}`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.groups = groups;
    this.paddingMode = paddingMode;
    const [kH, kW] = this.kernelSize;
    const fanIn = (inChannels / groups) * kH * kW;
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    const opts = generator === undefined ? { requiresGrad: true } : { requiresGrad: true, generator };
    this.weight = uniform([outChannels, inChannels / groups, kH, kW], -bound, bound, opts);
    this.bias = bias ? uniform([outChannels], -bound, bound, opts) : null;
  }

  /** The convolution of `x` ([N, inChannels, H, W] or [inChannels, H, W]) with this layer's weight and bias. */
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups,
    });
  }
}
