// Tests of the loader: feature detection, module cache, memory options, two instances on one shared memory.
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import {
  compileKernelModule, createMemory, createWasmKernels, sharedMemorySupported,
  WasmKernels, wasmSimdSupported,
} from "./index.js";
import { Heap, Scratch } from "../heap.js";

describe("feature detection", () => {
  it("finds SIMD and shared memory on Node ≥ 20", () => {
    expect(wasmSimdSupported()).toBe(true);
    expect(sharedMemorySupported()).toBe(true);
  });

  it("compiles each kind of module once", () => {
    expect(compileKernelModule(false)).toBe(compileKernelModule(false));
    expect(compileKernelModule(true)).not.toBe(compileKernelModule(false));
  });
});

describe("createMemory", () => {
  it.each([[{ initialPages: 5, maxPages: 4 }], [{ maxPages: 70000 }]])("rejects %o", (options) => {
    expect(() => createMemory(options)).toThrow(/createMemory: expected 0 <= initialPages <= maxPages <= 65536, got/);
  });
});

describe("WasmKernels on a shared memory", () => {
  it("lets two instances of the module (as two workers would) split one product, bit-identical to one call", () => {
    const kernels = createWasmKernels({ shared: true, initialPages: 32 })!;
    const other = new WasmKernels(compileKernelModule(true), kernels.memory);
    const arena = new Scratch(new Heap(kernels.memory, true));
    const [m, n, k] = [64, 128, 784];
    const a = arena.alloc(m * k), b = arena.alloc(n * k), c1 = arena.alloc(m * n), c2 = arena.alloc(m * n);
    const heap = new Float32Array(kernels.memory.buffer);
    for (let t = 0; t < m * k; t++) heap[a / 4 + t] = Math.sin(t);
    for (let t = 0; t < n * k; t++) heap[b / 4 + t] = Math.cos(t);
    kernels.gemm("nt", m, n, k, a, b, c1);
    kernels.gemm("nt", m, n, k, a, b, c2, false, 0, 27);
    other.gemm("nt", m, n, k, a, b, c2, false, 27, m);
    const h = new Uint32Array(kernels.memory.buffer);
    let differing = 0;
    for (let t = 0; t < m * n; t++) if (h[c1 / 4 + t] !== h[c2 / 4 + t]) differing++;
    expect(differing).toBe(0);
  });

  it("runs in a worker thread on the posted module and memory, bit-identical to one call", async () => {
    const kernels = createWasmKernels({ shared: true, initialPages: 32 })!;
    const arena = new Scratch(new Heap(kernels.memory, true));
    const [m, n, k] = [128, 784, 64];
    const a = arena.alloc(k * m), b = arena.alloc(k * n), c1 = arena.alloc(m * n), c2 = arena.alloc(m * n);
    const heap = new Float32Array(kernels.memory.buffer);
    for (let t = 0; t < k * m; t++) heap[a / 4 + t] = Math.sin(t);
    for (let t = 0; t < k * n; t++) heap[b / 4 + t] = Math.cos(t);
    kernels.gemm("tn", m, n, k, a, b, c1);
    // The worker gets only the compiled module and the memory: no import of our sources.
    const worker = new Worker(`
      const { parentPort, workerData: w } = require("node:worker_threads");
      const { exports } = new WebAssembly.Instance(w.module, { env: { memory: w.memory } });
      exports.gemm_tn(w.m, w.n, w.k, w.a, w.b, w.c, 0, w.rowStart, w.rowEnd, 0);
      parentPort.postMessage("done");`, {
      eval: true,
      workerData: { module: kernels.module, memory: kernels.memory, m, n, k, a, b, c: c2, rowStart: 64, rowEnd: m },
    });
    kernels.gemm("tn", m, n, k, a, b, c2, false, 0, 64);
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
    });
    await worker.terminate();
    const h = new Uint32Array(kernels.memory.buffer);
    let differing = 0;
    for (let t = 0; t < m * n; t++) if (h[c1 / 4 + t] !== h[c2 / 4 + t]) differing++;
    expect(differing).toBe(0);
  });

  it("rejects an unknown layout with a TypeError", () => {
    const kernels = createWasmKernels()!;
    expect(() => kernels.gemm("tt" as never, 1, 1, 1, 0, 0, 0)).toThrow(/gemm: expected layout "nn", "nt" or "tn", got tt/);
  });
});
