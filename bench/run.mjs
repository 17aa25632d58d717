// `pnpm bench`: bundles each benchmark in src/ with esbuild and runs it with plain node, one process each;
// `pnpm bench step` compares one training step with TensorFlow.js (installed on first use into peers/).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const wanted = (name) => only.length === 0 || only.includes(name);
mkdirSync(join(here, "dist"), { recursive: true });

async function bundle(name) {
  const outfile = join(here, "dist", `${name}.mjs`);
  await build({
    entryPoints: [join(here, "src", `${name}.ts`)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    logLevel: "warning",
  });
  return outfile;
}

/** Runs a benchmark process and returns its last JSON line. */
function runJson(file, args) {
  const out = execFileSync(process.execPath, [file, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const line = out.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`${file} printed no result:\n${out}`);
  return JSON.parse(line);
}

console.log(`machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length} cores, Node ${process.version}`);

if (wanted("matmul")) {
  const file = await bundle("matmul");
  console.log("\n== matmul ==");
  execFileSync(process.execPath, [file], { stdio: "inherit" });
}

if (wanted("step")) {
  const peers = join(here, "peers");
  if (!existsSync(join(peers, "node_modules", "@tensorflow", "tfjs-backend-wasm"))) {
    console.log("\ninstalling the peers (TensorFlow.js 4.22.0, cpu and wasm) into bench/peers/ on first use ...");
    execFileSync("npm", ["install", "--prefix", peers, "--no-audit", "--no-fund", "--loglevel=error"], { stdio: "inherit" });
  }
  const file = await bundle("step");
  console.log("\n== one training step: 784→128→10 MLP, batch 64, cross-entropy, Adam (median after warm-up) ==");
  const results = [
    runJson(file, ["1", "400", "js"]),
    runJson(file, ["2", "400", "js"]),
    runJson(file, ["1", "1000", "wasm"]),
    runJson(file, ["2", "1000", "wasm"]),
    runJson(join(peers, "tfjs-step.mjs"), ["wasm", "300"]),
    runJson(join(peers, "tfjs-step.mjs"), ["cpu", "60"]),
  ];
  const ref = results.find((r) => r.system === "tsgrad-wasm-2t") ?? results[0];
  const stepsPerEpoch = Math.ceil(60000 / 64);
  console.log(
    "system             ms/step  × tsgrad-wasm-2t  s/epoch*  peak RSS MB  GC pauses/1k steps  GC time %   GFLOP/s x·Wᵀ   dY·W    dYᵀ·x",
  );
  for (const r of results) {
    console.log(
      `${r.system.padEnd(17)} ${r.msPerStep.toFixed(2).padStart(8)} ${(r.msPerStep / ref.msPerStep).toFixed(2).padStart(16)}` +
        ` ${((r.msPerStep * stepsPerEpoch) / 1000).toFixed(1).padStart(9)} ${r.peakRssMB.toFixed(0).padStart(12)}` +
        ` ${(r.gcPauses * 1000).toFixed(0).padStart(19)} ${(r.gcShare * 100).toFixed(2).padStart(10)}` +
        `   ${r.gflops.forward.toFixed(2).padStart(10)} ${r.gflops.gradInput.toFixed(2).padStart(6)} ${r.gflops.gradWeight.toFixed(2).padStart(8)}`,
    );
  }
  console.log("* implied seconds per epoch of 60,000 images (938 steps), training steps only");
}
