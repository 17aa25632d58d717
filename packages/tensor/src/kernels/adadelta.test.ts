// adadeltaStep: the SIMD kernel gives the JavaScript loop's bits (every flag, vector tails), and one step by hand.
import { afterEach, describe, expect, it } from "vitest";
import { sameBits } from "@tsgrad/testing";
import { getBackend, setBackend } from "../compute.js";
import { Generator } from "../random.js";
import { adadeltaStep, type AdadeltaStepScalars } from "./adadelta.js";

const previous = getBackend();
afterEach(() => setBackend(previous));

function arrays(n: number, seed: number): Float32Array[] {
  const g = new Generator(seed);
  const rnd = (scale: number, positive = false): Float32Array =>
    Float32Array.from({ length: n }, () => (positive ? Math.abs(g.nextNormal()) : g.nextNormal()) * scale);
  return [rnd(1), rnd(0.1), rnd(0.01, true), rnd(1e-4, true)];
}

describe("adadeltaStep", () => {
  const options: AdadeltaStepScalars[] = [
    { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false },
    { lr: 0.5, rho: 0.95, eps: 1e-4, weightDecay: 0.1, maximize: false },
    { lr: 2, rho: 0.8, eps: 1e-6, weightDecay: 0, maximize: true },
    { lr: 1, rho: 0, eps: 1e-3, weightDecay: 0.05, maximize: true },
  ];
  it.each(options)("wasm and JavaScript agree bit for bit (%o), 3 steps, a length with a vector tail", (s) => {
    const n = 10_003;
    const results = (["js", "wasm"] as const).map((backend) => {
      setBackend(backend);
      const [p, grad, v, u] = arrays(n, 4) as [Float32Array, Float32Array, Float32Array, Float32Array];
      for (let step = 0; step < 3; step++) adadeltaStep(p, grad, v, u, s);
      return [p, v, u];
    });
    results[0]!.forEach((a, i) => expect(sameBits(a, results[1]![i]!), `array ${i}`).toBe(true));
  });

  it("computes PyTorch's first step: Δ = √eps / √((1−ρ)·g² + eps) · g", () => {
    for (const backend of ["js", "wasm"] as const) {
      setBackend(backend);
      const n = 5000;
      const p = new Float32Array(n).fill(1), g = new Float32Array(n).fill(0.5), v = new Float32Array(n), u = new Float32Array(n);
      adadeltaStep(p, g, v, u, { lr: 1, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false });
      const delta = (Math.sqrt(1e-6) / Math.sqrt(0.1 * 0.25 + 1e-6)) * 0.5;
      expect(p[n - 1]).toBeCloseTo(1 - delta, 6);
      expect(v[0]).toBeCloseTo(0.025, 7);
      expect(u[0]).toBeCloseTo(0.1 * delta * delta, 9);
    }
  });
});
