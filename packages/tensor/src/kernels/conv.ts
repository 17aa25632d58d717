// Patch-matrix kernels of the 2-D convolution (im2col and its adjoint col2im) on raw Float32Arrays, and the direct
// SIMD convolution that replaces im2col + gemm for few input channels on the wasm backend; no tensors.
import { getBackend } from "../compute.js";
import { addressOf } from "../heap.js";
import { rangeOnTeam } from "../parallel.js";
import { inHeap, kernelEngine } from "../wasm/engine.js";
import { kernelInstructions } from "../wasm/index.js";

/** Geometry of one 2-D convolution over one image: input [C, H, W] → output [·, OH, OW]. */
export interface ConvGeometry {
  /** Input channels read (one group's). */
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  /** Zero rows above and zero columns left of the input (the other sides follow from the output size). */
  readonly padTop: number;
  readonly padLeft: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly outH: number;
  readonly outW: number;
}

/**
 * The output columns `ow` whose input column `ow·stride − pad + offset` lies in [0, width): [lo, hi).
 * (Used per kernel column: `offset` = kj·dilation.)
 */
function validRange(outSize: number, stride: number, pad: number, offset: number, size: number): [number, number] {
  // ow·stride − pad + offset >= 0  ⇔  ow >= ceil((pad − offset) / stride)
  const lo = Math.max(0, Math.ceil((pad - offset) / stride));
  // ow·stride − pad + offset <= size − 1  ⇔  ow <= floor((size − 1 + pad − offset) / stride)
  const hi = Math.min(outSize, Math.floor((size - 1 + pad - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * Writes the patch matrix of one image: `col[(c·kH + ki)·kW + kj, oh·OW + ow] = x[c, oh·sH − padTop + ki·dH,
 * ow·sW − padLeft + kj·dW]` (0 where that falls in the padding). `x` holds the image's `channels` planes from `xOff`;
 * `col` is [channels·kH·kW, OH·OW] from `colOff`, every element written.
 */
export function im2col(g: ConvGeometry, x: Float32Array, xOff: number, col: Float32Array, colOff: number): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW } = g;
  const plane = height * width;
  let row = colOff;
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * plane;
    for (let ki = 0; ki < kernelH; ki++) {
      const [ohLo, ohHi] = validRange(outH, strideH, padTop, ki * dilationH, height);
      for (let kj = 0; kj < kernelW; kj++) {
        const [owLo, owHi] = validRange(outW, strideW, padLeft, kj * dilationW, width);
        const colOffset = kj * dilationW - padLeft;
        for (let oh = 0; oh < outH; oh++) {
          const dst = row + oh * outW;
          if (oh < ohLo || oh >= ohHi) {
            col.fill(0, dst, dst + outW);
            continue;
          }
          const src = xc + (oh * strideH - padTop + ki * dilationH) * width + colOffset;
          for (let ow = 0; ow < owLo; ow++) col[dst + ow] = 0;
          if (strideW === 1) {
            for (let ow = owLo; ow < owHi; ow++) col[dst + ow] = x[src + ow]!;
          } else {
            for (let ow = owLo; ow < owHi; ow++) col[dst + ow] = x[src + ow * strideW]!;
          }
          for (let ow = owHi; ow < outW; ow++) col[dst + ow] = 0;
        }
        row += outH * outW;
      }
    }
  }
}

/**
 * The adjoint of {@link im2col}: adds every element of the patch matrix `col` back onto the input position it was
 * read from, `dx[c, ih, iw] += col[...]` (padding positions are dropped). `dx` must hold the image's planes from
 * `dxOff`, already initialised (zeros, or values to add to). The sum at each position runs over (ki, kj) in order.
 */
export function col2im(g: ConvGeometry, col: Float32Array, colOff: number, dx: Float32Array, dxOff: number): void {
  const { channels, height, width, kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW } = g;
  const plane = height * width;
  let row = colOff;
  for (let c = 0; c < channels; c++) {
    const xc = dxOff + c * plane;
    for (let ki = 0; ki < kernelH; ki++) {
      const [ohLo, ohHi] = validRange(outH, strideH, padTop, ki * dilationH, height);
      for (let kj = 0; kj < kernelW; kj++) {
        const [owLo, owHi] = validRange(outW, strideW, padLeft, kj * dilationW, width);
        const colOffset = kj * dilationW - padLeft;
        for (let oh = ohLo; oh < ohHi; oh++) {
          const srcRow = row + oh * outW;
          const dst = xc + (oh * strideH - padTop + ki * dilationH) * width + colOffset;
          if (strideW === 1) {
            for (let ow = owLo; ow < owHi; ow++) dx[dst + ow]! += col[srcRow + ow]!;
          } else {
            for (let ow = owLo; ow < owHi; ow++) dx[dst + ow * strideW]! += col[srcRow + ow]!;
          }
        }
        row += outH * outW;
      }
    }
  }
}

/** Input channels × kernel taps at most this many take the direct convolution (im2col's patch matrix is thin). */
const DIRECT_MAX_TAPS = 27;
/**
 * Multiply-adds per image at least this many: far above the size below which the gemm dispatcher runs its JavaScript
 * kernel (4,096 in compute.ts), so that the im2col path it replaces would take the wasm gemm, whose bits it gives.
 */
const DIRECT_MIN_MACS = 1 << 16;
/** Floats of input and output per chunk of images (about 256 KiB: the chunk stays in cache between copies). */
const DIRECT_CHUNK_FLOATS = 65536;

/**
 * The forward of a stride-1, undilated, ungrouped convolution with few input channels (conv1 of an MNIST CNN), in one
 * SIMD pass: out [n, cout, OH, OW] = w ⋆ x (+ bias). Each output is summed as the wasm gemm sums the im2col patch
 * matrix (from 0, over (c, kh, kw) in order, multiply then add; the bias added last, as the JavaScript pass after the
 * gemm does), so the result is bit for bit the im2col path's. Applies on the wasm backend with the plain SIMD gemms
 * (not relaxed: those fuse the multiply-add) and `cout` a multiple of 4; returns false (nothing written) otherwise.
 */
export function convDirect(
  g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array,
  n: number, cout: number, groups: number, padBottom: number, padRight: number,
): boolean {
  const { channels: cin, height, width, kernelH: kH, kernelW: kW, padTop, padLeft, outH, outW } = g;
  const taps = cin * kH * kW, outPlane = outH * outW;
  if (groups !== 1 || g.strideH !== 1 || g.strideW !== 1 || g.dilationH !== 1 || g.dilationW !== 1 || cout % 4 !== 0
    || n === 0 || taps > DIRECT_MAX_TAPS || cout * outPlane * taps < DIRECT_MIN_MACS) return false;
  if (getBackend() !== "wasm" || kernelInstructions() !== "simd128") return false;
  const e = kernelEngine();
  if (e === null) return false;
  const paddedH = height + padTop + padBottom, paddedW = width + padLeft + padRight;
  const padded = paddedH !== height || paddedW !== width;
  const inPlane = height * width;
  const chunk = Math.max(1, Math.min(n, Math.floor(DIRECT_CHUNK_FLOATS / (cin * inPlane + cout * outPlane))));
  const { arena, conv } = e;
  arena.reset();
  const px = addressOf(x, 0), pout = addressOf(out, 0);
  if (!padded && px >= 0 && pout >= 0) {
    // In place, split by images across the thread team when it pays.
    const pw = inHeap(e, w, 0, w.length), pb = bias === null ? 0 : inHeap(e, bias, 0, cout);
    const args = [px, pw, pb, pout, n, cin, height, width, cout, kH, kW, bias === null ? 0 : 1];
    const shifts = [[0, 4 * cin * inPlane], [3, 4 * cout * outPlane]] as const;
    if (!rangeOnTeam({ kernel: "conv_direct", args, count: 4, shifts, units: n }, n * cout * outPlane * taps)) {
      conv.conv_direct(px, pw, pb, pout, n, cin, height, width, cout, kH, kW, bias === null ? 0 : 1);
    }
    arena.reset();
    return true;
  }
  const xIn = arena.alloc(chunk * cin * inPlane), xPad = padded ? arena.alloc(chunk * cin * paddedH * paddedW) : xIn;
  const pw = arena.alloc(w.length), pb = arena.alloc(cout), po = arena.alloc(chunk * cout * outPlane);
  const heap = e.f32();
  heap.set(w, pw >> 2);
  if (bias !== null) heap.set(bias, pb >> 2);
  for (let img0 = 0; img0 < n; img0 += chunk) {
    const count = Math.min(chunk, n - img0);
    heap.set(x.subarray(img0 * cin * inPlane, (img0 + count) * cin * inPlane), xIn >> 2);
    if (padded) conv.pad(xIn, xPad, count * cin, height, width, padTop, padLeft, paddedH, paddedW);
    conv.conv_direct(xPad, pw, pb, po, count, cin, paddedH, paddedW, cout, kH, kW, bias === null ? 0 : 1);
    out.set(heap.subarray(po >> 2, (po >> 2) + count * cout * outPlane), img0 * cout * outPlane);
  }
  return true;
}
