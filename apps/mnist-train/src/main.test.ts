// End-to-end: the bundled CLI as a child process on a small synthetic IDX folder.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSafetensors } from "@tsgrad/nn";
import { buildCli } from "../build.mjs";

let dir: string;
let cli: string;
let data: string;

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

function run(args: readonly string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", TSGRAD_MEMORY_DEBUG: "1", ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dataArgs = (): string[] => ["--data-dir", data, "--no-download", "--threads", "1"];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mnist-train-e2e-"));
  cli = await buildCli(join(dir, "mnist-train.mjs"));
  data = join(dir, "data");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(data);
  const train = synthetic(640, 1);
  const test = synthetic(200, 2);
  writeFileSync(join(data, "train-images-idx3-ubyte"), idx([640, 28, 28], train.images));
  writeFileSync(join(data, "train-labels-idx1-ubyte"), idx([640], train.labels));
  writeFileSync(join(data, "t10k-images-idx3-ubyte.gz"), gzipSync(idx([200, 28, 28], test.images)));
  writeFileSync(join(data, "t10k-labels-idx1-ubyte"), idx([200], test.labels));
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("mnist-train CLI", () => {
  it("--help lists every option with its default", () => {
    const r = run(["--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--epochs", "--batch-size", "--lr", "--hidden", "--seed", "--dataset", "--data-dir", "--cache-dir",
      "--no-download", "--save", "--resume", "--eval", "--metrics", "--report", "--quiet", "--threads", "--backend", "predict"]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain("(default: 10)");
    expect(r.stdout).toContain("(default: 64)");
    expect(r.stdout).toContain("(default: 0.001)");
  });

  it("ignores a leading -- (as npm run passes it on)", () => {
    const r = run(["--", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: mnist-train");
  });

  it.each([
    [["--bogus"], /Unknown option '--bogus'/],
    [["--epochs", "abc"], /--epochs expects a whole number, got "abc"/],
    [["--batch-size", "0"], /--batch-size must be at least 1, got 0/],
    [["--lr=-1"], /--lr expects a positive number, got "-1"/],
    [["--lr", "-1"], /Option '--lr' argument is ambiguous: to pass a value that starts with a dash, write --lr=-XYZ/],
    [["--lr", "0"], /--lr expects a positive number, got "0"/],
    [["--dataset", "cifar"], /--dataset must be mnist or fashion-mnist, got "cifar"/],
    [["--backend", "gpu"], /--backend must be js or wasm, got "gpu"/],
    [["--threads", "0"], /--threads must be at least 1, got 0/],
    [["--data-dir", "/nonexistent/mnist"], /--data-dir \/nonexistent\/mnist is not a folder/],
    [["predict", "--index", "3"], /predict needs --checkpoint PATH/],
  ])("bad usage %j exits 2 with one line and a hint", (args, message) => {
    const r = run(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(message);
    expect(lines[1]).toMatch(/^hint: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  const ckptA = (): string => join(dir, "a.safetensors");

  it("trains, prints a header and one line per epoch, writes metrics, a checkpoint PyTorch can load and a report", () => {
    const metrics = join(dir, "a.jsonl");
    const report = join(dir, "a.html");
    const r = run(["--epochs", "2", "--save", ckptA(), "--metrics", metrics, "--report", report, ...dataArgs()]);
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

    const file = loadSafetensors(readFileSync(ckptA()));
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
    const r = run(["--eval", ckptA(), ...dataArgs()]);
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
    expect(readFileSync(again).equals(readFileSync(ckptA()))).toBe(true);
    expect(readFileSync(join(dir, "again.optim.safetensors")).equals(readFileSync(join(dir, "a.optim.safetensors")))).toBe(true);
  });

  it("gives the same checkpoint bytes with 2 threads as with 1 (fixed summation order)", () => {
    const two = join(dir, "two.safetensors");
    const args = ["--epochs", "2", "--save", two, "--quiet", "--data-dir", data, "--no-download", "--threads", "2"];
    expect(run(args).code).toBe(0);
    expect(readFileSync(two).equals(readFileSync(ckptA()))).toBe(true);
  });

  it("trains on the JavaScript kernels with --backend js (float64 sums: close to, not equal to, the SIMD run)", () => {
    const js = join(dir, "js.safetensors");
    const r = run(["--epochs", "2", "--save", js, "--backend", "js", ...dataArgs()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("js kernels");
    const a = loadSafetensors(readFileSync(ckptA())).tensors["0.weight"]!.data;
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
    const wa = loadSafetensors(readFileSync(ckptA())).tensors;
    const wb = loadSafetensors(readFileSync(b)).tensors;
    for (const key of Object.keys(wa)) expect(Array.from(wb[key]!.data)).toEqual(Array.from(wa[key]!.data));
  });

  it("predict draws the image with half blocks and lists three classes", () => {
    const r = run(["predict", "--checkpoint", ckptA(), "--index", "5", "--data-dir", data, "--no-download"]);
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
});
