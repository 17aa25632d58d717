// Training with @tsgrad/optim: the mlp_adam golden run, and resuming from saved model + optimizer state bit for bit.
import { describe, expect, it, onTestFinished } from "vitest";
import { loadGolden, type GoldenTensor } from "@tsgrad/testing";
import { Tensor, Generator, getBackend, randn, setBackend, tensor } from "@tsgrad/tensor";
import { Adam } from "@tsgrad/optim";
import { Linear, ReLU, Sequential, crossEntropy, loadSafetensors, saveSafetensors, type StateDict } from "./index.js";

const fromGolden = (t: GoldenTensor): Tensor => tensor(t.data, { shape: t.shape });

/** Linear/ReLU/.../Linear for `sizes`, as the golden generator's PyTorch `Sequential`. */
function mlp(sizes: readonly number[], g?: Generator): Sequential {
  const layers: (Linear | ReLU)[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    if (i > 0) layers.push(new ReLU());
    layers.push(new Linear(sizes[i]!, sizes[i + 1]!, g === undefined ? {} : { generator: g }));
  }
  return new Sequential(...layers);
}

describe.each(["js", "wasm"] as const)("mlp_adam: PyTorch training runs on the %s backend", (backend) => {
  const cases = loadGolden("mlp_adam");
  it.each(cases.map((c) => [c.name, c] as const))("%s matches every loss and the final weights", (_name, c) => {
    const previous = getBackend();
    setBackend(backend);
    onTestFinished(() => setBackend(previous));
    const model = mlp(c["sizes"] as number[]);
    const sd = Object.fromEntries(Object.entries(c["stateDict"] as Record<string, GoldenTensor>).map(([k, v]) => [k, fromGolden(v)]));
    model.loadStateDict(sd);
    const opt = new Adam(model.parameters(), { lr: c["lr"] as number });
    const inputs = c["inputs"] as GoldenTensor[];
    const targets = c["targets"] as GoldenTensor[];
    const losses = c["losses"] as number[];
    expect(inputs.length).toBe(losses.length);
    inputs.forEach((x, step) => {
      opt.zeroGrad();
      const loss = crossEntropy(model.forward(fromGolden(x)), fromGolden(targets[step]!));
      expect(loss, `loss at step ${step}`).toBeAllClose(losses[step]!);
      loss.backward();
      opt.step();
    });
    const expected = c["finalStateDict"] as Record<string, GoldenTensor>;
    const final = model.stateDict();
    expect(Object.keys(final)).toEqual(Object.keys(expected));
    for (const [k, v] of Object.entries(expected)) expect(final[k]!, k).toBeAllClose(v);
  });
});

describe("resuming training", () => {
  const sizes = [6, 16, 16, 4];
  const batch = (step: number): [Tensor, number[]] => {
    const g = new Generator(1000 + step);
    const x = randn([8, 6], { generator: g });
    return [x, Array.from({ length: 8 }, (_, i) => (i * 7 + step) % 4)];
  };
  const train = (model: Sequential, opt: Adam, from: number, to: number): void => {
    for (let s = from; s < to; s++) {
      const [x, y] = batch(s);
      opt.zeroGrad();
      crossEntropy(model.forward(x), y, { labelSmoothing: 0.1 }).backward();
      opt.step();
    }
  };

  it("N steps equal K steps, a save/load of model (safetensors bytes) and optimizer, then N−K steps, bit for bit", () => {
    const n = 30;
    const k = 13;
    const options = { lr: 3e-3, amsgrad: true, weightDecay: 1e-3 };
    const ref = mlp(sizes, new Generator(42));
    train(ref, new Adam(ref.parameters(), options), 0, n);

    const first = mlp(sizes, new Generator(42));
    const firstOpt = new Adam(first.parameters(), options);
    train(first, firstOpt, 0, k);
    const modelBytes = saveSafetensors(first.stateDict(), { step: String(k) });
    const optState = firstOpt.stateDict();
    train(first, firstOpt, k, k + 5); // later steps must not leak into what was saved

    const resumed = mlp(sizes, new Generator(7)); // different initial weights: everything must come from the save
    const { tensors, metadata } = loadSafetensors(modelBytes);
    expect(metadata).toEqual({ step: String(k) });
    resumed.loadStateDict(tensors);
    const resumedOpt = new Adam(resumed.parameters(), options);
    resumedOpt.loadStateDict(optState);
    train(resumed, resumedOpt, k, n);

    const a: StateDict = ref.stateDict();
    const b: StateDict = resumed.stateDict();
    for (const key of Object.keys(a)) expect(Array.from(b[key]!.data), key).toEqual(Array.from(a[key]!.data));
    expect(Array.from(b["0.weight"]!.data)).not.toEqual(Array.from(first.stateDict()["0.weight"]!.data));
  });
});
