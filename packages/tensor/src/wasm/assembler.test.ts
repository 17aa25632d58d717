// Tests of the assembler: LEB128 against known encodings, instruction bytes, and modules checked by the engine.
import { describe, expect, it } from "vitest";
import { FunctionBuilder, ModuleBuilder, sleb128, uleb128 } from "./assembler.js";
import { wasmApi, type WasmImports, type WasmMemory } from "./webassembly.js";

const api = wasmApi()!;

/** Instantiates a module without imports (or with `env.memory`) and returns its exports. */
function instantiate(mod: ModuleBuilder, memory?: WasmMemory): Record<string, (...args: number[]) => number> {
  const imports: WasmImports = memory === undefined ? {} : { env: { memory } };
  return new api.Instance(new api.Module(mod.toBytes()), imports).exports as Record<string, (...args: number[]) => number>;
}

describe("LEB128", () => {
  it.each([
    [0, [0x00]], [1, [0x01]], [127, [0x7f]], [128, [0x80, 0x01]], [300, [0xac, 0x02]],
    [624485, [0xe5, 0x8e, 0x26]], [2 ** 32 - 1, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])("uleb128(%d)", (value, bytes) => {
    expect(uleb128(value)).toEqual(bytes);
  });

  it.each([
    [0, [0x00]], [1, [0x01]], [-1, [0x7f]], [63, [0x3f]], [64, [0xc0, 0x00]], [-64, [0x40]], [-65, [0xbf, 0x7f]],
    [127, [0xff, 0x00]], [-128, [0x80, 0x7f]], [-123456, [0xc0, 0xbb, 0x78]],
    [2 ** 31 - 1, [0xff, 0xff, 0xff, 0xff, 0x07]], [-(2 ** 31), [0x80, 0x80, 0x80, 0x80, 0x78]],
  ])("sleb128(%d)", (value, bytes) => {
    expect(sleb128(value)).toEqual(bytes);
  });

  it.each([[-1], [1.5], [Number.NaN]])("uleb128 rejects %d", (value) => {
    expect(() => uleb128(value)).toThrow(RangeError);
  });
});

describe("FunctionBuilder", () => {
  it("encodes SIMD opcodes after the 0xFD prefix as LEB128 and memory immediates as align, offset", () => {
    const f = new FunctionBuilder([]);
    f.f32x4Mul().f32x4Add().f32x4Splat().v128Load(32).v128Load32Splat(4).f32x4ExtractLane(3);
    const body = f.encodeBody();
    // size, 0 local runs, instructions, end
    expect(body).toEqual([
      21, 0x00,
      0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, 0xfd, 0x13, 0xfd, 0x00, 0x04, 0x20, 0xfd, 0x09, 0x02, 0x04, 0xfd, 0x1f, 0x03,
      0x0b,
    ]);
  });

  it("groups locals of the same type into runs and numbers them after the params", () => {
    const f = new FunctionBuilder(["i32"]);
    expect([f.local("i32"), f.local("i32"), f.local("v128"), f.local("f32")]).toEqual([1, 2, 3, 4]);
    expect(f.encodeBody().slice(1, 8)).toEqual([3, 2, 0x7f, 1, 0x7b, 1, 0x7d]);
  });
});

describe("ModuleBuilder", () => {
  it("emits just the header for an empty module", () => {
    expect([...new ModuleBuilder().toBytes()]).toEqual([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  });

  it("builds a valid module whose functions run", () => {
    const add = new FunctionBuilder(["i32", "i32"], ["i32"]);
    add.localGet(add.param(0)).localGet(add.param(1)).i32Add();
    // sum of 0..n−1 with forLoop
    const sum = new FunctionBuilder(["i32"], ["i32"]);
    const i = sum.local("i32"), s = sum.local("i32");
    sum.forLoop(i, sum.param(0), 1, () => sum.localGet(s).localGet(i).i32Add().localSet(s));
    sum.localGet(s);
    const neg = new FunctionBuilder(["i32"], ["i32"]);
    neg.i32Const(-100000).localGet(neg.param(0)).i32Sub();
    const mod = new ModuleBuilder();
    mod.addFunction(add, "add");
    mod.addFunction(sum, "sum");
    mod.addFunction(neg, "neg");
    expect(api.validate(mod.toBytes())).toBe(true);
    const e = instantiate(mod);
    expect(e.add!(2, 40)).toBe(42);
    expect(e.sum!(0)).toBe(0);
    expect(e.sum!(101)).toBe(5050);
    expect(e.neg!(5)).toBe(-100005);
  });

  it("reuses one type for functions of the same signature", () => {
    const mod = new ModuleBuilder();
    for (let t = 0; t < 3; t++) mod.addFunction(new FunctionBuilder(["i32"]), `f${t}`);
    const bytes = [...mod.toBytes()];
    // type section: id 1, size 5, one type: 0x60, 1 param i32, 0 results
    expect(bytes.slice(8, 15)).toEqual([0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00]);
  });

  it("is checked by the engine: an ill-typed body does not validate", () => {
    const f = new FunctionBuilder([], ["i32"]);
    f.f32Const(1); // f32 left where an i32 is expected
    const mod = new ModuleBuilder();
    mod.addFunction(f, "bad");
    expect(api.validate(mod.toBytes())).toBe(false);
  });

  it.each([false, true])("imports a memory (shared: %s) and runs SIMD on it", (shared) => {
    // out[0..3] = sqrt(x * y + 1) lane-wise, then out[4] = lane 2 of it
    const f = new FunctionBuilder(["i32", "i32", "i32"]);
    const [x, y, out] = [f.param(0), f.param(1), f.param(2)];
    f.localGet(out);
    f.localGet(x).v128Load().localGet(y).v128Load().f32x4Mul().f32Const(1).f32x4Splat().f32x4Add().f32x4Sqrt();
    f.v128Store();
    f.localGet(out).localGet(out).v128Load().f32x4ExtractLane(2).f32Store(16);
    const mod = new ModuleBuilder().importMemory(shared
      ? { module: "env", name: "memory", minPages: 1, maxPages: 4, shared: true }
      : { module: "env", name: "memory", minPages: 1, shared: false });
    mod.addFunction(f, "run");
    expect(api.validate(mod.toBytes())).toBe(true);
    const memory = new api.Memory({ initial: 1, maximum: 4, shared });
    const heap = new Float32Array(memory.buffer);
    heap.set([1, 2, 3, 4], 0);
    heap.set([3, 4, 5, 6], 4);
    instantiate(mod, memory).run!(0, 16, 64);
    expect([...heap.subarray(16, 21)]).toEqual([2, 3, 4, 5, 4]);
  });

  it("requires a maximum for a shared memory", () => {
    expect(() => new ModuleBuilder().importMemory({ module: "env", name: "memory", minPages: 1, shared: true })).toThrow(/maxPages/);
  });
});
