// Kernel dispatch: the backend (WebAssembly SIMD or plain JavaScript), and for each product or Adam step the kernel and
// the threads, decided once, then run on this thread or on the thread team.
import { gemmSerial } from "./kernels/matmul.js";
import { adamKernel, type AdamScalars } from "./kernels/adam.js";
import { addressOf, kernelHeap, Scratch, type Heap } from "./heap.js";
import { closeTeam, PARALLEL_MIN_ADAM, PARALLEL_MIN_MACS, teamFor } from "./parallel.js";
import {
  createWasmKernels, GEMM_PANEL_BYTES, kernelInstructions, relaxedSimdSupported, wantRelaxedSimd, wasmSimdSupported, type GemmLayout, type WasmKernels,
} from "./wasm/index.js";

/** Where the matrix products run: `"wasm"` (SIMD kernels emitted at load time) or `"js"` (the reference kernels). */
export type Backend = "js" | "wasm";

let backend: Backend | null = null;

/** Products smaller than this many multiply-adds stay in JavaScript (a call into wasm, and copies, would cost more). */
export const WASM_MIN_MACS = 4096;
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
  if (own !== null && own.panel > 0) own.heap.release(own.panel, GEMM_PANEL_BYTES);
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
 * result does not depend on the thread count, bit for bit. Operands that lie in the tensor heap (tensor storage, where
 * memory can be shared) are read and written in place; others are copied in and out.
 */
export function gemm(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, transA: boolean,
  b: Float32Array, bOff: number, transB: boolean,
  c: Float32Array, cOff: number, accumulate = false,
): void {
  if (m === 0 || n === 0) return;
  const macs = m * n * k;
  const layout = getBackend() === "wasm" && k > 0 && macs >= WASM_MIN_MACS ? layoutOf(transA, transB) : null;
  const team = m >= 8 ? teamFor(macs, PARALLEL_MIN_MACS, layout !== null) : null;
  if (team === null && layout === null) {
    gemmSerial(m, n, k, a, aOff, transA, b, bOff, transB, c, cOff, accumulate, 0, m);
    return;
  }
  const own = ownKernels();
  const pa = own.operand(a, aOff, m * k), pb = own.operand(b, bOff, k * n);
  const inPlace = addressOf(c, cOff);
  const pc = inPlace >= 0 ? inPlace : accumulate ? own.operand(c, cOff, m * n) : own.scratch.alloc(m * n);
  if (team !== null) team.gemm(layout ?? "js", m, n, k, pa, transA, pb, transB, pc, accumulate);
  else own.kernels!.gemm(layout!, m, n, k, pa, pb, pc, accumulate, 0, m, own.panel);
  own.copyOut(c, cOff, m * n, pc);
  own.scratch.reset();
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
  const simd = maxExpAvgSq === null && s[8] === 1 && s[9] === 0 && getBackend() === "wasm" && n >= WASM_MIN_ADAM;
  const team = maxExpAvgSq === null ? teamFor(n, PARALLEL_MIN_ADAM, simd) : null;
  if (team === null && !simd) {
    adamKernel(param, 0, grad, 0, expAvg, 0, expAvgSq, 0, maxExpAvgSq, 0, 0, n, s);
    return;
  }
  const own = ownKernels();
  const pp = own.operand(param, 0, n), pg = own.operand(grad, 0, n);
  const pm = own.operand(expAvg, 0, n), pv = own.operand(expAvgSq, 0, n);
  if (team !== null) team.adam(simd, pp, pg, pm, pv, n, s);
  else own.kernels!.adam(pp, pg, pm, pv, 0, n, s);
  own.copyOut(param, 0, n, pp);
  own.copyOut(expAvg, 0, n, pm);
  own.copyOut(expAvgSq, 0, n, pv);
  own.scratch.reset();
}

/** This thread's SIMD kernels on the tensor heap, and the scratch where operands that lie elsewhere are copied. */
class OwnKernels {
  readonly scratch: Scratch;
  /** The gemms' panel block on this thread (wasm/kernels.ts, `GEMM_PANEL_BYTES`). */
  readonly panel: number;

  constructor(readonly heap: Heap, readonly kernels: WasmKernels | null) {
    this.scratch = new Scratch(heap);
    this.panel = kernels === null ? 0 : Math.max(0, heap.alloc(GEMM_PANEL_BYTES)); // none at the heap's maximum
  }

  /** The byte address of `a[off…off+len)`: where it lies when in the heap, else a scratch copy. */
  operand(a: Float32Array, off: number, len: number): number {
    const at = addressOf(a, off);
    if (at >= 0) return at;
    const p = this.scratch.alloc(len);
    this.heap.f32().set(a.subarray(off, off + len), p >> 2);
    copied += len;
    return p;
  }

  /** Copies a result computed at byte address `p` back into `a[off…off+len)` unless it was computed in place. */
  copyOut(a: Float32Array, off: number, len: number, p: number): void {
    if (addressOf(a, off) === p) return;
    a.set(this.heap.f32().subarray(p >> 2, (p >> 2) + len), off);
    copied += len;
  }
}

let copied = 0;

/**
 * @internal Floats the gemm and Adam dispatchers have copied into and out of the tensor heap so far, for operands
 * that did not lie there (tests hold a training step to none).
 */
export function copiedFloats(): number {
  return copied;
}

let own: OwnKernels | null = null;

/** The kernels on this thread, made at first use (null kernels without SIMD: the team then runs its JS kernels). */
function ownKernels(): OwnKernels {
  if (own === null) {
    const heap = kernelHeap();
    if (heap === null) throw new Error("internal: a wasm kernel or the thread team is selected but WebAssembly is unavailable");
    own = new OwnKernels(heap, createWasmKernels({ memory: heap.memory }));
  }
  return own;
}
