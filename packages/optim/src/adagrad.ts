// Adagrad as torch.optim.Adagrad (1.13, single-tensor path): accumulated g², learning-rate decay, weight decay, maximize.
import type { Tensor } from "@tsgrad/tensor";
import { gradData } from "@tsgrad/tensor/internal";
import { Optimizer, snapshot, type ParamGroup, type ParamStateDict, type Params } from "./optimizer.js";

/** Options of {@link Adagrad} (PyTorch's defaults). */
export interface AdagradOptions {
  /** Learning rate (default 1e-2). */
  readonly lr?: number;
  /** The rate at step t is lr / (1 + (t − 1)·lrDecay) (default 0). */
  readonly lrDecay?: number;
  /** L2 penalty added to the gradient (default 0). */
  readonly weightDecay?: number;
  /** Starting value of the accumulated sum of squares (default 0). */
  readonly initialAccumulatorValue?: number;
  /** Added to the root of the sum (default 1e-10). */
  readonly eps?: number;
  /** Maximise the objective instead of minimising it (default false). */
  readonly maximize?: boolean;
}

/** An Adagrad group's resolved options. */
export type AdagradGroupOptions = { -readonly [K in keyof AdagradOptions]-?: NonNullable<AdagradOptions[K]> };

/** Adagrad's per-parameter state (PyTorch's `step` and `sum`), made for every parameter at construction, as PyTorch. */
export interface AdagradState {
  step: number;
  readonly sum: Float32Array;
  /** The group's initialAccumulatorValue when the state was made (what a reset returns to). */
  readonly initial: number;
}

const f = Math.fround;

/**
 * `torch.optim.Adagrad`: `g ← ±grad + λ·θ`; `s ← s + g²`; `θ ← θ − clr·g / (√s + eps)` with
 * `clr = lr / (1 + (t − 1)·lrDecay)`, each tensor operation rounded to float32 in PyTorch 1.13's order. Every
 * parameter has state from the start (`sum` filled with `initialAccumulatorValue`); those whose `grad` is null are
 * skipped by a step.
 *
 * ```ts
 * const opt = new Adagrad(model.parameters(), { lr: 0.05, lrDecay: 1e-4 });
 * ```
 */
export class Adagrad extends Optimizer<AdagradGroupOptions, AdagradState> {
  constructor(params: Params<AdagradGroupOptions>, options: AdagradOptions = {}) {
    const { lr = 1e-2, lrDecay = 0, weightDecay = 0, initialAccumulatorValue = 0, eps = 1e-10, maximize = false } = options;
    super("Adagrad", params, { lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize });
  }

  protected validate(o: AdagradGroupOptions): void {
    for (const k of ["lr", "lrDecay", "weightDecay", "initialAccumulatorValue", "eps"] as const) this.checkType(o[k], "number", k);
    this.checkType(o.maximize, "boolean", "maximize");
    this.check(o.lr >= 0, `Invalid learning rate: ${o.lr}`);
    this.check(o.lrDecay >= 0, `Invalid lrDecay value: ${o.lrDecay}`);
    this.check(o.weightDecay >= 0, `Invalid weightDecay value: ${o.weightDecay}`);
    this.check(o.initialAccumulatorValue >= 0, `Invalid initialAccumulatorValue value: ${o.initialAccumulatorValue}`);
    this.check(o.eps >= 0, `Invalid epsilon value: ${o.eps}`);
  }

  protected createState(p: Tensor, group: ParamGroup<AdagradGroupOptions>): AdagradState {
    const initial = group.initialAccumulatorValue;
    return { step: 0, sum: new Float32Array(p.numel).fill(initial), initial };
  }

  protected saveState(s: AdagradState, p: Tensor): ParamStateDict {
    return { step: s.step, sum: snapshot(s.sum, p) };
  }

  protected loadState(s: AdagradState, saved: ParamStateDict, p: Tensor): void {
    s.step = this.readStep(saved["step"]);
    this.copyBuffer(s.sum, saved["sum"], "sum", p);
  }

  protected resetState(s: AdagradState): void {
    s.step = 0;
    s.sum.fill(s.initial);
  }

  /** One step per parameter with a gradient, in place; allocates nothing. */
  step(): void {
    for (const group of this.paramGroups) {
      const { lr, lrDecay, maximize } = group;
      const eps = f(group.eps), wd = f(group.weightDecay);
      for (const p of group.params) {
        const grad = gradData(p); // read, not kept: leaves the grad recyclable
        if (grad === null) continue;
        const s = this.state.get(p)!;
        s.step += 1;
        const negClr = f(-(lr / (1 + (s.step - 1) * lrDecay)));
        const theta = p.data, sum = s.sum;
        for (let i = 0; i < theta.length; i++) {
          let g = maximize ? -grad[i]! : grad[i]!;
          if (wd !== 0) g = f(g + f(wd * theta[i]!));
          const si = f(sum[i]! + f(g * g));
          sum[i] = si;
          const std = f(f(Math.sqrt(si)) + eps);
          theta[i] = f(theta[i]! + f(f(negClr * g) / std));
        }
      }
    }
  }
}
