// gunzip against Node's zlib on many random and real inputs: the same bytes, or the same error message.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { constants, gunzipSync, gzipSync, type ZlibOptions } from "node:zlib";
import { describe, expect, it } from "vitest";
import { gunzip, GunzipError } from "./gunzip.js";

/** A small seeded PRNG (mulberry32), so every case is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Data of several kinds: incompressible, a few symbols, long runs, text-like repeats reaching 32 KiB back. */
function sample(kind: number, size: number, rand: () => number): Uint8Array {
  const out = new Uint8Array(size);
  const alphabet = 1 + Math.floor(rand() * 20);
  for (let i = 0; i < size; i++) {
    switch (kind % 5) {
      case 0:
        out[i] = Math.floor(rand() * 256);
        break;
      case 1:
        out[i] = 97 + Math.floor(rand() * alphabet);
        break;
      case 2:
        out[i] = i > 0 && rand() < 0.97 ? out[i - 1]! : Math.floor(rand() * 256);
        break;
      case 3: {
        const back = 1 + Math.floor(rand() * Math.min(i, 32768));
        out[i] = i > 8 && rand() < 0.9 ? out[i - back]! : 32 + Math.floor(rand() * 90);
        break;
      }
      default:
        out[i] = rand() < 0.8 ? 0 : Math.floor(rand() * 256);
    }
  }
  return out;
}

/** What zlib makes of `bytes`: the output, or its error message. */
function zlibResult(bytes: Uint8Array): { bytes: Uint8Array } | { error: string } {
  try {
    return { bytes: new Uint8Array(gunzipSync(bytes)) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function oursResult(bytes: Uint8Array): { bytes: Uint8Array } | { error: string } {
  try {
    return { bytes: gunzip(bytes) };
  } catch (error) {
    expect(error).toBeInstanceOf(GunzipError);
    return { error: (error as Error).message };
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** Fails with a readable message when our result differs from zlib's. */
function expectSameAsZlib(bytes: Uint8Array, label: string): void {
  const want = zlibResult(bytes);
  const got = oursResult(bytes);
  if ("error" in want) {
    expect("error" in got ? got.error : `${got.bytes.length} bytes`, label).toBe(want.error);
  } else {
    expect("bytes" in got ? "bytes" : got.error, label).toBe("bytes");
    if ("bytes" in got) expect(same(got.bytes, want.bytes), `${label}: ${got.bytes.length} vs ${want.bytes.length} bytes`).toBe(true);
  }
}

const STRATEGIES = [
  constants.Z_DEFAULT_STRATEGY, constants.Z_FILTERED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FIXED,
];

describe("gunzip on random inputs", () => {
  it("gives zlib's bytes for 600 inputs of every kind, size, level and strategy", () => {
    const rand = prng(1);
    for (let c = 0; c < 600; c++) {
      const size = [0, 1, 2, 100, 1000, 5000, 40000, 70000][c % 8]!;
      const data = sample(c, size, rand);
      const options: ZlibOptions = {
        level: c % 10, strategy: STRATEGIES[c % STRATEGIES.length]!, memLevel: 1 + (c % 9), windowBits: 9 + (c % 7),
      };
      const gz = gzipSync(data, options);
      const out = gunzip(gz);
      expect(same(out, data), `case ${c} (${size} bytes, ${JSON.stringify(options)})`).toBe(true);
    }
  });

  it("gives zlib's result for 6,000 corrupted streams: flipped bits, replaced bytes, truncations", () => {
    const rand = prng(2);
    const sources = Array.from({ length: 60 }, (_, c) =>
      gzipSync(sample(c, 50 + Math.floor(rand() * 3000), rand), { level: c % 10, strategy: STRATEGIES[c % 5]! }),
    );
    const messages = new Set<string>();
    for (let c = 0; c < 6000; c++) {
      const src = sources[c % sources.length]!;
      const bytes = new Uint8Array(src);
      const at = Math.floor(rand() * bytes.length);
      let corrupt: Uint8Array = bytes;
      switch (c % 4) {
        case 0:
          bytes[at]! ^= 1 << Math.floor(rand() * 8);
          break;
        case 1:
          bytes[at] = Math.floor(rand() * 256);
          break;
        case 2:
          corrupt = bytes.subarray(0, at);
          break;
        default: // several bytes of the deflate data at once
          for (let i = 0; i < 4; i++) bytes[10 + Math.floor(rand() * (bytes.length - 18))] = Math.floor(rand() * 256);
      }
      const want = zlibResult(corrupt);
      if ("error" in want) messages.add(want.error);
      expectSameAsZlib(corrupt, `corruption ${c}`);
    }
    // The corruptions reach most of zlib's checks (the rest are crafted below).
    expect([...messages].sort()).toEqual(expect.arrayContaining([
      "incorrect data check", "incorrect header check", "incorrect length check", "invalid block type",
      "invalid code lengths set", "invalid distance too far back", "unexpected end of file",
      "unknown compression method", "unknown header flags set",
    ]));
  });
});

describe("gunzip on real inputs", () => {
  const digits = join(dirname(createRequire(import.meta.url).resolve("mnist/package.json")), "src", "digits");

  it("gives zlib's bytes for the real MNIST digit files of the mnist package, at levels 1, 6 and 9", () => {
    for (const file of readdirSync(digits).filter((f) => f.endsWith(".json")).slice(0, 4)) {
      const text = readFileSync(join(digits, file));
      for (const level of [1, 6, 9]) expectSameAsZlib(gzipSync(text, { level }), `${file} level ${level}`);
    }
  });

  it("gives zlib's bytes for this package's own sources", () => {
    const here = dirname(new URL(import.meta.url).pathname);
    for (const file of readdirSync(here).filter((f) => f.endsWith(".ts"))) {
      expectSameAsZlib(gzipSync(readFileSync(join(here, file))), file);
    }
  });
});

/** Writes DEFLATE bits least significant first; Huffman codes are written most significant bit first. */
class BitWriter {
  private readonly bytes: number[] = [];
  private bit = 0;

  bits(value: number, n: number): this {
    for (let i = 0; i < n; i++) this.push((value >> i) & 1);
    return this;
  }

  code(code: number, n: number): this {
    for (let i = n - 1; i >= 0; i--) this.push((code >> i) & 1);
    return this;
  }

  raw(values: readonly number[]): this {
    this.bit = 0;
    this.bytes.push(...values);
    return this;
  }

  private push(b: number): void {
    if (this.bit === 0) this.bytes.push(0);
    this.bytes[this.bytes.length - 1]! |= b << this.bit;
    this.bit = (this.bit + 1) % 8;
  }

  /** A gzip file: a plain header, these DEFLATE bits, then a trailer of `crcAndSize` (8 bytes; zeros by default). */
  gzip(trailer: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0]): Uint8Array {
    return Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, ...this.bytes, ...trailer]);
  }
}

/** Fixed-Huffman code of a literal/length symbol (RFC 1951 §3.2.6). */
function fixedCode(w: BitWriter, symbol: number): BitWriter {
  if (symbol < 144) return w.code(0x30 + symbol, 8);
  if (symbol < 256) return w.code(0x190 + symbol - 144, 9);
  if (symbol < 280) return w.code(symbol - 256, 7);
  return w.code(0xc0 + symbol - 280, 8);
}

/** A dynamic block header: HLIT, HDIST, HCLEN and the code-length code lengths (3 bits each, in the RFC's order). */
function dynamicHeader(w: BitWriter, nlen: number, ndist: number, codeLengths: readonly number[]): BitWriter {
  w.bits(1, 1).bits(2, 2).bits(nlen - 257, 5).bits(ndist - 1, 5).bits(codeLengths.length - 4, 4);
  for (const l of codeLengths) w.bits(l, 3);
  return w;
}

/**
 * A final dynamic block whose code lengths are `lengths` (literal/length then distance), written with a code-length
 * code of four 2-bit codes: 0 → 00, 1 → 01, 2 → 10, 18 (a run of 11–138 zeros) → 11.
 */
function dynamicBlock(nlen: number, lengths: readonly number[]): BitWriter {
  // HCLEN order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1: lengths for 18, 0, 2 and 1.
  const w = dynamicHeader(new BitWriter(), nlen, lengths.length - nlen, [0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2]);
  for (let i = 0; i < lengths.length; ) {
    let run = 0;
    while (lengths[i + run] === 0 && run < 138) run++;
    if (run >= 11) {
      w.code(3, 2).bits(run - 11, 7);
      i += run;
    } else {
      const l = lengths[i++]!;
      if (l > 2) throw new Error("dynamicBlock: lengths 0–2 only");
      w.code(l, 2);
    }
  }
  return w;
}

/** Code lengths with `set` (symbol → length) and 0 elsewhere. */
function lengthsOf(n: number, set: Readonly<Record<number, number>>): number[] {
  return Array.from({ length: n }, (_, i) => set[i] ?? 0);
}

describe("gunzip on crafted streams", () => {
  const empty = [0, 0, 0, 0, 0, 0, 0, 0]; // the trailer of an empty file: CRC 0, size 0
  const start = () => new BitWriter().bits(1, 1);
  // Code-length code: symbols 0, 16, 17, 18 of length 2 each (listed in the order 16, 17, 18, 0): 00, 01, 10, 11.
  const fourCodes = [2, 2, 2, 2];
  // Literal 65 and end-of-block, 1 bit each; `dist` distance lengths.
  const twoLiterals = (dist: readonly number[]) => [...lengthsOf(257, { 65: 1, 256: 1 }), ...dist];
  const cases: [string, Uint8Array, string][] = [
    ["a stored block with a bad NLEN", start().bits(0, 2).raw([5, 0, 0, 0, 1, 2, 3, 4, 5]).gzip(), "invalid stored block lengths"],
    ["a stored block cut short", start().bits(0, 2).raw([5, 0, 0xfa, 0xff, 1, 2]).gzip([]), "unexpected end of file"],
    ["a stored block, wrong CRC", start().bits(0, 2).raw([2, 0, 0xfd, 0xff, 7, 8]).gzip(), "incorrect data check"],
    ["block type 3", start().bits(3, 2).gzip(), "invalid block type"],
    ["fixed: literal/length symbol 286", fixedCode(start().bits(1, 2), 286).gzip(), "invalid literal/length code"],
    ["fixed: distance symbol 30", fixedCode(fixedCode(start().bits(1, 2), 65), 257).code(30, 5).gzip(), "invalid distance code"],
    ["fixed: a distance before any output", fixedCode(start().bits(1, 2), 257).code(0, 5).gzip(), "invalid distance too far back"],
    ["fixed: distance 2 after one byte", fixedCode(fixedCode(start().bits(1, 2), 65), 257).code(1, 5).gzip(), "invalid distance too far back"],
    ["fixed: an empty file", fixedCode(start().bits(1, 2), 256).gzip(empty), "ok"],
    ["dynamic: HLIT 287", dynamicHeader(new BitWriter(), 287, 1, fourCodes).gzip(), "too many length or distance symbols"],
    ["dynamic: HDIST 31", dynamicHeader(new BitWriter(), 257, 31, fourCodes).gzip(), "too many length or distance symbols"],
    ["dynamic: an over-subscribed code-length code", dynamicHeader(new BitWriter(), 257, 1, [1, 1, 1, 1]).gzip(), "invalid code lengths set"],
    ["dynamic: an incomplete code-length code", dynamicHeader(new BitWriter(), 257, 1, [2, 2, 2, 0]).gzip(), "invalid code lengths set"],
    ["dynamic: no code-length code at all", dynamicHeader(new BitWriter(), 257, 1, [0, 0, 0, 0]).bits(0, 24).bits(0, 24).raw(new Array(40).fill(0)).gzip(), "invalid code -- missing end-of-block"],
    ["dynamic: repeat 16 first", dynamicHeader(new BitWriter(), 257, 1, fourCodes).code(1, 2).bits(0, 2).gzip(), "invalid bit length repeat"],
    ["dynamic: a run of zeros past the end", dynamicHeader(new BitWriter(), 257, 1, fourCodes).code(3, 2).bits(127, 7).code(3, 2).bits(127, 7).gzip(), "invalid bit length repeat"],
    ["dynamic: no end-of-block code", dynamicHeader(new BitWriter(), 257, 1, fourCodes).code(3, 2).bits(127, 7).code(3, 2).bits(109, 7).gzip(), "invalid code -- missing end-of-block"],
    ["dynamic: over-subscribed literal/lengths", dynamicBlock(257, new Array(258).fill(1)).gzip(), "invalid literal/lengths set"],
    ["dynamic: over-subscribed distances", dynamicBlock(257, twoLiterals([1, 1, 1])).gzip(), "invalid distances set"],
    ["dynamic: incomplete distances", dynamicBlock(257, twoLiterals([1, 2])).gzip(), "invalid distances set"],
    ["dynamic: one end-of-block code, no distance code (an empty file)", dynamicBlock(257, [...lengthsOf(257, { 256: 1 }), 0]).code(0, 1).gzip(empty), "ok"],
    ["dynamic: the unused code of a one-code tree", dynamicBlock(257, [...lengthsOf(257, { 256: 1 }), 0]).code(1, 1).gzip(), "invalid literal/length code"],
    ["dynamic: a copy with no distance code", dynamicBlock(258, [...lengthsOf(258, { 65: 2, 256: 2, 257: 1 }), 0]).code(2, 2).code(0, 1).bits(0, 8).gzip(), "invalid distance code"],
    ["dynamic: one distance code, used", dynamicBlock(258, [...lengthsOf(258, { 65: 2, 256: 2, 257: 1 }), 1]).code(2, 2).code(0, 1).code(0, 1).code(3, 2).gzip(trailerOf("AAAA")), "ok"],
  ];
  it.each(cases)("gives zlib's result for %s", (_, bytes, message) => {
    const want = zlibResult(bytes);
    expect("error" in want ? want.error : "ok").toBe(message);
    expectSameAsZlib(bytes, "crafted");
  });

  const member = (text: string) => gzipSync(Buffer.from(text));
  const header = (flags: number, extra: readonly number[]) => {
    const deflated = gzipSync(Buffer.from("hello")).subarray(10); // DEFLATE data and trailer
    return Uint8Array.from([0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3, ...extra, ...deflated]);
  };
  const withHeaderCrc = (good: boolean) => {
    const head = [0x1f, 0x8b, 8, 2, 0, 0, 0, 0, 0, 3];
    const crc = Number(BigInt.asUintN(16, BigInt(crc32Of(Uint8Array.from(head)))));
    return Uint8Array.from([...head, crc & 0xff, (crc >> 8) ^ (good ? 0 : 1), ...gzipSync(Buffer.from("hello")).subarray(10)]);
  };
  const framing: [string, Uint8Array][] = [
    ["two members", Buffer.concat([member("hello "), member("world")])],
    ["trailing zero bytes", Buffer.concat([member("hello"), new Uint8Array(7)])],
    ["a zero byte then garbage", Buffer.concat([member("hello"), Uint8Array.of(0, 1, 2)])],
    ["trailing garbage", Buffer.concat([member("hello"), Uint8Array.of(5, 6)])],
    ["a lone trailing 1f", Buffer.concat([member("hello"), Uint8Array.of(0x1f)])],
    ["FEXTRA", header(4, [3, 0, 1, 2, 3])],
    ["FNAME and FCOMMENT", header(8 | 16, [...Buffer.from("name.idx\0comment\0")])],
    ["FEXTRA cut short", header(4, [200, 0, 1])],
    ["a good FHCRC", withHeaderCrc(true)],
    ["a bad FHCRC", withHeaderCrc(false)],
    ["a header of 5 bytes", member("hello").subarray(0, 5)],
  ];
  it.each(framing)("gives zlib's result for %s", (_, bytes) => {
    expectSameAsZlib(bytes, "framing");
  });
});

/** The trailer (CRC-32, size) of a gzip file of `text`, from zlib. */
function trailerOf(text: string): number[] {
  return [...gzipSync(Buffer.from(text)).subarray(-8)];
}

/** CRC-32 of `bytes` through zlib itself: the CRC in the trailer of a gzip file of those bytes. */
function crc32Of(bytes: Uint8Array): number {
  const gz = gzipSync(bytes);
  return new DataView(gz.buffer, gz.byteOffset + gz.length - 8, 4).getUint32(0, true);
}
