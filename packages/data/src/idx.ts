// IDX files (the MNIST format): bytes, raw or gzip, → dims and a Uint8Array view; MNIST split validation. No I/O.
import { gunzip } from "./gunzip.js";

/** A parsed IDX file of unsigned bytes: its dimension sizes and the row-major values. */
export interface IdxArray {
  /** The size of each dimension: `[n]` for labels, `[n, rows, cols]` for images. */
  readonly dims: readonly number[];
  /** The values, row-major: a view of the input (raw) or of the decompressed buffer (gzip), never a copy. */
  readonly data: Uint8Array;
}

/** Options of {@link parseIdx}. */
export interface ParseIdxOptions {
  /** The file name or URL, quoted in error messages. */
  readonly name?: string;
}

/** A malformed IDX file, a corrupt gzip stream, or MNIST data with the wrong sizes or labels. */
export class IdxError extends Error {
  override readonly name = "IdxError";
}

/** One MNIST split: `count` images of 28×28 bytes (row-major, `images.length === count * 784`) and their labels 0–9. */
export interface MnistSplit {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** Pixels per MNIST image (28 × 28). */
export const MNIST_IMAGE_SIZE = 784;

const UNSIGNED_BYTE = 0x08;
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: "unsigned byte", 0x09: "signed byte", 0x0b: "int16", 0x0c: "int32", 0x0d: "float32", 0x0e: "float64",
};

/**
 * Parses an IDX file of unsigned bytes with 1 (labels) or 3 (images) dimensions, raw or gzip-compressed (detected by
 * the gzip magic 1f 8b). The only copy is the decompression itself; `data` is a view.
 *
 * ```ts
 * const { dims, data } = parseIdx(readFileSync("t10k-labels-idx1-ubyte.gz"), { name: "t10k-labels-idx1-ubyte.gz" });
 * dims; // [10000]
 * ```
 * @throws {IdxError} for a corrupt gzip stream, a bad magic number, an unsupported type or rank, or a byte length that
 *   does not match the dimensions; the message names the file, what was expected and what was found.
 */
export function parseIdx(bytes: Uint8Array, options: ParseIdxOptions = {}): IdxArray {
  const where = options.name === undefined ? "parseIdx" : `parseIdx: ${options.name}`;
  let raw = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = gunzip(bytes);
    } catch (error) {
      throw new IdxError(
        `${where}: corrupt gzip stream: expected a complete gzip file, got ${bytes.length} compressed bytes that ` +
          `fail to decompress (${(error as Error).message})`,
      );
    }
  }
  if (raw.length < 4) throw new IdxError(`${where}: expected an IDX header of at least 4 bytes, got ${raw.length}`);
  const type = raw[2]!;
  const rank = raw[3]!;
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw new IdxError(
      `${where}: bad magic number: expected 0x00000801 (IDX1) or 0x00000803 (IDX3), got 0x${hex(raw, 0, 4)}`,
    );
  }
  if (type !== UNSIGNED_BYTE) {
    const known = TYPE_NAMES[type];
    throw new IdxError(
      `${where}: expected data type 0x08 (unsigned byte), got 0x${hex(raw, 2, 1)}${known ? ` (${known})` : ""}`,
    );
  }
  if (rank !== 1 && rank !== 3) throw new IdxError(`${where}: expected 1 or 3 dimensions, got ${rank}`);
  const header = 4 + 4 * rank;
  if (raw.length < header) {
    throw new IdxError(`${where}: truncated header: expected ${header} bytes for ${rank} dimensions, got ${raw.length}`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const expected = header + size;
  if (raw.length !== expected) {
    throw new IdxError(
      `${where}: ${raw.length < expected ? "truncated" : "trailing bytes"}: expected ${header} + ` +
        `${dims.join("×")} = ${expected} bytes, got ${raw.length}`,
    );
  }
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + header, size) };
}

/** Options of {@link toMnistSplit}. */
export interface MnistSplitOptions {
  /** The number of items both files must hold (60,000 for training, 10,000 for testing). */
  readonly expectedCount: number;
  /** Names of the images and labels files, for messages. */
  readonly names?: readonly [images: string, labels: string];
}

/**
 * Checks a parsed images file (`[n, 28, 28]`) and labels file (`[n]`, values 0–9) against the expected count and
 * pairs them as a {@link MnistSplit} (no copy).
 * @throws {IdxError} naming the file, what was expected and what was found.
 */
export function toMnistSplit(images: IdxArray, labels: IdxArray, options: MnistSplitOptions): MnistSplit {
  const { expectedCount, names = ["images", "labels"] } = options;
  checkMnistImages(images, expectedCount, names[0]);
  checkMnistLabels(labels, expectedCount, names[1]);
  return { images: images.data, labels: labels.data, count: expectedCount };
}

/** Checks one images file: `[expectedCount, 28, 28]`. */
export function checkMnistImages(images: IdxArray, expectedCount: number, name: string): void {
  const d = images.dims;
  if (d.length !== 3 || d[0] !== expectedCount || d[1] !== 28 || d[2] !== 28) {
    throw new IdxError(`${name}: expected images of dims [${expectedCount}, 28, 28], got [${d.join(", ")}]`);
  }
}

/** Checks one labels file: `[expectedCount]`, every value in 0–9. */
export function checkMnistLabels(labels: IdxArray, expectedCount: number, name: string): void {
  const d = labels.dims;
  if (d.length !== 1 || d[0] !== expectedCount) {
    throw new IdxError(`${name}: expected labels of dims [${expectedCount}], got [${d.join(", ")}]`);
  }
  const bad = labels.data.findIndex((v) => v > 9);
  if (bad >= 0) throw new IdxError(`${name}: expected labels 0–9, got ${labels.data[bad]} at index ${bad}`);
}

function hex(bytes: Uint8Array, start: number, length: number): string {
  let s = "";
  for (let i = start; i < start + length; i++) s += (bytes[i] ?? 0).toString(16).padStart(2, "0");
  return s;
}
