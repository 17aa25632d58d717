// Printing tensors as PyTorch does (torch/_tensor_str.py): print options, summarisation, Python's number formats.

/** PyTorch's print options (`torch.set_printoptions`), camelCased. */
export interface PrintOptions {
  /** Digits after the decimal point (default 4). */
  readonly precision: number;
  /** Above this many elements a tensor is summarised with "..." (default 1000). */
  readonly threshold: number;
  /** Items shown at the start and end of each summarised dim (default 3). */
  readonly edgeitems: number;
  /** Characters per line before wrapping (default 80). */
  readonly linewidth: number;
  /** Force scientific notation (true) or never use it (false); `null` (default) chooses as PyTorch. */
  readonly sciMode: boolean | null;
}

/** Options of {@link setPrintOptions}: any print option, and PyTorch's profiles, applied first. */
export interface SetPrintOptionsOptions extends Partial<PrintOptions> {
  /** `"default"` (4 digits, 1000, 3, 80), `"short"` (2 digits, 1000, 2, 80) or `"full"` (no summarisation). */
  readonly profile?: "default" | "short" | "full";
}

const PROFILES: Readonly<Record<"default" | "short" | "full", PrintOptions>> = {
  default: { precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80, sciMode: null },
  short: { precision: 2, threshold: 1000, edgeitems: 2, linewidth: 80, sciMode: null },
  full: { precision: 4, threshold: Infinity, edgeitems: 3, linewidth: 80, sciMode: null },
};

let opts: PrintOptions = PROFILES.default;

/**
 * Sets how tensors print (`torch.set_printoptions`): a profile first, then the options given; options left out keep
 * their current value (PyTorch resets `sci_mode` on every call; here it changes only when given).
 *
 * ```ts
 * setPrintOptions({ precision: 2, threshold: Infinity }); // every element, 2 digits
 * setPrintOptions({ profile: "default" });
 * ```
 */
export function setPrintOptions(options: SetPrintOptionsOptions): void {
  const { profile, ...rest } = options;
  if (profile !== undefined && !(profile in PROFILES)) {
    throw new RangeError(`setPrintOptions: profile must be "default", "short" or "full", got ${JSON.stringify(profile)}`);
  }
  const next: PrintOptions = { ...(profile === undefined ? opts : PROFILES[profile]), ...definedOnly(rest) };
  const integer = (name: "precision" | "edgeitems" | "linewidth", min: number, max: number): void => {
    const v = next[name];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`setPrintOptions: ${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  };
  integer("precision", 0, 50);
  integer("edgeitems", 1, 1e6);
  integer("linewidth", 1, 1e6);
  if (typeof next.threshold !== "number" || !(next.threshold >= 0)) {
    throw new RangeError(`setPrintOptions: threshold must be a number >= 0 (Infinity for no summary), got ${String(next.threshold)}`);
  }
  if (next.sciMode !== null && typeof next.sciMode !== "boolean") {
    throw new TypeError(`setPrintOptions: sciMode must be true, false or null, got ${String(next.sciMode)}`);
  }
  opts = next;
}

/** The print options in force. */
export function getPrintOptions(): PrintOptions {
  return { ...opts };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * `x` rounded half to even at `digits` places after the point of its exact decimal expansion, as Python's
 * `"{:.Nf}"` (JavaScript's `toFixed` rounds ties away from zero). `x` is finite and >= 0.
 */
function fixedDigits(x: number, digits: number): string {
  if (x >= 1e21) return `${BigInt(x)}${digits > 0 ? `.${"0".repeat(digits)}` : ""}`; // an integer: toFixed would go exponential
  const exact = x.toFixed(Math.min(100, digits + 40)); // every float32 value of this range in full
  const [int, frac = ""] = exact.split(".") as [string, string?];
  const rounded = roundDigits(int + frac.slice(0, digits), frac.slice(digits));
  const intLen = rounded.length - digits;
  return digits === 0 ? rounded : `${rounded.slice(0, intLen)}.${rounded.slice(intLen)}`;
}

/** The digit string `kept` rounded half to even by the digits that follow it (`rest`); may gain a leading digit. */
function roundDigits(kept: string, rest: string): string {
  const first = rest.charCodeAt(0) - 48;
  const tail = /[1-9]/.test(rest.slice(1));
  const odd = (kept.charCodeAt(kept.length - 1) - 48) % 2 === 1;
  if (!(first > 5 || (first === 5 && (tail || odd)))) return kept;
  const d = kept.split("");
  let i = d.length - 1;
  for (; i >= 0 && d[i] === "9"; i--) d[i] = "0";
  if (i < 0) return `1${d.join("")}`;
  d[i] = String(Number(d[i]) + 1);
  return d.join("");
}

/** Python's `"{:.Nf}"` of a float: `nan`, `inf`, `-0.0000`, half-even ties. */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return (x < 0 || Object.is(x, -0) ? "-" : "") + fixedDigits(Math.abs(x), digits);
}

/** Python's `"{:.Ne}"` of a float: `1.0000e+16`, `1.2346e-05`, half-even ties. */
export function formatExponential(x: number, digits: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  let mantissa: string;
  let exp = 0;
  if (x === 0) {
    mantissa = "0".repeat(digits + 1);
  } else {
    const [m, e] = Math.abs(x).toExponential(Math.min(100, digits + 40)).split("e") as [string, string];
    exp = Number(e);
    const all = m.replace(".", "");
    mantissa = roundDigits(all.slice(0, digits + 1), all.slice(digits + 1));
    if (mantissa.length > digits + 1) {
      mantissa = mantissa.slice(0, digits + 1); // 9.99…5 rounded up to 10.00…: one more power of ten
      exp += 1;
    }
  }
  const body = digits > 0 ? `${mantissa[0]}.${mantissa.slice(1)}` : mantissa;
  return `${sign}${body}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** PyTorch's `_Formatter`: one width and one notation for every element printed. */
class Formatter {
  private intMode = true;
  private sciMode = false;
  private maxWidth = 1;

  constructor(values: readonly number[], private readonly o: PrintOptions) {
    const finite = values.filter((v) => Number.isFinite(v) && v !== 0);
    if (finite.length === 0) return; // no valid number: PyTorch keeps the defaults (and ignores sciMode)
    let min = Infinity;
    let max = 0;
    for (const v of finite) {
      const a = Math.abs(v);
      if (a < min) min = a;
      if (a > max) max = a;
      if (v !== Math.ceil(v)) this.intMode = false;
    }
    const width = (s: string): void => {
      this.maxWidth = Math.max(this.maxWidth, s.length);
    };
    if (this.intMode) {
      if (max / min > 1000 || max > 1e8) {
        this.sciMode = true;
        for (const v of finite) width(formatExponential(v, o.precision));
      } else {
        for (const v of finite) width(`${formatFixed(v, 0)}.`);
      }
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
      this.sciMode = true;
      for (const v of finite) width(formatExponential(v, o.precision));
    } else {
      for (const v of finite) width(formatFixed(v, o.precision));
    }
    if (o.sciMode !== null) this.sciMode = o.sciMode;
  }

  get width(): number {
    return this.maxWidth;
  }

  format(v: number): string {
    let s: string;
    if (this.sciMode) s = formatExponential(v, this.o.precision);
    else if (this.intMode) s = formatFixed(v, 0) + (Number.isFinite(v) ? "." : "");
    else s = formatFixed(v, this.o.precision);
    return s.padStart(this.maxWidth);
  }
}

/** The indices printed along a dim of `size`: all, or the first and last `edge` when summarising. */
function shown(size: number, summarize: boolean, edge: number): number[] {
  if (!summarize || size <= 2 * edge) return Array.from({ length: size }, (_, i) => i);
  return [...Array.from({ length: edge }, (_, i) => i), ...Array.from({ length: edge }, (_, i) => size - edge + i)];
}

/**
 * PyTorch's repr of a float32 tensor (`torch._tensor_str`), with `suffixes` (`requiresGrad=true`, `shape=[2, 3]`)
 * added as `_add_suffixes` does: on the last line while it fits `linewidth`, else on a new line.
 */
export function formatTensor(data: Float32Array, shape: readonly number[], suffixes: readonly string[]): string {
  const o = opts;
  const prefix = "tensor(";
  const indent = prefix.length;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  let body = "[]";
  if (data.length > 0) {
    const summarize = data.length > o.threshold;
    const seen: number[] = [];
    const collect = (dim: number, offset: number): void => {
      if (dim === shape.length) seen.push(data[offset]!);
      else for (const i of shown(shape[dim]!, summarize, o.edgeitems)) collect(dim + 1, offset + i * strides[dim]!);
    };
    collect(0, 0);
    const f = new Formatter(seen, o);
    const str = (dim: number, offset: number, ind: number): string => {
      if (shape.length === 0) return f.format(data[0]!);
      const size = shape[dim]!;
      const cut = summarize && size > 2 * o.edgeitems;
      if (dim === shape.length - 1) {
        const items = shown(size, summarize, o.edgeitems).map((i) => f.format(data[offset + i]!));
        if (cut) items.splice(o.edgeitems, 0, " ...");
        const perLine = Math.max(1, Math.floor((o.linewidth - ind) / (f.width + 2)));
        const lines: string[] = [];
        for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(", "));
        return `[${lines.join(`,\n${" ".repeat(ind + 1)}`)}]`;
      }
      const slices = shown(size, summarize, o.edgeitems).map((i) => str(dim + 1, offset + i * strides[dim]!, ind + 1));
      if (cut) slices.splice(o.edgeitems, 0, "...");
      return `[${slices.join(`,${"\n".repeat(shape.length - dim - 1)}${" ".repeat(ind + 1)}`)}]`;
    };
    body = str(0, 0, indent);
  }
  let out = prefix + body;
  let lastLine = out.length - out.lastIndexOf("\n") + 1; // _add_suffixes' own count
  for (const suffix of suffixes) {
    if (lastLine + suffix.length + 2 > o.linewidth) {
      out += `,\n${" ".repeat(indent)}${suffix}`;
      lastLine = indent + suffix.length;
    } else {
      out += `, ${suffix}`;
      lastLine += suffix.length + 2;
    }
  }
  return `${out})`;
}
