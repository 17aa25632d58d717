// simdMap: the SIMD ReLU, ReLU gradient and product give the JavaScript loops' bits (signed zeros, NaN, infinities,
// vector tails, several chunks), and decline where they do not apply.
import { afterEach, describe, expect, it } from "vitest";
import { getBackend, setBackend } from "../compute.js";
import { Generator } from "../random.js";
import { simdMap } from "./simd-map.js";

const previous = getBackend();
afterEach(() => setBackend(previous));

const same = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38];

/** Normal deviates with the special values sprinkled in. */
function values(n: number, seed: number): Float32Array {
  const g = new Generator(seed);
  const a = Float32Array.from({ length: n }, () => g.nextNormal());
  for (let i = 0; i < n; i += 7) a[i] = SPECIAL[(i / 7) % SPECIAL.length]!;
  return a;
}

describe("simdMap", () => {
  // One vector tail of each length, and more than one chunk (262,144 floats).
  it.each([4096, 4097, 4098, 4099, 2 * 262144 + 3])("matches the JavaScript loops bit for bit, n = %i", (n) => {
    setBackend("wasm");
    const x = values(n, n), g = values(n, n + 1);
    const relu = new Float32Array(n), reluGrad = new Float32Array(n), mul = new Float32Array(n);
    expect(simdMap("relu", [x], relu)).toBe(true);
    expect(simdMap("relu_grad", [x, g], reluGrad)).toBe(true);
    expect(simdMap("mul", [x, g], mul)).toBe(true);
    const want = { relu: new Float32Array(n), reluGrad: new Float32Array(n), mul: new Float32Array(n) };
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      want.relu[i] = v > 0 ? v : v === v ? 0 : v;
      want.reluGrad[i] = v <= 0 ? 0 : g[i]!;
      want.mul[i] = v * g[i]!;
    }
    // NaN bits: the kernels keep the input's (the JavaScript loops store the same NaN); a product's NaN may be any.
    expect(same(relu, want.relu)).toBe(true);
    expect(same(reluGrad, want.reluGrad)).toBe(true);
    expect(mul.every((v, i) => Number.isNaN(v) === Number.isNaN(want.mul[i]!))).toBe(true);
    expect(same(mul.map((v) => (Number.isNaN(v) ? 0 : v)), want.mul.map((v) => (Number.isNaN(v) ? 0 : v)))).toBe(true);
  });

  it("declines small arrays and the js backend (the caller then runs its loop)", () => {
    setBackend("wasm");
    expect(simdMap("relu", [new Float32Array(100)], new Float32Array(100))).toBe(false);
    setBackend("js");
    expect(simdMap("relu", [new Float32Array(5000)], new Float32Array(5000))).toBe(false);
  });
});
