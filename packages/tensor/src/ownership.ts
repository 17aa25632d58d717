// Who may recycle what: the one place that decides which arrays go back to the storage pool, and when.
import { HeapArray } from "./heap.js";
import { releaseArray, takeArray, type PoolArray } from "./pool.js";
import { Tensor } from "./tensor.js";
import type { Node } from "./autograd.js";

/**
 * Storage ownership: the rules (the one statement of them; autograd.ts, tensor.ts and the layers follow it).
 *
 * tsgrad recycles `Float32Array`s through a pool (pool.ts) instead of leaving each step's arrays to the garbage
 * collector. JavaScript has no reference counts, so an array may be recycled only when nothing outside autograd can
 * reach it. Every array has one owner, the caller or autograd:
 *
 * 1. **The caller owns every tensor it can reach**: what it created or passed in, the result of every op and layer,
 *    a grad read through `Tensor.grad` (the grad's `Tensor` is made when it is first read), and what `Node.inputs`
 *    returns. tsgrad never recycles those.
 * 2. **Autograd owns** (a) the gradients flowing between nodes during `backward()`; (b) a leaf's accumulated grad
 *    while no `Tensor` has been made for it (optimizers read it with {@link gradData}); (c) an op's `saved` arrays;
 *    (d) an intermediate result that two layers keeping no tensors handed over with {@link handOver}
 *    (`Node.inputs` shows such a tensor as a copy, so it never reaches the caller).
 * 3. **Autograd recycles** (a) once the node that consumed it has run; (b) when {@link zeroGrad} (or `grad = null`)
 *    drops it; (c) and (d) when `backward()` without `retainGraph` releases the graph, or at once when no graph was
 *    recorded.
 *
 * The op author's contract ({@link defineOp}, which every built-in op uses too)
 *
 * - `output`: a fresh array of `numel(shape)` values (from `takeArray`, or `new`); it becomes the result's storage.
 * - `backward(gradOutput, needsGrad)` returns one gradient per input (`null` where `needsGrad[i]` is false), of the
 *   input's size or of the output's (autograd sums a broadcast gradient back): each a fresh array (from `takeArray`)
 *   or `gradOutput` itself. Autograd owns what is returned: it may add into it in place and recycle it.
 * - `gradOutput` is lent to the backward while it runs: read it, or return it, but keep no reference to it (the one
 *   default; `borrowsGradOutput: false` for a backward that must keep it).
 * - The backward may read its inputs' and output's data (valid until the graph is released) and never writes them.
 * - `saved`: arrays from `takeArray`/`takeFloat64`/`takeInt32` that only the backward reads (indices, im2col
 *   buffers, row statistics), any number; never an input's data or the output. Scratch used by the forward alone
 *   goes back at once with `releaseArray`.
 * - `savesValues` (default true): false only for a backward that reads nothing but `gradOutput` and shapes; its node
 *   then survives `backward()` and a second pass may run through it, as through PyTorch's `add`.
 */

/** A leaf's gradient: its storage and, once someone read it through `Tensor.grad`, the tensor handed out. */
interface GradSlot {
  readonly data: Float32Array;
  tensor: Tensor | null; // null: nobody has seen the storage, so autograd owns it (rule 2b)
}

const grads = new WeakMap<Tensor, GradSlot>();

/** Intermediates handed to the graph (rule 2d), until the node holding them is released. */
const graphOwned = new WeakSet<PoolArray>();

/** @internal `t.grad`: the grad's tensor, made on first read, from then on the caller's (rule 1). */
export function gradTensor(t: Tensor): Tensor | null {
  const slot = grads.get(t);
  if (slot === undefined) return null;
  slot.tensor ??= new Tensor(slot.data, t.shape);
  return slot.tensor;
}

/** @internal `t.grad = value` (checked by the setter): an unread grad that is dropped goes back to the pool. */
export function setGrad(t: Tensor, value: Tensor | null): void {
  const slot = grads.get(t);
  if (slot !== undefined && slot.tensor === null && slot.data !== value?.data) releaseArray(slot.data);
  if (value === null) grads.delete(t);
  else grads.set(t, { data: value.data, tensor: value });
}

/**
 * The storage of `param`'s grad without handing it out (`null` when it has none): for optimizers and clipping,
 * which read it during the call and keep no reference, so an unread grad stays recyclable.
 */
export function gradData(param: Tensor): Float32Array | null {
  return grads.get(param)?.data ?? null;
}

/** Options of {@link zeroGrad} (`Module.zeroGrad`, `Optimizer.zeroGrad`). */
export interface ZeroGradOptions {
  /** Set gradients to `null` (default, as PyTorch ≥ 2.0) instead of filling them with zeros. */
  readonly setToNone?: boolean;
}

/** Clears the grads of `params`: to `null` (an unread grad goes back to the pool) or, with `setToNone: false`, to 0. */
export function zeroGrad(params: Iterable<Tensor>, { setToNone = true }: ZeroGradOptions = {}): void {
  for (const p of params) {
    const data = gradData(p);
    if (data === null) continue;
    if (setToNone) p.grad = null;
    else data.fill(0);
  }
}

/**
 * @internal Adds `g` into `leaf`'s grad (the first contribution becomes the grad). `owned`: autograd owns `g` (rule
 * 2a), so it may become the grad's storage as it is, or be recycled once added.
 */
export function accumulateGrad(leaf: Tensor, g: Float32Array, owned: boolean): void {
  if (!leaf.requiresGrad) return;
  const slot = grads.get(leaf);
  if (slot === undefined) {
    grads.set(leaf, { data: owned ? g : copyOf(g), tensor: null });
    return;
  }
  addInto(slot.data, g);
  if (owned) releaseArray(g);
}

/** @internal `acc += g`, element-wise (equal lengths). */
export function addInto(acc: Float32Array, g: Float32Array): void {
  for (let j = 0; j < acc.length; j++) acc[j]! += g[j]!;
}

/** @internal A pooled copy of `a`, which autograd then owns. */
export function copyOf(a: Float32Array): Float32Array {
  const c = takeArray(a.length);
  c.set(a);
  return c;
}

/**
 * @internal Whether two arrays share storage (a view, or the same array). Arrays of the tensor heap all view one
 * memory (through buffers that differ once it has grown): theirs is shared where their bytes overlap.
 */
export function aliases(a: Float32Array, b: Float32Array): boolean {
  if (a === b) return true;
  if (a instanceof HeapArray && b instanceof HeapArray) {
    return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
  }
  return a.buffer === b.buffer;
}

/**
 * Hands `t`, an intermediate result its caller created and never showed to anyone, to the graph (rule 2d):
 * `consumer` is the result of the one op that read it. The graph recycles it when `backward()` releases the node
 * that saved it (at once when no graph was recorded), so the next step reuses it. `Sequential` calls it between two
 * layers that keep no tensors. Nothing is handed over when `t` shares storage with `consumer` (a view, an identity),
 * or when the op that made `t` or the one that read it saved no values: such a node outlives `backward()` (a second
 * pass may walk it), so `t` must stay valid.
 */
export function handOver(t: Tensor, consumer: Tensor): void {
  if (aliases(t.data, consumer.data)) return;
  const producer = t.gradFn;
  const reader = consumer.gradFn;
  if ((producer !== null && !producer.savesValues) || (reader !== null && !reader.savesValues)) return;
  // The producer is released after the reader (its backward, which may read t, runs later): it keeps t.
  const node = producer ?? reader;
  if (node === null) {
    releaseArray(t.data);
    return;
  }
  graphOwned.add(t.data);
  node._keepUntilRelease(t.data);
}

/** @internal Recycles the arrays a released node kept (its `saved` arrays and handed-over intermediates). */
export function releaseKept(arrays: readonly PoolArray[]): void {
  for (const a of arrays) {
    graphOwned.delete(a);
    releaseArray(a);
  }
}

/** @internal What `Node.inputs` shows for an input: the tensor itself, or a copy when the graph owns its storage. */
export function shownToCaller(t: Tensor): Tensor {
  if (!graphOwned.has(t.data)) return t;
  const copy = new Tensor(t.data.slice(), t.shape);
  const node: Node | null = t.gradFn;
  if (node !== null) copy._setGradFn(node);
  return copy;
}
