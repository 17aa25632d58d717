// conv2d: every "conv2d" case of testdata/conv-golden.json on both backends, a float64 reference for the Winograd
// chunks, bit-identical results over 1 and 2 threads, gradcheck, the storage pool, and PyTorch's error messages.
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { loadFixture, type GoldenTensor, sameBits } from "@tsgrad/testing";
import { getBackend, setBackend, type Backend } from "../compute.js";
import { gradcheck } from "../gradcheck.js";
import { memoryStats } from "../pool.js";
import { parallelCallCount, setNumThreads, setWorkerFactory } from "../parallel.js";
import { Generator } from "../random.js";
import { randn, tensor, uniform } from "../creation.js";
import { Tensor } from "../tensor.js";
import { conv2d, type Conv2dOptions } from "./conv.js";

interface ConvCase {
  readonly name: string;
  readonly kind: string;
  readonly input: GoldenTensor;
  readonly weight: GoldenTensor;
  readonly bias: GoldenTensor | null;
  readonly options: Conv2dOptions;
  readonly upstream: GoldenTensor;
  readonly output: GoldenTensor;
  readonly gradInput: GoldenTensor;
  readonly gradWeight: GoldenTensor;
  readonly gradBias: GoldenTensor | null;
}

const cases = loadFixture<{ cases: ConvCase[] }>("conv-golden.json").cases.filter((c) => c.kind === "conv2d");
const leaf = (t: GoldenTensor): Tensor => tensor(t.data, { shape: t.shape, requiresGrad: true });

/** Runs the backward of `(y · upstream).sum()`. */
function backwardWith(y: Tensor, upstream: Float32Array): void {
  y.backward(new Tensor(upstream, y.shape));
}

describe.each(["js", "wasm"] as const)("conv2d against PyTorch on the %s backend", (backend: Backend) => {
  it("covers the golden file (im2col and Winograd cases)", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(cases.filter((c) => c.name.startsWith("wino_")).length).toBeGreaterThanOrEqual(8);
  });
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const previous = getBackend();
    setBackend(backend);
    try {
      const x = leaf(c.input), w = leaf(c.weight), b = c.bias === null ? null : leaf(c.bias);
      const y = conv2d(x, w, b, c.options);
      expect(y.shape).toEqual(c.output.shape);
      // Sums of up to 144 products (conv_large_k): float32 against float64 within 1e-5 + 1e-4 relative.
      expect(y).toBeAllClose(c.output.data);
      backwardWith(y, Float32Array.from(c.upstream.data));
      expect(x.grad!.shape).toEqual(c.gradInput.shape);
      expect(x.grad!).toBeAllClose(c.gradInput.data);
      expect(w.grad!).toBeAllClose(c.gradWeight.data);
      if (b !== null) expect(b.grad!).toBeAllClose(c.gradBias!.data);
    } finally {
      setBackend(previous);
    }
  });
});

/** Direct float64 convolution (stride 1, square padding, one group) and its gradients: the plain reference. */
function reference(x: Tensor, w: Tensor, pad: number, dy: Float64Array) {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [o, , kh, kw] = w.shape as [number, number, number, number];
  const oh = h + 2 * pad - kh + 1, ow = wd + 2 * pad - kw + 1;
  const y = new Float64Array(n * o * oh * ow);
  const dx = new Float64Array(x.numel), dw = new Float64Array(w.numel);
  for (let b = 0; b < n; b++) for (let q = 0; q < o; q++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    const yi = ((b * o + q) * oh + i) * ow + j;
    let s = 0;
    for (let ch = 0; ch < c; ch++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) {
      const r = i - pad + u, col = j - pad + v;
      if (r < 0 || r >= h || col < 0 || col >= wd) continue;
      const xi = ((b * c + ch) * h + r) * wd + col, wi = ((q * c + ch) * kh + u) * kw + v;
      s += x.data[xi]! * w.data[wi]!;
      dx[xi]! += dy[yi]! * w.data[wi]!;
      dw[wi]! += dy[yi]! * x.data[xi]!;
    }
    y[yi] = s;
  }
  return { y, dx, dw };
}

describe("conv2d's Winograd path over several chunks of images", () => {
  it.each(["js", "wasm"] as const)("matches a direct float64 convolution on the %s backend", (backend) => {
    const previous = getBackend();
    setBackend(backend);
    try {
      const g = new Generator(7);
      // 10 images of 12×12 tiles: more tiles than one chunk holds, and a last chunk of fewer images.
      const x = randn([10, 8, 24, 24], { generator: g, requiresGrad: true });
      const w = randn([9, 8, 3, 3], { generator: g, requiresGrad: true });
      const y = conv2d(x, w, null, { padding: 1 });
      const dy = randn(y.shape as number[], { generator: g });
      const ref = reference(x, w, 1, Float64Array.from(dy.data));
      expect(y).toBeAllClose(ref.y);
      y.backward(dy);
      expect(x.grad!).toBeAllClose(ref.dx);
      // Sums over 10·576 products of order 1 (float32 on the wasm backend): 1e-4 absolute on values of order 10–100.
      expect(w.grad!).toBeAllClose(ref.dw, { atol: 1e-4 });
    } finally {
      setBackend(previous);
    }
  });
});

describe("conv2d gradients against central differences", () => {
  const g = new Generator(3);
  const opts: [string, number[], number[], Conv2dOptions][] = [
    ["stride 2, padding 1", [2, 3, 7, 6], [4, 3, 3, 3], { stride: 2, padding: 1 }],
    ["dilation, groups", [1, 4, 7, 7], [4, 2, 2, 3], { dilation: [2, 1], groups: 2 }],
    ["Winograd", [1, 8, 5, 5], [8, 8, 3, 3], { padding: "same" }],
    ["unbatched, asymmetric same", [2, 5, 6], [3, 2, 2, 2], { padding: "same" }],
  ];
  it.each(opts)("%s", (_label, xs, ws, o) => {
    const x = randn(xs, { generator: g, requiresGrad: true });
    const w = randn(ws, { generator: g, requiresGrad: true });
    const b = randn([ws[0]!], { generator: g, requiresGrad: true });
    // conv2d is linear in each argument, so central differences have no truncation error at any step: a step of
    // 1e-2 (not 1e-3) keeps the float32 rounding of the ~200 outputs out of the quotient; default tolerances.
    expect(gradcheck((a, k, c) => conv2d(a, k, c, o), [x, w, b], { eps: 1e-2 })).toBe(true);
  });
});

/** Runs `run` until a product went through the workers (until they start, gemm computes alone). */
async function untilParallel(run: () => void): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const before = parallelCallCount();
    run();
    if (parallelCallCount() > before) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the worker pool never ran a product");
}

describe("conv2d over worker threads", () => {
  afterAll(() => {
    setNumThreads(1);
    setWorkerFactory(null);
  });
  const shapes: [string, number[], number[], Conv2dOptions][] = [
    ["the CNN's second convolution (Winograd)", [2, 32, 26, 26], [64, 32, 3, 3], {}],
    ["the CNN's second convolution, 10 images (the weight gradient's partials in 2 chunks)", [10, 32, 26, 26], [64, 32, 3, 3], {}],
    ["a strided, padded im2col convolution", [2, 16, 30, 30], [48, 16, 5, 5], { stride: 2, padding: 2 }],
  ];
  const combos = (["js", "wasm"] as const).flatMap((b) => [true, false].flatMap((h) => shapes.map((s) => [b, h, ...s] as const)));
  it.each(combos)("%s, storage in the heap %s, %s: 1 and 2 threads give the same bits forward and backward", async (backend, heap, _l, xs, ws, o) => {
    const previous = getBackend();
    setBackend(backend);
    try {
      setWorkerFactory((src) => new Worker(src, { eval: true }));
      const g = new Generator(11);
      const x0 = randn(xs, { generator: g }), w0 = uniform(ws, -0.1, 0.1, { generator: g }), b0 = randn([ws[0]!], { generator: g });
      // Storage in the tensor heap (tensor() copies there: the team reads it in place, Winograd split by images) and
      // in ordinary arrays (copied into scratch: the products split by rows).
      const inHeap = (t: Tensor): Tensor => heap ? tensor(t.data, { shape: t.shape, requiresGrad: true }) : new Tensor(t.data.slice(), t.shape, true);
      const run = (): Float32Array[] => {
        const x = inHeap(x0), w = inHeap(w0), b = inHeap(b0);
        const y = conv2d(x, w, b, o);
        const seed = Float32Array.from(y.data, (v, i) => Math.sin(v + i));
        y.backward(heap ? tensor(seed, { shape: y.shape }) : new Tensor(seed, y.shape));
        return [y.data, x.grad!.data, w.grad!.data, b.grad!.data];
      };
      setNumThreads(1);
      const single = run();
      setNumThreads(2);
      let multi: Float32Array[] = [];
      await untilParallel(() => {
        multi = run();
      });
      multi.forEach((a, i) => expect(sameBits(a, single[i]!), `output ${i}`).toBe(true));
    } finally {
      setBackend(previous);
    }
  });
});

describe("conv2d and the storage pool", () => {
  it("a repeated step takes every array but its output from the pool", () => {
    const g = new Generator(5);
    const x = randn([2, 8, 10, 10], { generator: g });
    const w = randn([8, 8, 3, 3], { generator: g, requiresGrad: true });
    const w2 = randn([4, 8, 3, 3], { generator: g, requiresGrad: true });
    const step = (): void => {
      w.grad = null;
      w2.grad = null;
      conv2d(conv2d(x, w, null, { padding: 1 }), w2, null, { stride: 2 }).sum().backward();
    };
    step();
    step();
    const before = memoryStats().allocatedArrays;
    step();
    // The loss (created by sum) and the two grads that `grad = null` dropped after being read here are new.
    expect(memoryStats().allocatedArrays - before).toBeLessThanOrEqual(4);
  });
});

describe("conv2d: bad arguments raise PyTorch's errors", () => {
  const x = randn([2, 4, 5, 5]);
  const w = randn([6, 4, 3, 3]);
  const table: [string, () => unknown, RegExp][] = [
    ["1-D input", () => conv2d(randn([5]), w), /^conv2d: Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[5\]$/],
    ["5-D input", () => conv2d(randn([1, 2, 4, 5, 5]), w), /input of size: \[1, 2, 4, 5, 5\]/],
    ["3-D weight", () => conv2d(x, randn([6, 4, 3])), /Expected 4-dimensional weight .* but got 3-dimensional weight of size \[6, 4, 3\]/],
    ["channels", () => conv2d(x, randn([6, 3, 3, 3])),
      /^conv2d: Given groups=1, weight of size \[6, 3, 3, 3\], expected input\[2, 4, 5, 5\] to have 3 channels, but got 4 channels instead$/],
    ["groups vs out channels", () => conv2d(x, randn([5, 2, 3, 3]), null, { groups: 2 }),
      /Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size \[5, 2, 3, 3\] instead/],
    ["groups vs in channels", () => conv2d(randn([2, 5, 5, 5]), randn([6, 2, 3, 3]), null, { groups: 2 }),
      /to have 4 channels, but got 5 channels instead/],
    ["groups 0", () => conv2d(x, w, null, { groups: 0 }), /^conv2d: non-positive groups is not supported$/],
    ["kernel too big", () => conv2d(x, randn([6, 4, 7, 7])),
      /Calculated padded input size per channel: \(5 x 5\)\. Kernel size: \(7 x 7\)\. Kernel size can't be greater than actual input size/],
    ["dilated kernel too big", () => conv2d(x, w, null, { dilation: 3 }), /Kernel size: \(7 x 7\)/],
    ["bias size", () => conv2d(x, w, randn([5])),
      /Given weight of size \[6, 4, 3, 3\], expected bias to be 1-dimensional with 6 elements, but got bias of size \[5\] instead/],
    ["stride 0", () => conv2d(x, w, null, { stride: 0 }), /^conv2d: non-positive stride is not supported$/],
    ["negative padding", () => conv2d(x, w, null, { padding: [0, -1] }), /^conv2d: negative padding is not supported$/],
    ["dilation 0", () => conv2d(x, w, null, { dilation: 0 }), /^conv2d: non-positive dilation is not supported$/],
    ["same with stride", () => conv2d(x, w, null, { padding: "same", stride: 2 }), /padding='same' is not supported for strided convolutions/],
    ["padding string", () => conv2d(x, w, null, { padding: "full" as "same" }), /^conv2d: Invalid padding string: 'full'$/],
    ["stride of 3", () => conv2d(x, w, null, { stride: [1, 1, 1] as unknown as [number, number] }),
      /expected stride to be a single integer value or a list of 2 values to match the convolution dimensions, but got stride=\[1, 1, 1\]/],
    ["fractional stride", () => conv2d(x, w, null, { stride: 1.5 }), /stride must be an integer or a pair of integers, got 1\.5/],
    ["zero out channels", () => conv2d(x, randn([0, 4, 3, 3])), /expected weight to be at least 1 at dimension 0/],
    ["not a tensor", () => conv2d([1, 2] as unknown as Tensor, w), /conv2d: expected input to be a Tensor/],
  ];
  it.each(table)("%s", (_label, f, message) => {
    expect(f).toThrow(message);
  });
  it("uses ShapeError for shapes, RangeError for values, TypeError for kinds", () => {
    expect(() => conv2d(x, randn([6, 3, 3, 3]))).toThrow(expect.objectContaining({ name: "ShapeError" }));
    expect(() => conv2d(x, w, null, { stride: 0 })).toThrow(RangeError);
    expect(() => conv2d(x, w, null, { stride: 1.5 })).toThrow(TypeError);
  });
  it("an empty batch gives an empty result", () => {
    expect(conv2d(randn([0, 4, 5, 5]), w).shape).toEqual([0, 6, 3, 3]);
  });
});
