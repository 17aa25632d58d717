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
 * tensors do (`_single_tensor_adam`): `p ← decay·p` (AdamW), `g ← ±g` (maximize), `g ← g + wd·p` (wd ≠ 0),
 * `m ← β1·m + (1−β1)·g`, `v ← β2·v + ((1−β2)·g)·g`, `v̂ = max(v̂, v)` (AMSGrad, when `vMax` is given, else v̂ = v),
 * `p ← p − stepSize·(m / (√v̂ / √(1−β2^t) + eps))`. `g` is read only; the arrays are read at element offsets, so one
 * shared buffer can hold them all.
 */
export function adamKernel(
  p: Float32Array, pOff: number, g: Float32Array, gOff: number,
  m: Float32Array, mOff: number, v: Float32Array, vOff: number, vMax: Float32Array | null, vMaxOff: number,
  start: number, end: number, s: ArrayLike<number>,
): void {
  const maximize = s[9] !== 0, weightDecay = s[0] !== 0, decoupled = s[8] !== 1;
  if (maximize || weightDecay || decoupled || vMax !== null) {
    adamLoop(p, pOff, g, gOff, m, mOff, v, vOff, vMax, vMaxOff, start, end, s, maximize, weightDecay, decoupled);
  } else {
    plainAdamLoop(p, pOff, g, gOff, m, mOff, v, vOff, start, end, s);
  }
}

/** The loop of {@link adamKernel}: the whole formula, each flag tested per element; AMSGrad when `vMax` is not null. */
export function adamLoop(
  p: Float32Array, pOff: number, g: Float32Array, gOff: number,
  m: Float32Array, mOff: number, v: Float32Array, vOff: number, vMax: Float32Array | null, vMaxOff: number,
  start: number, end: number, s: ArrayLike<number>, maximize: boolean, weightDecay: boolean, decoupled: boolean,
): void {
  const f = Math.fround;
  const wd = s[0]!, b1 = s[1]!, omb1 = s[2]!, b2 = s[3]!, omb2 = s[4]!, eps = s[5]!, stepSize = s[6]!, bc2Sqrt = s[7]!;
  const decay = s[8]!;
  for (let i = start; i < end; i++) {
    let pi = p[pOff + i]!;
    if (decoupled) pi = f(pi * decay);
    let gi = g[gOff + i]!;
    if (maximize) gi = -gi;
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

/**
 * {@link adamLoop} with every flag off (PyTorch's defaults), without the flags' tests: V8 neither hoists nor folds
 * them, and this loop runs the reference step's Adam 1.2–1.4× faster than the general one (measured in the step
 * bench, JS backend). The tests hold the two loops to the same bits.
 */
export function plainAdamLoop(
  p: Float32Array, pOff: number, g: Float32Array, gOff: number,
  m: Float32Array, mOff: number, v: Float32Array, vOff: number,
  start: number, end: number, s: ArrayLike<number>,
): void {
  const f = Math.fround;
  const b1 = s[1]!, omb1 = s[2]!, b2 = s[3]!, omb2 = s[4]!, eps = s[5]!, stepSize = s[6]!, bc2Sqrt = s[7]!;
  for (let i = start; i < end; i++) {
    const gi = g[gOff + i]!;
    const mi = f(f(m[mOff + i]! * b1) + f(omb1 * gi));
    const vi = f(f(v[vOff + i]! * b2) + f(f(omb2 * gi) * gi));
    m[mOff + i] = mi;
    v[vOff + i] = vi;
    const denom = f(f(f(Math.sqrt(vi)) / bc2Sqrt) + eps);
    p[pOff + i] = p[pOff + i]! - f(stepSize * f(mi / denom));
  }
}

/** The source text of {@link adamKernel} and the loop it calls, for worker threads. */
export function adamKernelSource(): string {
  return [plainAdamLoop, adamLoop, adamKernel].map((fn) => fn.toString()).join("\n");
}
