// Matrix-product kernel on raw Float32Arrays (BLAS gemm-style transpose flags); knows nothing of tensors or autograd.

/**
 * The JavaScript kernel (the reference, and the fallback where WebAssembly SIMD is missing), on the calling thread:
 * rows [rowStart, rowEnd) of C[m×n] = op(A)·op(B) (or C += … when `accumulate`), where op(A) is m×k and op(B) is k×n.
 * A is stored row-major as [m, k], or as [k, m] when `transA`; B as [k, n], or as [n, k] when `transB`; operands are
 * read in place at the given offsets. Ops call `gemm` in compute.ts, which picks the backend and the threads.
 *
 * Register-tiled: 4×4 blocks of C in local variables. Each layout a `Linear` needs has its own loop with constant
 * strides (V8 then folds the index arithmetic and every call site stays monomorphic); the fourth (both transposed)
 * takes the generic-stride loop. Whatever the path, C[i, j] is the float64 sum of op(A)[i, p]·op(B)[p, j] over
 * p = 0…k−1 in order, rounded once to float32 at the store (added to C first when `accumulate`): results are
 * bit-identical however rows are split. Self-contained (it calls only the kernels listed in {@link gemmKernelSource}):
 * worker threads run its source text.
 */
export function gemmSerial(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, transA: boolean,
  b: Float32Array, bOff: number, transB: boolean,
  c: Float32Array, cOff: number, accumulate: boolean,
  rowStart: number, rowEnd: number,
): void {
  if (!transA && transB) gemmNT(m, n, k, a, aOff, b, bOff, c, cOff, accumulate, rowStart, rowEnd);
  else if (transA && !transB) gemmTN(m, n, k, a, aOff, b, bOff, c, cOff, accumulate, rowStart, rowEnd);
  else if (!transA) gemmNN(m, n, k, a, aOff, b, bOff, c, cOff, accumulate, rowStart, rowEnd);
  else gemmStrided(m, n, k, a, aOff, transA, b, bOff, transB, c, cOff, accumulate, rowStart, rowEnd);
}

/**
 * C = A·Bᵀ with A stored [m, k] and B stored [n, k] (a `Linear`'s forward x·Wᵀ): each element is a dot product of two
 * contiguous rows. 4×4 tiles of C in locals, one index p for the eight row streams.
 */
export function gemmNT(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number,
  b: Float32Array, bOff: number,
  c: Float32Array, cOff: number, accumulate: boolean,
  rowStart: number, rowEnd: number,
): void {
  const i4 = rowStart + ((rowEnd - rowStart) & ~3);
  const n4 = n & ~3;
  for (let i = rowStart; i < i4; i += 4) {
    const ar0 = aOff + i * k, ar1 = ar0 + k, ar2 = ar1 + k, ar3 = ar2 + k;
    const cr0 = cOff + i * n, cr1 = cr0 + n, cr2 = cr1 + n, cr3 = cr2 + n;
    for (let j = 0; j < n4; j += 4) {
      const br0 = bOff + j * k, br1 = br0 + k, br2 = br1 + k, br3 = br2 + k;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0; p < k; p++) {
        const b0 = b[(br0 + p) | 0]!, b1 = b[(br1 + p) | 0]!, b2 = b[(br2 + p) | 0]!, b3 = b[(br3 + p) | 0]!;
        let av = a[(ar0 + p) | 0]!;
        c00 += av * b0; c01 += av * b1; c02 += av * b2; c03 += av * b3;
        av = a[(ar1 + p) | 0]!;
        c10 += av * b0; c11 += av * b1; c12 += av * b2; c13 += av * b3;
        av = a[(ar2 + p) | 0]!;
        c20 += av * b0; c21 += av * b1; c22 += av * b2; c23 += av * b3;
        av = a[(ar3 + p) | 0]!;
        c30 += av * b0; c31 += av * b1; c32 += av * b2; c33 += av * b3;
      }
      if (accumulate) {
        c[cr0 + j]! += c00; c[cr0 + j + 1]! += c01; c[cr0 + j + 2]! += c02; c[cr0 + j + 3]! += c03;
        c[cr1 + j]! += c10; c[cr1 + j + 1]! += c11; c[cr1 + j + 2]! += c12; c[cr1 + j + 3]! += c13;
        c[cr2 + j]! += c20; c[cr2 + j + 1]! += c21; c[cr2 + j + 2]! += c22; c[cr2 + j + 3]! += c23;
        c[cr3 + j]! += c30; c[cr3 + j + 1]! += c31; c[cr3 + j + 2]! += c32; c[cr3 + j + 3]! += c33;
      } else {
        c[cr0 + j] = c00; c[cr0 + j + 1] = c01; c[cr0 + j + 2] = c02; c[cr0 + j + 3] = c03;
        c[cr1 + j] = c10; c[cr1 + j + 1] = c11; c[cr1 + j + 2] = c12; c[cr1 + j + 3] = c13;
        c[cr2 + j] = c20; c[cr2 + j + 1] = c21; c[cr2 + j + 2] = c22; c[cr2 + j + 3] = c23;
        c[cr3 + j] = c30; c[cr3 + j + 1] = c31; c[cr3 + j + 2] = c32; c[cr3 + j + 3] = c33;
      }
    }
    for (let r = 0; r < 4; r++) gemmEdge(i + r, n4, n, k, a, aOff + (i + r) * k, 1, b, bOff, 1, k, c, cOff, accumulate);
  }
  for (let i = i4; i < rowEnd; i++) gemmEdge(i, 0, n, k, a, aOff + i * k, 1, b, bOff, 1, k, c, cOff, accumulate);
}

/**
 * C = Aᵀ·B with A stored [k, m] and B stored [k, n] (a `Linear`'s weight gradient dYᵀ·x): a sum of rank-1 updates,
 * each step p reading four contiguous values of a row of A and four of a row of B. 4×4 tiles of C in locals.
 */
export function gemmTN(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number,
  b: Float32Array, bOff: number,
  c: Float32Array, cOff: number, accumulate: boolean,
  rowStart: number, rowEnd: number,
): void {
  const i4 = rowStart + ((rowEnd - rowStart) & ~3);
  const n4 = n & ~3;
  for (let i = rowStart; i < i4; i += 4) {
    const cr0 = cOff + i * n, cr1 = cr0 + n, cr2 = cr1 + n, cr3 = cr2 + n;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let pa = aOff + i, pb = bOff + j;
      for (let p = 0; p < k; p++) {
        const b0 = b[pb]!, b1 = b[pb + 1]!, b2 = b[pb + 2]!, b3 = b[pb + 3]!;
        let av = a[pa]!;
        c00 += av * b0; c01 += av * b1; c02 += av * b2; c03 += av * b3;
        av = a[pa + 1]!;
        c10 += av * b0; c11 += av * b1; c12 += av * b2; c13 += av * b3;
        av = a[pa + 2]!;
        c20 += av * b0; c21 += av * b1; c22 += av * b2; c23 += av * b3;
        av = a[pa + 3]!;
        c30 += av * b0; c31 += av * b1; c32 += av * b2; c33 += av * b3;
        pa += m;
        pb += n;
      }
      if (accumulate) {
        c[cr0 + j]! += c00; c[cr0 + j + 1]! += c01; c[cr0 + j + 2]! += c02; c[cr0 + j + 3]! += c03;
        c[cr1 + j]! += c10; c[cr1 + j + 1]! += c11; c[cr1 + j + 2]! += c12; c[cr1 + j + 3]! += c13;
        c[cr2 + j]! += c20; c[cr2 + j + 1]! += c21; c[cr2 + j + 2]! += c22; c[cr2 + j + 3]! += c23;
        c[cr3 + j]! += c30; c[cr3 + j + 1]! += c31; c[cr3 + j + 2]! += c32; c[cr3 + j + 3]! += c33;
      } else {
        c[cr0 + j] = c00; c[cr0 + j + 1] = c01; c[cr0 + j + 2] = c02; c[cr0 + j + 3] = c03;
        c[cr1 + j] = c10; c[cr1 + j + 1] = c11; c[cr1 + j + 2] = c12; c[cr1 + j + 3] = c13;
        c[cr2 + j] = c20; c[cr2 + j + 1] = c21; c[cr2 + j + 2] = c22; c[cr2 + j + 3] = c23;
        c[cr3 + j] = c30; c[cr3 + j + 1] = c31; c[cr3 + j + 2] = c32; c[cr3 + j + 3] = c33;
      }
    }
    for (let r = 0; r < 4; r++) gemmEdge(i + r, n4, n, k, a, aOff + i + r, m, b, bOff, n, 1, c, cOff, accumulate);
  }
  for (let i = i4; i < rowEnd; i++) gemmEdge(i, 0, n, k, a, aOff + i, m, b, bOff, n, 1, c, cOff, accumulate);
}

/**
 * C = A·B with A stored [m, k] and B stored [k, n] (a `Linear`'s input gradient dY·W): rank-1 updates over
 * contiguous rows of B, four rows of A read at one index p. 4×4 tiles of C in locals.
 */
export function gemmNN(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number,
  b: Float32Array, bOff: number,
  c: Float32Array, cOff: number, accumulate: boolean,
  rowStart: number, rowEnd: number,
): void {
  const i4 = rowStart + ((rowEnd - rowStart) & ~3);
  const n4 = n & ~3;
  for (let i = rowStart; i < i4; i += 4) {
    const ar0 = aOff + i * k, ar1 = ar0 + k, ar2 = ar1 + k, ar3 = ar2 + k;
    const cr0 = cOff + i * n, cr1 = cr0 + n, cr2 = cr1 + n, cr3 = cr2 + n;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let pb = bOff + j;
      for (let p = 0; p < k; p++) {
        const b0 = b[pb]!, b1 = b[pb + 1]!, b2 = b[pb + 2]!, b3 = b[pb + 3]!;
        let av = a[(ar0 + p) | 0]!;
        c00 += av * b0; c01 += av * b1; c02 += av * b2; c03 += av * b3;
        av = a[(ar1 + p) | 0]!;
        c10 += av * b0; c11 += av * b1; c12 += av * b2; c13 += av * b3;
        av = a[(ar2 + p) | 0]!;
        c20 += av * b0; c21 += av * b1; c22 += av * b2; c23 += av * b3;
        av = a[(ar3 + p) | 0]!;
        c30 += av * b0; c31 += av * b1; c32 += av * b2; c33 += av * b3;
        pb += n;
      }
      if (accumulate) {
        c[cr0 + j]! += c00; c[cr0 + j + 1]! += c01; c[cr0 + j + 2]! += c02; c[cr0 + j + 3]! += c03;
        c[cr1 + j]! += c10; c[cr1 + j + 1]! += c11; c[cr1 + j + 2]! += c12; c[cr1 + j + 3]! += c13;
        c[cr2 + j]! += c20; c[cr2 + j + 1]! += c21; c[cr2 + j + 2]! += c22; c[cr2 + j + 3]! += c23;
        c[cr3 + j]! += c30; c[cr3 + j + 1]! += c31; c[cr3 + j + 2]! += c32; c[cr3 + j + 3]! += c33;
      } else {
        c[cr0 + j] = c00; c[cr0 + j + 1] = c01; c[cr0 + j + 2] = c02; c[cr0 + j + 3] = c03;
        c[cr1 + j] = c10; c[cr1 + j + 1] = c11; c[cr1 + j + 2] = c12; c[cr1 + j + 3] = c13;
        c[cr2 + j] = c20; c[cr2 + j + 1] = c21; c[cr2 + j + 2] = c22; c[cr2 + j + 3] = c23;
        c[cr3 + j] = c30; c[cr3 + j + 1] = c31; c[cr3 + j + 2] = c32; c[cr3 + j + 3] = c33;
      }
    }
    for (let r = 0; r < 4; r++) gemmEdge(i + r, n4, n, k, a, ar0 + r * k, 1, b, bOff, n, 1, c, cOff, accumulate);
  }
  for (let i = i4; i < rowEnd; i++) gemmEdge(i, 0, n, k, a, aOff + i * k, 1, b, bOff, n, 1, c, cOff, accumulate);
}

/** Any layout through generic strides (used for Aᵀ·Bᵀ): 4×4 tiles of C in locals, 8 loads per 16 multiply-adds. */
export function gemmStrided(
  m: number, n: number, k: number,
  a: Float32Array, aOff: number, transA: boolean,
  b: Float32Array, bOff: number, transB: boolean,
  c: Float32Array, cOff: number, accumulate: boolean,
  rowStart: number, rowEnd: number,
): void {
  // Element (i, p) of op(A) is at aOff + i*ars + p*aps; element (p, j) of op(B) is at bOff + p*bps + j*bcs.
  const ars = transA ? 1 : k;
  const aps = transA ? m : 1;
  const bps = transB ? 1 : n;
  const bcs = transB ? k : 1;
  const i4 = rowStart + ((rowEnd - rowStart) & ~3);
  const n4 = n & ~3;
  for (let i = rowStart; i < i4; i += 4) {
    const ar0 = aOff + i * ars, ar1 = ar0 + ars, ar2 = ar1 + ars, ar3 = ar2 + ars;
    const cr0 = cOff + i * n, cr1 = cr0 + n, cr2 = cr1 + n, cr3 = cr2 + n;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let pa0 = ar0, pa1 = ar1, pa2 = ar2, pa3 = ar3;
      let pb0 = bOff + j * bcs;
      const pb1d = bcs, pb2d = 2 * bcs, pb3d = 3 * bcs;
      for (let p = 0; p < k; p++) {
        const a0 = a[pa0]!, a1 = a[pa1]!, a2 = a[pa2]!, a3 = a[pa3]!;
        const b0 = b[pb0]!, b1 = b[pb0 + pb1d]!, b2 = b[pb0 + pb2d]!, b3 = b[pb0 + pb3d]!;
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        pa0 += aps; pa1 += aps; pa2 += aps; pa3 += aps; pb0 += bps;
      }
      if (accumulate) {
        c[cr0 + j]! += c00; c[cr0 + j + 1]! += c01; c[cr0 + j + 2]! += c02; c[cr0 + j + 3]! += c03;
        c[cr1 + j]! += c10; c[cr1 + j + 1]! += c11; c[cr1 + j + 2]! += c12; c[cr1 + j + 3]! += c13;
        c[cr2 + j]! += c20; c[cr2 + j + 1]! += c21; c[cr2 + j + 2]! += c22; c[cr2 + j + 3]! += c23;
        c[cr3 + j]! += c30; c[cr3 + j + 1]! += c31; c[cr3 + j + 2]! += c32; c[cr3 + j + 3]! += c33;
      } else {
        c[cr0 + j] = c00; c[cr0 + j + 1] = c01; c[cr0 + j + 2] = c02; c[cr0 + j + 3] = c03;
        c[cr1 + j] = c10; c[cr1 + j + 1] = c11; c[cr1 + j + 2] = c12; c[cr1 + j + 3] = c13;
        c[cr2 + j] = c20; c[cr2 + j + 1] = c21; c[cr2 + j + 2] = c22; c[cr2 + j + 3] = c23;
        c[cr3 + j] = c30; c[cr3 + j + 1] = c31; c[cr3 + j + 2] = c32; c[cr3 + j + 3] = c33;
      }
    }
    for (let r = 0; r < 4; r++) gemmEdge(i + r, n4, n, k, a, aOff + (i + r) * ars, aps, b, bOff, bps, bcs, c, cOff, accumulate);
  }
  for (let i = i4; i < rowEnd; i++) gemmEdge(i, 0, n, k, a, aOff + i * ars, aps, b, bOff, bps, bcs, c, cOff, accumulate);
}

/** Row i of C, columns [j0, n): one dot product per element, in the same p order as the tiled path. */
export function gemmEdge(
  i: number, j0: number, n: number, k: number,
  a: Float32Array, ar: number, aps: number,
  b: Float32Array, bOff: number, bps: number, bcs: number,
  c: Float32Array, cOff: number, accumulate: boolean,
): void {
  for (let j = j0; j < n; j++) {
    let s = 0;
    let pa = ar;
    let pb = bOff + j * bcs;
    for (let p = 0; p < k; p++) {
      s += a[pa]! * b[pb]!;
      pa += aps;
      pb += bps;
    }
    const ci = cOff + i * n + j;
    if (accumulate) c[ci]! += s;
    else c[ci] = s;
  }
}

/**
 * The source text of the serial kernel and every function it calls, for worker threads to evaluate: it must define
 * `gemmSerial` with the signature above. Keep the kernels self-contained (no imports, no module-level state).
 */
export function gemmKernelSource(): string {
  return [gemmEdge, gemmNT, gemmTN, gemmNN, gemmStrided, gemmSerial].map((f) => f.toString()).join("\n");
}
