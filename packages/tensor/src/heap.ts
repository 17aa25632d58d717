// The tensor heap: the one WebAssembly memory where tensor storage and kernel scratch live, shared with the worker
// threads where SharedArrayBuffer exists, so the SIMD kernels and the workers read operands where they lie.
import { createMemory, sharedMemorySupported, WASM_PAGE_BYTES } from "./wasm/index.js";
import { wasmApi, type WasmMemory } from "./wasm/webassembly.js";

/**
 * The heap's maximum, in 64 KiB pages (1 GiB; a shared memory reserves its address space up front). Storage asked
 * for beyond it comes from ordinary `Float32Array`s, which the kernels copy in and out.
 */
export const HEAP_MAX_PAGES = 16384;
/**
 * Tensor storage the heap holds at most (256 MiB, and half the heap where a smaller one could be reserved): past it,
 * new storage is ordinary arrays. Blocks of arrays the
 * program dropped come back only once the collector has run and the event loop has turned (FinalizationRegistry), so
 * a loop that never yields could otherwise fill the heap with storage nobody can reach.
 */
export const HEAP_STORAGE_BYTES = 256 * 2 ** 20;
/** Arrays shorter than this are ordinary `Float32Array`s (a loss, a bias of a few values): no kernel reads them in place. */
export const HEAP_MIN_FLOATS = 64;
/** Blocks start on a cache line. */
const LINE = 64;

/**
 * A `Float32Array` whose elements lie in the tensor heap (its `byteOffset` is their address there). It is the storage
 * of tensors wherever memory can be shared: it behaves as any `Float32Array`, except that its `buffer` is the whole
 * heap (view it through the array itself, or `byteOffset` and `byteLength`). Its `constructor` is `Float32Array`, so
 * copies (`slice`, `map`, `filter`) are ordinary arrays and it compares equal to a `Float32Array` of the same values.
 * Its block goes back to the heap when the garbage collector reclaims it; a `subarray` of it keeps it alive.
 */
export class HeapArray extends Float32Array {
  /** A view of elements [begin, end) (negative: from the end), which keeps this array, and so its block, alive. */
  override subarray(begin = 0, end: number = this.length): HeapArray {
    const len = this.length;
    const from = relative(begin, len), to = relative(end, len);
    const view = new HeapArray(this.buffer, this.byteOffset + 4 * from, Math.max(to - from, 0));
    pins.set(view, this);
    return view;
  }
}

// Its `constructor` is `Float32Array`: a HeapArray compares equal to a Float32Array of the same values wherever equality
// looks at constructors (test runners' deep equality), and copies made through the species are Float32Arrays.
Object.defineProperty(HeapArray.prototype, "constructor", { value: Float32Array, writable: true, configurable: true });

/** ToIntegerOrInfinity then clamped into [0, len], as `TypedArray.prototype.subarray` does. */
function relative(index: number, len: number): number {
  const i = Math.trunc(Number(index)) || 0;
  return i < 0 ? Math.max(len + i, 0) : Math.min(i, len);
}

/** View → the array it was cut from (kept alive as long as the view is). */
const pins = new WeakMap<HeapArray, HeapArray>();

/** The bytes of the block that holds `floats` values: whole cache lines, then 8 sizes per power of two. */
export function blockBytes(floats: number): number {
  const bytes = Math.ceil((4 * floats) / LINE) * LINE;
  if (bytes <= 16 * LINE) return Math.max(bytes, LINE);
  const unit = 2 ** (31 - Math.clz32(bytes) - 3);
  return Math.ceil(bytes / unit) * unit;
}

/**
 * One WebAssembly memory and an allocator over it: freed blocks are kept by size class (see {@link blockBytes}) and
 * taken again by requests of that class; the rest grows from the top. Addresses are bytes.
 */
export class Heap {
  private top = LINE; // address 0 stays unused
  private readonly free = new Map<number, number[]>();
  private view: HeapArray;
  private usedBytes = 0;

  /** `maxBytes`: the memory's maximum (what {@link heapArray} leaves half of to kernel scratch). */
  constructor(readonly memory: WasmMemory, readonly shared: boolean, readonly maxBytes = HEAP_MAX_PAGES * WASM_PAGE_BYTES) {
    this.view = new HeapArray(memory.buffer as ArrayBuffer);
  }

  /** A block of `bytes` (a {@link blockBytes} size), or -1 when the heap is at its maximum. */
  alloc(bytes: number): number {
    const list = this.free.get(bytes);
    if (list !== undefined && list.length > 0) {
      this.usedBytes += bytes;
      return list.pop()!;
    }
    const ptr = this.top, end = ptr + bytes, have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.max(Math.ceil((end - have) / WASM_PAGE_BYTES), Math.min(have / WASM_PAGE_BYTES, 256)));
      } catch {
        try {
          this.memory.grow(Math.ceil((end - have) / WASM_PAGE_BYTES));
        } catch {
          return -1; // past the maximum
        }
      }
    }
    this.top = end;
    this.usedBytes += bytes;
    return ptr;
  }

  /** Gives back a block from {@link Heap.alloc}. */
  release(ptr: number, bytes: number): void {
    let list = this.free.get(bytes);
    if (list === undefined) {
      list = [];
      this.free.set(bytes, list);
    }
    list.push(ptr);
    this.usedBytes -= bytes;
  }

  /**
   * A view of the whole memory (re-made after the memory grew); element t is the f32 at byte 4t. A `HeapArray`, so
   * the gemm dispatcher reads views of it in place.
   */
  f32(): HeapArray {
    if (this.view.byteLength !== this.memory.buffer.byteLength) this.view = new HeapArray(this.memory.buffer as ArrayBuffer);
    return this.view;
  }

  /** A Float64Array over the whole memory (for kernels that write float64), valid until the heap next grows. */
  f64(): Float64Array {
    if (this.view64 === null || this.view64.byteLength !== this.memory.buffer.byteLength) this.view64 = new Float64Array(this.memory.buffer);
    return this.view64;
  }
  private view64: Float64Array | null = null;

  /** Bytes in blocks now handed out, and bytes the memory spans. */
  stats(): { readonly usedBytes: number; readonly heapBytes: number } {
    return { usedBytes: this.usedBytes, heapBytes: this.memory.buffer.byteLength };
  }
}

let heap: Heap | null | undefined;

/**
 * The heap, made at first use: shared where SharedArrayBuffer and shared WebAssembly memories exist (Node, a
 * cross-origin isolated page), else a plain memory used for kernel scratch only (a plain memory's buffer is detached
 * when it grows, so no storage may lie there); null without WebAssembly.
 */
export function kernelHeap(): Heap | null {
  if (heap === undefined) {
    heap = null;
    // A shared memory reserves its maximum up front: where the address space is short (a 32-bit browser), a smaller one.
    const kinds = wasmApi() !== null && sharedMemorySupported() ? [true, false] : [false];
    search: for (const shared of kinds) {
      for (const maxPages of [HEAP_MAX_PAGES, HEAP_MAX_PAGES / 4, HEAP_MAX_PAGES / 16]) {
        try {
          heap = new Heap(createMemory({ initialPages: 64, maxPages, shared }), shared, maxPages * WASM_PAGE_BYTES);
          break search;
        } catch {
          // a smaller reservation, then a plain memory; without any, no heap (no WebAssembly here)
        }
      }
    }
  }
  return heap;
}

let storageBytes = 0; // in blocks of arrays made by heapArray and not yet reclaimed

/** Blocks of arrays the garbage collector reclaimed go back to the heap. */
const reclaim = new FinalizationRegistry<readonly [number, number]>(([ptr, bytes]) => {
  storageBytes -= bytes;
  heap?.release(ptr, bytes);
});

let made = 0;

/** @internal How many arrays {@link heapArray} has made (tests count what a step creates). */
export function heapArraysMade(): number {
  return made;
}

/** Arrays that own their block (made by {@link heapArray}), as opposed to views of them. */
const owners = new WeakSet<Float32Array>();

/**
 * A new array of `n` f32 in the shared heap (contents unspecified: write every element), or null where storage cannot
 * lie in the heap (no shared memory, fewer than {@link HEAP_MIN_FLOATS} values, past {@link HEAP_STORAGE_BYTES}, or the
 * heap is full).
 */
export function heapArray(n: number): HeapArray | null {
  if (n < HEAP_MIN_FLOATS) return null;
  const h = kernelHeap();
  if (h === null || !h.shared) return null;
  const bytes = blockBytes(n);
  if (storageBytes + bytes > Math.min(HEAP_STORAGE_BYTES, h.maxBytes / 2)) return null;
  const ptr = h.alloc(bytes);
  if (ptr < 0) return null;
  storageBytes += bytes;
  const a = new HeapArray(h.memory.buffer as ArrayBuffer, ptr, n);
  made++;
  owners.add(a);
  reclaim.register(a, [ptr, bytes]);
  return a;
}

/** Whether `a` owns a block of the heap (so a pool may recycle it whole). */
export function ownsBlock(a: Float32Array): boolean {
  return owners.has(a);
}

/**
 * Scratch for one kernel call: blocks taken with `alloc` (byte addresses) and all given back by `reset`. Used where an
 * operand does not lie in the heap and must be copied in, and for a kernel's temporaries.
 */
export class Scratch {
  private readonly taken: number[] = [];

  constructor(private readonly heap: Heap) {}

  /** The byte address of `count` f32 (contents unspecified); throws when the heap is full. */
  alloc(count: number): number {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`Scratch.alloc: expected a non-negative integer count, got ${count}`);
    const bytes = blockBytes(count);
    const ptr = this.heap.alloc(bytes);
    if (ptr < 0) throw new RangeError(`out of WebAssembly memory: ${count} floats do not fit in the ${HEAP_MAX_PAGES / 16} MiB heap`);
    this.taken.push(ptr, bytes);
    return ptr;
  }

  /** Gives every block back. */
  reset(): void {
    const t = this.taken;
    for (let i = 0; i < t.length; i += 2) this.heap.release(t[i]!, t[i + 1]!);
    t.length = 0;
  }
}

/** The byte address of element `offset` of `a` when `a` lies in the shared heap, else -1. */
export function addressOf(a: Float32Array, offset: number): number {
  return a instanceof HeapArray ? a.byteOffset + 4 * offset : -1;
}
