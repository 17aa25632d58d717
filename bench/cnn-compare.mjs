// The CNN training step (pytorch/examples' MNIST CNN, batch 64, Adadelta) in tsgrad and PyTorch, interleaved: each
// round runs PyTorch and tsgrad back to back at 1 and then 2 threads, so that a busy machine weighs on both alike;
// prints every run and the median of the per-round ratios (to the faster of PyTorch as installed and PyTorch with
// glibc's malloc tuned). Usage (from bench/, or `node bench/cnn-compare.mjs`):
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
// PyTorch as installed, and with glibc's malloc tuned (see run.mjs: its temporaries otherwise page-fault on every op on
// this VM); OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which pin an old kernel on some machines, removed for both.
const torchEnv = { ...process.env };
for (const k of ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]) delete torchEnv[k];
const tunedEnv = { ...torchEnv, MALLOC_MMAP_THRESHOLD_: String(2 ** 26), MALLOC_TRIM_THRESHOLD_: String(2 ** 28) };
const torchStep = (threads, env) =>
  lastJson(execFileSync("/usr/bin/python3", [join(here, "peers", "torch-cnn-step.py"), String(threads), steps], { encoding: "utf8", env }));
const run = (threads) => ({
  torch: torchStep(threads, torchEnv),
  tuned: torchStep(threads, tunedEnv),
  tsgrad: lastJson(execFileSync(process.execPath, [bundle, String(threads), steps, "wasm", ...layout], { encoding: "utf8" })),
});
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length} cores, Node ${process.version}; ${new Date().toISOString()}`);
console.log("round  threads  PyTorch ms/step  PyTorch+malloc ms/step  tsgrad ms/step  tsgrad / faster PyTorch");
const ratios = { 1: [], 2: [] };
for (let r = 1; r <= rounds; r++) {
  for (const threads of [1, 2]) {
    const { torch, tuned, tsgrad } = run(threads);
    const ratio = tsgrad.msPerStep / Math.min(torch.msPerStep, tuned.msPerStep);
    ratios[threads].push(ratio);
    console.log(
      `${String(r).padStart(5)}  ${String(threads).padStart(7)}  ${torch.msPerStep.toFixed(1).padStart(15)}  ` +
        `${tuned.msPerStep.toFixed(1).padStart(22)}  ${tsgrad.msPerStep.toFixed(1).padStart(14)}  ${ratio.toFixed(2).padStart(22)}`,
    );
  }
}
for (const threads of [1, 2]) {
  console.log(`median ratio at ${threads} thread(s): ${median(ratios[threads]).toFixed(2)} (${rounds} rounds, medians of ${steps} steps each)`);
}
