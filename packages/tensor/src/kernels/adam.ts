// Adam's element loop on raw Float32Arrays (the maths and its scalars belong to @tsgrad/optim's adam.ts); self-contained
// so that worker threads can run its source text.

/**
 * One Adam step's scalars, each already rounded to float32 by the optimizer, in this order: weight decay added to the
 * gradient (0: none), β1, 1−β1, β2, 1−β2, eps, the step size lr/(1−β1^t), √(1−β2^t), AdamW's factor 1 − lr·λ applied
 * to the parameter first (1: none), and maximize (1 or 0).
 */
export type AdamScalars = readonly [
  weightDecay: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, eps: number,
  stepSize: number, bc2Sqrt: number, decay: number, maximize: number,
];

/** Length of {@link AdamScalars}. */
export const ADAM_SCALARS = 10;

/**
 * Elements [start, end) of one Adam step in place, with every operation rounded to float32 as PyTorch's float32
 * tensors do (`_single_tensor_adam`): `p ← decay·p` (AdamW; decay = 1 is exact, so it is always applied),
 * `g ← ±g` (maximize, a multiplication by ±1, exact too), `g ← g + wd·p` (only when wd ≠ 0, as PyTorch: 0·∞ would
 * make NaN), `m ← β1·m + (1−β1)·g`, `v ← β2·v + ((1−β2)·g)·g`, `v̂ = max(v̂, v)` (AMSGrad, when `vMax` is given, else
 * v̂ = v), `p ← p − stepSize·(m / (√v̂ / √(1−β2^t) + eps))`. `g` is read only; the arrays are read at element offsets,
 * so one shared buffer can hold them all. The one JS formula of Adam; the wasm backend's SIMD kernel
 * (wasm/optim-kernels.ts) runs the same operations for plain Adam, and the tests hold the two to the same bits.
 */
export function adamKernel(
  p: Float32Array, pOff: number, g: Float32Array, gOff: number,
  m: Float32Array, mOff: number, v: Float32Array, vOff: number, vMax: Float32Array | null, vMaxOff: number,
  start: number, end: number, s: ArrayLike<number>,
): void {
  const f = Math.fround;
  const wd = s[0]!, b1 = s[1]!, omb1 = s[2]!, b2 = s[3]!, omb2 = s[4]!, eps = s[5]!, stepSize = s[6]!, bc2Sqrt = s[7]!;
  const decay = s[8]!, sign = s[9] !== 0 ? -1 : 1, weightDecay = wd !== 0;
  for (let i = start; i < end; i++) {
    const pi = f(p[pOff + i]! * decay);
    let gi = g[gOff + i]! * sign;
    if (weightDecay) gi = f(gi + f(wd * pi));
    const mi = f(f(m[mOff + i]! * b1) + f(omb1 * gi));
    const vi = f(f(v[vOff + i]! * b2) + f(f(omb2 * gi) * gi));
    m[mOff + i] = mi;
    v[vOff + i] = vi;
    let vHat = vi;
    if (vMax !== null) {
      const seen = vMax[vMaxOff + i]!;
      vHat = seen > vi ? seen : vi;
      vMax[vMaxOff + i] = vHat;
    }
    const denom = f(f(f(Math.sqrt(vHat)) / bc2Sqrt) + eps);
    p[pOff + i] = pi - f(stepSize * f(mi / denom));
  }
}

/** The source text of {@link adamKernel}, for worker threads. */
export function adamKernelSource(): string {
  return adamKernel.toString();
}
