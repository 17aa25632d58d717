// matmul in every torch.matmul form: values against a float64 reference, gradients, views and the x·wᵀ fast path.
import { describe, expect, it } from "vitest";
import { noGrad } from "../autograd.js";
import { randn, tensor } from "../creation.js";
import { gradcheck } from "../gradcheck.js";
import { Generator } from "../random.js";
import { Tensor } from "../tensor.js";
import { matmul } from "./matmul.js";

function randomTensor(shape: number[], seed: number, requiresGrad = true): Tensor {
  return randn(shape, { generator: new Generator(seed), requiresGrad });
}

/** torch.matmul in float64, written from its definition: promote 1-D, broadcast batches, loop, drop promoted dims. */
function refMatmul(a: Tensor, b: Tensor): { shape: number[]; data: number[] } {
  const as = a.ndim === 1 ? [1, a.shape[0]!] : [...a.shape];
  const bs = b.ndim === 1 ? [b.shape[0]!, 1] : [...b.shape];
  const [m, k] = as.slice(-2) as [number, number];
  const n = bs[bs.length - 1]!;
  const ab = as.slice(0, -2);
  const bb = bs.slice(0, -2);
  const nd = Math.max(ab.length, bb.length);
  const pa = [...new Array<number>(nd - ab.length).fill(1), ...ab];
  const pb = [...new Array<number>(nd - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const count = batch.reduce((p, d) => p * d, 1);
  const data: number[] = [];
  for (let t = 0; t < count; t++) {
    let rem = t;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = nd - 1; d >= 0; d--) {
      const idx = rem % batch[d]!;
      rem = Math.floor(rem / batch[d]!);
      if (pa[d] !== 1) ia += idx * sa;
      if (pb[d] !== 1) ib += idx * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a.data[ia * m * k + i * k + p]! * b.data[ib * k * n + p * n + j]!;
        data.push(s);
      }
    }
  }
  const shape = [...batch, ...(a.ndim === 1 ? [] : [m]), ...(b.ndim === 1 ? [] : [n])];
  return { shape, data };
}

const forms: [string, number[], number[]][] = [
  ["1-D · 1-D", [5], [5]],
  ["1-D · 2-D", [3], [3, 4]],
  ["2-D · 1-D", [4, 3], [3]],
  ["2-D · 2-D", [3, 5], [5, 7]],
  ["2-D · 2-D, sizes of 1", [1, 1], [1, 1]],
  ["batched · batched", [2, 3, 4], [2, 4, 5]],
  ["batched · 2-D", [2, 3, 4], [4, 5]],
  ["2-D · batched", [3, 4], [2, 4, 5]],
  ["1-D · batched", [4], [2, 4, 5]],
  ["batched · 1-D", [2, 3, 4], [4]],
  ["broadcast batches", [2, 1, 3, 4], [5, 4, 2]],
  ["broadcast batches of unequal rank", [3, 1, 2, 3], [2, 3, 1]],
  ["empty k", [2, 0], [0, 3]],
];

describe("matmul: values", () => {
  it("hand-checked 2-D, 1-D and batched products", () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([[5, 6], [7, 8]]);
    expect(matmul(a, b).toArray()).toEqual([[19, 22], [43, 50]]);
    expect(a.matmul(tensor([1, 1])).toArray()).toEqual([3, 7]);
    expect(tensor([1, 1]).matmul(a).toArray()).toEqual([4, 6]);
    expect(tensor([1, 2, 3]).matmul(tensor([4, 5, 6])).toArray()).toBe(32);
    expect(tensor([1, 2, 3]).matmul(tensor([4, 5, 6])).shape).toEqual([]);
    expect(tensor([[[1, 0], [0, 1]], [[2, 0], [0, 2]]]).matmul(b).toArray()).toEqual([
      [[5, 6], [7, 8]], [[10, 12], [14, 16]],
    ]);
    expect(a.matmul(b.t()).toArray()).toEqual([[17, 23], [39, 53]]);
    expect(a.t().matmul(b).toArray()).toEqual([[26, 30], [38, 44]]);
    expect(a.t().matmul(b.t()).toArray()).toEqual([[23, 31], [34, 46]]);
  });
  it.each(forms)("%s: %j · %j matches a float64 reference", (_name, as, bs) => {
    const a = randomTensor(as, 1, false);
    const b = randomTensor(bs, 2, false);
    const out = a.matmul(b);
    const ref = refMatmul(a, b);
    expect(out.shape).toEqual(ref.shape);
    expect(out).toBeAllClose(ref);
  });
  it("takes transposed and permuted operands of every rank", () => {
    const a = randomTensor([4, 3], 3, false).t(); // [3, 4]
    const b = randomTensor([5, 4], 4, false).t(); // [4, 5]
    const ac = tensor(Array.from(a.data), { shape: [3, 4] });
    const bc = tensor(Array.from(b.data), { shape: [4, 5] });
    expect(a.matmul(b)).toBeAllClose(refMatmul(ac, bc).data);
    expect(a.matmul(bc)).toBeAllClose(refMatmul(ac, bc).data);
    expect(ac.matmul(b)).toBeAllClose(refMatmul(ac, bc).data);
    const p = randomTensor([4, 2, 3], 5, false).permute([1, 2, 0]); // [2, 3, 4]
    const pc = tensor(Array.from(p.data), { shape: [2, 3, 4] });
    expect(p.matmul(b)).toBeAllClose(refMatmul(pc, bc).data);
    expect(b.t().matmul(p.transpose(1, 2))).toBeAllClose(refMatmul(tensor(Array.from(b.t().data), { shape: [5, 4] }), tensor(Array.from(p.transpose(1, 2).data), { shape: [2, 4, 3] })).data);
  });
});

describe("matmul: gradients", () => {
  it.each(forms.filter(([name]) => name !== "empty k"))("gradcheck %s: %j · %j", (_name, as, bs) => {
    expect(gradcheck((a, b) => a.matmul(b), [randomTensor(as, 6), randomTensor(bs, 7)])).toBe(true);
  });
  it.each([
    ["x.matmul(w.t())", (x: Tensor, w: Tensor) => x.matmul(w.t()), [5, 3], [4, 3]],
    ["x.t().matmul(w)", (x: Tensor, w: Tensor) => x.t().matmul(w), [3, 5], [3, 4]],
    ["x.t().matmul(w.t())", (x: Tensor, w: Tensor) => x.t().matmul(w.t()), [3, 5], [4, 3]],
    ["x.transpose(1, 0).matmul(w)", (x: Tensor, w: Tensor) => x.transpose(1, 0).matmul(w), [3, 5], [3, 4]],
    ["x.matmul(w.t().t())", (x: Tensor, w: Tensor) => x.matmul(w.t().t()), [5, 3], [3, 4]],
    ["x.matmul(w.t()) with w used again", (x: Tensor, w: Tensor) => x.matmul(w.t()).add(w.sum(1)), [5, 3], [4, 3]],
    ["batched x.matmul(w.transpose(1, 2))", (x: Tensor, w: Tensor) => x.matmul(w.transpose(1, 2)), [2, 5, 3], [2, 4, 3]],
    ["1-D x.matmul(w.t())", (x: Tensor, w: Tensor) => x.matmul(w.t()), [3], [4, 3]],
  ] as const)("gradcheck %s", (_name, f, xs, ws) => {
    expect(gradcheck(f, [randomTensor([...xs], 8), randomTensor([...ws], 9)])).toBe(true);
  });
  it("x.matmul(w.t()) with only one side requiring grad", () => {
    const x = randomTensor([5, 3], 10, false);
    const w = randomTensor([4, 3], 11);
    expect(gradcheck((a, b) => a.matmul(b.t()), [x, w])).toBe(true);
    expect(gradcheck((a, b) => b.matmul(a.t()), [x, w])).toBe(true);
  });
  it("hand-checked gradient of a 2-D product", () => {
    const a = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const b = tensor([[5, 6], [7, 8]], { requiresGrad: true });
    a.matmul(b).sum().backward();
    expect(a.grad!.toArray()).toEqual([[11, 15], [11, 15]]);
    expect(b.grad!.toArray()).toEqual([[4, 4], [6, 6]]);
  });
  it("a transpose made under noGrad is a constant: no gradient reaches its source", () => {
    const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const wt = noGrad(() => w.t());
    const x = tensor([[1, 1]], { requiresGrad: true });
    x.matmul(wt).sum().backward();
    expect(w.grad).toBeNull();
    expect(x.grad!.toArray()).toEqual([[4, 6]]); // rows of wᵀ = [[1, 3], [2, 4]], summed
  });
  it("a transposed constant turned into a leaf gets its own gradient, not its source", () => {
    const w = tensor([[1, 2], [3, 4]]);
    const wt = w.t();
    wt.requiresGrad = true;
    const x = tensor([[1, 0]]);
    x.matmul(wt).sum().backward();
    expect(w.grad).toBeNull();
    expect(wt.grad!.toArray()).toEqual([[1, 1], [0, 0]]);
  });
  it("a detached transpose is a constant", () => {
    const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const x = tensor([[1, 1]], { requiresGrad: true });
    x.matmul(w.t().detach()).sum().backward();
    expect(w.grad).toBeNull();
  });
});
