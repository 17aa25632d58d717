// Adam's one JS formula against PyTorch's float32 order written out per flag (maximize, AdamW's factor, coupled weight
// decay, AMSGrad), bit for bit, over several steps and with a range of the arrays.
import { describe, expect, it } from "vitest";
import { Generator } from "../random.js";
import { adamKernel, adamKernelSource, type AdamScalars } from "./adam.js";

const f = Math.fround;

interface Flags { readonly wd?: number; readonly lrWd?: number; readonly maximize?: boolean; readonly amsgrad?: boolean }

function scalars(t: number, { wd = 0, lrWd = 0, maximize = false }: Flags = {}): AdamScalars {
  return [f(wd), f(0.9), f(0.1), f(0.999), f(1 - 0.999), f(1e-8), f(1e-3 / (1 - 0.9 ** t)), f(Math.sqrt(1 - 0.999 ** t)),
    f(1 - lrWd), maximize ? 1 : 0];
}

/** `torch.optim._functional._single_tensor_adam` in float32, one element at a time, each flag its own branch. */
function reference(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vMax: Float32Array | null, t: number, flags: Flags): void {
  const s = scalars(t, flags);
  for (let i = 0; i < p.length; i++) {
    if (flags.lrWd !== undefined) p[i] = f(p[i]! * s[8]);
    let gi = flags.maximize === true ? -g[i]! : g[i]!;
    if (flags.wd !== undefined) gi = f(gi + f(s[0] * p[i]!));
    m[i] = f(f(m[i]! * s[1]) + f(s[2] * gi));
    v[i] = f(f(v[i]! * s[3]) + f(f(s[4] * gi) * gi));
    let vHat = v[i]!;
    if (vMax !== null) {
      vMax[i] = Math.max(vMax[i]!, v[i]!);
      vHat = vMax[i]!;
    }
    p[i] = f(p[i]! - f(s[6] * f(m[i]! / f(f(f(Math.sqrt(vHat)) / s[7]) + s[5]))));
  }
}

function buffers(n: number, seed: number): Float32Array[] {
  const g = new Generator(seed);
  const rnd = (scale: number): Float32Array => Float32Array.from({ length: n }, () => (g.nextFloat() * 2 - 1) * scale);
  return [rnd(1), rnd(0.1), rnd(0.01), rnd(0.001).map(Math.abs)];
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe("Adam's JS kernel", () => {
  it.each<[string, Flags]>([
    ["PyTorch's defaults", {}],
    ["maximize", { maximize: true }],
    ["coupled weight decay 0.01", { wd: 0.01 }],
    ["AdamW's factor 1 − 1e-3·0.1", { lrWd: 1e-3 * 0.1 }],
    ["AMSGrad", { amsgrad: true }],
    ["all at once", { wd: 0.01, lrWd: 1e-4, maximize: true, amsgrad: true }],
  ])("%s: bit for bit the written-out formula over 5 steps", (_name, flags) => {
    const [p0, g, m0, v0] = buffers(1001, 3) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const [p1, m1, v1] = [p0.slice(), m0.slice(), v0.slice()];
    const [p2, m2, v2] = [p0.slice(), m0.slice(), v0.slice()];
    const vMax1 = flags.amsgrad === true ? v0.map((x, i) => (i % 2 === 0 ? x * 10 : 0)) : null;
    const vMax2 = vMax1?.slice() ?? null;
    for (let t = 1; t <= 5; t++) {
      adamKernel(p1, 0, g, 0, m1, 0, v1, 0, vMax1, 0, 0, p1.length, scalars(t, flags));
      reference(p2, g, m2, v2, vMax2, t, flags);
    }
    expect([bits(p1), bits(m1), bits(v1)]).toEqual([bits(p2), bits(m2), bits(v2)]);
    if (vMax1 !== null) expect(bits(vMax1)).toEqual(bits(vMax2!));
    expect(p1).not.toEqual(p0);
  });

  it("runs elements [start, end) at offsets into one shared buffer, leaving the rest alone", () => {
    const n = 40;
    const [p, g, m, v] = buffers(n, 9) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const shared = new Float32Array(4 * n + 4);
    shared.set(p, 1); shared.set(g, 1 + n); shared.set(m, 1 + 2 * n); shared.set(v, 1 + 3 * n);
    const before = shared.slice();
    adamKernel(shared, 1, shared, 1 + n, shared, 1 + 2 * n, shared, 1 + 3 * n, null, 0, 10, 30, scalars(1));
    const [rp, rm, rv] = [p.slice(), m.slice(), v.slice()];
    reference(rp, g, rm, rv, null, 1, {});
    expect(shared.subarray(11, 31)).toEqual(rp.subarray(10, 30));
    expect(shared.subarray(1 + 2 * n + 10, 1 + 2 * n + 30)).toEqual(rm.subarray(10, 30));
    expect(shared.subarray(1 + 3 * n + 10, 1 + 3 * n + 30)).toEqual(rv.subarray(10, 30));
    expect(shared.subarray(1, 11)).toEqual(before.subarray(1, 11));
    expect(shared.subarray(31, 1 + n)).toEqual(before.subarray(31, 1 + n));
    expect(shared.subarray(1 + n, 1 + 2 * n)).toEqual(g);
  });

  it("weight decay 0 adds nothing, as PyTorch skips it: an infinite parameter stays infinite, not NaN", () => {
    const p = Float32Array.of(Infinity, -Infinity, 1), g = Float32Array.of(0.5, 0.5, 0.5);
    const m = new Float32Array(3), v = new Float32Array(3);
    adamKernel(p, 0, g, 0, m, 0, v, 0, null, 0, 0, 3, scalars(1));
    expect(Array.from(p.subarray(0, 2))).toEqual([Infinity, -Infinity]);
  });

  it("its source text for the workers is the one function", () => {
    expect(adamKernelSource()).toBe(adamKernel.toString());
    expect(adamKernelSource()).toMatch(/^function adamKernel\(/);
  });
});
