// Fork/join over worker threads for the large matrix products: operands copied into one SharedArrayBuffer arena,
// rows of C split between the calling thread and the workers, Atomics to start and join. Environment-neutral: the
// host supplies how to start a worker (Node's worker_threads, or a browser Worker) with setWorkerFactory.
import { gemmKernelSource, gemmSerial } from "./kernels/matmul";

/** The little a worker must offer: Node's `Worker` and the browser's `Worker` both fit. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): unknown;
  unref?(): void;
}

/** Starts a worker that runs `source` (classic script text). */
export type WorkerFactory = (source: string) => WorkerLike;

let factory: WorkerFactory | null = null;
let requested = 1;
let pool: Pool | null = null;

/** Products below this many multiply-adds run on the calling thread alone (fork/join costs ~30 µs). */
export const PARALLEL_MIN_MACS = 1 << 19;

/**
 * Sets how workers are started (e.g. `(src) => new Worker(src, { eval: true })` from `node:worker_threads`). Until a
 * factory is set, every product runs on the calling thread.
 */
export function setWorkerFactory(f: WorkerFactory | null): void {
  factory = f;
  resetPool();
}

/**
 * Threads used by large matrix products (`torch.set_num_threads`): the calling thread plus `n − 1` workers. With 1,
 * no worker is started. Results are bit-identical whatever the count: each element is summed in the same order.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`setNumThreads: expected an integer in [1, 256], got ${n}`);
  requested = n;
  resetPool();
}

/** The threads large products will use (1 until a worker factory is set). */
export function getNumThreads(): number {
  return factory === null ? 1 : requested;
}

function resetPool(): void {
  pool?.close();
  pool = null;
}

// Control block (Int32Array over a SharedArrayBuffer).
const SEQ = 0; // task sequence number, bumped to start a task
const DONE = 1; // workers finished with the current task
const READY = 2; // workers that have started
const STOP = 3; // 1: workers exit
const P = 8; // task parameters: m n k aOff transA bOff transB cOff accumulate
const ROWS = 24; // per-worker [rowStart, rowEnd)

class Pool {
  private readonly workers: WorkerLike[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * (ROWS + 2 * 256)));
  private arena: Float32Array = new Float32Array(0);

  constructor(private readonly threads: number, private readonly start: WorkerFactory) {}

  /** Workers ready to take rows; 0 while they start (the caller then computes alone: same result). */
  private ready(): number {
    return Atomics.load(this.control, READY);
  }

  private ensureArena(floats: number): boolean {
    if (this.arena.length >= floats && this.workers.length > 0) return true;
    this.close();
    const size = Math.max(floats, this.arena.length * 2, 1 << 18);
    this.arena = new Float32Array(new SharedArrayBuffer(4 * size));
    Atomics.store(this.control, READY, 0);
    Atomics.store(this.control, STOP, 0);
    Atomics.store(this.control, SEQ, 0);
    for (let w = 0; w < this.threads - 1; w++) {
      const worker = this.start(workerSource());
      worker.unref?.();
      worker.postMessage({ control: this.control, arena: this.arena, id: w });
      this.workers.push(worker);
    }
    return false;
  }

  gemm(
    m: number, n: number, k: number,
    a: Float32Array, aOff: number, transA: boolean,
    b: Float32Array, bOff: number, transB: boolean,
    c: Float32Array, cOff: number, accumulate: boolean,
  ): boolean {
    const lenA = m * k, lenB = k * n, lenC = m * n;
    if (!this.ensureArena(lenA + lenB + lenC)) return false;
    const helpers = this.workers.length;
    if (this.ready() < helpers) return false;
    const arena = this.arena;
    arena.set(a.subarray(aOff, aOff + lenA), 0);
    arena.set(b.subarray(bOff, bOff + lenB), lenA);
    const cAt = lenA + lenB;
    if (accumulate) arena.set(c.subarray(cOff, cOff + lenC), cAt);
    const ctl = this.control;
    ctl[P] = m; ctl[P + 1] = n; ctl[P + 2] = k;
    ctl[P + 3] = 0; ctl[P + 4] = transA ? 1 : 0;
    ctl[P + 5] = lenA; ctl[P + 6] = transB ? 1 : 0;
    ctl[P + 7] = cAt; ctl[P + 8] = accumulate ? 1 : 0;
    // Rows split evenly, in multiples of 4 (the kernel's tile), the calling thread taking the first share.
    const parts = helpers + 1;
    const bounds = [0];
    for (let t = 1; t < parts; t++) bounds.push(Math.min(m, Math.round((m * t) / parts / 4) * 4));
    bounds.push(m);
    for (let w = 0; w < helpers; w++) {
      ctl[ROWS + 2 * w] = bounds[w + 1]!;
      ctl[ROWS + 2 * w + 1] = bounds[w + 2]!;
    }
    Atomics.store(ctl, DONE, 0);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    gemmSerial(m, n, k, arena, 0, transA, arena, lenA, transB, arena, cAt, accumulate, 0, bounds[1]!);
    for (let d = Atomics.load(ctl, DONE); d < helpers; d = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, d);
    c.set(arena.subarray(cAt, cAt + lenC), cOff);
    return true;
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

/**
 * Runs `gemm` with the pool when it pays (enough work, more than one thread, workers ready); returns false when the
 * caller should compute on its own thread.
 */
export function parallelGemm(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, transA: boolean,
  b: Float32Array, bOff: number, transB: boolean,
  c: Float32Array, cOff: number, accumulate: boolean,
): boolean {
  if (factory === null || requested < 2 || m * n * k < PARALLEL_MIN_MACS || m < 8) return false;
  pool ??= new Pool(requested, factory);
  const ran = pool.gemm(m, n, k, a, aOff, transA, b, bOff, transB, c, cOff, accumulate);
  if (ran) parallelCalls++;
  return ran;
}

let parallelCalls = 0;

/** @internal How many products the pool has computed (tests use it to prove the workers ran). */
export function parallelCallCount(): number {
  return parallelCalls;
}

let source: string | null = null;

/** The worker's script: the serial kernels' own source text plus a wait/compute/notify loop (Node or browser). */
function workerSource(): string {
  source ??= `"use strict";
${gemmKernelSource()}
const kernel = ${gemmSerial.name}; // the name a bundler may have given it
const run = ({ control: ctl, arena, id }) => {
  Atomics.add(ctl, ${READY}, 1);
  let seen = Atomics.load(ctl, ${SEQ});
  for (;;) {
    Atomics.wait(ctl, ${SEQ}, seen);
    const seq = Atomics.load(ctl, ${SEQ});
    if (seq === seen) continue;
    seen = seq;
    if (Atomics.load(ctl, ${STOP}) === 1) return;
    const P = ${P};
    kernel(ctl[P], ctl[P + 1], ctl[P + 2], arena, ctl[P + 3], ctl[P + 4] === 1, arena, ctl[P + 5], ctl[P + 6] === 1,
      arena, ctl[P + 7], ctl[P + 8] === 1, ctl[${ROWS} + 2 * id], ctl[${ROWS} + 2 * id + 1]);
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
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
