// The SIMD Winograd transforms against the JavaScript ones, bit for bit, on sizes that exercise the groups of four
// tiles, the single tiles, the cropped edges and the padding.
import { describe, expect, it } from "vitest";
import { gradOutputTransform, inputTransform, outputTransform } from "../kernels/winograd.js";
import { Generator } from "../random.js";
import { kernelEngine } from "./engine.js";

function random(n: number, g: Generator): Float32Array {
  return Float32Array.from({ length: n }, () => g.nextNormal());
}

const same = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe("Winograd transforms: SIMD = JavaScript", () => {
  const e = kernelEngine();
  if (e === null) throw new Error("WebAssembly SIMD is unavailable in this runtime");
  const { conv, arena } = e;
  // [images, channels, height, width, padTop, padLeft, outH, outW]: 13 and 9 tiles per row (groups + singles),
  // odd outputs (cropped tiles), padding 0, 1, 2 and mixed.
  const geometries: [number, number, number, number, number, number, number, number][] = [
    [2, 3, 26, 26, 0, 0, 24, 24],
    [1, 2, 24, 24, 2, 2, 26, 26],
    [3, 2, 17, 19, 1, 0, 17, 17],
    [1, 1, 5, 9, 2, 1, 7, 9],
  ];
  it.each(geometries)("images %i, channels %i, input %i×%i, padding %i/%i, output %i×%i", (n, c, h, w, pt, pl, oh, ow) => {
    const g = new Generator(n * 100 + h);
    const tilesH = (oh + 1) >> 1, tilesW = (ow + 1) >> 1, tiles = n * tilesH * tilesW;
    const x = random(n * c * h * w, g);
    const paddedH = 2 * tilesH + 2, paddedW = Math.max(2 * tilesW + 2, pl + w);
    arena.reset();
    const xIn = arena.alloc(x.length), xPad = arena.alloc(n * c * paddedH * paddedW), v = arena.alloc(16 * c * tiles);
    const mIn = arena.alloc(16 * c * tiles), out = arena.alloc(n * c * oh * ow), bias = arena.alloc(c);
    const gIn = arena.alloc(n * c * oh * ow), yt = arena.alloc(16 * c * tiles);
    const heap = e.f32();
    heap.set(x, xIn >> 2);
    conv.pad(xIn, xPad, n * c, h, w, pt, pl, paddedH, paddedW);
    conv.wino_input(xPad, v, c, n, paddedH, paddedW, tilesH, tilesW, 4 * c * tiles);
    const vJs = new Float32Array(16 * c * tiles);
    inputTransform(x, 0, n, c, h, w, pt, pl, tilesH, tilesW, vJs);
    expect(same(heap.subarray(v >> 2, (v >> 2) + vJs.length), vJs)).toBe(true);

    const m = random(16 * c * tiles, g), b = random(c, g);
    heap.set(m, mIn >> 2);
    heap.set(b, bias >> 2);
    for (const withBias of [false, true]) {
      conv.wino_output(mIn, out, c, n, oh, ow, tilesH, tilesW, 4 * c * tiles, bias, withBias ? 1 : 0);
      const outJs = new Float32Array(n * c * oh * ow);
      outputTransform(m, 0, n, c, oh, ow, tilesH, tilesW, outJs, withBias ? b : null);
      expect(same(heap.subarray(out >> 2, (out >> 2) + outJs.length), outJs), `bias ${withBias}`).toBe(true);
    }

    const dy = random(n * c * oh * ow, g);
    heap.set(dy, gIn >> 2);
    conv.wino_grad_output(gIn, yt, c, n, oh, ow, tilesH, tilesW, 4 * c * tiles);
    const ytJs = new Float32Array(16 * c * tiles);
    gradOutputTransform(dy, 0, n, c, oh, ow, tilesH, tilesW, ytJs);
    expect(same(heap.subarray(yt >> 2, (yt >> 2) + ytJs.length), ytJs)).toBe(true);
  });
});

describe("plane_sums: float64 plane sums in planeSum's order (ops/conv.ts)", () => {
  /** The documented order: s_(t mod 4) over the first len − len mod 4 elements, the rest onto s0, (s0 + s1) + (s2 + s3). */
  function reference(x: Float32Array, off: number, len: number): number {
    const s = [0, 0, 0, 0];
    const end4 = len - (len % 4);
    for (let t = 0; t < end4; t++) s[t % 4]! += x[off + t]!;
    for (let t = end4; t < len; t++) s[0]! += x[off + t]!;
    return s[0]! + s[1]! + (s[2]! + s[3]!);
  }

  it.each([1, 2, 3, 4, 5, 7, 9, 63, 576])("planes of %i elements, magnitudes 1e-8 … 1e8 (the order shows), NaN and −0", (len) => {
    const e = kernelEngine()!;
    const g = new Generator(len);
    const planes = 7;
    const x = Float32Array.from({ length: planes * len }, () => g.nextNormal() * 10 ** Math.floor(g.nextFloat() * 17 - 8));
    x.fill(-0, 0, len); // plane 0: all −0, whose float64 sum is +0 as in JavaScript
    if (len > 3) x[3 * len + 2] = NaN;
    e.arena.reset();
    const src = e.arena.alloc(x.length), dst = e.arena.alloc(2 * planes);
    e.f32().set(x, src >> 2);
    e.conv.plane_sums(src, dst, planes, len);
    const got = new Float64Array(e.memory.buffer, dst, planes).slice();
    e.arena.reset();
    for (let p = 0; p < planes; p++) expect(Object.is(got[p], reference(x, p * len, len)), `plane ${p}`).toBe(true);
  });
});

describe("sum_partials: partial sums added in order in float32", () => {
  it.each([[1, 7], [2, 4096], [8, 1027], [3, 2]])("%i partials of %i elements, NaN and −0 among them", (partials, n) => {
    const e = kernelEngine()!;
    const g = new Generator(partials * 100 + n);
    const src = Float32Array.from({ length: partials * n }, (_, i) => (i % 101 === 7 ? NaN : i % 37 === 2 ? -0 : g.nextNormal() * 10 ** Math.floor(g.nextFloat() * 9 - 4)));
    const want = src.slice(0, n);
    for (let k = 1; k < partials; k++) for (let i = 0; i < n; i++) want[i]! += src[k * n + i]!;
    e.arena.reset();
    const ps = e.arena.alloc(src.length), pd = e.arena.alloc(n);
    e.f32().set(src, ps >> 2);
    e.conv.sum_partials(ps, pd, partials, 4 * n, n);
    const got = e.f32().slice(pd >> 2, (pd >> 2) + n);
    e.arena.reset();
    expect(same(got, want) || got.every((v, i) => Object.is(v, want[i]) || (Number.isNaN(v) && Number.isNaN(want[i]!)))).toBe(true);
  });
});
