// Module: registration from fields, dotted names in PyTorch's order, train/eval, zeroGrad, state dicts, and the
// module tree printed as PyTorch prints it (scripts/goldens_edge.py).
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { loadFixture } from "@tsgrad/testing";
import { Tensor, Generator, ShapeError, randn, tensor, zeros } from "@tsgrad/tensor";
import {
  CrossEntropyLoss, Dropout, Flatten, Linear, MSELoss, Module, NLLLoss, ReLU, Sequential, type AnyModule, type StateDict,
} from "./index.js";

class Block extends Module<[Tensor], Tensor> {
  fc: Linear;
  scale: Tensor;
  constructor(g: Generator) {
    super();
    this.fc = new Linear(3, 3, { generator: g });
    this.scale = randn([3], { generator: g, requiresGrad: true });
  }
  forward(x: Tensor): Tensor {
    return this.fc.forward(x).mul(this.scale);
  }
}

class Net extends Module<[Tensor], Tensor> {
  embed: Tensor;
  block: Block;
  head: Sequential;
  constructor(g = new Generator(0)) {
    super();
    this.embed = randn([3], { generator: g, requiresGrad: true });
    this.block = new Block(g);
    this.head = new Sequential(new Linear(3, 4, { generator: g }), new ReLU(), new Linear(4, 2, { generator: g }));
  }
  forward(x: Tensor): Tensor {
    return this.head.forward(this.block.forward(x.add(this.embed)));
  }
}

const mlp = (): Sequential => new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));

describe("Module: registration and names", () => {
  it("names a Sequential's children 0, 1, ... as PyTorch", () => {
    expect(mlp().namedParameters().map(([n]) => n)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(Object.keys(mlp().stateDict())).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
  });

  it("registers fields in assignment order, depth first, with dotted names", () => {
    const net = new Net();
    expect(net.namedParameters().map(([n, t]) => [n, t.shape])).toEqual([
      ["embed", [3]],
      ["block.fc.weight", [3, 3]],
      ["block.fc.bias", [3]],
      ["block.scale", [3]],
      ["head.0.weight", [4, 3]],
      ["head.0.bias", [4]],
      ["head.2.weight", [2, 4]],
      ["head.2.bias", [2]],
    ]);
    expect(net.parameters()[1]).toBe(net.block.fc.weight);
    expect(net.namedChildren().map(([n]) => n)).toEqual(["block", "head"]);
    expect(net.children()).toEqual([net.block, net.head]);
    expect(net.namedModules().map(([n]) => n)).toEqual(["", "block", "block.fc", "head", "head.0", "head.1", "head.2"]);
  });

  it("keeps the explicit registration order and sees reassigned fields", () => {
    class M extends Module<[Tensor], Tensor> {
      a = zeros([1], { requiresGrad: true });
      constructor() {
        super();
        this.registerParameter("b", zeros([2], { requiresGrad: true }));
        this.registerModule("10", new Linear(1, 1));
        this.registerModule("2", new Linear(1, 1));
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new M();
    expect(m.namedParameters().map(([n]) => n)).toEqual(["a", "b", "10.weight", "10.bias", "2.weight", "2.bias"]);
    const replacement = zeros([5], { requiresGrad: true });
    m.a = replacement;
    expect(m.parameters()[0]).toBe(replacement);
    m.registerParameter("b", null);
    expect(m.namedParameters().map(([n]) => n)).toEqual(["a", "10.weight", "10.bias", "2.weight", "2.bias"]);
    expect(() => m.registerParameter("forward", zeros([1]))).toThrow(/attribute "forward" already exists/);
    expect(() => m.registerParameter("x.y", zeros([1]))).toThrow(/parameter name can't contain "\."/);
  });

  it("lists a shared parameter once in parameters() and under every name in stateDict()", () => {
    const fc = new Linear(2, 2);
    const model = new Sequential(fc, new ReLU(), fc);
    expect(model.parameters()).toHaveLength(2);
    expect(Object.keys(model.stateDict())).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
  });
});

describe("Module: modes and gradients", () => {
  it("train() and eval() reach every descendant", () => {
    const net = new Net();
    expect(net.training).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.namedModules().every(([, m]) => !m.training)).toBe(true);
    net.train();
    expect(net.head.at(1).training).toBe(true);
  });

  it("zeroGrad() clears every gradient (null, or zeros in place)", () => {
    const net = new Net();
    net.forward(randn([2, 3])).sum().backward();
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
    net.zeroGrad({ setToNone: false });
    expect(net.parameters().every((p) => p.grad !== null && p.grad.data.every((v) => v === 0))).toBe(true);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
  });
});

describe("Module: state dicts", () => {
  it("round-trips into a differently initialised model: same parameters, same outputs", () => {
    const a = new Net(new Generator(1));
    const b = new Net(new Generator(2));
    const x = randn([4, 3], { generator: new Generator(9) });
    expect(Array.from(b.forward(x).data)).not.toEqual(Array.from(a.forward(x).data));
    expect(b.loadStateDict(a.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(Array.from(b.forward(x).data)).toEqual(Array.from(a.forward(x).data));
    b.namedParameters().forEach(([, p]) => expect(p.requiresGrad && p.isLeaf).toBe(true));
  });

  it("copies into the existing parameters, whose tensors stay the same objects", () => {
    const a = mlp();
    const b = mlp();
    const w = b.parameters()[0]!;
    b.loadStateDict(a.stateDict());
    expect(b.parameters()[0]).toBe(w);
    expect(w.data).not.toBe(a.parameters()[0]!.data);
  });

  it("gives detached tensors that share the parameters' data", () => {
    const m = mlp();
    const sd = m.stateDict();
    expect(sd["0.weight"]!.data).toBe(m.parameters()[0]!.data);
    expect(sd["0.weight"]!.requiresGrad).toBe(false);
  });

  it("names every missing and unexpected key when strict, and changes nothing", () => {
    const m = mlp();
    const before = Array.from(m.parameters()[0]!.data);
    const sd: StateDict = { ...new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10)).stateDict() };
    delete sd["0.bias"];
    delete sd["2.weight"];
    sd["3.weight"] = zeros([1]);
    sd["extra"] = zeros([1]);
    let message = "";
    try {
      m.loadStateDict(sd);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("loadStateDict: Error(s) in loading stateDict for Sequential");
    expect(message).toContain('Missing key(s) in stateDict: "0.bias", "2.weight".');
    expect(message).toContain('Unexpected key(s) in stateDict: "3.weight", "extra".');
    expect(Array.from(m.parameters()[0]!.data)).toEqual(before);
    expect(m.loadStateDict(sd, { strict: false })).toEqual({ missingKeys: ["0.bias", "2.weight"], unexpectedKeys: ["3.weight", "extra"] });
    expect(Array.from(m.parameters()[0]!.data)).toEqual(Array.from(sd["0.weight"]!.data));
  });

  it("names every shape mismatch, even when not strict", () => {
    const m = new Sequential(new Linear(3, 2), new ReLU(), new Linear(2, 1));
    const sd = new Sequential(new Linear(4, 2), new ReLU(), new Linear(2, 5)).stateDict();
    const load = (): unknown => m.loadStateDict(sd, { strict: false });
    expect(load).toThrow(ShapeError);
    expect(load).toThrow(
      "size mismatch for 0.weight: copying a param with shape [2, 4] from checkpoint, the shape in current model is [2, 3].",
    );
    expect(load).toThrow(/size mismatch for 2\.weight: .*\[5, 2\].*\[1, 2\]\.\n\tsize mismatch for 2\.bias: .*\[5\].*\[1\]\./);
  });

  it("rejects values that are not tensors", () => {
    const m = new Linear(1, 1);
    expect(() => m.loadStateDict({ weight: [1] as unknown as Tensor, bias: tensor([0]) })).toThrow(/value for weight is not a Tensor/);
  });
});

describe("Module: printed as PyTorch prints it", () => {
  const FieldsNet = class Net extends Module<[Tensor], Tensor> {
    fc = new Linear(4, 2);
    body = new Sequential(new ReLU(), new Dropout(0.1));
    head = new Linear(2, 3, { bias: false });
    forward(x: Tensor): Tensor {
      return this.head.forward(this.body.forward(this.fc.forward(x)));
    }
  };
  /** The fixture's modules, built as scripts/goldens_edge.py builds them in PyTorch. */
  const MODULES: Record<string, () => AnyModule> = {
    "the MNIST MLP": () => mlp() as unknown as AnyModule,
    "nested containers": () =>
      new Sequential(new Flatten(), new Sequential(new Linear(784, 64), new ReLU(), new Dropout()),
        new Sequential(new Sequential(new Linear(64, 10))), new Dropout(0.25)) as unknown as AnyModule,
    "a module with named fields": () => new FieldsNet() as unknown as AnyModule,
    "empty Sequential": () => new Sequential() as unknown as AnyModule,
    "Linear without bias": () => new Linear(3, 4, { bias: false }) as unknown as AnyModule,
    "ReLU": () => new ReLU() as unknown as AnyModule,
    "Dropout": () => new Dropout() as unknown as AnyModule,
    "Dropout p=0": () => new Dropout(0) as unknown as AnyModule,
    "Dropout p=1": () => new Dropout(1) as unknown as AnyModule,
    "Dropout p=1e-5": () => new Dropout(1e-5) as unknown as AnyModule,
    "Flatten": () => new Flatten() as unknown as AnyModule,
    "Flatten(0, 2)": () => new Flatten(0, 2) as unknown as AnyModule,
    "CrossEntropyLoss": () => new CrossEntropyLoss({ labelSmoothing: 0.1 }) as unknown as AnyModule,
    "NLLLoss": () => new NLLLoss() as unknown as AnyModule,
    "MSELoss": () => new MSELoss({ reduction: "sum" }) as unknown as AnyModule,
  };
  const cases = loadFixture<{ moduleRepr: { name: string; repr: string }[] }>("edge-golden.json").moduleRepr;
  it("covers every module of the fixture", () => {
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(MODULES).sort());
  });
  it.each(cases.map((c) => [c.name, c.repr] as const))("%s", (name, repr) => {
    const m = MODULES[name]!();
    expect(String(m)).toBe(repr);
    expect(`${m}`).toBe(repr);
    expect(inspect(m)).toBe(repr); // console.log in Node
  });
  it("the issue's example, exactly", () => {
    expect(String(mlp())).toBe(
      "Sequential(\n  (0): Linear(in_features=784, out_features=128, bias=True)\n  (1): ReLU()\n" +
        "  (2): Linear(in_features=128, out_features=10, bias=True)\n)",
    );
  });
  it("a custom module's extraRepr: one line inline, several lines each on its own, before the children", () => {
    class Scale extends Module<[Tensor], Tensor> {
      constructor(readonly factor: number, readonly note = "") {
        super();
      }
      forward(x: Tensor): Tensor {
        return x.mul(this.factor);
      }
      override extraRepr(): string {
        return `factor=${this.factor}${this.note}`;
      }
    }
    expect(String(new Scale(2))).toBe("Scale(factor=2)");
    expect(String(new Scale(2, "\nlearned=False"))).toBe("Scale(\n  factor=2\n  learned=False\n)");
    const outer = new Sequential(new Scale(3, "\nx=1"));
    expect(String(outer)).toBe("Sequential(\n  (0): Scale(\n    factor=3\n    x=1\n  )\n)");
  });
  it("a module that contains itself prints instead of overflowing the stack", () => {
    const seq = new Sequential(new ReLU());
    seq.registerModule("again", seq as unknown as AnyModule);
    expect(String(seq)).toBe("Sequential(\n  (0): ReLU()\n  (again): Sequential(<contains itself>)\n)");
  });
});

