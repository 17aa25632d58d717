// 2-D max and average pooling loops over [planes, H, W] Float32Arrays (forward and backward), and the SIMD path of
// 2×2 stride-2 max pooling on the wasm backend; no tensors.
import { addressOf } from "../heap.js";
import { rangeOnTeam } from "../parallel.js";
import { inHeap, kernelEngine, type KernelEngine } from "../wasm/engine.js";

/** Geometry of a pooling window over planes of [height, width] → [outH, outW]. */
export interface PoolGeometry {
  readonly planes: number;
  readonly height: number;
  readonly width: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly outH: number;
  readonly outW: number;
}

/**
 * Max over each window, as PyTorch's CPU kernel scans it (rows, then columns, from the first position inside the
 * image): the first maximal element wins a tie, and a NaN replaces any number (so the last NaN of a window wins).
 * `index[o]` receives the position in its plane of the element chosen (−1 for a window that holds no element: its
 * value is −∞, as PyTorch).
 */
export function maxPoolForward(g: PoolGeometry, x: Float32Array, out: Float32Array, index: Int32Array): void {
  const { planes, height, width, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  const plane = height * width;
  const simple = dilationH === 1 && dilationW === 1 && padH === 0 && padW === 0;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * plane;
    for (let oh = 0; oh < outH; oh++) {
      let hs = oh * strideH - padH;
      const he = Math.min(hs + (kernelH - 1) * dilationH + 1, height);
      while (hs < 0) hs += dilationH;
      for (let ow = 0; ow < outW; ow++, o++) {
        let ws = ow * strideW - padW;
        const we = Math.min(ws + (kernelW - 1) * dilationW + 1, width);
        while (ws < 0) ws += dilationW;
        let best = -Infinity;
        let at = hs < he && ws < we ? hs * width + ws : -1;
        if (simple) {
          for (let ih = hs; ih < he; ih++) {
            const row = base + ih * width;
            for (let iw = ws; iw < we; iw++) {
              const v = x[row + iw]!;
              if (v > best || v !== v) {
                best = v;
                at = ih * width + iw;
              }
            }
          }
        } else {
          for (let ih = hs; ih < he; ih += dilationH) {
            const row = base + ih * width;
            for (let iw = ws; iw < we; iw += dilationW) {
              const v = x[row + iw]!;
              if (v > best || v !== v) {
                best = v;
                at = ih * width + iw;
              }
            }
          }
        }
        out[o] = best;
        index[o] = at;
      }
    }
  }
}

/** dx[plane, index[o]] += dy[o]; `dx` holds zeros (or values to add to) on entry. */
export function maxPoolBackward(g: PoolGeometry, dy: Float32Array, index: Int32Array, dx: Float32Array): void {
  const plane = g.height * g.width;
  const outPlane = g.outH * g.outW;
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    const base = p * plane;
    for (let t = 0; t < outPlane; t++, o++) {
      const at = index[o]!;
      if (at >= 0) dx[base + at]! += dy[o]!;
    }
  }
}

/** Whether the 2×2 stride-2 kernel applies: no padding or dilation, every window inside the image. */
export function isMaxPool2x2(g: PoolGeometry): boolean {
  return g.kernelH === 2 && g.kernelW === 2 && g.strideH === 2 && g.strideW === 2 && g.padH === 0 && g.padW === 0
    && g.dilationH === 1 && g.dilationW === 1 && 2 * g.outH <= g.height && 2 * g.outW <= g.width;
}

/**
 * {@link maxPoolForward} for 2×2 windows at stride 2 in SIMD (same scan, same choices), writing each window's choice
 * as its position 0 … 3 in `code` (i32 bit patterns in a Float32Array, so that it can lie in the tensor heap: see
 * {@link maxPool2x2Backward}). Returns false (nothing written) where the wasm kernels are unavailable.
 */
export function maxPool2x2Forward(g: PoolGeometry, x: Float32Array, out: Float32Array, code: Float32Array): boolean {
  const e = kernelEngine();
  if (e === null) return false;
  const count = g.planes * g.outH * g.outW;
  e.arena.reset();
  // Arrays where they lie when in the tensor heap, else through scratch.
  const px = inHeap(e, x, 0, x.length), po = heapOrScratch(e, out), pc = heapOrScratch(e, code);
  const args = [px, po, pc, g.planes, g.height, g.width, g.outH, g.outW];
  const inPlane = 4 * g.height * g.width, outPlane = 4 * g.outH * g.outW;
  const task = { kernel: "max_pool_2x2", args, count: 3, shifts: [[0, inPlane], [1, outPlane], [2, outPlane]], units: g.planes } as const;
  if (!rangeOnTeam(task, x.length)) e.conv.max_pool_2x2(px, po, pc, g.planes, g.height, g.width, g.outH, g.outW);
  const heap = e.f32();
  if (po !== addressOf(out, 0)) out.set(heap.subarray(po >> 2, (po >> 2) + count));
  if (pc !== addressOf(code, 0)) code.set(heap.subarray(pc >> 2, (pc >> 2) + count)); // same type: the bits copied
  e.arena.reset();
  return true;
}

/**
 * The gradient of {@link maxPool2x2Forward} from its `code`, in SIMD: every element of `dx` written (0 + dy where a
 * window chose it, the value `dx += dy` gives on zeros; +0 elsewhere), so `dx` need not be zeroed. Returns false
 * (nothing written) where the wasm kernels are unavailable.
 */
export function maxPool2x2Backward(g: PoolGeometry, dy: Float32Array, code: Float32Array, dx: Float32Array): boolean {
  const e = kernelEngine();
  if (e === null) return false;
  const count = g.planes * g.outH * g.outW;
  e.arena.reset();
  const pd = inHeap(e, dy, 0, count), pc = inHeap(e, code, 0, count), px = heapOrScratch(e, dx);
  const args = [pd, pc, px, g.planes, g.height, g.width, g.outH, g.outW];
  const inPlane = 4 * g.height * g.width, outPlane = 4 * g.outH * g.outW;
  const task = { kernel: "max_pool_2x2_grad", args, count: 3, shifts: [[0, outPlane], [1, outPlane], [2, inPlane]], units: g.planes } as const;
  if (!rangeOnTeam(task, dx.length)) e.conv.max_pool_2x2_grad(pd, pc, px, g.planes, g.height, g.width, g.outH, g.outW);
  if (px !== addressOf(dx, 0)) dx.set(e.f32().subarray(px >> 2, (px >> 2) + dx.length));
  e.arena.reset();
  return true;
}

/** The address of `a` when it lies in the tensor heap, else of a scratch block of its length (the kernel's output). */
function heapOrScratch(e: KernelEngine, a: Float32Array): number {
  const at = addressOf(a, 0);
  return at >= 0 ? at : e.arena.alloc(a.length);
}

/** What an average window divides by: `divisorOverride`, else its size with (`countIncludePad`) or without padding. */
export interface AvgPoolDivisor {
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;
}

/**
 * Runs `visit(o, h0, h1, w0, w1, divisor)` for every output `o`: its window clipped to the image is rows [h0, h1),
 * columns [w0, w1) (possibly empty), and `divisor` follows PyTorch's rule (the padded window counts up to the padded
 * edge, never past it).
 */
function forEachAvgWindow(
  g: PoolGeometry, d: AvgPoolDivisor,
  visit: (o: number, h0: number, h1: number, w0: number, w1: number, divisor: number) => void,
): void {
  const { height, width, kernelH, kernelW, strideH, strideW, padH, padW, outH, outW } = g;
  let o = 0;
  for (let oh = 0; oh < outH; oh++) {
    const hStart = oh * strideH - padH;
    const hPadEnd = Math.min(hStart + kernelH, height + padH);
    const h0 = Math.max(hStart, 0), h1 = Math.min(hPadEnd, height);
    for (let ow = 0; ow < outW; ow++, o++) {
      const wStart = ow * strideW - padW;
      const wPadEnd = Math.min(wStart + kernelW, width + padW);
      const w0 = Math.max(wStart, 0), w1 = Math.min(wPadEnd, width);
      const divisor = d.divisorOverride ?? (d.countIncludePad
        ? (hPadEnd - hStart) * (wPadEnd - wStart)
        : (h1 - h0) * (w1 - w0));
      visit(o, h0, h1, w0, w1, divisor);
    }
  }
}

/** Average over each window (sums in float64, divided once); an empty window gives 0, as PyTorch. */
export function avgPoolForward(g: PoolGeometry, d: AvgPoolDivisor, x: Float32Array, out: Float32Array): void {
  const plane = g.height * g.width, outPlane = g.outH * g.outW, width = g.width;
  for (let p = 0; p < g.planes; p++) {
    const base = p * plane, oBase = p * outPlane;
    forEachAvgWindow(g, d, (o, h0, h1, w0, w1, divisor) => {
      if (h0 >= h1 || w0 >= w1) {
        out[oBase + o] = 0;
        return;
      }
      let s = 0;
      for (let ih = h0; ih < h1; ih++) {
        const row = base + ih * width;
        for (let iw = w0; iw < w1; iw++) s += x[row + iw]!;
      }
      out[oBase + o] = s / divisor;
    });
  }
}

/** dx[window] += dy[o] / divisor for every window; `dx` holds zeros (or values to add to) on entry. */
export function avgPoolBackward(g: PoolGeometry, d: AvgPoolDivisor, dy: Float32Array, dx: Float32Array): void {
  const plane = g.height * g.width, outPlane = g.outH * g.outW, width = g.width;
  for (let p = 0; p < g.planes; p++) {
    const base = p * plane, oBase = p * outPlane;
    forEachAvgWindow(g, d, (o, h0, h1, w0, w1, divisor) => {
      const v = Math.fround(dy[oBase + o]! / divisor);
      for (let ih = h0; ih < h1; ih++) {
        const row = base + ih * width;
        for (let iw = w0; iw < w1; iw++) dx[row + iw]! += v;
      }
    });
  }
}
