// SGD as torch.optim.SGD: momentum, dampening, Nesterov, L2 weight decay, maximize; one pass per parameter.
import type { Tensor } from "@tsgrad/tensor";
import { gradData } from "@tsgrad/tensor/internal";
import { Optimizer, snapshot, type ParamGroup, type ParamStateDict, type Params } from "./optimizer.js";

/** Options of {@link SGD} (PyTorch's defaults; `lr` defaults to 1e-3 as in PyTorch ≥ 2.2). */
export interface SGDOptions {
  /** Learning rate (default 1e-3). */
  readonly lr?: number;
  /** Momentum factor (default 0). */
  readonly momentum?: number;
  /** Dampening of the momentum (default 0). */
  readonly dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  readonly weightDecay?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  readonly nesterov?: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  readonly maximize?: boolean;
}

/** An SGD group's resolved options. */
export type SGDGroupOptions = { -readonly [K in keyof SGDOptions]-?: NonNullable<SGDOptions[K]> };

/** SGD's per-parameter state: the momentum buffer, valid once `hasBuffer` (PyTorch's `momentum_buffer`). */
export interface SGDState {
  hasBuffer: boolean;
  readonly momentumBuffer: Float32Array;
}

const f = Math.fround;

/**
 * `torch.optim.SGD`: `g ← ±grad + λ·θ`; with momentum `b ← μ·b + (1−dampening)·g` (b = g on the first step) and
 * `g ← g + μ·b` (Nesterov) or `g ← b`; then `θ ← θ − lr·g`. Parameters whose `grad` is null are skipped.
 *
 * ```ts
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * ```
 */
export class SGD extends Optimizer<SGDGroupOptions, SGDState> {
  constructor(params: Params<SGDGroupOptions>, options: SGDOptions = {}) {
    const { lr = 1e-3, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false } = options;
    super("SGD", params, { lr, momentum, dampening, weightDecay, nesterov, maximize });
  }

  protected validate(o: SGDGroupOptions): void {
    for (const k of ["lr", "momentum", "dampening", "weightDecay"] as const) this.checkType(o[k], "number", k);
    this.checkType(o.nesterov, "boolean", "nesterov");
    this.checkType(o.maximize, "boolean", "maximize");
    this.check(o.lr >= 0, `Invalid learning rate: ${o.lr}`);
    this.check(o.momentum >= 0, `Invalid momentum value: ${o.momentum}`);
    this.check(o.weightDecay >= 0, `Invalid weightDecay value: ${o.weightDecay}`);
    this.check(!o.nesterov || (o.momentum > 0 && o.dampening === 0), "Nesterov momentum requires a momentum and zero dampening");
  }

  protected createState(p: Tensor, group: ParamGroup<SGDGroupOptions>): SGDState {
    return { hasBuffer: false, momentumBuffer: new Float32Array(group.momentum !== 0 ? p.numel : 0) };
  }

  protected saveState(s: SGDState, p: Tensor): ParamStateDict | null {
    return s.hasBuffer ? { momentumBuffer: snapshot(s.momentumBuffer, p) } : null;
  }

  protected loadState(s: SGDState, saved: ParamStateDict, p: Tensor): void {
    if (saved["momentumBuffer"] === undefined) {
      s.hasBuffer = false;
      return;
    }
    if (s.momentumBuffer.length !== p.numel) (s as { momentumBuffer: Float32Array }).momentumBuffer = new Float32Array(p.numel);
    this.copyBuffer(s.momentumBuffer, saved["momentumBuffer"], "momentumBuffer", p);
    s.hasBuffer = true;
  }

  protected resetState(s: SGDState): void {
    s.hasBuffer = false;
  }

  /** One step, in PyTorch's operation order with float32 rounding after each tensor op. */
  step(): void {
    for (const group of this.paramGroups) {
      const { momentum, nesterov, maximize } = group;
      const wd = f(group.weightDecay);
      const mu = f(momentum);
      const oneMinusDamp = f(1 - group.dampening);
      const negLr = f(-group.lr);
      for (const p of group.params) {
        const grad = gradData(p); // read, not kept: leaves the grad recyclable
        if (grad === null) continue;
        const s = this.state.get(p)!;
        const theta = p.data;
        const n = theta.length;
        if (momentum !== 0 && s.momentumBuffer.length !== n) {
          (s as { momentumBuffer: Float32Array }).momentumBuffer = new Float32Array(n); // momentum switched on later
        }
        const buf = s.momentumBuffer;
        const first = !s.hasBuffer;
        for (let i = 0; i < n; i++) {
          let g = maximize ? -grad[i]! : grad[i]!;
          if (wd !== 0) g = f(g + f(wd * theta[i]!));
          if (momentum !== 0) {
            const b = first ? g : f(f(buf[i]! * mu) + f(g * oneMinusDamp));
            buf[i] = b;
            g = nesterov ? f(g + f(mu * b)) : b;
          }
          theta[i] = theta[i]! + f(negLr * g);
        }
        if (momentum !== 0) s.hasBuffer = true;
      }
    }
  }
}
