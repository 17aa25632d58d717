// The SIMD kernels as WebAssembly functions, emitted with the assembler: gemm in the three layouts of a Linear and
// Adam's fused update. Every address is an i32 byte offset into the imported memory; arrays are f32, row-major.
import { FunctionBuilder, ModuleBuilder, type Local } from "./assembler.js";

/** Layouts of C = op(A)·op(B): "nt" x·Wᵀ (A [m,k], B [n,k]), "nn" dY·W (A [m,k], B [k,n]), "tn" dYᵀ·x (A [k,m], B [k,n]). */
export type GemmLayout = "nn" | "nt" | "tn";

/** Register blocking of one gemm kernel: `rows` of C by `cols` units (f32x4 vectors for nn/tn, B rows for nt). */
export interface GemmBlocking {
  readonly rows: number;
  readonly cols: number;
  /** "ij": row blocks outside, column blocks inside (A's rows stay in L1); "ji": the reverse (B's panel stays). */
  readonly order: "ij" | "ji";
  /** Steps of the loop over p (nt: f32x4 steps) per iteration, with constant address offsets (default 1). */
  readonly unroll?: number;
}

/**
 * Blockings chosen by measurement on a Zen3 core, Node 20 (`node wg.mjs --tune`, bench/src/wasm-gemm.ts): tiles of
 * 8 f32x4 accumulators win; 12 (4×3, 3×4, 6×2) spill on x64's 16 xmm registers and lose 25–40 %, and unrolling
 * the p loop (`unroll` 2 or 4) lost 20–30 % in every layout, so it stays at 1.
 */
export const DEFAULT_BLOCKING: Readonly<Record<GemmLayout, GemmBlocking>> = {
  nn: { rows: 2, cols: 4, order: "ji" },
  tn: { rows: 4, cols: 2, order: "ji" },
  nt: { rows: 4, cols: 2, order: "ij" },
};

/** Options of the kernel module: the memory import's kind, relaxed SIMD, and, for tuning, the gemm blockings. */
export interface KernelModuleOptions {
  /** Import `env.memory` as a shared memory (for worker threads); it must then be created `shared: true`. */
  readonly shared: boolean;
  /**
   * The gemms' multiply-adds as `f32x4.relaxed_madd` (fused where the CPU has FMA; default false: `f32x4.mul` then
   * `f32x4.add`, bit-stable everywhere). Either way each element's order of operations does not depend on the row
   * split, so results stay bit-identical across thread counts; Adam keeps the plain instructions.
   */
  readonly relaxed?: boolean;
  readonly blocking?: Partial<Record<GemmLayout, GemmBlocking>>;
}

/**
 * Deepest k whose panels of B the nn and tn gemms copy (see {@link GEMM_PANEL_BYTES}); deeper products read B where
 * it lies.
 */
export const GEMM_PANEL_MAX_K = 4096;
/**
 * Bytes of the `panel` block a gemm call may be given: nn and tn copy each column block of B (k rows of up to 16
 * floats) there once and run all their row tiles over the copy. Read in place, the block's rows lie n·4 bytes apart,
 * which for n a multiple of 1024 (n = 9216: the CNN's fc1, its Winograd products) puts them all in one set of
 * the L1 cache and halves the kernel's speed. The copy changes no operation: the same bits.
 */
export const GEMM_PANEL_BYTES = 64 * GEMM_PANEL_MAX_K;

/** Exported names and their signatures (all addresses are i32 byte offsets). */
export interface KernelExports {
  /**
   * C[rowStart..rowEnd) = (or +=, when accumulate ≠ 0) op(A)·op(B); m, n, k as in the JS gemm. `panel`: 0, or a
   * block of {@link GEMM_PANEL_BYTES} bytes of this thread's own (nn and tn copy B's column blocks there; nt
   * ignores it).
   */
  gemm_nn(m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number, rowStart: number, rowEnd: number, panel: number): void;
  gemm_nt(m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number, rowStart: number, rowEnd: number, panel: number): void;
  gemm_tn(m: number, n: number, k: number, a: number, b: number, c: number, accumulate: number, rowStart: number, rowEnd: number, panel: number): void;
  /** Adam on [start, end) of p, g, m, v (formula and scalars: `WasmKernels.adam` in index.ts). */
  adam(p: number, g: number, m: number, v: number, start: number, end: number,
    weightDecay: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number,
    eps: number, stepSize: number, bc2Sqrt: number): void;
}

const GEMM_PARAMS = ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"] as const;

/** Parameters and loop locals shared by the three gemm generators. */
interface GemmContext {
  readonly f: FunctionBuilder;
  readonly m: Local; readonly n: Local; readonly k: Local;
  readonly a: Local; readonly b: Local; readonly c: Local;
  readonly accumulate: Local; readonly rowStart: Local; readonly rowEnd: Local; readonly panel: Local;
  /** Origin (row i, column j) of the current tile of C. */
  readonly i: Local; readonly j: Local;
}

function gemmContext(): GemmContext {
  const f = new FunctionBuilder(GEMM_PARAMS);
  const [m, n, k, a, b, c, accumulate, rowStart, rowEnd, panel] = GEMM_PARAMS.map((_, t) => f.param(t)) as
    [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  return { f, m, n, k, a, b, c, accumulate, rowStart, rowEnd, panel, i: f.local("i32"), j: f.local("i32") };
}

/** A column level of the tiling: tiles `width` columns wide, emitted by `tile(rows)`, after `column()` at each j. */
interface ColumnLevel {
  readonly width: number;
  readonly tile: (rows: number) => void;
  /** Emitted once per column block, before its row tiles (order "ji"), or before each tile (order "ij"). */
  readonly column?: () => void;
}

// for i in rowStart…rowEnd step R (then 1): for j in 0…n step W (each level's width in turn): tile(i, j)
//   (order "ji" swaps the two loops)
/**
 * Loops over the tiles of C: rows [rowStart, rowEnd) in blocks of `rows` then single rows; columns [0, n) by each
 * level in turn (the widest first, then the remainders). `order` picks which of the two loops is outside.
 */
function emitTiling(ctx: GemmContext, rows: number, levels: readonly ColumnLevel[], order: "ij" | "ji"): void {
  const { f, n, rowStart, rowEnd, i, j } = ctx;
  const rowLevels = rows > 1 ? [rows, 1] : [1];
  const iEnd = rowLevels.map(() => f.local("i32"));
  const jEnd = levels.map(() => f.local("i32"));
  // iEnd[0] = rowEnd − (rowEnd − rowStart) mod rows; the last level ends at rowEnd.
  rowLevels.forEach((r, t) => {
    f.localGet(rowEnd);
    if (r > 1) f.localGet(rowEnd).localGet(rowStart).i32Sub().i32Const(r).i32RemU().i32Sub();
    f.localSet(iEnd[t]!);
  });
  levels.forEach((level, t) => {
    f.localGet(n);
    if (level.width > 1) f.localGet(n).i32Const(level.width).i32RemU().i32Sub();
    f.localSet(jEnd[t]!);
  });
  const rowLoop = (inner: (r: number) => void): void => {
    f.localGet(rowStart).localSet(i);
    rowLevels.forEach((r, t) => f.forLoop(i, iEnd[t]!, r, () => inner(r)));
  };
  const colLoop = (inner: (level: ColumnLevel) => void): void => {
    f.i32Const(0).localSet(j);
    levels.forEach((level, t) => f.forLoop(j, jEnd[t]!, level.width, () => inner(level)));
  };
  if (order === "ij") {
    rowLoop((r) => colLoop((level) => {
      level.column?.();
      level.tile(r);
    }));
  } else {
    colLoop((level) => {
      level.column?.();
      rowLoop((r) => level.tile(r));
    });
  }
}

// c[i, j + t] = value[t], or c[i, j + t] += value[t] when accumulating (f32x4 or f32 stores)
/** Stores `count` values (v128 or f32 locals) of one row of C at `ptr` + 16·t (or 4·t), adding C when accumulating. */
function emitStoreRow(f: FunctionBuilder, accumulate: Local, ptr: Local, values: readonly Local[], kind: "v128" | "f32"): void {
  const width = kind === "v128" ? 16 : 4;
  const store = (add: boolean): void => {
    values.forEach((v, t) => {
      f.localGet(ptr);
      if (add) {
        f.localGet(ptr);
        if (kind === "v128") f.v128Load(width * t); else f.f32Load(width * t);
        f.localGet(v);
        if (kind === "v128") f.f32x4Add(); else f.f32Add();
      } else {
        f.localGet(v);
      }
      if (kind === "v128") f.v128Store(width * t); else f.f32Store(width * t);
    });
  };
  f.localGet(accumulate).if(() => store(true), () => store(false));
}

// c[i, j] (+)= Σ_p a[i, p]·b[p, j]   (nn: a at i·k + p; tn: a stored [k, m], at p·m + i)
//   for each tile (rows i..i+R, columns j..j+4V) of c: acc[r][v] = 0
//     for p = 0…k−1: bv[v] = b[p, j+4v…j+4v+3]; s = splat(a[i+r, p]); acc[r][v] += s·bv[v]
//   store acc (adding c when accumulating); leftover columns: one f32x4, then scalars, same order of operations.
/**
 * nn and tn: each step p broadcasts A[i+r, p] (v128.load32_splat) against f32x4 vectors of B's row p, so every
 * lane of an accumulator is one element of C summed over p = 0…k−1 in order, in f32 without fused multiply-add:
 * the result of each element is the same whatever the tile it falls in, hence whatever the row split.
 */
function buildGemmBroadcastA(layout: "nn" | "tn", blocking: GemmBlocking, relaxed: boolean): FunctionBuilder {
  const ctx = gemmContext();
  const { f, m, n, k, a, b, c, accumulate, rowStart, rowEnd, panel, i, j } = ctx;
  const { rows: mr, cols: nv, unroll = 1 } = blocking;
  // Byte strides: A[i, p] is at a + i·aRow + p·aStep; B[p, j] at b + p·bStep + 4j; C[i, j] at c + i·cRow + 4j.
  const aRow = f.local("i32"), aStep = f.local("i32"), bStep = f.local("i32"), kBytesB = f.local("i32");
  if (layout === "nn") {
    f.localGet(k).i32Const(4).i32Mul().localSet(aRow);
    f.i32Const(4).localSet(aStep);
  } else {
    f.i32Const(4).localSet(aRow);
    f.localGet(m).i32Const(4).i32Mul().localSet(aStep);
  }
  f.localGet(n).i32Const(4).i32Mul().localSet(bStep);
  f.localGet(k).localGet(bStep).i32Mul().localSet(kBytesB);
  // B bytes covered by the unrolled loop: (k − k mod unroll)·bStep.
  const kBytesUnrolled = f.local("i32");
  f.localGet(k).localGet(k).i32Const(unroll).i32RemU().i32Sub().localGet(bStep).i32Mul().localSet(kBytesUnrolled);
  // The column block the tiles read: B at (0, j) with rows pStep bytes apart (bStep), or its copy in the panel
  // (rows 16·nv bytes apart), spanning kBytes (kUnrolled in unrolled steps).
  const colB = f.local("i32"), pStep = f.local("i32"), kBytes = f.local("i32"), kUnrolled = f.local("i32");
  // Copy the full-width column blocks when given a panel, k fits it, and at least two row tiles will read the copy.
  const packs = f.local("i32");
  if (blocking.order === "ji") {
    f.localGet(panel).i32Const(0).i32Ne();
    f.localGet(k).i32Const(GEMM_PANEL_MAX_K).i32LeU().i32And();
    f.localGet(rowEnd).localGet(rowStart).i32Sub().i32Const(2 * mr).i32GeU().i32And();
    f.localSet(packs);
  } else {
    f.i32Const(0).localSet(packs);
  }

  // With tn, rows of a tile are adjacent in A: one pointer and constant offsets 4r; with nn, one pointer per row,
  // and the unrolled copies of the p loop read A at constant offsets 4t.
  const rowPtrs = layout === "nn" ? Array.from({ length: mr }, () => f.local("i32")) : [f.local("i32")];
  const aOffset = (r: number, t: number): number => (layout === "tn" ? 4 * r : 4 * t);
  const aPtr = (r: number): Local => rowPtrs[layout === "nn" ? r : 0]!;
  const pb = f.local("i32"), pbEnd = f.local("i32"), pbEndUnrolled = f.local("i32"), pc = f.local("i32");
  const accs = Array.from({ length: mr * nv }, () => f.local("v128"));
  const bv = Array.from({ length: nv }, () => f.local("v128"));
  const splat = f.local("v128");
  const sums = Array.from({ length: mr }, () => f.local("f32"));
  const bs = f.local("f32");

  /** The column block at j read in place: colB = B at (0, j). */
  const inPlaceColumn = (): void => {
    f.localGet(b).localGet(j).i32Const(4).i32Mul().i32Add().localSet(colB);
    f.localGet(bStep).localSet(pStep);
    f.localGet(kBytesB).localSet(kBytes);
    f.localGet(kBytesUnrolled).localSet(kUnrolled);
  };
  // panel[p, 0…4nv) = b[p, j…j+4nv) for p = 0…k−1; colB = panel
  /** The full-width column block at j: copied into the panel when `packs`, else read in place. */
  const fullColumn = (): void => {
    f.localGet(packs).if(() => {
      const src = pb, dst = pc, end = pbEnd; // free between tiles
      f.localGet(b).localGet(j).i32Const(4).i32Mul().i32Add().localSet(src);
      f.localGet(panel).localTee(dst).localGet(k).i32Const(16 * nv).i32Mul().i32Add().localSet(end);
      f.localGet(dst).localGet(end).i32Ne().if(() => f.loop(() => {
        for (let v = 0; v < nv; v++) f.localGet(dst).localGet(src).v128Load(16 * v).v128Store(16 * v);
        f.incrBy(src, bStep);
        f.incr(dst, 16 * nv);
        f.localGet(dst).localGet(end).i32Ne().brIf(0);
      }));
      f.localGet(panel).localSet(colB);
      f.i32Const(16 * nv).localSet(pStep);
      f.localGet(k).i32Const(16 * nv).i32Mul().localSet(kBytes);
      f.localGet(k).localGet(k).i32Const(unroll).i32RemU().i32Sub().i32Const(16 * nv).i32Mul().localSet(kUnrolled);
    }, inPlaceColumn);
  };
  /** Sets the pointers of the tile at (i, j): A's rows at p = 0, B's column block at p = 0, C at (i, j). */
  const setPointers = (rows: number): void => {
    f.localGet(a).localGet(i).localGet(aRow).i32Mul().i32Add().localSet(aPtr(0));
    if (layout === "nn") for (let r = 1; r < rows; r++) f.localGet(aPtr(r - 1)).localGet(aRow).i32Add().localSet(aPtr(r));
    f.localGet(colB).localTee(pb).localGet(kBytes).i32Add().localSet(pbEnd);
    f.localGet(pb).localGet(kUnrolled).i32Add().localSet(pbEndUnrolled);
    f.localGet(c).localGet(i).localGet(n).i32Mul().localGet(j).i32Add().i32Const(4).i32Mul().i32Add().localSet(pc);
  };
  /**
   * Loop over p (nothing when k = 0): `unroll` copies of `body(t)` per iteration while they fit, then one per
   * iteration; `body(t)` reads A at offset aOffset(r, t) and B at pb. Steps stay in order p = 0…k−1.
   */
  const loopOverP = (rows: number, body: (t: number) => void): void => {
    const steps = (copies: number, end: Local): void => {
      f.localGet(pb).localGet(end).i32Ne().if(() => f.loop(() => {
        for (let t = 0; t < copies; t++) {
          body(t);
          if (layout === "tn") f.incrBy(rowPtrs[0]!, aStep);
          f.incrBy(pb, pStep);
        }
        if (layout === "nn") for (const p of rowPtrs.slice(0, rows)) f.incr(p, 4 * copies);
        f.localGet(pb).localGet(end).i32Ne().brIf(0);
      }));
    };
    if (unroll > 1) steps(unroll, pbEndUnrolled);
    steps(1, pbEnd);
  };
  /** C tile of `rows` × `vecs` f32x4 vectors. */
  const vectorTile = (vecs: number) => (rows: number): void => {
    setPointers(rows);
    const acc = (r: number, v: number): Local => accs[r * nv + v]!;
    for (let r = 0; r < rows; r++) for (let v = 0; v < vecs; v++) f.f32x4Const(0).localSet(acc(r, v));
    loopOverP(rows, (t) => {
      for (let v = 0; v < vecs; v++) f.localGet(pb).v128Load(16 * v).localSet(bv[v]!);
      for (let r = 0; r < rows; r++) {
        f.localGet(aPtr(r)).v128Load32Splat(aOffset(r, t)).localSet(splat);
        for (let v = 0; v < vecs; v++) {
          if (relaxed) f.localGet(splat).localGet(bv[v]!).localGet(acc(r, v)).f32x4RelaxedMadd().localSet(acc(r, v));
          else f.localGet(acc(r, v)).localGet(splat).localGet(bv[v]!).f32x4Mul().f32x4Add().localSet(acc(r, v));
        }
      }
    });
    for (let r = 0; r < rows; r++) {
      emitStoreRow(f, accumulate, pc, Array.from({ length: vecs }, (_, v) => acc(r, v)), "v128");
      if (r + 1 < rows) f.localGet(pc).localGet(bStep).i32Add().localSet(pc);
    }
  };
  /** C tile of `rows` × 1 column, scalar, in the same order of operations as one lane of a vector tile. */
  const scalarTile = (rows: number): void => {
    setPointers(rows);
    for (let r = 0; r < rows; r++) f.f32Const(0).localSet(sums[r]!);
    loopOverP(rows, (t) => {
      f.localGet(pb).f32Load().localSet(bs);
      for (let r = 0; r < rows; r++) f.localGet(sums[r]!).localGet(aPtr(r)).f32Load(aOffset(r, t)).localGet(bs).f32Mul().f32Add().localSet(sums[r]!);
    });
    for (let r = 0; r < rows; r++) {
      emitStoreRow(f, accumulate, pc, [sums[r]!], "f32");
      if (r + 1 < rows) f.localGet(pc).localGet(bStep).i32Add().localSet(pc);
    }
  };
  const levels: ColumnLevel[] = [{ width: 4 * nv, tile: vectorTile(nv), column: fullColumn }];
  if (nv > 1) levels.push({ width: 4, tile: vectorTile(1), column: inPlaceColumn });
  levels.push({ width: 1, tile: scalarTile, column: inPlaceColumn });
  emitTiling(ctx, mr, levels, blocking.order);
  return f;
}

// c[i, j] (+)= Σ_p a[i, p]·b[j, p]   (a [m, k], b [n, k]: rows of both contiguous in p)
//   for each tile (rows i..i+R, rows j..j+Q of b): acc[r][q] = f32x4(0)
//     for p = 0, 4, …, k−4: acc[r][q] += a[i+r, p…p+3]·b[j+q, p…p+3]
//     sum[r][q] = (acc.l0 + acc.l1) + (acc.l2 + acc.l3); for the last k mod 4 p: sum += a[i+r, p]·b[j+q, p]
//   store sum (adding c when accumulating).
/**
 * nt: C[i, j] is the dot product of rows i of A and j of B, both contiguous in p. Each accumulator holds four
 * partial sums (lane l sums p ≡ l mod 4 over p < k − k mod 4), reduced as (l0 + l1) + (l2 + l3), then the last
 * k mod 4 products are added in order. That order depends only on p, so row splits give identical results.
 */
function buildGemmNT(blocking: GemmBlocking, relaxed: boolean): FunctionBuilder {
  const ctx = gemmContext();
  const { f, n, k, a, b, c, accumulate, i, j } = ctx;
  const { rows: mr, cols: nr, unroll = 1 } = blocking;
  const rowBytes = f.local("i32"), k4Bytes = f.local("i32"), tailBytes = f.local("i32"), cRow = f.local("i32");
  const unrolledBytes = f.local("i32");
  f.localGet(k).i32Const(4).i32Mul().localSet(rowBytes);
  f.localGet(k).i32Const(-4).i32And().i32Const(4).i32Mul().localSet(k4Bytes);
  f.localGet(k4Bytes).localGet(k4Bytes).i32Const(16 * unroll).i32RemU().i32Sub().localSet(unrolledBytes);
  f.localGet(rowBytes).localGet(k4Bytes).i32Sub().localSet(tailBytes);
  f.localGet(n).i32Const(4).i32Mul().localSet(cRow);
  const pa = Array.from({ length: mr }, () => f.local("i32"));
  const pb = Array.from({ length: nr }, () => f.local("i32"));
  const end = f.local("i32"), pc = f.local("i32"), remBytes = f.local("i32");
  const accs = Array.from({ length: mr * nr }, () => f.local("v128"));
  const bv = Array.from({ length: nr }, () => f.local("v128"));
  const av = f.local("v128");
  const sums = Array.from({ length: mr * nr }, () => f.local("f32"));
  const bs = Array.from({ length: nr }, () => f.local("f32"));
  const as = f.local("f32");

  const tile = (cols: number) => (rows: number): void => {
    const acc = (r: number, q: number): Local => accs[r * nr + q]!;
    const sum = (r: number, q: number): Local => sums[r * nr + q]!;
    f.localGet(a).localGet(i).localGet(rowBytes).i32Mul().i32Add().localSet(pa[0]!);
    for (let r = 1; r < rows; r++) f.localGet(pa[r - 1]!).localGet(rowBytes).i32Add().localSet(pa[r]!);
    f.localGet(b).localGet(j).localGet(rowBytes).i32Mul().i32Add().localSet(pb[0]!);
    for (let q = 1; q < cols; q++) f.localGet(pb[q - 1]!).localGet(rowBytes).i32Add().localSet(pb[q]!);
    f.localGet(c).localGet(i).localGet(n).i32Mul().localGet(j).i32Add().i32Const(4).i32Mul().i32Add().localSet(pc);
    const advance = (bytes: number): void => {
      for (let r = 0; r < rows; r++) f.incr(pa[r]!, bytes);
      for (let q = 0; q < cols; q++) f.incr(pb[q]!, bytes);
    };
    for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) f.f32x4Const(0).localSet(acc(r, q));
    // f32x4 steps: `copies` per iteration at constant offsets, first up to `unrolledBytes`, then one at a time.
    const vectorSteps = (copies: number, span: Local): void => {
      f.localGet(pa[0]!).localGet(span).i32Add().localSet(end);
      f.localGet(pa[0]!).localGet(end).i32Ne().if(() => f.loop(() => {
        for (let t = 0; t < copies; t++) {
          for (let q = 0; q < cols; q++) f.localGet(pb[q]!).v128Load(16 * t).localSet(bv[q]!);
          for (let r = 0; r < rows; r++) {
            f.localGet(pa[r]!).v128Load(16 * t).localSet(av);
            for (let q = 0; q < cols; q++) {
              if (relaxed) f.localGet(av).localGet(bv[q]!).localGet(acc(r, q)).f32x4RelaxedMadd().localSet(acc(r, q));
              else f.localGet(acc(r, q)).localGet(av).localGet(bv[q]!).f32x4Mul().f32x4Add().localSet(acc(r, q));
            }
          }
        }
        advance(16 * copies);
        f.localGet(pa[0]!).localGet(end).i32Ne().brIf(0);
      }));
    };
    if (unroll > 1) {
      vectorSteps(unroll, unrolledBytes);
      f.localGet(k4Bytes).localGet(unrolledBytes).i32Sub().localSet(remBytes);
      vectorSteps(1, remBytes);
    } else {
      vectorSteps(1, k4Bytes);
    }
    for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) {
      const v = acc(r, q);
      f.localGet(v).f32x4ExtractLane(0).localGet(v).f32x4ExtractLane(1).f32Add();
      f.localGet(v).f32x4ExtractLane(2).localGet(v).f32x4ExtractLane(3).f32Add();
      f.f32Add().localSet(sum(r, q));
    }
    f.localGet(pa[0]!).localGet(tailBytes).i32Add().localSet(end);
    f.localGet(pa[0]!).localGet(end).i32Ne().if(() => f.loop(() => {
      for (let q = 0; q < cols; q++) f.localGet(pb[q]!).f32Load().localSet(bs[q]!);
      for (let r = 0; r < rows; r++) {
        f.localGet(pa[r]!).f32Load().localSet(as);
        for (let q = 0; q < cols; q++) f.localGet(sum(r, q)).localGet(as).localGet(bs[q]!).f32Mul().f32Add().localSet(sum(r, q));
      }
      advance(4);
      f.localGet(pa[0]!).localGet(end).i32Ne().brIf(0);
    }));
    for (let r = 0; r < rows; r++) {
      emitStoreRow(f, accumulate, pc, Array.from({ length: cols }, (_, q) => sum(r, q)), "f32");
      if (r + 1 < rows) f.localGet(pc).localGet(cRow).i32Add().localSet(pc);
    }
  };
  const levels: ColumnLevel[] = [{ width: nr, tile: tile(nr) }];
  if (nr > 1) levels.push({ width: 1, tile: tile(1) });
  emitTiling(ctx, mr, levels, blocking.order);
  return f;
}

// for t in [start, end): vector(4t) while a whole f32x4 fits, then scalar(4t).
/**
 * Element loop over [start, end) in f32x4 steps then a scalar tail: `vector(offset)` and `scalar(offset)` emit the
 * body for the element at byte `offset` (a local holding 4·t).
 */
function emitElementLoop(f: FunctionBuilder, start: Local, end: Local, vector: (off: Local) => void, scalar: (off: Local) => void): void {
  const off = f.local("i32"), vecEnd = f.local("i32"), endBytes = f.local("i32");
  f.localGet(start).i32Const(4).i32Mul().localSet(off);
  f.localGet(end).i32Const(4).i32Mul().localSet(endBytes);
  // Vector steps while off + 16 <= endBytes, i.e. off < vecEnd = endBytes − ((endBytes − off) mod 16).
  f.localGet(endBytes).localGet(endBytes).localGet(off).i32Sub().i32Const(16).i32RemU().i32Sub().localSet(vecEnd);
  f.forLoop(off, vecEnd, 16, () => vector(off));
  f.forLoop(off, endBytes, 4, () => scalar(off));
}

// for t in [start, end), four lanes at a time then one:
//   g' = g[t] + wd·p[t] (wd ≠ 0); m[t] = m[t]·β1 + (1−β1)·g'; v[t] = v[t]·β2 + ((1−β2)·g')·g'
//   p[t] = p[t] − stepSize·(m[t] / (√v[t] / √bc2 + eps))
/**
 * adam(p, g, m, v, start, end, wd, β1, 1−β1, β2, 1−β2, eps, stepSize, √bc2), all in f32:
 * g += wd·p (only when wd ≠ 0); m = m·β1 + (1−β1)·g; v = v·β2 + ((1−β2)·g)·g; p −= stepSize·(m / (√v / √bc2 + eps)).
 */
function buildAdam(): FunctionBuilder {
  const f = new FunctionBuilder(["i32", "i32", "i32", "i32", "i32", "i32", "f32", "f32", "f32", "f32", "f32", "f32", "f32", "f32"]);
  const [p, g, m, v, start, end] = [0, 1, 2, 3, 4, 5].map((t) => f.param(t)) as [Local, Local, Local, Local, Local, Local];
  const scalars = [6, 7, 8, 9, 10, 11, 12, 13].map((t) => f.param(t));
  const [wd, beta1, omb1, beta2, omb2, eps, stepSize, bc2Sqrt] = scalars as [Local, Local, Local, Local, Local, Local, Local, Local];
  // Splatted copies of the scalars for the vector loop.
  const vec = scalars.map(() => f.local("v128"));
  scalars.forEach((s, t) => f.localGet(s).f32x4Splat().localSet(vec[t]!));
  const [vWd, vBeta1, vOmb1, vBeta2, vOmb2, vEps, vStep, vBc2] = vec as [Local, Local, Local, Local, Local, Local, Local, Local];
  const gv = f.local("v128"), mv = f.local("v128"), pv = f.local("v128"), vv = f.local("v128");
  const gs = f.local("f32"), ms = f.local("f32"), ps = f.local("f32"), vs = f.local("f32");

  const body = (weightDecay: boolean): void => {
    emitElementLoop(f, start, end, (off) => {
      f.localGet(p).localGet(off).i32Add().v128Load().localSet(pv);
      f.localGet(g).localGet(off).i32Add().v128Load();
      if (weightDecay) f.localGet(vWd).localGet(pv).f32x4Mul().f32x4Add();
      f.localSet(gv);
      f.localGet(m).localGet(off).i32Add();
      f.localGet(m).localGet(off).i32Add().v128Load().localGet(vBeta1).f32x4Mul();
      f.localGet(vOmb1).localGet(gv).f32x4Mul().f32x4Add().localTee(mv).v128Store();
      f.localGet(v).localGet(off).i32Add();
      f.localGet(v).localGet(off).i32Add().v128Load().localGet(vBeta2).f32x4Mul();
      f.localGet(vOmb2).localGet(gv).f32x4Mul().localGet(gv).f32x4Mul().f32x4Add().localTee(vv).v128Store();
      f.localGet(p).localGet(off).i32Add();
      f.localGet(pv);
      f.localGet(vStep);
      f.localGet(mv).localGet(vv).f32x4Sqrt().localGet(vBc2).f32x4Div().localGet(vEps).f32x4Add().f32x4Div();
      f.f32x4Mul().f32x4Sub().v128Store();
    }, (off) => {
      f.localGet(p).localGet(off).i32Add().f32Load().localSet(ps);
      f.localGet(g).localGet(off).i32Add().f32Load();
      if (weightDecay) f.localGet(wd).localGet(ps).f32Mul().f32Add();
      f.localSet(gs);
      f.localGet(m).localGet(off).i32Add();
      f.localGet(m).localGet(off).i32Add().f32Load().localGet(beta1).f32Mul();
      f.localGet(omb1).localGet(gs).f32Mul().f32Add().localTee(ms).f32Store();
      f.localGet(v).localGet(off).i32Add();
      f.localGet(v).localGet(off).i32Add().f32Load().localGet(beta2).f32Mul();
      f.localGet(omb2).localGet(gs).f32Mul().localGet(gs).f32Mul().f32Add().localTee(vs).f32Store();
      f.localGet(p).localGet(off).i32Add();
      f.localGet(ps);
      f.localGet(stepSize);
      f.localGet(ms).localGet(vs).f32Sqrt().localGet(bc2Sqrt).f32Div().localGet(eps).f32Add().f32Div();
      f.f32Mul().f32Sub().f32Store();
    });
  };
  f.localGet(wd).f32Const(0).f32Ne().if(() => body(true), () => body(false));
  return f;
}

/** The kernel module's bytes: `env.memory` imported (shared or not) and the functions of `KernelExports`. */
export function buildKernelModule({ shared, relaxed = false, blocking = {} }: KernelModuleOptions): Uint8Array {
  const mod = new ModuleBuilder();
  mod.importMemory(shared
    ? { module: "env", name: "memory", minPages: 0, maxPages: 65536, shared: true }
    : { module: "env", name: "memory", minPages: 0, shared: false });
  const pick = (layout: GemmLayout): GemmBlocking => blocking[layout] ?? DEFAULT_BLOCKING[layout];
  mod.addFunction(buildGemmBroadcastA("nn", pick("nn"), relaxed), "gemm_nn");
  mod.addFunction(buildGemmNT(pick("nt"), relaxed), "gemm_nt");
  mod.addFunction(buildGemmBroadcastA("tn", pick("tn"), relaxed), "gemm_tn");
  mod.addFunction(buildAdam(), "adam");
  return mod.toBytes();
}
