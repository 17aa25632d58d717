// conv2d (torch.nn.functional.conv2d: NCHW, stride, padding incl. "same"/"valid", dilation, groups) and its gradient,
// as patch matrices (im2col) times the weight on the gemm dispatcher, with a Winograd path for 3×3 stride-1 kernels.
import { defineOp } from "../autograd.js";
import { gemm, getBackend } from "../compute.js";
import { ShapeError } from "../errors.js";
import { col2im, convDirect, im2col, type ConvGeometry } from "../kernels/conv.js";
import { winogradApplies, winogradConv, winogradWeightGrad } from "../kernels/winograd.js";
import { releaseArray, takeArray, takeFloat64, takeZeros } from "../pool.js";
import { describeValue, formatShape } from "../shape.js";
import { Tensor } from "../tensor.js";
import { inHeap, kernelEngine } from "../wasm/engine.js";
import { rangeOnTeam } from "../parallel.js";

/** One integer for both spatial dims, or `[height, width]`. */
export type IntPair = number | readonly [number, number];

/** Padding of {@link conv2d}: zeros on each side (one number or `[h, w]`), `"valid"` (none) or `"same"`. */
export type Conv2dPadding = IntPair | "same" | "valid";

/** Options of {@link conv2d} (PyTorch's names and defaults). */
export interface Conv2dOptions {
  /** Step of the window (default 1). */
  readonly stride?: IntPair;
  /**
   * Zeros added on both sides (default 0); `"valid"` is 0; `"same"` pads so that the output has the input's size
   * (stride 1 only; an odd total goes one more to the bottom/right, as PyTorch).
   */
  readonly padding?: Conv2dPadding;
  /** Spacing between kernel elements (default 1). */
  readonly dilation?: IntPair;
  /** Blocked connections: input and output channels split into `groups` independent convolutions (default 1). */
  readonly groups?: number;
}

/** @internal Reads a one-or-two integer option; `where` and `name` go into PyTorch's message for a bad length. */
export function intPair(value: unknown, where: string, name: string, lengthMessage: string): [number, number] {
  const pair = typeof value === "number" ? [value, value] : value;
  if (!Array.isArray(pair) || (pair.length !== 1 && pair.length !== 2)) {
    if (Array.isArray(pair)) throw new ShapeError(`${where}: ${lengthMessage}, but got ${name}=${describeValue(pair)}`);
    throw new TypeError(`${where}: ${name} must be an integer or a pair of integers, got ${describeValue(value)}`);
  }
  const [h, w = h] = pair as number[];
  for (const v of [h, w]) {
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw new TypeError(`${where}: ${name} must be an integer or a pair of integers, got ${describeValue(value)}`);
    }
  }
  return [h!, w!];
}

/** Everything conv2d needs about its arguments, validated. */
interface ConvPlan {
  readonly batched: boolean;
  readonly n: number;
  readonly cin: number;
  readonly cout: number;
  readonly groups: number;
  readonly geom: ConvGeometry; // one group's channels
  readonly padBottom: number;
  readonly padRight: number;
}

function checkTensor(x: unknown, what: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`conv2d: expected ${what} to be a Tensor, got ${describeValue(x)}`);
}

function plan(input: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions): ConvPlan {
  const where = "conv2d";
  if (input.ndim !== 3 && input.ndim !== 4) {
    throw new ShapeError(
      `${where}: Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: ${formatShape(input.shape)}`,
    );
  }
  if (weight.ndim !== 4) {
    throw new ShapeError(
      `${where}: Expected 4-dimensional weight [out_channels, in_channels / groups, kH, kW], but got ` +
        `${weight.ndim}-dimensional weight of size ${formatShape(weight.shape)} instead`,
    );
  }
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
  const lengthMessage = (name: string): string =>
    `expected ${name} to be a single integer value or a list of 2 values to match the convolution dimensions`;
  const [sH, sW] = intPair(stride, where, "stride", lengthMessage("stride"));
  const [dH, dW] = intPair(dilation, where, "dilation", lengthMessage("dilation"));
  if (typeof groups !== "number" || !Number.isInteger(groups)) {
    throw new TypeError(`${where}: groups must be an integer, got ${describeValue(groups)}`);
  }
  if (sH <= 0 || sW <= 0) throw new RangeError(`${where}: non-positive stride is not supported`);
  if (dH <= 0 || dW <= 0) throw new RangeError(`${where}: non-positive dilation is not supported`);
  if (groups <= 0) throw new RangeError(`${where}: non-positive groups is not supported`);
  const [cout, cg, kH, kW] = weight.shape as [number, number, number, number];
  let padTop: number, padLeft: number, padBottom: number, padRight: number;
  if (typeof padding === "string") {
    if (padding === "valid") {
      padTop = padLeft = padBottom = padRight = 0;
    } else if (padding === "same") {
      if (sH !== 1 || sW !== 1) throw new RangeError(`${where}: padding='same' is not supported for strided convolutions`);
      const totalH = dH * (kH - 1), totalW = dW * (kW - 1);
      padTop = totalH >> 1;
      padLeft = totalW >> 1;
      padBottom = totalH - padTop;
      padRight = totalW - padLeft;
    } else {
      throw new RangeError(`${where}: Invalid padding string: '${padding}'`);
    }
  } else {
    const [pH, pW] = intPair(padding, where, "padding", lengthMessage("padding"));
    if (pH < 0 || pW < 0) throw new RangeError(`${where}: negative padding is not supported`);
    padTop = padBottom = pH;
    padLeft = padRight = pW;
  }
  const batched = input.ndim === 4;
  const [n, cin, height, width] = (batched ? input.shape : [1, ...input.shape]) as [number, number, number, number];
  const shownInput = formatShape(input.shape);
  if (cout < 1) {
    throw new ShapeError(
      `${where}: Given groups=${groups}, expected weight to be at least 1 at dimension 0, but got weight of size ` +
        `${formatShape(weight.shape)} instead`,
    );
  }
  if (cout % groups !== 0) {
    throw new ShapeError(
      `${where}: Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight ` +
        `of size ${formatShape(weight.shape)} instead`,
    );
  }
  if (cin !== cg * groups) {
    throw new ShapeError(
      `${where}: Given groups=${groups}, weight of size ${formatShape(weight.shape)}, expected input${shownInput} to have ` +
        `${cg * groups} channels, but got ${cin} channels instead`,
    );
  }
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== cout)) {
    throw new ShapeError(
      `${where}: Given weight of size ${formatShape(weight.shape)}, expected bias to be 1-dimensional with ${cout} ` +
        `elements, but got bias of size ${formatShape(bias.shape)} instead`,
    );
  }
  const paddedH = height + padTop + padBottom, paddedW = width + padLeft + padRight;
  const spanH = dH * (kH - 1) + 1, spanW = dW * (kW - 1) + 1;
  if (paddedH < spanH || paddedW < spanW) {
    throw new ShapeError(
      `${where}: Calculated padded input size per channel: (${paddedH} x ${paddedW}). Kernel size: (${spanH} x ${spanW}). ` +
        "Kernel size can't be greater than actual input size",
    );
  }
  const outH = Math.floor((paddedH - spanH) / sH) + 1;
  const outW = Math.floor((paddedW - spanW) / sW) + 1;
  return {
    batched, n, cin, cout, groups, padBottom, padRight,
    geom: {
      channels: cg, height, width, kernelH: kH, kernelW: kW, strideH: sH, strideW: sW, padTop, padLeft,
      dilationH: dH, dilationW: dW, outH, outW,
    },
  };
}

/** True when the patch matrix is the input itself (1×1 kernel, stride 1, no padding): no im2col needed. */
function isPointwise(g: ConvGeometry): boolean {
  return g.kernelH === 1 && g.kernelW === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0;
}

/**
 * 2-D convolution (`torch.nn.functional.conv2d`, cross-correlation as PyTorch): `input` [N, C, H, W] (or unbatched
 * [C, H, W]), `weight` [outChannels, C / groups, kH, kW], `bias` [outChannels] or null; the result is
 * [N, outChannels, OH, OW] with `OH = ⌊(H + padTop + padBottom − dilation·(kH − 1) − 1) / stride⌋ + 1`.
 * Gradients flow to all three. Computed as a matrix product per image and group (the weight times the image's patch
 * matrix) on the gemm kernels and threads, or by Winograd's F(2×2, 3×3) for 3×3 stride-1 kernels with enough
 * channels; either way each element's order of operations is fixed, so results are identical whatever the thread
 * count.
 *
 * ```ts
 * const y = conv2d(x, w, b, { stride: 1, padding: "same" }); // x [64, 1, 28, 28], w [32, 1, 3, 3] → y [64, 32, 28, 28]
 * ```
 */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  checkTensor(input, "input");
  checkTensor(weight, "weight");
  if (bias !== null && bias !== undefined) checkTensor(bias, "bias");
  if (typeof options !== "object" || options === null) throw new TypeError("conv2d: options must be an object");
  const b = bias ?? null;
  const p = plan(input, weight, b, options);
  const { n, cin, cout, groups, geom } = p;
  const { height, width, outH, outW, kernelH, kernelW } = geom;
  const cg = geom.channels, cog = cout / groups;
  const inPlane = height * width, outPlane = outH * outW;
  const kk = cg * kernelH * kernelW; // rows of one group's patch matrix
  const x = input.data, w = weight.data;
  const out = takeArray(n * cout * outPlane);
  const wino = winogradApplies(geom, p.padBottom, p.padRight, groups, cg, cog, n);
  // The bias is added by the Winograd and direct kernels themselves; after the im2col products otherwise.
  let biased = true;
  if (wino) {
    winogradConv(x, w, b === null ? null : b.data, out, n, cin, cout, height, width, geom.padTop, geom.padLeft, outH, outW);
  } else if (!convDirect(geom, x, w, b === null ? null : b.data, out, n, cout, groups, p.padBottom, p.padRight)) {
    convForward(x, w, out, n, cin, cout, groups, geom);
    biased = false;
  }
  if (b !== null && !biased) {
    const bd = b.data;
    for (let img = 0; img < n; img++) {
      for (let o = 0; o < cout; o++) {
        const v = bd[o]!;
        const base = (img * cout + o) * outPlane;
        for (let t = 0; t < outPlane; t++) out[base + t]! += v;
      }
    }
  }
  const shape = p.batched ? [n, cout, outH, outW] : [cout, outH, outW];
  const inputs = b === null ? [input, weight] : [input, weight, b];
  // dX = col2im(Wᵀ·dY), dW = Σ_images dY·colᵀ, db = Σ dY over images and positions.
  return defineOp({ name: "conv2d", inputs, output: out, shape, backward: (g, needs) => {
    let gx: Float32Array | null = null;
    let gw: Float32Array | null = null;
    let gb: Float32Array | null = null;
    if (needs[0]) {
      gx = wino ? takeArray(n * cin * inPlane) : takeZeros(n * cin * inPlane); // Winograd writes every element; col2im adds
      if (wino) winogradConv(g, w, null, gx, n, cout, cin, outH, outW, 2 - geom.padTop, 2 - geom.padLeft, height, width, true);
      else convInputGrad(g, w, gx, n, cin, cout, groups, geom);
    }
    if (needs[1]) {
      gw = takeArray(cout * kk);
      if (wino) winogradWeightGrad(x, g, gw, n, cin, cout, height, width, geom.padTop, geom.padLeft, outH, outW);
      else convWeightGrad(x, g, gw, n, cin, cout, groups, geom);
    }
    if (b !== null && needs[2]) {
      const sums = takeFloat64(n * cout);
      planeSums(g, n * cout, outPlane, sums);
      const acc = takeFloat64(cout).fill(0);
      for (let img = 0; img < n; img++) {
        for (let o = 0; o < cout; o++) acc[o]! += sums[img * cout + o]!;
      }
      gb = takeArray(cout);
      for (let o = 0; o < cout; o++) gb[o] = acc[o]!;
      releaseArray(acc);
      releaseArray(sums);
    }
    return b === null ? [gx, gw] : [gx, gw, gb];
  } });
}

/** Planes at least this long take the SIMD sums (shorter ones: a kernel call costs more than the loop). */
const SIMD_MIN_PLANE = 64;

/**
 * sums[p] = {@link planeSum} of plane p of g [planes, len]: on the wasm backend by the SIMD kernel `plane_sums`,
 * which adds the same float64 values in the same order (the same bits).
 */
function planeSums(g: Float32Array, planes: number, len: number, sums: Float64Array): void {
  const e = getBackend() === "wasm" && len >= SIMD_MIN_PLANE ? kernelEngine() : null;
  if (e === null) {
    for (let p = 0; p < planes; p++) sums[p] = planeSum(g, p * len, len);
    return;
  }
  e.arena.reset();
  const src = inHeap(e, g, 0, planes * len), dst = e.arena.alloc(2 * planes);
  const task = { kernel: "plane_sums", args: [src, dst, planes, len], count: 2, shifts: [[0, 4 * len], [1, 8]], units: planes } as const;
  if (!rangeOnTeam(task, planes * len)) e.conv.plane_sums(src, dst, planes, len);
  const f64 = e.f64(), at = dst >> 3;
  for (let q = 0; q < planes; q++) sums[q] = f64[at + q]!;
  e.arena.reset();
}

/**
 * Σ a[off … off + len) in float64 with four accumulators (t mod 4), combined as (s0 + s1) + (s2 + s3): four
 * independent chains instead of one long dependency, in a fixed order.
 */
function planeSum(a: Float32Array, off: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const end4 = off + (len & ~3);
  let t = off;
  for (; t < end4; t += 4) {
    s0 += a[t]!;
    s1 += a[t + 1]!;
    s2 += a[t + 2]!;
    s3 += a[t + 3]!;
  }
  for (; t < off + len; t++) s0 += a[t]!;
  return s0 + s1 + (s2 + s3);
}

/** out[img, group] = W_group [cog, kk] · col(img, group) [kk, OH·OW], image by image. */
function convForward(
  x: Float32Array, w: Float32Array, out: Float32Array, n: number, cin: number, cout: number, groups: number, geom: ConvGeometry,
): void {
  const cg = geom.channels, cog = cout / groups;
  const inPlane = geom.height * geom.width, outPlane = geom.outH * geom.outW;
  const kk = cg * geom.kernelH * geom.kernelW;
  const pointwise = isPointwise(geom);
  const col = pointwise || n === 0 ? null : takeArray(kk * outPlane);
  for (let img = 0; img < n; img++) {
    for (let gr = 0; gr < groups; gr++) {
      const xOff = (img * cin + gr * cg) * inPlane;
      const cOff = (img * cout + gr * cog) * outPlane;
      if (col === null) {
        gemm(cog, outPlane, kk, w, gr * cog * kk, false, x, xOff, false, out, cOff);
      } else {
        im2col(geom, x, xOff, col, 0);
        gemm(cog, outPlane, kk, w, gr * cog * kk, false, col, 0, false, out, cOff);
      }
    }
  }
  if (col !== null) releaseArray(col);
}

/** gx[img, group] += col2im(W_groupᵀ · dY[img, group]); `gx` holds zeros on entry. */
function convInputGrad(
  g: Float32Array, w: Float32Array, gx: Float32Array, n: number, cin: number, cout: number, groups: number, geom: ConvGeometry,
): void {
  const cg = geom.channels, cog = cout / groups;
  const inPlane = geom.height * geom.width, outPlane = geom.outH * geom.outW;
  const kk = cg * geom.kernelH * geom.kernelW;
  const pointwise = isPointwise(geom);
  const dcol = pointwise || n === 0 ? null : takeArray(kk * outPlane);
  for (let img = 0; img < n; img++) {
    for (let gr = 0; gr < groups; gr++) {
      const gOff = (img * cout + gr * cog) * outPlane;
      const xOff = (img * cin + gr * cg) * inPlane;
      if (dcol === null) {
        gemm(kk, outPlane, cog, w, gr * cog * kk, true, g, gOff, false, gx, xOff);
      } else {
        gemm(kk, outPlane, cog, w, gr * cog * kk, true, g, gOff, false, dcol, 0);
        col2im(geom, dcol, 0, gx, xOff);
      }
    }
  }
  if (dcol !== null) releaseArray(dcol);
}

/** gw[group] = Σ_img dY[img, group] · col(img, group)ᵀ (the patch matrices recomputed from the saved input). */
function convWeightGrad(
  x: Float32Array, g: Float32Array, gw: Float32Array, n: number, cin: number, cout: number, groups: number, geom: ConvGeometry,
): void {
  const cg = geom.channels, cog = cout / groups;
  const inPlane = geom.height * geom.width, outPlane = geom.outH * geom.outW;
  const kk = cg * geom.kernelH * geom.kernelW;
  if (n === 0) {
    gw.fill(0);
    return;
  }
  const pointwise = isPointwise(geom);
  const col = pointwise ? null : takeArray(kk * outPlane);
  for (let img = 0; img < n; img++) {
    for (let gr = 0; gr < groups; gr++) {
      const gOff = (img * cout + gr * cog) * outPlane;
      const xOff = (img * cin + gr * cg) * inPlane;
      if (col === null) {
        gemm(cog, kk, outPlane, g, gOff, false, x, xOff, true, gw, gr * cog * kk, img > 0);
      } else {
        im2col(geom, x, xOff, col, 0);
        gemm(cog, kk, outPlane, g, gOff, false, col, 0, true, gw, gr * cog * kk, img > 0);
      }
    }
  }
  if (col !== null) releaseArray(col);
}
