// Adam's update on raw Float32Arrays, in PyTorch's float32 operation order; self-contained so workers can run it.

/**
 * Elements [start, end) of one Adam step in place: every operation is rounded to float32 as PyTorch's float32 tensors
 * do: `g' = g + wd·p` (when wd ≠ 0), `m = β1·m + (1−β1)·g'`, `v = β2·v + ((1−β2)·g')·g'`,
 * `p = p − stepSize·(m / (√v / bc2Sqrt + eps))`. Scalars come already rounded to float32; `g` is read only.
 * Arrays are read at element offsets, so one shared buffer can hold all four.
 */
export function adamJs(
  p: Float32Array, pOff: number, g: Float32Array, gOff: number,
  m: Float32Array, mOff: number, v: Float32Array, vOff: number,
  start: number, end: number,
  wd: number, b1: number, omb1: number, b2: number, omb2: number, eps: number, stepSize: number, bc2Sqrt: number,
): void {
  const f = Math.fround;
  // Two loops rather than a weight-decay test per element: V8 runs the branch-free body 1.8× faster (measured).
  if (wd === 0) {
    for (let i = start; i < end; i++) {
      const gi = g[gOff + i]!;
      const mi = f(f(m[mOff + i]! * b1) + f(omb1 * gi));
      const vi = f(f(v[vOff + i]! * b2) + f(f(omb2 * gi) * gi));
      m[mOff + i] = mi;
      v[vOff + i] = vi;
      const denom = f(f(f(Math.sqrt(vi)) / bc2Sqrt) + eps);
      p[pOff + i] = p[pOff + i]! - f(stepSize * f(mi / denom));
    }
    return;
  }
  for (let i = start; i < end; i++) {
    const pi = p[pOff + i]!;
    const gi = f(g[gOff + i]! + f(wd * pi));
    const mi = f(f(m[mOff + i]! * b1) + f(omb1 * gi));
    const vi = f(f(v[vOff + i]! * b2) + f(f(omb2 * gi) * gi));
    m[mOff + i] = mi;
    v[vOff + i] = vi;
    const denom = f(f(f(Math.sqrt(vi)) / bc2Sqrt) + eps);
    p[pOff + i] = pi - f(stepSize * f(mi / denom));
  }
}

/** The source text of {@link adamJs}, for worker threads. */
export function adamKernelSource(): string {
  return adamJs.toString();
}
