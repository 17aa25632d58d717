// Kernel dispatch: the backend (WebAssembly SIMD or plain JavaScript) and the matrix product every op calls.
import { gemmSerial } from "./kernels/matmul.js";
import { adamJs } from "./kernels/adam.js";
import { parallelAdam, parallelGemm } from "./parallel.js";
import { Arena, createWasmKernels, sharedMemorySupported, wasmSimdSupported, type AdamScalars, type GemmLayout, type WasmKernels } from "./wasm/index.js";

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
  if (local === null) localKernels();
  const { kernels, arena } = local!;
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

/** Hyperparameters of one Adam step (`torch.optim.Adam`, coupled weight decay), step counted from 1. */
export type AdamStepScalars = AdamScalars;

/**
 * One Adam update in place, in float32 and in PyTorch's operation order (each operation rounded to float32, as
 * PyTorch's float32 tensors do): `g' = g + wd·p` (when wd ≠ 0), `m = β1·m + (1−β1)·g'`, `v = β2·v + ((1−β2)·g')·g'`,
 * `p = p − (lr/(1−β1^t))·(m / (√v/√(1−β2^t) + eps))`. `grad` is read only. On the wasm backend the arrays are copied
 * into the module's memory and updated with SIMD (same results bit for bit: every f32 operation is IEEE-rounded).
 */
export function adamStep(
  param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, s: AdamStepScalars,
): void {
  const n = param.length;
  if (getBackend() === "wasm" && n >= 256) {
    if (local === null) localKernels();
    const { kernels, arena } = local!;
    arena.reset();
    const pp = arena.alloc(n), pg = arena.alloc(n), pm = arena.alloc(n), pv = arena.alloc(n);
    const heap = kernels.heap.f32;
    heap.set(param, pp >> 2);
    heap.set(grad, pg >> 2);
    heap.set(expAvg, pm >> 2);
    heap.set(expAvgSq, pv >> 2);
    kernels.adam(pp, pg, pm, pv, n, s);
    const out = kernels.heap.f32;
    param.set(out.subarray(pp >> 2, (pp >> 2) + n));
    expAvg.set(out.subarray(pm >> 2, (pm >> 2) + n));
    expAvgSq.set(out.subarray(pv >> 2, (pv >> 2) + n));
    return;
  }
  const f = Math.fround;
  const scalars = [
    f(s.weightDecay), f(s.beta1), f(1 - s.beta1), f(s.beta2), f(1 - s.beta2), f(s.eps),
    f(s.lr / (1 - s.beta1 ** s.step)), f(Math.sqrt(1 - s.beta2 ** s.step)),
  ] as const;
  if (parallelAdam(param, grad, expAvg, expAvgSq, scalars)) return;
  adamJs(param, 0, grad, 0, expAvg, 0, expAvgSq, 0, 0, n, ...scalars);
}

function localKernels(): void {
  // A shared memory where allowed: V8 copies out of a plain wasm memory element by element (~6× slower than out of
  // a SharedArrayBuffer, measured: 230 µs against 37 µs for 400 KB), and every result is copied out.
  const kernels = createWasmKernels({ initialPages: 32, maxPages: 16384, shared: sharedMemorySupported() });
  if (kernels === null) throw new Error("internal: the wasm backend is selected but SIMD is unavailable");
  local = { kernels, arena: new Arena(kernels.memory) };
}
