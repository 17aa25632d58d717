// Loads the PyTorch golden file from ../shared/golden (beside the repository); fails loudly when it is missing.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** A tensor as stored in the golden file. */
export interface GoldenTensor {
  readonly shape: number[];
  readonly data: number[];
}

/** One case of the golden file; fields depend on `kind` (see ../shared/golden/README.md). */
export interface GoldenCase {
  readonly name: string;
  readonly kind: "op" | "cross_entropy" | "optimizer" | "mlp_adam";
  readonly [field: string]: unknown;
}

/** The repository's root (three levels above this file). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** `../shared` beside the repository, or `$TSGRAD_SHARED` when set. */
export const sharedDir = process.env["TSGRAD_SHARED"] ?? resolve(repoRoot, "../shared");

/** Path of a file under shared/, throwing a clear error (so the test fails, never skips) when it is missing. */
export function sharedPath(relative: string): string {
  const p = resolve(sharedDir, relative);
  if (!existsSync(p)) {
    throw new Error(
      `missing shared material: ${p} does not exist. The tests read ../shared/ beside the repository ` +
        "(or $TSGRAD_SHARED); they fail rather than skip without it.",
    );
  }
  return p;
}

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

/** Every case of `../shared/golden/pytorch-golden.json`, optionally only those of one kind. */
export function loadGolden(kind?: GoldenCase["kind"]): GoldenCase[] {
  cache ??= (JSON.parse(readFileSync(sharedPath("golden/pytorch-golden.json"), "utf8")) as { cases: GoldenCase[] }).cases;
  if (cache.length === 0) throw new Error("golden file holds no cases");
  const picked = kind === undefined ? cache : cache.filter((c) => c.kind === kind);
  if (picked.length === 0) throw new Error(`golden file holds no "${kind}" cases`);
  return picked;
}
