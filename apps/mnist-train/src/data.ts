// The CLI's data loading: loadMnist with its progress in the CLI's words (one line offline, details with --verbose)
// and its errors translated from the API's option names into the CLI's flags.
import { join } from "node:path";
import { MNIST_IMAGE_SIZE, type MnistSplit } from "@tsgrad/data";
import { defaultCacheDir, loadMnist, type MnistData, type MnistProgress } from "@tsgrad/data/node";
import { UsageError, type DataOptions, type DatasetName } from "./cli.js";
import { count } from "./text.js";

/** Where the loading reports: a stream like `process.stderr`. */
export interface DataOutput {
  readonly write: (text: string) => void;
  readonly isTTY: boolean;
  readonly columns: () => number | undefined;
}

/** What {@link loadData} needs: the data flags (paths already resolved), the dataset and how talkative to be. */
export interface LoadDataOptions extends DataOptions {
  readonly dataset: DatasetName;
  readonly quiet: boolean;
}

const TITLES: Readonly<Record<DatasetName, string>> = { mnist: "MNIST", "fashion-mnist": "Fashion-MNIST" };

/** The CLI's words for a library message: flags for option names, no `loadMnist:` prefix. */
export function cliWords(message: string, o: Pick<DataOptions, "dataDir">): string {
  let m = message.replace(/^(loadMnist|@tsgrad\/data|parseIdx|toMnistSplit): /, "");
  m = m
    .replace(/\bdataDir: "([^"]*)" \(--data-dir\)/g, "--data-dir $1")
    .replace(/\bdataDir: "([^"]*)"/g, "--data-dir $1")
    .replace(/\bdataDir \(--data-dir\)/g, "--data-dir")
    .replace(/\bcacheDir \(--cache-dir\)/g, "--cache-dir")
    .replace(/\bdataDir\b/g, "--data-dir")
    .replace(/\bcacheDir\b/g, "--cache-dir")
    .replace(/\bdownload: false\b/g, "--no-download")
    .replace(/\bdownloads are off\b/g, "--no-download is set");
  if (o.dataDir !== undefined && m.startsWith(`${o.dataDir} `)) m = `--data-dir ${m}`;
  return m;
}

/**
 * The message for a dataset that could not be loaded. Fashion-MNIST has no embedded default: the message says how to
 * get it; the reasons per mirror only with `--verbose`.
 */
export function dataErrorMessage(error: unknown, o: LoadDataOptions, downloadFailed: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  if (o.dataset === "fashion-mnist" && o.dataDir === undefined && /not available/.test(message)) {
    const cache = join(o.cacheDir ?? defaultCacheDir(), "fashion-mnist");
    const why = !o.download
      ? `it is not in the cache ${cache} and --no-download is set`
      : `it is not in the cache ${cache} and could not be downloaded${downloadFailed && !o.verbose ? " (--verbose says why)" : ""}`;
    const details = o.verbose ? ` (${cliWords(message, o)})` : "";
    return `Fashion-MNIST is not available: ${why}${details}. Get it with "apt-get install dataset-fashion-mnist" ` +
      `and pass --data-dir /usr/share/datasets/fashion-mnist${o.download ? "" : ", or leave out --no-download"}`;
  }
  return cliWords(message, o);
}

/** The one line said when the embedded MNIST subset stands in for the full set. */
export function embeddedNotice(data: MnistData, o: LoadDataOptions, downloadFailed: boolean): string {
  const subset = `the embedded subset (${data.train.count.toLocaleString("en-US")} train / ${count(data.test.count, "test image")})`;
  if (!o.download) return `MNIST is not in the cache and --no-download is set: using ${subset}`;
  if (downloadFailed) return `MNIST could not be downloaded: using ${subset}${o.verbose ? "" : " (--verbose says why)"}`;
  return `MNIST could not be loaded: using ${subset}`;
}

/** A data error that the CLI reports in its own words (exit 1). */
export class DataError extends Error {
  override name = "DataError";
}

/**
 * Loads the dataset as {@link loadMnist} does and reports in the CLI's words: on a terminal a transient
 * "downloading" line, offline one line about the embedded subset, and with `verbose` every attempt.
 * @throws DataError with the CLI's message.
 */
export async function loadData(o: LoadDataOptions, output: DataOutput): Promise<MnistData> {
  let downloadFailed = false;
  let transient = false;
  const clearStatus = (): void => {
    if (transient) output.write("\r\x1b[2K");
    transient = false;
  };
  const say = (line: string): void => {
    clearStatus();
    output.write(`${line}\n`);
  };
  const status = (line: string): void => {
    const width = Math.max(1, (output.columns() ?? 80) - 1);
    output.write(`\r\x1b[2K${[...line].slice(0, width).join("")}`);
    transient = true;
  };
  const notices: string[] = [];
  const onProgress = (e: MnistProgress): void => {
    if (e.kind === "download-failed") downloadFailed = true;
    if (o.quiet) return;
    if (o.verbose) {
      if (e.kind === "download-start") say(`downloading ${e.url} ...`);
      else if (e.kind === "download-done") say(`  done: ${count(e.bytes, "byte")} in ${(e.ms / 1000).toFixed(1)} s`);
      else if (e.kind === "download-failed") say(`  failed: ${e.error}`);
    } else if (e.kind === "download-start" && output.isTTY) {
      status(`downloading ${TITLES[o.dataset]} (${e.file}.gz from ${new URL(e.url).host}) ...`);
    }
    if (e.kind === "notice") notices.push(e.message);
  };
  try {
    const data = await loadMnist({
      dataset: o.dataset,
      ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
      ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
      download: o.download,
      onProgress,
    });
    clearStatus();
    if (!o.quiet) {
      // The library's own notices (e.g. a download that could not be cached) are said as they are, but for the
      // embedded-default one, which the CLI says in one line of its own.
      for (const n of notices) if (n !== data.notice) say(cliWords(n, o));
      if (data.source.kind === "embedded") say(embeddedNotice(data, o, downloadFailed));
    }
    return data;
  } catch (e) {
    clearStatus();
    throw new DataError(dataErrorMessage(e, o, downloadFailed), { cause: e });
  }
}

/** How many images of each split to keep (see {@link parseLimit}). */
export interface DataLimit {
  readonly train: number;
  readonly test: number;
}

/**
 * Reads `TSGRAD_MNIST_LIMIT=TRAIN,TEST`, a knob for tests (quick runs of the CNN on real images): the run keeps only
 * the first TRAIN training and TEST test images. A checkpoint records the size of its training split, so resuming
 * one needs the same limit. Undefined or empty: no limit.
 * @throws UsageError for anything but two positive integers.
 */
export function parseLimit(raw: string | undefined): DataLimit | null {
  if (raw === undefined || raw.trim() === "") return null;
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(raw);
  const [train, test] = m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
  if (!(train >= 1 && test >= 1 && Number.isSafeInteger(train) && Number.isSafeInteger(test))) {
    throw new UsageError(`TSGRAD_MNIST_LIMIT must be TRAIN,TEST (two positive integers, e.g. 640,200), got "${raw}"`);
  }
  return { train, test };
}

/** The first `limit.train` / `limit.test` images of each split (no copy), and a description that says so. */
export function limitData(data: MnistData, limit: DataLimit): MnistData {
  const first = (s: MnistSplit, n: number): MnistSplit => {
    const count = Math.min(n, s.count);
    return { images: s.images.subarray(0, count * MNIST_IMAGE_SIZE), labels: s.labels.subarray(0, count), count };
  };
  const train = first(data.train, limit.train);
  const test = first(data.test, limit.test);
  const kept = `TSGRAD_MNIST_LIMIT keeps the first ${train.count.toLocaleString("en-US")} train / ${count(test.count, "test image")}`;
  return { ...data, train, test, description: `${data.description} (${kept})` };
}
