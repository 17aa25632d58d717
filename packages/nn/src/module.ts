// Module: parameters and child modules registered from fields, dotted names, train/eval, state dicts.
import { Tensor, ShapeError, formatShape, noGrad, type ZeroGradOptions } from "@tsgrad/tensor";
import { sameShape, zeroGrad } from "@tsgrad/tensor/internal";

/** A state dict: PyTorch's dotted parameter names (`0.weight`, `fc.bias`) mapped to tensors, in insertion order. */
export type StateDict = Record<string, Tensor>;

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Require the keys to match the module's exactly (default true, as PyTorch). */
  readonly strict?: boolean;
}

/** What {@link Module.loadStateDict} reports (PyTorch's `_IncompatibleKeys`). */
export interface LoadStateDictResult {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
}

/** Node's `util.inspect.custom` (a registered symbol: no `node:util` import, so this stays browser-safe). */
const inspectCustom: unique symbol = Symbol.for("nodejs.util.inspect.custom");

/** Any module, whatever its forward's signature (children are held at this type). */
export type AnyModule = Module<never[], unknown>;

type Entry = { readonly kind: "parameter"; readonly value: Tensor } | { readonly kind: "module"; readonly value: AnyModule };

/**
 * Base class of every layer, as `torch.nn.Module`. A `Tensor` assigned to a field is a parameter and a `Module`
 * assigned to a field is a child, named after the field and kept in the order the fields were first assigned
 * (PyTorch's insertion order); `registerParameter` / `registerModule` do the same for computed names (`"0"`, `"1"`).
 * Keep tensors that are not parameters out of enumerable fields (or in a `Map`).
 *
 * ```ts
 * class Net extends Module<[Tensor], Tensor> {
 *   fc = new Linear(4, 2);
 *   forward(x: Tensor): Tensor { return this.fc.forward(x).relu(); }
 * }
 * new Net().namedParameters().map(([name]) => name); // ["fc.weight", "fc.bias"]
 * ```
 */
export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** True in training mode (the default), false after {@link Module.eval}. */
  training = true;
  /**
   * Whether `forward` may keep a reference to its input or its output once it returns (default true: a layer of your
   * own may, e.g. to show activations). A layer that keeps neither says `false` (`Linear`, `ReLU`, `Dropout`): between
   * two such layers `Sequential` hands the intermediate result to the graph, which recycles it after `backward()`.
   */
  readonly keepsTensors: boolean = true;
  /** Names in registration order; values are read from the fields each time (reassignment is seen). */
  private readonly registered: string[] = [];

  /** Computes the output (PyTorch's `forward`; call it directly, there is no `__call__`). */
  abstract forward(...inputs: In): Out;

  /**
   * This module's own settings as its repr shows them (PyTorch's `extra_repr`): `in_features=784, out_features=128,
   * bias=True` for a `Linear`, `""` (the default) for none. Override it in a module of your own; one line, or several.
   */
  extraRepr(): string {
    return "";
  }

  /**
   * The module tree as PyTorch prints it: the class name, {@link Module.extraRepr}, and each child as `(name): ...`,
   * indented by two spaces per level.
   *
   * ```ts
   * String(new Sequential(new Linear(784, 128), new ReLU()));
   * // Sequential(\n  (0): Linear(in_features=784, out_features=128, bias=True)\n  (1): ReLU()\n)
   * ```
   */
  toString(): string {
    return this.repr(new Set());
  }

  /** What `console.log(module)` shows in Node: the tree of {@link Module.toString}, not the fields. */
  [inspectCustom](): string {
    return this.toString();
  }

  private repr(ancestors: Set<AnyModule>): string {
    const me = this as unknown as AnyModule;
    const name = this.constructor.name;
    if (ancestors.has(me)) return `${name}(<contains itself>)`;
    ancestors.add(me);
    const extra = this.extraRepr();
    const extraLines = extra === "" ? [] : extra.split("\n");
    const childLines = this.namedChildren().map(([key, m]) => `(${key}): ${indentAfterFirstLine(m.repr(ancestors), 2)}`);
    ancestors.delete(me);
    const lines = [...extraLines, ...childLines];
    if (lines.length === 0) return `${name}()`;
    if (extraLines.length === 1 && childLines.length === 0) return `${name}(${extraLines[0]})`;
    return `${name}(\n  ${lines.join("\n  ")}\n)`;
  }

  /** Registers `value` as parameter `name` (also readable as `this[name]`). `null` removes it. */
  registerParameter(name: string, value: Tensor | null): void {
    if (value !== null && !(value instanceof Tensor)) {
      throw new TypeError(
        `registerParameter: cannot assign ${describeKind(value)} to parameter "${String(name)}" (a Tensor or null required)`,
      );
    }
    this.register(name, value, "registerParameter", "parameter");
  }

  /** Registers `module` as child `name` (also readable as `this[name]`). `null` removes it. */
  registerModule(name: string, module: AnyModule | null): void {
    if (module !== null && !(module instanceof Module)) {
      throw new TypeError(
        `registerModule: cannot assign ${describeKind(module)} to module "${String(name)}" (a Module or null required)`,
      );
    }
    this.register(name, module, "registerModule", "module");
  }

  private register(name: string, value: unknown, where: string, kind: "parameter" | "module"): void {
    if (typeof name !== "string") throw new TypeError(`${where}: ${kind} name should be a string. Got ${typeof name}`);
    if (name === "") throw new TypeError(`${where}: ${kind} name can't be empty string ""`);
    if (name.includes(".")) throw new TypeError(`${where}: ${kind} name can't contain ".", got: ${name}`);
    if (name in this && !Object.prototype.hasOwnProperty.call(this, name)) {
      throw new TypeError(`${where}: attribute "${name}" already exists (a member of ${this.constructor.name})`);
    }
    this.entries(); // fields assigned so far keep their place before this one
    if (!this.registered.includes(name)) this.registered.push(name);
    Object.defineProperty(this, name, { value, enumerable: true, writable: true, configurable: true });
  }

  /** The parameters and children held right now, in registration order. */
  private entries(): [string, Entry][] {
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.keys(self)) {
      const v = self[key];
      if ((v instanceof Tensor || v instanceof Module) && !this.registered.includes(key)) this.registered.push(key);
    }
    const out: [string, Entry][] = [];
    for (const key of this.registered) {
      const v = self[key];
      if (v instanceof Tensor) out.push([key, { kind: "parameter", value: v }]);
      else if (v instanceof Module) out.push([key, { kind: "module", value: v as AnyModule }]);
    }
    return out;
  }

  /** The direct children, as `[name, module]` pairs. */
  namedChildren(): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    for (const [name, e] of this.entries()) if (e.kind === "module") out.push([name, e.value]);
    return out;
  }

  /** The direct children. */
  children(): AnyModule[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, with dotted names (`""` for this one); each module once. */
  namedModules(): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    const seen = new Set<AnyModule>();
    const visit = (prefix: string, m: AnyModule): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([prefix, m]);
      for (const [name, child] of m.namedChildren()) visit(prefix === "" ? name : `${prefix}.${name}`, child);
    };
    visit("", this as unknown as AnyModule);
    return out;
  }

  /** Every parameter with its dotted name (`0.weight`), depth first in registration order; each tensor once. */
  namedParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    return this.walk(new Set()).filter(([, t]) => (seen.has(t) ? false : (seen.add(t), true)));
  }

  /** Every parameter, in {@link Module.namedParameters} order: what an optimizer takes. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /**
   * Every (name, parameter) pair, a shared module or tensor listed under each of its names (as `state_dict`).
   * `ancestors` guards against a module that contains itself.
   */
  private walk(ancestors: Set<AnyModule>, prefix = ""): [string, Tensor][] {
    const me = this as unknown as AnyModule;
    if (ancestors.has(me)) throw new Error(`${this.constructor.name}: a module contains itself (at "${prefix}")`);
    ancestors.add(me);
    const out: [string, Tensor][] = [];
    for (const [name, e] of this.entries()) {
      const full = prefix + name;
      if (e.kind === "parameter") out.push([full, e.value]);
      else out.push(...e.value.walk(ancestors, `${full}.`));
    }
    ancestors.delete(me);
    return out;
  }

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (`train(false)`): dropout becomes the identity. Returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient: to `null` by default (as PyTorch ≥ 2.0), or fills it with zeros. */
  zeroGrad(options: ZeroGradOptions = {}): void {
    zeroGrad(this.parameters(), options);
  }

  /**
   * The parameters by dotted name, in PyTorch's order. The tensors are detached and share the parameters' data
   * (as PyTorch's `state_dict()`): serialise them (e.g. {@link saveSafetensors}) or copy them to keep a snapshot.
   */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [name, t] of this.walk(new Set())) sd[name] = t.detach();
    return sd;
  }

  /**
   * Copies `stateDict` into the parameters, in place and without recording graph. Throws one error naming every
   * missing key, unexpected key (when `strict`) and shape mismatch (always), and then copies nothing (PyTorch copies
   * the matching entries before it raises). Returns the missing and unexpected keys.
   */
  loadStateDict(stateDict: StateDict, { strict = true }: LoadStateDictOptions = {}): LoadStateDictResult {
    if (typeof stateDict !== "object" || stateDict === null) {
      throw new TypeError(`loadStateDict: expected a record of tensors, got ${stateDict === null ? "null" : typeof stateDict}`);
    }
    const own = this.walk(new Set());
    const ownNames = new Set(own.map(([n]) => n));
    const missingKeys = own.map(([n]) => n).filter((n) => !Object.prototype.hasOwnProperty.call(stateDict, n));
    const unexpectedKeys = Object.keys(stateDict).filter((n) => !ownNames.has(n));
    const problems: string[] = [];
    if (strict && unexpectedKeys.length > 0) {
      problems.push(`Unexpected key(s) in stateDict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}.`);
    }
    if (strict && missingKeys.length > 0) {
      problems.push(`Missing key(s) in stateDict: ${missingKeys.map((k) => `"${k}"`).join(", ")}.`);
    }
    for (const [name, param] of own) {
      const src = stateDict[name];
      if (src === undefined) continue;
      if (!(src instanceof Tensor)) {
        problems.push(`value for ${name} is not a Tensor (got ${typeof src}).`);
      } else if (!sameShape(src.shape, param.shape)) {
        problems.push(
          `size mismatch for ${name}: copying a param with shape ${formatShape(src.shape)} from checkpoint, ` +
            `the shape in current model is ${formatShape(param.shape)}.`,
        );
      }
    }
    if (problems.length > 0) {
      const msg = `loadStateDict: Error(s) in loading stateDict for ${this.constructor.name}:\n\t${problems.join("\n\t")}`;
      throw problems.some((p) => p.startsWith("size mismatch")) ? new ShapeError(msg) : new Error(msg);
    }
    noGrad(() => {
      for (const [name, param] of own) {
        const src = stateDict[name];
        if (src !== undefined) param.data.set(src.data);
      }
    });
    return { missingKeys, unexpectedKeys };
  }
}

/** Indents every line but the first by `spaces` (PyTorch's `_addindent`). */
function indentAfterFirstLine(text: string, spaces: number): string {
  return text.split("\n").join(`\n${" ".repeat(spaces)}`);
}

/** How a wrong value appears in a message: its kind, `null`, or "an array". */
function describeKind(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  return typeof x === "object" ? (x.constructor?.name ?? "object") : typeof x;
}
