// Every "op" case of testdata/pytorch-golden.json (scripts/goldens.py): forward values and gradients against PyTorch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGolden, type GoldenTensor } from "@tsgrad/testing";
import { Tensor, gelu, getBackend, setBackend, tensor, type GeluOptions } from "./index.js";

type Arg = GoldenTensor | number;

function run(op: string, args: readonly (Tensor | number)[], kw: Record<string, unknown>): Tensor {
  const [self, ...rest] = args;
  if (!(self instanceof Tensor)) throw new Error("receiver must be a tensor");
  const t = (i: number): Tensor => rest[i] as Tensor;
  const other = (i: number): Tensor | number => rest[i]!;
  const dim = kw["dim"] as number | number[] | undefined;
  const keepdim = (kw["keepdim"] as boolean | undefined) ?? false;
  switch (op) {
    case "add": return self.add(other(0));
    case "sub": return self.sub(other(0));
    case "mul": return self.mul(other(0));
    case "div": return self.div(other(0));
    case "pow": return self.pow(other(0));
    case "neg": return self.neg();
    case "exp": return self.exp();
    case "log": return self.log();
    case "sqrt": return self.sqrt();
    case "abs": return self.abs();
    case "tanh": return self.tanh();
    case "sigmoid": return self.sigmoid();
    case "relu": return self.relu();
    case "gelu": return gelu(self, kw as GeluOptions);
    case "matmul": return self.matmul(t(0));
    case "sum": return self.sum(dim, keepdim);
    case "mean": return self.mean(dim, keepdim);
    case "max": return self.max(dim, keepdim);
    case "logsumexp": return self.logsumexp(dim!, keepdim);
    case "softmax": return self.softmax(dim as number);
    case "logSoftmax": return self.logSoftmax(dim as number);
    case "reshape": return self.reshape(kw["shape"] as number[]);
    case "transpose": return self.transpose(kw["dim0"] as number, kw["dim1"] as number);
    case "permute": return self.permute(kw["dims"] as number[]);
    case "linear": return rest.length > 1 ? self.matmul(t(0).t()).add(t(1)) : self.matmul(t(0).t());
    case "chainTransposeMatmul": return self.transpose(0, 1).matmul(t(0));
    case "chainReuse": return self.mul(self).exp().mul(self).sum(1);
    case "view": return self.view(kw["shape"] as number[]);
    case "flatten": return self.flatten((kw["startDim"] ?? kw["start_dim"] ?? 0) as number, (kw["endDim"] ?? kw["end_dim"] ?? -1) as number);
    case "squeeze": return self.squeeze(dim as number | undefined);
    case "unsqueeze": return self.unsqueeze(dim as number);
    case "t": return self.t();
    case "clone": return self.clone();
    default: return generic(op, self, rest, kw);
  }
}

/** An op this file does not name: the Tensor method of that name, with the tensor arguments and then dim/keepdim. */
function generic(op: string, self: Tensor, rest: readonly (Tensor | number)[], kw: Record<string, unknown>): Tensor {
  const method = (self as unknown as Record<string, unknown>)[op];
  if (typeof method !== "function") throw new Error(`golden op "${op}" is neither mapped in this test nor a Tensor method`);
  const extra = "dim" in kw ? [kw["dim"], ...("keepdim" in kw ? [kw["keepdim"]] : [])] : [];
  return (method as (...a: unknown[]) => Tensor).call(self, ...rest, ...extra);
}

describe.each(["js", "wasm"] as const)("PyTorch golden ops on the %s backend", (backend) => {
  const cases = loadGolden("op");
  const previous = getBackend();
  beforeAll(() => setBackend(backend));
  afterAll(() => setBackend(previous));
  it("covers the golden file", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const args = (c["args"] as Arg[]).map((a) =>
      typeof a === "number" ? a : tensor(a.data, { shape: a.shape, requiresGrad: true }),
    );
    const out = run(c["op"] as string, args, (c["kwargs"] as Record<string, unknown>) ?? {});
    const expected = c["output"] as GoldenTensor;
    expect(out.shape).toEqual(expected.shape);
    expect(out).toBeAllClose(expected);
    const upstream = c["upstream"] as GoldenTensor;
    out.mul(tensor(upstream.data, { shape: upstream.shape })).sum().backward();
    const grads = c["grads"] as (GoldenTensor | null)[];
    grads.forEach((g, i) => {
      const a = args[i]!;
      if (g === null) return;
      if (!(a instanceof Tensor)) throw new Error(`golden grad ${i} given for a number argument`);
      expect(a.grad, `grad of argument ${i}`).not.toBeNull();
      expect(a.grad!.shape).toEqual(g.shape);
      expect(a.grad!).toBeAllClose(g);
    });
  });
});
