// The storage pool and autograd's ownership rules: what is recycled, when, and what never is.
import { describe, expect, it } from "vitest";
import { defineOp, emptyCache, memoryStats, noGrad, tensor, type Tensor } from "./index.js";
import { gradData, handOver, releaseArray, takeArray, takeFloat64, takeInt32, takeZeros } from "./internal.js";

const isPoisoned = (a: ArrayLike<number>): boolean => Array.from(a).every(Number.isNaN);

/** y = 3·x as a custom op whose backward takes its result from the pool. */
function triple(x: Tensor, extra: Partial<Parameters<typeof defineOp>[0]> = {}): Tensor {
  const out = takeArray(x.numel);
  for (let i = 0; i < out.length; i++) out[i] = 3 * x.data[i]!;
  return defineOp({
    name: "triple",
    inputs: [x],
    output: out,
    shape: x.shape,
    backward: (g) => {
      const gx = takeArray(g.length);
      for (let i = 0; i < g.length; i++) gx[i] = 3 * g[i]!;
      return [gx];
    },
    ...extra,
  });
}

describe("the pool", () => {
  it("serves a released array of the same length and kind, and counts what it creates", () => {
    emptyCache();
    const before = memoryStats();
    const a = takeArray(7);
    const b = takeFloat64(7);
    const c = takeInt32(7);
    expect(memoryStats().allocatedArrays - before.allocatedArrays).toBe(3);
    expect(memoryStats().allocatedBytes - before.allocatedBytes).toBe(7 * (4 + 8 + 4));
    releaseArray(a);
    releaseArray(b);
    releaseArray(c);
    expect(memoryStats().cachedArrays).toBe(3);
    expect(memoryStats().cachedBytes).toBe(7 * 16);
    expect(takeInt32(7)).toBe(c);
    expect(takeFloat64(7)).toBe(b);
    expect(takeArray(8)).not.toBe(a);
    expect(takeArray(7)).toBe(a);
    expect(memoryStats().reusedArrays - before.reusedArrays).toBe(3);
    expect(takeZeros(7)).toEqual(new Float32Array(7));
  });

  it("keeps at most 32 free arrays of one length, and emptyCache drops them all", () => {
    emptyCache();
    const arrays = Array.from({ length: 40 }, () => takeArray(3));
    arrays.forEach(releaseArray);
    expect(memoryStats().cachedArrays).toBe(32);
    emptyCache();
    expect(memoryStats().cachedArrays).toBe(0);
    expect(memoryStats().cachedBytes).toBe(0);
  });

  it("never takes views or shared memory (they are not the caller's to give)", () => {
    emptyCache();
    const whole = new Float32Array(8);
    releaseArray(whole.subarray(0, 4));
    releaseArray(new Float32Array(new SharedArrayBuffer(16)));
    expect(memoryStats().cachedArrays).toBe(0);
  });
});

describe("autograd and the pool", () => {
  it("recycles consumed gradients and the seed only for ops that borrow gradOutput (the default)", () => {
    let kept: Float32Array | null = null;
    const x = tensor([1, 2, 3], { requiresGrad: true });
    // A backward that keeps gradOutput says so (borrowsGradOutput: false): its array must stay intact.
    const keeper = (t: Tensor): Tensor => defineOp({
      name: "keeper", inputs: [t], output: t.data.slice(), shape: t.shape, borrowsGradOutput: false,
      backward: (g) => { kept = g; return [g.slice()]; },
    });
    keeper(triple(x)).sum().backward();
    expect(kept).toEqual(new Float32Array([1, 1, 1]));
    expect(x.grad?.data).toEqual(new Float32Array([3, 3, 3]));
  });

  it("recycles a borrowed gradient once the backward has returned (debug mode poisons it)", () => {
    let seen: Float32Array | null = null;
    const x = tensor([1, 2], { requiresGrad: true });
    const spy = (t: Tensor): Tensor =>
      defineOp({
        name: "spy", inputs: [t], output: t.data.slice(), shape: t.shape, // borrows gradOutput: the default
        backward: (g) => { seen = g; return [g.slice()]; },
      });
    triple(spy(x)).sum().backward();
    expect(x.grad?.data).toEqual(new Float32Array([3, 3]));
    expect(isPoisoned(seen!)).toBe(true);
  });

  it("passes gradOutput on when a backward returns it as is, and never recycles a view of it", () => {
    const x = tensor([1, 2, 3, 4], { requiresGrad: true });
    const view = (t: Tensor): Tensor =>
      defineOp({ name: "view", inputs: [t], output: t.data.slice(), shape: t.shape, borrowsGradOutput: true, backward: (g) => [g.subarray(0)] });
    const same = (t: Tensor): Tensor =>
      defineOp({ name: "same", inputs: [t], output: t.data.slice(), shape: t.shape, borrowsGradOutput: true, backward: (g) => [g] });
    same(view(triple(x))).sum().backward();
    expect(x.grad?.data).toEqual(new Float32Array([3, 3, 3, 3]));
    const y = tensor([1, 2], { requiresGrad: true });
    view(y).mul(tensor([5, 7])).sum().backward();
    expect(y.grad?.data).toEqual(new Float32Array([5, 7]));
    expect(isPoisoned(y.grad!.data)).toBe(false);
  });

  it("returns saved arrays on release, keeps them under retainGraph, and at once without a graph", () => {
    const x = tensor([1, -1], { requiresGrad: true });
    const savedOp = (t: Tensor, saved: Float32Array): Tensor =>
      defineOp({
        name: "scaled", inputs: [t], output: t.data.map((v, i) => v * saved[i]!), shape: t.shape, saved: [saved],
        backward: (g) => [g.map((v, i) => v * saved[i]!)],
      });
    const s1 = takeArray(2).fill(2);
    const y = savedOp(x, s1).sum();
    y.backward(undefined, { retainGraph: true });
    expect(s1).toEqual(new Float32Array([2, 2]));
    y.backward();
    expect(x.grad?.data).toEqual(new Float32Array([4, 4]));
    expect(isPoisoned(s1)).toBe(true);
    const s2 = takeArray(2).fill(5);
    const z = noGrad(() => savedOp(x, s2));
    expect(z.data).toEqual(new Float32Array([5, -5]));
    expect(isPoisoned(s2)).toBe(true);
  });

  it("recycles an unread leaf grad on zeroGrad-style clearing, never one that was read", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    triple(w).sum().backward();
    const internal = gradData(w)!;
    w.grad = null; // nobody read it: back to the pool
    expect(isPoisoned(internal)).toBe(true);
    triple(w).sum().backward();
    const read = w.grad!; // read: the caller's for good
    w.grad = null;
    triple(w).sum().backward();
    expect(read.data).toEqual(new Float32Array([3, 3]));
  });

  it("accumulates a second backward into the existing grad in place, as PyTorch", () => {
    const w = tensor([1, 2], { requiresGrad: true });
    triple(w).sum().backward();
    const first = w.grad!;
    triple(w).sum().backward();
    expect(w.grad).toBe(first);
    expect(first.data).toEqual(new Float32Array([6, 6]));
  });

  it("handOver: a graph-only intermediate returns when the graph is released; a view never does", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = triple(x);
    const out = triple(h);
    handOver(h, out);
    const hData = h.data;
    out.sum().backward();
    expect(x.grad?.data).toEqual(new Float32Array([9, 9]));
    expect(isPoisoned(hData)).toBe(true);
    const a = noGrad(() => triple(tensor([1, 2])));
    const b = a.reshape([2, 1]);
    handOver(a, b);
    expect(b.data).toEqual(new Float32Array([3, 6]));
  });
});
