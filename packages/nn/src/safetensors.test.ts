// safetensors: round trips, a hand-built file with a known byte layout, our exact bytes, and malformed input.
import { describe, expect, it } from "vitest";
import { Generator, randn, tensor } from "@tsgrad/tensor";
import { Linear, ReLU, Sequential, SafetensorsError, loadSafetensors, saveSafetensors } from "./index.js";

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** A file assembled byte by byte: header length (u64 LE), header JSON padded with spaces, then raw data. */
function handBuilt(header: string, data: number[]): Uint8Array {
  const h = ascii(header);
  while (h.length % 8 !== 0) h.push(0x20);
  return Uint8Array.from([h.length, 0, 0, 0, 0, 0, 0, 0, ...h, ...data]);
}

describe("safetensors: round trip", () => {
  it("restores every tensor bit for bit, in order, with metadata", () => {
    const g = new Generator(0);
    const model = new Sequential(new Linear(784, 128, { generator: g }), new ReLU(), new Linear(128, 10, { generator: g }));
    const bytes = saveSafetensors(model.stateDict(), { format: "pt", note: "héllo ✓" });
    const { tensors, metadata } = loadSafetensors(bytes);
    expect(metadata).toEqual({ format: "pt", note: "héllo ✓" });
    expect(Object.keys(tensors)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    const sd = model.stateDict();
    for (const [k, t] of Object.entries(tensors)) {
      expect(t.shape).toEqual(sd[k]!.shape);
      expect(t.data).toEqual(sd[k]!.data);
    }
    const other = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
    other.loadStateDict(tensors);
    expect(other.parameters()[2]!.data).toEqual(model.parameters()[2]!.data);
  });

  it("keeps scalars, empty tensors, special values and a Uint8Array view at an odd offset", () => {
    const sd = { s: tensor(3.5), e: tensor([], { shape: [0, 3] }), v: tensor([NaN, -Infinity, -0, 1e-45]) };
    const bytes = saveSafetensors(sd);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const { tensors, metadata } = loadSafetensors(shifted.subarray(3));
    expect(metadata).toEqual({});
    expect(tensors["s"]!.shape).toEqual([]);
    expect(tensors["s"]!.item()).toBe(3.5);
    expect(tensors["e"]!.shape).toEqual([0, 3]);
    expect(Array.from(tensors["v"]!.data)).toEqual([NaN, -Infinity, -0, tensor([1e-45]).data[0]]);
  });
});

describe("safetensors: Node Buffers", () => {
  it("reads a Buffer that is a view into a larger pool (Buffer.slice does not copy)", () => {
    const sd = { a: tensor([1, 2, 3]), b: tensor([[4, 5], [6, 7]]) };
    const bytes = saveSafetensors(sd);
    const pool = Buffer.alloc(bytes.length + 64, 0xff);
    pool.set(bytes, 24);
    const view = pool.subarray(24, 24 + bytes.length);
    const { tensors } = loadSafetensors(view);
    expect(Array.from(tensors["a"]!.data)).toEqual([1, 2, 3]);
    expect(Array.from(tensors["b"]!.data)).toEqual([4, 5, 6, 7]);
    expect(tensors["b"]!.data.buffer.byteLength).toBe(16); // an own copy, not the pool
  });
});

describe("safetensors: known byte layouts", () => {
  it("decodes a hand-built file", () => {
    const header =
      '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
      '"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}';
    // a = [1, -2.5], b = [0.5, 3] as float32 little-endian.
    const data = [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x40, 0x40];
    const { tensors, metadata } = loadSafetensors(handBuilt(header, data));
    expect(metadata).toEqual({ format: "pt" });
    expect(Object.keys(tensors)).toEqual(["a", "b"]);
    expect(tensors["a"]!.shape).toEqual([1, 2]);
    expect(Array.from(tensors["a"]!.data)).toEqual([1, -2.5]);
    expect(Array.from(tensors["b"]!.data)).toEqual([0.5, 3]);
  });

  it("writes the exact bytes of the format", () => {
    const bytes = saveSafetensors({ w: tensor([1, -2]) }, { k: "v" });
    const header = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    expect(header.length).toBe(79);
    expect(Array.from(bytes)).toEqual([80, 0, 0, 0, 0, 0, 0, 0, ...ascii(header), 0x20, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  });
});

describe("safetensors: malformed bytes raise clear errors", () => {
  const good = saveSafetensors({ w: randn([2, 2]) });
  const f32 = (header: string, bytes = 4): Uint8Array => handBuilt(header, new Array<number>(bytes).fill(0));
  const table: [string, Uint8Array, RegExp][] = [
    ["too short", good.subarray(0, 5), /truncated file: 5 bytes, expected at least 8/],
    ["header cut", good.subarray(0, 20), /truncated file: the header needs \d+ bytes after the length, but only 12 remain/],
    ["data cut", good.subarray(0, good.length - 1), /truncated file: the header describes 16 bytes of data, only 15 are present/],
    ["trailing bytes", Uint8Array.from([...good, 0]), /describes 16 bytes of data, but 17 follow it/],
    ["not JSON", handBuilt("{not json}", []), /the header is not valid JSON/],
    ["not an object", handBuilt("[1,2]", []), /not a safetensors file \(its header starts with "\[", not "\{"/],
    ["dtype", f32('{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}'), /tensor "w" has dtype "F16", only "F32" is supported/],
    ["shape", f32('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}'), /tensor "w" has an invalid shape \[-1\]/],
    ["offsets", f32('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}'), /tensor "w" has invalid data_offsets \[4\]/],
    ["size", f32('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}'), /tensor "w" of shape \[2\] needs 8 bytes, its data_offsets span 4/],
    ["gap", f32('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /tensor "w" starts at byte 4 of the data, expected 0/],
    ["overlap", f32('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /starts at byte 4 of the data, expected 8/],
    ["metadata", f32('{"__metadata__":{"n":1},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'), /__metadata__ value "n" must be a string/],
    ["huge header", Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0]), /not a safetensors file \(it starts with the bytes 00 00 00 00 00 01 00 00;/],
    ["bad UTF-8", handBuilt('{"\xff":1}', []), /the header is not valid JSON \(invalid UTF-8/],
  ];
  it.each(table)("%s", (_name, bytes, message) => {
    expect(() => loadSafetensors(bytes)).toThrow(SafetensorsError);
    expect(() => loadSafetensors(bytes)).toThrow(message);
  });

  it("names the file it was given in every message", () => {
    expect(() => loadSafetensors(good.subarray(0, good.length - 1), { name: "runs/a.safetensors" })).toThrow(
      new SafetensorsError("loadSafetensors: runs/a.safetensors: truncated file: the header describes 16 bytes of data, only 15 are present"),
    );
    expect(() => loadSafetensors(f32('{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}'), { name: "b.st" })).toThrow(
      /^loadSafetensors: b\.st: tensor "w" has dtype "F16"/,
    );
    expect(() => loadSafetensors(new Uint8Array(0), { name: 5 as unknown as string })).toThrow(
      new TypeError("loadSafetensors: name must be a string, got number"),
    );
    expect(() => loadSafetensors([1, 2] as unknown as Uint8Array, { name: "x.st" })).toThrow(
      new TypeError("loadSafetensors: x.st: expected the file's bytes as a Uint8Array"),
    );
  });

  it("refuses what it cannot write", () => {
    expect(() => saveSafetensors({ __metadata__: tensor([1]) })).toThrow(/cannot name a tensor/);
    expect(() => saveSafetensors({ w: [1] as never })).toThrow(/"w" is not a Tensor/);
    expect(() => saveSafetensors({}, { n: 1 as unknown as string })).toThrow(/metadata value "n" must be a string/);
  });
});

describe("safetensors: other files say what they are, not an absurd header length", () => {
  const bytes = (s: string): Uint8Array => Uint8Array.from(ascii(s));
  const SUFFIX = "; a safetensors file starts with an 8-byte header length and a JSON header)";
  const random = new Generator(7);
  const table: [string, Uint8Array, string][] = [
    ["an empty file", new Uint8Array(0), "not a safetensors file (the file is empty"],
    ["an HTML page", bytes('<!DOCTYPE html>\n<html><head><title>404</title></head></html>\n'),
      'not a safetensors file (it starts with "<!DOCTYPE html>\\n...", like an HTML or XML page'],
    ["a PNG image", Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]),
      "not a safetensors file (it starts with the bytes 89 50 4e 47 0d 0a 1a 0a, like a PNG image"],
    ["a PyTorch zip checkpoint", Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0x08, 0, 0, 0]),
      "not a safetensors file (it starts with the bytes 50 4b 03 04 14 00 00 00, like a zip archive (a PyTorch .pt/.pth file? " +
        "save it with safetensors.torch.save_file)"],
    ["a pickle", Uint8Array.from([0x80, 0x02, 0x63, 0x63, 0x6f, 0x6c, 0x6c, 0x65, 0x63]),
      "not a safetensors file (it starts with the bytes 80 02 63 63 6f 6c 6c 65, like a Python pickle (a PyTorch .pt/.pth file? " +
        "save it with safetensors.torch.save_file)"],
    ["a JSON file", bytes('{"w": [1, 2, 3]}'), 'not a safetensors file (it starts with "{\\"w\\": [1, 2, 3]}", like JSON text'],
    ["a short text", bytes("hello"), 'not a safetensors file (it starts with "hello"'],
    ["a header length below 2", Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0x7b]), "not a safetensors file (it starts with the bytes 01 00 00 00 00 00 00 00"],
    ["a header that is not a JSON object", handBuilt("[1]", []), 'not a safetensors file (its header starts with "[", not "{"'],
  ];
  it.each(table)("%s", (_name, file, message) => {
    expect(() => loadSafetensors(file, { name: "model.safetensors" })).toThrow(
      new SafetensorsError(`loadSafetensors: model.safetensors: ${message}${SUFFIX}`),
    );
  });
  it("random bytes", () => {
    for (let k = 0; k < 20; k++) {
      const file = Uint8Array.from({ length: 64 + k }, () => random.nextInt(256));
      expect(() => loadSafetensors(file)).toThrow(/^loadSafetensors: not a safetensors file \(it starts with /);
    }
  });
  it("a real file cut anywhere says truncated, and loads whole", () => {
    const file = saveSafetensors(new Sequential(new Linear(3, 2, { generator: new Generator(0) })).stateDict(), { epoch: "1" });
    for (let cut = 1; cut < file.length; cut++) {
      expect(() => loadSafetensors(file.subarray(0, cut), { name: "a.safetensors" })).toThrow(
        /^loadSafetensors: a\.safetensors: truncated file: /,
      );
    }
    expect(Object.keys(loadSafetensors(file).tensors)).toEqual(["0.weight", "0.bias"]);
  });
});

