// safetensors (de)serialisation of float32 state dicts: u64 LE header length, JSON header, raw little-endian data.
import { Tensor, formatShape } from "@tsgrad/tensor";
import type { StateDict } from "./module.js";

/** What {@link loadSafetensors} returns: the tensors in file order and the `__metadata__` strings. */
export interface SafetensorsFile {
  readonly tensors: StateDict;
  readonly metadata: Record<string, string>;
}

/** Raised for bytes that are not a valid float32 safetensors file. */
export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const MAX_HEADER = 100_000_000; // the reference implementation's limit

/** Options of {@link loadSafetensors}. */
export interface LoadSafetensorsOptions {
  /** The file's name or path, named by every error (`loadSafetensors: run.safetensors: truncated file: ...`). */
  readonly name?: string;
}

/** Formats that people load by mistake, recognised by their first bytes. */
const KNOWN_FORMATS: readonly [RegExp, string][] = [
  [/^\s*<(!doctype|html|head|body|\?xml)/i, "an HTML or XML page"],
  [/^\x89PNG/, "a PNG image"],
  [/^\xff\xd8\xff/, "a JPEG image"],
  [/^\x1f\x8b/, "a gzip file"],
  [/^PK\x03\x04/, "a zip archive (a PyTorch .pt/.pth file? save it with safetensors.torch.save_file)"],
  [/^\x80[\x02-\x05]/, "a Python pickle (a PyTorch .pt/.pth file? save it with safetensors.torch.save_file)"],
  [/^\s*[{[]/, "JSON text"],
];

/** What the first bytes of a file look like: a known format, its text, or its bytes in hex. */
function describeStart(bytes: Uint8Array): string {
  const head = Array.from(bytes.subarray(0, 16), (b) => String.fromCharCode(b)).join("");
  const known = KNOWN_FORMATS.find(([re]) => re.test(head));
  const printable = /^[\x20-\x7e\t\r\n]+$/.test(head);
  const start = printable
    ? JSON.stringify(head.length < bytes.length ? `${head}...` : head)
    : `the bytes ${Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ")}`;
  return `it starts with ${start}${known === undefined ? "" : `, like ${known[1]}`}`;
}

/** True when the first bytes (fewer than 8) can still begin a little-endian header length within the limit. */
function plausibleLengthStart(bytes: Uint8Array): boolean {
  return bytes.every((b, i) => (i >= 4 ? b === 0 : i < 3 || b <= MAX_HEADER >>> 24));
}

/**
 * Serialises a state dict as safetensors bytes: an 8-byte little-endian header length, a JSON header (padded with
 * spaces to a multiple of 8) giving each tensor's `dtype` (`"F32"`), `shape` and `data_offsets`, then the data,
 * row-major little-endian, in the state dict's order. PyTorch's `safetensors.torch.load_file` reads it as is.
 *
 * ```ts
 * const bytes = saveSafetensors(model.stateDict(), { epoch: "3" });
 * model.loadStateDict(loadSafetensors(bytes).tensors);
 * ```
 */
export function saveSafetensors(stateDict: StateDict, metadata?: Record<string, string>): Uint8Array {
  if (typeof stateDict !== "object" || stateDict === null) throw new TypeError("saveSafetensors: expected a record of tensors");
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new TypeError(`saveSafetensors: metadata value "${k}" must be a string, got ${typeof v}`);
    }
    header["__metadata__"] = { ...metadata };
  }
  const entries = Object.entries(stateDict);
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new TypeError('saveSafetensors: "__metadata__" cannot name a tensor');
    if (!(t instanceof Tensor)) throw new TypeError(`saveSafetensors: "${name}" is not a Tensor`);
    header[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + 4 * t.numel] };
    offset += 4 * t.numel;
  }
  const json = encodeUtf8(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const [, t] of entries) {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, 4 * t.numel), at);
    else for (let i = 0; i < t.numel; i++) view.setFloat32(at + 4 * i, t.data[i]!, true);
    at += 4 * t.numel;
  }
  return out;
}

/**
 * Parses safetensors bytes into tensors (new `Float32Array`s, ordered by data offset) and the `__metadata__`
 * strings. Only `F32` tensors are accepted. Bad input throws a {@link SafetensorsError} that names the file (when
 * `name` is given) and says what is wrong: "not a safetensors file" for other formats (an HTML page, an image, an empty
 * file: the first 8 bytes give no sensible header length, or the header does not start with `{`), "truncated file"
 * with the sizes, offsets that overlap or leave gaps, a header that is not JSON, an unsupported dtype.
 *
 * ```ts
 * const { tensors, metadata } = loadSafetensors(readFileSync(path), { name: path });
 * ```
 */
export function loadSafetensors(bytes: Uint8Array, { name }: LoadSafetensorsOptions = {}): SafetensorsFile {
  if (name !== undefined && typeof name !== "string") throw new TypeError(`loadSafetensors: name must be a string, got ${typeof name}`);
  const where = name === undefined ? "loadSafetensors" : `loadSafetensors: ${name}`;
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${where}: expected the file's bytes as a Uint8Array`);
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${where}: ${msg}`);
  };
  const notSafetensors = (why: string): never =>
    fail(`not a safetensors file (${why}; a safetensors file starts with an 8-byte header length and a JSON header)`);
  if (bytes.length === 0) notSafetensors("the file is empty");
  if (bytes.length < 8) {
    if (!plausibleLengthStart(bytes)) notSafetensors(describeStart(bytes));
    fail(`truncated file: ${bytes.length} bytes, expected at least 8 for the header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLen > MAX_HEADER || headerLen < 2) notSafetensors(describeStart(bytes));
  if (bytes.length > 8 && bytes[8] !== 0x7b) notSafetensors(`its header starts with ${JSON.stringify(String.fromCharCode(bytes[8]!))}, not "{"`);
  if (8 + headerLen > bytes.length) {
    fail(`truncated file: the header needs ${headerLen} bytes after the length, but only ${bytes.length - 8} remain`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeUtf8(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`the header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const header = parsed as Record<string, unknown>;
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const rawMeta = header["__metadata__"];
  if (rawMeta !== undefined) {
    if (typeof rawMeta !== "object" || rawMeta === null || Array.isArray(rawMeta)) fail("__metadata__ must be an object of strings");
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== "string") fail(`__metadata__ value "${k}" must be a string, got ${JSON.stringify(v)}`);
      metadata[k] = v as string;
    }
  }

  const infos: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (typeof raw !== "object" || raw === null) fail(`entry "${name}" must be an object`);
    const info = raw as Record<string, unknown>;
    if (info["dtype"] !== "F32") fail(`tensor "${name}" has dtype ${JSON.stringify(info["dtype"])}, only "F32" is supported`);
    const shape = info["shape"];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offs = info["data_offsets"];
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const dims = shape as number[];
    const [begin, end] = offs as [number, number];
    const numel = dims.reduce((a, d) => a * d, 1);
    if (end - begin !== 4 * numel) {
      fail(`tensor "${name}" of shape ${formatShape(dims)} needs ${4 * numel} bytes, its data_offsets span ${end - begin}`);
    }
    infos.push({ name, shape: dims, begin, end });
  }
  infos.sort((a, b) => a.begin - b.begin);
  let expected = 0;
  for (const info of infos) {
    if (info.begin !== expected) {
      fail(`tensor "${info.name}" starts at byte ${info.begin} of the data, expected ${expected} (overlap or gap)`);
    }
    expected = info.end;
  }
  if (expected !== dataLen) {
    fail(
      expected > dataLen
        ? `truncated file: the header describes ${expected} bytes of data, only ${dataLen} are present`
        : `the header describes ${expected} bytes of data, but ${dataLen} follow it`,
    );
  }

  const tensors: StateDict = {};
  for (const { name, shape, begin, end } of infos) {
    const n = (end - begin) / 4;
    let data: Float32Array;
    if (LITTLE_ENDIAN) {
      // Uint8Array's own slice: a Node Buffer's slice() is a view into a shared pool, not a copy.
      data = new Float32Array(Uint8Array.prototype.slice.call(bytes, dataStart + begin, dataStart + end).buffer);
    } else {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(dataStart + begin + 4 * i, true);
    }
    tensors[name] = new Tensor(data, shape);
  }
  return { tensors, metadata };
}

/** UTF-8 encoding (TextEncoder is not in the ES library types, and the runtime packages use no DOM types). */
function encodeUtf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Uint8Array.from(out);
}

/** Strict UTF-8 decoding: invalid sequences throw. */
function decodeUtf8(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const len = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    if (len === 0 || i + len > b.length) throw new Error(`invalid UTF-8 at byte ${i}`);
    let cp = len === 1 ? c : c & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) {
      const cc = b[i + k]!;
      if ((cc & 0xc0) !== 0x80) throw new Error(`invalid UTF-8 at byte ${i + k}`);
      cp = (cp << 6) | (cc & 63);
    }
    if ((len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff))) {
      throw new Error(`invalid UTF-8 at byte ${i}`);
    }
    s += String.fromCodePoint(cp);
    i += len;
  }
  return s;
}
