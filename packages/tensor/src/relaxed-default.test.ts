// Relaxed SIMD by default where the engine has it: a Node 20 started with --experimental-wasm-relaxed-simd runs the
// tensor package (bundled here with esbuild) and reports which gemm instructions it chose, with and without the pin.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const CHILD = `
import { Worker } from "node:worker_threads";
import { gemm, relaxedSimdAvailable, setNumThreads, setRelaxedSimd, setWorkerFactory, Generator } from "./src/index.ts";
import { kernelInstructions } from "./src/internal.ts";
import { parallelCallCount } from "./src/parallel.ts";
const g = new Generator(5);
const [m, n, k] = [64, 128, 784];
const a = Float32Array.from({ length: m * k }, () => g.nextFloat() - 0.5);
const b = Float32Array.from({ length: k * n }, () => g.nextFloat() - 0.5);
const run = () => { const c = new Float32Array(m * n); gemm(m, n, k, a, 0, false, b, 0, false, c, 0); return c; };
const available = relaxedSimdAvailable(), byDefault = kernelInstructions();
const relaxed1 = run();
setWorkerFactory((src) => new Worker(src, { eval: true }));
setNumThreads(2);
let relaxed2 = run();
const start = Date.now();
// The worker starts while the first products run alone: wait (asynchronously) until it has taken part.
while (parallelCallCount() === 0 && Date.now() - start < 20000) { await new Promise((r) => setTimeout(r, 20)); relaxed2 = run(); }
const before = parallelCallCount();
relaxed2 = run();
const split = parallelCallCount() > before;
const pinned = setRelaxedSimd(false);
const plain = run();
let diff = 0;
for (let i = 0; i < m * n; i++) diff = Math.max(diff, Math.abs(plain[i] - relaxed1[i]));
console.log(JSON.stringify({ available, byDefault, pinned, split, threadsSame: relaxed1.every((x, i) => Object.is(x, relaxed2[i])),
  bitsDiffer: plain.some((x, i) => !Object.is(x, relaxed1[i])), diff }));
process.exit(0);
`;

describe("relaxed SIMD by default", () => {
  it("an engine that validates relaxed SIMD gets f32x4.relaxed_madd without asking; setRelaxedSimd(false) pins the plain kernels", async () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const out = await build({
      stdin: { contents: CHILD, resolveDir: root, sourcefile: "child.ts", loader: "ts" },
      bundle: true, write: false, format: "esm", platform: "node", target: "node20", logLevel: "silent",
    });
    const code = out.outputFiles[0]!.text;
    const dir = mkdtempSync(join(tmpdir(), "tsgrad-relaxed-"));
    const file = join(dir, "child.mjs");
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", file], { encoding: "utf8", timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toBe("");
    const res = JSON.parse(r.stdout.trim()) as { available: boolean; byDefault: string; pinned: string; split: boolean; threadsSame: boolean; bitsDiffer: boolean; diff: number };
    expect(res).toMatchObject({ available: true, byDefault: "relaxed-simd", pinned: "simd128", split: true, threadsSame: true });
    // Fused multiply-adds round once where multiply-then-add rounds twice: some bits differ (this CPU has FMA), by float32 rounding only.
    expect(res.bitsDiffer).toBe(true);
    expect(res.diff).toBeGreaterThan(0);
    expect(res.diff).toBeLessThan(1e-4);
  }, 90_000);
});
