// The steady training step reuses its storage: allocation counts, unchanged results, nothing a caller holds reused,
// and a second backward() that never reads a recycled array (PyTorch's rules: scripts/goldens_edge.py).
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { loadFixture } from "@tsgrad/testing";
import {
  Generator, Tensor, emptyCache, getBackend, memoryStats, noGrad, setBackend, setMemoryDebug, setNumThreads, setWorkerFactory, tensor,
} from "@tsgrad/tensor";
import { copiedFloats, gradData, heapArraysMade, parallelCallCount, releaseArray, takeArray } from "@tsgrad/tensor/internal";
import { Adam } from "@tsgrad/optim";
import {
  CrossEntropyLoss, Dropout, Flatten, Linear, Module, ReLU, Sequential, crossEntropy, linear, mseLoss, nllLoss,
} from "./index.js";

const B = 64, IN = 784, H = 128, OUT = 10;

/** The reference run: 784→128→10 MLP, batch 64, cross-entropy, Adam 1e-3, on a few fixed synthetic batches. */
function referenceRun(seed = 0) {
  const g = new Generator(seed);
  const model = new Sequential(new Linear(IN, H, { generator: g }), new ReLU(), new Linear(H, OUT, { generator: g }));
  const lossFn = new CrossEntropyLoss();
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const data = new Generator(seed + 1);
  const xs = [0, 1, 2].map(() => tensor(Float32Array.from({ length: B * IN }, () => data.nextFloat()), { shape: [B, IN] }));
  const ys = [0, 1, 2].map(() => Int32Array.from({ length: B }, () => Math.floor(data.nextFloat() * OUT)));
  const step = (i: number): { loss: number; logits: Tensor } => {
    opt.zeroGrad();
    const logits = model.forward(xs[i % 3]!);
    const loss = lossFn.forward(logits, ys[i % 3]!);
    loss.backward();
    opt.step();
    return { loss: loss.item(), logits };
  };
  return { model, step, x: xs[0]! };
}

/**
 * Counts every typed array whose storage is created while `fn` runs: constructors, `from`/`of`, `slice`/`map`/`filter`,
 * and arrays given a block of the tensor heap.
 */
function countTypedArrays(fn: () => void): number {
  let count = -heapArraysMade();
  const kinds = [Float32Array, Float64Array, Int32Array, Uint8Array] as const;
  const saved = kinds.map((k) => ({ k, own: Object.getOwnPropertyDescriptors(k.prototype) }));
  const g = globalThis as unknown as Record<string, unknown>;
  for (const k of kinds) {
    g[k.name] = new Proxy(k, {
      construct(target, args, newTarget) {
        count++;
        return Reflect.construct(target, args, newTarget === g[k.name] ? target : newTarget) as object;
      },
    });
    for (const method of ["slice", "map", "filter"] as const) {
      const original = (Object.getPrototypeOf(k.prototype) as Record<string, (...a: unknown[]) => unknown>)[method]!;
      Object.defineProperty(k.prototype, method, {
        configurable: true,
        writable: true,
        value: function (this: unknown, ...a: unknown[]) {
          count++;
          return original.apply(this, a);
        },
      });
    }
  }
  try {
    fn();
    count += heapArraysMade();
  } finally {
    for (const { k, own } of saved) {
      g[k.name] = k;
      for (const method of ["slice", "map", "filter"]) if (!(method in own)) Reflect.deleteProperty(k.prototype, method);
    }
  }
  return count;
}

describe("the steady training step reads its operands where they lie (the tensor heap)", () => {
  const previous = getBackend();
  afterEach(() => {
    setBackend(previous);
    setNumThreads(1);
    setWorkerFactory(null);
  });

  it.each(["js", "wasm"] as const)("%s backend, 1 and 2 threads: the gemms and Adam copy no float, and give the same losses", async (backend) => {
    setBackend(backend);
    const losses: number[][] = [];
    for (const threads of [1, 2]) {
      setWorkerFactory((src) => new Worker(src, { eval: true }));
      setNumThreads(threads);
      const run = referenceRun(4);
      const seen: number[] = [];
      // Until the workers have started, products run on this thread: wait for them before counting.
      for (let i = 0; threads > 1 && i < 2000; i++) {
        const before = parallelCallCount();
        new Sequential(new Linear(IN, H)).forward(tensor(new Float32Array(B * IN), { shape: [B, IN] }));
        if (parallelCallCount() > before) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const copied = copiedFloats(), calls = parallelCallCount();
      for (let i = 0; i < 6; i++) seen.push(run.step(i).loss);
      expect(copiedFloats() - copied).toBe(0);
      if (threads > 1) expect(parallelCallCount() - calls).toBeGreaterThanOrEqual(6 * 2); // forward and dW1 of each step
      losses.push(seen);
    }
    expect(losses[1]).toEqual(losses[0]);
  });

  it("copies an operand that lies outside the heap, with the same result", () => {
    setBackend("wasm");
    const x = tensor(Float32Array.from({ length: B * IN }, (_, i) => Math.sin(i)), { shape: [B, IN] });
    const fc = new Linear(IN, H, { generator: new Generator(2) });
    const inHeap = fc.forward(x).data;
    const copied = copiedFloats();
    const outside = fc.forward(new Tensor(Float32Array.from(x.data), x.shape)).data;
    expect(copiedFloats() - copied).toBe(B * IN);
    expect(outside).toEqual(inHeap);
  });
});

describe.each(["js", "wasm"] as const)("the steady training step on the %s backend", (backend) => {
  const previous = getBackend();
  afterEach(() => setBackend(previous));

  it("creates no typed array but the two it hands out (the model's output and the loss)", () => {
    setBackend(backend);
    const run = referenceRun();
    for (let i = 0; i < 3; i++) run.step(i); // warm-up: the pool fills
    const steps = 10;
    const before = memoryStats();
    const created = countTypedArrays(() => {
      for (let i = 0; i < steps; i++) run.step(i);
    });
    const after = memoryStats();
    expect(created).toBe(2 * steps);
    expect(after.allocatedArrays - before.allocatedArrays).toBe(2 * steps);
    expect(after.allocatedBytes - before.allocatedBytes).toBe(steps * 4 * (B * OUT + 1));
    expect(after.reusedArrays - before.reusedArrays).toBeGreaterThanOrEqual(steps * 10);
  });

  it("gives the same losses, bit for bit, when every array is fresh (the pool emptied before each step)", () => {
    setBackend(backend);
    const pooled = referenceRun();
    const fresh = referenceRun();
    for (let i = 0; i < 8; i++) {
      const a = pooled.step(i);
      emptyCache();
      const b = fresh.step(i);
      emptyCache();
      expect(a.loss).toBe(b.loss);
      expect(a.logits.data).toEqual(b.logits.data);
    }
  });

  it("gives the same losses with the debug mode off (what users run) as with it on", () => {
    setBackend(backend);
    const debugOn = referenceRun(9);
    const on = Array.from({ length: 8 }, (_, i) => debugOn.step(i).loss);
    setMemoryDebug(false);
    try {
      const debugOff = referenceRun(9);
      const off = Array.from({ length: 8 }, (_, i) => debugOff.step(i).loss);
      expect(off).toEqual(on);
      expect(on.every(Number.isFinite)).toBe(true);
    } finally {
      setMemoryDebug(true);
    }
  });

  it("never reuses what the caller holds: outputs, grads read through .grad, and graph inputs reached through gradFn", () => {
    setBackend(backend);
    const run = referenceRun(3);
    const { logits } = run.step(0);
    const logitsCopy = logits.data.slice();
    // An intermediate reached through the graph is the reader's.
    const out = run.model.forward(run.x);
    const hidden = out.gradFn!.inputs[0]!; // the ReLU's output
    const hiddenCopy = hidden.data.slice();
    new CrossEntropyLoss().forward(out, new Int32Array(B)).backward();
    // So is a grad read through .grad: the next zeroGrad drops it without recycling it.
    run.step(1);
    const fc1 = run.model.at(0) as Linear;
    const grad = fc1.weight.grad!;
    const gradCopy = grad.data.slice();
    for (let i = 2; i < 6; i++) run.step(i);
    expect(logits.data).toEqual(logitsCopy);
    expect(grad.data).toEqual(gradCopy);
    expect(hidden.data).toEqual(hiddenCopy);
    expect(hidden.data.every((v) => v >= 0)).toBe(true);
  });
});

describe("Sequential between built-in layers", () => {
  it("leaves alone the input and output of a layer of the user's own (which may keep them)", () => {
    class Keep extends Module<[Tensor], Tensor> {
      seen: Tensor[] = [];
      copies: Float32Array[] = [];
      forward(x: Tensor): Tensor {
        const y = x.mul(2);
        this.seen.push(x, y);
        this.copies.push(x.data.slice(), y.data.slice());
        return y;
      }
    }
    const g = new Generator(5);
    const keep = new Keep();
    const model = new Sequential(new Linear(6, 4, { generator: g }), keep, new ReLU(), new Linear(4, 3, { generator: g }));
    const x = tensor(Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), { shape: [2, 6] });
    for (let i = 0; i < 4; i++) {
      model.zeroGrad();
      model.forward(x).sum().backward();
    }
    expect(keep.copies.every((c) => c.every(Number.isFinite))).toBe(true);
    keep.seen.forEach((t, i) => expect(t.data).toEqual(keep.copies[i]));
  });

  it("recycles the storage a Flatten shares once the layer after it has used it (a training step takes only its output and loss)", () => {
    const g = new Generator(8);
    const model = new Sequential(
      new Linear(6, 12, { generator: g }), new ReLU(), new Dropout(0.25, { generator: g }), new Flatten(),
      new Linear(12, 3, { generator: g }),
    );
    const opt = new Adam(model.parameters(), { lr: 1e-2 });
    const x = tensor(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), { shape: [4, 6] });
    const labels = Int32Array.from([0, 2, 1, 2]);
    const step = (): number => {
      opt.zeroGrad();
      const loss = crossEntropy(model.forward(x), labels);
      loss.backward();
      opt.step();
      return loss.item();
    };
    for (let i = 0; i < 3; i++) step(); // warm: the pool holds every intermediate's size
    const before = memoryStats().allocatedArrays;
    for (let i = 0; i < 4; i++) expect(Number.isFinite(step())).toBe(true);
    expect(memoryStats().allocatedArrays - before).toBe(2 * 4); // the logits and the loss
    // Under noGrad the shared storage goes back at once, and nothing the caller sees was reused.
    const first = noGrad(() => model.forward(x));
    const copy = first.data.slice();
    noGrad(() => model.forward(x));
    expect(first.data).toEqual(copy);
  });

  it("recycles intermediates at once under noGrad, and the next batch's results are unchanged", () => {
    const g = new Generator(6);
    const model = new Sequential(new Linear(5, 7, { generator: g }), new ReLU(), new Dropout(0.5), new Linear(7, 2, { generator: g }));
    model.eval();
    const x = tensor(Float32Array.from({ length: 15 }, (_, i) => Math.cos(i)), { shape: [3, 5] });
    const first = noGrad(() => model.forward(x));
    const firstCopy = first.data.slice();
    noGrad(() => model.forward(x)); // warm: reuses the hidden arrays
    const before = memoryStats().allocatedArrays;
    const again = noGrad(() => model.forward(x));
    expect(memoryStats().allocatedArrays - before).toBe(1); // the output only
    expect(again.data).toEqual(firstCopy);
    expect(first.data).toEqual(firstCopy);
  });

  it("keeps out of the pool what an eval Dropout passes through (its input itself)", () => {
    const g = new Generator(7);
    const model = new Sequential(new Linear(4, 4, { generator: g }), new Dropout(0.3), new ReLU());
    model.eval(); // Dropout returns its input itself
    const x = tensor([[1, -2, 3, -4]]);
    const y = noGrad(() => model.forward(x));
    const copy = y.data.slice();
    for (let i = 0; i < 3; i++) noGrad(() => model.forward(tensor([[i, i, i, i]])));
    expect(y.data).toEqual(copy);
  });
});

describe("the pool's debug mode (on in every test)", () => {
  it("fills taken arrays with NaN, so an op that skips an element shows it", () => {
    const a = takeArray(5);
    expect(Array.from(a).every(Number.isNaN)).toBe(true);
  });

  it("fills released arrays with NaN and refuses a second release", () => {
    const a = takeArray(3).fill(1);
    releaseArray(a);
    expect(Array.from(a).every(Number.isNaN)).toBe(true);
    expect(() => releaseArray(a)).toThrow("released to the pool twice");
    expect(takeArray(3)).toBe(a);
  });
});

interface SecondBackwardCase {
  readonly name: string;
  readonly ok: boolean;
  readonly grad1: { readonly data: number[] };
  readonly grad2?: { readonly data: number[] };
  readonly gradAfterError?: { readonly data: number[] };
}

const C = (): Tensor => tensor([[2, 3, 4], [5, 6, 7]]);
/** The fixture's graphs made of nn layers (the tensor ones are in packages/tensor/src/autograd.test.ts). */
const NN_GRAPHS: Record<string, (x: Tensor) => Tensor> = {
  "linear of x": (x) => linear(x, C()).sum(),
  "linear, only the bias requires grad": (x) => linear(C(), C(), x.sum(1)).sum(),
  "crossEntropy": (x) => crossEntropy(x, [2, 0]),
  "nllLoss": (x) => nllLoss(x, [2, 0]),
  "mseLoss": (x) => mseLoss(x, C()),
  "sum of an mlp": (x) => linear(linear(x, C()).relu(), C().t()).sum(),
};

describe("a second backward() through nn layers, as PyTorch 1.13", () => {
  const cases = loadFixture<{ secondBackward: SecondBackwardCase[] }>("edge-golden.json").secondBackward
    .filter((c) => c.name in NN_GRAPHS);
  it("covers every nn graph of the fixture", () => {
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(NN_GRAPHS).sort());
  });
  it.each(cases.map((c) => [c.ok ? "runs" : "throws", c.name, c] as const))("%s through %s", (_kind, name, c) => {
    const x = tensor([[1.5, -2, 3], [0.5, 4, -1]], { requiresGrad: true });
    const y = NN_GRAPHS[name]!(x);
    y.backward();
    expect(x.grad!).toBeAllClose(c.grad1.data, { atol: 1e-6, rtol: 1e-6 });
    const first = x.grad!.data.slice();
    if (c.ok) {
      y.backward();
      expect(x.grad!).toBeAllClose(c.grad2!.data, { atol: 1e-6, rtol: 1e-6 });
    } else {
      expect(() => y.backward()).toThrow(/Trying to backward through the graph a second time/);
      expect(x.grad!.data).toEqual(first);
      expect(c.gradAfterError).toEqual(c.grad1);
    }
  });

  it("the training step's graph refuses a second pass before it reads, changes or takes anything", () => {
    // Two identical runs; one tries a second backward after every step. Its losses and weights stay bit-identical,
    // so the refused pass read nothing recycled, accumulated nothing and left the pool as it was.
    const plain = referenceRun();
    const tried = referenceRun();
    const lossFn = new CrossEntropyLoss();
    const x = tried.x;
    for (let i = 0; i < 4; i++) {
      expect(tried.step(i).loss).toBe(plain.step(i).loss);
      const loss = lossFn.forward(tried.model.forward(x), new Int32Array(B).fill(3));
      loss.backward();
      const grads = tried.model.parameters().map((p) => gradData(p)!.slice());
      const before = memoryStats();
      expect(() => loss.backward()).toThrow(/the values saved by "crossEntropy" were freed/);
      expect(memoryStats()).toEqual(before);
      tried.model.parameters().forEach((p, k) => expect(gradData(p)!).toEqual(grads[k]));
      tried.model.zeroGrad();
    }
    expect(tried.model.stateDict()["2.weight"]!.data).toEqual(plain.model.stateDict()["2.weight"]!.data);
  });

  it("a layer whose only trainable parameter is its bias saves nothing: a second pass accumulates", () => {
    const fc = new Linear(3, 2, { generator: new Generator(0) });
    fc.weight.requiresGrad = false;
    const model = new Sequential(fc);
    const y = model.forward(C()).mean();
    y.backward();
    const reused = takeArray(2).fill(7); // whatever the first pass recycled is overwritten: a read of it would show
    y.backward();
    releaseArray(reused);
    expect(fc.bias!.grad!.toArray()).toEqual([1, 1]);
  });
});
