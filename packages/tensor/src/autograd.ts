// Reverse-mode autograd: graph nodes, recordOp/defineOp, grad mode, and an iterative backward pass.
import { invariant } from "./errors.js";
import { formatShape, numel, type Shape } from "./shape.js";
import { sumToShape } from "./kernels/reduce.js";
import { releaseArray, takeArray, type PoolArray } from "./pool.js";
import { Tensor } from "./tensor.js";

/**
 * The backward of one op: given the gradient of the output (row-major, the output's shape), returns one gradient per
 * input (`null` where `needsGrad[i]` is false). A gradient may have the input's size or the output's (broadcast)
 * size: autograd sums it back to the input's shape. Runs on raw arrays and never records graph.
 */
export type BackwardFn = (gradOutput: Float32Array, needsGrad: readonly boolean[]) => readonly (Float32Array | null)[];

/** A recorded op in the graph (`grad_fn` in PyTorch): its name and inputs. Released after `backward()`. */
export class Node {
  private fn: BackwardFn | null;
  private ins: readonly Tensor[];
  private pooled: PoolArray[] | null;

  /**
   * @param borrowsGrad the backward reads its `gradOutput` only while it runs, so autograd may recycle it afterwards.
   * @param saved arrays only this node reads (the op's saved values), handed back to the pool on release.
   */
  constructor(
    readonly name: string,
    inputs: readonly Tensor[],
    backward: BackwardFn,
    readonly outputShape: Shape,
    readonly borrowsGrad = false,
    saved: readonly PoolArray[] = [],
  ) {
    this.ins = inputs;
    this.fn = backward;
    this.pooled = saved.length > 0 ? [...saved] : null;
  }

  /**
   * The op's inputs (empty once the graph has been released). A tensor reached this way is the caller's from then
   * on: its storage is never recycled, even if it was an intermediate the graph alone held.
   */
  get inputs(): readonly Tensor[] {
    for (const t of this.ins) {
      this.disown(t.data);
      t.gradFn?.disown(t.data);
    }
    return this.ins;
  }

  /** True once a `backward()` without `retainGraph` has freed this node. */
  get released(): boolean {
    return this.fn === null;
  }

  /** @internal The inputs, for autograd's own walk (which hands nothing out). */
  _inputs(): readonly Tensor[] {
    return this.ins;
  }

  /** @internal Recycles `a` when this node is released (nothing else may hold it by then). */
  _adopt(a: PoolArray): void {
    (this.pooled ??= []).push(a);
  }

  private disown(a: PoolArray): void {
    const i = this.pooled?.indexOf(a) ?? -1;
    if (i >= 0) this.pooled!.splice(i, 1);
  }

  /** @internal */
  apply(grad: Float32Array, needsGrad: readonly boolean[]): readonly (Float32Array | null)[] {
    if (this.fn === null) {
      throw new Error(
        `backward: trying to backward through the graph a second time (through "${this.name}"); ` +
          "pass { retainGraph: true } to the first backward() if you need to",
      );
    }
    return this.fn(grad, needsGrad);
  }

  /** @internal Frees the saved arrays and the references to the inputs. */
  release(): void {
    this.fn = null;
    this.ins = [];
    if (this.pooled !== null) for (const a of this.pooled) releaseArray(a);
    this.pooled = null;
  }
}

let gradEnabled = true;

/** Whether ops currently record graph (false inside {@link noGrad}). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording graph and returns its result (`with torch.no_grad():`).
 *
 * ```ts
 * const logits = noGrad(() => model.forward(x)); // no graph, no gradient
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** @internal How an op records itself beyond its backward (see {@link DefineOpOptions}). */
export interface RecordOptions {
  readonly borrowsGradOutput?: boolean;
  readonly saved?: readonly PoolArray[];
}

/**
 * @internal Creates the output tensor of an op and attaches a node when some input requires grad. Built-in ops'
 * backwards never keep their `gradOutput` (the default here). Without a node, `saved` goes back to the pool at once.
 */
export function recordOp(
  name: string,
  data: Float32Array,
  shape: Shape,
  inputs: readonly Tensor[],
  backward: BackwardFn,
  { borrowsGradOutput = true, saved = [] }: RecordOptions = {},
): Tensor {
  const out = new Tensor(data, shape);
  if (gradEnabled) {
    for (const t of inputs) {
      if (t.requiresGrad) {
        out._setGradFn(new Node(name, inputs, backward, out.shape, borrowsGradOutput, saved));
        return out;
      }
    }
  }
  for (const a of saved) releaseArray(a);
  return out;
}

/** What {@link defineOp} needs: the op's name, inputs, computed output and its backward. */
export interface DefineOpOptions {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly output: Float32Array;
  readonly shape: Shape;
  readonly backward: BackwardFn;
  /**
   * True when the backward reads `gradOutput` only while it runs and keeps no reference to it: autograd may then
   * recycle that array once the backward returns (default false).
   */
  readonly borrowsGradOutput?: boolean;
  /**
   * Arrays from {@link takeArray} (or its float64/int32 siblings) that only the backward reads: they go back to the
   * pool when the graph is released after `backward()`, or at once when no graph is recorded. Never the output.
   */
  readonly saved?: readonly PoolArray[];
}

/**
 * Defines a custom differentiable op (tfjs `customGrad`, `torch.autograd.Function`): the caller computes the output
 * on raw arrays and supplies the backward; one graph node is recorded. The backward must return fresh arrays (or
 * `gradOutput` itself), never an array the op keeps: autograd may accumulate into a returned array in place, and
 * recycles it once nothing can see it (results may come from {@link takeArray}).
 *
 * ```ts
 * const y = defineOp({ name: "square", inputs: [x], output: sq, shape: x.shape,
 *   backward: (g) => [g.map((gi, i) => 2 * x.data[i]! * gi)] });
 * ```
 */
export function defineOp(options: DefineOpOptions): Tensor {
  if (options.output.length !== numel(options.shape)) {
    throw new RangeError(
      `defineOp: "${options.name}" output holds ${options.output.length} values, shape ${formatShape(options.shape)} needs ${numel(options.shape)}`,
    );
  }
  return recordOp(options.name, options.output, options.shape, options.inputs, options.backward, {
    borrowsGradOutput: options.borrowsGradOutput ?? false,
    saved: options.saved ?? [],
  });
}

/**
 * Declares that nothing but the graph holds `t`, an intermediate result its caller created and never handed out,
 * and that `consumer` is the result of the one op that read it. Its storage goes back to the pool when the graph
 * that saved it is released by `backward()` (at once when no graph saved it), so the next step reuses it. Used by
 * `Sequential` between built-in layers.
 */
export function releaseIntermediate(t: Tensor, consumer: Tensor): void {
  if (t.data.buffer === consumer.data.buffer) return; // a view or the input itself: still alive
  const node = t.gradFn ?? consumer.gradFn;
  if (node !== null) node._adopt(t.data);
  else releaseArray(t.data);
}

interface GradEntry {
  data: Float32Array;
  owned: boolean; // true when nobody else holds a reference, so it may be accumulated into in place and recycled
}

function aliases(a: Float32Array, b: Float32Array): boolean {
  return a.buffer === b.buffer;
}

function copyOf(a: Float32Array): Float32Array {
  const c = takeArray(a.length);
  c.set(a);
  return c;
}

/**
 * @internal The backward pass from `root` with seed gradient `seed` (`seedOwned` when autograd made it): an iterative
 * topological walk. Gradients that nothing else can see go back to the pool once consumed.
 */
export function runBackward(root: Tensor, seed: Float32Array, retainGraph: boolean, seedOwned = false): void {
  if (root.gradFn === null) {
    accumulateLeaf(root, seed, seedOwned);
    return;
  }
  // Iterative depth-first post-order over tensors that have a grad_fn (no recursion: deep chains are fine).
  const order: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
  const stack: Tensor[] = [root];
  const cursor: number[] = [0];
  while (stack.length > 0) {
    const top = stack.length - 1;
    const t = stack[top]!;
    const inputs = t.gradFn!._inputs();
    const i = cursor[top]!;
    if (i < inputs.length) {
      cursor[top] = i + 1;
      const child = inputs[i]!;
      if (child.gradFn !== null && !visited.has(child)) {
        visited.add(child);
        stack.push(child);
        cursor.push(0);
      }
    } else {
      stack.pop();
      cursor.pop();
      order.push(t);
    }
  }

  const grads = new Map<Tensor, GradEntry>([[root, { data: seed, owned: seedOwned }]]);
  for (let o = order.length - 1; o >= 0; o--) {
    const t = order[o]!;
    const node = t.gradFn!;
    const entry = grads.get(t);
    if (entry === undefined) continue;
    grads.delete(t);
    const inputs = node._inputs();
    const needs = inputs.map((x) => x.requiresGrad);
    const results = node.apply(entry.data, needs);
    invariant(
      results.length === inputs.length,
      `backward of "${node.name}" returned ${results.length} gradients for ${inputs.length} inputs`,
    );
    // A result is owned (free to accumulate into and recycle) unless another result or the incoming gradient shares
    // its storage; the incoming gradient itself passes on its ownership when it is returned as is, once.
    const sharesWithOther = (i: number, g: Float32Array): boolean =>
      results.some((r, j) => j !== i && needs[j] === true && r !== null && aliases(r, g));
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      let g = results[i] ?? null;
      if (!needs[i] || g === null) continue;
      let owned = !sharesWithOther(i, g) && (!aliases(g, entry.data) || (g === entry.data && entry.owned));
      if (g.length !== input.numel) {
        invariant(
          g.length === numel(node.outputShape),
          `backward of "${node.name}" returned ${g.length} values for input ${i} of size ${input.numel}`,
        );
        const summed = sumToShape(g, node.outputShape, input.shape);
        if (owned) releaseArray(g);
        g = summed;
        owned = true;
      }
      if (input.gradFn === null) {
        accumulateLeaf(input, g, owned);
        continue;
      }
      const prev = grads.get(input);
      if (prev === undefined) {
        grads.set(input, { data: g, owned });
      } else {
        const acc = prev.owned ? prev.data : copyOf(prev.data);
        for (let j = 0; j < acc.length; j++) acc[j]! += g[j]!;
        if (owned) releaseArray(g);
        grads.set(input, { data: acc, owned: true });
      }
    }
    // The incoming gradient is done with, unless the backward may keep it or a result shares its storage.
    if (entry.owned && node.borrowsGrad && !results.some((r) => r !== null && aliases(r, entry.data))) {
      releaseArray(entry.data);
    }
    if (!retainGraph) node.release();
  }
}

function accumulateLeaf(leaf: Tensor, g: Float32Array, owned: boolean): void {
  if (!leaf.requiresGrad) return;
  const existing = leaf._peekGrad();
  if (existing === null) {
    leaf._setGrad(new Tensor(owned ? g : copyOf(g), leaf.shape));
  } else {
    const acc = existing.data;
    for (let j = 0; j < acc.length; j++) acc[j]! += g[j]!;
    if (owned) releaseArray(g);
  }
}
