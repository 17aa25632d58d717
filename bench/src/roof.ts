// The per-core roof and what threads give: the peak GFLOP/s of WebAssembly SIMD multiply + add on this machine, then
// each of the training step's gemm shapes (wasm backend) on 1 and 2 threads, with the speed-up and the cost two threads
// pay beyond a perfect split (the fork/join, a busy second core).
import { Worker } from "node:worker_threads";
import { gemm, relaxedSimdAvailable, setBackend, setNumThreads, setRelaxedSimd, setWorkerFactory, tensor, zeros } from "@tsgrad/tensor";
import { kernelInstructions } from "@tsgrad/tensor/internal";
import { FunctionBuilder, ModuleBuilder, type Local } from "../../packages/tensor/src/wasm/assembler.js";
import { machine, median, timeIt } from "./stats.js";

/** Independent f32x4 chains per iteration: enough to hide the multiply and add latencies (14 of x64's 16 registers). */
const CHAINS = 12;

/**
 * A wasm function `peak(n)` running n iterations of `acc[c] = acc[c]·x + y` on CHAINS f32x4 accumulators, with
 * `f32x4.mul` then `f32x4.add`, or one `f32x4.relaxed_madd` (`relaxed`).
 */
function peakModule(relaxed: boolean): (n: number) => number {
  const f = new FunctionBuilder(["i32"], ["f32"]);
  const n = f.param(0);
  const accs: Local[] = Array.from({ length: CHAINS }, () => f.local("v128"));
  const x = f.local("v128"), y = f.local("v128");
  accs.forEach((a, c) => f.f32Const(1 + c / 64).f32x4Splat().localSet(a));
  f.f32Const(0.999).f32x4Splat().localSet(x);
  f.f32Const(0.001).f32x4Splat().localSet(y);
  f.localGet(n).if(() => f.loop(() => {
    for (const a of accs) {
      if (relaxed) f.localGet(a).localGet(x).localGet(y).f32x4RelaxedMadd().localSet(a);
      else f.localGet(a).localGet(x).f32x4Mul().localGet(y).f32x4Add().localSet(a);
    }
    f.localGet(n).i32Const(1).i32Sub().localTee(n).brIf(0);
  }));
  f.localGet(accs[0]!);
  for (const a of accs.slice(1)) f.localGet(a).f32x4Add();
  f.f32x4ExtractLane(0);
  const mod = new ModuleBuilder();
  mod.addFunction(f, "peak");
  const api = (globalThis as unknown as { WebAssembly: { Instance: new (m: unknown, i: object) => { exports: Record<string, (n: number) => number> }; Module: new (b: Uint8Array) => unknown } }).WebAssembly;
  return new api.Instance(new api.Module(mod.toBytes()), {}).exports["peak"]!;
}

console.log(`roof and threads on ${machine()}`);
const iters = 2_000_000;
const peakGflops = (relaxed: boolean): number => {
  const peak = peakModule(relaxed);
  const ms = median(Array.from({ length: 9 }, () => timeIt(() => peak(iters), { warmup: 2, runs: 3 })));
  return (iters * CHAINS * 8) / (ms * 1e6); // 4 lanes × (mul + add) per chain and iteration
};
const roof = { plain: peakGflops(false), relaxed: relaxedSimdAvailable() ? peakGflops(true) : null };
console.log(`wasm SIMD peak, one thread: ${roof.plain.toFixed(1)} GFLOP/s (f32x4.mul + f32x4.add, ${CHAINS} chains)`);
if (roof.relaxed !== null) {
  console.log(`relaxed SIMD peak, one thread: ${roof.relaxed.toFixed(1)} GFLOP/s (f32x4.relaxed_madd, ${CHAINS} chains)`);
  if (process.argv.includes("--relaxed")) setRelaxedSimd(true);
} else {
  console.log("relaxed SIMD: not available in this engine (Node 20: --experimental-wasm-relaxed-simd)");
}
console.log(`the gemms below run ${kernelInstructions() === "relaxed-simd" ? "f32x4.relaxed_madd" : "f32x4.mul + f32x4.add"}`);

const fill = (n: number, seed: number): Float32Array => {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) | 0) >>> 8) / 16777216 - 0.5);
};
const shapes = [
  { m: 64, n: 128, k: 784, transA: false, transB: true, role: "forward x·W1ᵀ" },
  { m: 64, n: 784, k: 128, transA: false, transB: false, role: "dX = dY·W1 (not in the step)" },
  { m: 128, n: 784, k: 64, transA: true, transB: false, role: "dW1 = dYᵀ·x" },
] as const;
setBackend("wasm");
setWorkerFactory((src: string) => new Worker(src, { eval: true }));
const time = (threads: number, s: (typeof shapes)[number]): number => {
  setNumThreads(threads);
  // Operands in tensor storage, as in the step (the tensor heap where memory can be shared: nothing is copied).
  const a = tensor(fill(s.m * s.k, 1)).data, b = tensor(fill(s.k * s.n, 2)).data, c = zeros([s.m * s.n]).data;
  const run = (): void => gemm(s.m, s.n, s.k, a, 0, s.transA, b, 0, s.transB, c, 0);
  for (let i = 0; i < 200; i++) run(); // the workers start and warm up
  return median(Array.from({ length: 15 }, () => timeIt(run, { warmup: 5, runs: 9, inner: 5 })));
};
console.log("shape         1 thread ms (GFLOP/s)   2 threads ms (GFLOP/s)   speed-up   2-thread cost beyond t1/2   role");
for (const s of shapes) {
  // Interleaved, so that a change of load weighs on both.
  const one: number[] = [], two: number[] = [];
  for (let r = 0; r < 3; r++) {
    one.push(time(1, s));
    two.push(time(2, s));
  }
  const t1 = median(one), t2 = median(two);
  const g = (t: number): string => ((2 * s.m * s.n * s.k) / (t * 1e6)).toFixed(1);
  console.log(
    `${`${s.m}×${s.n}×${s.k}`.padEnd(13)} ${t1.toFixed(4).padStart(8)} (${g(t1).padStart(5)})        ${t2.toFixed(4).padStart(8)} (${g(t2).padStart(5)})` +
      `        ${(t1 / t2).toFixed(2).padStart(5)}×   ${((t2 - t1 / 2) * 1000).toFixed(0).padStart(6)} µs                   ${s.role}`,
  );
}
setNumThreads(1);
setWorkerFactory(null);
console.log(JSON.stringify({ roof })); // for run.mjs: the step's GFLOP/s next to the roof
