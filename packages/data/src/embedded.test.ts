// The embedded default: JSON decoding, the interleaved order, the 9,000 / 1,000 split, and the real package's bytes.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleEmbedded, decodeDigitJson, interleaveOrder } from "./embedded.js";
import { histogram, sameBytes } from "./fixtures.js";
import { loadEmbeddedMnist } from "./mnist-node.js";

const text = (s: string) => new TextEncoder().encode(s);
const pixels = (values: string) => `{ "data": [${values}] }`;
const image = (...head: number[]) => [...head, ...new Array<number>(784 - head.length).fill(0)].join(",");

describe("decodeDigitJson", () => {
  it("turns values rounded to 3 decimals back into bytes", () => {
    const bytes = decodeDigitJson(text(pixels(image(0, 1, 0.004, 0.2, 0.624, 0.992, 1.0, 0.5))), "x");
    expect(Array.from(bytes.subarray(0, 9))).toEqual([0, 255, 1, 51, 159, 253, 255, 128, 0]);
    expect(bytes.length).toBe(784);
  });

  it("recovers every byte from its 3-decimal rounding", () => {
    const values = Array.from({ length: 784 }, (_, i) => (Math.round(((i % 256) / 255) * 1000) / 1000).toString());
    const bytes = decodeDigitJson(text(`{"data":[ ${values.join(" ,\n")} ]}`), "x");
    expect(Array.from(bytes)).toEqual(Array.from({ length: 784 }, (_, i) => i % 256));
  });

  it("accepts an empty list", () => {
    expect(decodeDigitJson(text('{ "data": [ ] }'), "x").length).toBe(0);
  });

  it.each<[string, string, RegExp]>([
    ["another shape", '{ "pixels": [0] }', /^x\.json: expected JSON of the form \{ "data": \[numbers\] \}, got "\{ \\"pixels\\": "$/],
    ["no list", '{ "data": 0 }', /expected JSON of the form/],
    ["a negative value", pixels("0,-0.5"), /^x\.json: expected a number in \[0, 1\] at byte 13, got "-0.5\] \}"$/],
    ["a value above 1", pixels("0,1.5"), /expected a number in \[0, 1\] at byte 16/],
    ["4 decimals", pixels("0.1234"), /expected at most 3 decimals, got more at byte 16/],
    ["a missing comma", pixels("0 1"), /expected "," or "\]" at byte 13, got "1\] \}"/],
    ["a cut-off file", '{ "data": [0,0.5,', /expected a number in \[0, 1\] at byte 17, got the end of the file/],
    ["a partial image", pixels("0,0,0"), /^x\.json: expected a multiple of 784 values \(28×28 per image\), got 3$/],
  ])("rejects %s", (_, json, message) => {
    expect(() => decodeDigitJson(text(json), "x.json")).toThrow(message);
  });
});

describe("interleaveOrder", () => {
  it("keeps each digit's file order and spreads the digits evenly", () => {
    const { digit, index } = interleaveOrder([2, 4, 1]);
    // keys: d0 1/4 3/4; d1 1/8 3/8 5/8 7/8; d2 1/2
    expect(Array.from(digit)).toEqual([1, 0, 1, 2, 1, 0, 1]);
    expect(Array.from(index)).toEqual([0, 0, 1, 0, 2, 1, 3]);
  });

  it("breaks ties by digit", () => {
    expect(Array.from(interleaveOrder([1, 1, 1]).digit)).toEqual([0, 1, 2]);
  });
});

describe("assembleEmbedded", () => {
  it("rejects a wrong number of files or images", () => {
    expect(() => assembleEmbedded([new Uint8Array(784)])).toThrow("assembleEmbedded: expected 10 digit files, got 1");
    const ten = Array.from({ length: 10 }, () => new Uint8Array(784 * 3));
    expect(() => assembleEmbedded(ten)).toThrow("assembleEmbedded: expected 10000 images, got 30 (3, 3, 3, 3, 3, 3, 3, 3, 3, 3)");
  });

  it("puts the last 1,000 interleaved images into the test split", () => {
    const counts = [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000];
    const digits = counts.map((n, d) => {
      const bytes = new Uint8Array(n * 784).fill(d);
      for (let k = 0; k < n; k++) bytes[k * 784] = k % 250; // pixel 0 = index within the digit
      return bytes;
    });
    const { train, test } = assembleEmbedded(digits);
    expect([train.count, test.count]).toEqual([9000, 1000]);
    expect(histogram(test.labels)).toEqual(new Array(10).fill(100));
    // Test image p is image 900 + floor(p / 10) of digit p % 10: the last tenth of each digit, in file order.
    for (const p of [0, 1, 9, 10, 999]) {
      const img = test.images.subarray(p * 784, (p + 1) * 784);
      expect([img[0], img[1], test.labels[p]]).toEqual([(900 + Math.floor(p / 10)) % 250, p % 10, p % 10]);
    }
  });
});

describe("loadEmbeddedMnist (the mnist 1.1.0 package)", () => {
  const data = loadEmbeddedMnist();
  const digitsDir = join(dirname(createRequire(import.meta.url).resolve("mnist/package.json")), "src", "digits");

  it("loads 9,000 + 1,000 images whose labels are those of the real first 10,000 training images", () => {
    expect([data.train.count, data.test.count]).toEqual([9000, 1000]);
    expect([data.train.images.length, data.test.images.length]).toEqual([9000 * 784, 1000 * 784]);
    expect(data.source).toEqual({ kind: "embedded", location: digitsDir, reason: "it was requested" });
    // The label histogram of the real first 10,000 MNIST training images (train-labels-idx1-ubyte).
    const all = histogram(data.train.labels).map((n, d) => n + histogram(data.test.labels)[d]!);
    expect(all).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect(histogram(data.test.labels)).toEqual([100, 113, 99, 103, 98, 86, 102, 107, 94, 98]);
    expect(data.notice).toMatch(/^Using the embedded MNIST subset: 9,000 train \/ 1,000 test images .*because it was requested; /);
  });

  it("holds every image of the package, each byte recovering the JSON value", () => {
    const files = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(join(digitsDir, `${d}.json`), "utf8")) as { data: number[] }).data);
    const order = interleaveOrder(files.map((f) => f.length / 784));
    for (let p = 0; p < 10000; p++) {
      const split = p < 9000 ? data.train : data.test;
      const q = p < 9000 ? p : p - 9000;
      const d = order.digit[p]!;
      expect(split.labels[q]).toBe(d);
      const values = files[d]!;
      const start = order.index[p]! * 784;
      const bytes = split.images.subarray(q * 784, (q + 1) * 784);
      for (let j = 0; j < 784; j++) {
        const v = values[start + j]!;
        if (bytes[j] !== Math.round(v * 255) || Math.round((bytes[j]! / 255) * 1000) / 1000 !== v) {
          throw new Error(`image ${p} pixel ${j}: byte ${bytes[j]} does not round-trip the JSON value ${v}`);
        }
      }
    }
  });

  it("is deterministic", () => {
    const again = loadEmbeddedMnist("x");
    expect(sameBytes(again.train.images, data.train.images)).toBe(true);
    expect(sameBytes(again.train.labels, data.train.labels)).toBe(true);
    expect(sameBytes(again.test.images, data.test.images)).toBe(true);
    expect(sameBytes(again.test.labels, data.test.labels)).toBe(true);
    expect(again.source).toMatchObject({ reason: "x" });
  });
});
