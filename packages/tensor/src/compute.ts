// Kernel dispatch: the backend (WebAssembly SIMD or plain JavaScript) and the matrix product every op calls.
import { gemmSerial } from "./kernels/matmul";
import { parallelGemm } from "./parallel";
import { Arena, createWasmKernels, wasmSimdSupported, type GemmLayout, type WasmKernels } from "./wasm/index";

/** Where the matrix products run: `"wasm"` (SIMD kernels emitted at load time) or `"js"` (the reference kernels). */
export type Backend = "js" | "wasm";

let backend: Backend | null = null;

/** Products smaller than this many multiply-adds stay in JavaScript (copying into wasm memory would cost more). */
const WASM_MIN_MACS = 4096;

/**
 * Chooses the kernels of the matrix products. The default, chosen at first use, is `"wasm"` where the engine runs
 * WebAssembly SIMD (Node ≥ 16, current browsers) and `"js"` elsewhere. The two differ by float32 rounding only: the
 * JS kernels sum in float64, the SIMD kernels in float32 (no fused multiply-add); each is deterministic, and
 * bit-identical whatever the thread count.
 */
export function setBackend(name: Backend): void {
  if (name !== "js" && name !== "wasm") throw new TypeError(`setBackend: expected "js" or "wasm", got ${JSON.stringify(name)}`);
  if (name === "wasm" && !wasmSimdSupported()) {
    throw new Error("setBackend: WebAssembly SIMD is not available in this runtime; use \"js\"");
  }
  backend = name;
}

/** The backend in use (see {@link setBackend}). */
export function getBackend(): Backend {
  backend ??= wasmSimdSupported() ? "wasm" : "js";
  return backend;
}

/** The wasm layout of a pair of transpose flags; both transposed has no SIMD kernel (it runs in JS). */
export function layoutOf(transA: boolean, transB: boolean): GemmLayout | null {
  if (transA) return transB ? null : "tn";
  return transB ? "nt" : "nn";
}

let local: { kernels: WasmKernels; arena: Arena } | null = null;

/**
 * C[m×n] = op(A)·op(B) (or C += … when `accumulate`), BLAS-style: A is stored [m, k], or [k, m] when `transA`; B is
 * [k, n], or [n, k] when `transB`; operands are read at the given element offsets, never transposed in memory.
 * Runs on the chosen backend and, when the product is large enough, on the threads of {@link setNumThreads}.
 */
export function gemm(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, transA: boolean,
  b: Float32Array, bOff: number, transB: boolean,
  c: Float32Array, cOff: number, accumulate = false,
): void {
  if (m === 0 || n === 0) return;
  const layout = getBackend() === "wasm" && k > 0 && m * n * k >= WASM_MIN_MACS ? layoutOf(transA, transB) : null;
  if (parallelGemm(layout, m, n, k, a, aOff, transA, b, bOff, transB, c, cOff, accumulate)) return;
  if (layout !== null) wasmGemm(layout, m, n, k, a, aOff, b, bOff, c, cOff, accumulate);
  else gemmSerial(m, n, k, a, aOff, transA, b, bOff, transB, c, cOff, accumulate, 0, m);
}

/** One SIMD product on this thread: operands copied into the module's memory, the result copied out. */
function wasmGemm(
  layout: GemmLayout, m: number, n: number, k: number,
  a: Float32Array, aOff: number, b: Float32Array, bOff: number,
  c: Float32Array, cOff: number, accumulate: boolean,
): void {
  if (local === null) {
    const kernels = createWasmKernels({ initialPages: 32 });
    if (kernels === null) throw new Error("internal: the wasm backend is selected but SIMD is unavailable");
    local = { kernels, arena: new Arena(kernels.memory) };
  }
  const { kernels, arena } = local;
  const lenA = m * k, lenB = k * n, lenC = m * n;
  arena.reset();
  const pa = arena.alloc(lenA), pb = arena.alloc(lenB), pc = arena.alloc(lenC);
  const heap = kernels.heap.f32;
  heap.set(a.subarray(aOff, aOff + lenA), pa >> 2);
  heap.set(b.subarray(bOff, bOff + lenB), pb >> 2);
  if (accumulate) heap.set(c.subarray(cOff, cOff + lenC), pc >> 2);
  kernels.gemm(layout, m, n, k, pa, pb, pc, accumulate);
  c.set(kernels.heap.f32.subarray(pc >> 2, (pc >> 2) + lenC), cOff);
}
