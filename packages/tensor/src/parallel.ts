// Fork/join over worker threads for the large matrix products: operands copied into one shared memory, rows of C cut
// into chunks that the calling thread and the workers claim with an atomic counter. Environment-neutral: the host
// supplies how to start a worker (Node's worker_threads, or a browser Worker) with setWorkerFactory.
import { adamJs, adamKernelSource } from "./kernels/adam.js";
import { gemmKernelSource, gemmSerial } from "./kernels/matmul.js";
import { compileKernelModule, createMemory, sharedMemorySupported, WASM_PAGE_BYTES, wasmSimdSupported, type GemmLayout, type WasmMemory, type WasmModule } from "./wasm/index.js";
import { wasmApi } from "./wasm/webassembly.js";

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
let pool: Pool | null = null;

/** Products below this many multiply-adds run on the calling thread alone (a fork/join costs tens of µs). */
export const PARALLEL_MIN_MACS = 1 << 19;

/**
 * Sets how workers are started (e.g. `(src) => new Worker(src, { eval: true })` from `node:worker_threads`, or
 * `(src) => new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })))` in a browser). Until a
 * factory is set, every product runs on the calling thread; with one, on {@link getNumThreads} threads. Without shared
 * memory, setting one while the default thread count is above 1 warns as {@link setNumThreads} does.
 */
export function setWorkerFactory(f: WorkerFactory | null): void {
  factory = f;
  if (f !== null && requested === null && coreCount() > 1) checkSharedMemory("setWorkerFactory", coreCount());
  resetPool();
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
  resetPool();
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

function resetPool(): void {
  pool?.close();
  pool = null;
}

// Control block (Int32Array over a SharedArrayBuffer).
const SEQ = 0; // task sequence number, bumped to start a task
const DONE = 1; // chunks of the current task finished
const READY = 2; // workers that have started
const STOP = 3; // 1: workers exit
const NEXT = 4; // the next chunk to claim (CLOSED between tasks)
const CLOSED = 1 << 30;
const P = 8; // task: kind m n k aOff transA bOff transB cOff accumulate chunks chunkSize size (offsets in f32 elements)
const CHUNKS_PER_THREAD = 2; // a thread that starts late leaves its chunks to the others
const KINDS: Readonly<Record<GemmLayout | "js", number>> = { js: 0, nt: 1, nn: 2, tn: 3 };
const KIND_ADAM = 4;

/** Adam's scalars, rounded to float32: wd, β1, 1−β1, β2, 1−β2, eps, step size, √(1−β2^t). */
export type AdamScalarList = readonly [number, number, number, number, number, number, number, number];

/** Parameters below this size are updated by the calling thread alone. */
export const PARALLEL_MIN_ADAM = 1 << 16;

/** The shared memory: a shared wasm memory (grown in place) where WebAssembly allows it, else a SharedArrayBuffer. */
interface Arena {
  readonly memory: WasmMemory | null;
  readonly module: WasmModule | null;
  f32: Float32Array;
}

class Pool {
  private readonly workers: WorkerLike[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * 32));
  /** Float parameters of a task (Adam's scalars). */
  private readonly scalars = new Float64Array(new SharedArrayBuffer(8 * 8));
  private arena: Arena | null = null;

  constructor(private readonly threads: number, private readonly start: WorkerFactory) {}

  /** Makes room for `floats` f32; returns false while workers are (re)starting (the caller computes alone). */
  private ensureArena(floats: number, wantWasm: boolean): boolean {
    const arena = this.arena;
    if (arena !== null && (!wantWasm || arena.module !== null)) {
      if (arena.f32.length >= floats) return Atomics.load(this.control, READY) >= this.workers.length;
      if (arena.memory !== null) {
        try {
          arena.memory.grow(Math.ceil((4 * floats - arena.memory.buffer.byteLength) / WASM_PAGE_BYTES));
        } catch {
          return false; // past the maximum: this product runs on one thread
        }
        arena.f32 = new Float32Array(arena.memory.buffer);
        return Atomics.load(this.control, READY) >= this.workers.length;
      }
    }
    this.close();
    const wasm = wasmApi() !== null && sharedMemorySupported();
    const pages = Math.max(64, Math.ceil((4 * floats) / WASM_PAGE_BYTES) * 2);
    if (wasm) {
      const memory = createMemory({ initialPages: pages, maxPages: 16384, shared: true });
      const module = wasmSimdSupported() ? compileKernelModule(true) : null;
      this.arena = { memory, module, f32: new Float32Array(memory.buffer) };
    } else {
      this.arena = { memory: null, module: null, f32: new Float32Array(new SharedArrayBuffer(pages * WASM_PAGE_BYTES)) };
    }
    Atomics.store(this.control, READY, 0);
    Atomics.store(this.control, STOP, 0);
    Atomics.store(this.control, NEXT, CLOSED);
    const { memory, module, f32 } = this.arena;
    for (let w = 0; w < this.threads - 1; w++) {
      const worker = this.start(workerSource());
      worker.unref?.();
      worker.postMessage({ control: this.control, scalars: this.scalars, memory, module, buffer: memory === null ? f32.buffer : null, id: w });
      this.workers.push(worker);
    }
    return false;
  }

  gemm(
    layout: GemmLayout | null, m: number, n: number, k: number,
    a: Float32Array, aOff: number, transA: boolean,
    b: Float32Array, bOff: number, transB: boolean,
    c: Float32Array, cOff: number, accumulate: boolean,
  ): boolean {
    const lenA = m * k, lenB = k * n, lenC = m * n;
    // Operands at 16-byte boundaries (whole f32x4 vectors).
    const at = (x: number): number => (x + 3) & ~3;
    const bAt = at(lenA), cAt = at(bAt + lenB);
    if (!this.ensureArena(cAt + lenC, layout !== null)) return false;
    const arena = this.arena!;
    const kind = layout !== null && arena.module !== null ? KINDS[layout] : 0;
    if (kind === 0 && layout !== null) return false; // wasm wanted but no shared SIMD module: stay on one thread
    const f32 = arena.f32;
    f32.set(a.subarray(aOff, aOff + lenA), 0);
    f32.set(b.subarray(bOff, bOff + lenB), bAt);
    if (accumulate) f32.set(c.subarray(cOff, cOff + lenC), cAt);
    const ctl = this.control;
    ctl[P] = kind;
    ctl[P + 1] = m; ctl[P + 2] = n; ctl[P + 3] = k;
    ctl[P + 4] = 0; ctl[P + 5] = transA ? 1 : 0;
    ctl[P + 6] = bAt; ctl[P + 7] = transB ? 1 : 0;
    ctl[P + 8] = cAt; ctl[P + 9] = accumulate ? 1 : 0;
    const simd = kind === 0 ? null : localKernels(arena);
    this.run(m, (r0, r1) => {
      if (simd === null) gemmSerial(m, n, k, f32, 0, transA, f32, bAt, transB, f32, cAt, accumulate, r0, r1);
      else simd.gemm(layout!, m, n, k, 0, 4 * bAt, 4 * cAt, accumulate, r0, r1);
    });
    c.set(f32.subarray(cAt, cAt + lenC), cOff);
    return true;
  }

  /** One Adam step split by element ranges (the JS kernel in every thread); false while workers start. */
  adam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, scalars: AdamScalarList): boolean {
    const n = p.length;
    const at = (x: number): number => (x + 3) & ~3;
    const gAt = at(n), mAt = gAt + at(n), vAt = mAt + at(n);
    if (!this.ensureArena(vAt + n, false)) return false;
    const f32 = this.arena!.f32;
    f32.set(p, 0);
    f32.set(g, gAt);
    f32.set(m, mAt);
    f32.set(v, vAt);
    const ctl = this.control;
    ctl[P] = KIND_ADAM;
    ctl[P + 1] = n; ctl[P + 4] = 0; ctl[P + 5] = gAt; ctl[P + 6] = mAt; ctl[P + 7] = vAt;
    this.scalars.set(scalars);
    this.run(n, (i0, i1) => adamJs(f32, 0, f32, gAt, f32, mAt, f32, vAt, i0, i1, ...scalars));
    p.set(f32.subarray(0, n));
    m.set(f32.subarray(mAt, mAt + n));
    v.set(f32.subarray(vAt, vAt + n));
    return true;
  }

  /**
   * Runs the task whose parameters are set, over [0, size) cut into chunks of a multiple of 4 (the kernels' tile):
   * every thread, this one included, claims chunks until none is left, so a worker that wakes late costs nothing but
   * its share. Each element is computed by the same kernel whichever thread claims it: results do not depend on it.
   */
  private run(size: number, compute: (start: number, end: number) => void): void {
    const ctl = this.control;
    const chunks = Math.min(Math.ceil(size / 4), (this.workers.length + 1) * CHUNKS_PER_THREAD);
    const chunk = Math.ceil(size / chunks / 4) * 4;
    const count = Math.ceil(size / chunk);
    ctl[P + 10] = count;
    ctl[P + 11] = chunk;
    ctl[P + 12] = size;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, NEXT, 0); // opens the claims: every parameter is in place
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    let done = 0;
    for (let c = Atomics.add(ctl, NEXT, 1); c < count; c = Atomics.add(ctl, NEXT, 1)) {
      compute(c * chunk, Math.min(size, (c + 1) * chunk));
      done = Atomics.add(ctl, DONE, 1) + 1;
    }
    // Wait for the chunks the workers claimed (spinning where this thread may not block: a browser's main thread, as
    // Emscripten's does); then close the claims until the next task.
    if (mayBlock()) for (let d = done; d < count; d = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, d);
    else while (Atomics.load(ctl, DONE) < count);
    Atomics.store(ctl, NEXT, CLOSED);
  }

  close(): void {
    if (this.workers.length === 0) return;
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, SEQ, 1);
    Atomics.notify(this.control, SEQ);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
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

/** The calling thread's instance of the kernel module on the pool's shared memory. */
const instances = new WeakMap<Arena, { gemm: (layout: GemmLayout, m: number, n: number, k: number, a: number, b: number, c: number, acc: boolean, r0: number, r1: number) => void }>();

function localKernels(arena: Arena) {
  let k = instances.get(arena);
  if (k === undefined) {
    const api = wasmApi()!;
    const fns = new api.Instance(arena.module!, { env: { memory: arena.memory } }).exports as Record<string, (...args: number[]) => void>;
    const byLayout = { nt: fns["gemm_nt"]!, nn: fns["gemm_nn"]!, tn: fns["gemm_tn"]! };
    k = { gemm: (layout, m, n, kk, a, b, c, acc, r0, r1) => byLayout[layout](m, n, kk, a, b, c, acc ? 1 : 0, r0, r1) };
    instances.set(arena, k);
  }
  return k;
}

/**
 * Runs `gemm` with the pool when it pays (enough work, more than one thread, workers ready); returns false when the
 * caller should compute on its own thread. `layout` selects the SIMD kernel (null: the JS kernel).
 */
export function parallelGemm(
  layout: GemmLayout | null, m: number, n: number, k: number,
  a: Float32Array, aOff: number, transA: boolean,
  b: Float32Array, bOff: number, transB: boolean,
  c: Float32Array, cOff: number, accumulate: boolean,
): boolean {
  const threads = getNumThreads();
  if (factory === null || threads < 2 || m * n * k < PARALLEL_MIN_MACS || m < 8) return false;
  pool ??= new Pool(threads, factory);
  const ran = pool.gemm(layout, m, n, k, a, aOff, transA, b, bOff, transB, c, cOff, accumulate);
  if (ran) parallelCalls++;
  return ran;
}

/**
 * One Adam step with the pool (JS kernel, element ranges) when the parameter is large and more than one thread is
 * set; false when the caller should update it alone. Element-wise, so the result is the same however it is split.
 */
export function parallelAdam(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, scalars: AdamScalarList): boolean {
  const threads = getNumThreads();
  if (factory === null || threads < 2 || p.length < PARALLEL_MIN_ADAM) return false;
  pool ??= new Pool(threads, factory);
  const ran = pool.adam(p, g, m, v, scalars);
  if (ran) parallelCalls++;
  return ran;
}

let parallelCalls = 0;

/** @internal How many products the pool has computed (tests use it to prove the workers ran). */
export function parallelCallCount(): number {
  return parallelCalls;
}

let source: string | null = null;

/** The worker's script: the JS kernel's own source text, the SIMD module's instance, and a wait/compute/notify loop. */
function workerSource(): string {
  source ??= `"use strict";
${gemmKernelSource()}
const kernel = ${gemmSerial.name}; // the name a bundler may have given it
${adamKernelSource()}
const adam = ${adamJs.name};
const run = ({ control: ctl, scalars: sc, memory, module, buffer, id }) => {
  let f32 = new Float32Array(memory !== null ? memory.buffer : buffer);
  const wasm = module !== null ? new WebAssembly.Instance(module, { env: { memory } }).exports : null;
  const simd = wasm === null ? [] : [null, wasm.gemm_nt, wasm.gemm_nn, wasm.gemm_tn];
  Atomics.add(ctl, ${READY}, 1);
  let seen = Atomics.load(ctl, ${SEQ});
  for (;;) {
    // Spin briefly before sleeping: a training step issues products a few hundred µs apart, and waking a sleeping
    // thread costs more than that on some machines.
    for (let spin = 0; spin < 50000 && Atomics.load(ctl, ${SEQ}) === seen; spin++);
    Atomics.wait(ctl, ${SEQ}, seen);
    const seq = Atomics.load(ctl, ${SEQ});
    if (seq === seen) continue;
    seen = seq;
    if (Atomics.load(ctl, ${STOP}) === 1) return;
    // Claim chunks until none is left. A successful claim pins the task (it cannot end before this chunk is done),
    // so the parameters are read after it.
    const P = ${P};
    for (let c = Atomics.add(ctl, ${NEXT}, 1); c < ctl[P + 10]; c = Atomics.add(ctl, ${NEXT}, 1)) {
      const count = ctl[P + 10], chunk = ctl[P + 11], size = ctl[P + 12];
      const r0 = c * chunk, r1 = Math.min(size, r0 + chunk);
      const kind = ctl[P], m = ctl[P + 1], n = ctl[P + 2], k = ctl[P + 3];
      if (memory !== null && f32.byteLength !== memory.buffer.byteLength) f32 = new Float32Array(memory.buffer);
      if (kind === ${KIND_ADAM}) {
        adam(f32, 0, f32, ctl[P + 5], f32, ctl[P + 6], f32, ctl[P + 7], r0, r1, sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7]);
      } else if (kind === 0) {
        kernel(m, n, k, f32, ctl[P + 4], ctl[P + 5] === 1, f32, ctl[P + 6], ctl[P + 7] === 1, f32, ctl[P + 8], ctl[P + 9] === 1, r0, r1);
      } else {
        simd[kind](m, n, k, 4 * ctl[P + 4], 4 * ctl[P + 6], 4 * ctl[P + 8], ctl[P + 9], r0, r1);
      }
      if (Atomics.add(ctl, ${DONE}, 1) + 1 === count) Atomics.notify(ctl, ${DONE});
    }
  }
};
if (typeof self !== "undefined" && typeof self.postMessage === "function") {
  self.onmessage = (e) => run(e.data);
} else {
  require("node:worker_threads").parentPort.once("message", run);
}
`;
  return source;
}
