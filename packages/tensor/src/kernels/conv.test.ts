// convDirect: the direct SIMD convolution gives the im2col + wasm gemm path's bits (bias, padding, leftover columns,
// several input channels and chunks of images), and declines where that path would not take the wasm gemm.
import { afterEach, describe, expect, it } from "vitest";
import { gemm, getBackend, setBackend } from "../compute.js";
import { Generator } from "../random.js";
import { kernelInstructions } from "../wasm/index.js";
import { convDirect, im2col, type ConvGeometry } from "./conv.js";

const previous = getBackend();
afterEach(() => setBackend(previous));

function random(n: number, g: Generator): Float32Array {
  return Float32Array.from({ length: n }, () => g.nextNormal());
}

function geometry(cin: number, h: number, w: number, k: number, pad: number): ConvGeometry {
  return {
    channels: cin, height: h, width: w, kernelH: k, kernelW: k, strideH: 1, strideW: 1, padTop: pad, padLeft: pad,
    dilationH: 1, dilationW: 1, outH: h + 2 * pad - k + 1, outW: w + 2 * pad - k + 1,
  };
}

/** The im2col path of conv2d's forward: per image the patch matrix times the weights on the gemm dispatcher, + bias. */
function reference(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, n: number, cout: number): Float32Array {
  const kk = g.channels * g.kernelH * g.kernelW, outPlane = g.outH * g.outW;
  const out = new Float32Array(n * cout * outPlane), col = new Float32Array(kk * outPlane);
  for (let img = 0; img < n; img++) {
    im2col(g, x, img * g.channels * g.height * g.width, col, 0);
    gemm(cout, outPlane, kk, w, 0, false, col, 0, false, out, img * cout * outPlane);
  }
  if (bias !== null) for (let i = 0; i < out.length; i++) out[i]! += bias[Math.floor(i / outPlane) % cout]!;
  return out;
}

describe("convDirect", () => {
  // [images, cin, height, width, kernel, padding, cout, bias]: conv1 of the MNIST CNN (26 columns: 6 groups + 2
  // single), padding (the pad kernel first), 3 channels, a 5×5 kernel, and more images than one chunk.
  const cases: [number, number, number, number, number, number, number, boolean][] = [
    [5, 1, 28, 28, 3, 0, 32, true],
    [3, 1, 28, 28, 3, 1, 12, false],
    [2, 3, 30, 17, 3, 2, 12, true],
    [4, 1, 31, 29, 5, 0, 4, true],
    [40, 1, 28, 28, 3, 0, 32, true],
  ];
  it.each(cases)("%i images, %i channels, %i×%i, kernel %i, padding %i, %i outputs, bias %s", (n, cin, h, w, k, pad, cout, withBias) => {
    setBackend("wasm");
    const gen = new Generator(n * 1000 + h * 10 + cin);
    const g = geometry(cin, h, w, k, pad);
    const x = random(n * cin * h * w, gen), wt = random(cout * cin * k * k, gen), b = withBias ? random(cout, gen) : null;
    for (let i = 0; i < x.length; i += 97) x[i] = -0; // signed zeros through the sums
    const out = new Float32Array(n * cout * g.outH * g.outW).fill(NaN);
    const applied = convDirect(g, x, wt, b, out, n, cout, 1, pad, pad);
    expect(applied).toBe(kernelInstructions() === "simd128");
    if (!applied) return;
    const want = reference(g, x, wt, b, n, cout);
    expect(Buffer.from(out.buffer).equals(Buffer.from(want.buffer))).toBe(true);
  });

  it("declines what it does not cover: the js backend, outputs not a multiple of 4, many taps, strides, small products", () => {
    const x = new Float32Array(2 * 28 * 28), out = new Float32Array(2 * 32 * 26 * 26);
    const g = geometry(1, 28, 28, 3, 0);
    setBackend("js");
    expect(convDirect(g, x, new Float32Array(32 * 9), null, out, 2, 32, 1, 0, 0)).toBe(false);
    setBackend("wasm");
    expect(convDirect(g, x, new Float32Array(30 * 9), null, out, 2, 30, 1, 0, 0)).toBe(false);
    expect(convDirect(geometry(4, 28, 28, 3, 0), x, new Float32Array(32 * 36), null, out, 2, 32, 1, 0, 0)).toBe(false);
    expect(convDirect({ ...g, strideH: 2, outH: 13 }, x, new Float32Array(32 * 9), null, out, 2, 32, 1, 0, 0)).toBe(false);
    expect(convDirect(geometry(1, 6, 6, 3, 0), x, new Float32Array(4 * 9), null, out, 2, 4, 1, 0, 0)).toBe(false);
  });
});
