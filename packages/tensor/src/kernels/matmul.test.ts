// gemm against a plain float64 triple loop: all four transpose layouts, odd sizes, accumulate, row sub-ranges, and the
// exact numeric definition (float64 sum in p order, one rounding to float32) bit for bit around the 4×4 tile.
import { describe, expect, it } from "vitest";
import { Generator } from "../random.js";
import { gemmSerial } from "./matmul.js";

/** gemmSerial with its optional arguments: no accumulation, every row. */
function gemm(
  m: number, n: number, k: number, a: Float32Array, aOff: number, transA: boolean, b: Float32Array, bOff: number,
  transB: boolean, c: Float32Array, cOff: number, accumulate = false, rowStart = 0, rowEnd = m,
): void {
  gemmSerial(m, n, k, a, aOff, transA, b, bOff, transB, c, cOff, accumulate, rowStart, rowEnd);
}

/** Row-major float32 values in [-1, 1) from a fixed generator. */
function randomArray(n: number, g: Generator): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = g.nextFloat() * 2 - 1;
  return out;
}

/** C = op(A)·op(B) in float64, read element by element from the stored layouts. */
function reference(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, transA: boolean,
  b: Float32Array, bOff: number, transB: boolean,
): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = a[aOff + (transA ? p * m + i : i * k + p)]!;
        const bv = b[bOff + (transB ? j * k + p : p * n + j)]!;
        s += av * bv;
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

const sizes: [number, number, number][] = [
  [1, 1, 1], [1, 5, 3], [3, 1, 7], [5, 7, 3], [7, 5, 17], [17, 33, 5], [33, 17, 1], [4, 8, 4], [9, 13, 33], [6, 2, 0],
];
const layouts: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
const cases = sizes.flatMap(([m, n, k]) => layouts.map(([ta, tb]) => [m, n, k, ta, tb] as const));

describe("gemm", () => {
  it.each(cases)("m=%i n=%i k=%i transA=%s transB=%s matches a float64 triple loop", (m, n, k, ta, tb) => {
    const g = new Generator(m * 1000 + n * 10 + k);
    const a = randomArray(m * k, g);
    const b = randomArray(k * n, g);
    const c = new Float32Array(m * n).fill(NaN); // every element must be written
    gemm(m, n, k, a, 0, ta, b, 0, tb, c, 0);
    expect(c).toBeAllClose(reference(m, n, k, a, 0, ta, b, 0, tb), { atol: 1e-6, rtol: 1e-6 });
  });

  it.each(cases)("m=%i n=%i k=%i transA=%s transB=%s accumulates into C", (m, n, k, ta, tb) => {
    const g = new Generator(7 + m + n + k);
    const a = randomArray(m * k, g);
    const b = randomArray(k * n, g);
    const c0 = randomArray(m * n, g);
    const c = c0.slice();
    gemm(m, n, k, a, 0, ta, b, 0, tb, c, 0, true);
    const ref = reference(m, n, k, a, 0, ta, b, 0, tb).map((v, i) => v + c0[i]!);
    expect(c).toBeAllClose(ref, { atol: 1e-6, rtol: 1e-6 });
  });

  it.each(layouts)("reads operands and writes C at offsets (transA=%s transB=%s)", (ta, tb) => {
    const [m, n, k] = [5, 7, 3];
    const g = new Generator(11);
    const a = randomArray(m * k + 4, g);
    const b = randomArray(k * n + 9, g);
    const c = new Float32Array(m * n + 6).fill(-7);
    gemm(m, n, k, a, 4, ta, b, 9, tb, c, 6);
    expect(Array.from(c.subarray(0, 6))).toEqual([-7, -7, -7, -7, -7, -7]);
    expect(c.subarray(6)).toBeAllClose(reference(m, n, k, a, 4, ta, b, 9, tb), { atol: 1e-6, rtol: 1e-6 });
  });

  it.each(layouts)("rowStart/rowEnd compute only those rows (transA=%s transB=%s)", (ta, tb) => {
    const [m, n, k] = [17, 5, 7];
    const g = new Generator(3);
    const a = randomArray(m * k, g);
    const b = randomArray(k * n, g);
    const ref = reference(m, n, k, a, 0, ta, b, 0, tb);
    for (const [lo, hi] of [[0, 0], [0, 1], [3, 10], [5, 17], [1, 6], [16, 17]] as const) {
      const c = new Float32Array(m * n).fill(42);
      gemm(m, n, k, a, 0, ta, b, 0, tb, c, 0, false, lo, hi);
      for (let i = 0; i < m; i++) {
        const row = c.subarray(i * n, (i + 1) * n);
        if (i >= lo && i < hi) expect(row).toBeAllClose(ref.subarray(i * n, (i + 1) * n), { atol: 1e-6, rtol: 1e-6 });
        else expect(Array.from(row)).toEqual(new Array<number>(n).fill(42));
      }
    }
  });

  it.each(layouts)("splitting rows gives bit-identical results to one call (transA=%s transB=%s)", (ta, tb) => {
    const [m, n, k] = [33, 17, 65];
    const g = new Generator(5);
    const a = randomArray(m * k, g);
    const b = randomArray(k * n, g);
    const whole = new Float32Array(m * n);
    gemm(m, n, k, a, 0, ta, b, 0, tb, whole, 0);
    for (const cuts of [[0, 1, 2, 3, 33], [0, 5, 6, 19, 33], [0, 16, 17, 33], [0, 7, 14, 21, 28, 33]]) {
      const split = new Float32Array(m * n);
      for (let s = 0; s + 1 < cuts.length; s++) gemm(m, n, k, a, 0, ta, b, 0, tb, split, 0, false, cuts[s], cuts[s + 1]);
      expect(split).toEqual(whole);
    }
    const acc = new Float32Array(m * n).fill(0.5);
    const accSplit = acc.slice();
    gemm(m, n, k, a, 0, ta, b, 0, tb, acc, 0, true);
    gemm(m, n, k, a, 0, ta, b, 0, tb, accSplit, 0, true, 0, 13);
    gemm(m, n, k, a, 0, ta, b, 0, tb, accSplit, 0, true, 13, 33);
    expect(accSplit).toEqual(acc);
  });

  // Sizes below, at and around the 4×4 tile, so every element goes through the tiled path, the edge path or both.
  const odd = [1, 2, 3, 5, 6, 7, 9, 11, 13, 17, 33];

  it.each(layouts)("equals the float64 p-ordered sum rounded once, bit for bit (transA=%s transB=%s)", (ta, tb) => {
    const g = new Generator(ta ? (tb ? 41 : 42) : tb ? 43 : 44);
    for (const m of odd) {
      for (const n of odd) {
        for (const k of odd) {
          const a = randomArray(m * k + 3, g);
          const b = randomArray(k * n + 2, g);
          const c0 = randomArray(m * n + 1, g);
          const exact = reference(m, n, k, a, 3, ta, b, 2, tb);
          const c = new Float32Array(m * n + 1).fill(NaN);
          gemm(m, n, k, a, 3, ta, b, 2, tb, c, 1);
          expect(c.subarray(1)).toEqual(Float32Array.from(exact));
          const acc = c0.slice();
          gemm(m, n, k, a, 3, ta, b, 2, tb, acc, 1, true);
          expect(acc.subarray(1)).toEqual(Float32Array.from(exact, (v, i) => v + c0[i + 1]!));
          expect(acc[0]).toBe(c0[0]);
        }
      }
    }
  });

  it.each(layouts)("row ranges around the tile are bit-identical to one call and leave other rows (transA=%s transB=%s)", (ta, tb) => {
    const g = new Generator(ta ? (tb ? 51 : 52) : tb ? 53 : 54);
    for (const [m, n, k] of [[13, 11, 9], [33, 7, 17], [9, 33, 5], [17, 6, 33]] as const) {
      const a = randomArray(m * k, g);
      const b = randomArray(k * n, g);
      const whole = new Float32Array(m * n);
      gemm(m, n, k, a, 0, ta, b, 0, tb, whole, 0);
      for (let lo = 0; lo <= m; lo += 3) {
        for (const hi of [lo, lo + 1, lo + 2, lo + 5, lo + 6, m].filter((h) => h >= lo && h <= m)) {
          const part = new Float32Array(m * n).fill(-3);
          gemm(m, n, k, a, 0, ta, b, 0, tb, part, 0, false, lo, hi);
          for (let i = 0; i < m; i++) {
            const got = part.subarray(i * n, (i + 1) * n);
            if (i >= lo && i < hi) expect(got).toEqual(whole.subarray(i * n, (i + 1) * n));
            else expect(Array.from(got)).toEqual(new Array<number>(n).fill(-3));
          }
        }
      }
    }
  });
});
