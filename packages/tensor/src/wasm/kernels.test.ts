// Tests of the SIMD kernels: gemm (three layouts) against a float64 reference and against an f32 emulation of the
// kernels' documented order of operations, row splits, accumulate, bias/ReLU, ReLU backward and Adam.
import { describe, expect, it } from "vitest";
import { buildKernelModule, type GemmBlocking, type GemmLayout } from "./kernels.js";
import { Arena, createMemory, WasmKernels, type AdamScalars } from "./index.js";
import { wasmApi } from "./webassembly.js";

const api = wasmApi()!;
const f32 = Math.fround;
const memory = createMemory({ initialPages: 256 });
const arena = new Arena(memory);
const kernels = new WasmKernels(new api.Module(buildKernelModule({ shared: false })), memory);

function random(count: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let t = 0; t < count; t++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[t] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/** Copies `data` into a fresh arena array; returns its address. */
function put(data: Float32Array): number {
  const ptr = arena.alloc(data.length);
  arena.view(ptr, data.length).set(data);
  return ptr;
}

const get = (ptr: number, count: number): Float32Array => arena.view(ptr, count).slice();

/**
 * Asserts bit-identical f32 arrays (NaNs compared as NaNs: their sign and payload are not specified by wasm).
 * A loop rather than `toEqual`, which is slow on arrays of 10⁵ elements.
 */
function expectSameBits(actual: Float32Array, expected: Float32Array, what = "array"): void {
  expect(actual.length).toBe(expected.length);
  const ua = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const ue = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let t = 0; t < ua.length; t++) {
    if (ua[t] !== ue[t] && !(Number.isNaN(actual[t]) && Number.isNaN(expected[t]))) {
      throw new Error(`${what}: element ${t} is ${actual[t]} (0x${ua[t]!.toString(16)}), expected ${expected[t]} (0x${ue[t]!.toString(16)})`);
    }
  }
}

/** Element (i, p) of op(A) and (p, j) of op(B) for a layout. */
function accessors(layout: GemmLayout, m: number, n: number, k: number, a: Float32Array, b: Float32Array) {
  const aAt = layout === "tn" ? (i: number, p: number) => a[p * m + i]! : (i: number, p: number) => a[i * k + p]!;
  const bAt = layout === "nt" ? (p: number, j: number) => b[j * k + p]! : (p: number, j: number) => b[p * n + j]!;
  return { aAt, bAt };
}

/** Float64 product and, per element, Σ|a·b| (for the error bound). */
function reference64(layout: GemmLayout, m: number, n: number, k: number, a: Float32Array, b: Float32Array) {
  const { aAt, bAt } = accessors(layout, m, n, k, a, b);
  const value = new Float64Array(m * n), magnitude = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0, g = 0;
    for (let p = 0; p < k; p++) { const t = aAt(i, p) * bAt(p, j); s += t; g += Math.abs(t); }
    value[i * n + j] = s;
    magnitude[i * n + j] = g;
  }
  return { value, magnitude };
}

/**
 * The kernels' order in f32 (each product and sum rounded, no FMA): nn/tn sum p = 0…k−1 in order; nt keeps four
 * lane sums over p < k − k mod 4, reduces them as (l0 + l1) + (l2 + l3), then adds the tail in order.
 */
function emulateF32(layout: GemmLayout, m: number, n: number, k: number, a: Float32Array, b: Float32Array, c0: Float32Array | null): Float32Array {
  const { aAt, bAt } = accessors(layout, m, n, k, a, b);
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    if (layout === "nt") {
      const k4 = k - (k % 4);
      const lanes = [0, 0, 0, 0];
      for (let p = 0; p < k4; p++) lanes[p % 4] = f32(lanes[p % 4]! + f32(aAt(i, p) * bAt(p, j)));
      s = f32(f32(lanes[0]! + lanes[1]!) + f32(lanes[2]! + lanes[3]!));
      for (let p = k4; p < k; p++) s = f32(s + f32(aAt(i, p) * bAt(p, j)));
    } else {
      for (let p = 0; p < k; p++) s = f32(s + f32(aAt(i, p) * bAt(p, j)));
    }
    out[i * n + j] = c0 === null ? s : f32(c0[i * n + j]! + s);
  }
  return out;
}

interface GemmRun {
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly c0: Float32Array;
  readonly out: Float32Array;
}

/** Runs one gemm on fresh operands; C starts as c0 (random) so untouched rows and accumulate are visible. */
function runGemm(k0: WasmKernels, layout: GemmLayout, m: number, n: number, k: number, accumulate: boolean,
  ranges: readonly (readonly [number, number])[] = [[0, m]], seed = 1): GemmRun {
  const mark = arena.mark();
  const a = random(m * k, seed), b = random(k * n, seed + 1), c0 = random(m * n, seed + 2);
  const pa = put(a), pb = put(b), pc = put(c0);
  for (const [r0, r1] of ranges) k0.gemm(layout, m, n, k, pa, pb, pc, accumulate, r0, r1);
  const out = get(pc, m * n);
  arena.reset(mark);
  return { a, b, c0, out };
}

const LAYOUTS: GemmLayout[] = ["nt", "nn", "tn"];
const ODD = [1, 3, 5, 7, 13, 17, 33, 65];
const U = 2 ** -24;

describe("gemm on odd sizes", () => {
  describe.each(LAYOUTS)("%s", (layout) => {
    it("equals the f32 emulation of its order bit for bit, and the float64 reference within γ(k+1)·Σ|a·b|", () => {
      for (const m of ODD) for (const n of ODD) for (const k of ODD) {
        const { a, b, out } = runGemm(kernels, layout, m, n, k, false, [[0, m]], m * 1000 + n * 10 + k);
        expectSameBits(out, emulateF32(layout, m, n, k, a, b, null), `${layout} ${m}×${n}×${k}`);
        // A computed f32 dot product of length k (rounded products, any order of sums) is within
        // γ_{k+1}·Σ|a_p·b_p| of the exact one, γ_j = j·u/(1 − j·u) with u = 2⁻²⁴ (Higham, §3.1).
        const { value, magnitude } = reference64(layout, m, n, k, a, b);
        const gamma = ((k + 1) * U) / (1 - (k + 1) * U);
        for (let t = 0; t < m * n; t++) {
          if (Math.abs(out[t]! - value[t]!) > gamma * magnitude[t]!) {
            throw new Error(`${layout} ${m}×${n}×${k}: element ${t} is ${out[t]}, float64 ${value[t]}, bound ${gamma * magnitude[t]!}`);
          }
        }
      }
    });

    it("adds to C with accumulate", () => {
      for (const [m, n, k] of [[5, 7, 13], [17, 33, 3], [1, 65, 7], [13, 1, 65]] as const) {
        const { a, b, c0, out } = runGemm(kernels, layout, m, n, k, true);
        expectSameBits(out, emulateF32(layout, m, n, k, a, b, c0));
      }
    });

    it("gives bit-identical results whatever the row split, and leaves rows outside the range untouched", () => {
      for (const [m, n, k] of [[33, 17, 13], [65, 7, 5], [17, 65, 33]] as const) {
        const whole = runGemm(kernels, layout, m, n, k, false);
        for (const cuts of [[1], [5], [m >> 1], [3, 10, 11], [2, 7, 9, 16]]) {
          const bounds = [0, ...cuts, m];
          const ranges = bounds.slice(1).map((end, t) => [bounds[t]!, end] as const);
          expectSameBits(runGemm(kernels, layout, m, n, k, false, ranges).out, whole.out);
        }
        const part = runGemm(kernels, layout, m, n, k, false, [[3, 10]]);
        expectSameBits(part.out.subarray(0, 3 * n), part.c0.subarray(0, 3 * n));
        expectSameBits(part.out.subarray(10 * n), part.c0.subarray(10 * n));
        expectSameBits(part.out.subarray(3 * n, 10 * n), whole.out.subarray(3 * n, 10 * n));
      }
    });

    it("writes zeros for k = 0, keeps C when accumulating, and does nothing for empty row ranges", () => {
      const zero = runGemm(kernels, layout, 5, 7, 0, false);
      expect([...zero.out]).toEqual(new Array(35).fill(0));
      const kept = runGemm(kernels, layout, 5, 7, 0, true);
      expectSameBits(kept.out, kept.c0);
      const empty = runGemm(kernels, layout, 5, 7, 3, false, [[2, 2]]);
      expectSameBits(empty.out, empty.c0);
    });
  });
});

describe("gemm on the reference model's shapes", () => {
  it.each([
    ["nt", 64, 128, 784], ["nn", 64, 784, 128], ["tn", 128, 784, 64], ["tn", 784, 128, 64],
    ["nt", 64, 784, 128], ["nn", 784, 64, 128], ["tn", 64, 128, 784],
  ] as const)("%s %d×%d×%d: emulation, float64 bound, 2-way split, accumulate", (layout, m, n, k) => {
    const whole = runGemm(kernels, layout, m, n, k, false);
    expectSameBits(whole.out, emulateF32(layout, m, n, k, whole.a, whole.b, null));
    const { value, magnitude } = reference64(layout, m, n, k, whole.a, whole.b);
    const gamma = ((k + 1) * U) / (1 - (k + 1) * U);
    let worst = 0;
    for (let t = 0; t < m * n; t++) worst = Math.max(worst, Math.abs(whole.out[t]! - value[t]!) / (gamma * magnitude[t]!));
    expect(worst).toBeLessThanOrEqual(1);
    const split = runGemm(kernels, layout, m, n, k, false, [[0, m >> 1], [m >> 1, m]]);
    expectSameBits(split.out, whole.out);
    const acc = runGemm(kernels, layout, m, n, k, true, [[0, 21], [21, m]]);
    expectSameBits(acc.out, emulateF32(layout, m, n, k, acc.a, acc.b, acc.c0));
  });
});

describe("gemm under other register blockings", () => {
  const blockings: GemmBlocking[] = [
    { rows: 1, cols: 1, order: "ij" }, { rows: 2, cols: 4, order: "ji" }, { rows: 3, cols: 3, order: "ij" },
    { rows: 5, cols: 2, order: "ji" }, { rows: 4, cols: 3, order: "ji" }, { rows: 2, cols: 4, order: "ij", unroll: 2 },
    { rows: 4, cols: 2, order: "ji", unroll: 3 }, { rows: 3, cols: 1, order: "ij", unroll: 4 },
  ];
  it.each(blockings)("$rows×$cols $order unroll $unroll equals the f32 emulation", (blocking) => {
    const module = new api.Module(buildKernelModule({ shared: false, blocking: { nn: blocking, nt: blocking, tn: blocking } }));
    const k1 = new WasmKernels(module, memory);
    for (const layout of LAYOUTS) for (const [m, n, k] of [[13, 17, 7], [7, 33, 5], [17, 13, 13], [5, 9, 33], [6, 7, 29]] as const) {
      const { a, b, c0, out } = runGemm(k1, layout, m, n, k, true, [[0, 6], [6, m]]);
      expectSameBits(out, emulateF32(layout, m, n, k, a, b, c0));
    }
  });
});

describe("biasAct", () => {
  it.each([1, 3, 4, 5, 7, 13, 17, 33])("adds the bias and applies ReLU on %d columns, in place too", (cols) => {
    const rows = 5;
    const x = random(rows * cols, cols), bias = random(cols, cols + 1);
    x[0] = Number.NaN;
    x[1 % x.length] = -0;
    const expectedOut = (relu: boolean): Float32Array => x.map((v, t) => {
      const s = f32(v + bias[t % cols]!);
      return relu ? (s > 0 ? s : s === s ? 0 : s) : s;
    });
    for (const relu of [false, true]) {
      const mark = arena.mark();
      const px = put(x), pbias = put(bias), pout = arena.alloc(rows * cols);
      kernels.biasAct(px, pbias, pout, rows, cols, relu);
      expectSameBits(get(pout, rows * cols), expectedOut(relu));
      kernels.biasAct(px, pbias, px, rows, cols, relu, 0, 2);
      kernels.biasAct(px, pbias, px, rows, cols, relu, 2, rows);
      expectSameBits(get(px, rows * cols), expectedOut(relu));
      arena.reset(mark);
    }
  });
});

describe("reluBackward", () => {
  it.each([1, 3, 4, 5, 7, 13, 17, 33, 65])("masks the gradient where x <= 0 (length %d)", (len) => {
    const x = random(len, len), dy = random(len, len + 7);
    x[0] = Number.NaN;
    if (len > 2) { x[1] = -0; x[2] = 0; dy[3 % len] = Number.NaN; }
    const expected = dy.map((g, t) => (x[t]! > 0 ? g : 0));
    const mark = arena.mark();
    const px = put(x), pdy = put(dy), pdx = arena.alloc(len);
    kernels.reluBackward(pdy, px, pdx, len);
    expectSameBits(get(pdx, len), expected);
    kernels.reluBackward(pdy, px, pdy, len, 0, len >> 1);
    kernels.reluBackward(pdy, px, pdy, len, len >> 1, len);
    expectSameBits(get(pdy, len), expected);
    arena.reset(mark);
  });
});

/** PyTorch's Adam step in plain JS float32 (every operation rounded to f32), same scalars as the kernel. */
function adamReference(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars): void {
  const bc1 = 1 - s.beta1 ** s.step, bc2 = 1 - s.beta2 ** s.step;
  const [wd, b1, omb1, b2, omb2, eps, stepSize, bc2Sqrt] =
    [s.weightDecay, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.eps, s.lr / bc1, Math.sqrt(bc2)].map(f32) as number[] as [number, number, number, number, number, number, number, number];
  for (let t = 0; t < p.length; t++) {
    const grad = wd !== 0 ? f32(g[t]! + f32(wd * p[t]!)) : g[t]!;
    m[t] = f32(f32(m[t]! * b1) + f32(omb1 * grad));
    v[t] = f32(f32(v[t]! * b2) + f32(f32(omb2 * grad) * grad));
    const denom = f32(f32(f32(Math.sqrt(v[t]!)) / bc2Sqrt) + eps);
    p[t] = f32(p[t]! - f32(stepSize * f32(m[t]! / denom)));
  }
}

describe("adam", () => {
  it.each([
    [1, 0], [3, 0], [7, 0.01], [13, 0], [33, 0.1], [100_480, 0], [1_290, 0.01],
  ])("matches PyTorch's formula in f32 bit for bit over 10 steps (length %d, weight decay %d)", (len, weightDecay) => {
    const p = random(len, 11), m = new Float32Array(len), v = new Float32Array(len);
    const mark = arena.mark();
    const pp = put(p), pm = put(m), pv = put(v), pg = arena.alloc(len);
    for (let step = 1; step <= 10; step++) {
      const g = random(len, 100 + step, 0.1);
      arena.view(pg, len).set(g);
      const s: AdamScalars = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step };
      adamReference(p, g, m, v, s);
      const half = len >> 1;
      kernels.adam(pp, pg, pm, pv, len, s, 0, half);
      kernels.adam(pp, pg, pm, pv, len, s, half, len);
      expectSameBits(get(pp, len), p);
      expectSameBits(get(pm, len), m);
      expectSameBits(get(pv, len), v);
    }
    arena.reset(mark);
  });
});
