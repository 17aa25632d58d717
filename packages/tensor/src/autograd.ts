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

/**
 * A recorded op in the graph (`grad_fn` in PyTorch): its name and inputs. As in PyTorch, a `backward()` without
 * `retainGraph` frees the values a node saved for its backward (the node is then {@link Node.released}); a node that
 * saved nothing (`add`, `sub`, `neg`, `sum`, `mean()`, the shape ops) stays usable, so a second `backward()` through a
 * graph of such nodes accumulates again.
 */
export class Node {
  private fn: BackwardFn | null;
  private ins: readonly Tensor[];
  private pooled: PoolArray[] | null;

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
    readonly borrowsGrad = false,
    saved: readonly PoolArray[] = [],
    readonly savesValues = true,
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
    invariant(this.fn !== null, `backward through "${this.name}", which was released`);
    return this.fn(grad, needsGrad);
  }

  /**
   * @internal After a backward pass without `retainGraph`: frees the saved arrays and the references to the inputs of a
   * node that saved values (or holds arrays to recycle); a node that saved nothing is kept as it is.
   */
  release(): void {
    if (!this.savesValues && this.pooled === null) return;
    this.fn = null;
    this.ins = [];
    if (this.pooled !== null) for (const a of this.pooled) releaseArray(a);
    this.pooled = null;
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

/** @internal How an op records itself beyond its backward (see {@link DefineOpOptions}). */
export interface RecordOptions {
  readonly borrowsGradOutput?: boolean;
  readonly saved?: readonly PoolArray[];
  /** Whether the PyTorch op saves tensors for its backward (default true): see {@link Node}. */
  readonly savesValues?: boolean;
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
  { borrowsGradOutput = true, saved = [], savesValues = true }: RecordOptions = {},
): Tensor {
  const out = new Tensor(data, shape);
  if (gradEnabled) {
    for (const t of inputs) {
      if (t.requiresGrad) {
        out._setGradFn(new Node(name, inputs, backward, out.shape, borrowsGradOutput, saved, savesValues));
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
  /**
   * Whether the backward reads values of the forward (inputs, output, `saved`), as `ctx.save_for_backward` in
   * PyTorch (default true). Such a node is freed by a `backward()` without `retainGraph`, and a second backward
   * through it throws. Pass false only for a backward that reads nothing but `gradOutput` and shapes, and no `saved`
   * arrays: the node then stays usable and a second `backward()` accumulates again, as through PyTorch's `add`.
   */
  readonly savesValues?: boolean;
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
  const saved = options.saved ?? [];
  if (options.savesValues === false && saved.length > 0) {
    throw new TypeError(`defineOp: "${options.name}" has saved arrays, so its backward saves values: savesValues cannot be false`);
  }
  return recordOp(options.name, options.output, options.shape, options.inputs, options.backward, {
    borrowsGradOutput: options.borrowsGradOutput ?? false,
    saved,
    savesValues: options.savesValues ?? true,
  });
}

/**
 * Declares that nothing but the graph holds `t`, an intermediate result its caller created and never handed out,
 * and that `consumer` is the result of the one op that read it. Its storage goes back to the pool when the graph
 * that saved it is released by `backward()` (at once when no graph saved it), so the next step reuses it. Used by
 * `Sequential` between built-in layers. Nothing is recycled when the op that made `t` or the one that read it saved
 * no values: such a node outlives `backward()` (a second pass may walk it), so `t` must stay valid.
 */
export function releaseIntermediate(t: Tensor, consumer: Tensor): void {
  if (t.data.buffer === consumer.data.buffer) return; // a view or the input itself: still alive
  const producer = t.gradFn;
  const reader = consumer.gradFn;
  if ((producer !== null && !producer.savesValues) || (reader !== null && !reader.savesValues)) return;
  const node = producer ?? reader;
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
 * @internal The backward pass from `root` with seed gradient `gradient` (the caller's; `null` for the implicit ones of
 * a one-element root, which autograd makes and owns): an iterative topological walk. Gradients that nothing else can
 * see go back to the pool once consumed. A node whose saved values were freed throws before anything is computed.
 */
export function runBackward(root: Tensor, gradient: Float32Array | null, retainGraph: boolean): void {
  const seedOwned = gradient === null;
  const ones = (): Float32Array => takeArray(root.numel).fill(1);
  if (root.gradFn === null) {
    accumulateLeaf(root, gradient ?? ones(), seedOwned);
    return;
  }
  // Iterative depth-first post-order over tensors that have a grad_fn (no recursion: deep chains are fine). A node
  // whose saved values were freed stops the pass before anything is computed or accumulated.
  if (root.gradFn.released) throw secondTimeError(root.gradFn);
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
        if (child.gradFn.released) throw secondTimeError(child.gradFn);
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

  const grads = new Map<Tensor, GradEntry>([[root, { data: gradient ?? ones(), owned: seedOwned }]]);
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
