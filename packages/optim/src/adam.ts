// Adam and AdamW as torch.optim: bias correction, amsgrad, maximize, coupled/decoupled weight decay, one fused pass.
import { adamStep, type Tensor } from "@tsgrad/tensor";
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
    return { step: 0, expAvg: new Float32Array(n), expAvgSq: new Float32Array(n), maxExpAvgSq: group.amsgrad ? new Float32Array(n) : null };
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
   * One step, per parameter with a gradient, in PyTorch's operation order with float32 rounding after each tensor op:
   * `m = β1·m + (1−β1)·g`, `v = β2·v + (1−β2)·g²`, `denom = √v / √(1−β2^t) + eps`, `θ −= lr/(1−β1^t) · m/denom`.
   */
  step(): void {
    for (const group of this.paramGroups) {
      const { lr, eps, weightDecay, amsgrad, maximize } = group;
      const b1 = f(group.betas[0]);
      const b2 = f(group.betas[1]);
      const omb1 = f(1 - group.betas[0]);
      const omb2 = f(1 - group.betas[1]);
      const wd = f(weightDecay);
      const epsF = f(eps);
      const decay = f(1 - lr * weightDecay); // AdamW: θ·(1 − lr·λ)
      const coupled = !this.decoupled && weightDecay !== 0;
      for (const p of group.params) {
        const gradT = p._peekGrad(); // read, not kept: leaves the grad recyclable
        if (gradT === null) continue;
        const s = this.state.get(p)!;
        if (amsgrad) s.maxExpAvgSq ??= new Float32Array(p.numel); // amsgrad switched on after construction
        s.step += 1;
        const bc1 = 1 - group.betas[0] ** s.step;
        const bc2Sqrt = Math.sqrt(1 - group.betas[1] ** s.step);
        const negStepSize = f(-lr / bc1);
        const bc2SqrtF = f(bc2Sqrt);
        const theta = p.data;
        const grad = gradT.data;
        const m = s.expAvg;
        const v = s.expAvgSq;
        const vMax = amsgrad ? s.maxExpAvgSq : null;
        const n = theta.length;
        if (this.decoupled && weightDecay !== 0) for (let i = 0; i < n; i++) theta[i] = theta[i]! * decay;
        if (!amsgrad && !maximize) {
          // The common case: the tensor package's fused kernel (SIMD on the wasm backend), same float32 operations.
          const [beta1, beta2] = group.betas;
          adamStep(theta, grad, m, v, { lr, beta1, beta2, eps, weightDecay: coupled ? weightDecay : 0, step: s.step });
          continue;
        }
        for (let i = 0; i < n; i++) {
          let g = maximize ? -grad[i]! : grad[i]!;
          if (coupled) g = f(g + f(wd * theta[i]!));
          const mi = f(f(m[i]! * b1) + f(g * omb1));
          const vi = f(f(v[i]! * b2) + f(f(g * omb2) * g));
          m[i] = mi;
          v[i] = vi;
          let vHat = vi;
          if (vMax !== null) {
            vHat = vMax[i]! > vi ? vMax[i]! : vi;
            vMax[i] = vHat;
          }
          const denom = f(f(f(Math.sqrt(vHat)) / bc2SqrtF) + epsF);
          theta[i] = theta[i]! + f(negStepSize * f(mi / denom));
        }
      }
    }
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
