// A checkpoint defines its run: recorded settings win, contradicting flags are usage errors unless overridable.
import { describe, expect, it } from "vitest";
import { UsageError } from "./cli.js";
import { checkTrainingSplit, recordedRun, resolveRun, type ResolveRunInput } from "./run-settings.js";

const fashion = { dataset: "fashion-mnist", hidden: 128, batchSize: 64, lr: 0.001, seed: 1, trainImages: 60000 } as const;

const input = (over: Partial<ResolveRunInput>): ResolveRunInput => ({
  use: "resume", flag: "--resume", path: "/r/run.safetensors", recorded: fashion, weights: { model: "mlp", hidden: 128 }, given: {},
  override: false, midEpoch: null, ...over,
});

const usageError = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("expected a UsageError");
};

describe("recordedRun", () => {
  it("reads the options metadata, keeping only well-typed fields", () => {
    expect(recordedRun({ hidden: 128, batchSize: 64, lr: 0.001, seed: 1, dataset: "fashion-mnist", trainImages: 60000 })).toEqual(fashion);
    expect(recordedRun({ hidden: "128", batchSize: -1, lr: 0, seed: 1.5, dataset: "cifar" })).toEqual({});
    expect(recordedRun(null)).toEqual({});
    expect(recordedRun({ model: "cnn", lr: 1 })).toEqual({ model: "cnn", lr: 1 });
    expect(recordedRun({ model: "resnet" })).toEqual({});
  });
});

describe("resolveRun", () => {
  it("takes every setting from the checkpoint when no flag is given", () => {
    for (const use of ["resume", "eval", "predict"] as const) {
      const r = resolveRun(input({ use }));
      expect(r.settings).toEqual({ model: "mlp", dataset: "fashion-mnist", hidden: 128, batchSize: 64, lr: 0.001, seed: 1 });
      expect(r.notes).toEqual([]);
      expect(r.overridden).toEqual([]);
    }
  });

  it("accepts flags that repeat the checkpoint", () => {
    const r = resolveRun(input({ given: { dataset: "fashion-mnist", batchSize: 64, lr: 1e-3, seed: 1, hidden: 128 } }));
    expect(r.settings.dataset).toBe("fashion-mnist");
  });

  it.each([
    ["eval", { dataset: "mnist" }, "--dataset mnist contradicts the checkpoint's dataset fashion-mnist (--eval /r/run.safetensors); add --override to use --dataset mnist anyway"],
    ["resume", { batchSize: 32 }, "--batch-size 32 contradicts the checkpoint's batch size 64 (--resume /r/run.safetensors); add --override to use --batch-size 32 anyway"],
    ["resume", { lr: 0.01 }, "--lr 0.01 contradicts the checkpoint's learning rate 0.001 (--resume /r/run.safetensors); add --override to use --lr 0.01 anyway"],
    ["resume", { seed: 2 }, "--seed 2 contradicts the checkpoint's seed 1: the shuffling continues from the checkpoint's generator, so --seed cannot change it (leave --seed out, or start a new run without --resume)"],
    ["resume", { hidden: 64 }, "--hidden 64 contradicts the checkpoint's hidden width 128: the weights of --resume /r/run.safetensors are Linear(784→128), and no flag changes them (leave --hidden out)"],
    ["eval", { lr: 0.01 }, "--lr 0.01 contradicts the checkpoint's learning rate 0.001: --eval trains nothing, so --lr would have no effect (leave it out)"],
    ["eval", { batchSize: 8 }, "--batch-size 8 contradicts the checkpoint's batch size 64: --eval trains nothing, so --batch-size would have no effect (leave it out)"],
  ] as const)("%s with %j is a usage error naming both values", (use, given, message) => {
    const flag = use === "resume" ? "--resume" : "--eval";
    expect(usageError(() => resolveRun(input({ use, flag, given })))).toBe(message);
  });

  it("--override lets --dataset, --batch-size and --lr win, never --hidden or --seed", () => {
    const r = resolveRun(input({ given: { dataset: "mnist", batchSize: 32, lr: 0.01 }, override: true }));
    expect(r.settings).toEqual({ model: "mlp", dataset: "mnist", hidden: 128, batchSize: 32, lr: 0.01, seed: 1 });
    expect(r.overridden).toEqual(["dataset", "batchSize", "lr"]);
    expect(usageError(() => resolveRun(input({ given: { seed: 5 }, override: true })))).toMatch(/^--seed 5 contradicts .* cannot change it/);
    expect(usageError(() => resolveRun(input({ given: { hidden: 64 }, override: true })))).toMatch(/^--hidden 64 contradicts .* no flag changes them/);
    const ev = resolveRun(input({ use: "predict", flag: "--checkpoint", given: { dataset: "mnist" }, override: true }));
    expect(ev.settings.dataset).toBe("mnist");
  });

  it("inside an epoch, --override changes the learning rate only", () => {
    const midEpoch = { epoch: 3, batchesDone: 5 };
    expect(resolveRun(input({ given: { lr: 0.01 }, override: true, midEpoch })).settings.lr).toBe(0.01);
    expect(usageError(() => resolveRun(input({ given: { batchSize: 32 }, override: true, midEpoch })))).toBe(
      "--batch-size 32 contradicts the checkpoint's batch size 64, and /r/run.safetensors stops inside epoch 3 (after 5 batches): " +
        "--override can change the batch size only at an epoch boundary (finish that epoch first with --resume /r/run.safetensors --epochs 3 --save /r/run.safetensors)",
    );
    expect(usageError(() => resolveRun(input({ given: { dataset: "mnist" }, override: true, midEpoch: { epoch: 1, batchesDone: 1 } })))).toMatch(/\(after 1 batch\)/);
  });

  it("the hidden width is the weights', whatever the metadata says", () => {
    expect(resolveRun(input({ recorded: { ...fashion, hidden: 999 }, weights: { model: "mlp", hidden: 32 } })).settings.hidden).toBe(32);
  });

  const cnn = { model: "cnn", dataset: "fashion-mnist", batchSize: 64, lr: 1, seed: 1, trainImages: 60000 } as const;
  const cnnInput = (over: Partial<ResolveRunInput>): ResolveRunInput => input({ recorded: cnn, weights: { model: "cnn" }, ...over });

  it("the model is the weights': a CNN checkpoint gives the CNN's run, with its own defaults", () => {
    const r = resolveRun(cnnInput({}));
    expect(r.settings).toMatchObject({ model: "cnn", dataset: "fashion-mnist", batchSize: 64, lr: 1, seed: 1 });
    expect(r.notes).toEqual([]);
    const bare = resolveRun(cnnInput({ use: "eval", flag: "--eval", recorded: {} })); // weights only, from PyTorch
    expect(bare.settings).toMatchObject({ model: "cnn", dataset: "mnist", lr: 1 });
    const { lr: _, ...withoutLr } = cnn;
    const noLr = resolveRun(cnnInput({ recorded: withoutLr }));
    expect(noLr.notes).toEqual(["/r/run.safetensors does not record its learning rate: using 1 (the default; set it with --lr)"]);
    expect(resolveRun(cnnInput({ given: { model: "cnn", lr: 1 } })).settings.model).toBe("cnn");
  });

  it.each([
    [{ model: "cnn" }, { model: "mlp", hidden: 128 }, "--model cnn contradicts the checkpoint's model mlp: --resume /r/run.safetensors holds the weights of the MLP, and no flag changes the model (leave --model out)"],
    [{ model: "mlp" }, { model: "cnn" }, "--model mlp contradicts the checkpoint's model cnn: --resume /r/run.safetensors holds the weights of the CNN, and no flag changes the model (leave --model out)"],
    [{ hidden: 64 }, { model: "cnn" }, "--hidden 64 does not apply to --resume /r/run.safetensors: it holds the CNN, which has no hidden width (leave --hidden out)"],
  ] as const)("%j on a checkpoint of %j is a usage error, --override or not", (given, weights, message) => {
    for (const override of [false, true]) {
      for (const use of ["resume", "eval", "predict"] as const) {
        expect(usageError(() => resolveRun(input({ use, given, weights, override, recorded: weights.model === "cnn" ? cnn : fashion })))).toBe(message);
      }
    }
  });

  it("a checkpoint without metadata (converted from PyTorch) uses the flags or the defaults, and says which", () => {
    const r = resolveRun(input({ use: "eval", flag: "--eval", recorded: {}, weights: { model: "mlp", hidden: 256 } }));
    expect(r.settings).toEqual({ model: "mlp", dataset: "mnist", hidden: 256, batchSize: 64, lr: 0.001, seed: 1 });
    expect(r.notes).toEqual(["/r/run.safetensors does not record its dataset: using mnist (the default; set it with --dataset)"]);
    const f = resolveRun(input({ use: "predict", recorded: {}, given: { dataset: "fashion-mnist" } }));
    expect(f.settings.dataset).toBe("fashion-mnist");
    expect(f.notes).toEqual(["/r/run.safetensors does not record its dataset: using fashion-mnist (--dataset)"]);
    const resumed = resolveRun(input({ recorded: { dataset: "mnist", hidden: 128 }, given: { lr: 0.002 } }));
    expect(resumed.settings).toMatchObject({ batchSize: 64, lr: 0.002, seed: 1 });
    expect(resumed.notes).toEqual([
      "/r/run.safetensors does not record its batch size: using 64 (the default; set it with --batch-size)",
      "/r/run.safetensors does not record its learning rate: using 0.002 (--lr)",
      "/r/run.safetensors does not record its seed: using 1 (the default; set it with --seed)",
    ]);
  });
});

describe("checkTrainingSplit", () => {
  const check = { flag: "--resume", path: "/r/run.safetensors", recorded: fashion, images: 60000, description: "Fashion-MNIST: 60,000 train", override: false, midEpoch: null };

  it("passes the split the run was trained on", () => {
    expect(checkTrainingSplit(check)).toEqual([]);
  });

  it("refuses a split of another size unless --override, and never inside an epoch", () => {
    const other = { ...check, recorded: { ...fashion, trainImages: 9000 }, description: "MNIST: 60,000 train / 10,000 test images from the cache" };
    expect(usageError(() => checkTrainingSplit(other))).toBe(
      "--resume /r/run.safetensors was trained on 9,000 training images, but the data now has 60,000 (MNIST: 60,000 train / 10,000 test images from the cache); " +
        "give the run's data (--data-dir), or add --override to continue on this data",
    );
    expect(checkTrainingSplit({ ...other, override: true })).toEqual([]);
    expect(usageError(() => checkTrainingSplit({ ...other, override: true, midEpoch: { epoch: 2, batchesDone: 3 } }))).toMatch(/only at an epoch boundary$/);
  });

  it("says when an older checkpoint does not record its split", () => {
    expect(checkTrainingSplit({ ...check, recorded: { dataset: "mnist" } })).toEqual([
      "/r/run.safetensors does not record the size of its training split (an older checkpoint): not checked",
    ]);
  });
});
