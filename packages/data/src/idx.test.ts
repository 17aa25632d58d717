// parseIdx on real MNIST files (testdata/mnist, written by scripts/mnist_fixtures.py) and on synthetic files for every
// error; split checks.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { testdataPath } from "@tsgrad/testing";
import { describe, expect, it } from "vitest";
import { histogram, idxBytes, sameBytes } from "./fixtures.js";
import { IdxError, parseIdx, toMnistSplit } from "./idx.js";
import { loadEmbeddedMnist } from "./mnist-node.js";

describe("parseIdx on real MNIST files (written from the embedded default by scripts/mnist_fixtures.py)", () => {
  it("parses the embedded default's 1,000 hold-out images and labels, byte for byte what loadEmbeddedMnist decodes", () => {
    const imagesPath = testdataPath("mnist/embedded-holdout-images-idx3-ubyte.gz");
    const labelsPath = testdataPath("mnist/embedded-holdout-labels-idx1-ubyte.gz");
    const images = parseIdx(readFileSync(imagesPath), { name: imagesPath });
    const labels = parseIdx(readFileSync(labelsPath), { name: labelsPath });
    expect(images.dims).toEqual([1000, 28, 28]);
    expect(labels.dims).toEqual([1000]);
    expect(histogram(labels.data)).toEqual([100, 113, 99, 103, 98, 86, 102, 107, 94, 98]);
    const split = toMnistSplit(images, labels, { expectedCount: 1000 });
    expect(split.count).toBe(1000);
    expect(split.images.length).toBe(1000 * 784);
    expect(split.images.reduce((m, v) => Math.max(m, v), 0)).toBe(255);
    // Python decoded the package's JSON and wrote the IDX files on its own: the same bytes as the TypeScript path.
    const embedded = loadEmbeddedMnist();
    expect(sameBytes(split.images, embedded.test.images)).toBe(true);
    expect(sameBytes(split.labels, embedded.test.labels)).toBe(true);
  });

  it("parses the labels of the first 10,000 training images, with their known histogram", () => {
    const labels = parseIdx(readFileSync(testdataPath("mnist/embedded-labels-idx1-ubyte.gz")));
    expect(labels.dims).toEqual([10000]);
    expect(histogram(labels.data)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  });
});

describe("parseIdx", () => {
  it("reads raw and gzip files alike, returning views rather than copies", () => {
    const raw = idxBytes([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const a = parseIdx(raw);
    const b = parseIdx(gzipSync(raw));
    expect(a.dims).toEqual([2, 2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(b).toEqual(a);
    expect(a.data.buffer).toBe(raw.buffer);
    expect(a.data.byteOffset).toBe(16);
    expect(parseIdx(idxBytes([3], [0, 9, 4])).dims).toEqual([3]);
  });

  const good = idxBytes([2, 28, 28]);
  const gz = gzipSync(good);
  const withByte = (at: number, value: number) => {
    const b = good.slice();
    b[at] = value;
    return b;
  };
  it.each<[string, Uint8Array, RegExp]>([
    ["empty input", new Uint8Array(0), /expected an IDX header of at least 4 bytes, got 0/],
    ["a text file", new TextEncoder().encode("<html>not found</html>"), /bad magic number: expected 0x00000801 \(IDX1\) or 0x00000803 \(IDX3\), got 0x3c68746d/],
    ["a signed-byte file", withByte(2, 0x09), /expected data type 0x08 \(unsigned byte\), got 0x09 \(signed byte\)/],
    ["a float32 file", withByte(2, 0x0d), /got 0x0d \(float32\)/],
    ["an unknown type", withByte(2, 0x42), /expected data type 0x08 \(unsigned byte\), got 0x42$/],
    ["2 dimensions", idxBytes([4, 196]), /expected 1 or 3 dimensions, got 2/],
    ["a truncated header", good.subarray(0, 10), /truncated header: expected 16 bytes for 3 dimensions, got 10/],
    ["truncated data", good.subarray(0, 1000), /truncated: expected 16 \+ 2×28×28 = 1584 bytes, got 1000/],
    ["trailing bytes", new Uint8Array([...good, 0, 0]), /trailing bytes: expected 16 \+ 2×28×28 = 1584 bytes, got 1586/],
    ["a truncated gzip stream", gz.subarray(0, gz.length - 10), /corrupt gzip stream: expected a complete gzip file, got \d+ compressed bytes that fail to decompress \(unexpected end of file\)/],
    ["a corrupt gzip stream", new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff]), /corrupt gzip stream/],
  ])("rejects %s, naming the file", (_, bytes, message) => {
    const call = () => parseIdx(bytes, { name: "some/file.gz" });
    expect(call).toThrow(IdxError);
    expect(call).toThrow(message);
    expect(call).toThrow(/^parseIdx: some\/file\.gz: /);
    expect(() => parseIdx(bytes)).toThrow(/^parseIdx: /);
  });
});

describe("toMnistSplit", () => {
  const images = parseIdx(idxBytes([3, 28, 28]));
  const labels = parseIdx(idxBytes([3], [0, 5, 9]));
  it("pairs matching files without copying", () => {
    const split = toMnistSplit(images, labels, { expectedCount: 3 });
    expect(split).toEqual({ images: images.data, labels: labels.data, count: 3 });
    expect(split.images).toBe(images.data);
  });
  it.each<[string, () => unknown, RegExp]>([
    ["a wrong image count", () => toMnistSplit(images, labels, { expectedCount: 4, names: ["im", "lb"] }), /^im: expected images of dims \[4, 28, 28\], got \[3, 28, 28\]$/],
    ["labels as images", () => toMnistSplit(labels, labels, { expectedCount: 3 }), /^images: expected images of dims \[3, 28, 28\], got \[3\]$/],
    ["a wrong label count", () => toMnistSplit(images, parseIdx(idxBytes([2], [1, 2])), { expectedCount: 3, names: ["im", "lb"] }), /^lb: expected labels of dims \[3\], got \[2\]$/],
    ["a label of 10", () => toMnistSplit(images, parseIdx(idxBytes([3], [1, 10, 2])), { expectedCount: 3 }), /^labels: expected labels 0–9, got 10 at index 1$/],
  ])("rejects %s", (_, call, message) => {
    expect(call).toThrow(IdxError);
    expect(call).toThrow(message);
  });
});
