// SIMD kernels of the convolutions, emitted with the assembler: zero padding of image planes, the three tile
// transforms of Winograd's F(2×2, 3×3) (input, output, output gradient), 2×2 max pooling, a direct convolution for
// few input channels, the element-wise maps around them (ReLU, its gradient, a product), and the float64 sums of the
// bias gradients (planes of a convolution, columns of a Linear) with a Linear's bias add. Every address is an i32
// byte offset into the imported memory; arrays are f32, row-major. Four tiles of a tile row go through the f32x4 lanes together; the
// tiles that do not fill a group of four (and the edge tiles of the outputs) take a scalar path with the same
// operations in the same order, so every value is computed the same way wherever its tile falls.
import { FunctionBuilder, ModuleBuilder, type Local } from "./assembler.js";

/** Exported names and signatures (all addresses are i32 byte offsets). */
export interface ConvKernelExports {
  /**
   * dst[p, r, q] = src[p, r − padTop, q − padLeft] for the `planes` planes of [height, width] (0 outside), dst planes
   * [paddedH, paddedW].
   */
  pad(src: number, dst: number, planes: number, height: number, width: number, padTop: number, padLeft: number,
    paddedH: number, paddedW: number): void;
  /**
   * V[ξ, c, t] = (Bᵀ·d·B)[ξ] for every 4×4 patch d at (2a, 2b) of the padded planes [images, channels, paddedH,
   * paddedW] (paddedW ≥ 2·tilesW + 2, paddedH ≥ 2·tilesH + 2); t = (image·tilesH + a)·tilesW + b. Plane ξ (a
   * [channels, T] matrix) starts at v + ξ·planeStride bytes (planeStride ≥ 4·channels·T; a stride that is not a
   * multiple of 4 KiB keeps the 16 planes' stores out of each other's cache sets).
   */
  wino_input(src: number, v: number, channels: number, images: number, paddedH: number, paddedW: number,
    tilesH: number, tilesW: number, planeStride: number): void;
  /**
   * out[image, c, 2a + i, 2b + j] = (Aᵀ·M[·, c, t]·A)[i, j] (+ bias[c] when hasBias ≠ 0), cropped to [outH, outW];
   * plane ξ of M at m + ξ·planeStride.
   */
  wino_output(m: number, out: number, channels: number, images: number, outH: number, outW: number,
    tilesH: number, tilesW: number, planeStride: number, bias: number, hasBias: number): void;
  /**
   * Ỹ[ξ, c, t] = (A·y·Aᵀ)[ξ] for the 2×2 blocks y of g [images, channels, outH, outW] (zeros past the edges); plane ξ
   * at yt + ξ·planeStride.
   */
  wino_grad_output(g: number, yt: number, channels: number, images: number, outH: number, outW: number,
    tilesH: number, tilesW: number, planeStride: number): void;
  /**
   * 2×2 max pooling with stride 2 over `planes` planes [height, width] → [outH, outW] (2·outH ≤ height,
   * 2·outW ≤ width): out = the window's maximum in scan order (a later element wins only if greater, or NaN), code
   * (i32) = its position in the window, 0 … 3 (row-major).
   */
  max_pool_2x2(x: number, out: number, code: number, planes: number, height: number, width: number, outH: number, outW: number): void;
  /**
   * The gradient of {@link ConvKernelExports.max_pool_2x2}: every element of dx [planes, height, width] written, the
   * one a window chose (by `code`) as 0 + dy (the value `dx += dy` gives on zeros), the others +0.
   */
  max_pool_2x2_grad(dy: number, code: number, dx: number, planes: number, height: number, width: number, outH: number, outW: number): void;
  /**
   * A stride-1 convolution summed directly: out[img, o, i, j] = Σ_{c, kh, kw} w[o, c, kh, kw]·x[img, c, i + kh, j + kw]
   * (+ bias[o] when hasBias ≠ 0, added last), each sum in f32 from 0 in the order (c, kh, kw) without fused
   * multiply-add: the wasm gemm's order on the im2col patch matrix, so the same bits. x [images, cin, height, width]
   * (already padded), w [cout, cin, kH, kW] with cout a multiple of 4, out [images, cout, height − kH + 1,
   * width − kW + 1].
   */
  conv_direct(x: number, w: number, bias: number, out: number, images: number, cin: number, height: number, width: number,
    cout: number, kH: number, kW: number, hasBias: number): void;
  /** out[i] = x[i] where x[i] > 0 or is NaN (its bits kept), else +0, for i < n. */
  relu(x: number, out: number, n: number): void;
  /** out[i] = +0 where x[i] ≤ 0, else g[i] (NaN in x passes g on), for i < n. */
  relu_grad(x: number, g: number, out: number, n: number): void;
  /** out[i] = a[i] · b[i] (f32), for i < n. */
  mul(a: number, b: number, out: number, n: number): void;
  /**
   * sums[p] (f64) = Σ of plane p of src [planes, len] (f32) in float64, by four partial sums s_(t mod 4) over the
   * first len − len mod 4 elements, the rest added to s0, combined as (s0 + s1) + (s2 + s3): `planeSum` of
   * ops/conv.ts, so the same bits.
   */
  plane_sums(src: number, sums: number, planes: number, len: number): void;
  /**
   * Dropout's mask from the xoshiro128** state at `state` (four i32 words, advanced in place by n steps): step i's
   * output u (`Generator.nextUint32`) drops element i when u >>> 8 < threshold: mask[i] = 0, else `kept`;
   * out[i] = x[i]·mask[i] (f32).
   */
  dropout_mask(state: number, threshold: number, kept: number, x: number, mask: number, out: number, n: number): void;
  /**
   * dst[i] = ((src_0[i] + src_1[i]) + src_2[i]) + … over `partials` arrays of n f32 `stride` bytes apart, added in
   * order in f32 (the partial sums of a weight gradient).
   */
  sum_partials(src: number, dst: number, partials: number, stride: number, n: number): void;
  /** out[i, j] = x[i, j] + b[j] (f32) for `rows` rows of n (a Linear's bias; out may be x). */
  add_rows(x: number, b: number, out: number, rows: number, n: number): void;
  /**
   * sums[j] (f64) = Σ_i g[i, j] over `rows` rows of n, each column summed in float64 from 0 in row order (a Linear's
   * bias gradient, as its JavaScript loop sums it).
   */
  column_sums(g: number, sums: number, rows: number, n: number): void;
}

const EVEN = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]; // lanes 0, 2 of a, then 0, 2 of b
const ODD = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31]; // lanes 1, 3 of a, then 1, 3 of b
const INTERLEAVE_LO = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]; // a0 b0 a1 b1
const INTERLEAVE_HI = [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31]; // a2 b2 a3 b3

type Kind = "v128" | "f32";

/** Arithmetic on locals of one kind (f32x4 or f32), so the vector and scalar paths share their formulas. */
class Ops {
  constructor(private readonly f: FunctionBuilder, private readonly kind: Kind) {}
  add(a: Local, b: Local): this { return this.bin(a, b, "add"); }
  sub(a: Local, b: Local): this { return this.bin(a, b, "sub"); }
  /** Pushes −a. */
  neg(a: Local): this {
    this.f.localGet(a);
    if (this.kind === "v128") this.f.f32x4Neg(); else this.f.f32Neg();
    return this;
  }
  /** Applies + or − to the two values on the stack. */
  apply(op: "add" | "sub"): this {
    if (this.kind === "v128") {
      if (op === "add") this.f.f32x4Add(); else this.f.f32x4Sub();
    } else if (op === "add") this.f.f32Add(); else this.f.f32Sub();
    return this;
  }
  /** Pushes a (op) b. */
  bin(a: Local, b: Local, op: "add" | "sub"): this {
    this.f.localGet(a).localGet(b);
    return this.apply(op);
  }
  /** Pushes (a op1 b) op2 c. */
  three(a: Local, op1: "add" | "sub", b: Local, op2: "add" | "sub", c: Local): this {
    this.bin(a, b, op1);
    this.f.localGet(c);
    return this.apply(op2);
  }
  load(offset = 0): this {
    if (this.kind === "v128") this.f.v128Load(offset); else this.f.f32Load(offset);
    return this;
  }
  store(offset = 0): this {
    if (this.kind === "v128") this.f.v128Store(offset); else this.f.f32Store(offset);
    return this;
  }
}

function params(f: FunctionBuilder, count: number): Local[] {
  return Array.from({ length: count }, (_, i) => f.param(i));
}

/** `for (counter = 0; counter < end; counter++) body()`. */
function countTo(f: FunctionBuilder, counter: Local, end: Local, body: () => void): void {
  f.i32Const(0).localSet(counter);
  f.forLoop(counter, end, 1, body);
}

function buildPad(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [src, dst, planes, height, width, padTop, padLeft, paddedH, paddedW] = params(f, 9) as [Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const p = f.local("i32"), r = f.local("i32"), q = f.local("i32"), ih = f.local("i32");
  const srcRow = f.local("i32"), dstRow = f.local("i32"), end = f.local("i32"), vecEnd = f.local("i32");
  const rowBytes = f.local("i32"), padBytes = f.local("i32");
  f.localGet(paddedW).i32Const(4).i32Mul().localSet(rowBytes);
  f.localGet(padLeft).i32Const(4).i32Mul().localSet(padBytes);
  /** Zeroes bytes [q, end) of the current destination row (q and end multiples of 4). */
  const zero = (): void => {
    f.localGet(end).localGet(end).localGet(q).i32Sub().i32Const(16).i32RemU().i32Sub().localSet(vecEnd);
    f.forLoop(q, vecEnd, 16, () => f.localGet(dstRow).localGet(q).i32Add().f32x4Const(0).v128Store());
    f.forLoop(q, end, 4, () => f.localGet(dstRow).localGet(q).i32Add().f32Const(0).f32Store());
  };
  countTo(f, p, planes, () => {
    countTo(f, r, paddedH, () => {
      f.localGet(dst).localGet(p).localGet(paddedH).i32Mul().localGet(r).i32Add().localGet(rowBytes).i32Mul().i32Add().localSet(dstRow);
      f.localGet(r).localGet(padTop).i32Sub().localSet(ih);
      f.i32Const(0).localSet(q);
      f.localGet(ih).i32Const(0).i32GeS().localGet(ih).localGet(height).i32LtS().i32And().if(() => {
        f.localGet(padBytes).localSet(end);
        zero();
        // Copy the input row to bytes [padBytes, padBytes + 4·width).
        f.localGet(src).localGet(p).localGet(height).i32Mul().localGet(ih).i32Add().localGet(width).i32Mul().i32Const(4).i32Mul().i32Add()
          .localGet(padBytes).i32Sub().localSet(srcRow); // srcRow + q addresses the input element of column q
        f.localGet(padBytes).localGet(width).i32Const(4).i32Mul().i32Add().localSet(end);
        f.localGet(end).localGet(end).localGet(q).i32Sub().i32Const(16).i32RemU().i32Sub().localSet(vecEnd);
        f.forLoop(q, vecEnd, 16, () => f.localGet(dstRow).localGet(q).i32Add().localGet(srcRow).localGet(q).i32Add().v128Load().v128Store());
        f.forLoop(q, end, 4, () => f.localGet(dstRow).localGet(q).i32Add().localGet(srcRow).localGet(q).i32Add().f32Load().f32Store());
        f.localGet(rowBytes).localSet(end);
        zero();
      }, () => {
        f.localGet(rowBytes).localSet(end);
        zero();
      });
    });
  });
  return f;
}

/** Tile geometry shared by the three transforms: loops over images, channels, tile rows, and groups of tile columns. */
interface TileLoop {
  readonly f: FunctionBuilder;
  /** Byte stride between the ξ planes of the transformed array (at least channels·T·4). */
  readonly planeBytes: Local;
  readonly tiles: Local; // T
  readonly img: Local; readonly c: Local; readonly a: Local; readonly b: Local;
}

/** Declares the loop locals and computes T; `planeBytes` is the stride between ξ planes. */
function tileContext(f: FunctionBuilder, images: Local, tilesH: Local, tilesW: Local, planeBytes: Local): TileLoop {
  const tiles = f.local("i32");
  const img = f.local("i32"), c = f.local("i32"), a = f.local("i32"), b = f.local("i32");
  f.localGet(images).localGet(tilesH).i32Mul().localGet(tilesW).i32Mul().localSet(tiles);
  return { f, planeBytes, tiles, img, c, a, b };
}

/**
 * Emits for (img, c): `perPlane()`; for each tile row a: `perRow()`, then `group()` for b = 0, 4, … while
 * b + 4 ≤ `groupEnd`, then `single()` for the remaining b < tilesW.
 */
function tileLoops(
  loop: TileLoop, channels: Local, images: Local, tilesH: Local, tilesW: Local,
  perPlane: () => void, perRow: () => void, groupEnd: Local, group: () => void, single: () => void,
): void {
  const { f, img, c, a, b } = loop;
  const groupLast = f.local("i32");
  countTo(f, img, images, () => {
    countTo(f, c, channels, () => {
      perPlane();
      countTo(f, a, tilesH, () => {
        perRow();
        f.localGet(groupEnd).i32Const(3).i32Sub().localSet(groupLast); // b + 4 <= groupEnd ⇔ b < groupEnd − 3
        f.i32Const(0).localSet(b);
        f.forLoop(b, groupLast, 4, group);
        f.forLoop(b, tilesW, 1, single);
      });
    });
  });
}

function buildWinoInput(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [src, v, channels, images, paddedH, paddedW, tilesH, tilesW, planeStride] = params(f, 9) as [Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const plane = f.local("i32"), patch = f.local("i32"), out = f.local("i32"), rowBytes = f.local("i32"), dstRow = f.local("i32");
  f.localGet(paddedW).i32Const(4).i32Mul().localSet(rowBytes);
  const loop = tileContext(f, images, tilesH, tilesW, planeStride);
  const vec = Array.from({ length: 16 }, () => f.local("v128")); // d[r][q], then reused
  const t = Array.from({ length: 16 }, () => f.local("v128"));
  const l0 = f.local("v128"), l1 = f.local("v128");
  const sd = Array.from({ length: 16 }, () => f.local("f32"));
  const st = Array.from({ length: 16 }, () => f.local("f32"));
  /** The transform of one group (kind v128: four tiles) or tile (f32), d already in `d`, result stored from `out`. */
  const transform = (kind: Kind, d: Local[], tt: Local[]): void => {
    const o = new Ops(f, kind);
    // Rows: t[i][q] = (Bᵀ·d)[i][q].
    for (let q = 0; q < 4; q++) {
      o.sub(d[q]!, d[8 + q]!); f.localSet(tt[q]!);
      o.add(d[4 + q]!, d[8 + q]!); f.localSet(tt[4 + q]!);
      o.sub(d[8 + q]!, d[4 + q]!); f.localSet(tt[8 + q]!);
      o.sub(d[4 + q]!, d[12 + q]!); f.localSet(tt[12 + q]!);
    }
    // Columns: V[i][j] = (t·B)[i][j], stored to plane 4i + j.
    const { planeBytes } = loop;
    for (let i = 0; i < 4; i++) {
      const [t0, t1, t2, t3] = [tt[4 * i]!, tt[4 * i + 1]!, tt[4 * i + 2]!, tt[4 * i + 3]!];
      const store = (j: number, emit: () => void): void => {
        f.localGet(out).localGet(planeBytes).i32Const(4 * i + j).i32Mul().i32Add();
        emit();
        o.store();
      };
      store(0, () => o.sub(t0, t2));
      store(1, () => o.add(t1, t2));
      store(2, () => o.sub(t2, t1));
      store(3, () => o.sub(t1, t3));
    }
  };
  tileLoops(loop, channels, images, tilesH, tilesW,
    () => {
      const { img, c, tiles } = loop;
      f.localGet(src).localGet(img).localGet(channels).i32Mul().localGet(c).i32Add().localGet(paddedH).i32Mul().localGet(paddedW).i32Mul()
        .i32Const(4).i32Mul().i32Add().localSet(plane);
      f.localGet(v).localGet(c).localGet(tiles).i32Mul().localGet(img).localGet(tilesH).i32Mul().localGet(tilesW).i32Mul().i32Add()
        .i32Const(4).i32Mul().i32Add().localSet(dstRow);
    },
    () => {
      const { a } = loop;
      // Advance to tile row a: the patch rows start at padded row 2a; the transformed tiles at a·tilesW.
      f.localGet(dstRow).localGet(a).localGet(tilesW).i32Mul().i32Const(4).i32Mul().i32Add().localSet(out);
      f.localGet(plane).localGet(a).i32Const(2).i32Mul().localGet(rowBytes).i32Mul().i32Add().localSet(patch);
    },
    tilesW,
    () => {
      // Four tiles: columns 2b … 2b + 9 of four patch rows; lanes = tiles (even/odd columns split by shuffles).
      for (let r = 0; r < 4; r++) {
        const row = (): void => { f.localGet(patch).localGet(rowBytes).i32Const(r).i32Mul().i32Add(); };
        row(); f.v128Load(0).localSet(l0);
        row(); f.v128Load(16).localSet(l1);
        f.localGet(l0).localGet(l1).i8x16Shuffle(EVEN).localSet(vec[4 * r]!);
        f.localGet(l0).localGet(l1).i8x16Shuffle(ODD).localSet(vec[4 * r + 1]!);
        row(); f.v128Load(8).localSet(l0);
        row(); f.v128Load(24).localSet(l1);
        f.localGet(l0).localGet(l1).i8x16Shuffle(EVEN).localSet(vec[4 * r + 2]!);
        f.localGet(l0).localGet(l1).i8x16Shuffle(ODD).localSet(vec[4 * r + 3]!);
      }
      transform("v128", vec, t);
      f.incr(out, 16);
      f.incr(patch, 32);
    },
    () => {
      for (let r = 0; r < 4; r++) {
        for (let q = 0; q < 4; q++) f.localGet(patch).localGet(rowBytes).i32Const(r).i32Mul().i32Add().f32Load(4 * q).localSet(sd[4 * r + q]!);
      }
      transform("f32", sd, st);
      f.incr(out, 4);
      f.incr(patch, 8);
    },
  );
  return f;
}

function buildWinoOutput(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [m, out, channels, images, outH, outW, tilesH, tilesW, planeStride, bias, hasBias] = params(f, 11) as [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const biasS = f.local("f32"), biasV = f.local("v128");
  const src = f.local("i32"), srcRow = f.local("i32"), plane = f.local("i32"), dst = f.local("i32"), rowBytes = f.local("i32");
  const fullGroups = f.local("i32"), i0 = f.local("i32"), j0 = f.local("i32"), rowOk = f.local("i32");
  f.localGet(outW).i32Const(4).i32Mul().localSet(rowBytes);
  const mv = Array.from({ length: 16 }, () => f.local("v128"));
  const sv = Array.from({ length: 8 }, () => f.local("v128"));
  const yv = Array.from({ length: 4 }, () => f.local("v128"));
  const ms = Array.from({ length: 16 }, () => f.local("f32"));
  const ss = Array.from({ length: 8 }, () => f.local("f32"));
  const ys = Array.from({ length: 4 }, () => f.local("f32"));
  const loop = tileContext(f, images, tilesH, tilesW, planeStride);
  /** y = Aᵀ·M·A for the loaded M (rows first, then columns), into y00, y01, y10, y11. */
  const transform = (kind: Kind, mm: Local[], s: Local[], y: Local[]): void => {
    const o = new Ops(f, kind);
    for (let q = 0; q < 4; q++) {
      o.three(mm[q]!, "add", mm[4 + q]!, "add", mm[8 + q]!); f.localSet(s[q]!);
      o.three(mm[4 + q]!, "sub", mm[8 + q]!, "sub", mm[12 + q]!); f.localSet(s[4 + q]!);
    }
    for (let i = 0; i < 2; i++) {
      o.three(s[4 * i]!, "add", s[4 * i + 1]!, "add", s[4 * i + 2]!); f.localSet(y[2 * i]!);
      o.three(s[4 * i + 1]!, "sub", s[4 * i + 2]!, "sub", s[4 * i + 3]!); f.localSet(y[2 * i + 1]!);
    }
    const b = kind === "v128" ? biasV : biasS;
    f.localGet(hasBias).if(() => {
      for (const yy of y) { o.add(yy, b); f.localSet(yy); }
    });
  };
  const load = (kind: Kind, mm: Local[]): void => {
    const o = new Ops(f, kind);
    for (let x = 0; x < 16; x++) {
      f.localGet(src).localGet(loop.planeBytes).i32Const(x).i32Mul().i32Add();
      o.load();
      f.localSet(mm[x]!);
    }
  };
  tileLoops(loop, channels, images, tilesH, tilesW,
    () => {
      const { img, c, tiles } = loop;
      f.localGet(m).localGet(c).localGet(tiles).i32Mul().localGet(img).localGet(tilesH).i32Mul().localGet(tilesW).i32Mul().i32Add()
        .i32Const(4).i32Mul().i32Add().localSet(srcRow);
      f.localGet(out).localGet(img).localGet(channels).i32Mul().localGet(c).i32Add().localGet(outH).i32Mul().localGet(outW).i32Mul()
        .i32Const(4).i32Mul().i32Add().localSet(plane);
      f.localGet(hasBias).if(() => {
        f.localGet(bias).localGet(c).i32Const(4).i32Mul().i32Add().f32Load().localTee(biasS).f32x4Splat().localSet(biasV);
      });
    },
    () => {
      const { a } = loop;
      f.localGet(srcRow).localGet(a).localGet(tilesW).i32Mul().i32Const(4).i32Mul().i32Add().localSet(src);
      f.localGet(a).i32Const(2).i32Mul().localSet(i0);
      f.localGet(plane).localGet(i0).localGet(rowBytes).i32Mul().i32Add().localSet(dst);
      // Groups of four tiles go whole only when both output rows exist and 8 columns fit: tilesW' = ⌊outW / 2⌋.
      f.localGet(i0).i32Const(1).i32Add().localGet(outH).i32LtS().localSet(rowOk);
      f.localGet(rowOk).if(() => f.localGet(outW).i32Const(1).i32ShrU().localSet(fullGroups), () => f.i32Const(0).localSet(fullGroups));
    },
    fullGroups,
    () => {
      load("v128", mv);
      transform("v128", mv, sv, yv);
      const [y00, y01, y10, y11] = yv as [Local, Local, Local, Local];
      f.localGet(dst).localGet(y00).localGet(y01).i8x16Shuffle(INTERLEAVE_LO).v128Store(0);
      f.localGet(dst).localGet(y00).localGet(y01).i8x16Shuffle(INTERLEAVE_HI).v128Store(16);
      f.localGet(dst).localGet(rowBytes).i32Add().localGet(y10).localGet(y11).i8x16Shuffle(INTERLEAVE_LO).v128Store(0);
      f.localGet(dst).localGet(rowBytes).i32Add().localGet(y10).localGet(y11).i8x16Shuffle(INTERLEAVE_HI).v128Store(16);
      f.incr(src, 16);
      f.incr(dst, 32);
    },
    () => {
      load("f32", ms);
      transform("f32", ms, ss, ys);
      const { b } = loop;
      f.localGet(b).i32Const(2).i32Mul().localSet(j0);
      const colOk = (): void => { f.localGet(j0).i32Const(1).i32Add().localGet(outW).i32LtS(); };
      f.localGet(dst).localGet(ys[0]!).f32Store(0);
      colOk(); f.if(() => f.localGet(dst).localGet(ys[1]!).f32Store(4));
      f.localGet(rowOk).if(() => {
        f.localGet(dst).localGet(rowBytes).i32Add().localGet(ys[2]!).f32Store(0);
        colOk(); f.if(() => f.localGet(dst).localGet(rowBytes).i32Add().localGet(ys[3]!).f32Store(4));
      });
      f.incr(src, 4);
      f.incr(dst, 8);
    },
  );
  return f;
}

function buildWinoGradOutput(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [g, yt, channels, images, outH, outW, tilesH, tilesW, planeStride] = params(f, 9) as [Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const plane = f.local("i32"), src = f.local("i32"), dstRow = f.local("i32"), out = f.local("i32"), rowBytes = f.local("i32");
  const fullGroups = f.local("i32"), i0 = f.local("i32"), j0 = f.local("i32"), rowOk = f.local("i32");
  f.localGet(outW).i32Const(4).i32Mul().localSet(rowBytes);
  const yv = Array.from({ length: 4 }, () => f.local("v128"));
  const rv = Array.from({ length: 8 }, () => f.local("v128"));
  const p0 = f.local("v128"), p1 = f.local("v128");
  const ys = Array.from({ length: 4 }, () => f.local("f32"));
  const rs = Array.from({ length: 8 }, () => f.local("f32"));
  const loop = tileContext(f, images, tilesH, tilesW, planeStride);
  /** Ỹ = A·y·Aᵀ: rows r = A·y (y0, y0 + y1, y0 − y1, −y1), then the same on each row's two values. */
  const transform = (kind: Kind, y: Local[], r: Local[]): void => {
    const o = new Ops(f, kind);
    const [y00, y01, y10, y11] = y as [Local, Local, Local, Local];
    f.localGet(y00).localSet(r[0]!);
    f.localGet(y01).localSet(r[1]!);
    o.add(y00, y10); f.localSet(r[2]!);
    o.add(y01, y11); f.localSet(r[3]!);
    o.sub(y00, y10); f.localSet(r[4]!);
    o.sub(y01, y11); f.localSet(r[5]!);
    o.neg(y10); f.localSet(r[6]!);
    o.neg(y11); f.localSet(r[7]!);
    const { planeBytes } = loop;
    for (let i = 0; i < 4; i++) {
      const u0 = r[2 * i]!, u1 = r[2 * i + 1]!;
      const store = (j: number, emit: () => void): void => {
        f.localGet(out).localGet(planeBytes).i32Const(4 * i + j).i32Mul().i32Add();
        emit();
        o.store();
      };
      store(0, () => f.localGet(u0));
      store(1, () => o.add(u0, u1));
      store(2, () => o.sub(u0, u1));
      store(3, () => o.neg(u1));
    }
  };
  tileLoops(loop, channels, images, tilesH, tilesW,
    () => {
      const { img, c, tiles } = loop;
      f.localGet(g).localGet(img).localGet(channels).i32Mul().localGet(c).i32Add().localGet(outH).i32Mul().localGet(outW).i32Mul()
        .i32Const(4).i32Mul().i32Add().localSet(plane);
      f.localGet(yt).localGet(c).localGet(tiles).i32Mul().localGet(img).localGet(tilesH).i32Mul().localGet(tilesW).i32Mul().i32Add()
        .i32Const(4).i32Mul().i32Add().localSet(dstRow);
    },
    () => {
      const { a } = loop;
      f.localGet(dstRow).localGet(a).localGet(tilesW).i32Mul().i32Const(4).i32Mul().i32Add().localSet(out);
      f.localGet(a).i32Const(2).i32Mul().localSet(i0);
      f.localGet(plane).localGet(i0).localGet(rowBytes).i32Mul().i32Add().localSet(src);
      f.localGet(i0).i32Const(1).i32Add().localGet(outH).i32LtS().localSet(rowOk);
      f.localGet(rowOk).if(() => f.localGet(outW).i32Const(1).i32ShrU().localSet(fullGroups), () => f.i32Const(0).localSet(fullGroups));
    },
    fullGroups,
    () => {
      for (let r = 0; r < 2; r++) {
        const row = (): void => {
          f.localGet(src);
          if (r === 1) f.localGet(rowBytes).i32Add();
        };
        row(); f.v128Load(0).localSet(p0);
        row(); f.v128Load(16).localSet(p1);
        f.localGet(p0).localGet(p1).i8x16Shuffle(EVEN).localSet(yv[2 * r]!);
        f.localGet(p0).localGet(p1).i8x16Shuffle(ODD).localSet(yv[2 * r + 1]!);
      }
      transform("v128", yv, rv);
      f.incr(out, 16);
      f.incr(src, 32);
    },
    () => {
      const { b } = loop;
      f.localGet(b).i32Const(2).i32Mul().localSet(j0);
      const colOk = (): void => { f.localGet(j0).i32Const(1).i32Add().localGet(outW).i32LtS(); };
      f.localGet(src).f32Load(0).localSet(ys[0]!);
      f.f32Const(0).localSet(ys[1]!);
      f.f32Const(0).localSet(ys[2]!);
      f.f32Const(0).localSet(ys[3]!);
      colOk(); f.if(() => f.localGet(src).f32Load(4).localSet(ys[1]!));
      f.localGet(rowOk).if(() => {
        f.localGet(src).localGet(rowBytes).i32Add().f32Load(0).localSet(ys[2]!);
        colOk(); f.if(() => f.localGet(src).localGet(rowBytes).i32Add().f32Load(4).localSet(ys[3]!));
      });
      transform("f32", ys, rs);
      f.incr(out, 4);
      f.incr(src, 8);
    },
  );
  return f;
}

/** The i32 bit pattern `k` as the f32 that has it (for v128 constants of integer lanes). */
function i32Bits(k: number): number {
  return new Float32Array(new Int32Array([k]).buffer)[0]!;
}

function buildMaxPool2x2(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [x, out, code, planes, height, width, outH, outW] = params(f, 8) as [Local, Local, Local, Local, Local, Local, Local, Local];
  const p = f.local("i32"), r = f.local("i32"), col = f.local("i32"), groupLast = f.local("i32");
  const row0 = f.local("i32"), row1 = f.local("i32"), dst = f.local("i32"), dstCode = f.local("i32"), rowBytes = f.local("i32");
  const l0 = f.local("v128"), l1 = f.local("v128");
  const ev = Array.from({ length: 4 }, () => f.local("v128"));
  const best = f.local("v128"), which = f.local("v128"), mask = f.local("v128");
  const es = Array.from({ length: 4 }, () => f.local("f32"));
  const bestS = f.local("f32"), whichS = f.local("i32");
  f.localGet(width).i32Const(4).i32Mul().localSet(rowBytes);
  f.localGet(outW).i32Const(3).i32Sub().localSet(groupLast);
  countTo(f, p, planes, () => {
    countTo(f, r, outH, () => {
      f.localGet(x).localGet(p).localGet(height).i32Mul().localGet(r).i32Const(2).i32Mul().i32Add().localGet(rowBytes).i32Mul().i32Add().localSet(row0);
      f.localGet(row0).localGet(rowBytes).i32Add().localSet(row1);
      f.localGet(p).localGet(outH).i32Mul().localGet(r).i32Add().localGet(outW).i32Mul().i32Const(4).i32Mul().localTee(dst).localGet(code).i32Add().localSet(dstCode);
      f.localGet(dst).localGet(out).i32Add().localSet(dst);
      f.i32Const(0).localSet(col);
      // Four windows at a time: the even/odd columns of both rows are the window's four elements in scan order.
      f.forLoop(col, groupLast, 4, () => {
        for (const [row, k] of [[row0, 0], [row1, 2]] as const) {
          f.localGet(row).v128Load(0).localSet(l0);
          f.localGet(row).v128Load(16).localSet(l1);
          f.localGet(l0).localGet(l1).i8x16Shuffle(EVEN).localSet(ev[k]!);
          f.localGet(l0).localGet(l1).i8x16Shuffle(ODD).localSet(ev[k + 1]!);
        }
        f.localGet(ev[0]!).localSet(best);
        f.f32x4Const(0).localSet(which);
        for (let k = 1; k < 4; k++) {
          const e = ev[k]!;
          f.localGet(e).localGet(best).f32x4Gt().localGet(e).localGet(e).f32x4Ne().v128Or().localSet(mask);
          f.localGet(e).localGet(best).localGet(mask).v128Bitselect().localSet(best);
          f.f32x4Const(i32Bits(k)).localGet(which).localGet(mask).v128Bitselect().localSet(which);
        }
        f.localGet(dst).localGet(best).v128Store();
        f.localGet(dstCode).localGet(which).v128Store();
        f.incr(row0, 32);
        f.incr(row1, 32);
        f.incr(dst, 16);
        f.incr(dstCode, 16);
      });
      f.forLoop(col, outW, 1, () => {
        f.localGet(row0).f32Load(0).localSet(es[0]!);
        f.localGet(row0).f32Load(4).localSet(es[1]!);
        f.localGet(row1).f32Load(0).localSet(es[2]!);
        f.localGet(row1).f32Load(4).localSet(es[3]!);
        f.localGet(es[0]!).localSet(bestS);
        f.i32Const(0).localSet(whichS);
        for (let k = 1; k < 4; k++) {
          const e = es[k]!;
          f.localGet(e).localGet(bestS).f32Gt().localGet(e).localGet(e).f32Ne().i32Or().if(() => {
            f.localGet(e).localSet(bestS);
            f.i32Const(k).localSet(whichS);
          });
        }
        f.localGet(dst).localGet(bestS).f32Store();
        f.localGet(dstCode).localGet(whichS).i32Store();
        f.incr(row0, 8);
        f.incr(row1, 8);
        f.incr(dst, 4);
        f.incr(dstCode, 4);
      });
    });
  });
  return f;
}

// for each plane p, window row r, window column c:
//   dx[p, 2r + i, 2c + j] = 0 + (code[p, r, c] = 2i + j ? dy[p, r, c] : 0)
// columns ≥ 2·outW and rows ≥ 2·outH (odd sizes) = +0
function buildMaxPool2x2Grad(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [dy, code, dx, planes, height, width, outH, outW] = params(f, 8) as [Local, Local, Local, Local, Local, Local, Local, Local];
  const p = f.local("i32"), r = f.local("i32"), col = f.local("i32"), groupLast = f.local("i32"), end = f.local("i32");
  const row0 = f.local("i32"), row1 = f.local("i32"), src = f.local("i32"), srcCode = f.local("i32"), rowBytes = f.local("i32");
  const d = f.local("v128"), k = f.local("v128"), sel = Array.from({ length: 4 }, () => f.local("v128"));
  const ds = f.local("f32"), ks = f.local("i32");
  f.localGet(width).i32Const(4).i32Mul().localSet(rowBytes);
  f.localGet(outW).i32Const(3).i32Sub().localSet(groupLast);
  f.localGet(dy).localSet(src);
  f.localGet(code).localSet(srcCode);
  /** Stores +0 from `at` up to `endAt` (byte addresses, f32 steps). */
  const zeros = (at: Local, endAt: Local): void => {
    f.localGet(at).localGet(endAt).i32LtU().if(() => f.loop(() => {
      f.localGet(at).f32Const(0).f32Store();
      f.incr(at, 4);
      f.localGet(at).localGet(endAt).i32LtU().brIf(0);
    }));
  };
  countTo(f, p, planes, () => {
    f.localGet(dx).localGet(p).localGet(height).i32Mul().localGet(rowBytes).i32Mul().i32Add().localSet(row0);
    countTo(f, r, outH, () => {
      f.localGet(row0).localGet(rowBytes).i32Add().localSet(row1);
      f.i32Const(0).localSet(col);
      // Four windows at a time: lanes (0, 1) of each window interleaved into row 2r, lanes (2, 3) into row 2r + 1.
      f.forLoop(col, groupLast, 4, () => {
        f.localGet(src).v128Load().localSet(d);
        f.localGet(srcCode).v128Load().localSet(k);
        for (let q = 0; q < 4; q++) {
          f.localGet(d).localGet(k).f32x4Const(i32Bits(q)).i32x4Eq().v128And().f32x4Const(0).f32x4Add().localSet(sel[q]!);
        }
        for (const [row, q] of [[row0, 0], [row1, 2]] as const) {
          f.localGet(row).localGet(sel[q]!).localGet(sel[q + 1]!).i8x16Shuffle(INTERLEAVE_LO).v128Store(0);
          f.localGet(row).localGet(sel[q]!).localGet(sel[q + 1]!).i8x16Shuffle(INTERLEAVE_HI).v128Store(16);
        }
        f.incr(row0, 32);
        f.incr(row1, 32);
        f.incr(src, 16);
        f.incr(srcCode, 16);
      });
      f.forLoop(col, outW, 1, () => {
        f.localGet(src).f32Load().localSet(ds);
        f.localGet(srcCode).i32Load().localSet(ks);
        for (let q = 0; q < 4; q++) {
          f.localGet(q < 2 ? row0 : row1);
          f.localGet(ds).f32Const(0).localGet(ks).i32Const(q).i32Eq().select().f32Const(0).f32Add();
          f.f32Store(4 * (q & 1));
        }
        f.incr(row0, 8);
        f.incr(row1, 8);
        f.incr(src, 4);
        f.incr(srcCode, 4);
      });
      // Columns past the last window, then on to row 2r + 2.
      f.localGet(row0).localGet(width).localGet(outW).i32Const(2).i32Mul().i32Sub().i32Const(4).i32Mul().i32Add().localSet(end);
      f.localGet(end).localGet(rowBytes).i32Add().localSet(col); // row 2r + 1's end (col reused as an address)
      zeros(row0, end);
      zeros(row1, col);
      f.localGet(row1).localSet(row0);
    });
    // Rows past the last window.
    f.localGet(dx).localGet(p).i32Const(1).i32Add().localGet(height).i32Mul().localGet(rowBytes).i32Mul().i32Add().localSet(end);
    zeros(row0, end);
  });
  return f;
}

function buildConvDirect(): FunctionBuilder {
  const f = new FunctionBuilder(Array.from({ length: 12 }, () => "i32" as const));
  const [x, w, bias, out, images, cin, height, width, cout, kH, kW, hasBias] = params(f, 12) as
    [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const img = f.local("i32"), o0 = f.local("i32"), i = f.local("i32"), j = f.local("i32"), c = f.local("i32");
  const kh = f.local("i32"), kw = f.local("i32"), groupEnd = f.local("i32"), outH = f.local("i32"), outW = f.local("i32");
  const wBytes = f.local("i32"), xPlane = f.local("i32"), rowBytes = f.local("i32"), xImg = f.local("i32");
  const wp = f.local("i32"), xp = f.local("i32"), xc = f.local("i32"), dst = f.local("i32"), outPlane = f.local("i32");
  const accV = Array.from({ length: 4 }, () => f.local("v128")), xv = f.local("v128");
  const accS = Array.from({ length: 4 }, () => f.local("f32")), xs = f.local("f32");
  const bq = Array.from({ length: 4 }, () => f.local("f32"));
  f.localGet(height).localGet(kH).i32Sub().i32Const(1).i32Add().localSet(outH);
  f.localGet(width).localGet(kW).i32Sub().i32Const(1).i32Add().localSet(outW);
  f.localGet(cin).localGet(kH).i32Mul().localGet(kW).i32Mul().i32Const(4).i32Mul().localSet(wBytes); // one o's weights
  f.localGet(height).localGet(width).i32Mul().i32Const(4).i32Mul().localSet(xPlane);
  f.localGet(width).i32Const(4).i32Mul().localSet(rowBytes);
  f.localGet(outH).localGet(outW).i32Mul().i32Const(4).i32Mul().localSet(outPlane);
  f.localGet(outW).i32Const(3).i32Sub().localSet(groupEnd); // j + 4 <= outW ⇔ j < outW − 3
  /** The sums of four channels o0 … o0 + 3 at (i, j): one f32x4 (4 columns) or one f32 (1 column) each. */
  const sums = (kind: Kind): void => {
    const acc = kind === "v128" ? accV : accS;
    for (const a of acc) {
      if (kind === "v128") f.f32x4Const(0); else f.f32Const(0);
      f.localSet(a);
    }
    f.localGet(w).localGet(o0).localGet(wBytes).i32Mul().i32Add().localSet(wp);
    f.localGet(xImg).localGet(i).localGet(rowBytes).i32Mul().i32Add().localGet(j).i32Const(4).i32Mul().i32Add().localSet(xc);
    countTo(f, c, cin, () => {
      f.localGet(xc).localSet(xp);
      countTo(f, kh, kH, () => {
        countTo(f, kw, kW, () => {
          f.localGet(xp).localGet(kw).i32Const(4).i32Mul().i32Add();
          if (kind === "v128") f.v128Load().localSet(xv); else f.f32Load().localSet(xs);
          acc.forEach((a, q) => {
            f.localGet(a).localGet(wp);
            if (q > 0) f.localGet(wBytes).i32Const(q).i32Mul().i32Add();
            if (kind === "v128") f.v128Load32Splat().localGet(xv).f32x4Mul().f32x4Add();
            else f.f32Load().localGet(xs).f32Mul().f32Add();
            f.localSet(a);
          });
          f.incr(wp, 4);
        });
        f.incrBy(xp, rowBytes);
      });
      f.incrBy(xc, xPlane);
    });
    // The bias added last, then the stores: channel q at dst + q·outPlane.
    f.localGet(hasBias).if(() => {
      acc.forEach((a, q) => {
        f.localGet(a).localGet(bq[q]!);
        if (kind === "v128") f.f32x4Splat().f32x4Add(); else f.f32Add();
        f.localSet(a);
      });
    });
    acc.forEach((a, q) => {
      f.localGet(dst);
      if (q > 0) f.localGet(outPlane).i32Const(q).i32Mul().i32Add();
      f.localGet(a);
      if (kind === "v128") f.v128Store(); else f.f32Store();
    });
  };
  countTo(f, img, images, () => {
    f.localGet(x).localGet(img).localGet(cin).i32Mul().localGet(xPlane).i32Mul().i32Add().localSet(xImg);
    f.i32Const(0).localSet(o0);
    f.forLoop(o0, cout, 4, () => {
      f.localGet(hasBias).if(() => {
        bq.forEach((b, q) => f.localGet(bias).localGet(o0).i32Const(q).i32Add().i32Const(4).i32Mul().i32Add().f32Load().localSet(b));
      });
      countTo(f, i, outH, () => {
        f.localGet(out).localGet(img).localGet(cout).i32Mul().localGet(o0).i32Add().localGet(outPlane).i32Mul().i32Add()
          .localGet(i).localGet(outW).i32Mul().i32Const(4).i32Mul().i32Add().localSet(dst);
        f.i32Const(0).localSet(j);
        f.forLoop(j, groupEnd, 4, () => {
          sums("v128");
          f.incr(dst, 16);
        });
        f.forLoop(j, outW, 1, () => {
          sums("f32");
          f.incr(dst, 4);
        });
      });
    });
  });
  return f;
}

/**
 * An element-wise map over `inputs` arrays of n f32 (the last parameter) into `out`: `vector` leaves the f32x4 result
 * of the four lanes loaded into its locals on the stack, `scalar` the f32 result of one element; the vector loop runs
 * over ⌊n/4⌋·4 elements, the scalar one over the rest.
 */
function buildMap(
  inputs: number,
  vector: (f: FunctionBuilder, v: Local[]) => void,
  scalar: (f: FunctionBuilder, s: Local[]) => void,
): FunctionBuilder {
  const f = new FunctionBuilder(Array.from({ length: inputs + 2 }, () => "i32" as const));
  const ps = params(f, inputs + 2);
  const ins = ps.slice(0, inputs), out = ps[inputs]!, n = ps[inputs + 1]!;
  const i = f.local("i32"), end = f.local("i32"), vecEnd = f.local("i32");
  const v = ins.map(() => f.local("v128")), sv = ins.map(() => f.local("f32"));
  f.localGet(n).i32Const(4).i32Mul().localSet(end);
  f.localGet(end).i32Const(-16).i32And().localSet(vecEnd);
  f.i32Const(0).localSet(i);
  f.forLoop(i, vecEnd, 16, () => {
    ins.forEach((p, k) => f.localGet(p).localGet(i).i32Add().v128Load().localSet(v[k]!));
    f.localGet(out).localGet(i).i32Add();
    vector(f, v);
    f.v128Store();
  });
  f.forLoop(i, end, 4, () => {
    ins.forEach((p, k) => f.localGet(p).localGet(i).i32Add().f32Load().localSet(sv[k]!));
    f.localGet(out).localGet(i).i32Add();
    scalar(f, sv);
    f.f32Store();
  });
  return f;
}

function buildRelu(): FunctionBuilder {
  // x & (x > 0 | x ≠ x): the bits of x where it is positive or NaN, else +0.
  return buildMap(1,
    (f, [x]) => f.localGet(x!).localGet(x!).f32x4Const(0).f32x4Gt().localGet(x!).localGet(x!).f32x4Ne().v128Or().v128And(),
    (f, [x]) => f.localGet(x!).f32Const(0).localGet(x!).f32Const(0).f32Gt().localGet(x!).localGet(x!).f32Ne().i32Or().select());
}

function buildReluGrad(): FunctionBuilder {
  // g & ~(x ≤ 0).
  return buildMap(2,
    (f, [x, g]) => f.localGet(g!).localGet(x!).f32x4Const(0).f32x4Le().v128AndNot(),
    (f, [x, g]) => f.f32Const(0).localGet(g!).localGet(x!).f32Const(0).f32Le().select());
}

function buildMul(): FunctionBuilder {
  return buildMap(2, (f, [a, b]) => f.localGet(a!).localGet(b!).f32x4Mul(), (f, [a, b]) => f.localGet(a!).localGet(b!).f32Mul());
}

// for each plane p: (s0, s1) += f64(x[t], x[t+1]), (s2, s3) += f64(x[t+2], x[t+3]) for t = 0, 4, …; s0 += f64(x[t]) after;
//   sums[p] = (s0 + s1) + (s2 + s3)
function buildPlaneSums(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32"]);
  const [src, sums, planes, len] = params(f, 4) as [Local, Local, Local, Local];
  const p = f.local("i32"), end = f.local("i32"), vecEnd = f.local("i32"), dst = f.local("i32");
  const lo = f.local("v128"), hi = f.local("v128"), v = f.local("v128"), s0 = f.local("f64");
  f.localGet(sums).localSet(dst);
  countTo(f, p, planes, () => {
    f.localGet(src).localGet(len).i32Const(4).i32Mul().i32Add().localSet(end);
    f.localGet(src).localGet(len).i32Const(-4).i32And().i32Const(4).i32Mul().i32Add().localSet(vecEnd);
    f.f32x4Const(0).localTee(lo).localSet(hi); // all-zero bits: f64x2 (0, 0)
    f.forLoop(src, vecEnd, 16, () => {
      f.localGet(src).v128Load().localSet(v);
      f.localGet(lo).localGet(v).f64x2PromoteLowF32x4().f64x2Add().localSet(lo);
      f.localGet(hi).localGet(v).localGet(v).i8x16Shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7])
        .f64x2PromoteLowF32x4().f64x2Add().localSet(hi);
    });
    f.localGet(lo).f64x2ExtractLane(0).localSet(s0);
    f.forLoop(src, end, 4, () => {
      f.localGet(s0).localGet(src).f32Load().f64PromoteF32().f64Add().localSet(s0);
    });
    f.localGet(dst);
    f.localGet(s0).localGet(lo).f64x2ExtractLane(1).f64Add();
    f.localGet(hi).f64x2ExtractLane(0).localGet(hi).f64x2ExtractLane(1).f64Add();
    f.f64Add().f64Store();
    f.incr(dst, 8);
  });
  return f;
}

// for i < n: u = rotl(s1·5, 7)·9; t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11)
//   m = (u >>> 8) < threshold ? 0 : kept; mask[i] = m; out[i] = x[i]·m
function buildDropoutMask(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "f32", "i32", "i32", "i32", "i32"]);
  const [state, threshold, kept, x, mask, out, n] = params(f, 7) as [Local, Local, Local, Local, Local, Local, Local];
  const s = Array.from({ length: 4 }, () => f.local("i32")), t = f.local("i32"), u = f.local("i32");
  const i = f.local("i32"), end = f.local("i32"), m = f.local("f32"), keptBits = f.local("i32");
  s.forEach((w, k) => f.localGet(state).i32Load(4 * k).localSet(w));
  f.localGet(kept).i32ReinterpretF32().localSet(keptBits);
  f.localGet(n).i32Const(4).i32Mul().localSet(end);
  f.i32Const(0).localSet(i);
  f.forLoop(i, end, 4, () => {
    const [s0, s1, s2, s3] = s as [Local, Local, Local, Local];
    f.localGet(s1).i32Const(5).i32Mul().i32Const(7).i32Rotl().i32Const(9).i32Mul().i32Const(8).i32ShrU().localSet(u);
    f.localGet(s1).i32Const(9).i32Shl().localSet(t);
    f.localGet(s2).localGet(s0).i32Xor().localSet(s2);
    f.localGet(s3).localGet(s1).i32Xor().localSet(s3);
    f.localGet(s1).localGet(s2).i32Xor().localSet(s1);
    f.localGet(s0).localGet(s3).i32Xor().localSet(s0);
    f.localGet(s2).localGet(t).i32Xor().localSet(s2);
    f.localGet(s3).i32Const(11).i32Rotl().localSet(s3);
    // m = dropped ? +0 : kept, without a branch (a select on f32 compiles to one, mispredicted at rate p):
    // bits (dropped − 1) & kept.
    f.localGet(u).localGet(threshold).i32LtU().i32Const(1).i32Sub().localGet(keptBits).i32And().f32ReinterpretI32().localSet(m);
    f.localGet(mask).localGet(i).i32Add().localGet(m).f32Store();
    f.localGet(out).localGet(i).i32Add().localGet(x).localGet(i).i32Add().f32Load().localGet(m).f32Mul().f32Store();
  });
  s.forEach((w, k) => f.localGet(state).localGet(w).i32Store(4 * k));
  return f;
}

// dst[i] = src[i]; for k = 1 … partials − 1: dst[i] += src[k·stride + i]
function buildSumPartials(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32"]);
  const [src, dst, partials, stride, n] = params(f, 5) as [Local, Local, Local, Local, Local];
  const i = f.local("i32"), k = f.local("i32"), at = f.local("i32"), end = f.local("i32"), vecEnd = f.local("i32");
  const sv = f.local("v128"), ss = f.local("f32");
  f.localGet(n).i32Const(4).i32Mul().localSet(end);
  f.localGet(end).i32Const(-16).i32And().localSet(vecEnd);
  /** The sum of element (byte offset) i over the partials: `kind` f32x4 or f32. */
  const sum = (kind: "v128" | "f32"): void => {
    const acc = kind === "v128" ? sv : ss;
    f.localGet(src).localGet(i).i32Add().localTee(at);
    if (kind === "v128") f.v128Load(); else f.f32Load();
    f.localSet(acc);
    f.i32Const(1).localSet(k);
    f.forLoop(k, partials, 1, () => {
      f.localGet(at).localGet(stride).i32Add().localSet(at);
      f.localGet(acc).localGet(at);
      if (kind === "v128") f.v128Load().f32x4Add(); else f.f32Load().f32Add();
      f.localSet(acc);
    });
    f.localGet(dst).localGet(i).i32Add().localGet(acc);
    if (kind === "v128") f.v128Store(); else f.f32Store();
  };
  f.i32Const(0).localSet(i);
  f.forLoop(i, vecEnd, 16, () => sum("v128"));
  f.forLoop(i, end, 4, () => sum("f32"));
  return f;
}

// out[i, j] = x[i, j] + b[j]
function buildAddRows(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32"]);
  const [x, b, out, rows, n] = params(f, 5) as [Local, Local, Local, Local, Local];
  const i = f.local("i32"), j = f.local("i32"), rowEnd = f.local("i32"), vecEnd = f.local("i32");
  countTo(f, i, rows, () => {
    f.localGet(n).i32Const(4).i32Mul().localSet(rowEnd);
    f.localGet(rowEnd).i32Const(-16).i32And().localSet(vecEnd);
    f.i32Const(0).localSet(j);
    f.forLoop(j, vecEnd, 16, () => {
      f.localGet(out).localGet(j).i32Add();
      f.localGet(x).localGet(j).i32Add().v128Load();
      f.localGet(b).localGet(j).i32Add().v128Load().f32x4Add().v128Store();
    });
    f.forLoop(j, rowEnd, 4, () => {
      f.localGet(out).localGet(j).i32Add();
      f.localGet(x).localGet(j).i32Add().f32Load();
      f.localGet(b).localGet(j).i32Add().f32Load().f32Add().f32Store();
    });
    f.localGet(x).localGet(rowEnd).i32Add().localSet(x);
    f.localGet(out).localGet(rowEnd).i32Add().localSet(out);
  });
  return f;
}

// sums[j] = 0; for each row i: sums[j] += f64(g[i, j])
function buildColumnSums(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32"]);
  const [g, sums, rows, n] = params(f, 4) as [Local, Local, Local, Local];
  const i = f.local("i32"), j = f.local("i32"), vecEnd = f.local("i32"), v = f.local("v128"), ps = f.local("i32");
  f.localGet(n).i32Const(-4).i32And().localSet(vecEnd);
  f.i32Const(0).localSet(j);
  f.forLoop(j, n, 1, () => f.localGet(sums).localGet(j).i32Const(8).i32Mul().i32Add().f64Const(0).f64Store());
  countTo(f, i, rows, () => {
    f.i32Const(0).localSet(j);
    f.forLoop(j, vecEnd, 4, () => {
      f.localGet(g).localGet(j).i32Const(4).i32Mul().i32Add().v128Load().localSet(v);
      f.localGet(sums).localGet(j).i32Const(8).i32Mul().i32Add().localSet(ps);
      f.localGet(ps).localGet(ps).v128Load().localGet(v).f64x2PromoteLowF32x4().f64x2Add().v128Store();
      f.localGet(ps).localGet(ps).v128Load(16).localGet(v).localGet(v).i8x16Shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7])
        .f64x2PromoteLowF32x4().f64x2Add().v128Store(16);
    });
    f.forLoop(j, n, 1, () => {
      f.localGet(sums).localGet(j).i32Const(8).i32Mul().i32Add().localTee(ps);
      f.localGet(ps).f64Load().localGet(g).localGet(j).i32Const(4).i32Mul().i32Add().f32Load().f64PromoteF32().f64Add().f64Store();
    });
    f.localGet(g).localGet(n).i32Const(4).i32Mul().i32Add().localSet(g);
  });
  return f;
}

/** The convolution kernel module's bytes: `env.memory` imported (shared or not) and the functions of `ConvKernelExports`. */
export function buildConvKernelModule({ shared }: { readonly shared: boolean }): Uint8Array {
  const mod = new ModuleBuilder();
  mod.importMemory(shared
    ? { module: "env", name: "memory", minPages: 0, maxPages: 65536, shared: true }
    : { module: "env", name: "memory", minPages: 0, shared: false });
  mod.addFunction(buildPad(), "pad");
  mod.addFunction(buildWinoInput(), "wino_input");
  mod.addFunction(buildWinoOutput(), "wino_output");
  mod.addFunction(buildWinoGradOutput(), "wino_grad_output");
  mod.addFunction(buildMaxPool2x2(), "max_pool_2x2");
  mod.addFunction(buildMaxPool2x2Grad(), "max_pool_2x2_grad");
  mod.addFunction(buildConvDirect(), "conv_direct");
  mod.addFunction(buildRelu(), "relu");
  mod.addFunction(buildReluGrad(), "relu_grad");
  mod.addFunction(buildMul(), "mul");
  mod.addFunction(buildPlaneSums(), "plane_sums");
  mod.addFunction(buildDropoutMask(), "dropout_mask");
  mod.addFunction(buildSumPartials(), "sum_partials");
  mod.addFunction(buildAddRows(), "add_rows");
  mod.addFunction(buildColumnSums(), "column_sums");
  return mod.toBytes();
}
