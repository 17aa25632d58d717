// The project's committed fixtures under testdata/ (PyTorch goldens, small data files); fails loudly when one is missing.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** A tensor as stored in the golden file. */
export interface GoldenTensor {
  readonly shape: number[];
  readonly data: number[];
}

/** One case of the golden file; fields depend on `kind` (see testdata/README.md). */
export interface GoldenCase {
  readonly name: string;
  readonly kind: "op" | "cross_entropy" | "optimizer" | "mlp_adam";
  readonly [field: string]: unknown;
}

/** The repository's root (three levels above this file). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The project's committed fixtures (PyTorch goldens and small data files), written by the scripts in `scripts/`. */
export const testdataDir = resolve(repoRoot, "testdata");

/** Path of a committed fixture under `testdata/`, throwing a clear error (the test fails, never skips) when missing. */
export function testdataPath(relative: string): string {
  const p = resolve(testdataDir, relative);
  if (!existsSync(p)) {
    throw new Error(`missing fixture: ${p} does not exist; regenerate the fixtures with the scripts in scripts/ (see README)`);
  }
  return p;
}

/** A JSON fixture under `testdata/`, parsed (the caller states its type). */
export function loadFixture<T>(relative: string): T {
  return JSON.parse(readFileSync(testdataPath(relative), "utf8")) as T;
}

let cache: GoldenCase[] | undefined;

/** Every case of `testdata/pytorch-golden.json` (written by `scripts/goldens.py`), optionally only those of one kind. */
export function loadGolden(kind?: GoldenCase["kind"]): GoldenCase[] {
  cache ??= loadFixture<{ cases: GoldenCase[] }>("pytorch-golden.json").cases;
  if (cache.length === 0) throw new Error("golden file holds no cases");
  const picked = kind === undefined ? cache : cache.filter((c) => c.kind === kind);
  if (picked.length === 0) throw new Error(`golden file holds no "${kind}" cases`);
  return picked;
}
