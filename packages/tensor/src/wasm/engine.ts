// The kernels of wasm/conv-kernels.ts and wasm/optim-kernels.ts instantiated once on a memory of their own (shared
// where allowed, so that the gemm dispatcher's copies out of it are fast), with a bump arena for one op's scratch.
import { buildConvKernelModule, type ConvKernelExports } from "./conv-kernels.js";
import { Arena, createMemory, sharedMemorySupported, wasmSimdSupported } from "./index.js";
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
}

let engine: KernelEngine | null = null;

/** The engine, created at first use; null where WebAssembly SIMD is unavailable. */
export function kernelEngine(): KernelEngine | null {
  if (engine !== null) return engine;
  const api = wasmApi();
  if (api === null || !wasmSimdSupported()) return null;
  const shared = sharedMemorySupported();
  const memory = createMemory({ initialPages: 256, maxPages: 16384, shared });
  const instantiate = <T>(bytes: Uint8Array): T =>
    new api.Instance(new api.Module(bytes), { env: { memory } }).exports as unknown as T;
  let view = new Float32Array(memory.buffer);
  engine = {
    conv: instantiate<ConvKernelExports>(buildConvKernelModule({ shared })),
    optim: instantiate<OptimKernelExports>(buildOptimKernelModule({ shared })),
    memory,
    arena: new Arena(memory),
    f32: () => {
      if (view.byteLength !== memory.buffer.byteLength) view = new Float32Array(memory.buffer);
      return view;
    },
  };
  return engine;
}
