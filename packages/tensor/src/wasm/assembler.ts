// A small typed WebAssembly assembler: LEB128, a FunctionBuilder with one method per instruction, and a
// ModuleBuilder that lays out the type/import/function/export/code sections around an imported `env.memory`.

/** Value types of the instructions we emit. */
export type ValType = "i32" | "f32" | "f64" | "v128";

const VALTYPE_BYTE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Unsigned LEB128 of a non-negative integer below 2^53. */
export function uleb128(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`uleb128: expected a non-negative integer, got ${value}`);
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of an integer in the safe range (i32 constants are sign-extended the same way). */
export function sleb128(value: number): number[] {
  if (!Number.isSafeInteger(value)) throw new RangeError(`sleb128: expected an integer, got ${value}`);
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = ((v % 128) + 128) % 128; // low 7 bits, two's complement
    v = Math.floor(v / 128); // arithmetic shift right by 7
    const signBit = byte & 0x40;
    if ((v === 0 && signBit === 0) || (v === -1 && signBit !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** Length-prefixed name, as the binary format stores import and export names (ASCII: UTF-8 without encoder). */
function encodeName(name: string): number[] {
  const bytes = [...name].map((ch) => ch.charCodeAt(0));
  if (bytes.some((b) => b > 0x7f)) throw new RangeError(`encodeName: expected an ASCII name, got "${name}"`);
  return [...uleb128(bytes.length), ...bytes];
}

/** A length-prefixed vector of already-encoded items. */
function encodeVector(items: readonly (readonly number[])[]): number[] {
  return [...uleb128(items.length), ...items.flat()];
}

/** Instructions with no immediate: name → opcode (SIMD ones are 0xFD-prefixed, see `SIMD`). */
const PLAIN = {
  unreachable: 0x00, nop: 0x01, else: 0x05, end: 0x0b, return: 0x0f, drop: 0x1a, select: 0x1b,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GtU: 0x4b,
  i32LeS: 0x4c, i32LeU: 0x4d, i32GeS: 0x4e, i32GeU: 0x4f,
  f32Eq: 0x5b, f32Ne: 0x5c, f32Lt: 0x5d, f32Gt: 0x5e, f32Le: 0x5f, f32Ge: 0x60,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32DivS: 0x6d, i32DivU: 0x6e, i32RemS: 0x6f, i32RemU: 0x70,
  i32And: 0x71, i32Or: 0x72, i32Xor: 0x73, i32Shl: 0x74, i32ShrS: 0x75, i32ShrU: 0x76, i32Rotl: 0x77,
  f32Abs: 0x8b, f32Neg: 0x8c, f32Sqrt: 0x91, f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94, f32Div: 0x95,
  f32Min: 0x96, f32Max: 0x97, f64Add: 0xa0, f64PromoteF32: 0xbb,
  i32ReinterpretF32: 0xbc, f32ReinterpretI32: 0xbe,
} as const;

/** SIMD instructions with no immediate (after the 0xFD prefix, opcode as u32 LEB128). */
const SIMD = {
  f32x4Splat: 0x13, i32x4Eq: 0x37, f32x4Eq: 0x41, f32x4Ne: 0x42, f32x4Lt: 0x43, f32x4Gt: 0x44, f32x4Le: 0x45, f32x4Ge: 0x46,
  v128Not: 0x4d, v128And: 0x4e, v128AndNot: 0x4f, v128Or: 0x50, v128Xor: 0x51, v128Bitselect: 0x52,
  f32x4Abs: 0xe0, f32x4Neg: 0xe1, f32x4Sqrt: 0xe3, f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6,
  f32x4Div: 0xe7, f32x4Min: 0xe8, f32x4Max: 0xe9,
  f64x2PromoteLowF32x4: 0x5f, f64x2Add: 0xf0,
  f32x4RelaxedMadd: 0x105,
} as const;

/** Memory instructions: opcode and natural alignment (log2 bytes), the default alignment hint. */
const MEMORY = {
  i32Load: { prefix: false, op: 0x28, align: 2 },
  f32Load: { prefix: false, op: 0x2a, align: 2 },
  i32Store: { prefix: false, op: 0x36, align: 2 },
  f32Store: { prefix: false, op: 0x38, align: 2 },
  f64Store: { prefix: false, op: 0x39, align: 3 },
  f64Load: { prefix: false, op: 0x2b, align: 3 },
  v128Load: { prefix: true, op: 0x00, align: 4 },
  v128Load32Splat: { prefix: true, op: 0x09, align: 2 },
  v128Store: { prefix: true, op: 0x0b, align: 4 },
  v128Load32Zero: { prefix: true, op: 0x5c, align: 2 },
} as const;

type PlainOp = keyof typeof PLAIN;
type SimdOp = keyof typeof SIMD;
type MemoryOp = keyof typeof MEMORY;

/** Index of a parameter or local of the function being built. */
export type Local = number & { readonly __local: unique symbol };

/**
 * Builds the body of one function. Instructions are appended in order by methods named after the text format
 * (`i32.add` → `i32Add()`); structured control takes callbacks, so `end` is never forgotten.
 *
 * ```ts
 * const f = new FunctionBuilder(["i32", "i32"], ["i32"]);
 * f.localGet(f.param(0)).localGet(f.param(1)).i32Add();
 * ```
 */
export class FunctionBuilder {
  private readonly bytes: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[] = []) {}

  /** The local index of parameter `i`. */
  param(i: number): Local {
    if (i < 0 || i >= this.params.length) throw new RangeError(`param: index ${i} out of range for ${this.params.length} params`);
    return i as Local;
  }

  /** Declares a new local of `type` and returns its index. */
  local(type: ValType): Local {
    this.localTypes.push(type);
    return (this.params.length + this.localTypes.length - 1) as Local;
  }

  /** Encoded body: local declarations (grouped runs), instructions, final `end`. */
  encodeBody(): number[] {
    const runs: number[][] = [];
    let t = 0;
    while (t < this.localTypes.length) {
      const type = this.localTypes[t]!;
      let count = 0;
      while (t < this.localTypes.length && this.localTypes[t] === type) { count++; t++; }
      runs.push([...uleb128(count), VALTYPE_BYTE[type]]);
    }
    const body = [...encodeVector(runs), ...this.bytes, PLAIN.end];
    return [...uleb128(body.length), ...body];
  }

  private op(...bytes: number[]): this {
    for (const b of bytes) this.bytes.push(b);
    return this;
  }

  private plain(name: PlainOp): this { return this.op(PLAIN[name]); }
  private simd(name: SimdOp): this { return this.op(0xfd, ...uleb128(SIMD[name])); }
  private mem(name: MemoryOp, offset: number): this {
    const { prefix, op, align } = MEMORY[name];
    if (prefix) this.op(0xfd, ...uleb128(op));
    else this.op(op);
    return this.op(...uleb128(align), ...uleb128(offset));
  }

  // Variables and constants.
  localGet(l: Local): this { return this.op(0x20, ...uleb128(l)); }
  localSet(l: Local): this { return this.op(0x21, ...uleb128(l)); }
  localTee(l: Local): this { return this.op(0x22, ...uleb128(l)); }
  i32Const(v: number): this { return this.op(0x41, ...sleb128(v | 0)); }
  f32Const(v: number): this {
    const buf = new DataView(new ArrayBuffer(4));
    buf.setFloat32(0, v, true);
    return this.op(0x43, buf.getUint8(0), buf.getUint8(1), buf.getUint8(2), buf.getUint8(3));
  }
  f64Const(v: number): this {
    const buf = new DataView(new ArrayBuffer(8));
    buf.setFloat64(0, v, true);
    return this.op(0x44, ...Array.from({ length: 8 }, (_, i) => buf.getUint8(i)));
  }
  /** `v128.const` with four f32 lanes. */
  f32x4Const(l0: number, l1 = l0, l2 = l0, l3 = l0): this {
    const buf = new DataView(new ArrayBuffer(16));
    [l0, l1, l2, l3].forEach((v, i) => buf.setFloat32(4 * i, v, true));
    this.op(0xfd, ...uleb128(0x0c));
    for (let i = 0; i < 16; i++) this.op(buf.getUint8(i));
    return this;
  }

  // Control. `blockType` is empty (0x40): our blocks take and leave nothing on the stack.
  /** `block … end`: `br n` to it jumps past its end. */
  block(body: () => void): this { this.op(0x02, 0x40); body(); return this.plain("end"); }
  /** `loop … end`: `br n` to it jumps back to its start. */
  loop(body: () => void): this { this.op(0x03, 0x40); body(); return this.plain("end"); }
  /** `if … (else …) end` on the i32 on top of the stack. */
  if(then: () => void, otherwise?: () => void): this {
    this.op(0x04, 0x40);
    then();
    if (otherwise) { this.plain("else"); otherwise(); }
    return this.plain("end");
  }
  br(depth: number): this { return this.op(0x0c, ...uleb128(depth)); }
  brIf(depth: number): this { return this.op(0x0d, ...uleb128(depth)); }
  return(): this { return this.plain("return"); }
  drop(): this { return this.plain("drop"); }
  select(): this { return this.plain("select"); }

  // i32 arithmetic and comparisons.
  i32Eqz(): this { return this.plain("i32Eqz"); }
  i32Eq(): this { return this.plain("i32Eq"); }
  i32Ne(): this { return this.plain("i32Ne"); }
  i32LtS(): this { return this.plain("i32LtS"); }
  i32LtU(): this { return this.plain("i32LtU"); }
  i32GtS(): this { return this.plain("i32GtS"); }
  i32GtU(): this { return this.plain("i32GtU"); }
  i32LeS(): this { return this.plain("i32LeS"); }
  i32LeU(): this { return this.plain("i32LeU"); }
  i32GeS(): this { return this.plain("i32GeS"); }
  i32GeU(): this { return this.plain("i32GeU"); }
  i32Add(): this { return this.plain("i32Add"); }
  i32Sub(): this { return this.plain("i32Sub"); }
  i32Mul(): this { return this.plain("i32Mul"); }
  i32DivS(): this { return this.plain("i32DivS"); }
  i32DivU(): this { return this.plain("i32DivU"); }
  i32RemS(): this { return this.plain("i32RemS"); }
  i32RemU(): this { return this.plain("i32RemU"); }
  i32And(): this { return this.plain("i32And"); }
  i32Or(): this { return this.plain("i32Or"); }
  i32Xor(): this { return this.plain("i32Xor"); }
  i32Shl(): this { return this.plain("i32Shl"); }
  i32ShrS(): this { return this.plain("i32ShrS"); }
  i32ShrU(): this { return this.plain("i32ShrU"); }
  i32Rotl(): this { return this.plain("i32Rotl"); }

  // f32 scalar arithmetic and comparisons.
  f32Eq(): this { return this.plain("f32Eq"); }
  f32Ne(): this { return this.plain("f32Ne"); }
  f32Lt(): this { return this.plain("f32Lt"); }
  f32Gt(): this { return this.plain("f32Gt"); }
  f32Le(): this { return this.plain("f32Le"); }
  f32Ge(): this { return this.plain("f32Ge"); }
  f32Abs(): this { return this.plain("f32Abs"); }
  f32Neg(): this { return this.plain("f32Neg"); }
  f32Sqrt(): this { return this.plain("f32Sqrt"); }
  f32Add(): this { return this.plain("f32Add"); }
  f32Sub(): this { return this.plain("f32Sub"); }
  f32Mul(): this { return this.plain("f32Mul"); }
  f32Div(): this { return this.plain("f32Div"); }
  f32Min(): this { return this.plain("f32Min"); }
  f32Max(): this { return this.plain("f32Max"); }
  f64Add(): this { return this.plain("f64Add"); }
  f64PromoteF32(): this { return this.plain("f64PromoteF32"); }
  i32ReinterpretF32(): this { return this.plain("i32ReinterpretF32"); }
  f32ReinterpretI32(): this { return this.plain("f32ReinterpretI32"); }

  // Memory: the address (i32 bytes) is on the stack, `offset` is a constant added to it.
  i32Load(offset = 0): this { return this.mem("i32Load", offset); }
  i32Store(offset = 0): this { return this.mem("i32Store", offset); }
  f32Load(offset = 0): this { return this.mem("f32Load", offset); }
  f32Store(offset = 0): this { return this.mem("f32Store", offset); }
  f64Store(offset = 0): this { return this.mem("f64Store", offset); }
  f64Load(offset = 0): this { return this.mem("f64Load", offset); }
  v128Load(offset = 0): this { return this.mem("v128Load", offset); }
  v128Store(offset = 0): this { return this.mem("v128Store", offset); }
  /** Loads one f32 and replicates it into the four lanes. */
  v128Load32Splat(offset = 0): this { return this.mem("v128Load32Splat", offset); }
  /** Loads one f32 into lane 0, zeroes the others. */
  v128Load32Zero(offset = 0): this { return this.mem("v128Load32Zero", offset); }

  // SIMD (f32x4 lanes).
  f32x4Splat(): this { return this.simd("f32x4Splat"); }
  f32x4ExtractLane(lane: 0 | 1 | 2 | 3): this { return this.op(0xfd, ...uleb128(0x1f), lane); }
  f32x4ReplaceLane(lane: 0 | 1 | 2 | 3): this { return this.op(0xfd, ...uleb128(0x20), lane); }
  f64x2ExtractLane(lane: 0 | 1): this { return this.op(0xfd, ...uleb128(0x21), lane); }
  /** f64x2 of lanes 0 and 1 of an f32x4, each exactly widened. */
  f64x2PromoteLowF32x4(): this { return this.simd("f64x2PromoteLowF32x4"); }
  f64x2Add(): this { return this.simd("f64x2Add"); }
  /** `i8x16.shuffle`: byte i of the result is byte `lanes[i]` of the concatenation of the two operands. */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31)) throw new RangeError(`i8x16Shuffle: expected 16 lanes in [0, 31], got [${lanes.join(", ")}]`);
    return this.op(0xfd, ...uleb128(0x0d), ...lanes);
  }
  i32x4Eq(): this { return this.simd("i32x4Eq"); }
  f32x4Eq(): this { return this.simd("f32x4Eq"); }
  f32x4Ne(): this { return this.simd("f32x4Ne"); }
  f32x4Lt(): this { return this.simd("f32x4Lt"); }
  f32x4Gt(): this { return this.simd("f32x4Gt"); }
  f32x4Le(): this { return this.simd("f32x4Le"); }
  f32x4Ge(): this { return this.simd("f32x4Ge"); }
  v128Not(): this { return this.simd("v128Not"); }
  v128And(): this { return this.simd("v128And"); }
  v128AndNot(): this { return this.simd("v128AndNot"); }
  v128Or(): this { return this.simd("v128Or"); }
  v128Xor(): this { return this.simd("v128Xor"); }
  v128Bitselect(): this { return this.simd("v128Bitselect"); }
  f32x4Abs(): this { return this.simd("f32x4Abs"); }
  f32x4Neg(): this { return this.simd("f32x4Neg"); }
  f32x4Sqrt(): this { return this.simd("f32x4Sqrt"); }
  f32x4Add(): this { return this.simd("f32x4Add"); }
  f32x4Sub(): this { return this.simd("f32x4Sub"); }
  f32x4Mul(): this { return this.simd("f32x4Mul"); }
  f32x4Div(): this { return this.simd("f32x4Div"); }
  f32x4Min(): this { return this.simd("f32x4Min"); }
  f32x4Max(): this { return this.simd("f32x4Max"); }
  /** Relaxed SIMD `f32x4.relaxed_madd` (a, b, c → a·b + c, fused or not as the engine chooses). */
  f32x4RelaxedMadd(): this { return this.simd("f32x4RelaxedMadd"); }

  // Helpers built from the instructions above.
  /** Pushes `local + delta` (i32). */
  addrOf(l: Local, delta: number): this {
    this.localGet(l);
    if (delta !== 0) this.i32Const(delta).i32Add();
    return this;
  }
  /** `l += delta` for an i32 local and a constant. */
  incr(l: Local, delta: number): this { return this.localGet(l).i32Const(delta).i32Add().localSet(l); }
  /** `l += by` for two i32 locals. */
  incrBy(l: Local, by: Local): this { return this.localGet(l).localGet(by).i32Add().localSet(l); }

  /**
   * `for (; counter < end; counter += step) body()` on i32 locals (`step` a constant or a local), compiled as
   * `if (counter < end) loop { body; counter += step; br_if (counter < end) }`. The caller sets `counter`.
   */
  forLoop(counter: Local, end: Local, step: number | Local, body: () => void): this {
    const advance = (): void => {
      if (typeof step === "number") this.incr(counter, step);
      else this.incrBy(counter, step as Local);
    };
    this.localGet(counter).localGet(end).i32LtS();
    return this.if(() => {
      this.loop(() => {
        body();
        advance();
        this.localGet(counter).localGet(end).i32LtS().brIf(0);
      });
    });
  }
}

/** Limits of the imported linear memory, in 64 KiB pages. A shared memory needs `maxPages`. */
export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  readonly minPages: number;
  readonly maxPages?: number;
  readonly shared: boolean;
}

/** Assembles a module: one imported memory, functions (optionally exported by name). */
export class ModuleBuilder {
  private memory: MemoryImport | null = null;
  private readonly functions: { readonly fn: FunctionBuilder; readonly exportName: string | null }[] = [];

  /** Imports the linear memory (only one, index 0: the memory every load and store uses). */
  importMemory(memory: MemoryImport): this {
    if (memory.shared && memory.maxPages === undefined) throw new RangeError("importMemory: a shared memory needs maxPages");
    this.memory = memory;
    return this;
  }

  /** Adds a function and returns its index; exported under `exportName` unless null. */
  addFunction(fn: FunctionBuilder, exportName: string | null = null): number {
    this.functions.push({ fn, exportName });
    return this.functions.length - 1;
  }

  /** The module's binary encoding. */
  toBytes(): Uint8Array {
    const types: number[][] = [];
    const typeKeys = new Map<string, number>();
    const typeIndexOf = (fn: FunctionBuilder): number => {
      const encoded = [0x60, ...encodeVector(fn.params.map((t) => [VALTYPE_BYTE[t]])), ...encodeVector(fn.results.map((t) => [VALTYPE_BYTE[t]]))];
      const key = encoded.join(",");
      let index = typeKeys.get(key);
      if (index === undefined) {
        index = types.length;
        types.push(encoded);
        typeKeys.set(key, index);
      }
      return index;
    };
    const funcTypes = this.functions.map(({ fn }) => uleb128(typeIndexOf(fn)));

    const imports: number[][] = [];
    if (this.memory) {
      const { module, name, minPages, maxPages, shared } = this.memory;
      const limits = maxPages === undefined
        ? [0x00, ...uleb128(minPages)]
        : [shared ? 0x03 : 0x01, ...uleb128(minPages), ...uleb128(maxPages)];
      imports.push([...encodeName(module), ...encodeName(name), 0x02, ...limits]);
    }
    const exports = this.functions.flatMap(({ exportName }, index) =>
      exportName === null ? [] : [[...encodeName(exportName), 0x00, ...uleb128(index)]]);
    const bodies = this.functions.map(({ fn }) => fn.encodeBody());

    const section = (id: number, items: number[][]): number[] => {
      if (items.length === 0) return [];
      const content = encodeVector(items);
      return [id, ...uleb128(content.length), ...content];
    };
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
      ...section(1, types),
      ...section(2, imports),
      ...section(3, funcTypes),
      ...section(7, exports),
      ...section(10, bodies),
    ]);
  }
}
