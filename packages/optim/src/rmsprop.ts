// RMSprop as torch.optim.RMSprop (1.13, single-tensor path): squared-gradient average, centering, momentum, maximize.
import type { Tensor } from "@tsgrad/tensor";
import { gradData } from "@tsgrad/tensor/internal";
import { Optimizer, snapshot, type ParamGroup, type ParamStateDict, type Params } from "./optimizer.js";

/** Options of {@link RMSprop} (PyTorch's defaults). */
export interface RMSpropOptions {
  /** Learning rate (default 1e-2). */
  readonly lr?: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  readonly alpha?: number;
  /** Added to the root of the average (default 1e-8). */
  readonly eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  readonly weightDecay?: number;
  /** Momentum factor (default 0). */
  readonly momentum?: number;
  /** Normalise by the estimated variance (the average of g² minus the squared average of g; default false). */
  readonly centered?: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  readonly maximize?: boolean;
}

/** An RMSprop group's resolved options. */
export type RMSpropGroupOptions = { -readonly [K in keyof RMSpropOptions]-?: NonNullable<RMSpropOptions[K]> };

/**
 * RMSprop's per-parameter state (PyTorch's `step`, `square_avg`, `momentum_buffer` when momentum > 0, `grad_avg` when
 * centered; the buffers of an unused feature are empty).
 */
export interface RMSpropState {
  step: number;
  readonly squareAvg: Float32Array;
  momentumBuffer: Float32Array;
  gradAvg: Float32Array;
}

const f = Math.fround;
const EMPTY = new Float32Array(0);

/**
 * `torch.optim.RMSprop`: `g ← ±grad + λ·θ`; `v ← α·v + (1−α)·g²`; with `centered`, `ḡ ← α·ḡ + (1−α)·g` and
 * `avg = √(v − ḡ²) + eps`, else `avg = √v + eps`; with momentum `b ← μ·b + g/avg` (b starts at 0) and `θ ← θ − lr·b`,
 * else `θ ← θ − lr·g/avg`; each tensor operation rounded to float32 in PyTorch 1.13's order. Parameters whose `grad`
 * is null are skipped.
 *
 * ```ts
 * const opt = new RMSprop(model.parameters(), { lr: 1e-3, momentum: 0.9, centered: true });
 * ```
 */
export class RMSprop extends Optimizer<RMSpropGroupOptions, RMSpropState> {
  constructor(params: Params<RMSpropGroupOptions>, options: RMSpropOptions = {}) {
    const { lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false, maximize = false } = options;
    super("RMSprop", params, { lr, alpha, eps, weightDecay, momentum, centered, maximize });
  }

  protected validate(o: RMSpropGroupOptions): void {
    for (const k of ["lr", "alpha", "eps", "weightDecay", "momentum"] as const) this.checkType(o[k], "number", k);
    this.checkType(o.centered, "boolean", "centered");
    this.checkType(o.maximize, "boolean", "maximize");
    this.check(o.lr >= 0, `Invalid learning rate: ${o.lr}`);
    this.check(o.eps >= 0, `Invalid epsilon value: ${o.eps}`);
    this.check(o.momentum >= 0, `Invalid momentum value: ${o.momentum}`);
    this.check(o.weightDecay >= 0, `Invalid weightDecay value: ${o.weightDecay}`);
    this.check(o.alpha >= 0, `Invalid alpha value: ${o.alpha}`);
  }

  protected createState(p: Tensor, group: ParamGroup<RMSpropGroupOptions>): RMSpropState {
    const n = p.numel;
    return {
      step: 0,
      squareAvg: new Float32Array(n),
      momentumBuffer: group.momentum > 0 ? new Float32Array(n) : EMPTY,
      gradAvg: group.centered ? new Float32Array(n) : EMPTY,
    };
  }

  protected saveState(s: RMSpropState, p: Tensor): ParamStateDict | null {
    if (s.step === 0) return null;
    const out: ParamStateDict = { step: s.step, squareAvg: snapshot(s.squareAvg, p) };
    if (s.momentumBuffer.length > 0) out["momentumBuffer"] = snapshot(s.momentumBuffer, p);
    if (s.gradAvg.length > 0) out["gradAvg"] = snapshot(s.gradAvg, p);
    return out;
  }

  protected loadState(s: RMSpropState, saved: ParamStateDict, p: Tensor): void {
    s.step = this.readStep(saved["step"]);
    this.copyBuffer(s.squareAvg, saved["squareAvg"], "squareAvg", p);
    for (const key of ["momentumBuffer", "gradAvg"] as const) {
      if (saved[key] === undefined) {
        s[key] = EMPTY;
        continue;
      }
      if (s[key].length !== p.numel) s[key] = new Float32Array(p.numel);
      this.copyBuffer(s[key], saved[key], key, p);
    }
  }

  protected resetState(s: RMSpropState): void {
    s.step = 0;
    s.squareAvg.fill(0);
    s.momentumBuffer.fill(0);
    s.gradAvg.fill(0);
  }

  /** One step per parameter with a gradient, in place. */
  step(): void {
    for (const group of this.paramGroups) {
      const { centered, maximize } = group;
      const alpha = f(group.alpha), oneMinusAlpha = f(1 - group.alpha), eps = f(group.eps), wd = f(group.weightDecay);
      const mu = f(group.momentum), negLr = f(-group.lr);
      const useMomentum = group.momentum > 0;
      for (const p of group.params) {
        const grad = gradData(p); // read, not kept: leaves the grad recyclable
        if (grad === null) continue;
        const s = this.state.get(p)!;
        const n = p.numel;
        // A feature switched on after the state was made starts from zeros, as PyTorch's lazily created buffers.
        if (useMomentum && s.momentumBuffer.length !== n) s.momentumBuffer = new Float32Array(n);
        if (centered && s.gradAvg.length !== n) s.gradAvg = new Float32Array(n);
        s.step += 1;
        const theta = p.data, v = s.squareAvg, buf = s.momentumBuffer, gAvg = s.gradAvg;
        for (let i = 0; i < n; i++) {
          let g = maximize ? -grad[i]! : grad[i]!;
          if (wd !== 0) g = f(g + f(wd * theta[i]!));
          const vi = f(f(v[i]! * alpha) + f(f(oneMinusAlpha * g) * g));
          v[i] = vi;
          let avg: number;
          if (centered) {
            const ga = f(f(gAvg[i]! * alpha) + f(oneMinusAlpha * g));
            gAvg[i] = ga;
            avg = f(Math.sqrt(f(vi - f(ga * ga))));
          } else {
            avg = f(Math.sqrt(vi));
          }
          avg = f(avg + eps);
          if (useMomentum) {
            const b = f(f(buf[i]! * mu) + f(g / avg));
            buf[i] = b;
            theta[i] = f(theta[i]! + f(negLr * b));
          } else {
            theta[i] = f(theta[i]! + f(f(negLr * g) / avg));
          }
        }
      }
    }
  }
}
