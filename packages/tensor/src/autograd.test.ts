// Autograd: accumulation, reuse, grad mode, detach, requiresGrad rules, graph release, second backward passes
// (against PyTorch: scripts/goldens_edge.py), deep chains, defineOp.
import { describe, expect, it } from "vitest";
import { loadFixture } from "@tsgrad/testing";
import { defineOp, isGradEnabled, Node, noGrad } from "./autograd.js";
import { handOver } from "./ownership.js";
import { ones, randn, tensor, zeros } from "./creation.js";
import { gradcheck } from "./gradcheck.js";
import { memoryStats, releaseArray, takeArray } from "./pool.js";
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
  it("frees the nodes that saved values after backward (a second backward through them throws), keeps the others", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().mul(x).sum();
    const nodes = reachableNodes(y);
    expect(nodes.map((n) => n.name).sort()).toEqual(["exp", "mul", "sum"]);
    y.backward();
    for (const n of nodes) {
      const saved = n.name !== "sum"; // exp and mul save tensors in PyTorch, sum saves none
      expect(n.released).toBe(saved);
      expect(n.inputs.length).toBe(saved ? 0 : 1);
    }
    expect(() => y.backward()).toThrow(/Trying to backward through the graph a second time/);
  });
  it("retainGraph keeps the graph for a second pass, which accumulates", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    expect(reachableNodes(y).every((n) => !n.released)).toBe(true);
    y.backward();
    expect(x.grad!.toArray()).toEqual([4, 8]);
    const mul = y.gradFn!.inputs[0]!.gradFn!;
    expect(mul.released).toBe(true); // freed by the second pass, which did not retain the graph
    expect(mul.inputs).toEqual([]);
    expect(y.gradFn!.released).toBe(false); // sum saved nothing
  });
  it("a shared subgraph released by one loss cannot be walked by another", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.exp();
    h.sum().backward();
    expect(() => h.mul(2).sum().backward()).toThrow(/second time/);
  });
  it("memory stays flat over a thousand training steps: every node that saved values is released", () => {
    const g = new Generator(0);
    const w = randn([4, 3], { generator: g, requiresGrad: true });
    const b = zeros([3], { requiresGrad: true });
    const x = randn([8, 4], { generator: g });
    let last = Infinity;
    for (let step = 0; step < 1000; step++) {
      const loss = x.matmul(w).add(b).tanh().sub(0.5).pow(2).mean();
      const nodes = reachableNodes(loss);
      loss.backward();
      const saving = nodes.filter((n) => !["add", "sub", "mean"].includes(n.name));
      expect(saving.map((n) => n.name).sort()).toEqual(["matmul", "pow", "tanh"]);
      expect(saving.every((n) => n.released && n.inputs.length === 0)).toBe(true);
      expect(nodes.filter((n) => !saving.includes(n)).every((n) => !n.released)).toBe(true);
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

interface Stored {
  readonly shape: number[];
  readonly data: number[];
}

interface SecondBackwardCase {
  readonly name: string;
  readonly ok: boolean;
  readonly grad1: Stored;
  readonly grad2?: Stored;
  readonly gradAfterError?: Stored;
}

const SECOND = loadFixture<{ secondBackward: SecondBackwardCase[] }>("edge-golden.json").secondBackward;
const X0 = [[1.5, -2, 3], [0.5, 4, -1]];
const C = (): Tensor => tensor([[2, 3, 4], [5, 6, 7]]);

/** The tensor-package graphs of the fixture, as scripts/goldens_edge.py builds them: y = f(x), a scalar. */
const GRAPHS: Record<string, (x: Tensor) => Tensor> = {
  "add scalar": (x) => x.add(1).sum(),
  "add tensor": (x) => x.add(C()).sum(),
  "add itself": (x) => x.add(x).sum(),
  "add broadcast": (x) => x.add(tensor([2, 3, 4])).sum(),
  "sub tensor": (x) => x.sub(C()).sum(),
  "sub from a constant": (x) => C().sub(x).sum(),
  "neg": (x) => x.neg().sum(),
  "sum": (x) => x.sum(),
  "sum dim": (x) => x.sum(1).sum(),
  "sum dims keepdim": (x) => x.sum([0, 1], true).sum(),
  "mean()": (x) => x.mean(),
  "mean(dim)": (x) => x.mean(1).sum(),
  "reshape": (x) => x.reshape([3, 2]).sum(),
  "view": (x) => x.view([6]).sum(),
  "flatten": (x) => x.reshape([1, 2, 3]).flatten(1).sum(),
  "squeeze": (x) => x.reshape([2, 1, 3]).squeeze(1).sum(),
  "unsqueeze": (x) => x.unsqueeze(0).sum(),
  "t": (x) => x.t().sum(),
  "transpose": (x) => x.transpose(0, 1).sum(),
  "permute": (x) => x.reshape([1, 2, 3]).permute([2, 0, 1]).sum(),
  "clone": (x) => x.clone().sum(),
  "chain of shape ops and sums": (x) => x.t().reshape([6]).add(2).reshape([2, 3]).sum(0).neg().mean(),
  "mul scalar": (x) => x.mul(2).sum(),
  "mul tensor": (x) => x.mul(C()).sum(),
  "div scalar": (x) => x.div(2).sum(),
  "div tensor": (x) => x.div(C()).sum(),
  "pow": (x) => x.pow(2).sum(),
  "exp": (x) => x.exp().sum(),
  "log": (x) => x.abs().log().sum(),
  "abs": (x) => x.abs().sum(),
  "sqrt": (x) => x.mul(x).sqrt().sum(),
  "tanh": (x) => x.tanh().sum(),
  "sigmoid": (x) => x.sigmoid().sum(),
  "relu": (x) => x.relu().sum(),
  "max dim": (x) => x.max(1).sum(),
  "max()": (x) => x.max(),
  "amax": (x) => x.max([1]).sum(),
  "logsumexp": (x) => x.logsumexp(1).sum(),
  "softmax": (x) => x.softmax(1).mul(C()).sum(),
  "logSoftmax": (x) => x.logSoftmax(1).sum(),
  "matmul": (x) => x.matmul(C().t()).sum(),
  "add of exp and x": (x) => x.exp().add(x).sum(),
  "exp of a sum": (x) => x.sum().exp(),
};
/** The fixture's graphs built from @tsgrad/nn layers, tested in packages/nn/src/steady-state.test.ts. */
const NN_GRAPHS = ["linear of x", "linear, only the bias requires grad", "crossEntropy", "nllLoss", "mseLoss", "sum of an mlp"];

describe("a second backward() through the same graph, as PyTorch 1.13", () => {
  it("the fixture's cases are exactly these graphs and the nn ones", () => {
    expect(SECOND.map((c) => c.name).sort()).toEqual([...Object.keys(GRAPHS), ...NN_GRAPHS].sort());
    expect(SECOND.filter((c) => c.ok).length).toBeGreaterThan(15);
    expect(SECOND.filter((c) => !c.ok).length).toBeGreaterThan(15);
  });
  it.each(SECOND.filter((c) => c.name in GRAPHS).map((c) => [c.ok ? "runs" : "throws", c.name, c] as const))(
    "%s through %s",
    (_kind, name, c) => {
      const x = tensor(X0, { requiresGrad: true });
      const y = GRAPHS[name]!(x);
      y.backward();
      expect(x.grad!).toBeAllClose(c.grad1.data, { atol: 1e-6, rtol: 1e-6 });
      if (c.ok) {
        y.backward(); // the first pass recycled what it could: a read of it would give NaN (the pool's debug mode)
        expect(x.grad!).toBeAllClose(c.grad2!.data, { atol: 1e-6, rtol: 1e-6 });
      } else {
        const first = x.grad!.data.slice();
        const before = memoryStats();
        expect(() => y.backward()).toThrow(/^backward: Trying to backward through the graph a second time \(the values saved by "\w+" were freed\)/);
        expect(c.gradAfterError).toEqual(c.grad1); // PyTorch accumulated nothing either
        expect(x.grad!.data).toEqual(first);
        expect(memoryStats()).toEqual(before); // refused before anything was taken from the pool
      }
    },
  );
  it("passes again and again through ops that saved nothing, with broadcasting, after the pool was churned", () => {
    const x = tensor(X0, { requiresGrad: true });
    const b = tensor([[1], [2]], { requiresGrad: true });
    const y = x.add(b).t().reshape([3, 2]).sub(b.t()).permute([1, 0]).sum(0).neg().mean();
    y.backward();
    expect(x.grad!.toArray()).toEqual([[-1 / 3, -1 / 3, -1 / 3], [-1 / 3, -1 / 3, -1 / 3]].map((r) => r.map(Math.fround)));
    expect(b.grad!.toArray()).toEqual([[0], [0]]);
    // Whatever the first pass gave back to the pool is taken again and overwritten: a second pass that read any of it
    // would see 7s instead of the NaNs of the debug mode.
    const held = Array.from({ length: 64 }, (_, i) => takeArray(1 + (i % 8)).fill(7));
    for (let pass = 2; pass <= 4; pass++) {
      y.backward();
      expect(x.grad!).toBeAllClose([[-pass / 3, -pass / 3, -pass / 3], [-pass / 3, -pass / 3, -pass / 3]], { atol: 0, rtol: 1e-6 });
      expect(b.grad!.toArray()).toEqual([[0], [0]]);
    }
    for (const a of held) releaseArray(a);
  });
  it("a graph that saved values runs twice with retainGraph, then refuses a third pass", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().add(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(x.grad!).toBeAllClose([2 * (Math.E + 1), 2 * (Math.exp(2) + 1)]);
    expect(() => y.backward()).toThrow(/the values saved by "exp" were freed/);
  });
  it("a subgraph that saved nothing serves a second loss after the first backward; one that saved values does not", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.add(1).reshape([2, 1]);
    h.sum().backward();
    h.mul(3).sum().backward();
    expect(x.grad!.toArray()).toEqual([4, 4]);
    const e = x.exp();
    e.sum().backward();
    expect(() => e.add(1).sum().backward()).toThrow(/the values saved by "exp" were freed/);
  });
  it("handOver recycles nothing that a node outliving backward() can still reach", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3); // saved values: freed by backward()
    const out = h.add(1); // saved nothing: stays walkable, holding h
    handOver(h, out);
    out.sum().backward();
    expect(h.data).toEqual(new Float32Array([3, 6])); // not recycled (a recycled array is NaN in debug mode)
    expect(out.gradFn!.inputs[0]!.data).toEqual(new Float32Array([3, 6]));
  });
  it("defineOp: savesValues false lets a second pass through; saved arrays and savesValues false do not go together", () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const twice = defineOp({
      name: "twice", inputs: [x], output: x.data.map((v) => 2 * v), shape: x.shape, savesValues: false,
      backward: (g) => [g.map((v) => 2 * v)],
    });
    const y = twice.sum();
    y.backward();
    y.backward();
    expect(x.grad!.toArray()).toEqual([4, 4]);
    const kept = defineOp({ name: "kept", inputs: [x], output: x.data.slice(), shape: x.shape, backward: (g) => [g] }).sum();
    kept.backward();
    expect(() => kept.backward()).toThrow(/the values saved by "kept" were freed/);
    expect(() => defineOp({
      name: "bad", inputs: [x], output: x.data.slice(), shape: x.shape, saved: [takeArray(2)], savesValues: false,
      backward: (g) => [g],
    })).toThrow(new TypeError('defineOp: "bad" has saved arrays, so its backward saves values: savesValues cannot be false'));
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
