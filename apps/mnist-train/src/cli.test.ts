// Command-line parsing: defaults, the flags typed (kept apart from defaults), -h, negative numbers and usage errors.
import { describe, expect, it } from "vitest";
import { helpText, MODEL_DEFAULTS, parseCli, RUN_DEFAULTS, runDefaults, UsageError, type TrainOptions } from "./cli.js";

const train = (argv: string[]): TrainOptions => {
  const o = parseCli(argv);
  if (o.command !== "train") throw new Error(`expected a training run, got ${o.command}`);
  return o;
};

describe("parseCli", () => {
  it("fills PyTorch's classic run by default and records that no run setting was typed", () => {
    const o = train([]);
    expect({ model: o.model, dataset: o.dataset, hidden: o.hidden, batchSize: o.batchSize, lr: o.lr, seed: o.seed }).toEqual(RUN_DEFAULTS);
    expect(RUN_DEFAULTS).toEqual({ model: "mlp", dataset: "mnist", hidden: 128, batchSize: 64, lr: 0.001, seed: 1 });
    expect(o.given).toEqual({});
    expect(o.epochs).toBeUndefined(); // the model's default, known once a checkpoint (if any) is read
    expect(MODEL_DEFAULTS.mlp.epochs).toBe(10);
    expect(o.dryRun).toBe(false);
    expect(o.override).toBe(false);
    expect(o.verbose).toBe(false);
  });

  it("keeps the run settings typed apart from the defaults (a checkpoint decides the others)", () => {
    const o = train(["--resume", "r.safetensors", "--lr", "1e-3", "--dataset", "fashion-mnist", "--batch-size", "32"]);
    expect(o.given).toEqual({ lr: 0.001, dataset: "fashion-mnist", batchSize: 32 });
    expect(o.batchSize).toBe(32);
    expect(o.hidden).toBe(128);
  });

  it("--model cnn is main.py's run: Adadelta's lr 1.0 and 14 epochs by default", () => {
    const o = train(["--model", "cnn"]);
    expect({ model: o.model, lr: o.lr, batchSize: o.batchSize, seed: o.seed }).toEqual({ model: "cnn", lr: 1, batchSize: 64, seed: 1 });
    expect(runDefaults("cnn")).toEqual({ ...RUN_DEFAULTS, model: "cnn", lr: 1 });
    expect(MODEL_DEFAULTS.cnn).toEqual({ lr: 1, epochs: 14 });
    expect(o.given).toEqual({ model: "cnn" });
    expect(train(["--model", "cnn", "--lr", "0.5", "--epochs", "2"])).toMatchObject({ lr: 0.5, epochs: 2 });
    expect(train(["--dry-run", "--model", "cnn"]).dryRun).toBe(true);
  });

  it("--help shows both models' defaults side by side", () => {
    for (const text of ["--model NAME", "(default: mlp)", "(default: 10; cnn: 14)", "(default: 0.001; cnn: 1.0)", "--dry-run",
      "Adadelta(lr=1.0), StepLR(step_size=1, gamma=0.7)", "Normalize((0.1307,), (0.3081,)), test batch 1000, 14 epochs"]) {
      expect(helpText).toContain(text);
    }
  });

  it("takes -h and --help, for training and predict", () => {
    for (const argv of [["-h"], ["--help"], ["predict", "-h"], ["--epochs", "2", "-h"]]) {
      const o = parseCli(argv);
      expect(o.command).toBe("help");
      if (o.command === "help") expect(o.text).toBe(helpText);
    }
  });

  it("documents every flag, the override rule, relative paths and every exit code in --help", () => {
    for (const flag of ["-h, --help", "--override", "--verbose", "INIT_CWD", "130", "141", "143"]) expect(helpText).toContain(flag);
    expect(helpText).toMatch(/--override lets --dataset, --batch-size and --lr/);
  });

  it("reads --verbose and --override (with a checkpoint)", () => {
    const o = train(["--eval", "x", "--override", "--verbose"]);
    expect([o.override, o.verbose]).toEqual([true, true]);
    const p = parseCli(["predict", "--checkpoint", "x", "--override", "--dataset", "mnist", "--index", "3"]);
    expect(p).toMatchObject({ command: "predict", override: true, index: 3, given: { dataset: "mnist" } });
  });

  it.each([
    ["--epochs", 1], ["--batch-size", 1], ["--hidden", 1], ["--threads", 1], ["--seed", 0],
  ] as const)("%s takes whole numbers from %i, with one plain message for anything else", (flag, min) => {
    const what = min === 1 ? "a positive integer" : "a non-negative integer";
    for (const bad of ["-1", "abc", "1.5", "0x10", "1e3", ...(min === 1 ? ["0"] : ["-0"])]) {
      expect(() => parseCli([flag, bad]), `${flag} ${bad}`).toThrow(new UsageError(`${flag} must be ${what}, got "${bad}"`));
      expect(() => parseCli([`${flag}=${bad}`])).toThrow(new UsageError(`${flag} must be ${what}, got "${bad}"`));
    }
    expect(() => parseCli([flag, String(min)])).not.toThrow();
  });

  it("--index of predict is a non-negative integer too", () => {
    expect(() => parseCli(["predict", "--checkpoint", "c", "--index", "-1"])).toThrow(new UsageError('--index must be a non-negative integer, got "-1"'));
  });

  it.each([
    [["--lr", "-1"], '--lr must be a positive number, got "-1"'],
    [["--lr", "-.5"], '--lr must be a positive number, got "-.5"'],
    [["--lr", "0"], '--lr must be a positive number, got "0"'],
    [["--lr", "fast"], '--lr must be a positive number, got "fast"'],
    [["--threads", "300"], "--threads must be at most 256, got 300"],
    [["--hidden", "100000"], "--hidden must be at most 65,536, got 100000"],
    [["--epochs"], "Option '--epochs <value>' argument missing"],
    [["--epochs", " "], "--epochs expects a value"],
    [["--save", "-x"], "Option '--save' argument is ambiguous: to pass a value that starts with a dash, write --save=-XYZ"],
    [["train"], 'unexpected argument "train": mnist-train takes options only, or the command predict'],
    [["predict", "run.safetensors"], 'unexpected argument "run.safetensors": predict takes options only (--checkpoint PATH, --index I)'],
    [["predict", "--epochs", "2"], "Unknown option '--epochs'"],
    [["--eval", "c", "--resume", "c"], "--eval and --resume cannot be used together: --eval evaluates a checkpoint, --resume trains it further"],
    [["--eval", "c", "--save", "s"], "--save has no effect with --eval (it evaluates a checkpoint and trains nothing)"],
    [["--eval", "c", "--epochs", "3"], "--epochs has no effect with --eval (it evaluates a checkpoint and trains nothing)"],
    [["--eval", "c", "--report", "r.html"], "--report has no effect with --eval (it evaluates a checkpoint and trains nothing)"],
    [["--override"], "--override only applies with --resume or --eval (or to predict): there is no checkpoint to override"],
    [["--model", "resnet"], '--model must be mlp or cnn, got "resnet"'],
    [["--model", "cnn", "--hidden", "64"], "--hidden 64 applies to --model mlp only: the CNN has no hidden width to set (leave --hidden out)"],
    [["--dry-run", "--save", "s"], "--save cannot be used with --dry-run: a dry run trains one batch of a new run and saves no checkpoint"],
    [["--dry-run", "--resume", "r"], "--resume cannot be used with --dry-run: a dry run trains one batch of a new run and saves no checkpoint"],
    [["--dry-run", "--epochs", "3"], "--epochs cannot be used with --dry-run: a dry run trains one batch of a new run and saves no checkpoint"],
    [["--eval", "c", "--dry-run"], "--dry-run has no effect with --eval (it evaluates a checkpoint and trains nothing)"],
    [["predict", "--checkpoint", "c", "--model", "cnn"], "Unknown option '--model'"],
  ])("%j is a usage error: %s", (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError);
    try {
      parseCli(argv);
    } catch (e) {
      expect((e as Error).message.startsWith(message), (e as Error).message).toBe(true);
    }
  });
});
