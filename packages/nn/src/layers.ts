// Parameter-free layers (ReLU, GELU, Flatten, Dropout) and the Sequential container.
import { Tensor, defineOp, defaultGenerator, gelu, type GeluOptions, type Generator } from "@tsgrad/tensor";
import { aliases, handOver, simdDropout, simdMap, takeArray } from "@tsgrad/tensor/internal";
import { Module, type AnyModule } from "./module.js";

/**
 * `max(x, 0)` element-wise (`torch.nn.ReLU`); the gradient at 0 is 0, as PyTorch.
 *
 * ```ts
 * new ReLU().forward(tensor([-1, 2])); // [0, 2]
 * ```
 */
export class ReLU extends Module<[Tensor], Tensor> {
  override readonly keepsTensors = false;

  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/**
 * `x·Φ(x)` element-wise (`torch.nn.GELU`), or its tanh approximation with `{ approximate: "tanh" }`.
 *
 * ```ts
 * new GELU({ approximate: "tanh" }).forward(tensor([-1, 2])); // [-0.1588, 1.9546]
 * ```
 */
export class GELU extends Module<[Tensor], Tensor> {
  override readonly keepsTensors = false;
  readonly approximate: "none" | "tanh";

  constructor({ approximate = "none" }: GeluOptions = {}) {
    super();
    if (approximate !== "none" && approximate !== "tanh") {
      throw new RangeError(`GELU: approximate argument must be either "none" or "tanh", got ${JSON.stringify(approximate)}`);
    }
    this.approximate = approximate;
  }

  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }

  /** PyTorch's: `approximate='none'`. */
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/**
 * Flattens dims `startDim`…`endDim` into one (`torch.nn.Flatten`, defaults 1 and −1: keeps the batch dim).
 *
 * ```ts
 * new Flatten().forward(zeros([32, 1, 28, 28])).shape; // [32, 784]
 * ```
 */
export class Flatten extends Module<[Tensor], Tensor> {
  override readonly keepsTensors = false;

  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }

  /** PyTorch's: `start_dim=1, end_dim=-1`. */
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Generator of the masks (default: the global one that `manualSeed` seeds). */
  readonly generator?: Generator;
}

/**
 * Inverted dropout (`torch.nn.Dropout`): in training mode each element is zeroed with probability `p` and the others
 * are scaled by 1/(1−p); in evaluation mode it returns its input unchanged. `p = 1` zeroes everything.
 *
 * ```ts
 * const drop = new Dropout(0.5, { generator: new Generator(1) });
 * drop.eval().forward(x) === x; // true
 * ```
 */
export class Dropout extends Module<[Tensor], Tensor> {
  override readonly keepsTensors = false;
  readonly p: number;
  private readonly generator: Generator;

  constructor(p = 0.5, { generator = defaultGenerator }: DropoutOptions = {}) {
    super();
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new RangeError(`Dropout: dropout probability has to be between 0 and 1, but got ${p}`);
    }
    this.p = p;
    this.generator = generator;
  }

  /** PyTorch's: `p=0.5, inplace=False` (p as Python prints a float). */
  override extraRepr(): string {
    return `p=${pythonFloat(this.p)}, inplace=False`;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const scale = this.p === 1 ? 0 : 1 / (1 - this.p);
    const xd = x.data;
    const mask = takeArray(xd.length);
    const out = takeArray(xd.length);
    dropoutMask(this.generator, this.p, scale, xd, mask, out);
    // dx = g · mask.
    return defineOp({
      name: "dropout",
      inputs: [x],
      output: out,
      shape: x.shape,
      saved: [mask],
      backward: (g) => {
        const gx = takeArray(g.length);
        if (!simdMap("mul", [g, mask], gx)) for (let i = 0; i < gx.length; i++) gx[i] = g[i]! * mask[i]!;
        return [gx];
      },
    });
  }
}

/**
 * mask[i] = 0 with probability p, else `scale`, and out[i] = x[i]·mask[i]: element i is dropped when the generator's
 * i-th `nextFloat()` is below p, so the generator ends where that many `nextFloat()` calls leave it. The xoshiro128**
 * step of `Generator.nextUint32` runs inline on its state (a call per element and a branch on a random comparison
 * cost several times the rest): `nextFloat() < p` ⇔ `(u >>> 8) < ⌈p·2²⁴⌉`, exactly, as `nextFloat()` is
 * `(u >>> 8)·2⁻²⁴`.
 */
function dropoutMask(
  generator: Generator, p: number, scale: number, x: Float32Array, mask: Float32Array, out: Float32Array,
): void {
  const state = generator.getState();
  XOSHIRO.set(state.words); // as int32 bit patterns
  const threshold = Math.ceil(p * 16777216) /* 2²⁴·p is exact */, kept = Math.fround(scale);
  // The SIMD module's loop on the wasm backend (storage in the tensor heap), else the JavaScript one: the same bits.
  if (!simdDropout(XOSHIRO, threshold, kept, x, mask, out)) fillMask(XOSHIRO, threshold, kept, x, mask, out);
  const words = Array.from(new Uint32Array(XOSHIRO.buffer)) as unknown as [number, number, number, number];
  generator.setState({ words, spareNormal: state.spareNormal });
}

/** The generator state while a mask is drawn: int32 words only in the loop (V8 deoptimized it on uint32 words). */
const XOSHIRO = new Int32Array(4);

/** The loop of {@link dropoutMask} on the state `st` (updated in place); `kept` is the mask's non-zero value. */
function fillMask(st: Int32Array, threshold: number, kept: number, x: Float32Array, mask: Float32Array, out: Float32Array): void {
  let s0 = st[0]!, s1 = st[1]!, s2 = st[2]!, s3 = st[3]!;
  for (let i = 0; i < mask.length; i++) {
    const t5 = Math.imul(s1, 5);
    const u = Math.imul((t5 << 7) | (t5 >>> 25), 9) >>> 8;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    const m = (((u - threshold) >>> 31) ^ 1) * kept; // u < threshold: 0, else the scale
    mask[i] = m;
    out[i] = x[i]! * m;
  }
  st[0] = s0;
  st[1] = s1;
  st[2] = s2;
  st[3] = s3;
}

/**
 * Chains modules (`torch.nn.Sequential`): each one's output is the next one's input. Children are named `"0"`,
 * `"1"`, … so the state-dict keys are PyTorch's (`0.weight`, `2.bias`).
 *
 * ```ts
 * const model = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
 * Object.keys(model.stateDict()); // ["0.weight", "0.bias", "2.weight", "2.bias"]
 * ```
 */
export class Sequential extends Module<[Tensor], Tensor> {
  private readonly layers: Module<[Tensor], Tensor>[];

  constructor(...modules: Module<[Tensor], Tensor>[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new TypeError(`Sequential: argument ${i} is not a Module`);
      this.registerModule(String(i), m as unknown as AnyModule);
    });
    this.layers = modules;
  }

  /** The number of modules. */
  get length(): number {
    return this.layers.length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): Module<[Tensor], Tensor> {
    const m = this.layers.at(index);
    if (m === undefined) throw new RangeError(`Sequential: index ${index} is out of range for ${this.layers.length} modules`);
    return m;
  }

  /**
   * Runs the layers in order. Between two layers that keep no tensors (`keepsTensors` false: `Linear`, `Conv2d`,
   * `MaxPool2d`, `AvgPool2d`, `ReLU`, `Dropout`, `Flatten`) the intermediate result is seen by nobody but the graph, so it is handed over to it and its storage goes
   * back to the pool once `backward()` has used it (at once under `noGrad`): a steady training loop reuses the same
   * arrays step after step. A `Flatten` between them shares its input's storage, which goes back once the layer
   * after the `Flatten` has used it.
   */
  forward(x: Tensor): Tensor {
    let y = x;
    // The intermediate whose storage y holds (y itself, or the tensor y is a view of: `Flatten`'s result), made by a
    // layer of this Sequential that keeps nothing and seen by nothing else; null otherwise.
    let owner: Tensor | null = null;
    for (const m of this.layers) {
      const next = m.forward(y);
      if (!m.keepsTensors && next === y) continue; // an eval Dropout passes its input through: the same intermediate
      // A view (Flatten) shares its input's storage: that storage is handed over at the view's reader instead.
      const view = aliases(next.data, y.data);
      if (owner !== null && !m.keepsTensors && !view) handOver(owner, next);
      owner = m.keepsTensors ? null : view ? owner : next;
      y = next;
    }
    return y;
  }
}

/** A number as Python's `repr` of a float writes it: `0.5`, `0.0`, `1e-05`, `1e+16` (shortest digits, as JavaScript). */
function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  const [mantissa, e] = x.toExponential().split("e") as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 16) return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  const s = Object.is(x, -0) ? "-0" : String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}
