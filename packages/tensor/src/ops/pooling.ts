// maxPool2d and avgPool2d (torch.nn.functional.max_pool2d / avg_pool2d on NCHW or CHW) and their gradients.
import { defineOp } from "../autograd.js";
import { ShapeError } from "../errors.js";
import { getBackend } from "../compute.js";
import {
  avgPoolBackward, avgPoolForward, isMaxPool2x2, maxPool2x2Backward, maxPool2x2Forward, maxPoolBackward, maxPoolForward,
  type AvgPoolDivisor, type PoolGeometry,
} from "../kernels/pooling.js";
import { releaseArray, takeArray, takeInt32, takeZeros } from "../pool.js";
import { describeValue, formatShape } from "../shape.js";
import { Tensor } from "../tensor.js";
import { intPair, type IntPair } from "./conv.js";

/** Options of {@link maxPool2d} (PyTorch's names and defaults). */
export interface MaxPool2dOptions {
  /** Window size. */
  readonly kernelSize: IntPair;
  /** Step of the window (default: `kernelSize`). */
  readonly stride?: IntPair;
  /** Implicit −∞ added on both sides (default 0; at most half the kernel size). */
  readonly padding?: IntPair;
  /** Spacing between window elements (default 1). */
  readonly dilation?: IntPair;
  /** Round the output size up instead of down (default false); a window must still start inside the padded input. */
  readonly ceilMode?: boolean;
}

/** Options of {@link avgPool2d} (PyTorch's names and defaults). */
export interface AvgPool2dOptions {
  /** Window size. */
  readonly kernelSize: IntPair;
  /** Step of the window (default: `kernelSize`). */
  readonly stride?: IntPair;
  /** Implicit zeros added on both sides (default 0; at most half the kernel size). */
  readonly padding?: IntPair;
  /** Round the output size up instead of down (default false). */
  readonly ceilMode?: boolean;
  /** Count the padding zeros in the divisor (default true). */
  readonly countIncludePad?: boolean;
  /** Divide every window's sum by this instead of by its size (default: none). */
  readonly divisorOverride?: number | null;
}

/** Below this many outputs max pooling stays in JavaScript (copying into wasm memory would cost more). */
const SIMD_MIN_OUTPUTS = 1024;

/** PyTorch's `pooling_output_shape`: floor (or ceil) division, and in ceil mode no window starting past the input. */
function pooledSize(size: number, kernel: number, pad: number, stride: number, dilation: number, ceilMode: boolean): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(span / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

interface PoolPlan {
  readonly geom: PoolGeometry;
  readonly shape: number[];
}

function poolPlan(
  where: string, input: Tensor, kernelSize: unknown, stride: unknown, padding: unknown, dilation: unknown,
  ceilMode: unknown,
): PoolPlan {
  if (!(input instanceof Tensor)) throw new TypeError(`${where}: expected input to be a Tensor, got ${describeValue(input)}`);
  if (kernelSize === undefined) throw new TypeError(`${where}: kernelSize is required`);
  const [kH, kW] = intPair(kernelSize, where, "kernelSize", "kernelSize must either be a single int, or a tuple of two ints");
  const [sH, sW] = stride === undefined || stride === null
    ? [kH, kW]
    : intPair(stride, where, "stride", "stride must either be omitted, a single int, or a tuple of two ints");
  const [pH, pW] = intPair(padding, where, "padding", "padding must be either be a single int, or a tuple of two ints");
  const [dH, dW] = intPair(dilation, where, "dilation", "dilation must be either a single int, or a tuple of two ints");
  if (typeof ceilMode !== "boolean") throw new TypeError(`${where}: ceilMode must be a boolean, got ${describeValue(ceilMode)}`);
  if (kH <= 0 || kW <= 0) throw new RangeError(`${where}: kernel size should be greater than zero, but got kH: ${kH} kW: ${kW}`);
  if (sH <= 0 || sW <= 0) throw new RangeError(`${where}: stride should be greater than zero, but got dH: ${sH} dW: ${sW}`);
  if (dH <= 0 || dW <= 0) {
    throw new RangeError(`${where}: dilation should be greater than zero, but got dilationH: ${dH} dilationW: ${dW}`);
  }
  for (const [pad, k] of [[pH, kH], [pW, kW]] as const) {
    if (pad < 0) throw new RangeError(`${where}: pad must be non-negative, but got pad: ${pad}`);
    if (pad > k / 2) throw new RangeError(`${where}: pad should be at most half of kernel size, but got pad=${pad} and kernel_size=${k}`);
  }
  const dims = input.shape;
  const ok = (dims.length === 3 || dims.length === 4) && dims.slice(dims.length - 3).every((d) => d > 0);
  if (!ok) {
    throw new ShapeError(
      `${where}: Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got: ${formatShape(dims)}`,
    );
  }
  const [height, width] = dims.slice(-2) as [number, number];
  const planes = dims.slice(0, -2).reduce((a, d) => a * d, 1);
  const outH = pooledSize(height, kH, pH, sH, dH, ceilMode);
  const outW = pooledSize(width, kW, pW, sW, dW, ceilMode);
  if (outH < 1 || outW < 1) {
    throw new ShapeError(
      `${where}: Given input size: (${dims[dims.length - 3]}x${height}x${width}). Calculated output size: ` +
        `(${dims[dims.length - 3]}x${outH}x${outW}). Output size is too small`,
    );
  }
  return {
    geom: {
      planes, height, width, kernelH: kH, kernelW: kW, strideH: sH, strideW: sW, padH: pH, padW: pW,
      dilationH: dH, dilationW: dW, outH, outW,
    },
    shape: [...dims.slice(0, -2), outH, outW],
  };
}

function checkOptions(where: string, options: unknown): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${where}: expected an options object { kernelSize, ... }, got ${describeValue(options)}`);
  }
}

/**
 * 2-D max pooling (`torch.nn.functional.max_pool2d`) over the last two dims of [N, C, H, W] or [C, H, W]. Ties go
 * to the first maximal element in scan order (rows, then columns) and NaN propagates (the window's last NaN is
 * chosen), as PyTorch's CPU kernel; the gradient goes to the chosen element (summed where windows overlap).
 *
 * ```ts
 * maxPool2d(x, { kernelSize: 2 }); // [64, 64, 24, 24] → [64, 64, 12, 12]
 * ```
 */
export function maxPool2d(input: Tensor, options: MaxPool2dOptions): Tensor {
  const where = "maxPool2d";
  checkOptions(where, options);
  const { kernelSize, stride, padding = 0, dilation = 1, ceilMode = false } = options;
  const { geom, shape } = poolPlan(where, input, kernelSize, stride, padding, dilation, ceilMode);
  const count = geom.planes * geom.outH * geom.outW;
  const out = takeArray(count);
  const inLength = input.numel;
  // The CNN's 2×2 stride-2 pooling runs in SIMD on the wasm backend (the same choices, saved as each window's position
  // 0 … 3 in a Float32Array of the tensor heap instead of the position in the plane), its gradient too.
  if (getBackend() === "wasm" && count >= SIMD_MIN_OUTPUTS && isMaxPool2x2(geom)) {
    const code = takeArray(count);
    if (maxPool2x2Forward(geom, input.data, out, code)) {
      return defineOp({ name: "maxPool2d", inputs: [input], output: out, shape, saved: [code], backward: (g) => {
        const gx = takeArray(inLength); // every element written
        if (!maxPool2x2Backward(geom, g, code, gx)) throw new Error("internal: the SIMD kernels went away");
        return [gx];
      } });
    }
    releaseArray(code);
  }
  const index = takeInt32(count);
  maxPoolForward(geom, input.data, out, index);
  // dx[argmax] += dy.
  return defineOp({ name: "maxPool2d", inputs: [input], output: out, shape, saved: [index], backward: (g) => {
    const gx = takeZeros(inLength);
    maxPoolBackward(geom, g, index, gx);
    return [gx];
  } });
}

/**
 * 2-D average pooling (`torch.nn.functional.avg_pool2d`) over the last two dims of [N, C, H, W] or [C, H, W]: each
 * window's sum divided by `divisorOverride`, or by its size counting the padding (`countIncludePad`, default) or
 * not. The gradient spreads dy / divisor over the window's elements.
 *
 * ```ts
 * avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false });
 * ```
 */
export function avgPool2d(input: Tensor, options: AvgPool2dOptions): Tensor {
  const where = "avgPool2d";
  checkOptions(where, options);
  const { kernelSize, stride, padding = 0, ceilMode = false, countIncludePad = true, divisorOverride = null } = options;
  const { geom, shape } = poolPlan(where, input, kernelSize, stride, padding, 1, ceilMode);
  if (typeof countIncludePad !== "boolean") {
    throw new TypeError(`${where}: countIncludePad must be a boolean, got ${describeValue(countIncludePad)}`);
  }
  if (divisorOverride !== null) {
    if (typeof divisorOverride !== "number" || !Number.isInteger(divisorOverride)) {
      throw new TypeError(`${where}: divisorOverride must be an integer, got ${describeValue(divisorOverride)}`);
    }
    if (divisorOverride === 0) throw new RangeError(`${where}: divisor must be not zero`);
  }
  const divisor: AvgPoolDivisor = { countIncludePad, divisorOverride };
  const out = takeArray(geom.planes * geom.outH * geom.outW);
  avgPoolForward(geom, divisor, input.data, out);
  const inLength = input.numel;
  // dx[window] += dy / divisor.
  // PyTorch saves the input for avg_pool2d's backward, so a second backward through it is refused here too.
  return defineOp({ name: "avgPool2d", inputs: [input], output: out, shape, backward: (g) => {
    const gx = takeZeros(inLength);
    avgPoolBackward(geom, divisor, g, gx);
    return [gx];
  } });
}
