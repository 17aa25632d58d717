// Adadelta's fused update in place (torch.optim.Adadelta's single-tensor order, float32): the JavaScript loop, and the
// dispatch to the SIMD kernel of wasm/optim-kernels.ts on the wasm backend (the same bits: every step is IEEE f32).
import { getBackend } from "../compute.js";
import { kernelEngine } from "../wasm/engine.js";

/** Hyperparameters of one Adadelta step (`torch.optim.Adadelta`). */
export interface AdadeltaStepScalars {
  readonly lr: number;
  readonly rho: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maximize: boolean;
}

const f = Math.fround;

/** Parameters below this size stay in JavaScript (copying into wasm memory would cost more than it saves). */
const WASM_MIN_ELEMENTS = 4096;

/**
 * One Adadelta update in place, every operation rounded to float32 in PyTorch 1.13's order: `g' = ±g (+ wd·p)`,
 * `v = v·ρ + ((1−ρ)·g')·g'`, `Δ = (√(u + eps) / √(v + eps))·g'`, `u = u·ρ + ((1−ρ)·Δ)·Δ`, `p = p + (−lr)·Δ`.
 * `grad` is read only. On the wasm backend large arrays are copied into the kernels' memory and updated with SIMD
 * (bit for bit the same result).
 */
export function adadeltaStep(
  param: Float32Array, grad: Float32Array, squareAvg: Float32Array, accDelta: Float32Array, s: AdadeltaStepScalars,
): void {
  const n = param.length;
  const rho = f(s.rho), oneMinusRho = f(1 - s.rho), eps = f(s.eps), negLr = f(-s.lr), wd = f(s.weightDecay);
  const e = getBackend() === "wasm" && n >= WASM_MIN_ELEMENTS ? kernelEngine() : null;
  if (e === null) {
    adadeltaJs(param, grad, squareAvg, accDelta, 0, n, rho, oneMinusRho, eps, negLr, wd, s.maximize);
    return;
  }
  e.arena.reset();
  const pp = e.arena.alloc(n), pg = e.arena.alloc(n), pv = e.arena.alloc(n), pu = e.arena.alloc(n);
  const heap = e.f32();
  heap.set(param, pp >> 2);
  heap.set(grad, pg >> 2);
  heap.set(squareAvg, pv >> 2);
  heap.set(accDelta, pu >> 2);
  e.optim.adadelta(pp, pg, pv, pu, 0, n, rho, oneMinusRho, eps, negLr, wd, s.maximize ? 1 : 0);
  param.set(heap.subarray(pp >> 2, (pp >> 2) + n));
  squareAvg.set(heap.subarray(pv >> 2, (pv >> 2) + n));
  accDelta.set(heap.subarray(pu >> 2, (pu >> 2) + n));
}

/** The JavaScript update of elements [start, end) (scalars already rounded to float32). */
export function adadeltaJs(
  p: Float32Array, grad: Float32Array, v: Float32Array, u: Float32Array, start: number, end: number,
  rho: number, oneMinusRho: number, eps: number, negLr: number, wd: number, maximize: boolean,
): void {
  if (wd === 0 && !maximize) {
    // The common case in a loop of its own (V8 runs it faster; same bits).
    for (let i = start; i < end; i++) {
      const g = grad[i]!;
      const vi = f(f(v[i]! * rho) + f(f(oneMinusRho * g) * g));
      v[i] = vi;
      const delta = f(f(f(Math.sqrt(f(u[i]! + eps))) / f(Math.sqrt(f(vi + eps)))) * g);
      u[i] = f(f(u[i]! * rho) + f(f(oneMinusRho * delta) * delta));
      p[i] = f(p[i]! + f(negLr * delta));
    }
    return;
  }
  for (let i = start; i < end; i++) {
    let g = maximize ? -grad[i]! : grad[i]!;
    if (wd !== 0) g = f(g + f(wd * p[i]!));
    const vi = f(f(v[i]! * rho) + f(f(oneMinusRho * g) * g));
    v[i] = vi;
    const delta = f(f(f(Math.sqrt(f(u[i]! + eps))) / f(Math.sqrt(f(vi + eps)))) * g);
    u[i] = f(f(u[i]! * rho) + f(f(oneMinusRho * delta) * delta));
    p[i] = f(p[i]! + f(negLr * delta));
  }
}
