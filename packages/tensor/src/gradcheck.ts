// gradcheck: analytic gradients against central differences, with defaults that suit float32.
import { noGrad } from "./autograd.js";
import { GradcheckError } from "./errors.js";
import { formatShape } from "./shape.js";
import { Generator } from "./random.js";
import { Tensor } from "./tensor.js";

/** Options of {@link gradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-3: float32 has ~7 significant digits). */
  readonly eps?: number;
  /** Absolute tolerance (default 1e-3). */
  readonly atol?: number;
  /** Relative tolerance (default 1e-2). */
  readonly rtol?: number;
  /** Seed of the random cotangent that weights the outputs (default 0). */
  readonly seed?: number;
}

/**
 * Checks the gradients of `fn` at `inputs` against central differences (`torch.autograd.gradcheck`).
 * The outputs are weighted by a fixed random cotangent (not a plain sum, which hides errors that cancel); every input
 * with `requiresGrad` is checked element by element. Returns true, or throws a {@link GradcheckError} naming the
 * input, the element and both values. Keep inputs away from kinks (relu at 0, ties in max).
 *
 * ```ts
 * gradcheck((a, b) => a.mul(b).sum(1), [randn([3, 4], { requiresGrad: true }), randn([4], { requiresGrad: true })]);
 * ```
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): true {
  const { eps = 1e-3, atol = 1e-3, rtol = 1e-2, seed = 0 } = options;
  const leaves = inputs.map((x) => new Tensor(x.data.slice(), x.shape, x.requiresGrad));
  const out = fn(...leaves);
  if (!(out instanceof Tensor)) throw new TypeError("gradcheck: fn must return a Tensor");
  const g = new Generator(seed);
  const v = new Float32Array(out.numel);
  for (let i = 0; i < v.length; i++) v[i] = g.nextNormal();
  if (!out.requiresGrad) throw new GradcheckError("gradcheck: the output does not require grad (no input requires grad?)");
  out.backward(new Tensor(v, out.shape));

  const objective = (): number =>
    noGrad(() => {
      const y = fn(...leaves).data;
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i]! * v[i]!;
      return s;
    });

  const failures: string[] = [];
  leaves.forEach((leaf, which) => {
    if (!leaf.requiresGrad) return;
    const analytic = leaf.grad?.data ?? new Float32Array(leaf.numel);
    const x = leaf.data;
    for (let i = 0; i < x.length; i++) {
      const orig = x[i]!;
      x[i] = orig + eps;
      const hi = x[i]!;
      const fPlus = objective();
      x[i] = orig - eps;
      const lo = x[i]!;
      const fMinus = objective();
      x[i] = orig;
      const numeric = (fPlus - fMinus) / (hi - lo);
      const a = analytic[i]!;
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        failures.push(`input ${which} ${formatShape(leaf.shape)} element ${i}: analytic ${a}, numeric ${numeric}`);
      }
    }
  });
  if (failures.length > 0) {
    throw new GradcheckError(
      `gradcheck: ${failures.length} gradient element(s) disagree with central differences ` +
        `(eps ${eps}, atol ${atol}, rtol ${rtol}):\n  ${failures.slice(0, 10).join("\n  ")}`,
    );
  }
  return true;
}
