// Seeded PRNG (xoshiro128**) behind every random function, so runs are reproducible on every platform.
//
// Only 32-bit integer arithmetic, IEEE-exact float operations (+ - * / sqrt) and our own logarithm are used:
// Math.log/Math.cos differ between JavaScript engines, so the normal sampler (Marsaglia's polar method) relies on
// detLog below instead, and a seed gives the same numbers in Node, Deno, Bun and every browser.

/** The serialisable state of a {@link Generator}: four 32-bit words plus the cached second normal deviate. */
export interface GeneratorState {
  readonly words: readonly [number, number, number, number];
  readonly spareNormal: number | null;
}

/**
 * A seeded pseudo-random generator (xoshiro128**), the counterpart of `torch.Generator`.
 *
 * ```ts
 * const g = new Generator(42);
 * const x = randn([2, 3], { generator: g }); // same values for seed 42 on every platform
 * ```
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;
  private seedValue = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** The seed this generator was last seeded with. */
  get initialSeed(): number {
    return this.seedValue;
  }

  /** Re-seeds the generator (any integer in ±2^53) and returns it. */
  manualSeed(seed: number): this {
    if (!Number.isSafeInteger(seed)) throw new TypeError(`Generator.manualSeed: seed must be a safe integer, got ${seed}`);
    this.seedValue = seed;
    // splitmix32 over both halves of the seed fills the 128-bit state; never all zero.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) | 0, 0x9e3779b9);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spare = null;
    return this;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 24 random bits, exactly representable in float32. */
  nextFloat(): number {
    return (this.nextUint32() >>> 8) * 5.9604644775390625e-8;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) * 1.1102230246251565e-16;
  }

  /** A standard normal deviate (Marsaglia's polar method, platform-independent). */
  nextNormal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    for (;;) {
      const u = this.nextDouble() * 2 - 1;
      const v = this.nextDouble() * 2 - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * detLog(s)) / s);
      this.spare = v * f;
      return u * f;
    }
  }

  /** A uniform integer in [0, n) without modulo bias (n ≤ 2^32). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new RangeError(`Generator.nextInt: n must be in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  /** Shuffles `array` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: number }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i]!;
      array[i] = array[j]!;
      array[j] = tmp;
    }
    return array;
  }

  /** A copy of the state, to save in a checkpoint (`torch.Generator.get_state`). */
  getState(): GeneratorState {
    return { words: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spareNormal: this.spare };
  }

  /** Restores a state returned by {@link Generator.getState}. */
  setState(state: GeneratorState): this {
    const w = state.words;
    if (!Array.isArray(w) || w.length !== 4 || w.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff)) {
      throw new TypeError("Generator.setState: expected words to be four unsigned 32-bit integers");
    }
    if (w.every((x) => x === 0)) {
      throw new RangeError("Generator.setState: the words are all zero (xoshiro128** would only ever return 0)");
    }
    const spare = state.spareNormal;
    if (spare !== null && !(typeof spare === "number" && Number.isFinite(spare))) {
      throw new TypeError(`Generator.setState: expected spareNormal to be a finite number or null, got ${String(spare)}`);
    }
    [this.s0, this.s1, this.s2, this.s3] = [w[0] | 0, w[1] | 0, w[2] | 0, w[3] | 0];
    this.spare = state.spareNormal;
    return this;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LN2 = 0.6931471805599453;
const SQRT2 = 1.4142135623730951;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Natural logarithm from IEEE-exact operations only (for 0 < x < 2^1023, normal numbers), accurate to ~1 ulp. */
export function detLog(x: number): number {
  f64[0] = x;
  const hi = u32[HI]!;
  let e = ((hi >>> 20) & 0x7ff) - 1023;
  u32[HI] = (hi & 0x800fffff) | (1023 << 20); // mantissa m in [1, 2)
  let m = f64[0]!;
  if (m > SQRT2) {
    m /= 2;
    e += 1;
  }
  const s = (m - 1) / (m + 1); // |s| < 0.1716
  const s2 = s * s;
  let term = s;
  let sum = 0;
  for (let k = 1; k < 40; k += 2) {
    const add = term / k;
    sum += add;
    if (Math.abs(add) < 1e-18) break;
    term *= s2;
  }
  return e * LN2 + 2 * sum;
}

/** The default generator used when no `generator` option is given. */
export const defaultGenerator = new Generator(0);

/** Seeds the default generator (`torch.manual_seed`) and returns it. */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
