// Autograd: accumulation, reuse, grad mode, detach, requiresGrad rules, graph release, deep chains, defineOp.
import { describe, expect, it } from "vitest";
import { defineOp, isGradEnabled, Node, noGrad } from "./autograd.js";
import { ones, randn, tensor, zeros } from "./creation.js";
import { gradcheck } from "./gradcheck.js";
import { Generator } from "./random.js";
import { Tensor } from "./tensor.js";

/** Every node reachable from `root` through `Node.inputs` (iterative). */
function reachableNodes(root: Tensor): Node[] {
  const seen = new Set<Node>();
  const stack: Tensor[] = [root];
  while (stack.length > 0) {
    const t = stack.pop()!;
    const node = t.gradFn;
    if (node === null || seen.has(node)) continue;
    seen.add(node);
    stack.push(...node.inputs);
  }
  return [...seen];
}

describe("gradient accumulation", () => {
  it("accumulates (+=) across two backward calls", () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    x.mul(2).sum().backward();
    expect(x.grad!.toArray()).toEqual([2, 2, 2]);
    const first = x.grad!;
    x.mul(x).sum().backward();
    expect(x.grad!.toArray()).toEqual([4, 6, 8]);
    expect(x.grad).toBe(first); // accumulated in place, as PyTorch
  });
  it("a tensor used twice gets both contributions", () => {
    const x = tensor([3], { requiresGrad: true });
    x.mul(x).add(x).sum().backward(); // d(x² + x) = 2x + 1
    expect(x.grad!.toArray()).toEqual([7]);
    const y = tensor([2], { requiresGrad: true });
    const h = y.mul(3); // non-leaf used on two paths (a diamond)
    h.exp().add(h.mul(h)).sum().backward(); // d/dy = 3e^{3y} + 18y
    expect(y.grad!).toBeAllClose([3 * Math.exp(6) + 36]);
  });
  it("grad can be reset by assigning null, and assigned a tensor of the right shape", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.sum().backward();
    x.grad = null;
    expect(x.grad).toBeNull();
    x.grad = zeros([2]);
    x.sum().backward();
    expect(x.grad.toArray()).toEqual([1, 1]);
  });
  it("leaves never share a gradient array with each other or with the seed", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4], { requiresGrad: true });
    const seed = tensor([10, 20]);
    a.add(b).reshape([2]).backward(seed);
    expect(a.grad!.data).not.toBe(b.grad!.data);
    expect(a.grad!.data).not.toBe(seed.data);
    a.grad!.data[0] = 99;
    expect(b.grad!.toArray()).toEqual([10, 20]);
    expect(seed.toArray()).toEqual([10, 20]);
  });
  it("non-leaf tensors keep no grad", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(2);
    h.sum().backward();
    expect(h.grad).toBeNull();
    expect(x.grad!.toArray()).toEqual([2, 2]);
  });
  it("backward with an explicit gradient on a non-scalar", () => {
    const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    x.mul(x).backward(tensor([[1, 0], [0.5, 2]]));
    expect(x.grad!.toArray()).toEqual([[2, 0], [3, 16]]);
  });
  it("backward on a one-element non-scalar seeds 1; on a leaf it accumulates into itself", () => {
    const x = tensor([[2]], { requiresGrad: true });
    x.mul(3).backward();
    expect(x.grad!.toArray()).toEqual([[3]]);
    const s = tensor(5, { requiresGrad: true });
    s.backward();
    expect(s.grad!.item()).toBe(1);
  });
});

describe("grad mode and requiresGrad", () => {
  it("noGrad records nothing, returns fn's result and restores the mode, even after a throw", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(isGradEnabled()).toBe(true);
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      noGrad(() => undefined);
      expect(isGradEnabled()).toBe(false);
      return x.mul(2).exp().sum();
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(y.item()).toBeCloseTo(Math.exp(2) + Math.exp(4), 3);
    expect(() => noGrad(() => { throw new Error("boom"); })).toThrow("boom");
    expect(isGradEnabled()).toBe(true);
  });
  it("outputs require grad exactly when some input does", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4]);
    expect(a.add(b).requiresGrad).toBe(true);
    expect(b.add(a).requiresGrad).toBe(true);
    expect(b.mul(b).requiresGrad).toBe(false);
    expect(b.mul(b).gradFn).toBeNull();
    expect(a.add(b).gradFn?.name).toBe("add");
    expect(a.add(b).isLeaf).toBe(false);
    expect(a.isLeaf).toBe(true);
    expect(b.requiresGrad).toBe(false);
  });
  it("requiresGrad can be set on leaves; clearing it on a non-leaf throws", () => {
    const a = tensor([1, 2]);
    a.requiresGrad = true;
    a.sum().backward();
    expect(a.grad!.toArray()).toEqual([1, 1]);
    const h = a.mul(2);
    expect(() => {
      h.requiresGrad = false;
    }).toThrow(/only change requiresGrad flags of leaf variables/);
  });
  it("detach shares the data, cuts the graph and requires no grad", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(2);
    const d = h.detach();
    expect(d.data).toBe(h.data);
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect(d.isLeaf).toBe(true);
    x.mul(d).sum().backward();
    expect(x.grad!.toArray()).toEqual([2, 4]); // d is a constant
  });
});

describe("graph release", () => {
  it("releases the graph after backward: a second backward through it throws", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().mul(x).sum();
    const nodes = reachableNodes(y);
    expect(nodes.length).toBe(3);
    y.backward();
    for (const n of nodes) {
      expect(n.released).toBe(true);
      expect(n.inputs).toEqual([]);
    }
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
  });
  it("retainGraph keeps the graph for a second pass, which accumulates", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    expect(reachableNodes(y).every((n) => !n.released)).toBe(true);
    y.backward();
    expect(x.grad!.toArray()).toEqual([4, 8]);
    expect(reachableNodes(y).length).toBe(1); // released: only the root's node, with no inputs any more
    expect(y.gradFn!.released).toBe(true);
  });
  it("a shared subgraph released by one loss cannot be walked by another", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.exp();
    h.sum().backward();
    expect(() => h.mul(2).sum().backward()).toThrow(/second time/);
  });
  it("memory stays flat over a thousand training steps: every node of every step is released", () => {
    const g = new Generator(0);
    const w = randn([4, 3], { generator: g, requiresGrad: true });
    const b = zeros([3], { requiresGrad: true });
    const x = randn([8, 4], { generator: g });
    let last = Infinity;
    for (let step = 0; step < 1000; step++) {
      const loss = x.matmul(w).add(b).tanh().sub(0.5).pow(2).mean();
      const nodes = reachableNodes(loss);
      loss.backward();
      expect(nodes.every((n) => n.released && n.inputs.length === 0)).toBe(true);
      noGrad(() => {
        w.data.set(w.sub(w.grad!.mul(0.1)).data);
        b.data.set(b.sub(b.grad!.mul(0.1)).data);
      });
      w.grad = null;
      b.grad = null;
      expect(w.gradFn).toBeNull();
      last = loss.item();
    }
    expect(last).toBeLessThan(0.05);
  });
  it("a chain of 100,000 ops back-propagates without a stack overflow", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 100_000; i++) y = i % 2 === 0 ? y.add(0.5) : y.mul(1);
    const root = y.sum();
    root.backward();
    expect(x.grad!.toArray()).toEqual([1, 1]);
    expect(y.gradFn!.released).toBe(true);
  });
  it("a wide fan-in of 20,000 uses of one tensor accumulates every contribution", () => {
    const x = tensor([1], { requiresGrad: true });
    let acc: Tensor = zeros([1]);
    for (let i = 0; i < 20_000; i++) acc = acc.add(x.mul(0.5));
    acc.sum().backward();
    expect(x.grad!.item()).toBe(10_000);
  });
});

describe("defineOp", () => {
  it("records one node with a custom backward", () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const sq = x.data.map((v) => v * v);
    const y = defineOp({
      name: "square", inputs: [x], output: sq, shape: x.shape,
      backward: (g) => [g.map((gi, i) => 2 * x.data[i]! * gi)],
    });
    expect(y.gradFn?.name).toBe("square");
    expect(y.gradFn?.inputs).toEqual([x]);
    y.sum().backward();
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
  });
  it("sums a broadcast gradient back to each input's shape", () => {
    const a = tensor([[1], [2]], { requiresGrad: true });
    const b = tensor([10, 20, 30], { requiresGrad: true });
    const out = a.add(b).data; // [2, 3]
    const y = defineOp({ name: "plus", inputs: [a, b], output: out, shape: [2, 3], backward: (g) => [g, g] });
    y.sum().backward();
    expect(a.grad!.toArray()).toEqual([[3], [3]]);
    expect(b.grad!.toArray()).toEqual([2, 2, 2]);
  });
  it("gradcheck passes through a custom op", () => {
    const cube = (x: Tensor): Tensor =>
      defineOp({ name: "cube", inputs: [x], output: x.data.map((v) => v ** 3), shape: x.shape,
        backward: (g) => [g.map((gi, i) => 3 * x.data[i]! ** 2 * gi)] });
    expect(gradcheck(cube, [randn([2, 3], { generator: new Generator(1), requiresGrad: true })])).toBe(true);
  });
  it("rejects an output of the wrong size, and a backward of the wrong size is an internal error", () => {
    const x = ones([2], { requiresGrad: true });
    expect(() => defineOp({ name: "bad", inputs: [x], output: new Float32Array(3), shape: [2], backward: (g) => [g] }))
      .toThrow(new RangeError('defineOp: "bad" output holds 3 values, shape [2] needs 2'));
    const y = defineOp({ name: "bad", inputs: [x], output: new Float32Array(2), shape: [2], backward: () => [new Float32Array(5)] });
    expect(() => y.sum().backward()).toThrow('internal: backward of "bad" returned 5 values for input 0 of size 2');
  });
});
