// One thread's share of a Winograd convolution or of its weight gradient: a range of images transformed and multiplied
// on the SIMD kernels, in the thread's own scratch. Self-contained: worker threads run its source text.
import type { ConvKernelExports } from "../wasm/conv-kernels.js";

/** The conv kernels a chunk calls (wasm/conv-kernels.ts), instantiated on the tensor heap. */
export type WinogradChunkKernels = Pick<ConvKernelExports, "pad" | "wino_input" | "wino_output" | "wino_grad_output">;

/** A SIMD gemm of wasm/kernels.ts ("nn" or "nt"): C[rows r0…r1) (+)= op(A)·op(B) at byte addresses (panel: its own). */
export type GemmNn = (m: number, n: number, k: number, a: number, b: number, c: number, acc: number, r0: number, r1: number, panel: number) => void;

/** Where each parameter of a chunk lies in the Int32Array of parameters (from `at`); byte addresses and counts. */
export const WINO = {
  x: 0, xImage: 1, out: 2, outImage: 3, u: 4, bias: 5, hasBias: 6, inC: 7, outC: 8, height: 9, width: 10,
  padTop: 11, padLeft: 12, paddedH: 13, paddedW: 14, unpadded: 15, tilesH: 16, tilesW: 17, outH: 18, outW: 19,
  scratch: 20, scratchStride: 21, vStride: 22, mStride: 23, xPadAt: 24, vAt: 25, mAt: 26,
} as const;
/** The weight gradient's own parameters ({@link winogradWeightChunk}): slots 2–5; the rest as {@link WINO} (m: Ỹ). */
export const WINO_GRAD = { g: 2, gImage: 3, partials: 4, chunkImages: 5 } as const;
export const WINO_PARAMS = 27;

/**
 * The input transform V of x's images [i0, i1) into the thread's scratch at `base` (+ vAt), padding them first (into
 * base + xPadAt) unless the planes are already the padded ones: the first half of both chunk functions.
 */
export function winogradInput(conv: WinogradChunkKernels, p: Int32Array, at: number, base: number, i0: number, i1: number): void {
  const count = i1 - i0, inC = p[at + 7]!, paddedH = p[at + 13]!, paddedW = p[at + 14]!;
  const x = p[at]! + i0 * p[at + 1]!;
  let src = x;
  if (p[at + 15] !== 1) {
    src = base + p[at + 24]!;
    conv.pad(x, src, count * inC, p[at + 9]!, p[at + 10]!, p[at + 11]!, p[at + 12]!, paddedH, paddedW);
  }
  conv.wino_input(src, base + p[at + 25]!, inC, count, paddedH, paddedW, p[at + 16]!, p[at + 17]!, p[at + 22]!);
}

/** The geometry both chunk functions read from the parameters, and thread `thread`'s scratch: V's and the second planes'. */
export function chunkGeometry(p: Int32Array, at: number, thread: number): {
  inC: number; outC: number; tilesH: number; tilesW: number; vStride: number; secondStride: number; base: number; v: number; second: number;
} {
  const base = p[at + 20]! + thread * p[at + 21]!;
  return {
    inC: p[at + 7]!, outC: p[at + 8]!, tilesH: p[at + 16]!, tilesW: p[at + 17]!, vStride: p[at + 22]!, secondStride: p[at + 23]!,
    base, v: base + p[at + 25]!, second: base + p[at + 26]!,
  };
}

/**
 * Images [i0, i1) of a 3×3 stride-1 convolution by F(2×2, 3×3) (see winogradConv in winograd.ts): pad (unless the
 * planes are already the padded ones), input transform, the 16 products M[ξ] = U[ξ]·V[ξ], output transform (+ bias),
 * in thread `thread`'s scratch (at scratch + thread·scratchStride). Each output element is computed by the same
 * operations whatever the range, so any split of the images gives the bits of one call over all of them.
 */
export function winogradChunk(
  conv: WinogradChunkKernels, gemmNn: GemmNn, p: Int32Array, at: number, thread: number, panel: number, i0: number, i1: number,
): void {
  const { inC, outC, tilesH, tilesW, vStride, secondStride: mStride, base, v, second: m } = chunkGeometry(p, at, thread);
  const count = i1 - i0;
  winogradInput(conv, p, at, base, i0, i1);
  const tiles = count * tilesH * tilesW, u = p[at + 4]!;
  for (let xi = 0; xi < 16; xi++) gemmNn(outC, tiles, inC, u + 4 * xi * outC * inC, v + xi * vStride, m + xi * mStride, 0, 0, outC, panel);
  conv.wino_output(m, p[at + 2]! + i0 * p[at + 3]!, outC, count, p[at + 18]!, p[at + 19]!, tilesH, tilesW, mStride, p[at + 5]!, p[at + 6]!);
}

/**
 * Images [i0, i1) (one chunk of `chunkImages`, number k = i0 / chunkImages) of a Winograd weight gradient (see
 * winogradWeightGrad in winograd.ts): pad, input transform of x, transform of the output gradient g, and the 16
 * products P[ξ] = Ỹ[ξ]·V[ξ]ᵀ into chunk k's own partial (at partials + k·16·outC·inC floats). Summed in chunk order
 * by the caller, the partials give the bits of the one-thread loop, which adds each chunk's products in that order.
 */
export function winogradWeightChunk(
  conv: WinogradChunkKernels, gemmNt: GemmNn, p: Int32Array, at: number, thread: number, panel: number, i0: number, i1: number,
): void {
  const { inC: cin, outC: cout, tilesH, tilesW, vStride, secondStride: yStride, base, v, second: yt } = chunkGeometry(p, at, thread);
  const count = i1 - i0;
  winogradInput(conv, p, at, base, i0, i1);
  conv.wino_grad_output(p[at + 2]! + i0 * p[at + 3]!, yt, cout, count, p[at + 18]!, p[at + 19]!, tilesH, tilesW, yStride);
  const tiles = count * tilesH * tilesW, plane = cout * cin;
  const partial = p[at + 4]! + 4 * 16 * plane * Math.floor(i0 / p[at + 5]!);
  for (let xi = 0; xi < 16; xi++) gemmNt(cout, cin, tiles, yt + xi * yStride, v + xi * vStride, partial + 4 * xi * plane, 0, 0, cout, panel);
}

/** The source text of the chunk functions (and what they call), for worker threads to evaluate. */
export function winogradChunkSource(): string {
  return [chunkGeometry, winogradInput, winogradChunk, winogradWeightChunk].map((f) => f.toString()).join("\n");
}
