// Loss modules wrapping the functional losses: CrossEntropyLoss, NLLLoss, MSELoss.
import type { Tensor } from "@tsgrad/tensor";
import { Module } from "./module.js";
import { checkReduction, crossEntropy, nllLoss, type ClassTarget, type CrossEntropyOptions, type NllLossOptions } from "./cross-entropy.js";
import { mseLoss, type MseLossOptions } from "./functional.js";

/** Options of {@link CrossEntropyLoss}: those of {@link crossEntropy}. */
export type CrossEntropyLossOptions = CrossEntropyOptions;

/**
 * `torch.nn.CrossEntropyLoss`: {@link crossEntropy} with options fixed at construction (validated on every call).
 * The class weight, when given, is held as a plain field (not a parameter) and never trained.
 *
 * ```ts
 * const criterion = new CrossEntropyLoss({ ignoreIndex: 0, labelSmoothing: 0.1 });
 * criterion.forward(logits, targets).backward();
 * ```
 */
export class CrossEntropyLoss extends Module<[Tensor, ClassTarget], Tensor> {
  private readonly options: CrossEntropyOptions;

  constructor(options: CrossEntropyLossOptions = {}) {
    super();
    this.options = { ...options };
    crossEntropyOptionsCheck(this.options);
  }

  forward(input: Tensor, target: ClassTarget): Tensor {
    return crossEntropy(input, target, this.options);
  }
}

/** Validates the options that do not depend on the input, so that a bad loss fails at construction. */
function crossEntropyOptionsCheck(o: CrossEntropyOptions): void {
  const { reduction = "mean", labelSmoothing = 0, ignoreIndex = -100 } = o;
  checkReduction(reduction, "CrossEntropyLoss");
  if (typeof labelSmoothing !== "number" || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new RangeError(`CrossEntropyLoss: labelSmoothing must be between 0.0 and 1.0. Got: ${String(labelSmoothing)}`);
  }
  if (!Number.isInteger(ignoreIndex)) throw new TypeError(`CrossEntropyLoss: ignoreIndex must be an integer, got ${String(ignoreIndex)}`);
}

/** Options of {@link NLLLoss}: those of {@link nllLoss}. */
export type NLLLossOptions = NllLossOptions;

/**
 * `torch.nn.NLLLoss` on log-probabilities: {@link nllLoss} with fixed options.
 *
 * ```ts
 * new NLLLoss().forward(logits.logSoftmax(1), targets);
 * ```
 */
export class NLLLoss extends Module<[Tensor, ClassTarget], Tensor> {
  private readonly options: NllLossOptions;

  constructor(options: NLLLossOptions = {}) {
    super();
    this.options = { ...options };
  }

  forward(input: Tensor, target: ClassTarget): Tensor {
    return nllLoss(input, target, this.options);
  }
}

/** Options of {@link MSELoss}: those of {@link mseLoss}. */
export type MSELossOptions = MseLossOptions;

/**
 * `torch.nn.MSELoss`: {@link mseLoss} with a fixed reduction.
 *
 * ```ts
 * new MSELoss({ reduction: "sum" }).forward(pred, target);
 * ```
 */
export class MSELoss extends Module<[Tensor, Tensor], Tensor> {
  private readonly options: MseLossOptions;

  constructor(options: MSELossOptions = {}) {
    super();
    this.options = { ...options };
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.options);
  }
}
