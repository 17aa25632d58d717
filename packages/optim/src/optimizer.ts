// Optimizer base: parameter groups, per-parameter state owned by the optimizer, zeroGrad, PyTorch-layout state dicts.
import { Tensor, ShapeError, formatShape, type ZeroGradOptions } from "@tsgrad/tensor";
import { zeroGrad } from "@tsgrad/tensor/internal";

/** A value of a parameter group's options, as it appears in a state dict. */
export type GroupValue = number | boolean | readonly number[] | null;

/** A group of parameters with its own options (any option left out takes the optimizer's default). */
export type ParamGroupInput<O> = { readonly params: readonly Tensor[] } & Partial<O>;

/** What an optimizer takes: parameters (one group), or groups `{ params, ...options }` (PyTorch's `params`). */
export type Params<O> = readonly Tensor[] | readonly ParamGroupInput<O>[];

/** A parameter group as the optimizer holds it: every option resolved. Schedulers change `lr` here. */
export type ParamGroup<O> = O & { params: Tensor[]; initialLr?: number };

/** One parameter's state in a state dict: tensors (copies) and numbers, e.g. `{ step, expAvg, expAvgSq }`. */
export type ParamStateDict = Record<string, Tensor | number>;

/** A parameter group in a state dict: its options and the positions of its parameters. */
export type ParamGroupStateDict = { params: number[] } & Record<string, GroupValue>;

/**
 * An optimizer's state dict, laid out as PyTorch's: `state` maps a parameter's position (counting through the groups
 * in order) to its state, for the parameters that have state; `paramGroups` holds each group's options.
 */
export interface OptimizerStateDict {
  readonly state: Record<number, ParamStateDict>;
  readonly paramGroups: ParamGroupStateDict[];
}

/** Options of {@link Optimizer.zeroGrad} (shared with `Module.zeroGrad`). */
export type { ZeroGradOptions };

/**
 * Base of every optimizer (`torch.optim.Optimizer`): parameter groups with resolved options, a state per parameter
 * (a `Map` keyed by the parameter, preallocated so that `step()` allocates nothing), `zeroGrad`, and state dicts that
 * let training resume bit for bit. Subclasses implement `step()` and the state conversions.
 *
 * ```ts
 * const opt = new Adam([{ params: body.parameters() }, { params: head.parameters(), lr: 1e-2 }], { lr: 1e-3 });
 * opt.zeroGrad(); loss.backward(); opt.step();
 * ```
 */
export abstract class Optimizer<O extends { lr: number }, S> {
  /** The groups, in order, with resolved options. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, owned by the optimizer. */
  readonly state = new Map<Tensor, S>();
  private readonly optimizerName: string;
  protected readonly defaults: O;

  protected constructor(name: string, params: Params<O>, defaults: O) {
    this.optimizerName = name;
    this.defaults = defaults;
    if (!Array.isArray(params)) {
      throw new TypeError(`${name}: params argument given to the optimizer should be an array of Tensors or of groups, got ${typeof params}`);
    }
    if (params.length === 0) throw new RangeError(`${name}: optimizer got an empty parameter list`);
    const groups: readonly ParamGroupInput<O>[] = params.every((p) => p instanceof Tensor)
      ? [{ params: params as readonly Tensor[] } as ParamGroupInput<O>]
      : (params as readonly ParamGroupInput<O>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Checks one group's resolved options, throwing PyTorch's messages. */
  protected abstract validate(options: O): void;
  /** Allocates a parameter's state (all buffers, so that steps allocate nothing). */
  protected abstract createState(param: Tensor, group: ParamGroup<O>): S;
  /** The state as a state-dict entry (copies), or null when the parameter has not been stepped yet. */
  protected abstract saveState(state: S, param: Tensor): ParamStateDict | null;
  /** Copies a state-dict entry into a preallocated state, checking names and sizes. */
  protected abstract loadState(state: S, saved: ParamStateDict, param: Tensor): void;
  /** Clears a state back to "never stepped". */
  protected abstract resetState(state: S): void;

  /** Performs one optimisation step on every parameter that has a gradient. Records no graph. */
  abstract step(): void;

  /** Adds a group (`{ params, ...options }`); missing options take the constructor's defaults. */
  addParamGroup(group: ParamGroupInput<O>): void {
    const name = this.optimizerName;
    if (typeof group !== "object" || group === null || !Array.isArray(group.params)) {
      throw new TypeError(`${name}: a parameter group must be an object with a params array`);
    }
    const params = [...group.params];
    if (params.length === 0) throw new RangeError(`${name}: optimizer got an empty parameter list`);
    const seen = new Set<Tensor>();
    for (const p of params) {
      if (!(p instanceof Tensor)) {
        throw new TypeError(`${name}: optimizer can only optimize Tensors, but one of the params is ${p === null ? "null" : typeof p}`);
      }
      if (!p.isLeaf) throw new TypeError(`${name}: can't optimize a non-leaf Tensor`);
      if (seen.has(p)) throw new TypeError(`${name}: a parameter group contains the same parameter twice`);
      if (this.state.has(p)) throw new TypeError(`${name}: some parameters appear in more than one parameter group`);
      seen.add(p);
    }
    const resolved = { ...this.defaults } as Record<string, unknown>;
    for (const [k, v] of Object.entries(group)) if (k !== "params" && v !== undefined) resolved[k] = v;
    const full = { ...resolved, params } as ParamGroup<O>;
    this.validate(full);
    for (const p of params) this.state.set(p, this.createState(p, full));
    this.paramGroups.push(full);
  }

  /** Clears the gradients of every parameter: to `null` (default) or to zeros with `{ setToNone: false }`. */
  zeroGrad(options: ZeroGradOptions = {}): void {
    zeroGrad(this.paramGroups.flatMap((g) => g.params), options);
  }

  /** The state and group options, as PyTorch lays them out; tensors are copies, so later steps do not change it. */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamStateDict> = {};
    const paramGroups: ParamGroupStateDict[] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const options: Record<string, GroupValue> = {};
      for (const [k, v] of Object.entries(g)) {
        if (k === "params") continue;
        const value = v as GroupValue;
        options[k] = Array.isArray(value) ? [...value] : value;
      }
      const ids: number[] = [];
      for (const p of g.params) {
        const saved = this.saveState(this.state.get(p)!, p);
        if (saved !== null) state[index] = saved;
        ids.push(index++);
      }
      paramGroups.push({ ...options, params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Restores a state dict from {@link Optimizer.stateDict} (of an optimizer built the same way): group options, and
   * each parameter's state by position, copied into the preallocated buffers. Everything is checked before anything
   * is changed.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const name = this.optimizerName;
    if (typeof stateDict !== "object" || stateDict === null || !Array.isArray(stateDict.paramGroups)) {
      throw new TypeError(`${name}: loadStateDict expects { state, paramGroups }`);
    }
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new RangeError(
        `${name}: loaded state dict has a different number of parameter groups (${saved.length}, expected ${this.paramGroups.length})`,
      );
    }
    const order: Tensor[] = [];
    this.paramGroups.forEach((g, i) => {
      const s = saved[i]!;
      if (!Array.isArray(s.params) || s.params.length !== g.params.length) {
        throw new RangeError(
          `${name}: loaded state dict contains a parameter group that doesn't match the size of optimizer's group ` +
            `(group ${i}: ${Array.isArray(s.params) ? s.params.length : "no"} parameters, expected ${g.params.length})`,
        );
      }
      order.push(...g.params);
    });
    const ids = saved.flatMap((s) => s.params);
    const byId = new Map<number, Tensor>(ids.map((id, i) => [id, order[i]!]));
    for (const key of Object.keys(stateDict.state ?? {})) {
      if (!byId.has(Number(key))) throw new RangeError(`${name}: loaded state refers to parameter ${key}, which no group lists`);
    }
    // Check every entry on scratch states first, so that a bad dict leaves the optimizer untouched.
    const loaded = new Map<Tensor, ParamStateDict>();
    for (const [id, p] of byId) {
      const entry = stateDict.state[id];
      if (entry === undefined) continue;
      const group = this.paramGroups.find((g) => g.params.includes(p))!;
      this.loadState(this.createState(p, group), entry, p);
      loaded.set(p, entry);
    }
    this.paramGroups.forEach((g, i) => {
      const s = saved[i]!;
      const target = g as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(s)) if (k !== "params") target[k] = Array.isArray(v) ? [...(v as number[])] : v;
    });
    for (const [p, st] of this.state) {
      const entry = loaded.get(p);
      if (entry === undefined) this.resetState(st);
      else this.loadState(st, entry, p);
    }
  }

  /** @internal Copies a saved buffer into `into`, checking it. */
  protected copyBuffer(into: Float32Array, saved: Tensor | number | undefined, key: string, param: Tensor): void {
    if (!(saved instanceof Tensor)) throw new TypeError(`${this.optimizerName}: loaded state is missing tensor "${key}"`);
    if (saved.numel !== into.length) {
      throw new ShapeError(
        `${this.optimizerName}: loaded state "${key}" has shape ${formatShape(saved.shape)}, the parameter has shape ${formatShape(param.shape)}`,
      );
    }
    into.set(saved.data);
  }

  /** @internal Reads a saved step count. */
  protected readStep(saved: Tensor | number | undefined): number {
    const step = saved instanceof Tensor ? saved.item() : saved;
    if (typeof step !== "number" || !Number.isInteger(step) || step < 0) {
      throw new TypeError(`${this.optimizerName}: loaded state has an invalid step ${String(step)}`);
    }
    return step;
  }

  /** @internal Throws PyTorch's message for a bad hyperparameter. */
  protected check(ok: boolean, message: string): void {
    if (!ok) throw new RangeError(`${this.optimizerName}: ${message}`);
  }

  /** @internal Throws a TypeError with this optimizer's name unless `ok`. */
  protected checkKind(ok: boolean, message: string): void {
    if (!ok) throw new TypeError(`${this.optimizerName}: ${message}`);
  }

  /** @internal Throws when an option has the wrong type. */
  protected checkType(value: unknown, type: "number" | "boolean", option: string): void {
    if (typeof value !== type) throw new TypeError(`${this.optimizerName}: ${option} must be a ${type}, got ${typeof value}`);
  }
}

/** A copy of a buffer as a tensor of the parameter's shape (for state dicts). */
export function snapshot(data: Float32Array, param: Tensor): Tensor {
  return new Tensor(data.slice(), param.shape);
}
