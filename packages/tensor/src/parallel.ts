// The thread team: worker threads that share one memory with the calling thread and split a large product (or an Adam
// step) into chunks claimed with an atomic counter. Environment-neutral: the host supplies how to start a worker
// (Node's worker_threads, or a browser Worker) with setWorkerFactory.
import { adamKernel, adamKernelSource, ADAM_SCALARS, type AdamScalars } from "./kernels/adam.js";
import { gemmKernelSource, gemmSerial } from "./kernels/matmul.js";
import { kernelHeap, type Heap } from "./heap.js";
import {
  winogradChunk, winogradChunkSource, winogradWeightChunk, WINO_PARAMS, type WinogradChunkKernels,
} from "./kernels/winograd-chunk.js";
import {
  compileConvKernelModule, compileKernelModule, compileOptimKernelModule, GEMM_PANEL_BYTES, wasmSimdSupported, type GemmLayout, type WasmMemory, type WasmModule,
} from "./wasm/index.js";
import type { OptimKernelExports } from "./wasm/optim-kernels.js";
import { wasmApi, type WasmApi } from "./wasm/webassembly.js";

/** The little a worker must offer: Node's `Worker` and the browser's `Worker` both fit. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): unknown;
  unref?(): void;
}

/** Starts a worker that runs `source` (classic script text). */
export type WorkerFactory = (source: string) => WorkerLike;

let factory: WorkerFactory | null = null;
let requested: number | null = null; // null: the number of cores, where the runtime tells it
let team: ThreadTeam | null = null;

/**
 * Sets how workers are started (e.g. `(src) => new Worker(src, { eval: true })` from `node:worker_threads`, or
 * `(src) => new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })))` in a browser). Until a
 * factory is set, every product runs on the calling thread; with one, on {@link getNumThreads} threads. Without shared
 * memory, setting one while the default thread count is above 1 warns as {@link setNumThreads} does.
 */
export function setWorkerFactory(f: WorkerFactory | null): void {
  factory = f;
  if (f !== null && requested === null && coreCount() > 1) checkSharedMemory("setWorkerFactory", coreCount());
  closeTeam();
}

/**
 * Threads used by large matrix products (`torch.set_num_threads`): the calling thread plus `n − 1` workers. With 1,
 * no worker is started. Results are bit-identical whatever the count: each element is summed in the same order.
 * The default is the number of cores where the runtime tells it (`navigator.hardwareConcurrency`: browsers, Node ≥ 21),
 * else 1 (Node 20: pass `os.availableParallelism()`, as the app does).
 *
 * Threads share memory: where there is no `SharedArrayBuffer` (a web page that is not cross-origin isolated), asking
 * for more than 1 warns once with `console.warn` and products run on 1 thread. On a browser's main thread, which may
 * not block, the calling thread spins while the workers finish their share.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`setNumThreads: expected an integer in [1, 256], got ${n}`);
  requested = n;
  if (n > 1) checkSharedMemory("setNumThreads", n);
  closeTeam();
}

/**
 * The threads large products will use: 1 until a worker factory is set, and 1 where memory cannot be shared with
 * workers (no `SharedArrayBuffer`, or a page that is not cross-origin isolated).
 */
export function getNumThreads(): number {
  return factory === null || !sharedMemoryAvailable() ? 1 : (requested ?? coreCount());
}

/** Whether workers can share memory: `SharedArrayBuffer` exists and the page (if any) is cross-origin isolated. */
function sharedMemoryAvailable(): boolean {
  return typeof SharedArrayBuffer !== "undefined"
    && (globalThis as { crossOriginIsolated?: unknown }).crossOriginIsolated !== false;
}

let warnedNoSharedMemory = false;

/** Warns once (per program) that `threads` threads were asked for where memory cannot be shared. */
function checkSharedMemory(where: string, threads: number): void {
  if (sharedMemoryAvailable() || warnedNoSharedMemory) return;
  warnedNoSharedMemory = true;
  (globalThis as { console?: { warn(message: string): void } }).console?.warn(
    `${where}: ${threads} threads need SharedArrayBuffer, which is not available here (a web page has it only when ` +
      "it is cross-origin isolated); running on 1 thread. To use threads, serve the page with the headers " +
      "\"Cross-Origin-Opener-Policy: same-origin\" and \"Cross-Origin-Embedder-Policy: require-corp\".",
  );
}

function coreCount(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency;
  return typeof n === "number" && Number.isInteger(n) && n >= 1 ? Math.min(n, 256) : 1;
}

/** @internal Stops the workers (the next large product starts new ones): after a change of the kernels. */
export function closeTeam(): void {
  team?.close();
  team = null;
}

/** Products below this many multiply-adds run on the calling thread alone (a fork/join costs tens of µs). */
export const PARALLEL_MIN_MACS = 1 << 19;
/** Adam steps below this many elements run on the calling thread alone. */
export const PARALLEL_MIN_ADAM = 1 << 16;

/**
 * Slots of the control block (an Int32Array over a SharedArrayBuffer), each with one meaning. Offsets are in f32
 * elements of the shared heap.
 */
const SLOT = {
  seq: 0, // task number, bumped to start a task (the workers wait on it)
  done: 1, // chunks of the current task finished
  ready: 2, // workers that have started
  stop: 3, // 1: the workers exit
  next: 4, // the next chunk to claim (CLOSED between tasks)
  task: 5, // one of TASK
  chunks: 6, // chunks of the task
  chunkSize: 7, // rows (gemm) or elements (Adam) per chunk, a multiple of 4
  size: 8, // rows or elements in all
  m: 9, n: 10, k: 11, a: 12, transA: 13, b: 14, transB: 15, c: 16, accumulate: 17, // gemm
  p: 18, g: 19, expAvg: 20, expAvgSq: 21, // Adam (its scalars are in the Float64Array of scalars)
  panel: 22, // the gemms' panel blocks: thread t's at panel + t·GEMM_PANEL_BYTES
  rangeKernel: 23, // a range task: the index of its kernel in RANGE_KERNELS,
  rangeCount: 24, // the argument that counts units,
  rangeShift: 25, // RANGE_SHIFTS (argument, bytes per unit) pairs: arguments that advance with the range (-1: none),
  rangeArgs: 25 + 2 * 3, // and RANGE_ARGS arguments
  wino: 25 + 2 * 3 + 12, // WINO_PARAMS slots from here: a Winograd convolution's parameters (kernels/winograd-chunk.ts)
} as const;
const SLOTS = SLOT.wino + WINO_PARAMS;
const RANGE_SHIFTS = 3;
const RANGE_ARGS = 12;

/**
 * Kernels of wasm/conv-kernels.ts that the team runs split into ranges of units (elements, planes or images): each
 * unit's result depends on that unit's inputs alone, so any split gives the bits of one call.
 */
export const RANGE_KERNELS = [
  "relu", "relu_grad", "mul", "max_pool_2x2", "max_pool_2x2_grad", "plane_sums", "conv_direct", "sum_partials",
] as const;
/** One of {@link RANGE_KERNELS}. */
export type RangeKernel = (typeof RANGE_KERNELS)[number];

/**
 * A range task: `kernel(...args)` over `units` units, split into ranges [u0, u1); for a range, the argument at index
 * `count` is u1 − u0 and each `[argument, bytes]` of `shifts` is advanced by u0·bytes (its data for unit u0 on).
 */
export interface RangeTask {
  readonly kernel: RangeKernel;
  readonly args: readonly number[];
  readonly count: number;
  readonly shifts: readonly (readonly [argument: number, bytes: number])[];
  readonly units: number;
}

/**
 * The tasks: the JS gemm, a SIMD gemm by layout, Adam (the JS kernel, or the SIMD one), a Winograd convolution or its
 * weight gradient by images, a range task of the conv kernels, Adadelta's SIMD kernel.
 */
const TASK = { gemmJs: 0, gemmNt: 1, gemmNn: 2, gemmTn: 3, adam: 4, adamSimd: 5, winograd: 6, winogradWeight: 7, range: 8, adadelta: 9 } as const;
const SIMD_TASK: Readonly<Record<GemmLayout, number>> = { nt: TASK.gemmNt, nn: TASK.gemmNn, tn: TASK.gemmTn };
const CLOSED = 1 << 30;
const CHUNKS_PER_THREAD = 2; // a thread that starts late leaves its chunks to the others
const MAIN_SPINS = 100_000; // loads of the done counter before the calling thread sleeps (about 0.2–0.5 ms)

/** The gemm a task runs: the JS kernel, or a SIMD layout. */
export type GemmKernel = "js" | GemmLayout;

type SimdGemm = (m: number, n: number, k: number, a: number, b: number, c: number, acc: number, r0: number, r1: number, panel: number) => void;
type SimdAdam = (p: number, g: number, m: number, v: number, start: number, end: number, ...s: number[]) => void;
interface SimdKernels { readonly nt: SimdGemm; readonly nn: SimdGemm; readonly tn: SimdGemm; readonly adam: SimdAdam }

/** What a worker is sent when it starts (structured-cloneable). */
interface WorkerInit {
  readonly control: Int32Array;
  readonly scalars: Float64Array;
  readonly memory: WasmMemory;
  readonly module: WasmModule | null;
  /** The conv kernels' module (with `module`), for Winograd and range tasks. */
  readonly conv: WasmModule | null;
  /** The optimizer kernels' module (with `module`), for Adadelta. */
  readonly optim: WasmModule | null;
  readonly slot: typeof SLOT;
  readonly task: typeof TASK;
  /** Bytes of each thread's panel block (wasm/kernels.ts). */
  readonly panelBytes: number;
  /** {@link RANGE_KERNELS}, and the number of shift pairs and arguments of a range task. */
  readonly rangeKernels: readonly string[];
  readonly rangeShape: readonly [shifts: number, args: number];
}

/** The kernels a worker runs, defined in its script from their source text. */
interface WorkerKernels {
  readonly gemm: typeof gemmSerial;
  readonly adam: typeof adamKernel;
  readonly winograd: typeof winogradChunk;
  readonly winogradWeight: typeof winogradWeightChunk;
}

/**
 * A worker's life: start, then wait for a task, claim chunks until none is left, repeat. Its source text is the
 * worker's script (with the kernels' sources and a few lines of glue: {@link workerSource}), so it may use nothing
 * from this module: only its arguments and globals. Operands are byte addresses in the shared tensor heap.
 */
function workerMain(init: WorkerInit, kernels: WorkerKernels): void {
  const { control: ctl, scalars: sc, memory, module, conv, optim, slot: S, task: T, panelBytes, rangeKernels, rangeShape } = init;
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  let f32 = new Float32Array(memory.buffer);
  const fns = module !== null ? (new wasm.Instance(module, { env: { memory } }).exports as Record<string, SimdGemm & SimdAdam>) : null;
  const simd = fns === null ? [] : [null, fns["gemm_nt"]!, fns["gemm_nn"]!, fns["gemm_tn"]!];
  const convFns = conv !== null ? (new wasm.Instance(conv, { env: { memory } }).exports as unknown as WinogradChunkKernels) : null;
  const optimFns = optim !== null ? (new wasm.Instance(optim, { env: { memory } }).exports as unknown as OptimKernelExports) : null;
  const me = Atomics.add(ctl, S.ready, 1) + 1; // this thread's number (the calling thread is 0): its scratch
  const panel = ctl[S.panel] === 0 ? 0 : ctl[S.panel]! + me * panelBytes;
  let seen = Atomics.load(ctl, S.seq);
  for (;;) {
    // Spin briefly before sleeping: a training step issues products a few hundred µs apart, and waking a sleeping
    // thread costs more than that on some machines.
    for (let spin = 0; spin < 50000 && Atomics.load(ctl, S.seq) === seen; spin++);
    Atomics.wait(ctl, S.seq, seen);
    const seq = Atomics.load(ctl, S.seq);
    if (seq === seen) continue;
    seen = seq;
    if (Atomics.load(ctl, S.stop) === 1) return;
    // A successful claim pins the task (it cannot end before this chunk is done), so its slots are read after it.
    for (let c = Atomics.add(ctl, S.next, 1); c < ctl[S.chunks]!; c = Atomics.add(ctl, S.next, 1)) {
      const count = ctl[S.chunks]!, chunk = ctl[S.chunkSize]!, size = ctl[S.size]!;
      const r0 = c * chunk, r1 = Math.min(size, r0 + chunk);
      const task = ctl[S.task]!;
      if (task === T.adadelta) {
        optimFns!.adadelta(ctl[S.p]!, ctl[S.g]!, ctl[S.expAvg]!, ctl[S.expAvgSq]!, r0, r1, sc[0]!, sc[1]!, sc[2]!, sc[3]!, sc[4]!, sc[5]!);
      } else if (task === T.range) {
        const args: number[] = [];
        for (let i = 0; i < rangeShape[1]; i++) args.push(ctl[S.rangeArgs + i]!);
        for (let q = 0; q < rangeShape[0]; q++) {
          const at = ctl[S.rangeShift + 2 * q]!;
          if (at >= 0) args[at]! += r0 * ctl[S.rangeShift + 2 * q + 1]!;
        }
        args[ctl[S.rangeCount]!] = r1 - r0;
        (convFns as unknown as Record<string, (...a: number[]) => void>)[rangeKernels[ctl[S.rangeKernel]!]!]!(...args);
      } else if (task === T.winograd) {
        kernels.winograd(convFns!, fns!["gemm_nn"]!, ctl, S.wino, me, panel, r0, r1);
      } else if (task === T.winogradWeight) {
        kernels.winogradWeight(convFns!, fns!["gemm_nt"]!, ctl, S.wino, me, panel, r0, r1);
      } else if (task === T.adamSimd) {
        fns!["adam"]!(ctl[S.p]!, ctl[S.g]!, ctl[S.expAvg]!, ctl[S.expAvgSq]!, r0, r1, sc[0]!, sc[1]!, sc[2]!, sc[3]!, sc[4]!, sc[5]!, sc[6]!, sc[7]!);
      } else if (task === T.adam || task === T.gemmJs) {
        if (f32.byteLength !== memory.buffer.byteLength) f32 = new Float32Array(memory.buffer);
        if (task === T.adam) kernels.adam(f32, ctl[S.p]! >> 2, f32, ctl[S.g]! >> 2, f32, ctl[S.expAvg]! >> 2, f32, ctl[S.expAvgSq]! >> 2, null, 0, r0, r1, sc);
        else kernels.gemm(ctl[S.m]!, ctl[S.n]!, ctl[S.k]!, f32, ctl[S.a]! >> 2, ctl[S.transA] === 1, f32, ctl[S.b]! >> 2, ctl[S.transB] === 1,
          f32, ctl[S.c]! >> 2, ctl[S.accumulate] === 1, r0, r1);
      } else {
        simd[task]!(ctl[S.m]!, ctl[S.n]!, ctl[S.k]!, ctl[S.a]!, ctl[S.b]!, ctl[S.c]!, ctl[S.accumulate]!, r0, r1, panel);
      }
      if (Atomics.add(ctl, S.done, 1) + 1 === count) Atomics.notify(ctl, S.done);
    }
  }
}

let source: string | null = null;

/** The worker's script: the kernels' source text, {@link workerMain}, and how to receive its start message. */
function workerSource(): string {
  source ??= `"use strict";
${gemmKernelSource()}
${adamKernelSource()}
const workerMain = ${workerMain.toString()};
${winogradChunkSource()}
const start = (init) => workerMain(init, {
  gemm: ${gemmSerial.name}, adam: ${adamKernel.name}, winograd: ${winogradChunk.name}, winogradWeight: ${winogradWeightChunk.name},
});
if (typeof self !== "undefined" && typeof self.postMessage === "function") self.onmessage = (e) => start(e.data);
else require("node:worker_threads").parentPort.once("message", start);
`;
  return source;
}

/**
 * The calling thread and `threads − 1` workers over the shared tensor heap: operands are byte addresses there (tensor
 * storage lies in it, so nothing is copied).
 */
class ThreadTeam {
  private readonly workers: WorkerLike[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  private readonly scalars = new Float64Array(new SharedArrayBuffer(8 * ADAM_SCALARS));
  private readonly simd: SimdKernels | null;
  private readonly conv: WinogradChunkKernels | null;
  /** The panel blocks (the calling thread's first), or 0. */
  private readonly panels: number;
  private readonly optim: OptimKernelExports | null;

  constructor(readonly threads: number, start: WorkerFactory, private readonly heap: Heap) {
    const module = wasmSimdSupported() ? compileKernelModule(true) : null;
    const conv = module === null ? null : compileConvKernelModule(true);
    const optim = module === null ? null : compileOptimKernelModule(true);
    this.optim = optim === null ? null : (new (wasmApi()!.Instance)(optim, { env: { memory: heap.memory } }).exports as unknown as OptimKernelExports);
    this.simd = module === null ? null : instantiate(module, heap.memory);
    this.conv = conv === null ? null : (new (wasmApi()!.Instance)(conv, { env: { memory: heap.memory } }).exports as unknown as WinogradChunkKernels);
    Atomics.store(this.control, SLOT.next, CLOSED);
    // One panel block per thread, for the life of the team (0: none, at the heap's maximum).
    this.panels = module === null ? 0 : Math.max(0, heap.alloc(threads * GEMM_PANEL_BYTES));
    this.control[SLOT.panel] = this.panels;
    const init: WorkerInit = {
      control: this.control, scalars: this.scalars, memory: heap.memory, module, conv, optim, slot: SLOT, task: TASK, panelBytes: GEMM_PANEL_BYTES,
      rangeKernels: RANGE_KERNELS, rangeShape: [RANGE_SHIFTS, RANGE_ARGS],
    };
    for (let w = 0; w < threads - 1; w++) {
      const worker = start(workerSource());
      worker.unref?.();
      worker.postMessage(init);
      this.workers.push(worker);
    }
  }

  /** Whether a task can run now (with the SIMD kernels when `simd`): the workers have started. */
  canRun(simd: boolean): boolean {
    if (simd && this.simd === null) return false; // no SIMD here: one thread
    return Atomics.load(this.control, SLOT.ready) >= this.workers.length;
  }

  /** C (+)= op(A)·op(B) split by rows of C, on operands at byte addresses of the heap. */
  gemm(kernel: GemmKernel, m: number, n: number, k: number, a: number, transA: boolean, b: number, transB: boolean, c: number, accumulate: boolean): void {
    const ctl = this.control;
    ctl[SLOT.task] = kernel === "js" ? TASK.gemmJs : SIMD_TASK[kernel];
    ctl[SLOT.m] = m; ctl[SLOT.n] = n; ctl[SLOT.k] = k;
    ctl[SLOT.a] = a; ctl[SLOT.transA] = transA ? 1 : 0;
    ctl[SLOT.b] = b; ctl[SLOT.transB] = transB ? 1 : 0;
    ctl[SLOT.c] = c; ctl[SLOT.accumulate] = accumulate ? 1 : 0;
    if (kernel === "js") {
      const f32 = this.heap.f32();
      this.run(m, (r0, r1) => gemmSerial(m, n, k, f32, a >> 2, transA, f32, b >> 2, transB, f32, c >> 2, accumulate, r0, r1));
    } else {
      const fn = this.simd![kernel], panel = this.panels;
      this.run(m, (r0, r1) => fn(m, n, k, a, b, c, accumulate ? 1 : 0, r0, r1, panel));
    }
    teamTasks++;
  }

  /**
   * One Adam step split by element ranges over arrays at byte addresses of the heap (AMSGrad excluded): the SIMD
   * kernel when `simd` (plain Adam), else the JS kernel; each gives the same bits.
   */
  adam(simd: boolean, p: number, g: number, m: number, v: number, n: number, s: AdamScalars): void {
    const ctl = this.control;
    ctl[SLOT.task] = simd ? TASK.adamSimd : TASK.adam;
    ctl[SLOT.p] = p; ctl[SLOT.g] = g; ctl[SLOT.expAvg] = m; ctl[SLOT.expAvgSq] = v;
    const sc = this.scalars;
    sc.set(s);
    if (simd) {
      const fn = this.simd!.adam;
      this.run(n, (i0, i1) => fn(p, g, m, v, i0, i1, sc[0]!, sc[1]!, sc[2]!, sc[3]!, sc[4]!, sc[5]!, sc[6]!, sc[7]!));
    } else {
      const f32 = this.heap.f32();
      this.run(n, (i0, i1) => adamKernel(f32, p >> 2, f32, g >> 2, f32, m >> 2, f32, v >> 2, null, 0, i0, i1, sc));
    }
    teamTasks++;
  }

  /**
   * A Winograd convolution (or, with `weightGradient`, the partials of its weight gradient) split by images (after
   * {@link ThreadTeam.canRun} said yes with SIMD): `params` as kernels/winograd-chunk.ts's `WINO` / `WINO_GRAD`
   * (thread t's scratch at scratch + t·scratchStride), `images` in chunks of `chunk`. Each image's output (each
   * chunk's partial) is computed alike whichever thread takes it: the bits of one thread.
   */
  winograd(params: readonly number[], images: number, chunk: number, weightGradient = false): void {
    const ctl = this.control;
    ctl[SLOT.task] = weightGradient ? TASK.winogradWeight : TASK.winograd;
    for (let i = 0; i < WINO_PARAMS; i++) ctl[SLOT.wino + i] = params[i]!;
    const conv = this.conv!, simd = this.simd!;
    this.run(images, weightGradient
      ? (i0, i1) => winogradWeightChunk(conv, simd.nt, ctl, SLOT.wino, 0, this.panels, i0, i1)
      : (i0, i1) => winogradChunk(conv, simd.nn, ctl, SLOT.wino, 0, this.panels, i0, i1), chunk);
    teamTasks++;
  }

  /**
   * One Adadelta step (wasm/optim-kernels.ts) split by element ranges over arrays at byte addresses of the heap, after
   * {@link ThreadTeam.canRun} said yes with SIMD; `s`: ρ, 1 − ρ, eps, −lr, weight decay, maximize (1 or 0), already
   * rounded to float32. Element-wise: the bits of one call.
   */
  adadelta(p: number, g: number, v: number, u: number, n: number, s: readonly number[]): void {
    const ctl = this.control;
    ctl[SLOT.task] = TASK.adadelta;
    ctl[SLOT.p] = p; ctl[SLOT.g] = g; ctl[SLOT.expAvg] = v; ctl[SLOT.expAvgSq] = u;
    const sc = this.scalars;
    sc.set(s);
    const fn = this.optim!.adadelta;
    this.run(n, (i0, i1) => fn(p, g, v, u, i0, i1, sc[0]!, sc[1]!, sc[2]!, sc[3]!, sc[4]!, sc[5]!));
    teamTasks++;
  }

  /**
   * A range task of the conv kernels (after {@link ThreadTeam.canRun} said yes with SIMD), in chunks of a multiple of 4
   * units: the same bits as one call over all units.
   */
  range({ kernel, args, count, shifts, units }: RangeTask): void {
    const ctl = this.control;
    ctl[SLOT.task] = TASK.range;
    ctl[SLOT.rangeKernel] = RANGE_KERNELS.indexOf(kernel);
    ctl[SLOT.rangeCount] = count;
    for (let q = 0; q < RANGE_SHIFTS; q++) {
      ctl[SLOT.rangeShift + 2 * q] = shifts[q]?.[0] ?? -1;
      ctl[SLOT.rangeShift + 2 * q + 1] = shifts[q]?.[1] ?? 0;
    }
    for (let i = 0; i < RANGE_ARGS; i++) ctl[SLOT.rangeArgs + i] = args[i] ?? 0;
    const fn = (this.conv as unknown as Record<string, (...a: number[]) => void>)[kernel]!;
    this.run(units, (u0, u1) => {
      const a = args.slice();
      for (const [at, bytes] of shifts) a[at]! += u0 * bytes;
      a[count] = u1 - u0;
      fn(...a);
    });
    teamTasks++;
  }

  /**
   * Runs the task whose slots are set, over [0, size) cut into chunks of a multiple of 4 (the kernels' tile): every
   * thread, this one included, claims chunks until none is left, so a worker that wakes late costs nothing but its
   * share. Each element is computed by the same kernel whichever thread claims it: results do not depend on it.
   */
  private run(size: number, compute: (start: number, end: number) => void, chunkSize?: number): void {
    const ctl = this.control;
    const chunks = Math.min(Math.ceil(size / 4), (this.workers.length + 1) * CHUNKS_PER_THREAD);
    const chunk = chunkSize ?? Math.ceil(size / chunks / 4) * 4;
    const count = Math.ceil(size / chunk);
    ctl[SLOT.chunks] = count;
    ctl[SLOT.chunkSize] = chunk;
    ctl[SLOT.size] = size;
    Atomics.store(ctl, SLOT.done, 0);
    Atomics.store(ctl, SLOT.next, 0); // opens the claims: every slot is in place
    Atomics.add(ctl, SLOT.seq, 1);
    Atomics.notify(ctl, SLOT.seq);
    let done = 0;
    for (let c = Atomics.add(ctl, SLOT.next, 1); c < count; c = Atomics.add(ctl, SLOT.next, 1)) {
      compute(c * chunk, Math.min(size, (c + 1) * chunk));
      done = Atomics.add(ctl, SLOT.done, 1) + 1;
    }
    // Wait for the chunks the workers claimed: spin first (they are near their end, and being woken from a sleep
    // costs tens of µs on some machines), then sleep; only spin where this thread may not block (a browser's main
    // thread, as Emscripten's does). Then close the claims until the next task.
    for (let spin = 0; spin < MAIN_SPINS && done < count; spin++) done = Atomics.load(ctl, SLOT.done);
    if (mayBlock()) for (let d = done; d < count; d = Atomics.load(ctl, SLOT.done)) Atomics.wait(ctl, SLOT.done, d);
    else while (Atomics.load(ctl, SLOT.done) < count);
    Atomics.store(ctl, SLOT.next, CLOSED);
  }

  close(): void {
    if (this.panels > 0) this.heap.release(this.panels, this.threads * GEMM_PANEL_BYTES);
    if (this.workers.length === 0) return;
    Atomics.store(this.control, SLOT.stop, 1);
    Atomics.add(this.control, SLOT.seq, 1);
    Atomics.notify(this.control, SLOT.seq);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

/** The SIMD kernels instantiated on this thread over `memory`. */
function instantiate(module: WasmModule, memory: WasmMemory): SimdKernels {
  const fns = new (wasmApi()!.Instance)(module, { env: { memory } }).exports as Record<string, SimdGemm & SimdAdam>;
  return { nt: fns["gemm_nt"]!, nn: fns["gemm_nn"]!, tn: fns["gemm_tn"]!, adam: fns["adam"]! };
}

let blocking: boolean | null = null;

/** Whether this thread may block in `Atomics.wait`: a browser's main thread may not (it throws there). */
function mayBlock(): boolean {
  if (blocking === null) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1); // "not-equal" at once where waiting is allowed
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}

/**
 * The team, when a task of `work` units (multiply-adds, or elements) should and can run on it now: more than one
 * thread, at least `minWork`, a shared tensor heap, workers ready (with the SIMD kernels when `simd`). Null: the
 * caller computes on its own thread.
 */
export function teamFor(work: number, minWork: number, simd: boolean): ThreadTeam | null {
  if (factory === null || work < minWork) return null;
  const threads = getNumThreads();
  if (threads < 2) return null;
  if (team === null) {
    const heap = kernelHeap();
    if (heap === null || !heap.shared) return null;
    team = new ThreadTeam(threads, factory, heap);
  }
  return team.canRun(simd) ? team : null;
}

/** Range tasks below this many units of work run on the calling thread alone. */
export const PARALLEL_MIN_RANGE = 1 << 16;

/**
 * Runs a range task on the thread team when it should and can run there now: more than one thread, `work` (elements,
 * or multiply-adds) at least {@link PARALLEL_MIN_RANGE}, workers ready. False (nothing done): the caller makes the one
 * call itself, which gives the same bits.
 */
export function rangeOnTeam(task: RangeTask, work: number): boolean {
  const t = task.units >= 2 ? teamFor(work, PARALLEL_MIN_RANGE, true) : null;
  if (t === null) return false;
  t.range(task);
  return true;
}

let teamTasks = 0;

/** @internal How many tasks the team has computed (tests use it to prove the workers ran). */
export function parallelCallCount(): number {
  return teamTasks;
}
