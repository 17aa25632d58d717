// MaxPool2d and AvgPool2d (torch.nn.MaxPool2d / AvgPool2d) and the functional maxPool2d / avgPool2d.
import { Tensor, avgPool2d, maxPool2d, type IntPair } from "@tsgrad/tensor";
import { describe } from "./conv.js";
import { Module } from "./module.js";

export { maxPool2d, avgPool2d } from "@tsgrad/tensor";

/** Options of {@link MaxPool2d} (PyTorch's names and defaults). */
export interface MaxPool2dLayerOptions {
  /** Step of the window (default: the kernel size). */
  readonly stride?: IntPair | null;
  /** Implicit −∞ on both sides (default 0; at most half the kernel size). */
  readonly padding?: IntPair;
  /** Spacing between window elements (default 1). */
  readonly dilation?: IntPair;
  /** Round the output size up (default false). */
  readonly ceilMode?: boolean;
}

/** Options of {@link AvgPool2d} (PyTorch's names and defaults). */
export interface AvgPool2dLayerOptions {
  /** Step of the window (default: the kernel size). */
  readonly stride?: IntPair | null;
  /** Implicit zeros on both sides (default 0; at most half the kernel size). */
  readonly padding?: IntPair;
  /** Round the output size up (default false). */
  readonly ceilMode?: boolean;
  /** Count the padding in the divisor (default true). */
  readonly countIncludePad?: boolean;
  /** Divide by this instead of the window's size (default: none). */
  readonly divisorOverride?: number | null;
}

/** Checks a window option at construction, in the words `maxPool2d`/`avgPool2d` use at run time. */
function windowPair(where: string, value: unknown, name: string, atLeast: number): [number, number] {
  const p = typeof value === "number" ? [value, value] : value;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === "number" && Number.isInteger(v))) {
    throw new TypeError(`${where}: ${name} must either be a single int, or a tuple of two ints, got ${describe(value)}`);
  }
  const [h, w] = p as [number, number];
  if (h < atLeast || w < atLeast) {
    const words: Record<string, string> = {
      kernelSize: `kernel size should be greater than zero, but got kH: ${h} kW: ${w}`,
      stride: `stride should be greater than zero, but got dH: ${h} dW: ${w}`,
      dilation: `dilation should be greater than zero, but got dilationH: ${h} dilationW: ${w}`,
      padding: `pad must be non-negative, but got pad: ${h < 0 ? h : w}`,
    };
    throw new RangeError(`${where}: ${words[name]}`);
  }
  return [h, w];
}

function checkPadding(where: string, padding: readonly [number, number], kernel: readonly [number, number]): void {
  for (let d = 0; d < 2; d++) {
    if (padding[d]! > kernel[d]! / 2) {
      throw new RangeError(`${where}: pad should be at most half of kernel size, but got pad=${padding[d]} and kernel_size=${kernel[d]}`);
    }
  }
}

/**
 * 2-D max pooling layer (`torch.nn.MaxPool2d`): see {@link maxPool2d} for the window rules (first maximum wins a
 * tie, NaN propagates). Holds no parameters.
 *
 * ```ts
 * new MaxPool2d(2).forward(x).shape; // [64, 64, 24, 24] → [64, 64, 12, 12]
 * ```
 */
export class MaxPool2d extends Module<[Tensor], Tensor> {
  override readonly keepsTensors = false;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: IntPair, { stride = null, padding = 0, dilation = 1, ceilMode = false }: MaxPool2dLayerOptions = {}) {
    super();
    const where = "MaxPool2d";
    this.kernelSize = windowPair(where, kernelSize, "kernelSize", 1);
    this.stride = stride === null ? this.kernelSize : windowPair(where, stride, "stride", 1);
    this.padding = windowPair(where, padding, "padding", 0);
    this.dilation = windowPair(where, dilation, "dilation", 1);
    checkPadding(where, this.padding, this.kernelSize);
    if (typeof ceilMode !== "boolean") throw new TypeError(`${where}: ceilMode must be a boolean, got ${typeof ceilMode}`);
    this.ceilMode = ceilMode;
  }

  /** The pooled `x` ([N, C, H, W] or [C, H, W]). */
  forward(x: Tensor): Tensor {
    return maxPool2d(x, {
      kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode,
    });
  }
}

/**
 * 2-D average pooling layer (`torch.nn.AvgPool2d`): see {@link avgPool2d} for the divisor rules. Holds no parameters.
 *
 * ```ts
 * new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }).forward(x);
 * ```
 */
export class AvgPool2d extends Module<[Tensor], Tensor> {
  override readonly keepsTensors = false;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(
    kernelSize: IntPair,
    { stride = null, padding = 0, ceilMode = false, countIncludePad = true, divisorOverride = null }: AvgPool2dLayerOptions = {},
  ) {
    super();
    const where = "AvgPool2d";
    this.kernelSize = windowPair(where, kernelSize, "kernelSize", 1);
    this.stride = stride === null ? this.kernelSize : windowPair(where, stride, "stride", 1);
    this.padding = windowPair(where, padding, "padding", 0);
    checkPadding(where, this.padding, this.kernelSize);
    if (typeof ceilMode !== "boolean") throw new TypeError(`${where}: ceilMode must be a boolean, got ${typeof ceilMode}`);
    if (typeof countIncludePad !== "boolean") {
      throw new TypeError(`${where}: countIncludePad must be a boolean, got ${typeof countIncludePad}`);
    }
    if (divisorOverride !== null) {
      if (typeof divisorOverride !== "number" || !Number.isInteger(divisorOverride)) {
        throw new TypeError(`${where}: divisorOverride must be an integer, got ${describe(divisorOverride)}`);
      }
      if (divisorOverride === 0) throw new RangeError(`${where}: divisor must be not zero`);
    }
    this.ceilMode = ceilMode;
    this.countIncludePad = countIncludePad;
    this.divisorOverride = divisorOverride;
  }

  /** The pooled `x` ([N, C, H, W] or [C, H, W]). */
  forward(x: Tensor): Tensor {
    return avgPool2d(x, {
      kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad, divisorOverride: this.divisorOverride,
    });
  }
}
