// Kernel dispatch: the backend (WebAssembly SIMD or plain JavaScript), and for each product or Adam step the kernel and
// the threads, decided once, then run on this thread or on the thread team.
import { gemmSerial } from "./kernels/matmul.js";
import { adamKernel, type AdamScalars } from "./kernels/adam.js";
import { adamFloats, closeTeam, gemmFloats, PARALLEL_MIN_ADAM, PARALLEL_MIN_MACS, teamFor, type GemmKernel } from "./parallel.js";
import {
  Arena, createWasmKernels, kernelInstructions, relaxedSimdSupported, sharedMemorySupported, wantRelaxedSimd, wasmSimdSupported,
  type GemmLayout, type WasmKernels,
} from "./wasm/index.js";

/** Where the matrix products run: `"wasm"` (SIMD kernels emitted at load time) or `"js"` (the reference kernels). */
export type Backend = "js" | "wasm";

let backend: Backend | null = null;

/** Products smaller than this many multiply-adds stay in JavaScript (copying into wasm memory would cost more). */
const WASM_MIN_MACS = 4096;
/** Adam steps on fewer elements stay in JavaScript. */
const WASM_MIN_ADAM = 256;

/**
 * Chooses the kernels of the matrix products. The default, chosen at first use, is `"wasm"` where the engine runs
 * WebAssembly SIMD (Node ≥ 16, current browsers) and `"js"` elsewhere. The two differ by float32 rounding only: the
 * JS kernels sum in float64, the SIMD kernels in float32 (with `f32x4.relaxed_madd` where the engine runs relaxed
 * SIMD: Chrome ≥ 114, Node ≥ 21, Node 20 with `--experimental-wasm-relaxed-simd`; else multiply then add, the same
 * bits on every engine); each is deterministic, and bit-identical whatever the thread count.
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

/**
 * Whether the wasm gemms may run on relaxed SIMD (`f32x4.relaxed_madd`, fused where the CPU has FMA). They do by
 * default wherever the engine validates it: Chrome ≥ 114, Node ≥ 21, Node 20 with `--experimental-wasm-relaxed-simd`;
 * elsewhere (a plain Node 20) they run multiply then add. `setRelaxedSimd(false)` pins multiply then add everywhere:
 * the same bits on every engine (use it to compare runs across engines). Either way results are bit-identical across
 * thread counts; relaxed and plain differ by float32 rounding. Returns the instructions now in use (`"relaxed-simd"` or
 * `"simd128"`).
 */
export function setRelaxedSimd(on: boolean): "relaxed-simd" | "simd128" {
  if (typeof on !== "boolean") throw new TypeError(`setRelaxedSimd: expected a boolean, got ${typeof on}`);
  wantRelaxedSimd(on);
  own = null; // this thread's kernels and the workers' are made again with the new instructions
  closeTeam();
  return kernelInstructions();
}

/** Whether the engine runs relaxed SIMD, and so the wasm gemms use it unless pinned off (see {@link setRelaxedSimd}). */
export function relaxedSimdAvailable(): boolean {
  return relaxedSimdSupported();
}

/** The wasm layout of a pair of transpose flags; both transposed has no SIMD kernel (it runs in JS). */
export function layoutOf(transA: boolean, transB: boolean): GemmLayout | null {
  if (transA) return transB ? null : "tn";
  return transB ? "nt" : "nn";
}

/**
 * C[m×n] = op(A)·op(B) (or C += … when `accumulate`), BLAS-style: A is stored [m, k], or [k, m] when `transA`; B is
 * [k, n], or [n, k] when `transB`; operands are read at the given element offsets, never transposed in memory.
 * Runs on the chosen backend and, when the product is large enough, on the threads of {@link setNumThreads}; the
 * result does not depend on the thread count, bit for bit.
 */
export function gemm(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, transA: boolean,
  b: Float32Array, bOff: number, transB: boolean,
  c: Float32Array, cOff: number, accumulate = false,
): void {
  if (m === 0 || n === 0) return;
  const layout = getBackend() === "wasm" && k > 0 && m * n * k >= WASM_MIN_MACS ? layoutOf(transA, transB) : null;
  const kernel: GemmKernel = layout ?? "js";
  const team = m >= 8 ? teamFor(m * n * k, PARALLEL_MIN_MACS, gemmFloats(m, n, k), layout !== null) : null;
  if (team !== null) team.gemm(kernel, m, n, k, a, aOff, transA, b, bOff, transB, c, cOff, accumulate);
  else if (layout === null) gemmSerial(m, n, k, a, aOff, transA, b, bOff, transB, c, cOff, accumulate, 0, m);
  else ownHeap().gemm(layout, m, n, k, a, aOff, b, bOff, c, cOff, accumulate);
}

/**
 * One Adam step in place on `param`, `expAvg`, `expAvgSq` (and `maxExpAvgSq` with AMSGrad; `grad` is read only),
 * with the scalars the optimizer formed (see {@link AdamScalars}): the JS kernel, or the SIMD one for plain Adam
 * (no AdamW factor, maximize or AMSGrad) on the wasm backend; the same bits either way, and on any thread count.
 */
export function adamUpdate(
  param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array,
  maxExpAvgSq: Float32Array | null, s: AdamScalars,
): void {
  const n = param.length;
  const plain = maxExpAvgSq === null && s[8] === 1 && s[9] === 0;
  if (plain && getBackend() === "wasm" && n >= WASM_MIN_ADAM) {
    ownHeap().adam(param, grad, expAvg, expAvgSq, s);
    return;
  }
  const team = maxExpAvgSq === null ? teamFor(n, PARALLEL_MIN_ADAM, adamFloats(n), false) : null;
  if (team !== null) team.adam(param, grad, expAvg, expAvgSq, s);
  else adamKernel(param, 0, grad, 0, expAvg, 0, expAvgSq, 0, maxExpAvgSq, 0, 0, n, s);
}

/** The SIMD kernels on this thread's own memory: operands copied in, results copied out. */
class OwnHeap {
  private readonly arena: Arena;

  constructor(private readonly kernels: WasmKernels) {
    this.arena = new Arena(kernels.memory);
  }

  gemm(
    layout: GemmLayout, m: number, n: number, k: number,
    a: Float32Array, aOff: number, b: Float32Array, bOff: number,
    c: Float32Array, cOff: number, accumulate: boolean,
  ): void {
    const { kernels, arena } = this;
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

  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars): void {
    const { kernels, arena } = this;
    const n = p.length;
    arena.reset();
    const pp = arena.alloc(n), pg = arena.alloc(n), pm = arena.alloc(n), pv = arena.alloc(n);
    const heap = kernels.heap.f32;
    heap.set(p, pp >> 2);
    heap.set(g, pg >> 2);
    heap.set(m, pm >> 2);
    heap.set(v, pv >> 2);
    kernels.adam(pp, pg, pm, pv, 0, n, s);
    const out = kernels.heap.f32;
    p.set(out.subarray(pp >> 2, (pp >> 2) + n));
    m.set(out.subarray(pm >> 2, (pm >> 2) + n));
    v.set(out.subarray(pv >> 2, (pv >> 2) + n));
  }
}

let own: OwnHeap | null = null;

function ownHeap(): OwnHeap {
  if (own === null) {
    // A shared memory where allowed: V8 copies out of a plain wasm memory element by element (~6× slower than out of
    // a SharedArrayBuffer, measured: 230 µs against 37 µs for 400 KB), and every result is copied out.
    const kernels = createWasmKernels({ initialPages: 32, maxPages: 16384, shared: sharedMemorySupported() });
    if (kernels === null) throw new Error("internal: the wasm backend is selected but SIMD is unavailable");
    own = new OwnHeap(kernels);
  }
  return own;
}
