// Functional forms of the layers and the MSE loss (crossEntropy/nllLoss live in cross-entropy.ts, linear in linear.ts).
import { Tensor, ShapeError, defineOp, formatShape } from "@tsgrad/tensor";
import { sameShape } from "@tsgrad/tensor/internal";
import { checkReduction, type Reduction } from "./cross-entropy.js";

/**
 * `max(x, 0)` element-wise (`torch.nn.functional.relu`); the gradient at 0 is 0.
 *
 * ```ts
 * relu(tensor([-1, 2])); // [0, 2]
 * ```
 */
export function relu(x: Tensor): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError("relu: expected a Tensor");
  return x.relu();
}

/**
 * Log-softmax along `dim` (`torch.nn.functional.log_softmax`): `x − logsumexp(x)`, stable for any magnitude.
 *
 * ```ts
 * logSoftmax(logits, 1); // rows of log-probabilities
 * ```
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError("logSoftmax: expected a Tensor");
  return x.logSoftmax(dim);
}

/** Options of {@link mseLoss}. */
export interface MseLossOptions {
  /** `"mean"` (default), `"sum"` or `"none"`. */
  readonly reduction?: Reduction;
}

/**
 * Mean squared error `(input − target)²`, reduced (`torch.nn.functional.mse_loss`), one graph node. Both tensors must
 * have the same shape (PyTorch broadcasts with a warning; we refuse, since it is almost always a bug).
 *
 * ```ts
 * mseLoss(pred, target).backward();
 * ```
 */
export function mseLoss(input: Tensor, target: Tensor, { reduction = "mean" }: MseLossOptions = {}): Tensor {
  if (!(input instanceof Tensor) || !(target instanceof Tensor)) throw new TypeError("mseLoss: expected two Tensors");
  checkReduction(reduction, "mseLoss");
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(
      `mseLoss: expected input and target of the same shape, got ${formatShape(input.shape)} and ${formatShape(target.shape)}`,
    );
  }
  const a = input.data;
  const b = target.data;
  const diff = new Float64Array(a.length);
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    diff[i] = a[i]! - b[i]!;
    total += diff[i]! * diff[i]!;
  }
  const n = a.length;
  const output =
    reduction === "none" ? Float32Array.from(diff, (d) => d * d) : new Float32Array([reduction === "sum" ? total : total / n]);
  // d/dinput = 2·(input − target)·u, d/dtarget = −that; u = g[i], g/n or g.
  return defineOp({
    name: "mseLoss",
    inputs: [input, target],
    output,
    shape: reduction === "none" ? input.shape : [],
    backward: (g, needs) => {
      const gi = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const u = reduction === "none" ? g[i]! : reduction === "mean" ? g[0]! / n : g[0]!;
        gi[i] = 2 * diff[i]! * u;
      }
      return [needs[0] ? gi : null, needs[1] ? gi.map((v) => -v) : null];
    },
  });
}
