// Loader of the SIMD kernels: feature detection, compilation (cached), instantiation on a given memory (so workers
// can share one), and typed wrappers of the kernels (gemm, Adam). The memory's allocator is heap.ts.
import { FunctionBuilder, ModuleBuilder } from "./assembler.js";
import { buildKernelModule, type GemmLayout, type KernelExports } from "./kernels.js";
import { buildConvKernelModule } from "./conv-kernels.js";
import { buildOptimKernelModule } from "./optim-kernels.js";
import { wasmApi, type WasmApi, type WasmMemory, type WasmModule } from "./webassembly.js";
import type { AdamScalars } from "../kernels/adam.js";

export type { GemmLayout, GemmBlocking, KernelExports, KernelModuleOptions } from "./kernels.js";
export type { WasmMemory, WasmModule } from "./webassembly.js";
export { buildKernelModule, GEMM_PANEL_BYTES, GEMM_PANEL_MAX_K } from "./kernels.js";

/** Bytes per page of linear memory. */
export const WASM_PAGE_BYTES = 65536;

let simdSupport: boolean | null = null;

/** Whether the engine runs WebAssembly with 128-bit SIMD (validates a one-function module using f32x4). */
export function wasmSimdSupported(): boolean {
  if (simdSupport === null) {
    const api = wasmApi();
    const f = new FunctionBuilder([], ["f32"]);
    f.f32Const(1).f32x4Splat().f32x4Const(2).f32x4Mul().f32x4ExtractLane(0);
    const bytes = new ModuleBuilder();
    bytes.addFunction(f, "probe");
    simdSupport = api !== null && safely(() => api.validate(bytes.toBytes()));
  }
  return simdSupport;
}

let relaxedSupport: boolean | null = null;

/**
 * Whether the engine runs relaxed SIMD: validates a one-function module using `f32x4.relaxed_madd` (Chrome ≥ 114,
 * Node ≥ 21; Node 20 with `--experimental-wasm-relaxed-simd`). Where it does, the gemms use it unless told not to
 * (see `setRelaxedSimd` in compute.ts).
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupport === null) {
    const api = wasmApi();
    const f = new FunctionBuilder([], ["f32"]);
    f.f32Const(2).f32x4Splat().f32Const(3).f32x4Splat().f32Const(1).f32x4Splat().f32x4RelaxedMadd().f32x4ExtractLane(0);
    const bytes = new ModuleBuilder();
    bytes.addFunction(f, "probe");
    relaxedSupport = api !== null && wasmSimdSupported() && safely(() => api.validate(bytes.toBytes()));
  }
  return relaxedSupport;
}

let relaxedWanted = true;

/**
 * Whether the gemms' multiply-adds may be `f32x4.relaxed_madd` (fused where the CPU has FMA) where the engine runs
 * relaxed SIMD: yes by default; no pins `f32x4.mul` then `f32x4.add`, the same bits on every engine. Relaxed results
 * are bit-identical across thread counts, not across engines (a fused and an unfused multiply-add round differently).
 * Modules compiled after the call use it: see `setRelaxedSimd` in compute.ts, which resets them.
 */
export function wantRelaxedSimd(on: boolean): void {
  relaxedWanted = on;
}

/** The instructions of the wasm gemms: `"relaxed-simd"` (`f32x4.relaxed_madd`) where allowed and available, else `"simd128"`. */
export function kernelInstructions(): "relaxed-simd" | "simd128" {
  return relaxedWanted && relaxedSimdSupported() ? "relaxed-simd" : "simd128";
}

/** Whether shared memories can be created (SharedArrayBuffer available, e.g. cross-origin isolated in browsers). */
export function sharedMemorySupported(): boolean {
  const api = wasmApi();
  return api !== null && typeof SharedArrayBuffer !== "undefined"
    && safely(() => api.Memory !== undefined && new api.Memory({ initial: 0, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer);
}

function safely(probe: () => boolean): boolean {
  try {
    return probe();
  } catch {
    return false;
  }
}

function requireApi(where: string): WasmApi {
  const api = wasmApi();
  if (api === null) throw new TypeError(`${where}: WebAssembly is not available in this runtime`);
  return api;
}

const compiled = new Map<string, WasmModule>();

/** The module `key` names, compiled from `build()` on first use, then cached. */
function compileOnce(where: string, key: string, build: () => Uint8Array): WasmModule {
  let module = compiled.get(key);
  if (module === undefined) {
    module = new (requireApi(where).Module)(build());
    compiled.set(key, module);
  }
  return module;
}

/**
 * The compiled kernel module for a shared or a plain memory (compiled once, then cached), its gemms on relaxed SIMD
 * where allowed and available ({@link kernelInstructions}). Synchronous `new WebAssembly.Module`: the module is a few
 * kilobytes, well below what browsers allow on the main thread.
 */
export function compileKernelModule(shared: boolean): WasmModule {
  const relaxed = kernelInstructions() === "relaxed-simd";
  return compileOnce("compileKernelModule", `gemm:${shared}:${relaxed}`, () => buildKernelModule({ shared, relaxed }));
}

/** The compiled module of wasm/conv-kernels.ts for a shared or a plain memory (compiled once, then cached). */
export function compileConvKernelModule(shared: boolean): WasmModule {
  return compileOnce("compileConvKernelModule", `conv:${shared}`, () => buildConvKernelModule({ shared }));
}

/** The compiled module of wasm/optim-kernels.ts for a shared or a plain memory (compiled once, then cached). */
export function compileOptimKernelModule(shared: boolean): WasmModule {
  return compileOnce("compileOptimKernelModule", `optim:${shared}`, () => buildOptimKernelModule({ shared }));
}

/** Options of `createMemory`, in 64 KiB pages. */
export interface MemoryOptions {
  /** Initial size (default 16 pages = 1 MiB). */
  readonly initialPages?: number;
  /** Maximum size (default 16384 pages = 1 GiB); a shared memory reserves it up front. */
  readonly maxPages?: number;
  /** Backed by a SharedArrayBuffer, to be posted to workers (default false). */
  readonly shared?: boolean;
}

/** A new linear memory for the kernels. */
export function createMemory({ initialPages = 16, maxPages = 16384, shared = false }: MemoryOptions = {}): WasmMemory {
  if (!(initialPages >= 0 && initialPages <= maxPages && maxPages <= 65536)) {
    throw new RangeError(`createMemory: expected 0 <= initialPages <= maxPages <= 65536, got ${initialPages} and ${maxPages}`);
  }
  return new (requireApi("createMemory").Memory)({ initial: initialPages, maximum: maxPages, shared });
}

function isShared(memory: WasmMemory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * The kernels instantiated on one memory. Every pointer is a byte address in that memory (see `Heap` in heap.ts), arrays are
 * contiguous row-major f32, and row ranges let callers split one call across workers that instantiated the same
 * module on the same shared memory: each element's order of operations does not depend on the split, so the
 * result is bit-identical whatever the number of workers.
 */
export class WasmKernels {
  private readonly fns: KernelExports;

  constructor(readonly module: WasmModule, readonly memory: WasmMemory) {
    const api = requireApi("WasmKernels");
    this.fns = new api.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  }

  /**
   * C (+)= op(A)·op(B) over rows [rowStart, rowEnd) of C [m, n]: "nt" A [m, k], B [n, k] (x·Wᵀ); "nn" A [m, k],
   * B [k, n] (dY·W); "tn" A [k, m], B [k, n] (dYᵀ·x). f32 sums, no FMA; results differ from the JS gemm (float64
   * sums) by rounding only. `panel`: 0, or a block of `GEMM_PANEL_BYTES` for this call alone (see `KernelExports`).
   */
  gemm(layout: GemmLayout, m: number, n: number, k: number, a: number, b: number, c: number,
    accumulate = false, rowStart = 0, rowEnd = m, panel = 0): void {
    const acc = accumulate ? 1 : 0;
    switch (layout) {
      case "nt": this.fns.gemm_nt(m, n, k, a, b, c, acc, rowStart, rowEnd, panel); return;
      case "nn": this.fns.gemm_nn(m, n, k, a, b, c, acc, rowStart, rowEnd, panel); return;
      case "tn": this.fns.gemm_tn(m, n, k, a, b, c, acc, rowStart, rowEnd, panel); return;
      default: {
        const unknown: never = layout;
        throw new TypeError(`gemm: expected layout "nn", "nt" or "tn", got ${String(unknown)}`);
      }
    }
  }

  /**
   * One Adam step in place on elements [start, end) of p, m, v (g read only), in f32, PyTorch's order (the JS
   * `adamKernel` without its AdamW, maximize and AMSGrad flags): g += wd·p (skipped when wd = 0);
   * m = β1·m + (1−β1)·g; v = β2·v + ((1−β2)·g)·g; p −= stepSize·(m / (√v / √bc2 + eps)). `s` as the JS kernel's,
   * already rounded to f32 (so passing them to the f32 parameters changes nothing).
   */
  adam(p: number, g: number, m: number, v: number, start: number, end: number, s: AdamScalars): void {
    this.fns.adam(p, g, m, v, start, end, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
  }
}

/** Options of `createWasmKernels`. */
export interface WasmKernelsOptions extends MemoryOptions {
  /** Instantiate on this memory instead of a new one (its `shared` kind picks the module). */
  readonly memory?: WasmMemory;
}

/** Kernels on a new (or the given) memory, or null when WebAssembly SIMD is unavailable: then use the JS kernels. */
export function createWasmKernels(options: WasmKernelsOptions = {}): WasmKernels | null {
  if (!wasmSimdSupported()) return null;
  const memory = options.memory ?? createMemory(options);
  return new WasmKernels(compileKernelModule(isShared(memory)), memory);
}
