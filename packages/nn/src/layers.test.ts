// ReLU, Flatten, Dropout and Sequential: values, shapes, modes and gradients.
import { describe, expect, it } from "vitest";
import { Generator, getBackend, gradcheck, ones, randn, setBackend, tensor, type Tensor } from "@tsgrad/tensor";
import { sameBits } from "@tsgrad/testing";
import { Dropout, Flatten, GELU, Linear, ReLU, Sequential, relu, logSoftmax, mseLoss } from "./index.js";
import { gelu } from "@tsgrad/tensor";

describe("ReLU and Flatten", () => {
  it("ReLU zeroes negatives, with gradient 0 at 0", () => {
    const x = tensor([-1, 0, 2], { requiresGrad: true });
    const y = new ReLU().forward(x);
    expect(Array.from(y.data)).toEqual([0, 0, 2]);
    y.sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([0, 0, 1]);
    expect(Array.from(relu(x).data)).toEqual([0, 0, 2]);
  });

  it.each([
    [[], [32, 1, 28, 28], [32, 784]],
    [[0], [2, 3, 4], [24]],
    [[1, 2], [2, 3, 4, 5], [2, 12, 5]],
    [[-2, -1], [2, 3, 4], [2, 12]],
  ])("Flatten(%j) maps %j to %j", (args, shape, expected) => {
    expect(new Flatten(...(args as number[])).forward(ones(shape)).shape).toEqual(expected);
  });

  it("logSoftmax is the tensor op, stable", () => {
    const y = logSoftmax(tensor([[1000, 1001]]), 1);
    expect(y).toBeAllClose([-1.3132616, -0.3132616]);
  });
});

/** Runs `fn` on the given backend. */
function onBackend(backend: "js" | "wasm", fn: () => void): void {
  const previous = getBackend();
  setBackend(backend);
  try {
    fn();
  } finally {
    setBackend(previous);
  }
}

describe("Dropout", () => {
  it("zeroes a fraction p in training and scales the rest by 1/(1−p)", () => {
    const drop = new Dropout(0.3, { generator: new Generator(4) });
    const y = drop.forward(ones([100, 100]));
    const zerosCount = y.data.filter((v) => v === 0).length;
    // Binomial(10000, 0.3): σ ≈ 46, so ±300 is over 6σ.
    expect(Math.abs(zerosCount - 3000)).toBeLessThan(300);
    expect(y.data.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
  });

  it("sends the gradient through the same mask", () => {
    const x = randn([50], { requiresGrad: true, generator: new Generator(1) });
    const y = new Dropout(0.5, { generator: new Generator(2) }).forward(x);
    y.sum().backward();
    for (let i = 0; i < 50; i++) expect(x.grad!.data[i]).toBe(y.data[i] === 0 ? 0 : 2);
    expect(y.gradFn!.name).toBe("dropout");
  });

  // [3, 1001]: the JavaScript loop; [7, 1501]: on the wasm backend, the SIMD module's (4,096 elements and more).
  const cases = (["js", "wasm"] as const).flatMap((backend) => [[3, 1001], [7, 1501]].flatMap((shape) =>
    [0.25, 0.5, 0.1, 1 / 3].map((p) => [backend, shape, p] as const)));
  it.each(cases)("%s backend, %j: draws the mask from the generator's nextFloat() < p, p = %d", (backend, shape, p) => {
    onBackend(backend, () => {
      const x = randn(shape, { generator: new Generator(5) });
      const drop = new Dropout(p, { generator: new Generator(9) });
      const y1 = drop.forward(x), y2 = drop.forward(x);
      const ref = new Generator(9);
      const scale = Math.fround(1 / (1 - p));
      for (const y of [y1, y2]) {
        const want = x.data.map((v) => v * (ref.nextFloat() < p ? 0 : scale)); // x·0 is −0 for negative x
        expect(sameBits(y.data, want)).toBe(true);
      }
    });
  });

  it.each([["js", 777], ["wasm", 777], ["wasm", 5003]] as const)("%s backend, %i elements: leaves its generator where that many nextFloat() calls leave it", (backend, n) => {
    onBackend(backend, () => {
      const g = new Generator(11);
      g.nextNormal(); // a spare normal deviate is kept
      new Dropout(0.5, { generator: g }).forward(ones([n]));
      const ref = new Generator(11);
      ref.nextNormal();
      for (let i = 0; i < n; i++) ref.nextFloat();
      expect(g.getState()).toEqual(ref.getState());
    });
  });

  it("is the identity in eval mode and for p = 0; p = 1 zeroes everything", () => {
    const x = randn([4]);
    expect(new Dropout(0.5).eval().forward(x)).toBe(x);
    expect(new Dropout(0).forward(x)).toBe(x);
    expect(new Dropout(1).forward(x).data.every((v) => v === 0)).toBe(true);
  });

  it.each([[-0.1], [1.5], [NaN]])("rejects p = %d", (p) => {
    expect(() => new Dropout(p)).toThrow(/dropout probability has to be between 0 and 1, but got/);
  });
});

describe("Sequential", () => {
  it("chains its modules in order", () => {
    const g = new Generator(3);
    const a = new Linear(4, 5, { generator: g });
    const b = new Linear(5, 2, { generator: g });
    const model = new Sequential(a, new ReLU(), b);
    const x = randn([3, 4], { generator: g });
    expect(model.forward(x)).toBeAllClose(b.forward(a.forward(x).relu()));
    expect(model.length).toBe(3);
    expect(model.at(-1)).toBe(b);
    expect(() => model.at(3)).toThrow(/index 3 is out of range for 3 modules/);
  });
});

describe("mseLoss", () => {
  const g = new Generator(8);
  it.each([["mean"], ["sum"], ["none"]] as const)("matches (a − b)² reduced by %s, with gradients", (reduction) => {
    const a = randn([3, 2], { generator: g, requiresGrad: true });
    const b = randn([3, 2], { generator: g, requiresGrad: true });
    const ref = a.sub(b).pow(2);
    const expected = reduction === "mean" ? ref.mean() : reduction === "sum" ? ref.sum() : ref;
    expect(mseLoss(a, b, { reduction })).toBeAllClose(expected);
    expect(gradcheck((x, y) => mseLoss(x, y, { reduction }), [a, b])).toBe(true);
  });
  it("rejects different shapes and unknown reductions", () => {
    expect(() => mseLoss(randn([2]), randn([3]))).toThrow(/same shape, got \[2\] and \[3\]/);
    expect(() => mseLoss(randn([2]), randn([2]), { reduction: "avg" as "mean" })).toThrow(/avg is not a valid value for reduction/);
  });
});

describe("GELU", () => {
  it("is the tensor op, exact or tanh, prints as PyTorch and checks its option at construction", () => {
    const x = randn([4, 5], { generator: new Generator(2) });
    expect(new GELU().forward(x).data).toEqual(gelu(x).data);
    expect(new GELU({ approximate: "tanh" }).forward(x).data).toEqual(gelu(x, { approximate: "tanh" }).data);
    expect(String(new GELU())).toBe("GELU(approximate='none')");
    expect(String(new Sequential(new Linear(2, 2), new GELU({ approximate: "tanh" })))).toContain("(1): GELU(approximate='tanh')");
    expect(() => new GELU({ approximate: "fast" as "none" })).toThrow(
      new RangeError('GELU: approximate argument must be either "none" or "tanh", got "fast"'));
  });
  it("between two Linear layers of a Sequential, trains with the same gradients as the same ops by hand", () => {
    const g = new Generator(4);
    const model = new Sequential(new Linear(3, 4, { generator: g }), new GELU(), new Linear(4, 2, { generator: g }));
    const x = randn([5, 3], { generator: g });
    for (let i = 0; i < 3; i++) {
      model.zeroGrad();
      model.forward(x).sum().backward();
    }
    const [w1, b1, w2, b2] = model.parameters() as [Tensor, Tensor, Tensor, Tensor];
    const copies = [w1, b1, w2, b2].map((p) => tensor(p.data.slice(), { shape: p.shape, requiresGrad: true }));
    const [cw1, cb1, cw2, cb2] = copies as [Tensor, Tensor, Tensor, Tensor];
    gelu(x.matmul(cw1.t()).add(cb1)).matmul(cw2.t()).add(cb2).sum().backward();
    [w1, b1, w2, b2].forEach((p, i) => expect(p.grad!).toBeAllClose(copies[i]!.grad!.data, { atol: 1e-6, rtol: 1e-5 }));
  });
});
