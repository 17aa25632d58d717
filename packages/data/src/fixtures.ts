// Test-only helpers (not exported by index.ts): synthetic IDX files and label histograms.

/** An IDX file of unsigned bytes: magic 0x0000 08 <rank>, big-endian dims, then the values (zeros by default). */
export function idxBytes(dims: readonly number[], values?: ArrayLike<number>): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * dims.length + size);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  if (values) out.set(values, 4 + 4 * dims.length);
  return out;
}

/** How many labels of each class 0–9. */
export function histogram(labels: ArrayLike<number>): number[] {
  const h = new Array<number>(10).fill(0);
  for (let i = 0; i < labels.length; i++) h[labels[i]!]!++;
  return h;
}

/** Whether two byte arrays are equal (fast: `toEqual` on millions of elements takes minutes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
