// The convolution kernels instantiated once on a memory of their own (shared where allowed, so that the gemm
// dispatcher's copies out of it are fast), with a bump arena for the scratch of one convolution at a time.
import { buildConvKernelModule, type ConvKernelExports } from "./conv-kernels.js";
import { Arena, createMemory, sharedMemorySupported, wasmSimdSupported } from "./index.js";
import { wasmApi, type WasmMemory } from "./webassembly.js";

/** The SIMD convolution kernels on their memory. Addresses are byte offsets; `f32()` views the whole memory. */
export interface ConvEngine {
  readonly kernels: ConvKernelExports;
  readonly memory: WasmMemory;
  readonly arena: Arena;
  /** A view of the whole memory, valid until the arena next grows it. */
  f32(): Float32Array;
}

let engine: ConvEngine | null = null;

/** The engine, created at first use; null where WebAssembly SIMD is unavailable. */
export function convEngine(): ConvEngine | null {
  if (engine !== null) return engine;
  const api = wasmApi();
  if (api === null || !wasmSimdSupported()) return null;
  const shared = sharedMemorySupported();
  const memory = createMemory({ initialPages: 256, maxPages: 16384, shared });
  const module = new api.Module(buildConvKernelModule({ shared }));
  const kernels = new api.Instance(module, { env: { memory } }).exports as unknown as ConvKernelExports;
  let view = new Float32Array(memory.buffer);
  engine = {
    kernels, memory, arena: new Arena(memory),
    f32: () => {
      if (view.byteLength !== memory.buffer.byteLength) view = new Float32Array(memory.buffer);
      return view;
    },
  };
  return engine;
}
