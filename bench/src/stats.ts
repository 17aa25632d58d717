// Timing helpers for the benchmarks: warm-up, repeated runs, medians.
import { cpus } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";

/** Median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `fn` `warmup` times, then `runs` times in batches of `inner` calls; returns the median ms per call. */
export function timeIt(fn: () => void, { warmup = 5, runs = 21, inner = 1 } = {}): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < inner; i++) fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6 / inner);
  }
  return median(times);
}

/** One line naming the machine, for every benchmark's header. */
export function machine(): string {
  const c = cpus();
  return `${c[0]?.model ?? "unknown CPU"} × ${c.length} cores, Node ${process.version}`;
}

/** Garbage-collector pauses from `start()` to `stop()`: their number and total milliseconds. */
export function gcMeter(): { stop(): Promise<{ count: number; ms: number }> } {
  let count = 0;
  let ms = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      count++;
      ms += e.duration;
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    async stop() {
      await new Promise((resolve) => setTimeout(resolve, 20)); // gc entries are delivered asynchronously
      observer.disconnect();
      return { count, ms };
    },
  };
}
