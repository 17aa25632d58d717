// The kernels of wasm/conv-kernels.ts and wasm/optim-kernels.ts instantiated once on a memory of their own (shared
// where allowed, so that the gemm dispatcher's copies out of it are fast), with a bump arena for one op's scratch.
import { gemm } from "../compute.js";
import { getNumThreads } from "../parallel.js";
import { buildConvKernelModule, type ConvKernelExports } from "./conv-kernels.js";
import { Arena, createMemory, createWasmKernels, sharedMemorySupported, wasmSimdSupported, type GemmLayout } from "./index.js";
import { buildOptimKernelModule, type OptimKernelExports } from "./optim-kernels.js";
import { wasmApi, type WasmMemory } from "./webassembly.js";

/** The SIMD kernels on their memory. Addresses are byte offsets; `f32()` views the whole memory. */
export interface KernelEngine {
  readonly conv: ConvKernelExports;
  readonly optim: OptimKernelExports;
  readonly memory: WasmMemory;
  /** Scratch of the op that runs now: `reset()` it first, then `alloc`. */
  readonly arena: Arena;
  /** A view of the whole memory, valid until the arena next grows it. */
  f32(): Float32Array;
  /**
   * C (+)= op(A)·op(B) on operands in this memory (byte addresses, layouts as the gemm kernels'): with one thread and
   * a product of at least {@link DIRECT_MIN_MACS} multiply-adds, the gemm kernel module itself runs on this memory
   * (nothing copied); otherwise the gemm dispatcher runs on views of it (threads, and its choice of kernel for small
   * products). The same module either way (the shared one where memories can be shared), so the same bits.
   */
  gemm(layout: GemmLayout, m: number, n: number, k: number, a: number, b: number, c: number, accumulate: boolean): void;
}

/**
 * Products at least this large run directly on the engine's memory with one thread: far above the size where the
 * dispatcher stops using its JavaScript kernel (4,096 multiply-adds in compute.ts), so both paths take the SIMD kernel.
 */
export const DIRECT_MIN_MACS = 1 << 16;

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
  if (api === null || !wasmSimdSupported()) return null;
  const shared = sharedMemorySupported();
  const memory = createMemory({ initialPages: 256, maxPages: 16384, shared });
  const instantiate = <T>(bytes: Uint8Array): T =>
    new api.Instance(new api.Module(bytes), { env: { memory } }).exports as unknown as T;
  let view = new Float32Array(memory.buffer);
  const f32 = (): Float32Array => {
    if (view.byteLength !== memory.buffer.byteLength) view = new Float32Array(memory.buffer);
    return view;
  };
  const direct = createWasmKernels({ memory });
  return {
    conv: instantiate<ConvKernelExports>(buildConvKernelModule({ shared })),
    optim: instantiate<OptimKernelExports>(buildOptimKernelModule({ shared })),
    memory,
    arena: new Arena(memory),
    f32,
    gemm: (layout, m, n, k, a, b, c, accumulate) => {
      if (direct !== null && getNumThreads() === 1 && m * n * k >= DIRECT_MIN_MACS) {
        direct.gemm(layout, m, n, k, a, b, c, accumulate);
        return;
      }
      const heap = f32();
      gemm(m, n, k, heap, a >> 2, layout === "tn", heap, b >> 2, layout === "nt", heap, c >> 2, accumulate);
    },
  };
}
