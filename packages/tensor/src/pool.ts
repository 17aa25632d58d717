// The storage pool: arrays that nothing can see any more, handed back by autograd and taken again by the next step.
import { heapArray, kernelHeap, ownsBlock } from "./heap.js";

/** An array the pool recycles. */
export type PoolArray = Float32Array | Float64Array | Int32Array;

/** What {@link memoryStats} reports (`torch.cuda.memory_stats` in spirit). */
export interface MemoryStats {
  /** Arrays created because none of their size was free. */
  readonly allocatedArrays: number;
  /** Bytes of those arrays. */
  readonly allocatedBytes: number;
  /** Arrays served from the pool instead. */
  readonly reusedArrays: number;
  /** Arrays waiting in the pool now. */
  readonly cachedArrays: number;
  /** Bytes waiting in the pool now. */
  readonly cachedBytes: number;
  /**
   * Bytes of the WebAssembly memory that holds tensor storage where memory can be shared (the tensor heap; it never
   * shrinks, like PyTorch's caching allocator), 0 before first use or where there is none.
   */
  readonly heapBytes: number;
  /** Bytes of the heap in blocks now held: by live arrays, the pool's free arrays, or arrays not yet collected. */
  readonly heapUsedBytes: number;
}

/** At most this many free arrays of one length and kind are kept; more go to the garbage collector. */
const MAX_PER_SIZE = 32;
/** At most this many bytes are kept free in all. */
const MAX_CACHED_BYTES = 256 * 2 ** 20;
/** Int32 pattern written over taken and released arrays in debug mode (a class index no model has). */
const POISON_INT = -0x5a5a5a5b;

type Kind = "f32" | "f64" | "i32";
const free: Record<Kind, Map<number, PoolArray[]>> = { f32: new Map(), f64: new Map(), i32: new Map() };
let allocatedArrays = 0;
let allocatedBytes = 0;
let reusedArrays = 0;
let cachedArrays = 0;
let cachedBytes = 0;
let debug = false;
const inPool = new Set<PoolArray>(); // filled only in debug mode, to catch an array released twice

function kindOf(a: PoolArray): Kind {
  return a instanceof Float32Array ? "f32" : a instanceof Float64Array ? "f64" : "i32";
}

function take<T extends PoolArray>(kind: Kind, n: number, make: (n: number) => T): T {
  const list = free[kind].get(n);
  const a = list?.pop() as T | undefined;
  if (a === undefined) {
    allocatedArrays++;
    allocatedBytes += n * (kind === "f64" ? 8 : 4);
    const fresh = make(n);
    if (debug) poison(fresh);
    return fresh;
  }
  reusedArrays++;
  cachedArrays--;
  cachedBytes -= a.byteLength;
  if (debug) inPool.delete(a);
  return a;
}

function poison(a: PoolArray): void {
  a.fill(a instanceof Int32Array ? POISON_INT : NaN);
}

/**
 * A `Float32Array` of `n` elements for an op's result or saved values: a recycled one when the pool has one of that
 * length (its contents are then left over from earlier use: write every element), a new one otherwise. For authors
 * of ops ({@link defineOp}); tensors built from it own it like any other array.
 */
export function takeArray(n: number): Float32Array {
  return take("f32", n, newFloat32);
}

/**
 * A new `Float32Array` of `n` elements: in the shared tensor heap where it can lie there (so the SIMD kernels and the
 * worker threads read it in place), else an ordinary one. Contents unspecified when it is in the heap.
 */
export function newFloat32(n: number): Float32Array {
  return heapArray(n) ?? new Float32Array(n);
}

/** As {@link takeArray}, filled with zeros. */
export function takeZeros(n: number): Float32Array {
  return takeArray(n).fill(0);
}

/** As {@link takeArray}, for float64 scratch (e.g. sums kept in double precision between forward and backward). */
export function takeFloat64(n: number): Float64Array {
  return take("f64", n, (k) => new Float64Array(k));
}

/** As {@link takeArray}, for int32 scratch (e.g. class indices saved for the backward). */
export function takeInt32(n: number): Int32Array {
  return take("i32", n, (k) => new Int32Array(k));
}

/**
 * Hands an array back to the pool: the caller promises that nothing (no tensor, closure or caller) reads or writes it
 * again. Autograd does this itself for what it owns; ops need it only for scratch arrays that never leave them.
 * Arrays that are views (`subarray`), or backed by shared memory other than a block of the tensor heap, are not recycled.
 */
export function releaseArray(a: PoolArray): void {
  const whole = a instanceof Float32Array && ownsBlock(a)
    || a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;
  if (!whole) return;
  if (debug) {
    if (inPool.has(a)) throw new Error("internal: an array was released to the pool twice");
    poison(a);
  }
  const kind = kindOf(a);
  let list = free[kind].get(a.length);
  if (list === undefined) {
    list = [];
    free[kind].set(a.length, list);
  }
  if (list.length >= MAX_PER_SIZE || cachedBytes + a.byteLength > MAX_CACHED_BYTES) return;
  list.push(a);
  cachedArrays++;
  cachedBytes += a.byteLength;
  if (debug) inPool.add(a);
}

/**
 * Counters of the storage pool: how many arrays ops had to create and how many they reused. In a steady training
 * loop `allocatedArrays` grows only by the tensors handed to the caller (the model's output, the loss).
 *
 * ```ts
 * const before = memoryStats().allocatedArrays;
 * trainStep();
 * memoryStats().allocatedArrays - before; // 2 for forward + cross-entropy + backward + Adam
 * ```
 */
export function memoryStats(): MemoryStats {
  const heap = kernelHeap()?.stats();
  return { allocatedArrays, allocatedBytes, reusedArrays, cachedArrays, cachedBytes, heapBytes: heap?.heapBytes ?? 0, heapUsedBytes: heap?.usedBytes ?? 0 };
}

/** Drops every free array, leaving them to the garbage collector (`torch.cuda.empty_cache()`). */
export function emptyCache(): void {
  for (const kind of ["f32", "f64", "i32"] as const) free[kind].clear();
  inPool.clear();
  cachedArrays = 0;
  cachedBytes = 0;
}

/**
 * Debug mode for authors of ops: arrays are filled with NaN (int32: a huge negative) when taken and when released,
 * and releasing one twice throws. An op that reads what it did not write, or an array used after it went back to the
 * pool, then shows up as NaN. Off by default; the test suite runs with it on.
 */
export function setMemoryDebug(on: boolean): void {
  debug = on;
  if (!on) inPool.clear();
  else for (const kind of ["f32", "f64", "i32"] as const) for (const list of free[kind].values()) for (const a of list) inPool.add(a);
}
