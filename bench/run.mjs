// `pnpm bench`: bundles each benchmark in src/ with esbuild and runs it with plain node, one process each;
// `pnpm bench step` compares one training step with PyTorch (when /usr/bin/python3 has torch) and TensorFlow.js
// (installed on first use into peers/), in the same run, as ratios to PyTorch.
import { build } from "esbuild";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
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

/** Runs a benchmark process (with `nodeFlags`) and returns its last JSON line. */
function runJson(file, args, nodeFlags = []) {
  const out = execFileSync(process.execPath, [...nodeFlags, file, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const line = out.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`${file} printed no result:\n${out}`);
  return JSON.parse(line);
}

console.log(`machine: ${cpus()[0]?.model ?? "?"} × ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`);
// Other processes make every figure, above all the 2-thread ones, worse: the load average says whether they ran.
console.log(`load average (1, 5, 15 min): ${loadavg().map((x) => x.toFixed(2)).join(", ")} on ${cpus().length} cores`);

const python = process.env["TSGRAD_PYTHON"] ?? "/usr/bin/python3";

/**
 * The environment of the PyTorch runs. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set (some machines set them for old
 * OpenBLAS builds), pin a slower kernel: they are removed for that command alone, and the run says so.
 */
function torchEnv() {
  const env = { ...process.env };
  const pinned = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"].filter((k) => env[k] !== undefined);
  for (const k of pinned) delete env[k];
  return { env, pinned };
}

/** Whether PyTorch can run here, or why not (one line). */
function torchAvailable() {
  const r = spawnSync(python, ["-c", "import torch"], { encoding: "utf8" });
  if (r.error !== undefined) return `${python} is not available (${r.error.code ?? r.error.message})`;
  if (r.status !== 0) return `${python} has no torch (apt-get install python3-torch)`;
  return null;
}

if (wanted("matmul")) {
  const file = await bundle("matmul");
  console.log("\n== matmul ==");
  execFileSync(process.execPath, [file], { stdio: "inherit" });
}

/** Runs a benchmark that prints as it goes and ends with a JSON line: prints the rest, returns the JSON. */
function runPrinting(file, args, nodeFlags = []) {
  const out = execFileSync(process.execPath, [...nodeFlags, file, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const lines = out.trimEnd().split("\n");
  for (const l of lines) if (!l.startsWith("{")) console.log(l);
  const json = lines.reverse().find((l) => l.startsWith("{"));
  return json === undefined ? null : JSON.parse(json);
}

let roof = null; // this run's per-core peak GFLOP/s: { plain, relaxed }
if (wanted("roof") || wanted("step")) {
  const file = await bundle("roof");
  console.log("\n== per-core roof, and each of the step's products on 1 and 2 threads (operands in tensor storage) ==");
  roof = runPrinting(file, [])?.roof ?? null;
  if (Number(process.versions.node.split(".")[0]) === 20) {
    console.log("-- the same with --experimental-wasm-relaxed-simd (Node 20) --");
    const relaxed = runPrinting(file, ["--relaxed"], ["--experimental-wasm-relaxed-simd"])?.roof ?? null;
    if (roof !== null && relaxed !== null) roof.relaxed = relaxed.relaxed;
  }
}

if (wanted("step")) {
  const peers = join(here, "peers");
  if (!existsSync(join(peers, "node_modules", "@tensorflow", "tfjs-backend-wasm"))) {
    console.log("\ninstalling the peers (TensorFlow.js 4.22.0, cpu and wasm) into bench/peers/ on first use ...");
    execFileSync("npm", ["install", "--prefix", peers, "--no-audit", "--no-fund", "--loglevel=error"], { stdio: "inherit" });
  }
  const file = await bundle("step");
  console.log("\n== one training step: 784→128→10 MLP, batch 64, cross-entropy, Adam (median after warm-up) ==");
  const torchMissing = torchAvailable();
  const { env, pinned } = torchEnv();
  // PyTorch as installed, and with glibc's malloc kept from handing its large temporaries back to the kernel after
  // each op (MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_, what PyTorch's CPU tuning guides get with jemalloc or
  // tcmalloc): on a VM where page faults are dear, the default pays one for every page of every temporary.
  const mallocTuned = { MALLOC_MMAP_THRESHOLD_: String(2 ** 26), MALLOC_TRIM_THRESHOLD_: String(2 ** 28) };
  const torchRun = (threads, tuned) => {
    const out = execFileSync(python, [join(peers, "torch_step.py"), String(threads), "1000"], {
      encoding: "utf8", env: tuned ? { ...env, ...mallocTuned } : env,
    });
    const r = JSON.parse(out.trim().split("\n").at(-1));
    return tuned ? { ...r, system: `pytorch+malloc-${threads}t` } : r;
  };
  // tsgrad and PyTorch alternate, so that a change of load on the machine hits both alike.
  const results = [];
  for (const threads of [1, 2]) {
    results.push(runJson(file, [String(threads), "1000", "wasm"]));
    if (torchMissing === null) results.push(torchRun(threads, false), torchRun(threads, true));
  }
  // tsgrad on relaxed SIMD (setRelaxedSimd(true); Node 20 needs a flag for it, Node >= 21 has it).
  const relaxedFlags = Number(process.versions.node.split(".")[0]) === 20 ? ["--experimental-wasm-relaxed-simd"] : [];
  for (const threads of [1, 2]) results.push(runJson(file, [String(threads), "1000", "wasm", "relaxed"], relaxedFlags));
  results.push(
    runJson(file, ["1", "400", "js"]),
    runJson(file, ["2", "400", "js"]),
    runJson(join(peers, "tfjs-step.mjs"), ["wasm", "300"]),
    runJson(join(peers, "tfjs-step.mjs"), ["cpu", "60"]),
  );
  const torch = results.filter((r) => r.system.startsWith("pytorch"));
  if (torchMissing !== null) console.log(`PyTorch rows skipped: ${torchMissing}; ratios are to tsgrad-wasm-2t instead`);
  else {
    console.log(`PyTorch ${torch[0].torch}, ${torch[0].blas}`);
    if (pinned.length > 0) console.log(`(unset for the PyTorch runs: ${pinned.join(", ")})`);
  }
  const best = torch.length > 0 ? torch.reduce((a, r) => (r.msPerStep < a.msPerStep ? r : a)) : results.find((r) => r.system === "tsgrad-wasm-2t");
  // The faster PyTorch row at a thread count (the row's own: tsgrad's "-2t" rows against PyTorch's 2-thread ones).
  const threadsOf = (r) => r.threads ?? Number(/-(\d+)t$/.exec(r.system)?.[1] ?? 1);
  const torchAt = (t) => torch.filter((r) => threadsOf(r) === t).reduce((a, r) => (a === null || r.msPerStep < a.msPerStep ? r : a), null) ?? best;
  const refName = torch.length > 0 ? "PyTorch" : "tsgrad-2t";
  const stepsPerEpoch = Math.ceil(60000 / 64);
  // The step's products: x·W1ᵀ and dW1 (64×784×128 each), and layer 2's forward, dW2 and dX2 (64×128×10 each).
  const stepMflop = (2 * (2 * 64 * 784 * 128) + 3 * (2 * 64 * 128 * 10)) / 1e6;
  console.log(
    `${"system".padEnd(23)} ms/step  × ${refName} best  × same threads‡ s/epoch*  step GFLOP/s†  peak RSS MB  GC pauses/1k steps   GFLOP/s x·Wᵀ   dY·W    dYᵀ·x`,
  );
  for (const r of results) {
    console.log(
      `${r.system.padEnd(22)} ${r.msPerStep.toFixed(3).padStart(8)} ${(r.msPerStep / best.msPerStep).toFixed(2).padStart(15)}` +
        ` ${(r.msPerStep / torchAt(threadsOf(r)).msPerStep).toFixed(2).padStart(15)}` +
        ` ${((r.msPerStep * stepsPerEpoch) / 1000).toFixed(1).padStart(9)} ${(stepMflop / r.msPerStep).toFixed(1).padStart(14)}` +
        ` ${r.peakRssMB.toFixed(0).padStart(12)}` +
        ` ${(r.gcPauses * 1000).toFixed(0).padStart(19)}` +
        `   ${r.gflops.forward.toFixed(2).padStart(10)} ${r.gflops.gradInput.toFixed(2).padStart(6)} ${r.gflops.gradWeight.toFixed(2).padStart(8)}`,
    );
  }
  console.log("* implied seconds per epoch of 60,000 images (938 steps), training steps only");
  if (torch.length > 0) {
    console.log("‡ to the faster PyTorch row at the row's thread count (as installed, or +malloc: glibc's MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ raised); \"best\": the fastest PyTorch row");
  }
  console.log(`† the step's ${stepMflop.toFixed(1)} MFLOP of matrix products per ms of the whole step (Adam, cross-entropy and the rest included)`);
  if (roof !== null) {
    const t1 = results.find((r) => r.system === "tsgrad-wasm-1t");
    const per = (r) => stepMflop / r.msPerStep;
    console.log(
      `per-core roof of this run (wasm SIMD, one thread): ${roof.plain.toFixed(1)} GFLOP/s f32x4.mul + f32x4.add` +
        (roof.relaxed != null ? `, ${roof.relaxed.toFixed(1)} f32x4.relaxed_madd` : "") +
        (t1 !== undefined ? `; tsgrad's whole step on 1 thread runs at ${per(t1).toFixed(1)} GFLOP/s, ${((100 * per(t1)) / roof.plain).toFixed(0)} % of it` : ""),
    );
  }
}
