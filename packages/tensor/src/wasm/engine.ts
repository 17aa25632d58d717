// The kernels of wasm/conv-kernels.ts and wasm/optim-kernels.ts instantiated once on the tensor heap (heap.ts), with
// scratch blocks there for one op's temporaries; its products run in place through the gemm dispatcher.
import { gemm } from "../compute.js";
import { addressOf, kernelHeap, Scratch } from "../heap.js";
import type { ConvKernelExports } from "./conv-kernels.js";
import { compileConvKernelModule, compileOptimKernelModule, wasmSimdSupported, type GemmLayout } from "./index.js";
import type { OptimKernelExports } from "./optim-kernels.js";
import { wasmApi, type WasmMemory, type WasmModule } from "./webassembly.js";

/** The SIMD kernels on the tensor heap. Addresses are byte offsets; `f32()` views the whole memory. */
export interface KernelEngine {
  readonly conv: ConvKernelExports;
  readonly optim: OptimKernelExports;
  readonly memory: WasmMemory;
  /** Scratch of the op that runs now: `reset()` it first, then `alloc`. */
  readonly arena: Scratch;
  /** A view of the whole memory, valid until the heap next grows. */
  f32(): Float32Array;
  /** The same as float64 (8-byte aligned addresses). */
  f64(): Float64Array;
  /**
   * C (+)= op(A)·op(B) on operands in this memory (byte addresses, layouts as the gemm kernels'), through the gemm
   * dispatcher (compute.ts): in place, on the threads of `setNumThreads`, with its choice of kernel for small
   * products; the same bits whatever the thread count.
   */
  gemm(layout: GemmLayout, m: number, n: number, k: number, a: number, b: number, c: number, accumulate: boolean): void;
}

let engine: KernelEngine | null | undefined;

/**
 * The engine, created at first use; null where WebAssembly SIMD is unavailable or the modules cannot be built here
 * (callers then run their JavaScript loops).
 */
export function kernelEngine(): KernelEngine | null {
  if (engine === undefined) {
    try {
      engine = createEngine();
    } catch {
      engine = null;
    }
  }
  return engine;
}

function createEngine(): KernelEngine | null {
  const api = wasmApi();
  const heap = kernelHeap();
  if (api === null || heap === null || !wasmSimdSupported()) return null;
  const { memory, shared } = heap;
  const instantiate = <T>(module: WasmModule): T => new api.Instance(module, { env: { memory } }).exports as unknown as T;
  return {
    conv: instantiate<ConvKernelExports>(compileConvKernelModule(shared)),
    optim: instantiate<OptimKernelExports>(compileOptimKernelModule(shared)),
    memory,
    arena: new Scratch(heap),
    f32: () => heap.f32(),
    f64: () => heap.f64(),
    gemm: (layout, m, n, k, a, b, c, accumulate) => {
      const f32 = heap.f32();
      gemm(m, n, k, f32, a >> 2, layout === "tn", f32, b >> 2, layout === "nt", f32, c >> 2, accumulate);
    },
  };
}

/**
 * The byte address of `a[off…off+len)` for the engine's kernels: where it lies when in the tensor heap, else a copy at
 * `scratch` (a block of the engine's scratch, or -1: one is taken here).
 */
export function inHeap(e: KernelEngine, a: Float32Array, off: number, len: number, scratch = -1): number {
  const at = addressOf(a, off);
  if (at >= 0) return at;
  const p = scratch >= 0 ? scratch : e.arena.alloc(len);
  e.f32().set(a.subarray(off, off + len), p >> 2);
  return p;
}
