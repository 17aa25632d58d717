// The gemm dispatcher: both backends against a float64 reference, offsets and accumulate, backend selection.
import { afterAll, describe, expect, it } from "vitest";
import { sameBits } from "@tsgrad/testing";
import { kernelInstructions } from "./wasm/index.js";
import { adamUpdate, gemm, getBackend, layoutOf, relaxedSimdAvailable, setBackend, setRelaxedSimd, type Backend } from "./compute.js";
import type { AdamScalars } from "./kernels/adam.js";
import { Generator } from "./random.js";
import { gemmSerial } from "./kernels/matmul.js";
import { wasmSimdSupported } from "./wasm/index.js";

function reference(m: number, n: number, k: number, a: Float32Array, aOff: number, tA: boolean, b: Float32Array, bOff: number, tB: boolean): { value: Float64Array; scale: Float64Array } {
  const value = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, abs = 0;
      for (let p = 0; p < k; p++) {
        const x = a[aOff + (tA ? p * m + i : i * k + p)]! * b[bOff + (tB ? j * k + p : p * n + j)]!;
        s += x;
        abs += Math.abs(x);
      }
      value[i * n + j] = s;
      scale[i * n + j] = abs;
    }
  }
  return { value, scale };
}

const initial = getBackend();
afterAll(() => setBackend(initial));

describe("backend selection", () => {
  it("defaults to wasm where SIMD runs, and validates setBackend", () => {
    expect(initial).toBe(wasmSimdSupported() ? "wasm" : "js");
    expect(() => setBackend("gpu" as Backend)).toThrow(/setBackend: expected "js" or "wasm", got "gpu"/);
  });

  it("maps transpose flags to SIMD layouts (both transposed stays in JS)", () => {
    expect([layoutOf(false, true), layoutOf(false, false), layoutOf(true, false), layoutOf(true, true)]).toEqual(["nt", "nn", "tn", null]);
  });
});

describe.each(["js", "wasm"] as const)("gemm on the %s backend", (backend) => {
  it.each([
    [1, 1, 1], [3, 5, 7], [17, 33, 13], [64, 128, 784], [128, 784, 64], [64, 10, 128], [65, 9, 130],
  ])("m=%i n=%i k=%i, every layout, offsets, accumulate", (m, n, k) => {
    setBackend(backend);
    const g = new Generator(m + 100 * n + 10000 * k);
    for (const [tA, tB] of [[false, true], [false, false], [true, false], [true, true]] as const) {
      const a = Float32Array.from({ length: m * k + 3 }, () => g.nextFloat() * 2 - 1);
      const b = Float32Array.from({ length: k * n + 5 }, () => g.nextFloat() * 2 - 1);
      const base = Float32Array.from({ length: m * n + 2 }, () => g.nextFloat());
      const { value, scale } = reference(m, n, k, a, 3, tA, b, 5, tB);
      for (const accumulate of [false, true]) {
        const c = base.slice();
        gemm(m, n, k, a, 3, tA, b, 5, tB, c, 2, accumulate);
        expect(c[0]).toBe(base[0]);
        expect(c[1]).toBe(base[1]);
        for (let t = 0; t < m * n; t++) {
          const want = value[t]! + (accumulate ? base[2 + t]! : 0);
          // A float32 sum of k products: |error| <= γ(k+1)·Σ|a·b| (+ one rounding of the accumulated value).
          const gamma = ((k + 2) * 2 ** -24) / (1 - (k + 2) * 2 ** -24);
          const bound = gamma * (scale[t]! + (accumulate ? Math.abs(base[2 + t]!) : 0)) + 1e-30;
          expect(Math.abs(c[2 + t]! - want)).toBeLessThanOrEqual(bound);
        }
      }
    }
  });
});

/** Plain Adam's scalars (lr 1e-3, betas 0.9/0.999, eps 1e-8, coupled weight decay `wd`) at step `t`. */
function plainAdamScalars(wd: number, t: number): AdamScalars {
  const f = Math.fround;
  return [f(wd), f(0.9), f(1 - 0.9), f(0.999), f(1 - 0.999), f(1e-8), f(1e-3 / (1 - 0.9 ** t)), f(Math.sqrt(1 - 0.999 ** t)), 1, 0];
}

describe("adamUpdate", () => {
  /** PyTorch's float32 Adam, written out with Math.fround after every operation. */
  function reference(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, wd: number, step: number): void {
    const f = Math.fround;
    for (let i = 0; i < p.length; i++) {
      const gi = wd !== 0 ? f(g[i]! + f(f(wd) * p[i]!)) : g[i]!;
      m[i] = f(f(m[i]! * f(0.9)) + f(gi * f(1 - 0.9)));
      v[i] = f(f(v[i]! * f(0.999)) + f(f(gi * f(1 - 0.999)) * gi));
      const denom = f(f(f(Math.sqrt(v[i]!)) / f(Math.sqrt(1 - 0.999 ** step))) + f(1e-8));
      p[i] = f(p[i]! + f(f(-lr / (1 - 0.9 ** step)) * f(m[i]! / denom)));
    }
  }

  it.each([
    ["js", 0], ["js", 0.01], ["wasm", 0], ["wasm", 0.01],
  ] as const)("%s backend, weight decay %s: bit for bit PyTorch's float32 order over 5 steps (odd length)", (backend, wd) => {
    setBackend(backend);
    const g = new Generator(7);
    const n = 1003;
    const rnd = (scale: number) => Float32Array.from({ length: n }, () => (g.nextFloat() * 2 - 1) * scale);
    const p = rnd(1), m = new Float32Array(n), v = new Float32Array(n);
    const [rp, rm, rv] = [p.slice(), m.slice(), v.slice()];
    for (let step = 1; step <= 5; step++) {
      const grad = rnd(step === 3 ? 1e-6 : 0.1);
      const before = grad.slice();
      adamUpdate(p, grad, m, v, null, plainAdamScalars(wd, step));
      reference(rp, grad, rm, rv, 1e-3, wd, step);
      expect(grad).toEqual(before);
    }
    expect(sameBits(p, rp)).toBe(true);
    expect(sameBits(m, rm)).toBe(true);
    expect(sameBits(v, rv)).toBe(true);
  });
});

describe("SIMD kernels against the JS reference kernel", () => {
  it.each([[1, 1, 1], [3, 5, 7], [5, 7, 3], [13, 17, 33], [33, 13, 17], [65, 33, 13], [7, 65, 130]])(
    "m=%i n=%i k=%i: every SIMD layout within float32 rounding of the JS kernel",
    (m, n, k) => {
      const g = new Generator(31 * m + 7 * n + k);
      for (const [tA, tB] of [[false, true], [false, false], [true, false]] as const) {
        const a = Float32Array.from({ length: m * k }, () => g.nextFloat() * 2 - 1);
        const b = Float32Array.from({ length: k * n }, () => g.nextFloat() * 2 - 1);
        const js = new Float32Array(m * n);
        gemmSerial(m, n, k, a, 0, tA, b, 0, tB, js, 0, false, 0, m);
        setBackend("wasm");
        const simd = new Float32Array(m * n);
        gemm(m, n, k, a, 0, tA, b, 0, tB, simd, 0);
        const { scale } = reference(m, n, k, a, 0, tA, b, 0, tB);
        const gamma = ((k + 2) * 2 ** -24) / (1 - (k + 2) * 2 ** -24);
        for (let t = 0; t < m * n; t++) {
          // Both are within γ·Σ|a·b| of the exact sum (the JS one within half an ulp): so within twice that of each other.
          expect(Math.abs(simd[t]! - js[t]!)).toBeLessThanOrEqual(2 * gamma * scale[t]! + 1e-30);
        }
      }
    },
  );
});

describe("setRelaxedSimd", () => {
  it("relaxed SIMD is on by default where the engine has it (not a plain Node 20: plain bits); off pins the plain bits", () => {
    setBackend("wasm");
    const g = new Generator(12);
    const a = Float32Array.from({ length: 64 * 96 }, () => g.nextFloat() - 0.5);
    const b = Float32Array.from({ length: 96 * 80 }, () => g.nextFloat() - 0.5);
    const byDefault = new Float32Array(64 * 80);
    gemm(64, 80, 96, a, 0, false, b, 0, false, byDefault, 0);
    const major = Number(process.versions.node.split(".")[0]);
    expect(relaxedSimdAvailable()).toBe(major >= 21);
    expect(kernelInstructions()).toBe(relaxedSimdAvailable() ? "relaxed-simd" : "simd128");
    const plain = new Float32Array(64 * 80);
    try {
      expect(setRelaxedSimd(false)).toBe("simd128");
      expect(kernelInstructions()).toBe("simd128");
      gemm(64, 80, 96, a, 0, false, b, 0, false, plain, 0);
      if (!relaxedSimdAvailable()) expect(plain).toEqual(byDefault);
    } finally {
      expect(setRelaxedSimd(true)).toBe(relaxedSimdAvailable() ? "relaxed-simd" : "simd128");
    }
    const again = new Float32Array(64 * 80);
    gemm(64, 80, 96, a, 0, false, b, 0, false, again, 0);
    expect(again).toEqual(byDefault);
    expect(() => setRelaxedSimd("yes" as unknown as boolean)).toThrow(new TypeError("setRelaxedSimd: expected a boolean, got string"));
  });
});
