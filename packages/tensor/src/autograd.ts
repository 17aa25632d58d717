// Reverse-mode autograd: graph nodes, recordOp/defineOp, grad mode, and an iterative backward pass.
import { invariant } from "./errors";
import { formatShape, numel, type Shape } from "./shape";
import { sumToShape } from "./kernels/reduce";
import { Tensor } from "./tensor";

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

  constructor(readonly name: string, inputs: readonly Tensor[], backward: BackwardFn, readonly outputShape: Shape) {
    this.ins = inputs;
    this.fn = backward;
  }

  /** The op's inputs (empty once the graph has been released). */
  get inputs(): readonly Tensor[] {
    return this.ins;
  }

  /** True once a `backward()` without `retainGraph` has freed this node. */
  get released(): boolean {
    return this.fn === null;
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

/** @internal Creates the output tensor of an op and attaches a node when some input requires grad. */
export function recordOp(
  name: string,
  data: Float32Array,
  shape: Shape,
  inputs: readonly Tensor[],
  backward: BackwardFn,
): Tensor {
  const out = new Tensor(data, shape);
  if (gradEnabled) {
    for (const t of inputs) {
      if (t.requiresGrad) {
        out._setGradFn(new Node(name, inputs, backward, out.shape));
        break;
      }
    }
  }
  return out;
}

/** What {@link defineOp} needs: the op's name, inputs, computed output and its backward. */
export interface DefineOpOptions {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly output: Float32Array;
  readonly shape: Shape;
  readonly backward: BackwardFn;
}

/**
 * Defines a custom differentiable op (tfjs `customGrad`, `torch.autograd.Function`): the caller computes the output
 * on raw arrays and supplies the backward; one graph node is recorded. The backward must return fresh arrays (or
 * `gradOutput` itself), never an array the op keeps: autograd may accumulate into a returned array in place.
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
  return recordOp(options.name, options.output, options.shape, options.inputs, options.backward);
}

interface GradEntry {
  data: Float32Array;
  owned: boolean; // true when nobody else holds a reference, so it may be accumulated into in place
}

/** @internal The backward pass from `root` with seed gradient `seed`: an iterative topological walk. */
export function runBackward(root: Tensor, seed: Float32Array, retainGraph: boolean): void {
  if (root.gradFn === null) {
    accumulateLeaf(root, seed, false);
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
    const inputs = t.gradFn!.inputs;
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

  const grads = new Map<Tensor, GradEntry>([[root, { data: seed, owned: false }]]);
  for (let o = order.length - 1; o >= 0; o--) {
    const t = order[o]!;
    const node = t.gradFn!;
    const entry = grads.get(t);
    if (entry === undefined) continue;
    grads.delete(t);
    const inputs = node.inputs;
    const needs = inputs.map((x) => x.requiresGrad);
    const results = node.apply(entry.data, needs);
    invariant(
      results.length === inputs.length,
      `backward of "${node.name}" returned ${results.length} gradients for ${inputs.length} inputs`,
    );
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      let g = results[i] ?? null;
      if (!needs[i] || g === null) continue;
      let owned = (g !== entry.data || entry.owned) && results.indexOf(g) === results.lastIndexOf(g);
      if (g.length !== input.numel) {
        invariant(
          g.length === numel(node.outputShape),
          `backward of "${node.name}" returned ${g.length} values for input ${i} of size ${input.numel}`,
        );
        g = sumToShape(g, node.outputShape, input.shape);
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
        const acc = prev.owned ? prev.data : prev.data.slice();
        for (let j = 0; j < acc.length; j++) acc[j]! += g[j]!;
        grads.set(input, { data: acc, owned: true });
      }
    }
    if (!retainGraph) node.release();
  }
}

function accumulateLeaf(leaf: Tensor, g: Float32Array, owned: boolean): void {
  if (!leaf.requiresGrad) return;
  const existing = leaf.grad;
  if (existing === null) {
    leaf.grad = new Tensor(owned ? g : g.slice(), leaf.shape);
  } else {
    const acc = existing.data;
    for (let j = 0; j < acc.length; j++) acc[j]! += g[j]!;
  }
}
