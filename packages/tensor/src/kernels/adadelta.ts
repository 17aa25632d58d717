// Adadelta's fused update in place (torch.optim.Adadelta's single-tensor order, float32): the JavaScript loop, and the
// dispatch to the SIMD kernel of wasm/optim-kernels.ts on the wasm backend (the same bits: every step is IEEE f32).
import { getBackend } from "../compute.js";
import { addressOf } from "../heap.js";
import { PARALLEL_MIN_ADAM, teamFor } from "../parallel.js";
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
 * `grad` is read only. On the wasm backend large arrays are updated with SIMD (bit for bit the same result), in place
 * when they lie in the tensor heap.
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
  // In place where the arrays lie in the tensor heap (tensor storage, optimizer state); others are copied in and out.
  e.arena.reset();
  const at = (a: Float32Array): number => {
    const p = addressOf(a, 0);
    if (p >= 0) return p;
    const q = e.arena.alloc(n);
    e.f32().set(a, q >> 2);
    return q;
  };
  const pp = at(param), pg = at(grad), pv = at(squareAvg), pu = at(accDelta);
  const team = teamFor(n, PARALLEL_MIN_ADAM, true);
  if (team !== null) team.adadelta(pp, pg, pv, pu, n, [rho, oneMinusRho, eps, negLr, wd, s.maximize ? 1 : 0]);
  else e.optim.adadelta(pp, pg, pv, pu, 0, n, rho, oneMinusRho, eps, negLr, wd, s.maximize ? 1 : 0);
  const heap = e.f32();
  for (const [a, p] of [[param, pp], [squareAvg, pv], [accDelta, pu]] as const) {
    if (addressOf(a, 0) !== p) a.set(heap.subarray(p >> 2, (p >> 2) + n));
  }
  e.arena.reset();
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
