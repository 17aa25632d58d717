// End-to-end: the bundled CLI as a child process on a small synthetic IDX folder (and the embedded MNIST subset).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tensor } from "@tsgrad/tensor";
import { loadSafetensors, saveSafetensors } from "@tsgrad/nn";
import { buildCli } from "../build.mjs";
import { TerminalScreen } from "./terminal-screen.js";

// Paths are known when the tests are collected (the tables below name them); the files are made in beforeAll.
const dir = mkdtempSync(join(tmpdir(), "mnist-train-e2e-"));
const data = join(dir, "data");
/** The app's folder: the embedded MNIST subset is found from it, as when pnpm runs the CLI. */
const appDir = dirname(dirname(fileURLToPath(import.meta.url)));
let cli: string;

/** An IDX file of unsigned bytes. */
function idx(dims: readonly number[], bytes: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint32(0, 0x00000800 | dims.length);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.byteLength + bytes.length);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(bytes, header.byteLength);
  return out;
}

/** Learnable synthetic digits: class d lights rows 2d+4 and 2d+5, plus seeded noise. */
function synthetic(count: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  let s = seed;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) | 0) >>> 24);
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const d = (i * 7 + (rnd() & 3)) % 10;
    labels[i] = d;
    for (let p = 0; p < 784; p++) images[i * 784 + p] = rnd() >> 2;
    for (let r = 2 * d + 4; r < 2 * d + 6; r++) for (let c = 4; c < 24; c++) images[i * 784 + r * 28 + c] = 200 + (rnd() >> 3);
  }
  return { images, labels };
}

interface RunOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

function run(args: readonly string[], { env = {}, cwd }: RunOptions = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    env: { ...cleanEnv(), NO_COLOR: "1", TSGRAD_MEMORY_DEBUG: "1", ...env },
    timeout: 120_000,
    ...(cwd !== undefined ? { cwd } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The test runner's environment without INIT_CWD (pnpm sets it for the test run itself; each test sets its own). */
function cleanEnv(): Record<string, string | undefined> {
  const { INIT_CWD: _, ...env } = process.env;
  return env;
}

const dataArgs = (): string[] => ["--data-dir", data, "--no-download", "--threads", "1"];
/** Mirrors that refuse at once (nothing listens on port 1): offline, without touching the network. */
const OFFLINE = { TSGRAD_MNIST_MIRRORS: "http://127.0.0.1:1/", TSGRAD_FASHION_MNIST_MIRRORS: "http://127.0.0.1:1/" };

const ckptA = join(dir, "a.safetensors");
const html = join(dir, "page.html");
const empty = join(dir, "empty.safetensors");
const weightsOnly = join(dir, "weights-only.safetensors");
const notAFolder = join(dir, "not-a-folder");
const badData = join(dir, "bad-data");
const emptyCache = join(dir, "empty-cache");

beforeAll(async () => {
  cli = await buildCli(join(dir, "mnist-train.mjs"));
  mkdirSync(data);
  const train = synthetic(640, 1);
  const test = synthetic(200, 2);
  writeFileSync(join(data, "train-images-idx3-ubyte"), idx([640, 28, 28], train.images));
  writeFileSync(join(data, "train-labels-idx1-ubyte"), idx([640], train.labels));
  writeFileSync(join(data, "t10k-images-idx3-ubyte.gz"), gzipSync(idx([200, 28, 28], test.images)));
  writeFileSync(join(data, "t10k-labels-idx1-ubyte"), idx([200], test.labels));
  writeFileSync(html, "<!DOCTYPE html>\n<html><head><title>Not found</title></head><body>404</body></html>\n");
  writeFileSync(empty, "");
  writeFileSync(notAFolder, "x");
  // What PyTorch's safetensors.torch.save_file of the model's state dict gives: weights, no metadata.
  const w = (shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.01), { shape });
  writeFileSync(weightsOnly, saveSafetensors({ "0.weight": w([32, 784]), "0.bias": w([32]), "2.weight": w([10, 32]), "2.bias": w([10]) }));
  mkdirSync(badData);
  for (const name of ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) {
    writeFileSync(join(badData, name), "<html>not IDX</html>");
  }
  mkdirSync(emptyCache);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A short message: at most two lines (the message and a hint), no stack trace. */
function expectShort(stderr: string): string[] {
  const lines = stderr.trim().split("\n");
  expect(lines.length, stderr).toBeLessThanOrEqual(2);
  expect(stderr).not.toMatch(/\n\s+at |internal error/);
  return lines;
}

describe("mnist-train CLI", () => {
  it("--help lists every option with its default", () => {
    const r = run(["--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--model", "--epochs", "--batch-size", "--lr", "--hidden", "--seed", "--dataset", "--data-dir", "--cache-dir",
      "--no-download", "--save", "--resume", "--eval", "--metrics", "--report", "--quiet", "--threads", "--backend", "--dry-run", "predict"]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain("(default: mlp)");
    expect(r.stdout).toContain("(default: 10; cnn: 14)");
    expect(r.stdout).toContain("(default: 64)");
    expect(r.stdout).toContain("(default: 0.001; cnn: 1.0)");
    for (const text of ["-h, --help", "--override", "--verbose", "A checkpoint defines its run", "INIT_CWD", "141", "143"]) {
      expect(r.stdout).toContain(text);
    }
    const short = run(["-h"]);
    expect(short.code).toBe(0);
    expect(short.stdout).toBe(r.stdout);
    expect(run(["predict", "-h"]).stdout).toBe(r.stdout);
  });

  it("ignores a leading -- (as npm run passes it on)", () => {
    const r = run(["--", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: mnist-train");
  });

  it("trains, prints a header and one line per epoch, writes metrics, a checkpoint PyTorch can load and a report", () => {
    const metrics = join(dir, "a.jsonl");
    const report = join(dir, "a.html");
    const r = run(["--epochs", "2", "--save", ckptA, "--metrics", metrics, "--report", report, ...dataArgs()]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`from folder ${data}`);
    expect(r.stdout).toContain("640 train / 200 test images");
    expect(r.stdout).toContain("Linear(784→128) → ReLU → Linear(128→10), 101,770 parameters");
    expect(r.stdout).toContain("Adam(lr=0.001)");
    expect(r.stdout).toContain("seed 1");
    expect(r.stdout).toMatch(/epoch 1\/2 {2}train loss \d+\.\d{4} {2}test loss \d+\.\d{4} {2}test accuracy \d+\.\d{2}% {2}\d+\.\d s/);
    expect(r.stdout).toMatch(/epoch 2\/2 /);
    expect(r.stdout).not.toMatch(/\x1b/); // not a terminal: no control characters

    const records = readFileSync(metrics, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
    expect(records.map((x) => x["epoch"])).toEqual([1, 2]);
    for (const rec of records) {
      expect(Object.keys(rec).sort()).toEqual(["epoch", "rssMB", "seconds", "testAccuracy", "testLoss", "trainLoss"]);
      expect(rec["testAccuracy"]).toBeGreaterThanOrEqual(0);
      expect(rec["testAccuracy"]).toBeLessThanOrEqual(1);
    }
    expect(records[1]!["trainLoss"]).toBeLessThan(records[0]!["trainLoss"]!);
    expect(records[1]!["testAccuracy"]).toBeGreaterThan(0.5); // the synthetic classes are easy

    const file = loadSafetensors(readFileSync(ckptA));
    expect(Object.keys(file.tensors)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(file.tensors["0.weight"]!.shape).toEqual([128, 784]);
    expect(file.tensors["2.bias"]!.shape).toEqual([10]);
    expect(file.metadata["epoch"]).toBe("2");
    expect(existsSync(join(dir, "a.optim.safetensors"))).toBe(true);

    const html = readFileSync(report, "utf8");
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html.match(/<polyline /g)).toHaveLength(3);
    expect(html.match(/<title>true /g)).toHaveLength(100);
  });

  it("evaluates a checkpoint with --eval", () => {
    const r = run(["--eval", ckptA, ...dataArgs()]);
    expect(r.code).toBe(0);
    const acc = /test accuracy (\d+\.\d+)%/.exec(r.stdout);
    expect(acc).not.toBeNull();
    const metrics = readFileSync(join(dir, "a.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { testAccuracy: number });
    expect(Number(acc![1])).toBeCloseTo(metrics[1]!.testAccuracy * 100, 2);
  });

  it("gives the same losses and the same checkpoint bytes for the same seed", () => {
    const again = join(dir, "again.safetensors");
    const r = run(["--epochs", "2", "--save", again, "--quiet", ...dataArgs()]);
    expect(r.code).toBe(0);
    expect(readFileSync(again).equals(readFileSync(ckptA))).toBe(true);
    expect(readFileSync(join(dir, "again.optim.safetensors")).equals(readFileSync(join(dir, "a.optim.safetensors")))).toBe(true);
  });

  it("gives the same checkpoint bytes with 2 threads as with 1 (fixed summation order)", () => {
    const two = join(dir, "two.safetensors");
    const args = ["--epochs", "2", "--save", two, "--quiet", "--data-dir", data, "--no-download", "--threads", "2"];
    expect(run(args).code).toBe(0);
    expect(readFileSync(two).equals(readFileSync(ckptA))).toBe(true);
  });

  it("trains on the JavaScript kernels with --backend js (float64 sums: close to, not equal to, the SIMD run)", () => {
    const js = join(dir, "js.safetensors");
    const r = run(["--epochs", "2", "--save", js, "--backend", "js", ...dataArgs()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("js kernels");
    const a = loadSafetensors(readFileSync(ckptA)).tensors["0.weight"]!.data;
    const b = loadSafetensors(readFileSync(js)).tensors["0.weight"]!.data;
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    expect(maxDiff).toBeLessThan(1e-3);
  });

  it("resumes exactly: 1 epoch + resume + 1 epoch equals 2 epochs (losses and weights)", () => {
    const b = join(dir, "b.safetensors");
    const metrics = join(dir, "b.jsonl");
    expect(run(["--epochs", "1", "--save", b, "--metrics", metrics, ...dataArgs()]).code).toBe(0);
    const r = run(["--epochs", "2", "--resume", b, "--save", b, "--metrics", metrics, ...dataArgs()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`resumed:   ${b} at epoch 1`);
    const losses = (p: string) => readFileSync(p, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { trainLoss: number; testLoss: number });
    expect(losses(metrics).map((x) => [x.trainLoss, x.testLoss])).toEqual(losses(join(dir, "a.jsonl")).map((x) => [x.trainLoss, x.testLoss]));
    const wa = loadSafetensors(readFileSync(ckptA)).tensors;
    const wb = loadSafetensors(readFileSync(b)).tensors;
    for (const key of Object.keys(wa)) expect(Array.from(wb[key]!.data)).toEqual(Array.from(wa[key]!.data));
  });

  it("predict draws the image with half blocks and lists three classes", () => {
    const r = run(["predict", "--checkpoint", ckptA, "--index", "5", "--data-dir", data, "--no-download"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 14).join("")).toMatch(/[▀▄█]/);
    const probs = [...r.stdout.matchAll(/^\s+\d\s+(\d+\.\d+)%$/gm)].map((m) => Number(m[1]));
    expect(probs).toHaveLength(3);
    expect(probs[0]!).toBeGreaterThanOrEqual(probs[1]!);
    expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100.01);
  });

  it("on Ctrl-C finishes the step, writes a checkpoint, says where and exits 130; resuming from it is exact", async () => {
    const c = join(dir, "c.safetensors");
    const cMetrics = join(dir, "c.jsonl");
    const child = spawn(process.execPath, [cli, "--epochs", "200", "--save", c, "--metrics", cMetrics, ...dataArgs()], {
      env: { ...process.env, NO_COLOR: "1", TSGRAD_MEMORY_DEBUG: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let sent = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (!sent && /epoch +2\/200/.test(stdout)) {
          sent = true; // once: a second Ctrl-C means "stop now, without a checkpoint"
          child.kill("SIGINT");
        }
      });
      child.on("exit", (exitCode) => resolve(exitCode));
    });
    expect(code).toBe(130);
    expect(stderr).toContain(`checkpoint written to ${c}`);
    const meta = loadSafetensors(readFileSync(c)).metadata;
    const epochs = Number(meta["epoch"]) + 1;
    expect(epochs).toBeGreaterThanOrEqual(3);

    // Wherever the interrupt landed (often mid-epoch), resuming gives exactly the uninterrupted run.
    const r = run(["--epochs", String(epochs), "--resume", c, "--save", c, "--metrics", cMetrics, "--quiet", ...dataArgs()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/final: test accuracy/);
    const straight = join(dir, "straight.safetensors");
    const sMetrics = join(dir, "straight.jsonl");
    expect(run(["--epochs", String(epochs), "--save", straight, "--metrics", sMetrics, "--quiet", ...dataArgs()]).code).toBe(0);
    const losses = (p: string) => readFileSync(p, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { trainLoss: number; testLoss: number })
      .map((x) => [x.trainLoss, x.testLoss]);
    expect(losses(cMetrics)).toEqual(losses(sMetrics));
    expect(readFileSync(c).equals(readFileSync(straight))).toBe(true);
  }, 90_000);
  it.each([
    [["--bogus"], /Unknown option '--bogus'/],
    [["-x"], /Unknown option '-x'/],
    [["--epochs", "abc"], /^mnist-train: --epochs must be a positive integer, got "abc"$/],
    [["--epochs", "-1"], /^mnist-train: --epochs must be a positive integer, got "-1"$/],
    [["--epochs", "1.5"], /^mnist-train: --epochs must be a positive integer, got "1.5"$/],
    [["--batch-size", "0"], /^mnist-train: --batch-size must be a positive integer, got "0"$/],
    [["--hidden", "-5"], /^mnist-train: --hidden must be a positive integer, got "-5"$/],
    [["--seed", "-1"], /^mnist-train: --seed must be a non-negative integer, got "-1"$/],
    [["--threads", "0"], /^mnist-train: --threads must be a positive integer, got "0"$/],
    [["--lr=-1"], /--lr must be a positive number, got "-1"/],
    [["--lr", "-1"], /--lr must be a positive number, got "-1"/],
    [["--lr", "0"], /--lr must be a positive number, got "0"/],
    [["--dataset", "cifar"], /--dataset must be mnist or fashion-mnist, got "cifar"/],
    [["--backend", "gpu"], /--backend must be js or wasm, got "gpu"/],
    [["train"], /unexpected argument "train": mnist-train takes options only, or the command predict/],
    [["--data-dir", "/nonexistent/mnist"], /--data-dir \/nonexistent\/mnist does not exist/],
    [["--data-dir", notAFolder], new RegExp(`--data-dir ${notAFolder} is not a folder`)],
    [["--cache-dir", notAFolder], new RegExp(`--cache-dir ${notAFolder} is not a folder`)],
    [["--save", "/nonexistent/dir/run.safetensors"], /--save \/nonexistent\/dir\/run\.safetensors: the folder \/nonexistent\/dir does not exist/],
    [["--save", `${notAFolder}/run.safetensors`], new RegExp(`--save ${notAFolder}/run\\.safetensors: ${notAFolder} is not a folder`)],
    [["--metrics", dir], new RegExp(`--metrics ${dir} is a folder: give a file name, e.g. --metrics ${dir}/run\\.jsonl`)],
    [["--report", "/sys/run.html"], /^mnist-train: --report \/sys\/run\.html: cannot write in the folder \/sys: (permission denied \(EACCES\)|read-only file system \(EROFS\))$/],
    [["--metrics", join(dir, "m.jsonl"), "--report", join(dir, "m.jsonl")], /--metrics and --report both name .*m\.jsonl: each output needs its own file/],
    [["--resume", join(dir, "nope.safetensors")], /--resume .*nope\.safetensors does not exist/],
    [["--resume", dir], new RegExp(`--resume ${dir} is a folder, not a checkpoint file`)],
    [["--eval", dir], new RegExp(`--eval ${dir} is a folder, not a checkpoint file`)],
    [["--eval", ckptA, "--resume", ckptA], /--eval and --resume cannot be used together/],
    [["--eval", ckptA, "--save", join(dir, "x.safetensors")], /--save has no effect with --eval/],
    [["--override"], /--override only applies with --resume or --eval/],
    [["--resume", weightsOnly, ...dataArgs()], /--resume .*weights-only\.safetensors holds weights only \(it was not written by mnist-train --save\)/],
    [["--resume", ckptA, "--report", ckptA], /--report .*a\.safetensors would overwrite --resume .*a\.safetensors/],
    [["predict", "--index", "3"], /predict needs --checkpoint PATH/],
    [["predict", "run.safetensors"], /unexpected argument "run\.safetensors": predict takes options only/],
    [["predict", "--checkpoint", dir], new RegExp(`--checkpoint ${dir} is a folder, not a checkpoint file`)],
    [["predict", "--checkpoint", join(dir, "nope")], /--checkpoint .*nope does not exist/],
    [["predict", "--checkpoint", ckptA, "--index", "200", "--data-dir", data], /--index 200 is out of range: the test split has 200 images \(0 to 199\)/],
  ])("bad usage %j exits 2 with one line and a hint", (args, message) => {
    const t0 = performance.now();
    const r = run(args);
    expect(r.code, r.stderr).toBe(2);
    const lines = expectShort(r.stderr);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(message);
    expect(lines[1]).toMatch(/^hint: /);
    expect(r.stdout).toBe(""); // found before any work: no header, no training
    expect(performance.now() - t0).toBeLessThan(30_000);
  });

  it.each([
    [["--eval", html], new RegExp(`^mnist-train: --eval ${html} cannot be read as a checkpoint: not a safetensors file .+`)],
    [["--eval", empty], new RegExp(`^mnist-train: --eval ${empty} cannot be read as a checkpoint: .+`)],
    [["--resume", html], new RegExp(`^mnist-train: --resume ${html} cannot be read as a checkpoint: .+`)],
    [["predict", "--checkpoint", html], new RegExp(`^mnist-train: --checkpoint ${html} cannot be read as a checkpoint: .+`)],
    [["--eval", join(dir, "a.optim.safetensors"), ...dataArgs()], /a\.optim\.safetensors does not hold the weights of Linear\(784, hidden\)/],
    [["--data-dir", badData, "--no-download"], new RegExp(`${badData}/train-images-idx3-ubyte`)],
    [["--data-dir", emptyCache, "--no-download"], new RegExp(`^mnist-train: --data-dir ${emptyCache} lacks train-images-idx3-ubyte`)],
  ])("a bad file %j exits 1 with one line naming it", (args, message) => {
    const r = run(args);
    expect(r.code, r.stderr).toBe(1);
    const lines = expectShort(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).not.toMatch(/\.tmp|\.probe|dataDir|loadMnist|loadSafetensors:/);
  });
});

describe("a checkpoint defines its run", () => {
  // A Fashion-MNIST run (the synthetic folder stands in for the data) with nothing left at its default.
  const runFlags = ["--dataset", "fashion-mnist", "--batch-size", "32", "--lr", "0.002", "--seed", "7", "--hidden", "64"];
  const f = join(dir, "f.safetensors");
  const fMetrics = join(dir, "f.jsonl");
  const straight = join(dir, "f-straight.safetensors");

  beforeAll(() => {
    expect(run(["--epochs", "1", ...runFlags, "--save", f, "--metrics", fMetrics, "--quiet", ...dataArgs()]).code).toBe(0);
    expect(run(["--epochs", "2", ...runFlags, "--save", straight, "--quiet", ...dataArgs()]).code).toBe(0);
  }, 60_000);

  it("records the dataset, the settings and the size of the training split", () => {
    const options = JSON.parse(loadSafetensors(readFileSync(f)).metadata["options"]!) as Record<string, unknown>;
    expect(options).toEqual({ hidden: 64, batchSize: 32, lr: 0.002, seed: 7, dataset: "fashion-mnist", trainImages: 640 });
  });

  it("--resume with no run flags continues that run exactly (dataset, hidden, batch size, lr, seed from the checkpoint)", () => {
    const resumed = join(dir, "f-resumed.safetensors");
    const r = run(["--epochs", "2", "--resume", f, "--save", resumed, ...dataArgs()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("mnist-train — Fashion-MNIST");
    expect(r.stdout).toContain("Adam(lr=0.002), CrossEntropyLoss, batch 32, shuffled, 2 epochs, seed 7");
    expect(r.stdout).toContain("Linear(784→64)");
    expect(r.stdout).toContain(`resumed:   ${f} at epoch 1; new epochs are saved to ${resumed}`);
    expect(readFileSync(resumed).equals(readFileSync(straight))).toBe(true);
  });

  it("--eval and predict score it on its own dataset", () => {
    const ev = run(["--eval", f, ...dataArgs()]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(new RegExp(`checkpoint ${f} \\(Fashion-MNIST, hidden 64, 1 epoch\\): test loss \\d\\.\\d{4}, test accuracy (\\d+\\.\\d\\d)%`));
    const acc = Number(/test accuracy (\d+\.\d\d)%/.exec(ev.stdout)![1]);
    const recorded = JSON.parse(readFileSync(fMetrics, "utf8").trim()) as { testAccuracy: number };
    expect(acc).toBeCloseTo(recorded.testAccuracy * 100, 2);
    const p = run(["predict", "--checkpoint", f, "--index", "3", "--data-dir", data, "--no-download"]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/^label \d \((T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot)\) — top guess (correct|wrong: \d \(.+\))$/m);
  });

  it.each([
    [["--eval", f, "--dataset", "mnist"], "--dataset mnist contradicts the checkpoint's dataset fashion-mnist"],
    [["predict", "--checkpoint", f, "--dataset", "mnist"], "--dataset mnist contradicts the checkpoint's dataset fashion-mnist"],
    [["--resume", f, "--dataset", "mnist"], "--dataset mnist contradicts the checkpoint's dataset fashion-mnist"],
    [["--resume", f, "--batch-size", "64"], "--batch-size 64 contradicts the checkpoint's batch size 32"],
    [["--resume", f, "--lr", "0.001"], "--lr 0.001 contradicts the checkpoint's learning rate 0.002"],
    [["--resume", f, "--seed", "1"], "--seed 1 contradicts the checkpoint's seed 7"],
    [["--resume", f, "--hidden", "128", "--override"], "--hidden 128 contradicts the checkpoint's hidden width 64"],
    [["--resume", f, "--seed", "1", "--override"], "--seed 1 contradicts the checkpoint's seed 7"],
    [["--eval", f, "--lr", "0.01", "--override"], "--lr 0.01 contradicts the checkpoint's learning rate 0.002: --eval trains nothing"],
  ])("%j is a usage error naming both values", (args, message) => {
    const r = run([...args, "--data-dir", data, "--no-download"]);
    expect(r.code, r.stderr).toBe(2);
    expect(expectShort(r.stderr)[0]).toContain(message);
    expect(r.stdout).toBe("");
  });

  it("--override lets --dataset and --lr win, and says so in the header", () => {
    const ev = run(["--eval", f, "--dataset", "mnist", "--override", ...dataArgs()]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toContain(`checkpoint ${f} (MNIST, hidden 64, 1 epoch)`);
    const r = run(["--epochs", "2", "--resume", f, "--lr", "0.01", "--override", ...dataArgs()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Adam(lr=0.01), CrossEntropyLoss, batch 32");
  });

  it("--resume without --save says that the new epochs are not saved", () => {
    const before = readFileSync(f);
    const r = run(["--epochs", "2", "--resume", f, ...dataArgs()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`warning: --resume without --save: the epochs trained now are not saved anywhere (add --save ${f} to update the checkpoint)\n`);
    expect(readFileSync(f).equals(before)).toBe(true);
  });

  it("--resume on a training split of another size (the embedded 9,000 images) needs --override", () => {
    const r = run(["--epochs", "2", "--resume", ckptA, "--no-download", "--cache-dir", emptyCache, "--threads", "1"], { cwd: appDir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--resume ${ckptA} was trained on 640 training images, but the data now has 9,000 (MNIST: 9,000 train / 1,000 test images`);
    expect(r.stdout).toBe("");
  });

  it("a checkpoint with weights only (from PyTorch) is evaluated on the default dataset, with a note", () => {
    const r = run(["--eval", weightsOnly, "--no-download", "--cache-dir", emptyCache], { cwd: appDir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split("\n")[0]).toBe(`note: ${weightsOnly} does not record its dataset: using mnist (the default; set it with --dataset)`);
    expect(r.stdout).toContain(`checkpoint ${weightsOnly} (MNIST, hidden 32): test loss`);
  });
});

describe("paths", () => {
  it("resolves relative paths against INIT_CWD (where pnpm was run), writes there and prints what it wrote", () => {
    const user = join(dir, "user");
    mkdirSync(join(user, "out"), { recursive: true });
    const r = run(
      ["--epochs", "1", "--save", "out/run.safetensors", "--metrics", "run.jsonl", "--report", "../user/run.html", "--data-dir", "../data", "--no-download", "--threads", "1"],
      { cwd: appDir, env: { INIT_CWD: user } },
    );
    expect(r.code, r.stderr).toBe(0);
    for (const p of ["out/run.safetensors", "out/run.optim.safetensors", "run.jsonl", "run.html"]) expect(existsSync(join(user, p)), p).toBe(true);
    for (const p of ["out", "run.jsonl", "run.html"]) expect(existsSync(join(appDir, p)), p).toBe(false);
    expect(r.stdout).toContain(`from folder ${data}`);
    expect(r.stdout).toContain(`; checkpoint ${join(user, "out/run.safetensors")})`);
    const e = run(["--eval", "out/run.safetensors", "--data-dir", "../data"], { cwd: appDir, env: { INIT_CWD: user } });
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toContain(`checkpoint ${join(user, "out/run.safetensors")} (MNIST`);
  });

  it("without INIT_CWD, relative paths start in the working directory", () => {
    const r = run(["--epochs", "1", "--metrics", "m.jsonl", "--data-dir", "data", "--no-download", "--quiet"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, "m.jsonl"))).toBe(true);
  });

  it("a report in a missing folder fails before the data is loaded, naming the path as the user resolved it", () => {
    const r = run(["--epochs", "5", "--report", "missing/r.html", ...dataArgs()], { cwd: appDir, env: { INIT_CWD: dir } });
    expect(r.code).toBe(2);
    expect(expectShort(r.stderr)[0]).toBe(`mnist-train: --report ${dir}/missing/r.html: the folder ${dir}/missing does not exist`);
    expect(r.stdout).toBe("");
  });
});

describe("output, signals and words", () => {
  it("'| head -2' ends the run quietly with 141, writing the checkpoint with --save", () => {
    const p = join(dir, "pipe.safetensors");
    const sh = spawnSync("bash", ["-c", `"${process.execPath}" "${cli}" --epochs 500 --save "${p}" ${dataArgs().join(" ")} | head -2; echo "status \${PIPESTATUS[0]}" >&2`], {
      encoding: "utf8", env: { ...cleanEnv(), NO_COLOR: "1" }, timeout: 120_000,
    });
    expect(sh.stdout.split("\n")).toEqual(["mnist-train — MNIST", `data:      MNIST: 640 train / 200 test images from folder ${data}`, ""]);
    expect(sh.stderr).toBe("status 141\n");
    const epoch = Number(loadSafetensors(readFileSync(p)).metadata["epoch"]);
    expect(epoch).toBeLessThan(500);
  });

  it("a reader that is gone before anything is written (predict): exit 141, nothing on standard error", async () => {
    const child = spawn(process.execPath, [cli, "predict", "--checkpoint", ckptA, "--data-dir", data, "--no-download"], { env: { ...cleanEnv(), NO_COLOR: "1" } });
    child.stdout.destroy(); // closes our end of the pipe before the child writes
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(stderr).toBe("");
    expect(code).toBe(141);
  });

  it("SIGTERM is handled like Ctrl-C: the step finishes, the checkpoint is written, exit 143", async () => {
    const c = join(dir, "term.safetensors");
    const child = spawn(process.execPath, [cli, "--epochs", "200", "--save", c, ...dataArgs()], { env: { ...cleanEnv(), NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let sent = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (!sent && /epoch +2\/200/.test(stdout)) {
          sent = true;
          child.kill("SIGTERM");
        }
      });
      child.on("exit", (exitCode) => resolve(exitCode));
    });
    expect(code).toBe(143);
    expect(stderr).toMatch(new RegExp(`^\\nterminated \\(SIGTERM\\) (at epoch \\d+, batch \\d+/10|after epoch \\d+); checkpoint written to ${c}`));
    expect(Number(loadSafetensors(readFileSync(c)).metadata["epoch"])).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(dir, "term.optim.safetensors"))).toBe(true);
  }, 90_000);

  it("says 1 epoch, not 1 epochs", () => {
    const r = run(["--epochs", "1", ...dataArgs()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("shuffled, 1 epoch, seed 1, 1 thread,");
    expect(r.stdout).toMatch(/after 1 epoch \(/);
    expect(r.stdout).not.toMatch(/\b1 epochs\b/);
    const again = run(["--epochs", "1", "--resume", ckptA, ...dataArgs()]);
    expect(again.stdout).toContain("nothing to do: the checkpoint has 2 epochs and --epochs is 1");
  });

  it("the progress bar fits a 40-column terminal and leaves nothing behind (a real pseudo-terminal)", () => {
    const cmd = `stty cols 40 rows 24; "${process.execPath}" "${cli}" --epochs 3 --batch-size 8 ${dataArgs().join(" ")}`;
    const r = spawnSync("script", ["-qfec", cmd, "/dev/null"], { encoding: "utf8", env: { ...cleanEnv(), TERM: "xterm" }, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\x1b\[2K/); // the bar was drawn (on a terminal)
    const screen = new TerminalScreen(40);
    screen.write(r.stdout);
    const lines = screen.nonEmpty();
    expect(lines.filter((l) => /[█░]|img\/s|ETA/.test(l))).toEqual([]);
    expect(lines.join("\n")).toMatch(/final: test accuracy/);
    const frames = r.stdout.split(/\r\x1b\[2K/).map((f) => f.split(/[\r\n]/)[0]!.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")).filter((f) => /[█░]/.test(f));
    expect(frames.length).toBeGreaterThanOrEqual(3); // at least the last batch of each epoch
    for (const bar of frames) expect([...bar].length, bar).toBeLessThan(40);
  });

  it("offline, one short line says MNIST could not be downloaded and that the embedded subset is used", () => {
    const r = run(["--eval", ckptA, "--cache-dir", emptyCache], { cwd: appDir, env: OFFLINE });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("MNIST could not be downloaded: using the embedded subset (9,000 train / 1,000 test images) (--verbose says why)\n");
    expect(r.stdout).toContain("(1,000 images");
    const v = run(["--eval", ckptA, "--cache-dir", emptyCache, "--verbose"], { cwd: appDir, env: OFFLINE });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain("downloading http://127.0.0.1:1/train-images-idx3-ubyte.gz ...");
    expect(v.stderr).toMatch(/ {2}failed: .*ECONNREFUSED/);
    expect(v.stderr).toContain("MNIST could not be downloaded: using the embedded subset");
    expect(v.stderr).not.toMatch(/dataDir|cacheDir/);
    const off = run(["--eval", ckptA, "--cache-dir", emptyCache, "--no-download"], { cwd: appDir });
    expect(off.stderr).toBe("MNIST is not in the cache and --no-download is set: using the embedded subset (9,000 train / 1,000 test images)\n");
  });

  it("offline, Fashion-MNIST says how to get it, in flags", () => {
    const r = run(["--epochs", "1", "--dataset", "fashion-mnist", "--cache-dir", emptyCache], { cwd: appDir, env: OFFLINE });
    expect(r.code).toBe(1);
    const [line] = expectShort(r.stderr);
    expect(line).toBe(
      `mnist-train: Fashion-MNIST is not available: it is not in the cache ${emptyCache}/fashion-mnist and could not be downloaded (--verbose says why). ` +
        'Get it with "apt-get install dataset-fashion-mnist" and pass --data-dir /usr/share/datasets/fashion-mnist',
    );
  });

  it("predict says whether the top guess matches the label", () => {
    let correct = 0;
    for (const index of [0, 1, 2, 3, 4, 5]) {
      const r = run(["predict", "--checkpoint", ckptA, "--index", String(index), "--data-dir", data, "--no-download"]);
      expect(r.code, r.stderr).toBe(0);
      const m = /^label (\d) — top guess (correct|wrong: (\d))$/m.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      const top = Number(/^ {2}(\d) +\d+\.\d+%$/m.exec(r.stdout)![1]);
      expect(m![2] === "correct").toBe(top === Number(m![1]));
      if (m![2] !== "correct") expect(Number(m![3])).toBe(top);
      else correct += 1;
    }
    expect(correct).toBeGreaterThan(0);
  });
});

describe("--model cnn (pytorch/examples' MNIST CNN) on the embedded default", () => {
  // Real digits, few steps: TSGRAD_MNIST_LIMIT keeps the first 384 training images (6 batches) and 100 test images.
  const LIMIT = { TSGRAD_MNIST_LIMIT: "384,100" };
  const embedded = ["--no-download", "--cache-dir", emptyCache, "--threads", "1"];
  const cnn = (args: readonly string[], env: Record<string, string> = LIMIT) => run([...args, ...embedded], { cwd: appDir, env });
  const ckpt = join(dir, "cnn.safetensors");
  const metrics = join(dir, "cnn.jsonl");
  const report = join(dir, "cnn.html");
  const bytes = (p: string) => [readFileSync(p), readFileSync(p.replace(/\.safetensors$/, ".optim.safetensors"))];
  const sameCheckpoint = (a: string, b: string): boolean => bytes(a).every((x, i) => x.equals(bytes(b)[i]!));
  const records = (p: string) => readFileSync(p, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);

  beforeAll(() => {
    const r = cnn(["--model", "cnn", "--epochs", "2", "--save", ckpt, "--metrics", metrics, "--report", report]);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it("--dry-run trains one batch and evaluates one test batch, for both models, and saves nothing", () => {
    const r = cnn(["--model", "cnn", "--dry-run"], {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("splits:    9,000 train / 1,000 test images");
    expect(r.stdout).toContain("model:     Conv2d(1→32, 3×3) → ReLU → Conv2d(32→64, 3×3) → ReLU → MaxPool2d(2) → Dropout(0.25) → Flatten → " +
      "Linear(9216→128) → ReLU → Dropout(0.5) → Linear(128→10) → LogSoftmax, 1,199,882 parameters");
    expect(r.stdout).toContain("optimizer: Adadelta(lr=1), StepLR(step_size=1, gamma=0.7) per epoch, nll_loss of log_softmax, batch 64, shuffled, 1 epoch, seed 1");
    expect(r.stdout).toContain("inputs:    pixels/255, then (x − 0.1307) / 0.3081 (Normalize)");
    expect(r.stdout).toContain("dry run:   1 training batch (64 images) and 1 test batch (1,000 images); nothing is saved");
    expect(r.stdout).toMatch(/^epoch 1\/1 {2}train loss \d\.\d{4} {2}test loss \d+\.\d{4} {2}test accuracy \d+\.\d\d% {2}\d+\.\d s$/m);
    expect(r.stdout).toMatch(/^dry run: train loss \d\.\d{4} on 1 batch of 64 images, test accuracy \d+\.\d\d%, test loss \d+\.\d{4} on 1,000 test images \(/m);
    const m = join(dir, "dry.jsonl");
    const mlp = run(["--dry-run", "--metrics", m, ...dataArgs()]);
    expect(mlp.code, mlp.stderr).toBe(0);
    expect(mlp.stdout).toContain("dry run:   1 training batch (64 images) and 1 test batch (200 images); nothing is saved");
    expect(mlp.stdout).toContain("Adam(lr=0.001), CrossEntropyLoss, batch 64, shuffled, 1 epoch");
    expect(mlp.stdout).toMatch(/on 200 test images/);
    expect(records(m)).toHaveLength(1);
  });

  it("trains main.py's run and writes a checkpoint with nn.Sequential's keys, its settings, Adadelta's and StepLR's state", () => {
    const file = loadSafetensors(readFileSync(ckpt));
    expect(Object.entries(file.tensors).map(([k, t]) => [k, t.shape])).toEqual([
      ["0.weight", [32, 1, 3, 3]], ["0.bias", [32]], ["2.weight", [64, 32, 3, 3]], ["2.bias", [64]],
      ["7.weight", [128, 9216]], ["7.bias", [128]], ["10.weight", [10, 128]], ["10.bias", [10]],
    ]);
    expect(JSON.parse(file.metadata["options"]!)).toEqual({
      model: "cnn", batchSize: 64, lr: 1, seed: 1, dataset: "mnist", trainImages: 384,
      gamma: 0.7, stepSize: 1, normalizeMean: 0.1307, normalizeStd: 0.3081, testBatchSize: 1000,
    });
    const opt = loadSafetensors(readFileSync(join(dir, "cnn.optim.safetensors")));
    expect(Object.keys(opt.tensors).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => [`state.${i}.accDelta`, `state.${i}.squareAvg`]).sort());
    expect(JSON.parse(opt.metadata["scheduler"]!)).toEqual({ lastEpoch: 2, stepCount: 3, baseLrs: [1], lastLr: [0.7 * 0.7] });
    expect(JSON.parse(opt.metadata["paramGroups"]!)[0]).toMatchObject({ lr: 0.7 * 0.7, initialLr: 1, rho: 0.9, eps: 1e-6 });
    const recs = records(metrics);
    expect(recs.map((x) => x["epoch"])).toEqual([1, 2]);
    for (const rec of recs) expect(Object.keys(rec).sort()).toEqual(["epoch", "rssMB", "seconds", "testAccuracy", "testLoss", "trainLoss"]);
    expect(recs[1]!["trainLoss"]).toBeLessThan(recs[0]!["trainLoss"]!);
    expect(recs[1]!["testAccuracy"]).toBeGreaterThan(0.6); // 12 Adadelta steps on real digits (chance: 0.1)
    const html = readFileSync(report, "utf8");
    expect(html).toContain("Adadelta(lr=1), StepLR(step_size=1, gamma=0.7)");
    expect(html.match(/<polyline /g)).toHaveLength(3);
  });

  it("gives the same checkpoint bytes for the same seed, and resumes at an epoch boundary exactly (1 + 1 = 2 epochs)", () => {
    const one = join(dir, "cnn-one.safetensors");
    expect(cnn(["--model", "cnn", "--epochs", "1", "--save", one, "--quiet"]).code).toBe(0);
    const r = cnn(["--epochs", "2", "--resume", one, "--save", one]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`resumed:   ${one} at epoch 1, learning rate now 0.7; new epochs are saved to ${one}`);
    expect(r.stdout).toContain("Adadelta(lr=1)");
    expect(sameCheckpoint(one, ckpt)).toBe(true);
  });

  it("resumes inside an epoch exactly: the order, the dropout masks, Adadelta and StepLR go on as in the uninterrupted run", async () => {
    const c = join(dir, "cnn-int.safetensors");
    const cMetrics = join(dir, "cnn-int.jsonl");
    const child = spawn(process.execPath, [cli, "--model", "cnn", "--epochs", "2", "--save", c, "--metrics", cMetrics, ...embedded], {
      cwd: appDir, env: { ...cleanEnv(), NO_COLOR: "1", TSGRAD_MEMORY_DEBUG: "1", ...LIMIT },
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let sent = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (!sent && /^epoch 1\/2 /m.test(stdout)) {
          sent = true; // seen after epoch 1's checkpoint: the signal lands in epoch 2, after its first step
          child.kill("SIGINT");
        }
      });
      child.on("exit", (exitCode) => resolve(exitCode));
    });
    expect(code, stderr).toBe(130);
    const meta = loadSafetensors(readFileSync(c)).metadata;
    expect(meta["epoch"]).toBe("1");
    expect(Number(meta["batchesDone"])).toBeGreaterThan(0); // inside epoch 2: the dropout generator has moved on
    expect(Number(meta["batchesDone"])).toBeLessThan(6);
    const r = cnn(["--epochs", "2", "--resume", c, "--save", c, "--metrics", cMetrics, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(sameCheckpoint(c, ckpt)).toBe(true);
    const losses = (p: string) => records(p).map((x) => [x["trainLoss"], x["testLoss"], x["testAccuracy"]]);
    expect(losses(cMetrics)).toEqual(losses(metrics));
  }, 120_000);

  it("--eval and predict take the model from the checkpoint", () => {
    const ev = cnn(["--eval", ckpt]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(new RegExp(`checkpoint ${ckpt} \\(MNIST, CNN, 2 epochs\\): test loss \\d\\.\\d{4}, test accuracy (\\d+\\.\\d\\d)% \\(100 images`));
    const acc = Number(/test accuracy (\d+\.\d\d)%/.exec(ev.stdout)![1]);
    expect(acc).toBeCloseTo(records(metrics)[1]!["testAccuracy"]! * 100, 2);
    const loss = Number(/test loss (\d\.\d{4})/.exec(ev.stdout)![1]);
    expect(loss).toBeCloseTo(records(metrics)[1]!["testLoss"]!, 4);
    const p = run(["predict", "--checkpoint", ckpt, "--index", "3", "--no-download", "--cache-dir", emptyCache], { cwd: appDir, env: LIMIT });
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/^label \d — top guess (correct|wrong: \d)$/m);
    const probs = [...p.stdout.matchAll(/^\s+\d\s+(\d+\.\d+)%$/gm)].map((m) => Number(m[1]));
    expect(probs).toHaveLength(3);
    expect(probs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100.01);
  });

  it("--eval and predict take a checkpoint of main.py's Net from PyTorch (keys conv1.*, …, fc2.*) as the CNN", () => {
    const names: Record<string, string> = { 0: "conv1", 2: "conv2", 7: "fc1", 10: "fc2" };
    const tensors = loadSafetensors(readFileSync(ckpt)).tensors;
    const net = join(dir, "net.safetensors");
    writeFileSync(net, saveSafetensors(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [`${names[k.split(".")[0]!]!}.${k.split(".")[1]!}`, t]))));
    const ev = cnn(["--eval", net]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stderr).toContain(`note: ${net} does not record its dataset: using mnist (the default; set it with --dataset)`);
    const acc = (s: string) => /test loss (\d\.\d{4}), test accuracy (\d+\.\d\d)%/.exec(s)!.slice(1);
    expect(acc(ev.stdout)).toEqual(acc(cnn(["--eval", ckpt]).stdout));
    expect(ev.stdout).toContain(`checkpoint ${net} (MNIST, CNN): test loss`);
  });

  it("--override --lr restarts the CNN's schedule from the new rate", () => {
    const r = cnn(["--epochs", "2", "--resume", ckpt, "--lr", "0.5", "--override"]); // what it would train with
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("optimizer: Adadelta(lr=0.5), StepLR(step_size=1, gamma=0.7)");
    expect(r.stdout).toContain(`resumed:   ${ckpt} at epoch 2, learning rate now ${0.5 * 0.7 * 0.7}`);
    expect(r.stdout).toContain("nothing to do: the checkpoint has 2 epochs and --epochs is 2");
  });

  it.each([
    [["--resume", ckpt, "--model", "mlp"], "--model mlp contradicts the checkpoint's model cnn: --resume"],
    [["--resume", ckpt, "--model", "mlp", "--override"], "--model mlp contradicts the checkpoint's model cnn: --resume"],
    [["--eval", ckpt, "--hidden", "64"], `--hidden 64 does not apply to --eval ${ckpt}: it holds the CNN, which has no hidden width`],
    [["--eval", weightsOnly, "--model", "cnn"], `--model cnn contradicts the checkpoint's model mlp: --eval ${weightsOnly} holds the weights of the MLP`],
    [["--resume", ckpt, "--epochs", "3", "--lr", "0.5"], "--lr 0.5 contradicts the checkpoint's learning rate 1"],
  ])("%j is a usage error (the model is the weights')", (args, message) => {
    const r = cnn(args);
    expect(r.code, r.stderr).toBe(2);
    expect(expectShort(r.stderr)[0]).toContain(message);
    expect(r.stdout).toBe("");
  });

  it("a checkpoint whose metadata names another model than its weights is refused (exit 1)", () => {
    const cnnMeta = loadSafetensors(readFileSync(ckpt)).metadata;
    const forged = join(dir, "forged.safetensors");
    writeFileSync(forged, saveSafetensors(loadSafetensors(readFileSync(weightsOnly)).tensors, cnnMeta));
    const r = cnn(["--eval", forged]);
    expect(r.code, r.stderr).toBe(1);
    expect(expectShort(r.stderr)).toEqual([`mnist-train: --eval ${forged} records the model cnn but holds the weights of the MLP`]);
  });

  it("a run on limited data is another run: resuming it on all the data needs --override", () => {
    const r = cnn(["--epochs", "3", "--resume", ckpt], {});
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--resume ${ckpt} was trained on 384 training images, but the data now has 9,000`);
  });
});
