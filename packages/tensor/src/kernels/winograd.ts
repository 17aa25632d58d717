// Winograd's minimal filtering F(2×2, 3×3) for 3×3 stride-1 convolutions: the tile transforms on raw Float32Arrays
// (JavaScript loops; SIMD in wasm/conv-kernels.ts) and the 16 channel products per chunk of images on the gemm dispatcher.
import { gemm, getBackend, WASM_MIN_MACS } from "../compute.js";
import { getNumThreads, PARALLEL_MIN_MACS, rangeOnTeam, teamFor } from "../parallel.js";
import { addressOf } from "../heap.js";
import { inHeap, kernelEngine, type KernelEngine } from "../wasm/engine.js";
import { WINO, WINO_GRAD, WINO_PARAMS } from "./winograd-chunk.js";
import type { ConvGeometry } from "./conv.js";
import { releaseArray, takeArray, takeFloat64 } from "../pool.js";

const f = Math.fround;

/**
 * Tiles per chunk of images (the products' columns): on one thread, few (the transforms' output stays in cache for the
 * products: 10–15 % faster, measured); with workers, more (fewer fork/joins). The weight gradient sums over chunks,
 * so its chunks never depend on the thread count (its bits would); the forward's and input gradient's results do not
 * depend on how tiles are chunked.
 */
const TILES_PER_CHUNK = { serial: 338, parallel: 1152, weightGrad: 1152 } as const;
/** Below this many channels on either side the products are too thin to beat im2col (measured, bench/src/cnn-step.ts). */
const MIN_CHANNELS = 8;

/**
 * Whether a convolution takes the Winograd path: 3×3 kernel, stride 1, dilation 1, one group, at most 2 rows/columns
 * of padding on each side (so that the input gradient is again a padded 3×3 convolution), and enough channels.
 */
export function winogradApplies(
  g: ConvGeometry, padBottom: number, padRight: number, groups: number, cin: number, cout: number, images: number,
): boolean {
  return g.kernelH === 3 && g.kernelW === 3 && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1
    && groups === 1 && g.padTop <= 2 && g.padLeft <= 2 && padBottom <= 2 && padRight <= 2
    && cin >= MIN_CHANNELS && cout >= MIN_CHANNELS && images > 0;
}

/**
 * U[ξ, o, c] = (G·w[o, c]·Gᵀ)[ξ] for ξ = 4i + j, G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]], from weights
 * stored [cout, cin, 3, 3]; with `flip` the weights of the transposed convolution are used instead
 * (w'[c, o] = w[o, c] rotated by 180°), so U is [16, cin, cout]. Computed in float64, rounded once.
 */
function transformWeight(w: Float32Array, cout: number, cin: number, flip: boolean): Float32Array {
  const rows = flip ? cin : cout, cols = flip ? cout : cin;
  const plane = rows * cols;
  const u = takeArray(16 * plane);
  const k = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  const t = new Float64Array(12);
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      const base = (o * cin + c) * 9;
      for (let e = 0; e < 9; e++) k[e] = w[base + (flip ? 8 - e : e)]!;
      // t = G·k (4×3), then G·k·Gᵀ (4×4).
      for (let q = 0; q < 3; q++) {
        const k0 = k[q]!, k1 = k[3 + q]!, k2 = k[6 + q]!;
        t[q] = k0;
        t[3 + q] = 0.5 * (k0 + k1 + k2);
        t[6 + q] = 0.5 * (k0 - k1 + k2);
        t[9 + q] = k2;
      }
      const dst = flip ? c * cout + o : o * cin + c;
      for (let i = 0; i < 4; i++) {
        const t0 = t[3 * i]!, t1 = t[3 * i + 1]!, t2 = t[3 * i + 2]!;
        u[(4 * i) * plane + dst] = t0;
        u[(4 * i + 1) * plane + dst] = 0.5 * (t0 + t1 + t2);
        u[(4 * i + 2) * plane + dst] = 0.5 * (t0 - t1 + t2);
        u[(4 * i + 3) * plane + dst] = t2;
      }
    }
  }
  return u;
}

/**
 * V[ξ, c, t] = (Bᵀ·d·B)[ξ] for the 4×4 input patch d of tile t (rows 2a − padTop …, columns 2b − padLeft …, zeros
 * outside the image), Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]; tiles of the images
 * [img0, img0 + count) in order (image, tile row, tile column). `v` is [16, channels, count·tilesH·tilesW].
 */
export function inputTransform(
  x: Float32Array, img0: number, count: number, channels: number, height: number, width: number,
  padTop: number, padLeft: number, tilesH: number, tilesW: number, v: Float32Array,
): void {
  const tilesPerImage = tilesH * tilesW;
  const tiles = count * tilesPerImage;
  const plane = channels * tiles;
  const d = new Float32Array(16);
  for (let s = 0; s < count; s++) {
    for (let c = 0; c < channels; c++) {
      const xc = ((img0 + s) * channels + c) * height * width;
      const vRow = c * tiles + s * tilesPerImage;
      for (let a = 0; a < tilesH; a++) {
        const r0 = 2 * a - padTop;
        for (let b = 0; b < tilesW; b++) {
          const q0 = 2 * b - padLeft;
          const inside = r0 >= 0 && r0 + 4 <= height && q0 >= 0 && q0 + 4 <= width;
          for (let r = 0; r < 4; r++) {
            const ih = r0 + r;
            const rowOk = ih >= 0 && ih < height;
            const src = xc + ih * width + q0;
            for (let q = 0; q < 4; q++) {
              d[4 * r + q] = inside || (rowOk && q0 + q >= 0 && q0 + q < width) ? x[src + q]! : 0;
            }
          }
          // Rows: t = Bᵀ·d.
          const dst = vRow + a * tilesW + b;
          for (let q = 0; q < 4; q++) {
            const d0 = d[q]!, d1 = d[4 + q]!, d2 = d[8 + q]!, d3 = d[12 + q]!;
            d[q] = d0 - d2;
            d[4 + q] = d1 + d2;
            d[8 + q] = d2 - d1;
            d[12 + q] = d1 - d3;
          }
          // Columns: V = t·B.
          for (let r = 0; r < 4; r++) {
            const t0 = d[4 * r]!, t1 = d[4 * r + 1]!, t2 = d[4 * r + 2]!, t3 = d[4 * r + 3]!;
            const o = (4 * r) * plane + dst;
            v[o] = t0 - t2;
            v[o + plane] = t1 + t2;
            v[o + 2 * plane] = t2 - t1;
            v[o + 3 * plane] = t1 - t3;
          }
        }
      }
    }
  }
}

/**
 * out[img, o, 2a + i, 2b + j] = (Aᵀ·m·A)[i, j] (+ bias[o]) for the 4×4 product m = M[·, o, t] of each tile, cropped
 * at the bottom/right edges; Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]. `m` is [16, channels, count·tilesH·tilesW].
 */
export function outputTransform(
  m: Float32Array, img0: number, count: number, channels: number, outH: number, outW: number,
  tilesH: number, tilesW: number, out: Float32Array, bias: Float32Array | null = null,
): void {
  const tilesPerImage = tilesH * tilesW;
  const tiles = count * tilesPerImage;
  const plane = channels * tiles;
  const s = new Float32Array(8);
  for (let img = 0; img < count; img++) {
    for (let o = 0; o < channels; o++) {
      const oc = ((img0 + img) * channels + o) * outH * outW;
      const mRow = o * tiles + img * tilesPerImage;
      const bo = bias === null ? 0 : bias[o]!;
      for (let a = 0; a < tilesH; a++) {
        for (let b = 0; b < tilesW; b++) {
          const src = mRow + a * tilesW + b;
          // Rows: s = Aᵀ·m (2×4).
          for (let q = 0; q < 4; q++) {
            const m0 = m[q * plane + src]!, m1 = m[(4 + q) * plane + src]!;
            const m2 = m[(8 + q) * plane + src]!, m3 = m[(12 + q) * plane + src]!;
            s[q] = f(m0 + m1) + m2;
            s[4 + q] = f(m1 - m2) - m3;
          }
          const i0 = 2 * a, j0 = 2 * b;
          for (let i = 0; i < 2 && i0 + i < outH; i++) {
            const s0 = s[4 * i]!, s1 = s[4 * i + 1]!, s2 = s[4 * i + 2]!, s3 = s[4 * i + 3]!;
            const dst = oc + (i0 + i) * outW + j0;
            if (bias === null) {
              out[dst] = f(s0 + s1) + s2;
              if (j0 + 1 < outW) out[dst + 1] = f(s1 - s2) - s3;
            } else {
              out[dst] = f(f(f(s0 + s1) + s2) + bo);
              if (j0 + 1 < outW) out[dst + 1] = f(f(f(s1 - s2) - s3) + bo);
            }
          }
        }
      }
    }
  }
}

/**
 * Ỹ[ξ, o, t] = (A·y·Aᵀ)[ξ] for the 2×2 block y of the output gradient at tile t (zeros past the edges), A = (Aᵀ)ᵀ as
 * in {@link outputTransform}: the transform of the weight gradient's "filter". `yt` is [16, channels, tiles].
 */
export function gradOutputTransform(
  g: Float32Array, img0: number, count: number, channels: number, outH: number, outW: number,
  tilesH: number, tilesW: number, yt: Float32Array,
): void {
  const tilesPerImage = tilesH * tilesW;
  const tiles = count * tilesPerImage;
  const plane = channels * tiles;
  for (let img = 0; img < count; img++) {
    for (let o = 0; o < channels; o++) {
      const gc = ((img0 + img) * channels + o) * outH * outW;
      const dRow = o * tiles + img * tilesPerImage;
      for (let a = 0; a < tilesH; a++) {
        const i0 = 2 * a;
        const row1 = i0 + 1 < outH;
        for (let b = 0; b < tilesW; b++) {
          const j0 = 2 * b;
          const col1 = j0 + 1 < outW;
          const p = gc + i0 * outW + j0;
          const y00 = g[p]!, y01 = col1 ? g[p + 1]! : 0;
          const y10 = row1 ? g[p + outW]! : 0, y11 = row1 && col1 ? g[p + outW + 1]! : 0;
          // Rows: r = A·y (4×2): (y0, y0 + y1, y0 − y1, −y1).
          const r00 = y00, r01 = y01;
          const r10 = f(y00 + y10), r11 = f(y01 + y11);
          const r20 = f(y00 - y10), r21 = f(y01 - y11);
          const r30 = -y10, r31 = -y11;
          const dst = dRow + a * tilesW + b;
          // Columns: (u0, u0 + u1, u0 − u1, −u1) for each row (u0, u1) of r.
          yt[dst] = r00; yt[dst + plane] = r00 + r01; yt[dst + 2 * plane] = r00 - r01; yt[dst + 3 * plane] = -r01;
          yt[dst + 4 * plane] = r10; yt[dst + 5 * plane] = r10 + r11; yt[dst + 6 * plane] = r10 - r11; yt[dst + 7 * plane] = -r11;
          yt[dst + 8 * plane] = r20; yt[dst + 9 * plane] = r20 + r21; yt[dst + 10 * plane] = r20 - r21; yt[dst + 11 * plane] = -r21;
          yt[dst + 12 * plane] = r30; yt[dst + 13 * plane] = r30 + r31; yt[dst + 14 * plane] = r30 - r31; yt[dst + 15 * plane] = -r31;
        }
      }
    }
  }
}

/** How the images of one call are cut into chunks of about {@link TILES_PER_CHUNK} tiles. */
interface Chunking {
  readonly tilesH: number;
  readonly tilesW: number;
  readonly perImage: number;
  readonly chunk: number;
  readonly maxTiles: number;
}

/**
 * Byte stride between the ξ planes of a transformed array of `floats` per plane: rounded up to 64 bytes, then moved
 * off any multiple of 4 KiB (one more cache line), so that the 16 stores of a tile fall into different cache sets.
 */
function planeStride(floats: number): number {
  const bytes = Math.ceil((4 * floats) / 64) * 64;
  return bytes % 4096 === 0 ? bytes + 64 : bytes;
}

function chunking(n: number, outH: number, outW: number, target: number): Chunking {
  const tilesH = (outH + 1) >> 1, tilesW = (outW + 1) >> 1;
  const perImage = tilesH * tilesW;
  const chunk = Math.max(1, Math.min(n, Math.floor(target / perImage)));
  return { tilesH, tilesW, perImage, chunk, maxTiles: chunk * perImage };
}

/**
 * A 3×3 stride-1 convolution by F(2×2, 3×3): `out` [n, outC, OH, OW] from `x` [n, inC, H, W] and weights `w`
 * [outC, inC, 3, 3], plus `bias` [outC] unless null (or, with `transposed`, the input gradient: `x` is dY [n, outC', …] of a convolution with weights
 * [outC', inC', 3, 3] and `out` its [n, inC', H, W]; pass that convolution's `2 − pad`). Images go in chunks of about
 * `TILES_PER_CHUNK` tiles; per chunk, the 16 products M[ξ] = U[ξ]·V[ξ] run on the gemm dispatcher. On the wasm
 * backend the tile transforms run in SIMD on the convolution engine's memory (the same operations as the JavaScript
 * loops, so both backends transform identically and differ only by their gemm).
 */
export function winogradConv(
  x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, n: number, inC: number, outC: number,
  height: number, width: number, padTop: number, padLeft: number, outH: number, outW: number, transposed = false,
): void {
  const u = transposed ? transformWeight(w, inC, outC, true) : transformWeight(w, outC, inC, false);
  const target = getNumThreads() === 1 ? TILES_PER_CHUNK.serial : TILES_PER_CHUNK.parallel;
  const { tilesH, tilesW, perImage, chunk, maxTiles } = chunking(n, outH, outW, target);
  const products = (tiles: number, v: Float32Array, vOff: number, m: Float32Array, mOff: number): void => {
    for (let xi = 0; xi < 16; xi++) {
      gemm(outC, tiles, inC, u, xi * outC * inC, false, v, vOff + xi * inC * tiles, false, m, mOff + xi * outC * tiles);
    }
  };
  const e = getBackend() === "wasm" ? kernelEngine() : null;
  if (e !== null && winogradOnTeam(e, x, u, bias, out, n, inC, outC, height, width, padTop, padLeft, outH, outW)) {
    releaseArray(u);
    return;
  }
  if (e !== null) {
    const inPlane = height * width, outPlane = outH * outW;
    const paddedH = 2 * tilesH + 2, paddedW = Math.max(2 * tilesW + 2, padLeft + width);
    const { arena, conv: kernels } = e;
    arena.reset();
    // Without padding the copied planes are already the padded ones (the pad kernel would copy them as they are).
    const unpadded = padTop === 0 && padLeft === 0 && paddedH === height && paddedW === width;
    // Arrays in the tensor heap are read and written where they lie; others go through scratch copies.
    const xIn = addressOf(x, 0) >= 0 ? -1 : arena.alloc(chunk * inC * inPlane);
    const xPad = unpadded ? -1 : arena.alloc(chunk * inC * paddedH * paddedW);
    const vStride = planeStride(inC * maxTiles), mStride = planeStride(outC * maxTiles);
    const v = arena.alloc(16 * vStride / 4), m = arena.alloc(16 * mStride / 4);
    const o = addressOf(out, 0) >= 0 ? -1 : arena.alloc(chunk * outC * outPlane);
    const b = bias === null ? 0 : inHeap(e, bias, 0, outC, -1), pu = inHeap(e, u, 0, u.length, -1);
    for (let img0 = 0; img0 < n; img0 += chunk) {
      const count = Math.min(chunk, n - img0);
      const xAt = inHeap(e, x, img0 * inC * inPlane, count * inC * inPlane, xIn);
      if (!unpadded) kernels.pad(xAt, xPad, count * inC, height, width, padTop, padLeft, paddedH, paddedW);
      kernels.wino_input(unpadded ? xAt : xPad, v, inC, count, paddedH, paddedW, tilesH, tilesW, vStride);
      const tiles = count * perImage;
      for (let xi = 0; xi < 16; xi++) {
        e.gemm("nn", outC, tiles, inC, pu + 4 * xi * outC * inC, v + xi * vStride, m + xi * mStride, false);
      }
      const outAt = o < 0 ? addressOf(out, img0 * outC * outPlane) : o;
      kernels.wino_output(m, outAt, outC, count, outH, outW, tilesH, tilesW, mStride, b, bias === null ? 0 : 1);
      if (o >= 0) out.set(e.f32().subarray(o >> 2, (o >> 2) + count * outC * outPlane), img0 * outC * outPlane);
    }
  } else {
    const v = takeArray(16 * inC * maxTiles);
    const m = takeArray(16 * outC * maxTiles);
    for (let img0 = 0; img0 < n; img0 += chunk) {
      const count = Math.min(chunk, n - img0);
      inputTransform(x, img0, count, inC, height, width, padTop, padLeft, tilesH, tilesW, v);
      products(count * perImage, v, 0, m, 0);
      outputTransform(m, img0, count, outC, outH, outW, tilesH, tilesW, out, bias);
    }
    releaseArray(v);
    releaseArray(m);
  }
  releaseArray(u);
}

/**
 * The parameters both team tasks share (kernels/winograd-chunk.ts's `WINO` slots 0–1 and 7–26): x, the geometry, and
 * each thread's scratch in the engine's (reset here): padded planes (when padding), the input transform V of `inC`
 * channels, and the planes of the second transform (M, or the output gradient's Ỹ) of `outC` channels.
 */
function teamParams(
  e: KernelEngine, threads: number, x: Float32Array, inC: number, outC: number, height: number, width: number,
  padTop: number, padLeft: number, outH: number, outW: number, { tilesH, tilesW, chunk, maxTiles }: Chunking,
): number[] {
  const paddedH = 2 * tilesH + 2, paddedW = Math.max(2 * tilesW + 2, padLeft + width);
  const unpadded = padTop === 0 && padLeft === 0 && paddedH === height && paddedW === width;
  const vStride = planeStride(inC * maxTiles), secondStride = planeStride(outC * maxTiles);
  const xPadBytes = unpadded ? 0 : Math.ceil((4 * chunk * inC * paddedH * paddedW) / 64) * 64;
  const stride = xPadBytes + 16 * vStride + 16 * secondStride; // one thread's scratch
  e.arena.reset();
  const p = new Array<number>(WINO_PARAMS).fill(0);
  p[WINO.x] = addressOf(x, 0); p[WINO.xImage] = 4 * inC * height * width;
  p[WINO.inC] = inC; p[WINO.outC] = outC; p[WINO.height] = height; p[WINO.width] = width;
  p[WINO.padTop] = padTop; p[WINO.padLeft] = padLeft; p[WINO.paddedH] = paddedH; p[WINO.paddedW] = paddedW;
  p[WINO.unpadded] = unpadded ? 1 : 0; p[WINO.tilesH] = tilesH; p[WINO.tilesW] = tilesW;
  p[WINO.outH] = outH; p[WINO.outW] = outW;
  p[WINO.scratch] = e.arena.alloc((threads * stride) / 4); p[WINO.scratchStride] = stride;
  p[WINO.vStride] = vStride; p[WINO.mStride] = secondStride;
  p[WINO.xPadAt] = 0; p[WINO.vAt] = xPadBytes; p[WINO.mAt] = xPadBytes + 16 * vStride;
  return p;
}

/**
 * {@link winogradConv} on the thread team, split by images (each thread transforms, multiplies and transforms back its
 * own images, in its own scratch), where the team can run it now: more than one thread, `x` and `out` in the tensor
 * heap, and products of one image large enough to run on the SIMD gemm (as the one-thread path then runs them too, the
 * bits are the same). Returns false (nothing done) otherwise.
 */
function winogradOnTeam(
  e: KernelEngine, x: Float32Array, u: Float32Array, bias: Float32Array | null, out: Float32Array,
  n: number, inC: number, outC: number, height: number, width: number, padTop: number, padLeft: number,
  outH: number, outW: number,
): boolean {
  const c = chunking(n, outH, outW, TILES_PER_CHUNK.serial), { perImage, chunk } = c;
  if (addressOf(x, 0) < 0 || addressOf(out, 0) < 0 || outC * perImage * inC < WASM_MIN_MACS) return false;
  const team = teamFor(16 * n * perImage * outC * inC, PARALLEL_MIN_MACS, true);
  if (team === null || n < 2) return false;
  const p = teamParams(e, team.threads, x, inC, outC, height, width, padTop, padLeft, outH, outW, c);
  p[WINO.out] = addressOf(out, 0); p[WINO.outImage] = 4 * outC * outH * outW;
  p[WINO.u] = inHeap(e, u, 0, u.length); p[WINO.bias] = bias === null ? 0 : inHeap(e, bias, 0, outC);
  p[WINO.hasBias] = bias === null ? 0 : 1;
  team.winograd(p, n, chunk);
  e.arena.reset();
  return true;
}

/**
 * The products of {@link winogradWeightGrad} on the thread team, split by its chunks of images: each chunk's 16
 * products into a partial of its own, then summed in chunk order into `acc`, as the one-thread loop adds them (the
 * same bits). Where the team can run it now: as {@link winogradOnTeam}. Returns false (nothing done) otherwise.
 */
function weightGradOnTeam(
  e: KernelEngine, x: Float32Array, g: Float32Array, acc: Float32Array, n: number, cin: number, cout: number,
  height: number, width: number, padTop: number, padLeft: number, outH: number, outW: number,
): boolean {
  const c = chunking(n, outH, outW, TILES_PER_CHUNK.weightGrad), { perImage, chunk } = c;
  if (addressOf(x, 0) < 0 || addressOf(g, 0) < 0 || cout * perImage * cin < WASM_MIN_MACS || n <= chunk) return false;
  const team = teamFor(16 * n * perImage * cout * cin, PARALLEL_MIN_MACS, true);
  if (team === null) return false;
  const chunks = Math.ceil(n / chunk), plane = 16 * cout * cin;
  const p = teamParams(e, team.threads, x, cin, cout, height, width, padTop, padLeft, outH, outW, c);
  const partials = e.arena.alloc(chunks * plane);
  p[WINO_GRAD.g] = addressOf(g, 0); p[WINO_GRAD.gImage] = 4 * cout * outH * outW;
  p[WINO_GRAD.partials] = partials; p[WINO_GRAD.chunkImages] = chunk;
  team.winograd(p, n, chunk, true);
  // acc = the partials added in chunk order, each sum rounded to float32 (split by elements across the team).
  const inPlace = addressOf(acc, 0), dst = inPlace >= 0 ? inPlace : e.arena.alloc(plane);
  const task = { kernel: "sum_partials", args: [partials, dst, chunks, 4 * plane, plane], count: 4, shifts: [[0, 4], [1, 4]], units: plane } as const;
  if (!rangeOnTeam(task, chunks * plane)) e.conv.sum_partials(partials, dst, chunks, 4 * plane, plane);
  if (dst !== inPlace) acc.set(e.f32().subarray(dst >> 2, (dst >> 2) + plane));
  e.arena.reset();
  return true;
}

/**
 * The weight gradient of a 3×3 stride-1 convolution by the transpose of F(2×2, 3×3):
 * dW[o, c] = Gᵀ·(Σ_tiles Ỹ[·, o, t] ⊙ V[·, c, t])·G, with V the forward's input transform and Ỹ the output
 * gradient's ({@link gradOutputTransform}); the tile sums are 16 products per chunk of images, accumulated in order.
 * `gw` is [cout, cin, 3, 3], every element written.
 */
export function winogradWeightGrad(
  x: Float32Array, g: Float32Array, gw: Float32Array, n: number, cin: number, cout: number,
  height: number, width: number, padTop: number, padLeft: number, outH: number, outW: number,
): void {
  const { tilesH, tilesW, perImage, chunk, maxTiles } = chunking(n, outH, outW, TILES_PER_CHUNK.weightGrad);
  const acc = takeArray(16 * cout * cin);
  const e = getBackend() === "wasm" ? kernelEngine() : null;
  if (e !== null && weightGradOnTeam(e, x, g, acc, n, cin, cout, height, width, padTop, padLeft, outH, outW)) {
    // acc holds the products' sums: on to the output transform below.
  } else if (e !== null) {
    const inPlane = height * width, outPlane = outH * outW;
    const paddedH = 2 * tilesH + 2, paddedW = Math.max(2 * tilesW + 2, padLeft + width);
    const { arena, conv: kernels } = e;
    arena.reset();
    // Without padding the copied planes are already the padded ones (the pad kernel would copy them as they are).
    const unpadded = padTop === 0 && padLeft === 0 && paddedH === height && paddedW === width;
    // Arrays in the tensor heap are read and written where they lie; others go through scratch copies.
    const xIn = addressOf(x, 0) >= 0 ? -1 : arena.alloc(chunk * cin * inPlane);
    const xPad = unpadded ? -1 : arena.alloc(chunk * cin * paddedH * paddedW);
    const vStride = planeStride(cin * maxTiles), yStride = planeStride(cout * maxTiles);
    const gIn = addressOf(g, 0) >= 0 ? -1 : arena.alloc(chunk * cout * outPlane);
    const v = arena.alloc(16 * vStride / 4), yt = arena.alloc(16 * yStride / 4);
    const pacc = addressOf(acc, 0) >= 0 ? addressOf(acc, 0) : arena.alloc(acc.length);
    for (let img0 = 0; img0 < n; img0 += chunk) {
      const count = Math.min(chunk, n - img0);
      const xAt = inHeap(e, x, img0 * cin * inPlane, count * cin * inPlane, xIn);
      const gAt = inHeap(e, g, img0 * cout * outPlane, count * cout * outPlane, gIn);
      if (!unpadded) kernels.pad(xAt, xPad, count * cin, height, width, padTop, padLeft, paddedH, paddedW);
      kernels.wino_input(unpadded ? xAt : xPad, v, cin, count, paddedH, paddedW, tilesH, tilesW, vStride);
      kernels.wino_grad_output(gAt, yt, cout, count, outH, outW, tilesH, tilesW, yStride);
      const tiles = count * perImage;
      for (let xi = 0; xi < 16; xi++) {
        e.gemm("nt", cout, cin, tiles, yt + xi * yStride, v + xi * vStride, pacc + 4 * xi * cout * cin, img0 > 0);
      }
    }
    if (pacc !== addressOf(acc, 0)) acc.set(e.f32().subarray(pacc >> 2, (pacc >> 2) + acc.length));
  } else {
    const v = takeArray(16 * cin * maxTiles);
    const yt = takeArray(16 * cout * maxTiles);
    for (let img0 = 0; img0 < n; img0 += chunk) {
      const count = Math.min(chunk, n - img0);
      inputTransform(x, img0, count, cin, height, width, padTop, padLeft, tilesH, tilesW, v);
      gradOutputTransform(g, img0, count, cout, outH, outW, tilesH, tilesW, yt);
      const tiles = count * perImage;
      for (let xi = 0; xi < 16; xi++) {
        gemm(cout, cin, tiles, yt, xi * cout * tiles, false, v, xi * cin * tiles, true, acc, xi * cout * cin, img0 > 0);
      }
    }
    releaseArray(v);
    releaseArray(yt);
  }
  // dW = Gᵀ·M·G per (o, c), Gᵀ = [[1, ½, ½, 0], [0, ½, −½, 0], [0, ½, ½, 1]], in float64.
  const plane = cout * cin;
  const t = takeFloat64(12);
  for (let e = 0; e < plane; e++) {
    for (let q = 0; q < 4; q++) {
      const m0 = acc[q * plane + e]!, m1 = acc[(4 + q) * plane + e]!, m2 = acc[(8 + q) * plane + e]!, m3 = acc[(12 + q) * plane + e]!;
      t[q] = m0 + 0.5 * (m1 + m2);
      t[4 + q] = 0.5 * (m1 - m2);
      t[8 + q] = 0.5 * (m1 + m2) + m3;
    }
    for (let i = 0; i < 3; i++) {
      const t0 = t[4 * i]!, t1 = t[4 * i + 1]!, t2 = t[4 * i + 2]!, t3 = t[4 * i + 3]!;
      gw[e * 9 + 3 * i] = t0 + 0.5 * (t1 + t2);
      gw[e * 9 + 3 * i + 1] = 0.5 * (t1 - t2);
      gw[e * 9 + 3 * i + 2] = 0.5 * (t1 + t2) + t3;
    }
  }
  releaseArray(t);
  releaseArray(acc);
}
