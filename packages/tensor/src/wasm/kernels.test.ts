// Tests of the SIMD kernels: gemm (three layouts) against a float64 reference and against an f32 emulation of the
// kernels' documented order of operations, row splits, accumulate, and Adam.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildKernelModule, GEMM_PANEL_BYTES, GEMM_PANEL_MAX_K, type GemmBlocking, type GemmLayout } from "./kernels.js";
import { createMemory, WasmKernels } from "./index.js";
import { Heap, Scratch } from "../heap.js";
import type { AdamScalars } from "../kernels/adam.js";
import { wasmApi } from "./webassembly.js";

const api = wasmApi()!;
const f32 = Math.fround;
const memory = createMemory({ initialPages: 256 });
const arena = new Scratch(new Heap(memory, false));
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

/** A view of `count` f32 at byte address `ptr` (valid until the memory grows). */
const view = (ptr: number, count: number): Float32Array => new Float32Array(memory.buffer, ptr, count);

/** Copies `data` into a fresh scratch block; returns its address. */
function put(data: Float32Array): number {
  const ptr = arena.alloc(data.length);
  view(ptr, data.length).set(data);
  return ptr;
}

const get = (ptr: number, count: number): Float32Array => view(ptr, count).slice();

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

/**
 * Runs one gemm on fresh operands; C starts as c0 (random) so untouched rows and accumulate are visible. With `panel`,
 * the kernel is given a panel block (poisoned with NaN, so a read of what it did not copy shows).
 */
function runGemm(k0: WasmKernels, layout: GemmLayout, m: number, n: number, k: number, accumulate: boolean,
  ranges: readonly (readonly [number, number])[] = [[0, m]], seed = 1, panel = false): GemmRun {
  arena.reset();
  const a = random(m * k, seed), b = random(k * n, seed + 1), c0 = random(m * n, seed + 2);
  const pa = put(a), pb = put(b), pc = put(c0);
  const pp = panel ? put(new Float32Array(GEMM_PANEL_BYTES / 4).fill(NaN)) : 0;
  for (const [r0, r1] of ranges) k0.gemm(layout, m, n, k, pa, pb, pc, accumulate, r0, r1, pp);
  const out = get(pc, m * n);
  return { a, b, c0, out };
}

const LAYOUTS: GemmLayout[] = ["nt", "nn", "tn"];
const ODD = [1, 3, 5, 7, 13, 17, 33, 65];
const U = 2 ** -24;

describe("gemm on odd sizes", () => {
  describe.each(LAYOUTS)("%s", (layout) => {
    it.each([false, true])("equals the f32 emulation of its order bit for bit, and the float64 reference within γ(k+1)·Σ|a·b| (panel: %s)", (panel) => {
      for (const m of ODD) for (const n of ODD) for (const k of ODD) {
        const { a, b, out } = runGemm(kernels, layout, m, n, k, false, [[0, m]], m * 1000 + n * 10 + k, panel);
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
        for (const panel of [false, true]) {
          const { a, b, c0, out } = runGemm(kernels, layout, m, n, k, true, [[0, m]], 1, panel);
          expectSameBits(out, emulateF32(layout, m, n, k, a, b, c0));
        }
      }
    });

    it("gives the same bits with a panel: B's rows 4 KiB apart, k past the panel's depth, row ranges of one tile", () => {
      const shapes = [[16, 1024, 32], [9, 2048, 5], [12, 1040, 17], [8, 64, GEMM_PANEL_MAX_K + 3], [8, 64, GEMM_PANEL_MAX_K]] as const;
      for (const [m, n, k] of shapes) for (const accumulate of [false, true]) {
        const ranges = [[0, 1], [1, 3], [3, 8], [8, m]] as const;
        const plain = runGemm(kernels, layout, m, n, k, accumulate, ranges, 7);
        const packed = runGemm(kernels, layout, m, n, k, accumulate, ranges, 7, true);
        expectSameBits(packed.out, plain.out, `${layout} ${m}×${n}×${k}`);
      }
      const { a, b, c0, out } = runGemm(kernels, layout, 9, 1024, 13, true, [[0, 9]], 3, true);
      expectSameBits(out, emulateF32(layout, 9, 1024, 13, a, b, c0));
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

/** PyTorch's Adam step in plain JS float32 (every operation rounded to f32), same scalars as the kernel. */
function adamReference(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars): void {
  const [wd, b1, omb1, b2, omb2, eps, stepSize, bc2Sqrt] = s;
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
    arena.reset();
    const pp = put(p), pm = put(m), pv = put(v), pg = arena.alloc(len);
    for (let step = 1; step <= 10; step++) {
      const g = random(len, 100 + step, 0.1);
      view(pg, len).set(g);
      const bc1 = 1 - 0.9 ** step, bc2 = 1 - 0.999 ** step;
      const s: AdamScalars = [
        f32(weightDecay), f32(0.9), f32(1 - 0.9), f32(0.999), f32(1 - 0.999), f32(1e-8), f32(1e-3 / bc1), f32(Math.sqrt(bc2)), 1, 0,
      ];
      adamReference(p, g, m, v, s);
      const half = len >> 1;
      kernels.adam(pp, pg, pm, pv, 0, half, s);
      kernels.adam(pp, pg, pm, pv, half, len, s);
      expectSameBits(get(pp, len), p);
      expectSameBits(get(pm, len), m);
      expectSameBits(get(pv, len), v);
    }
  });
});

describe("relaxed SIMD gemms (f32x4.relaxed_madd), run by a Node started with --experimental-wasm-relaxed-simd", () => {
  // The child gets both modules' bytes and reports, per layout and shape: whether a row split changes any bit, and
  // the largest error of the relaxed and of the plain kernel against a float64 product.
  const child = `
    const relaxed = new WebAssembly.Module(Buffer.from(process.env.RELAXED, "base64"));
    const plain = new WebAssembly.Module(Buffer.from(process.env.PLAIN, "base64"));
    const memory = new WebAssembly.Memory({ initial: 256 });
    const kr = new WebAssembly.Instance(relaxed, { env: { memory } }).exports;
    const kp = new WebAssembly.Instance(plain, { env: { memory } }).exports;
    const out = [];
    for (const [layout, m, n, k] of [["nt", 64, 128, 784], ["nn", 64, 784, 128], ["tn", 128, 784, 64], ["nt", 13, 17, 33], ["nn", 13, 17, 33], ["tn", 13, 17, 33]]) {
      const f32 = new Float32Array(memory.buffer);
      let s = m * 131 + n * 7 + k;
      const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) | 0) >>> 8) / 16777216 - 0.5;
      const aAt = 0, bAt = m * k, c1 = bAt + k * n, c2 = c1 + m * n, c3 = c2 + m * n;
      for (let t = 0; t < c1; t++) f32[t] = rnd();
      const A = (i, p) => f32[aAt + (layout === "tn" ? p * m + i : i * k + p)];
      const B = (p, j) => f32[bAt + (layout === "nt" ? j * k + p : p * n + j)];
      const fn = "gemm_" + layout;
      kr[fn](m, n, k, 4 * aAt, 4 * bAt, 4 * c1, 0, 0, m);
      kr[fn](m, n, k, 4 * aAt, 4 * bAt, 4 * c2, 0, 0, 5);
      kr[fn](m, n, k, 4 * aAt, 4 * bAt, 4 * c2, 0, 5, m);
      kp[fn](m, n, k, 4 * aAt, 4 * bAt, 4 * c3, 0, 0, m);
      let same = true, errRelaxed = 0, errPlain = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let exact = 0, scale = 0;
        for (let p = 0; p < k; p++) { exact += A(i, p) * B(p, j); scale += Math.abs(A(i, p) * B(p, j)); }
        const t = i * n + j;
        if (f32[c1 + t] !== f32[c2 + t]) same = false;
        errRelaxed = Math.max(errRelaxed, Math.abs(f32[c1 + t] - exact) / scale);
        errPlain = Math.max(errPlain, Math.abs(f32[c3 + t] - exact) / scale);
      }
      out.push({ layout, m, n, k, same, errRelaxed, errPlain });
    }
    console.log(JSON.stringify(out));`;

  it("validate from Node 21 on, not on a Node 20 started plainly (the plain kernels run there)", () => {
    const major = Number(process.versions.node.split(".")[0]);
    expect(api.validate(buildKernelModule({ shared: false, relaxed: true }))).toBe(major >= 21);
    expect(api.validate(buildKernelModule({ shared: false }))).toBe(true);
  });

  it("are bit-identical across row splits and within the plain kernels' float32 error bound of the exact product", () => {
    const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
    const env = { ...process.env, RELAXED: b64(buildKernelModule({ shared: false, relaxed: true })), PLAIN: b64(buildKernelModule({ shared: false })) };
    const r = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "-e", child], { env, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const rows = JSON.parse(r.stdout) as { layout: string; same: boolean; errRelaxed: number; errPlain: number; k: number }[];
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      expect(row.same, `${row.layout} k=${row.k}`).toBe(true);
      const gamma = (row.k + 2) * 2 ** -24; // the bound of a float32 sum of k products, each rounded
      expect(row.errRelaxed, `${row.layout} k=${row.k}`).toBeLessThanOrEqual(gamma);
      expect(row.errPlain, `${row.layout} k=${row.k}`).toBeLessThanOrEqual(gamma);
    }
  });
});
