// Adam and AdamW as torch.optim: bias correction, amsgrad, maximize, coupled/decoupled weight decay, one fused pass.
import type { Tensor } from "@tsgrad/tensor";
import { adamUpdate, gradData, takeZeros, type AdamScalars } from "@tsgrad/tensor/internal";
import { Optimizer, snapshot, type ParamGroup, type ParamStateDict, type Params } from "./optimizer.js";

/** Options of {@link Adam} (PyTorch's defaults). */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  readonly lr?: number;
  /** Decay rates of the first and second moment averages (default [0.9, 0.999]). */
  readonly betas?: readonly [number, number];
  /** Added to the bias-corrected √v for stability (default 1e-8). */
  readonly eps?: number;
  /** L2 penalty added to the gradient (Adam) or decoupled decay (AdamW); defaults 0 and 1e-2. */
  readonly weightDecay?: number;
  /** Use the running maximum of v (AMSGrad; default false). */
  readonly amsgrad?: boolean;
  /** Maximise the objective instead of minimising it (default false). */
  readonly maximize?: boolean;
}

/** Options of {@link AdamW}: Adam's, with `weightDecay` decoupled (default 1e-2). */
export type AdamWOptions = AdamOptions;

/** An Adam group's resolved options. */
export type AdamGroupOptions = { -readonly [K in keyof AdamOptions]-?: NonNullable<AdamOptions[K]> };

/** Adam's per-parameter state: `step` and the moment buffers (`maxExpAvgSq` only with amsgrad). */
export interface AdamState {
  step: number;
  readonly expAvg: Float32Array;
  readonly expAvgSq: Float32Array;
  maxExpAvgSq: Float32Array | null;
}

const f = Math.fround;

function adamDefaults(options: AdamOptions, decoupled: boolean): AdamGroupOptions {
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = decoupled ? 1e-2 : 0, amsgrad = false, maximize = false } = options;
  return { lr, betas, eps, weightDecay, amsgrad, maximize };
}

/** The betas as a message shows them: `[0.9]`, `0.9`, `undefined`. */
function describeBetas(x: unknown): string {
  return Array.isArray(x) ? `[${x.map(String).join(", ")}]` : String(x);
}

class AdamBase extends Optimizer<AdamGroupOptions, AdamState> {
  /** The scalars of the parameter being stepped (one array, reused: a step allocates nothing). */
  private readonly scalars: { -readonly [K in keyof AdamScalars]: AdamScalars[K] } = [0, 0, 0, 0, 0, 0, 0, 0, 1, 0];

  constructor(name: string, params: Params<AdamGroupOptions>, options: AdamOptions, private readonly decoupled: boolean) {
    super(name, params, adamDefaults(options, decoupled));
  }

  protected validate(o: AdamGroupOptions): void {
    this.checkType(o.lr, "number", "lr");
    this.checkType(o.eps, "number", "eps");
    this.checkType(o.weightDecay, "number", "weightDecay");
    this.checkType(o.amsgrad, "boolean", "amsgrad");
    this.checkType(o.maximize, "boolean", "maximize");
    const betas: unknown = o.betas;
    this.checkKind(Array.isArray(betas) && betas.length === 2, `betas must be a pair [beta1, beta2], got ${describeBetas(betas)}`);
    this.check(o.lr >= 0, `Invalid learning rate: ${o.lr}`);
    this.check(o.eps >= 0, `Invalid epsilon value: ${o.eps}`);
    o.betas.forEach((b, i) => this.check(typeof b === "number" && b >= 0 && b < 1, `Invalid beta parameter at index ${i}: ${b}`));
    this.check(o.weightDecay >= 0, `Invalid weightDecay value: ${o.weightDecay}`);
  }

  protected createState(p: Tensor, group: ParamGroup<AdamGroupOptions>): AdamState {
    const n = p.numel;
    return { step: 0, expAvg: takeZeros(n), expAvgSq: takeZeros(n), maxExpAvgSq: group.amsgrad ? takeZeros(n) : null };
  }

  protected saveState(s: AdamState, p: Tensor): ParamStateDict | null {
    if (s.step === 0) return null;
    const out: ParamStateDict = { step: s.step, expAvg: snapshot(s.expAvg, p), expAvgSq: snapshot(s.expAvgSq, p) };
    if (s.maxExpAvgSq !== null) out["maxExpAvgSq"] = snapshot(s.maxExpAvgSq, p);
    return out;
  }

  protected loadState(s: AdamState, saved: ParamStateDict, p: Tensor): void {
    s.step = this.readStep(saved["step"]);
    this.copyBuffer(s.expAvg, saved["expAvg"], "expAvg", p);
    this.copyBuffer(s.expAvgSq, saved["expAvgSq"], "expAvgSq", p);
    if (saved["maxExpAvgSq"] !== undefined) {
      s.maxExpAvgSq ??= new Float32Array(p.numel);
      this.copyBuffer(s.maxExpAvgSq, saved["maxExpAvgSq"], "maxExpAvgSq", p);
    } else {
      s.maxExpAvgSq?.fill(0);
    }
  }

  protected resetState(s: AdamState): void {
    s.step = 0;
    s.expAvg.fill(0);
    s.expAvgSq.fill(0);
    s.maxExpAvgSq?.fill(0);
  }

  /**
   * One step, per parameter with a gradient, in PyTorch's operation order with float32 rounding after each tensor op
   * (the element loop is the tensor package's `adamKernel`, SIMD on the wasm backend; its scalars are formed here).
   */
  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const grad = gradData(p); // read, not kept: leaves the grad recyclable
        if (grad === null) continue;
        const s = this.state.get(p)!;
        if (group.amsgrad) s.maxExpAvgSq ??= new Float32Array(p.numel); // amsgrad switched on after construction
        s.step += 1;
        this.formScalars(group, s.step);
        adamUpdate(p.data, grad, s.expAvg, s.expAvgSq, group.amsgrad ? s.maxExpAvgSq : null, this.scalars);
      }
    }
  }

  /**
   * Adam's scalars at step `t`, each rounded to float32 as PyTorch's float32 tensors hold them (the order of
   * `AdamScalars`): coupled weight decay (Adam) or the factor `1 − lr·λ` (AdamW), β1, 1−β1, β2, 1−β2, eps, the
   * step size `lr/(1−β1^t)`, `√(1−β2^t)`, maximize.
   */
  private formScalars(group: AdamGroupOptions, t: number): void {
    const { lr, betas: [beta1, beta2], eps, weightDecay, maximize } = group;
    const s = this.scalars;
    s[0] = this.decoupled ? 0 : f(weightDecay);
    s[1] = f(beta1);
    s[2] = f(1 - beta1);
    s[3] = f(beta2);
    s[4] = f(1 - beta2);
    s[5] = f(eps);
    s[6] = f(lr / (1 - beta1 ** t));
    s[7] = f(Math.sqrt(1 - beta2 ** t));
    s[8] = this.decoupled && weightDecay !== 0 ? f(1 - lr * weightDecay) : 1;
    s[9] = maximize ? 1 : 0;
  }
}

/**
 * `torch.optim.Adam`: bias-corrected moments, `eps` added after the bias-corrected square root, coupled L2 weight
 * decay (added to the gradient), optional AMSGrad and maximize; parameters whose `grad` is null are skipped (their
 * step count does not advance). Updates `param.data` in place in one pass per parameter, allocating nothing.
 *
 * ```ts
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 * ```
 */
export class Adam extends AdamBase {
  constructor(params: Params<AdamGroupOptions>, options: AdamOptions = {}) {
    super("Adam", params, options, false);
  }
}

/**
 * `torch.optim.AdamW`: Adam with decoupled weight decay, `θ ← θ·(1 − lr·weightDecay)` before the Adam update
 * (default weightDecay 1e-2).
 *
 * ```ts
 * const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 * ```
 */
export class AdamW extends AdamBase {
  constructor(params: Params<AdamGroupOptions>, options: AdamWOptions = {}) {
    super("AdamW", params, options, true);
  }
}
