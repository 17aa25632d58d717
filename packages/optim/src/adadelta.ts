// Adadelta as torch.optim.Adadelta (1.13, single-tensor path): running averages of g² and Δx², L2 weight decay, maximize.
import type { Tensor } from "@tsgrad/tensor";
import { adadeltaStep, gradData, takeZeros } from "@tsgrad/tensor/internal";
import { Optimizer, snapshot, type ParamStateDict, type Params } from "./optimizer.js";

/** Options of {@link Adadelta} (PyTorch's defaults). */
export interface AdadeltaOptions {
  /** Scale of the update Δx before it is applied (default 1.0). */
  readonly lr?: number;
  /** Decay of the running averages of g² and Δx² (default 0.9; in [0, 1]). */
  readonly rho?: number;
  /** Added inside both square roots (default 1e-6). */
  readonly eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  readonly weightDecay?: number;
  /** Maximise the objective instead of minimising it (default false). */
  readonly maximize?: boolean;
}

/** An Adadelta group's resolved options. */
export type AdadeltaGroupOptions = { -readonly [K in keyof AdadeltaOptions]-?: NonNullable<AdadeltaOptions[K]> };

/** Adadelta's per-parameter state (PyTorch's `step`, `square_avg`, `acc_delta`). */
export interface AdadeltaState {
  step: number;
  readonly squareAvg: Float32Array;
  readonly accDelta: Float32Array;
}

/**
 * `torch.optim.Adadelta`: `g ← ±grad + λ·θ`; `v ← ρ·v + (1−ρ)·g²`; `Δ ← √(u + eps) / √(v + eps) · g`;
 * `u ← ρ·u + (1−ρ)·Δ²`; `θ ← θ − lr·Δ`, every tensor operation rounded to float32 in PyTorch 1.13's order.
 * Parameters whose `grad` is null are skipped (they keep no state until their first step).
 *
 * ```ts
 * const opt = new Adadelta(model.parameters(), { lr: 1.0 }); // pytorch/examples' MNIST CNN
 * ```
 */
export class Adadelta extends Optimizer<AdadeltaGroupOptions, AdadeltaState> {
  constructor(params: Params<AdadeltaGroupOptions>, options: AdadeltaOptions = {}) {
    const { lr = 1.0, rho = 0.9, eps = 1e-6, weightDecay = 0, maximize = false } = options;
    super("Adadelta", params, { lr, rho, eps, weightDecay, maximize });
  }

  protected validate(o: AdadeltaGroupOptions): void {
    for (const k of ["lr", "rho", "eps", "weightDecay"] as const) this.checkType(o[k], "number", k);
    this.checkType(o.maximize, "boolean", "maximize");
    this.check(o.lr >= 0, `Invalid learning rate: ${o.lr}`);
    this.check(o.rho >= 0 && o.rho <= 1, `Invalid rho value: ${o.rho}`);
    this.check(o.eps >= 0, `Invalid epsilon value: ${o.eps}`);
    this.check(o.weightDecay >= 0, `Invalid weightDecay value: ${o.weightDecay}`);
  }

  protected createState(p: Tensor): AdadeltaState {
    return { step: 0, squareAvg: takeZeros(p.numel), accDelta: takeZeros(p.numel) };
  }

  protected saveState(s: AdadeltaState, p: Tensor): ParamStateDict | null {
    if (s.step === 0) return null;
    return { step: s.step, squareAvg: snapshot(s.squareAvg, p), accDelta: snapshot(s.accDelta, p) };
  }

  protected loadState(s: AdadeltaState, saved: ParamStateDict, p: Tensor): void {
    s.step = this.readStep(saved["step"]);
    this.copyBuffer(s.squareAvg, saved["squareAvg"], "squareAvg", p);
    this.copyBuffer(s.accDelta, saved["accDelta"], "accDelta", p);
  }

  protected resetState(s: AdadeltaState): void {
    s.step = 0;
    s.squareAvg.fill(0);
    s.accDelta.fill(0);
  }

  /** One step per parameter with a gradient, in place (SIMD on the wasm backend: `adadeltaStep`). */
  step(): void {
    for (const group of this.paramGroups) {
      const { lr, rho, eps, weightDecay, maximize } = group;
      for (const p of group.params) {
        const grad = gradData(p); // read, not kept: leaves the grad recyclable
        if (grad === null) continue;
        const s = this.state.get(p)!;
        s.step += 1;
        adadeltaStep(p.data, grad, s.squareAvg, s.accDelta, { lr, rho, eps, weightDecay, maximize });
      }
    }
  }
}
