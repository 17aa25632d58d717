// Adam's two JS loops (the general one and the plain one V8 runs faster) give the same bits, and each flag acts.
import { describe, expect, it } from "vitest";
import { Generator } from "../random.js";
import { adamKernel, adamLoop, plainAdamLoop, type AdamScalars } from "./adam.js";

const f = Math.fround;

function scalars(t: number, { wd = 0, decay = 1, maximize = 0 } = {}): AdamScalars {
  return [f(wd), f(0.9), f(0.1), f(0.999), f(1 - 0.999), f(1e-8), f(1e-3 / (1 - 0.9 ** t)), f(Math.sqrt(1 - 0.999 ** t)), decay, maximize];
}

function buffers(n: number, seed: number): Float32Array[] {
  const g = new Generator(seed);
  const rnd = (scale: number): Float32Array => Float32Array.from({ length: n }, () => (g.nextFloat() * 2 - 1) * scale);
  return [rnd(1), rnd(0.1), rnd(0.01), rnd(0.001).map(Math.abs)];
}

describe("Adam's JS loops", () => {
  it("the plain loop equals the general loop with every flag off, bit for bit, over 5 steps", () => {
    const [p1, g, m1, v1] = buffers(1001, 3) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const [p2, m2, v2] = [p1.slice(), m1.slice(), v1.slice()];
    for (let t = 1; t <= 5; t++) {
      plainAdamLoop(p1, 0, g, 0, m1, 0, v1, 0, 0, p1.length, scalars(t));
      adamLoop(p2, 0, g, 0, m2, 0, v2, 0, null, 0, 0, p2.length, scalars(t), false, false, false);
    }
    expect([p1, m1, v1]).toEqual([p2, m2, v2]);
  });

  it("maximize negates the gradient; AdamW's factor scales p first; AMSGrad keeps the running max of v", () => {
    const [p0, g, m0, v0] = buffers(64, 5) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const run = (s: AdamScalars, grad: Float32Array, vMax: Float32Array | null): Float32Array[] => {
      const [p, m, v] = [p0.slice(), m0.slice(), v0.slice()];
      adamKernel(p, 0, grad, 0, m, 0, v, 0, vMax, 0, 0, p.length, s);
      return [p, m, v];
    };
    expect(run(scalars(1, { maximize: 1 }), g, null)).toEqual(run(scalars(1), g.map((x) => -x), null));
    const decay = f(1 - 1e-3 * 0.1);
    const [pd] = run(scalars(1, { decay }), g, null);
    const scaled = p0.map((x) => f(x * decay));
    const [pRef] = ((): Float32Array[] => {
      const [p, m, v] = [scaled.slice(), m0.slice(), v0.slice()];
      plainAdamLoop(p, 0, g, 0, m, 0, v, 0, 0, p.length, scalars(1));
      return [p, m, v];
    })();
    expect(pd).toEqual(pRef);
    const vMax = v0.map((x, i) => (i % 2 === 0 ? x * 10 : 0));
    const seen = vMax.slice();
    const v = run(scalars(1), g, vMax)[2]!;
    vMax.forEach((x, i) => expect(x).toBe(Math.max(seen[i]!, v[i]!)));
  });
});
