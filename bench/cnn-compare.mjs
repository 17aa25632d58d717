// The CNN training step (pytorch/examples' MNIST CNN, batch 64, Adadelta) in tsgrad and PyTorch, interleaved: each
// round runs PyTorch and tsgrad back to back at 1 and then 2 threads, so that a busy machine weighs on both alike;
// prints every run and the median of the per-round ratios. Usage (from bench/, or `node bench/cnn-compare.mjs`):
//   node cnn-compare.mjs [rounds=3] [steps=20] [--net]     (--net: main.py's Net instead of the Sequential form)
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const rounds = Number(args[0] ?? 3);
const steps = String(Number(args[1] ?? 20));
const layout = process.argv.includes("--net") ? [] : ["--sequential"];
mkdirSync(join(here, "dist"), { recursive: true });
const bundle = join(here, "dist", "cnn-step.mjs");
await build({
  entryPoints: [join(here, "src", "cnn-step.ts")], bundle: true, platform: "node", format: "esm", target: "node20",
  outfile: bundle, logLevel: "warning",
});

function lastJson(out) {
  const line = out.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`no result in:\n${out}`);
  return JSON.parse(line);
}
const run = (threads) => ({
  torch: lastJson(execFileSync("/usr/bin/python3", [join(here, "peers", "torch-cnn-step.py"), String(threads), steps], { encoding: "utf8" })),
  tsgrad: lastJson(execFileSync(process.execPath, [bundle, String(threads), steps, "wasm", ...layout], { encoding: "utf8" })),
});
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length} cores, Node ${process.version}; ${new Date().toISOString()}`);
console.log("round  threads  PyTorch ms/step  tsgrad ms/step  tsgrad / PyTorch");
const ratios = { 1: [], 2: [] };
for (let r = 1; r <= rounds; r++) {
  for (const threads of [1, 2]) {
    const { torch, tsgrad } = run(threads);
    const ratio = tsgrad.msPerStep / torch.msPerStep;
    ratios[threads].push(ratio);
    console.log(`${String(r).padStart(5)}  ${String(threads).padStart(7)}  ${torch.msPerStep.toFixed(1).padStart(15)}  ${tsgrad.msPerStep.toFixed(1).padStart(14)}  ${ratio.toFixed(2).padStart(16)}`);
  }
}
for (const threads of [1, 2]) {
  console.log(`median ratio at ${threads} thread(s): ${median(ratios[threads]).toFixed(2)} (${rounds} rounds, medians of ${steps} steps each)`);
}
