// Tests of the tensor heap: storage in the shared memory, HeapArray's Float32Array behaviour, block sizes, the
// allocator's reuse and limits, and blocks coming back when the garbage collector reclaims an array.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { addressOf, blockBytes, Heap, HEAP_MIN_FLOATS, heapArray, HeapArray, kernelHeap, ownsBlock, Scratch } from "./heap.js";
import { createMemory, WASM_PAGE_BYTES } from "./wasm/index.js";
import { tensor, zeros } from "./creation.js";
import { memoryStats } from "./pool.js";

describe("heapArray", () => {
  it("puts storage in the shared memory, at its byteOffset, from HEAP_MIN_FLOATS values on", () => {
    const a = heapArray(100)!;
    expect(a).toBeInstanceOf(HeapArray);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(a.length).toBe(100);
    expect(addressOf(a, 3)).toBe(a.byteOffset + 12);
    expect(ownsBlock(a)).toBe(true);
    a.fill(2.5);
    expect(kernelHeap()!.f32()[(a.byteOffset >> 2) + 99]).toBe(2.5);
    expect(heapArray(HEAP_MIN_FLOATS - 1)).toBeNull();
    expect(addressOf(new Float32Array(100), 0)).toBe(-1);
  });

  it("is what tensor() and the factories store in, and each tensor has bytes of its own", () => {
    const x = tensor(Float32Array.from({ length: 300 }, (_, i) => i)), y = zeros([300]);
    expect(x.data).toBeInstanceOf(HeapArray);
    expect(y.data).toBeInstanceOf(HeapArray);
    const [lo, hi] = x.data.byteOffset < y.data.byteOffset ? [x.data, y.data] : [y.data, x.data];
    expect(lo.byteOffset + lo.byteLength).toBeLessThanOrEqual(hi.byteOffset);
    expect(Array.from(y.data).every((v) => v === 0)).toBe(true);
  });
});

describe("HeapArray behaves as a Float32Array", () => {
  const a = heapArray(80)!;
  a.forEach((_, i) => (a[i] = i));
  const plain = Float32Array.from(a);

  it.each([[undefined, undefined], [2, 10], [-5, undefined], [-100, 3], [70, 200], [10, 2], [Number.NaN, 4], [1.7, 5.2]])(
    "subarray(%s, %s) views the same elements as Float32Array's, and keeps its array",
    (begin, end) => {
      const view = a.subarray(begin, end), expected = plain.subarray(begin, end);
      expect(view).toBeInstanceOf(HeapArray);
      expect(Array.from(view)).toEqual(Array.from(expected));
      expect(view.byteOffset - a.byteOffset).toBe(expected.byteOffset);
      expect(ownsBlock(view)).toBe(false);
    },
  );

  it("copies to ordinary arrays, and compares equal to a Float32Array of its values", () => {
    for (const copy of [a.slice(1, 4), a.map((v) => v * 2), a.filter((v) => v > 70)]) {
      expect(copy).not.toBeInstanceOf(HeapArray);
      expect(copy.constructor).toBe(Float32Array);
      expect(copy.buffer).toBeInstanceOf(ArrayBuffer);
    }
    expect(a).toEqual(plain);
    expect(a).toStrictEqual(plain);
    expect(a.constructor).toBe(Float32Array);
  });
});

describe("blockBytes", () => {
  it("gives whole cache lines, then 8 sizes per power of two: enough room, at most 12.5 % more above 1 KiB", () => {
    let last = 0;
    for (let n = 1; n < 300_000; n = Math.ceil(n * 1.07)) {
      const b = blockBytes(n);
      expect(b % 64).toBe(0);
      expect(b).toBeGreaterThanOrEqual(4 * n);
      expect(b).toBeGreaterThanOrEqual(last);
      if (4 * n > 1024) expect(b).toBeLessThanOrEqual(Math.ceil(4 * n * 1.125));
      last = b;
    }
    expect(blockBytes(64 * 784)).toBe(blockBytes(64 * 784 - 3)); // a class holds nearby sizes
  });
});

describe("Heap", () => {
  it("gives a released block to the next request of its size, grows, and answers -1 past its maximum", () => {
    const heap = new Heap(createMemory({ initialPages: 1, maxPages: 4, shared: true }), true);
    const a = heap.alloc(1024), b = heap.alloc(1024);
    expect(b).toBe(a + 1024);
    heap.release(a, 1024);
    expect(heap.alloc(1024)).toBe(a);
    const big = heap.alloc(2 * WASM_PAGE_BYTES);
    expect(big).toBeGreaterThan(b);
    expect(heap.f32().length).toBeGreaterThanOrEqual((big + 2 * WASM_PAGE_BYTES) / 4);
    expect(heap.alloc(4 * WASM_PAGE_BYTES)).toBe(-1);
    expect(heap.stats().usedBytes).toBe(2048 + 2 * WASM_PAGE_BYTES);
  });
});

describe("Scratch", () => {
  it("gives cache-line aligned, disjoint blocks, and all of them back at once", () => {
    const heap = new Heap(createMemory({ initialPages: 1, maxPages: 4 }), false);
    const scratch = new Scratch(heap);
    const a = scratch.alloc(3), b = scratch.alloc(20), c = scratch.alloc(1);
    expect([a % 64, b % 64, c % 64]).toEqual([0, 0, 0]);
    expect(b).toBeGreaterThanOrEqual(a + 12);
    expect(c).toBeGreaterThanOrEqual(b + 80);
    scratch.reset();
    expect(heap.stats().usedBytes).toBe(0);
    expect([a, c]).toContain(new Scratch(heap).alloc(3)); // a block given back is taken again
  });

  it.each([[-1], [1.5]])("rejects a count of %d", (count) => {
    expect(() => new Scratch(new Heap(createMemory(), false)).alloc(count)).toThrow(/Scratch.alloc: expected a non-negative integer count, got/);
  });

  it("says so when the heap is full", () => {
    const scratch = new Scratch(new Heap(createMemory({ initialPages: 1, maxPages: 1 }), false));
    expect(() => scratch.alloc(WASM_PAGE_BYTES)).toThrow(/out of WebAssembly memory/);
  });

  it.each([false, true])("grows the memory (shared: %s), keeps the data, and f32() follows", (shared) => {
    const memory = createMemory({ initialPages: 1, maxPages: 64, shared });
    const heap = new Heap(memory, shared);
    const scratch = new Scratch(heap);
    const first = scratch.alloc(100);
    heap.f32().fill(7, first / 4, first / 4 + 100);
    const oldView = heap.f32();
    const big = scratch.alloc(3 * WASM_PAGE_BYTES / 4); // three more pages than the first one holds
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(big + 3 * WASM_PAGE_BYTES);
    expect(heap.f32() === oldView).toBe(false); // the old view is detached (plain) or too short (shared)
    expect(heap.f32().length).toBe(memory.buffer.byteLength / 4);
    expect(heap.f32()[first / 4 + 99]).toBe(7);
    heap.f32()[big / 4 + 10] = 3;
    expect(new Float32Array(memory.buffer, big, 11)[10]).toBe(3);
  });
});

describe("blocks of dropped arrays", () => {
  it("go back to the heap once the collector has reclaimed them and the event loop has turned", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const used = (): number => memoryStats().heapUsedBytes;
    const made = ((): number => {
      const before = used();
      for (let i = 0; i < 50; i++) heapArray(10_000);
      return used() - before;
    })();
    expect(made).toBe(50 * blockBytes(10_000));
    const before = used();
    for (let i = 0; i < 20 && used() > before - made; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(used()).toBeLessThanOrEqual(before - made);
  });
});
