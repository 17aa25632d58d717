// gzip (RFC 1952) over DEFLATE (RFC 1951) decompression in plain TypeScript, so parseIdx reads .gz files in browsers
// too: the same output, the same checks and the same error messages as Node's zlib.gunzipSync. No I/O.

/** A gzip stream that cannot be decompressed; the message is zlib's own (`unexpected end of file`, ...). */
export class GunzipError extends Error {
  override readonly name = "GunzipError";
}

const EOF = "unexpected end of file";
/** The order in which a dynamic block lists the lengths of the code-length code. */
const CODE_LENGTH_ORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15);
/** Length symbols 257–285: the base length and the extra bits. */
const LENGTH_BASE = Uint16Array.of(
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
);
const LENGTH_EXTRA = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0);
/** Distance symbols 0–29: the base distance and the extra bits. */
const DIST_BASE = Uint16Array.of(
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
);
const DIST_EXTRA = Uint8Array.of(0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13);
/** The symbol of a table entry that no code reaches (zlib's "invalid code" entries). */
const INVALID = 0xfff;
/** Symbols decoded per call of the hot loop. */
const RUN = 1024;
/** The longest copy (and so the most bytes) one symbol can produce. */
const MAX_MATCH = 258;

/**
 * A Huffman decoding table: indexed by the next `bits` input bits (least significant first), each entry holds
 * `symbol << 4 | code length`, so one lookup decodes one symbol.
 */
interface Table {
  readonly entries: Uint16Array;
  readonly mask: number;
}

type TableKind = "codes" | "lengths" | "distances";

/**
 * The canonical Huffman table of `lengths` (RFC 1951 §3.2.2), with zlib's rules: an over-subscribed set is refused,
 * an incomplete one too except a single code of length 1 (the other code then reads as invalid); a set with no codes
 * at all reads every symbol as invalid, except the code-length code, where zlib reads it as the length 0.
 * Returns null for a refused set.
 */
function buildTable(lengths: Uint8Array, kind: TableKind): Table | null {
  const count = new Uint16Array(16);
  for (const l of lengths) count[l]!++;
  let max = 15;
  while (max > 0 && count[max] === 0) max--;
  if (max === 0) {
    const entry = kind === "codes" ? 1 : (INVALID << 4) | 1; // a 1-bit code: symbol 0 (the length 0), or invalid
    return { entries: Uint16Array.of(entry, entry), mask: 1 };
  }
  let left = 1;
  for (let l = 1; l <= 15; l++) {
    left = 2 * left - count[l]!;
    if (left < 0) return null;
  }
  if (left > 0 && (kind === "codes" || max !== 1)) return null;
  const size = 1 << max;
  const entries = new Uint16Array(size);
  if (left > 0) entries.fill((INVALID << 4) | 1); // a complete code fills every entry below
  const next = new Uint16Array(16); // the first code of each length (RFC 1951 §3.2.2 step 2)
  for (let l = 2; l <= 15; l++) next[l] = (next[l - 1]! + count[l - 1]!) << 1;
  for (let symbol = 0; symbol < lengths.length; symbol++) {
    const l = lengths[symbol]!;
    if (l === 0) continue;
    const code = next[l]!++;
    let reversed = 0;
    for (let b = 0; b < l; b++) reversed |= ((code >> b) & 1) << (l - 1 - b);
    const entry = (symbol << 4) | l;
    for (let i = reversed; i < size; i += 1 << l) entries[i] = entry;
  }
  return { entries, mask: size - 1 };
}

let fixed: { lengths: Table; distances: Table } | null = null;

/** The tables of a fixed-Huffman block (RFC 1951 §3.2.6): 288 length symbols and 32 distance symbols. */
function fixedTables(): { lengths: Table; distances: Table } {
  if (fixed === null) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixed = { lengths: buildTable(l, "lengths")!, distances: buildTable(new Uint8Array(32).fill(5), "distances")! };
  }
  return fixed;
}

let crcTables: Int32Array | null = null;

/**
 * CRC-32 (the gzip polynomial, reflected: 0xEDB88320) of `bytes[start, end)`, eight bytes per step ("slicing by 8":
 * table k gives the CRC of a byte followed by k zero bytes).
 */
function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (crcTables === null) {
    crcTables = new Int32Array(8 * 256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTables[n] = c;
    }
    for (let n = 0; n < 256; n++) {
      for (let k = 1; k < 8; k++) {
        const prev = crcTables[(k - 1) * 256 + n]!;
        crcTables[k * 256 + n] = crcTables[prev & 0xff]! ^ (prev >>> 8);
      }
    }
  }
  const t = crcTables;
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c = t[1792 + (lo & 0xff)]! ^ t[1536 + ((lo >>> 8) & 0xff)]! ^ t[1280 + ((lo >>> 16) & 0xff)]! ^ t[1024 + (lo >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^ t[512 + bytes[i + 5]!]! ^ t[256 + bytes[i + 6]!]! ^ t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** The decompressor's state: input position and bit buffer (zlib's `hold`/`bits`), output so far. */
class Inflater {
  /** Next input byte. */
  ip = 0;
  /** Input bits not consumed yet, least significant first (at most 31). */
  hold = 0;
  bits = 0;
  out: Uint8Array;
  /** Bytes written. */
  o = 0;

  constructor(readonly input: Uint8Array, sizeHint: number) {
    this.out = new Uint8Array(sizeHint);
  }

  /** Makes `n` ≤ 24 bits available, or fails with zlib's end-of-input message. */
  need(n: number): void {
    while (this.bits < n) {
      if (this.ip >= this.input.length) throw new GunzipError(EOF);
      this.hold |= this.input[this.ip++]! << this.bits;
      this.bits += 8;
    }
  }

  /** Consumes and returns the next `n` ≤ 24 bits. */
  take(n: number): number {
    this.need(n);
    const v = this.hold & ((1 << n) - 1);
    this.hold >>= n;
    this.bits -= n;
    return v;
  }

  /** Reads one symbol of `table` (needs only the bits of its code, as zlib does). */
  decode(table: Table): number {
    for (;;) {
      const e = table.entries[this.hold & table.mask]!;
      const n = e & 15;
      if (n <= this.bits) {
        this.hold >>= n;
        this.bits -= n;
        return e >>> 4;
      }
      if (this.ip >= this.input.length) throw new GunzipError(EOF);
      this.hold |= this.input[this.ip++]! << this.bits;
      this.bits += 8;
    }
  }

  /** Ensures room for `n` more output bytes, doubling the buffer. */
  reserve(n: number): void {
    if (this.o + n <= this.out.length) return;
    const grown = new Uint8Array(Math.max(2 * this.out.length, this.o + n, 1024));
    grown.set(this.out.subarray(0, this.o));
    this.out = grown;
  }

  /** One gzip member: header, DEFLATE blocks, CRC-32 and length trailer. */
  member(): void {
    const start = this.ip;
    const header = this.take(16);
    if (header !== 0x8b1f) throw new GunzipError("incorrect header check");
    const flags = this.take(16);
    if ((flags & 0xff) !== 8) throw new GunzipError("unknown compression method");
    if (flags & 0xe000) throw new GunzipError("unknown header flags set");
    this.take(16); // modification time
    this.take(16);
    this.take(16); // extra flags, operating system
    if (flags & 0x0400) this.skip(this.take(16)); // FEXTRA
    if (flags & 0x0800) this.skipZeroTerminated(); // FNAME
    if (flags & 0x1000) this.skipZeroTerminated(); // FCOMMENT
    if (flags & 0x0200) {
      const end = this.ip;
      if (this.take(16) !== (crc32(this.input, start, end) & 0xffff)) throw new GunzipError("header crc mismatch");
    }
    const begin = this.o;
    for (let last = 0; last === 0; ) {
      last = this.take(1);
      const type = this.take(2);
      if (type === 0) this.stored();
      else if (type === 1) this.codes(fixedTables().lengths, fixedTables().distances, begin);
      else if (type === 2) this.dynamic(begin);
      else throw new GunzipError("invalid block type");
    }
    this.hold >>= this.bits & 7; // to a byte boundary
    this.bits -= this.bits & 7;
    const crc = this.take(16) + this.take(16) * 0x10000;
    if (crc !== crc32(this.out, begin, this.o)) throw new GunzipError("incorrect data check");
    const size = this.take(16) + this.take(16) * 0x10000;
    if (size !== (this.o - begin) % 0x100000000) throw new GunzipError("incorrect length check");
  }

  private skip(bytes: number): void {
    for (let i = 0; i < bytes; i++) this.take(8);
  }

  private skipZeroTerminated(): void {
    while (this.take(8) !== 0);
  }

  /** A stored block: LEN, NLEN (its complement), LEN raw bytes. */
  private stored(): void {
    this.hold >>= this.bits & 7;
    this.bits -= this.bits & 7;
    const len = this.take(16);
    if (len !== (this.take(16) ^ 0xffff)) throw new GunzipError("invalid stored block lengths");
    // whole bytes still in the bit buffer come first
    this.reserve(len);
    let n = len;
    while (n > 0 && this.bits >= 8) {
      this.out[this.o++] = this.take(8);
      n--;
    }
    const available = Math.min(n, this.input.length - this.ip);
    this.out.set(this.input.subarray(this.ip, this.ip + available), this.o);
    this.o += available;
    this.ip += available;
    if (available < n) throw new GunzipError(EOF);
  }

  /** A dynamic-Huffman block's header: the code-length code, then the literal/length and distance code lengths. */
  private dynamic(begin: number): void {
    this.need(14);
    const nlen = this.take(5) + 257;
    const ndist = this.take(5) + 1;
    const ncode = this.take(4) + 4;
    if (nlen > 286 || ndist > 30) throw new GunzipError("too many length or distance symbols");
    const codeLengths = new Uint8Array(19);
    for (let i = 0; i < ncode; i++) codeLengths[CODE_LENGTH_ORDER[i]!] = this.take(3);
    const codes = buildTable(codeLengths, "codes");
    if (codes === null) throw new GunzipError("invalid code lengths set");
    const lengths = new Uint8Array(nlen + ndist);
    for (let have = 0; have < lengths.length; ) {
      const symbol = this.decode(codes);
      if (symbol < 16) {
        lengths[have++] = symbol;
        continue;
      }
      let value = 0;
      let copy: number;
      if (symbol === 16) {
        copy = 3 + this.take(2);
        if (have === 0) throw new GunzipError("invalid bit length repeat");
        value = lengths[have - 1]!;
      } else {
        copy = symbol === 17 ? 3 + this.take(3) : 11 + this.take(7);
      }
      if (have + copy > lengths.length) throw new GunzipError("invalid bit length repeat");
      lengths.fill(value, have, have + copy);
      have += copy;
    }
    if (lengths[256] === 0) throw new GunzipError("invalid code -- missing end-of-block");
    const lit = buildTable(lengths.subarray(0, nlen), "lengths");
    if (lit === null) throw new GunzipError("invalid literal/lengths set");
    const dist = buildTable(lengths.subarray(nlen), "distances");
    if (dist === null) throw new GunzipError("invalid distances set");
    this.codes(lit, dist, begin);
  }

  /** The compressed data of a block, up to its end-of-block symbol; copies may reach back to this member's `begin`. */
  private codes(lit: Table, dist: Table, begin: number): void {
    while (!this.run(lit, dist, begin));
  }

  /**
   * The hot loop: decodes up to {@link RUN} symbols of a block with its state in locals; true at the end of the
   * block. Bounded runs keep V8 from compiling it in the middle of its first call (on-stack replacement), before
   * its exit had run once: that compiled code then bails out at every exit.
   */
  private run(lit: Table, dist: Table, begin: number): boolean {
    const input = this.input;
    const inputLength = input.length;
    const lt = lit.entries, lm = lit.mask, dt = dist.entries, dm = dist.mask;
    if (this.out.length - this.o < MAX_MATCH) this.reserve(RUN * MAX_MATCH);
    let { ip, hold, bits, out, o } = this;
    // Room for `symbols` symbols of at most MAX_MATCH bytes each: no bounds check per byte.
    const symbols = Math.min(RUN, Math.floor((out.length - o) / MAX_MATCH));
    let end = false;
    for (let count = 0; count < symbols; count++) {
      while (bits < 24 && ip < inputLength) {
        hold |= input[ip++]! << bits;
        bits += 8;
      }
      let e = lt[hold & lm]!;
      let n = e & 15;
      if (n > bits) throw new GunzipError(EOF);
      hold >>= n;
      bits -= n;
      const symbol = e >>> 4;
      if (symbol < 256) {
        out[o++] = symbol;
        continue;
      }
      if (symbol === 256) {
        end = true;
        break;
      }
      if (symbol > 285) throw new GunzipError("invalid literal/length code");
      while (bits < 24 && ip < inputLength) {
        hold |= input[ip++]! << bits;
        bits += 8;
      }
      let length = LENGTH_BASE[symbol - 257]!;
      const lx = LENGTH_EXTRA[symbol - 257]!;
      if (lx > bits) throw new GunzipError(EOF);
      length += hold & ((1 << lx) - 1);
      hold >>= lx;
      bits -= lx;
      e = dt[hold & dm]!;
      n = e & 15;
      if (n > bits) throw new GunzipError(EOF);
      hold >>= n;
      bits -= n;
      const ds = e >>> 4;
      if (ds > 29) throw new GunzipError("invalid distance code");
      while (bits < 24 && ip < inputLength) {
        hold |= input[ip++]! << bits;
        bits += 8;
      }
      const dx = DIST_EXTRA[ds]!;
      if (dx > bits) throw new GunzipError(EOF);
      const distance = DIST_BASE[ds]! + (hold & ((1 << dx) - 1));
      hold >>= dx;
      bits -= dx;
      if (distance > o - begin) throw new GunzipError("invalid distance too far back");
      for (const stop = o + length; o < stop; o++) out[o] = out[o - distance]!;
    }
    // The bits read ahead stay in the buffer: the next symbol, block header or trailer starts with them.
    this.ip = ip;
    this.hold = hold;
    this.bits = bits;
    this.o = o;
    return end;
  }
}

/**
 * Decompresses a gzip file, as Node's `zlib.gunzipSync` does: every member of a multi-member file in turn, trailing
 * zero bytes ignored, the CRC-32 and length of each member checked.
 *
 * ```ts
 * const raw = gunzip(new Uint8Array(await (await fetch("t10k-labels-idx1-ubyte.gz")).arrayBuffer()));
 * ```
 * @throws {GunzipError} with zlib's message, e.g. `unexpected end of file` for a truncated file, `incorrect data
 *   check` for a CRC mismatch, `invalid block type` for corrupt data.
 */
export function gunzip(input: Uint8Array): Uint8Array {
  // The last member's trailer gives its size mod 2^32: an exact guess for a single-member file.
  const n = input.length;
  const hinted = n >= 18 ? (input[n - 4]! | (input[n - 3]! << 8) | (input[n - 2]! << 16) | (input[n - 1]! << 24)) >>> 0 : 0;
  const inflater = new Inflater(input, (hinted > 0 && hinted <= 1032 * n ? hinted : 4 * n) + MAX_MATCH);
  do inflater.member();
  while (inflater.ip < n && input[inflater.ip] !== 0);
  const { out, o } = inflater;
  // A view when the guess was right (the slack is one copy's worth), else a copy that frees the excess.
  return out.length - o <= MAX_MATCH ? out.subarray(0, o) : out.slice(0, o);
}
