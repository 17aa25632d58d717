// PyTorch's values at the edges (scripts/goldens_edge.py): huge logits, ±inf and NaN rows, max/amax/argmax ties and
// NaN, the unary ops at NaN/±inf/±0, and which graphs take a second backward().
import { describe, expect, it } from "vitest";
import { loadFixture } from "@tsgrad/testing";
import { tensor } from "./creation.js";
import { Tensor } from "./tensor.js";

/** A tensor as the fixture stores it: NaN and ±inf as strings. */
interface Stored {
  readonly shape: number[];
  readonly data: (number | "NaN" | "Infinity" | "-Infinity")[];
}

interface ReductionCase {
  readonly name: string;
  readonly op: string;
  readonly options: { readonly dim?: number | number[]; readonly keepdim?: boolean };
  readonly input: Stored;
  readonly output: Stored;
  readonly upstream?: Stored;
  readonly grad?: Stored;
}

interface SecondBackwardCase {
  readonly name: string;
  readonly ok: boolean;
  readonly grad1: Stored;
  readonly grad2?: Stored;
  readonly gradAfterError?: Stored;
}

const golden = loadFixture<{ torch: string; reductions: ReductionCase[]; secondBackward: SecondBackwardCase[] }>(
  "edge-golden.json",
);

function values(s: Stored): number[] {
  return s.data.map((v) => (typeof v === "number" ? v : Number(v)));
}

function build(s: Stored, requiresGrad = false): Tensor {
  return tensor(values(s), { shape: s.shape, requiresGrad });
}

const dimOf = (c: ReductionCase): number => {
  if (typeof c.options.dim !== "number") throw new Error(`case "${c.name}" needs a numeric dim`);
  return c.options.dim;
};

/** Each op of the fixture that this package implements. */
const OPS: Record<string, (x: Tensor, c: ReductionCase) => Tensor> = {
  softmax: (x, c) => x.softmax(dimOf(c)),
  logSoftmax: (x, c) => x.logSoftmax(dimOf(c)),
  logsumexp: (x, c) => x.logsumexp(c.options.dim!),
  max: (x, c) => x.max(dimOf(c), c.options.keepdim ?? false),
  amax: (x, c) => x.max(c.options.dim!),
  maxAll: (x) => x.max(),
  argmax: (x, c) => x.argmax(c.options.dim as number | undefined),
  relu: (x) => x.relu(),
  abs: (x) => x.abs(),
  sigmoid: (x) => x.sigmoid(),
  tanh: (x) => x.tanh(),
  sqrt: (x) => x.sqrt(),
  exp: (x) => x.exp(),
  log: (x) => x.log(),
  neg: (x) => x.neg(),
  pow2: (x) => x.pow(2),
};
/** Ops of the fixture implemented elsewhere (and tested there). */
const ELSEWHERE = new Set(["crossEntropy"]);

// Float32 arithmetic (PyTorch) against float64 rounded once (here): a few float32 ulps.
const TOL = { atol: 1e-6, rtol: 1e-5 };

describe("edge golden file", () => {
  it("was written by PyTorch 1.13 and every case has a runner", () => {
    expect(golden.torch).toMatch(/^1\.13/);
    expect(golden.reductions.length).toBeGreaterThan(150);
    const unknown = golden.reductions.filter((c) => !(c.op in OPS) && !ELSEWHERE.has(c.op)).map((c) => c.op);
    expect(unknown).toEqual([]);
  });
});

describe.each(Object.keys(OPS))("%s at the edges, against PyTorch", (op) => {
  const cases = golden.reductions.filter((c) => c.op === op);
  it("has cases", () => expect(cases.length).toBeGreaterThan(0));
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const x = build(c.input, c.grad !== undefined);
    const y = OPS[op]!(x, c);
    expect(y.shape).toEqual(c.output.shape);
    expect(y).toBeAllClose(values(c.output), TOL);
    if (c.grad === undefined) return;
    y.backward(build(c.upstream!));
    expect(x.grad!).toBeAllClose(values(c.grad), TOL);
  });
});

describe("softmax for huge logits: the values the issue names", () => {
  it("softmax([[1e16, 1e16, 0]]) is [0.5, 0.5, 0] and logSoftmax keeps log 2", () => {
    const x = tensor([[1e16, 1e16, 0]]);
    expect(x.softmax(1).toArray()).toEqual([[0.5, 0.5, 0]]);
    expect(x.logSoftmax(1)).toBeAllClose([[-Math.LN2, -Math.LN2, -1e16]], { atol: 0, rtol: 1e-7 });
  });
  it("rows of moderate logits give the same values as m + log Σ in float64, bit for bit", () => {
    const rows = [[0.5, -1.25, 3, 2.75], [12.5, -30, 7, 0.001], [-4, -4, -4.5, -3.999]];
    const out = tensor(rows).logSoftmax(1).toArray() as number[][];
    rows.forEach((r, i) => {
      const z = Float32Array.from(r);
      const m = Math.max(...z);
      const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
      expect(out[i]).toEqual(Array.from(z, (v) => Math.fround(v - lse)));
    });
  });
});
