// Reverse-mode autograd: graph nodes, defineOp (every op records itself through it), grad mode, the backward pass.
import { invariant } from "./errors.js";
import { formatShape, numel, type Shape } from "./shape.js";
import { sumToShape } from "./kernels/reduce.js";
import { releaseArray, takeArray, type PoolArray } from "./pool.js";
import { accumulateGrad, addInto, aliases, copyOf, releaseKept, shownToCaller } from "./ownership.js";
import { Tensor } from "./tensor.js";

/**
 * The backward of one op: given the gradient of the output (row-major, the output's shape), returns one gradient per
 * input (`null` where `needsGrad[i]` is false). A gradient may have the input's size or the output's (broadcast)
 * size: autograd sums it back to the input's shape. Runs on raw arrays and never records graph. What it may read,
 * keep and return is the op author's contract in ownership.ts.
 */
export type BackwardFn = (gradOutput: Float32Array, needsGrad: readonly boolean[]) => readonly (Float32Array | null)[];

/**
 * A recorded op in the graph (`grad_fn` in PyTorch): its name and inputs. As in PyTorch, a `backward()` without
 * `retainGraph` frees the values a node saved for its backward (the node is then {@link Node.released}); a node that
 * saved nothing (`add`, `sub`, `neg`, `sum`, `mean()`, the shape ops) stays usable, so a second `backward()` through a
 * graph of such nodes accumulates again.
 */
export class Node {
  private fn: BackwardFn | null;
  private ins: readonly Tensor[];
  private kept: PoolArray[] | null;

  /**
   * @param borrowsGrad the backward reads its `gradOutput` only while it runs, so autograd may recycle it afterwards.
   * @param saved arrays only this node reads (the op's saved values), handed back to the pool on release.
   * @param savesValues the backward reads values of the forward (inputs, output, `saved`), as the PyTorch op saves
   *   tensors: the node is freed by a `backward()` without `retainGraph`. False only for a backward that reads nothing
   *   but its `gradOutput` and shapes.
   */
  constructor(
    readonly name: string,
    inputs: readonly Tensor[],
    backward: BackwardFn,
    readonly outputShape: Shape,
    readonly borrowsGrad: boolean,
    saved: readonly PoolArray[],
    readonly savesValues: boolean,
  ) {
    this.ins = inputs;
    this.fn = backward;
    this.kept = saved.length > 0 ? [...saved] : null;
  }

  /**
   * The op's inputs (empty once the graph has been released). An intermediate result the graph owns (one that
   * `Sequential` handed over between two of its layers) is shown as a copy, so what is read here stays valid.
   */
  get inputs(): readonly Tensor[] {
    return this.ins.map(shownToCaller);
  }

  /**
   * True once a `backward()` without `retainGraph` has freed the values this node saved: a backward through it then
   * throws PyTorch's "Trying to backward through the graph a second time". Never true for a node that saved nothing.
   */
  get released(): boolean {
    return this.fn === null;
  }

  /** `<mul>`, as PyTorch prints a `grad_fn`. */
  toString(): string {
    return `<${this.name}>`;
  }

  /** What `console.log(node)` shows in Node (not the internals). */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** @internal The inputs themselves, for autograd's own walk and for ops (which hand nothing out). */
  _inputs(): readonly Tensor[] {
    return this.ins;
  }

  /** @internal Keeps `a` until this node is released, then recycles it (`handOver` in ownership.ts). */
  _keepUntilRelease(a: PoolArray): void {
    (this.kept ??= []).push(a);
  }

  /** @internal Runs the backward. */
  _apply(grad: Float32Array, needsGrad: readonly boolean[]): readonly (Float32Array | null)[] {
    invariant(this.fn !== null, `backward through "${this.name}", which was released`);
    return this.fn(grad, needsGrad);
  }

  /**
   * @internal After a backward pass without `retainGraph`: frees the kept arrays and the references to the inputs of
   * a node that saved values (or keeps arrays); a node that saved nothing is kept as it is.
   */
  _release(): void {
    if (!this.savesValues && this.kept === null) return;
    this.fn = null;
    this.ins = [];
    if (this.kept !== null) releaseKept(this.kept);
    this.kept = null;
  }
}

/** PyTorch's message for a backward through freed saved values, naming the node and this API's option. */
function secondTimeError(node: Node): Error {
  return new Error(
    `backward: Trying to backward through the graph a second time (the values saved by "${node.name}" were freed). ` +
      "Saved intermediate values of the graph are freed when you call backward(). " +
      "Specify { retainGraph: true } if you need to backward through the graph a second time.",
  );
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

/**
 * What {@link defineOp} needs: the op's name, inputs, computed output and its backward. What each may hold and
 * return is the op author's contract in ownership.ts, summarised on each option.
 */
export interface DefineOpOptions {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** The result's values: a fresh array of `numel(shape)` elements (e.g. from `takeArray`); the result owns it. */
  readonly output: Float32Array;
  readonly shape: Shape;
  readonly backward: BackwardFn;
  /**
   * The backward reads `gradOutput` only while it runs (or returns it) and keeps no reference to it, so autograd may
   * recycle it afterwards (default true, as every built-in op). Pass false for a backward that keeps it.
   */
  readonly borrowsGradOutput?: boolean;
  /**
   * Arrays from `takeArray` (or its float64/int32 siblings) that only the backward reads: they go back to the pool
   * when the graph is released after `backward()`, or at once when no graph is recorded. Never the output.
   */
  readonly saved?: readonly PoolArray[];
  /**
   * Whether the backward reads values of the forward (inputs, output, `saved`), as `ctx.save_for_backward` in
   * PyTorch (default true). Such a node is freed by a `backward()` without `retainGraph`, and a second backward
   * through it throws. Pass false only for a backward that reads nothing but `gradOutput` and shapes, and no `saved`
   * arrays: the node then stays usable and a second `backward()` accumulates again, as through PyTorch's `add`.
   */
  readonly savesValues?: boolean;
}

/**
 * Defines a differentiable op (tfjs `customGrad`, `torch.autograd.Function`); every built-in op is one. The caller
 * computes the output on raw arrays and supplies the backward; a graph node is recorded when grad mode is on and some
 * input requires grad (otherwise `saved` goes back to the pool at once). The backward returns fresh arrays (results
 * may come from `takeArray`) or `gradOutput` itself, never an array the op keeps: autograd may accumulate into a
 * returned array in place, and recycles it once nothing can see it.
 *
 * ```ts
 * const y = defineOp({ name: "square", inputs: [x], output: sq, shape: x.shape,
 *   backward: (g) => [g.map((gi, i) => 2 * x.data[i]! * gi)] });
 * ```
 */
export function defineOp(options: DefineOpOptions): Tensor {
  const { name, inputs, output, shape, backward, borrowsGradOutput = true, saved = [], savesValues = true } = options;
  if (output.length !== numel(shape)) {
    throw new RangeError(`defineOp: "${name}" output holds ${output.length} values, shape ${formatShape(shape)} needs ${numel(shape)}`);
  }
  if (!savesValues && saved.length > 0) {
    throw new TypeError(`defineOp: "${name}" has saved arrays, so its backward saves values: savesValues cannot be false`);
  }
  const out = new Tensor(output, shape);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out._setGradFn(new Node(name, inputs, backward, out.shape, borrowsGradOutput, saved, savesValues));
  } else {
    for (const a of saved) releaseArray(a);
  }
  return out;
}

/** A gradient on its way through the graph; `owned`: autograd's alone (rule 2a), free to add into and recycle. */
interface GradEntry {
  data: Float32Array;
  owned: boolean;
}

/**
 * @internal The backward pass from `root` with seed gradient `gradient` (the caller's; `null` for the implicit ones of
 * a one-element root, which autograd makes and owns): sort the graph, propagate the gradients, release the graph.
 * A node whose saved values were freed throws before anything is computed.
 */
export function runBackward(root: Tensor, gradient: Float32Array | null, retainGraph: boolean): void {
  if (root.gradFn === null) {
    if (gradient === null) accumulateGrad(root, takeArray(root.numel).fill(1), true);
    else accumulateGrad(root, gradient, false);
    return;
  }
  const order = topologicalOrder(root);
  const seed: GradEntry = gradient === null
    ? { data: takeArray(root.numel).fill(1), owned: true }
    : { data: gradient, owned: false };
  const ran = propagate(order, seed);
  if (!retainGraph) for (const node of ran) node._release();
}

/**
 * The tensors that have a grad_fn and are reachable from `root`, each before the tensors it was computed from
 * (an iterative depth-first post-order, reversed: deep chains are fine). Throws on a node whose values were freed.
 */
function topologicalOrder(root: Tensor): Tensor[] {
  if (root.gradFn!.released) throw secondTimeError(root.gradFn!);
  const post: Tensor[] = [];
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
        if (child.gradFn.released) throw secondTimeError(child.gradFn);
        visited.add(child);
        stack.push(child);
        cursor.push(0);
      }
    } else {
      stack.pop();
      cursor.pop();
      post.push(t);
    }
  }
  return post.reverse();
}

/**
 * Runs each node's backward in `order`, summing the gradients of each tensor and into the leaves' grads; returns the
 * nodes that ran (a node no gradient reached is left as it is).
 */
function propagate(order: readonly Tensor[], seed: GradEntry): Node[] {
  const grads = new Map<Tensor, GradEntry>([[order[0]!, seed]]);
  const ran: Node[] = [];
  for (const t of order) {
    const node = t.gradFn!;
    const entry = grads.get(t);
    if (entry === undefined) continue;
    grads.delete(t);
    ran.push(node);
    const inputs = node._inputs();
    const needs = inputs.map((x) => x.requiresGrad);
    const results = node._apply(entry.data, needs);
    invariant(
      results.length === inputs.length,
      `backward of "${node.name}" returned ${results.length} gradients for ${inputs.length} inputs`,
    );
    // A result is owned unless another result or the incoming gradient shares its storage; the incoming gradient
    // itself passes on its ownership when it is returned as is, once.
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
        accumulateGrad(input, g, owned);
        continue;
      }
      const prev = grads.get(input);
      if (prev === undefined) {
        grads.set(input, { data: g, owned });
      } else {
        const acc = prev.owned ? prev.data : copyOf(prev.data);
        addInto(acc, g);
        if (owned) releaseArray(g);
        grads.set(input, { data: acc, owned: true });
      }
    }
    // The incoming gradient is consumed (rule 3a), unless the backward may keep it or a result shares its storage.
    if (entry.owned && node.borrowsGrad && !results.some((r) => r !== null && aliases(r, entry.data))) {
      releaseArray(entry.data);
    }
  }
  return ran;
}
