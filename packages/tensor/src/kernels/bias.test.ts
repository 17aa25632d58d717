// A Linear's bias add and bias gradient: the SIMD kernels give the JavaScript loops' bits, tails and odd widths included.
import { describe, expect, it } from "vitest";
import { sameBits } from "@tsgrad/testing";
import { getBackend, setBackend } from "../compute.js";
import { Generator } from "../random.js";
import { tensor } from "../creation.js";
import { addBiasRows, biasGradient } from "./bias.js";

/** Values over 16 orders of magnitude (so that the order of sums shows), with NaN and −0 among them. */
function values(n: number, g: Generator): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (i % 211 === 5 ? NaN : i % 97 === 3 ? -0 : g.nextNormal() * 10 ** Math.floor(g.nextFloat() * 17 - 8)));
}

/** Runs `fn` on the given backend. */
function on<T>(backend: "js" | "wasm", fn: () => T): T {
  const previous = getBackend();
  setBackend(backend);
  try {
    return fn();
  } finally {
    setBackend(previous);
  }
}

describe("bias kernels: wasm = JavaScript, bit for bit", () => {
  const shapes: [number, number][] = [[64, 128], [64, 10], [33, 1], [9, 130], [17, 127], [1024, 3], [5, 1029]];
  it.each(shapes)("%i rows of %i: the bias added to each row, in the heap and out of it", (rows, n) => {
    const g = new Generator(rows * 1000 + n);
    const x = values(rows * n, g), b = values(n, g);
    const js = on("js", () => {
      const out = x.slice();
      addBiasRows(out, b, rows, n);
      return out;
    });
    for (const heap of [true, false]) {
      const out = on("wasm", () => {
        const o = heap ? tensor(x).data : x.slice();
        addBiasRows(o, heap ? tensor(b).data : b, rows, n);
        return o;
      });
      expect(sameBits(out, js), `heap ${heap}`).toBe(true);
    }
  });

  it.each(shapes)("%i rows of %i: the bias gradient (float64 column sums in row order)", (rows, n) => {
    const g = new Generator(rows * 7 + n);
    const dy = values(rows * n, g);
    const want = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < rows; i++) s += dy[i * n + j]!;
      want[j] = s;
    }
    for (const backend of ["js", "wasm"] as const) {
      for (const heap of [true, false]) {
        const out = new Float32Array(n);
        on(backend, () => biasGradient(heap ? tensor(dy).data : dy, rows, n, out));
        expect(sameBits(out, want), `${backend}, heap ${heap}`).toBe(true);
      }
    }
  });
});
