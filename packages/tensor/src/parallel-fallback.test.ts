// Threads where memory cannot be shared (a page that is not cross-origin isolated): one warning, 1 thread, no crash;
// and a calling thread that may not block (a browser's main thread) still gets bit-identical parallel products.
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sameBits } from "@tsgrad/testing";

/** Fresh copies of the modules, so that each test starts before the once-per-program warning. */
async function fresh() {
  vi.resetModules();
  const parallel = await import("./parallel.js");
  const compute = await import("./compute.js");
  const { Generator } = await import("./random.js");
  return { ...parallel, ...compute, Generator };
}

const WARNING =
  /^setNumThreads: 2 threads need SharedArrayBuffer, which is not available here \(a web page has it only when it is cross-origin isolated\); running on 1 thread\. To use threads, serve the page with the headers "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp"\.$/;

function random(n: number, next: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

const same = (a: Float32Array, b: Float32Array) => sameBits(a, b);

describe("threads without shared memory", () => {
  afterEach(async () => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    const { setNumThreads, setWorkerFactory } = await import("./parallel.js");
    setNumThreads(1);
    setWorkerFactory(null);
  });

  it("without SharedArrayBuffer: setNumThreads(2) warns once, getNumThreads() is 1, and products run on 1 thread", async () => {
    const t = await fresh();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    let started = 0;
    t.setWorkerFactory((src) => {
      started++;
      return new Worker(src, { eval: true });
    });
    const g = new t.Generator(3);
    const a = random(64 * 784, () => g.nextFloat()), b = random(784 * 128, () => g.nextFloat());
    const one = new Float32Array(64 * 128);
    t.gemm(64, 128, 784, a, 0, false, b, 0, true, one, 0); // 1 thread, before the stub
    const p0 = random(70_001, () => g.nextFloat()), grad = random(70_001, () => g.nextFloat());
    const f = Math.fround;
    const s = [0, f(0.9), f(0.1), f(0.999), f(1 - 0.999), f(1e-8), f(1e-3 / 0.1), f(Math.sqrt(1 - 0.999)), 1, 0] as const;
    const [p1, m1, v1] = [p0.slice(), new Float32Array(p0.length), new Float32Array(p0.length)];
    t.adamUpdate(p1, grad, m1, v1, null, s);

    vi.stubGlobal("SharedArrayBuffer", undefined);
    t.setNumThreads(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(WARNING);
    expect(t.getNumThreads()).toBe(1);
    const calls = t.parallelCallCount();
    for (let i = 0; i < 3; i++) {
      const c = new Float32Array(64 * 128);
      t.gemm(64, 128, 784, a, 0, false, b, 0, true, c, 0);
      expect(same(c, one)).toBe(true);
      const [p, m, v] = [p0.slice(), new Float32Array(p0.length), new Float32Array(p0.length)];
      t.adamUpdate(p, grad, m, v, null, s);
      expect(same(p, p1) && same(m, m1) && same(v, v1)).toBe(true);
    }
    t.setNumThreads(4);
    t.setWorkerFactory((src) => new Worker(src, { eval: true }));
    expect(t.getNumThreads()).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1); // once per program, whatever is asked again
    expect(started).toBe(0);
    expect(t.parallelCallCount()).toBe(calls);
  });

  it("in a page that is not cross-origin isolated (crossOriginIsolated === false), even with SharedArrayBuffer", async () => {
    const t = await fresh();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    vi.stubGlobal("crossOriginIsolated", false);
    t.setWorkerFactory(() => ({ postMessage: () => undefined, terminate: () => undefined }));
    t.setNumThreads(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(WARNING);
    expect(t.getNumThreads()).toBe(1);
  });

  it("warns from setWorkerFactory when the default thread count (the reported cores) cannot be had", async () => {
    const t = await fresh();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    vi.stubGlobal("navigator", { hardwareConcurrency: 4 });
    vi.stubGlobal("SharedArrayBuffer", undefined);
    t.setWorkerFactory(() => ({ postMessage: () => undefined, terminate: () => undefined }));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(/^setWorkerFactory: 4 threads need SharedArrayBuffer, .*running on 1 thread\./);
    expect(t.getNumThreads()).toBe(1);
    t.setNumThreads(2);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it("neither warns nor falls back where memory can be shared (cross-origin isolated, or Node)", async () => {
    for (const isolated of [true, undefined]) {
      const t = await fresh();
      const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
      vi.stubGlobal("crossOriginIsolated", isolated);
      t.setWorkerFactory(() => ({ postMessage: () => undefined, terminate: () => undefined }));
      t.setNumThreads(2);
      expect(t.getNumThreads()).toBe(2);
      expect(warn).not.toHaveBeenCalled();
      t.setWorkerFactory(null);
      vi.unstubAllGlobals();
    }
  });
});

describe("a calling thread that may not block", () => {
  afterEach(async () => {
    vi.restoreAllMocks();
    const { setNumThreads, setWorkerFactory } = await import("./parallel.js");
    setNumThreads(1);
    setWorkerFactory(null);
  });

  it("waits for the workers by spinning, with bit-identical results (Atomics.wait throws there, as on a browser's main thread)", async () => {
    const t = await fresh();
    const g = new t.Generator(4);
    const a = random(64 * 784, () => g.nextFloat()), b = random(784 * 128, () => g.nextFloat());
    const one = new Float32Array(64 * 128);
    t.gemm(64, 128, 784, a, 0, false, b, 0, true, one, 0);
    const wait = vi.spyOn(Atomics, "wait").mockImplementation(() => {
      throw new TypeError("Atomics.wait cannot be called in this context");
    });
    t.setWorkerFactory((src) => new Worker(src, { eval: true }));
    t.setNumThreads(2);
    let parallel = 0;
    for (let i = 0; i < 2000 && parallel < 20; i++) {
      const before = t.parallelCallCount();
      const c = new Float32Array(64 * 128);
      t.gemm(64, 128, 784, a, 0, false, b, 0, true, c, 0);
      expect(same(c, one)).toBe(true);
      if (t.parallelCallCount() > before) parallel++;
      else await new Promise((r) => setTimeout(r, 5)); // the workers are starting
    }
    expect(parallel).toBe(20);
    expect(wait).toHaveBeenCalled(); // the probe, which found that this thread may not block
  });
});
