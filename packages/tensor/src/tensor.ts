// Tensor: a contiguous row-major Float32Array, a readonly shape, and the autograd fields; methods call ops/.
import { runBackward, type Node } from "./autograd.js";
import { ShapeError } from "./errors.js";
import { gradTensor, setGrad } from "./ownership.js";
import { formatShape, numel, sameShape, type Shape } from "./shape.js";
import { formatTensor } from "./format.js";
import * as ew from "./ops/elementwise.js";
import * as red from "./ops/reduce.js";
import * as mv from "./ops/movement.js";
import { matmul } from "./ops/matmul.js";

/** Node's `util.inspect.custom` (a registered symbol: no `node:util` import, so this stays browser-safe). */
const inspectCustom: unique symbol = Symbol.for("nodejs.util.inspect.custom");

/** Nested arrays of numbers, as `toArray()` returns and `tensor()` accepts. */
export type NestedArray = number | readonly NestedArray[];

/** Options of {@link Tensor.backward}. */
export interface BackwardOptions {
  /** Keep the graph after this pass so that `backward()` can run through it again (default false). */
  readonly retainGraph?: boolean;
}

/**
 * An n-dimensional float32 array with reverse-mode autograd, shaped like `torch.Tensor`.
 *
 * Storage is always a contiguous row-major `Float32Array` (`data`); `reshape`/`view`/`squeeze`/`unsqueeze`/`flatten`
 * share it, `transpose`/`permute` return contiguous copies (so every op accepts their results).
 *
 * ```ts
 * const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * w.matmul(w).sum().backward();
 * w.grad?.toArray(); // [[7, 11], [9, 13]]
 * ```
 */
export class Tensor {
  /** The values, row-major. Shared with views; mutate only outside a live graph (as optimizers do). */
  readonly data: Float32Array;
  /** The size of each dimension (`[]` for a scalar). */
  readonly shape: Shape;
  private requiresGradFlag: boolean;
  private node: Node | null = null;

  /** Wraps `data` (not copied) as a tensor of `shape`. Prefer {@link tensor} to build from user values. */
  constructor(data: Float32Array, shape: Shape, requiresGrad = false) {
    if (data.length !== numel(shape)) {
      throw new ShapeError(`Tensor: shape ${formatShape(shape)} needs ${numel(shape)} values, got ${data.length}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.requiresGradFlag = requiresGrad;
  }

  /** Number of dimensions (`dim()` in PyTorch). */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements (`numel()` in PyTorch). */
  get numel(): number {
    return this.data.length;
  }

  /** Whether gradients flow to this tensor. Settable on leaves only. */
  get requiresGrad(): boolean {
    return this.requiresGradFlag || this.node !== null;
  }

  set requiresGrad(value: boolean) {
    if (this.node !== null && !value) {
      throw new Error(
        "requiresGrad: you can only change requiresGrad flags of leaf variables. If you want to use a computed " +
          "variable in a subgraph that doesn't require differentiation use detach()",
      );
    }
    this.requiresGradFlag = value;
  }

  /**
   * The accumulated gradient of a leaf (`null` until a backward pass reaches it). Assignable, as in PyTorch. The grad's
   * tensor is made when it is first read, and is yours to keep from then on: its storage is never recycled. A grad
   * that nobody read (optimizers read its storage without making it) goes back to the storage pool when `zeroGrad()`
   * sets it to `null`, so the next backward reuses it (the ownership rules: ownership.ts).
   */
  get grad(): Tensor | null {
    return gradTensor(this);
  }

  set grad(value: Tensor | null) {
    if (value !== null) {
      if (!(value instanceof Tensor)) {
        throw new TypeError(`grad: assigned grad expected to be a Tensor or null but got ${describeKind(value)}`);
      }
      if (!sameShape(value.shape, this.shape)) {
        throw new ShapeError(
          `grad: assigned grad has data of a different size: shape ${formatShape(value.shape)}, the tensor's is ` +
            formatShape(this.shape),
        );
      }
    }
    setGrad(this, value);
  }

  /** The node that produced this tensor (`grad_fn`), or `null` for a leaf. */
  get gradFn(): Node | null {
    return this.node;
  }

  /** True for tensors not produced by a recorded op. */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** @internal Attaches the node that produced this tensor. */
  _setGradFn(node: Node): void {
    this.node = node;
  }

  /** A copy of the values, row-major. */
  toFloat32Array(): Float32Array {
    return this.data.slice();
  }

  /** The values as nested arrays (a number for a scalar). */
  toArray(): NestedArray {
    const build = (dim: number, offset: number, stride: number): NestedArray => {
      if (dim === this.shape.length) return this.data[offset]!;
      const size = this.shape[dim]!;
      const inner = stride / Math.max(size, 1);
      const out: NestedArray[] = [];
      for (let i = 0; i < size; i++) out.push(build(dim + 1, offset + i * inner, inner));
      return out;
    };
    return build(0, 0, this.numel);
  }

  /** The value of a one-element tensor as a number. */
  item(): number {
    if (this.numel !== 1) {
      throw new ShapeError(`item: a Tensor with ${this.numel} elements cannot be converted to Scalar`);
    }
    return this.data[0]!;
  }

  /**
   * Back-propagates from this tensor, accumulating (`+=`) into `.grad` of every leaf that requires grad.
   * On a scalar the seed is 1; otherwise pass `gradient` of this tensor's shape. Afterwards, as in PyTorch, the values
   * the ops saved for their backward are freed (unless `retainGraph`): a second `backward()` through a graph of ops that
   * saved nothing (`add`, `sub`, `neg`, `sum`, `mean()`, reshapes, transposes, `clone`) accumulates again, and one
   * through freed values throws "Trying to backward through the graph a second time" before changing any grad.
   */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    if (!this.requiresGrad) {
      throw new Error("backward: element 0 of tensors does not require grad and does not have a gradFn");
    }
    let seed: Float32Array | null = null; // null: the implicit 1, made by autograd once the graph is checked
    if (gradient === undefined) {
      if (this.numel !== 1) {
        throw new ShapeError(
          `backward: grad can be implicitly created only for scalar outputs, got shape ${formatShape(this.shape)}`,
        );
      }
    } else {
      if (!(gradient instanceof Tensor)) throw new TypeError(`backward: gradient must be a Tensor, got ${describeKind(gradient)}`);
      if (gradient.numel !== this.numel || (gradient.ndim !== 0 && !sameShape(gradient.shape, this.shape))) {
        throw new ShapeError(
          `backward: Mismatch in shape: gradient has a shape of ${formatShape(gradient.shape)} and the output has a ` +
            `shape of ${formatShape(this.shape)}`,
        );
      }
      seed = gradient.data;
    }
    runBackward(this, seed, options.retainGraph ?? false);
  }

  /** A tensor sharing this one's data, cut from the graph (no grad). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** A copy of the data; gradients flow back to this tensor. */
  clone(): Tensor {
    return mv.clone(this);
  }

  /** Always true: storage is contiguous. Kept for PyTorch users. */
  isContiguous(): boolean {
    return true;
  }

  /** Returns this tensor (storage is always contiguous). */
  contiguous(): Tensor {
    return this;
  }

  /**
   * PyTorch's repr, with this API's names: `tensor([[1., 2.], [3., 4.]], requiresGrad=true)`, `gradFn=<mul>` for a
   * result of an op, `shape=[0, 3]` for an empty tensor; summarised with "..." past 1000 elements (see
   * {@link setPrintOptions}).
   */
  toString(): string {
    const empty = this.numel === 0 && this.ndim !== 1 ? [`shape=${formatShape(this.shape)}`] : [];
    return formatTensor(this.data, this.shape, [...empty, ...this.gradSuffix()]);
  }

  /** What `console.log(t)` shows in Node: {@link Tensor.toString} with the shape always given. */
  [inspectCustom](): string {
    return formatTensor(this.data, this.shape, [`shape=${formatShape(this.shape)}`, ...this.gradSuffix()]);
  }

  private gradSuffix(): string[] {
    if (this.node !== null) return [`gradFn=<${this.node.name}>`];
    return this.requiresGradFlag ? ["requiresGrad=true"] : [];
  }

  // Element-wise, with broadcasting.
  /** `this + other`, broadcasting. */
  add(other: Tensor | number): Tensor { return ew.add(this, other); }
  /** `this − other`, broadcasting. */
  sub(other: Tensor | number): Tensor { return ew.sub(this, other); }
  /** `this · other`, broadcasting. */
  mul(other: Tensor | number): Tensor { return ew.mul(this, other); }
  /** `this / other`, broadcasting. */
  div(other: Tensor | number): Tensor { return ew.div(this, other); }
  /** `this ^ exponent`, broadcasting. */
  pow(exponent: Tensor | number): Tensor { return ew.pow(this, exponent); }
  /** `−this`. */
  neg(): Tensor { return ew.neg(this); }
  /** `e^this`. */
  exp(): Tensor { return ew.exp(this); }
  /** Natural logarithm. */
  log(): Tensor { return ew.log(this); }
  /** Square root. */
  sqrt(): Tensor { return ew.sqrt(this); }
  /** Absolute value (gradient 0 at 0, as PyTorch). */
  abs(): Tensor { return ew.abs(this); }
  /** Hyperbolic tangent. */
  tanh(): Tensor { return ew.tanh(this); }
  /** Logistic sigmoid `1 / (1 + e^−x)`, stable for large |x|. */
  sigmoid(): Tensor { return ew.sigmoid(this); }
  /** `max(x, 0)` (gradient 0 at 0, as PyTorch). */
  relu(): Tensor { return ew.relu(this); }

  // Reductions.
  /** Sum over `dim` (all dims when omitted). */
  sum(dim?: number | readonly number[], keepdim = false): Tensor { return red.sum(this, dim, keepdim); }
  /** Mean over `dim` (all dims when omitted). */
  mean(dim?: number | readonly number[], keepdim = false): Tensor { return red.mean(this, dim, keepdim); }
  /**
   * Maximum values over `dim` (all dims when omitted; a list of dims is `amax`). The gradient goes to the index
   * `torch.max(x, dim)` returns (one dim), or is shared between ties (all dims, a list), as PyTorch, NaN included.
   */
  max(dim?: number | readonly number[], keepdim = false): Tensor { return red.max(this, dim, keepdim); }
  /** Indices of the maxima over `dim` (of the flattened tensor when omitted), as float values; no gradient. */
  argmax(dim?: number, keepdim = false): Tensor { return red.argmax(this, dim, keepdim); }
  /** `log Σ exp(x)` over `dim`, computed with the max subtracted. */
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor { return red.logsumexp(this, dim, keepdim); }
  /** Softmax along `dim`, stable. */
  softmax(dim: number): Tensor { return red.softmax(this, dim); }
  /** Log-softmax along `dim`, stable (`(x − max) − log Σ exp(x − max)`, as PyTorch), with a direct backward. */
  logSoftmax(dim: number): Tensor { return red.logSoftmax(this, dim); }

  /** Matrix product with `torch.matmul`'s rules (1-D, 2-D and broadcast batched operands). */
  matmul(other: Tensor): Tensor { return matmul(this, other); }

  // Shapes.
  /** Same data in a new shape; one entry may be −1 (inferred). */
  reshape(shape: readonly number[]): Tensor { return mv.reshape(this, shape, "reshape"); }
  /** Alias of {@link Tensor.reshape} (storage is always contiguous, so every view is possible). */
  view(shape: readonly number[]): Tensor { return mv.reshape(this, shape, "view"); }
  /** Swaps two dims (a contiguous copy). */
  transpose(dim0: number, dim1: number): Tensor { return mv.transpose(this, dim0, dim1); }
  /** Transpose of a tensor of at most 2 dims. */
  t(): Tensor { return mv.t(this); }
  /** Reorders the dims (a contiguous copy). */
  permute(dims: readonly number[]): Tensor { return mv.permute(this, dims); }
  /** Flattens dims `startDim`…`endDim` into one. */
  flatten(startDim = 0, endDim = -1): Tensor { return mv.flatten(this, startDim, endDim); }
  /** Removes size-1 dims (only `dim`, when given). */
  squeeze(dim?: number): Tensor { return mv.squeeze(this, dim); }
  /** Inserts a size-1 dim at `dim`. */
  unsqueeze(dim: number): Tensor { return mv.unsqueeze(this, dim); }
}

/** How a wrong value appears in a message: its kind, `null`, or "an array". */
function describeKind(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  return typeof x === "object" ? (x.constructor?.name ?? "object") : typeof x;
}
