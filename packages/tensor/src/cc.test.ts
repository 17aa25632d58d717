import { it } from "vitest";
import { Worker } from "node:worker_threads";
import { gemm, randn, zeros, setNumThreads, setWorkerFactory, setBackend } from "./index.js";
it("dbg", async () => {
  setBackend("wasm");
  setWorkerFactory((src) => new Worker(src, { eval: true }));
  for (const [m, n, k, ta, tb] of [[64, 1152, 32, false, false], [64, 32, 1152, false, true], [32, 1152, 64, true, false], [64, 128, 784, false, true]] as const) {
    const a = randn([m * k]).data, b = randn([k * n]).data, c = zeros([m * n]).data;
    const res: string[] = [];
    for (const t of [1, 2, 1, 2]) {
      setNumThreads(t);
      for (let i = 0; i < 300; i++) { gemm(m, n, k, a, 0, ta, b, 0, tb, c, 0); if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5)); }
      const t0 = performance.now(); for (let i = 0; i < 300; i++) gemm(m, n, k, a, 0, ta, b, 0, tb, c, 0);
      res.push(`${t}t ${((performance.now() - t0) / 300 * 1000).toFixed(1)}`);
    }
    console.log(`${m}x${n}x${k} ${ta ? "T" : "N"}${tb ? "T" : "N"}`, res.join("  "));
  }
});
