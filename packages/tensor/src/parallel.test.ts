// Worker-thread products: bit-identical to one thread for every layout, odd sizes and both backends; no worker with 1 thread.
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { sameBits } from "@tsgrad/testing";
import { adamUpdate, gemm, getBackend, setBackend, type Backend } from "./compute.js";
import type { AdamScalars } from "./kernels/adam.js";
import { getNumThreads, parallelCallCount, setNumThreads, setWorkerFactory } from "./parallel.js";
import { Generator } from "./random.js";
import { conv2d, maxPool2d, relu, tensor } from "./index.js";
import { simdMap } from "./kernels/simd-map.js";
import { adadeltaStep } from "./kernels/adadelta.js";

function random(n: number, g: Generator): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.nextFloat() * 2 - 1;
  return a;
}

/** Runs `run` until one call goes through the workers (until they start, gemm computes alone). */
async function runParallel(run: () => void): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const before = parallelCallCount();
    run();
    if (parallelCallCount() > before) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the worker pool never ran a product");
}

/** Runs `run` on 1 thread, then on 2 until the workers took part: the same bits, array by array. */
async function expectOneThreadBits(run: () => Float32Array[]): Promise<void> {
  setNumThreads(1);
  const single = run();
  setNumThreads(2);
  let multi: Float32Array[] = [];
  await runParallel(() => {
    multi = run();
  });
  multi.forEach((a, i) => expect(sameBits(a, single[i]!), `array ${i}`).toBe(true));
}

/** Plain Adam's scalars (lr 1e-3, betas 0.9/0.999, eps 1e-8, coupled weight decay `wd`) at step `t`. */
function plainAdamScalars(wd: number, t: number): AdamScalars {
  const f = Math.fround;
  return [f(wd), f(0.9), f(1 - 0.9), f(0.999), f(1 - 0.999), f(1e-8), f(1e-3 / (1 - 0.9 ** t)), f(Math.sqrt(1 - 0.999 ** t)), 1, 0];
}

describe("parallel gemm", () => {
  afterAll(() => {
    setNumThreads(1);
    setWorkerFactory(null);
  });

  it("starts no worker with one thread, and reports 1 thread without a factory", () => {
    let started = 0;
    setWorkerFactory(null);
    setNumThreads(4);
    expect(getNumThreads()).toBe(1);
    setWorkerFactory((src) => {
      started++;
      return new Worker(src, { eval: true });
    });
    setNumThreads(1);
    const g = new Generator(1);
    const a = random(128 * 784, g), b = random(784 * 64, g), c = new Float32Array(128 * 64);
    gemm(128, 64, 784, a, 0, false, b, 0, false, c, 0);
    expect(started).toBe(0);
    expect(getNumThreads()).toBe(1);
  });

  it("rejects a bad thread count", () => {
    expect(() => setNumThreads(0)).toThrow(/setNumThreads: expected an integer in \[1, 256\], got 0/);
    expect(() => setNumThreads(1.5)).toThrow(RangeError);
  });

  const shapes: [number, number, number, boolean, boolean][] = [
    [64, 128, 784, false, true],
    [128, 784, 64, true, false],
    [64, 784, 128, false, false],
    [67, 131, 129, true, true],
    [101, 97, 83, false, true],
  ];
  const cases = (["js", "wasm"] as Backend[]).flatMap((backend) => shapes.map((s) => [backend, ...s] as const));
  it.each(cases)("%s m=%i n=%i k=%i transA=%s transB=%s: 2 and 3 threads give bit-identical results", async (backend, m, n, k, transA, transB) => {
    const previous = getBackend();
    setBackend(backend);
    try {
      setWorkerFactory((src) => new Worker(src, { eval: true }));
      const g = new Generator(m * 7 + n);
      const a = random(m * k, g), b = random(k * n, g), base = random(m * n, g);
      for (const accumulate of [false, true]) {
        setNumThreads(1);
        const single = base.slice();
        gemm(m, n, k, a, 0, transA, b, 0, transB, single, 0, accumulate);
        for (const threads of [2, 3]) {
          setNumThreads(threads);
          const c = base.slice();
          await runParallel(() => {
            c.set(base);
            gemm(m, n, k, a, 0, transA, b, 0, transB, c, 0, accumulate);
          });
          expect(sameBits(c, single)).toBe(true);
        }
      }
    } finally {
      setBackend(previous);
    }
  });

  it("splits Adam over 2 and 3 threads on the JS backend with bit-identical results", async () => {
    const previous = getBackend();
    setBackend("js");
    try {
      setWorkerFactory((src) => new Worker(src, { eval: true }));
      const g = new Generator(5);
      const n = 70_001; // above the threshold, not a multiple of 4
      const rnd = (scale: number) => Float32Array.from({ length: n }, () => (g.nextFloat() * 2 - 1) * scale);
      const p0 = rnd(1), grad = rnd(0.1), m0 = rnd(0.01), v0 = rnd(0.001).map(Math.abs);
      const s = plainAdamScalars(0.01, 3);
      setNumThreads(1);
      const [p1, m1, v1] = [p0.slice(), m0.slice(), v0.slice()];
      adamUpdate(p1, grad, m1, v1, null, s);
      for (const threads of [2, 3]) {
        setNumThreads(threads);
        const [p, m, v] = [p0.slice(), m0.slice(), v0.slice()];
        await runParallel(() => {
          p.set(p0);
          m.set(m0);
          v.set(v0);
          adamUpdate(p, grad, m, v, null, s);
        });
        for (const [x, y] of [[p, p1], [m, m1], [v, v1]] as const) {
          expect(sameBits(x, y)).toBe(true);
        }
      }
    } finally {
      setBackend(previous);
    }
  });
});

describe("Adadelta over worker threads", () => {
  afterAll(() => {
    setNumThreads(1);
    setWorkerFactory(null);
  });

  it.each([[0, false], [0.01, true]])("weight decay %d, maximize %s: the bits of one thread", async (weightDecay, maximize) => {
    const previous = getBackend();
    setBackend("wasm");
    try {
      setWorkerFactory((src) => new Worker(src, { eval: true }));
      const g = new Generator(31);
      const n = 100_003, p0 = random(n, g), g0 = random(n, g), v0 = random(n, g).map(Math.abs), u0 = random(n, g).map(Math.abs);
      const s = { lr: 1, rho: 0.9, eps: 1e-6, weightDecay, maximize };
      await expectOneThreadBits(() => {
        const [p, v, u] = [p0, v0, u0].map((a) => tensor(a).data) as [Float32Array, Float32Array, Float32Array];
        adadeltaStep(p, tensor(g0).data, v, u, s);
        adadeltaStep(p, tensor(g0).data, v, u, s);
        return [p, v, u];
      });
    } finally {
      setBackend(previous);
    }
  });
});

describe("range tasks of the conv kernels over worker threads", () => {
  afterAll(() => {
    setNumThreads(1);
    setWorkerFactory(null);
  });

  it("ReLU and its gradient, 2×2 max pooling both ways, the direct convolution, bias sums and the product map: the bits of one thread", async () => {
    const previous = getBackend();
    setBackend("wasm");
    try {
      setWorkerFactory((src) => new Worker(src, { eval: true }));
      const g = new Generator(21);
      // Above PARALLEL_MIN_RANGE elements each; odd planes (41 columns: a pooled tail column), NaN and −0 inside.
      const x0 = random(16 * 4 * 40 * 41, g).map((v, i) => (i % 997 === 0 ? NaN : i % 389 === 0 ? -0 : v));
      const img0 = random(64 * 28 * 28, g), w0 = random(32 * 9, g), b0 = random(32, g), m0 = random(100_003, g);
      const run = (): Float32Array[] => {
        const x = tensor(x0, { shape: [16, 4, 40, 41], requiresGrad: true });
        const r = relu(x);
        const p = maxPool2d(r, { kernelSize: 2 });
        p.backward(tensor(random(p.numel, new Generator(3)), { shape: p.shape }));
        // conv1 of the CNN: the direct convolution, in place, split by images; its bias gradient by plane sums.
        const w = tensor(w0, { shape: [32, 1, 3, 3], requiresGrad: true }), b = tensor(b0, { shape: [32], requiresGrad: true });
        const c = conv2d(tensor(img0, { shape: [64, 1, 28, 28] }), w, b);
        c.backward(tensor(random(c.numel, new Generator(4)), { shape: c.shape }));
        const prod = tensor(new Float32Array(m0.length)).data;
        expect(simdMap("mul", [tensor(m0).data, tensor(m0.map((v) => v * 3)).data], prod)).toBe(true);
        return [r.data, p.data, x.grad!.data, c.data, w.grad!.data, b.grad!.data, prod];
      };
      await expectOneThreadBits(run);
      // On 2 threads: relu, max_pool_2x2, max_pool_2x2_grad, relu_grad, conv_direct, plane_sums, mul (and the weight
      // gradient's products) ran on the team.
      const tasks = parallelCallCount();
      run();
      expect(parallelCallCount() - tasks).toBeGreaterThanOrEqual(7);
    } finally {
      setBackend(previous);
    }
  });
});
