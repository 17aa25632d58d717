// The CLI's data messages: flags instead of API option names, one line for the embedded subset, Fashion-MNIST help.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { MnistData } from "@tsgrad/data/node";
import { UsageError } from "./cli.js";
import { cliWords, dataErrorMessage, embeddedNotice, limitData, loadData, parseLimit, type LoadDataOptions } from "./data.js";
import { TerminalScreen } from "./terminal-screen.js";

const opts = (over: Partial<LoadDataOptions> = {}): LoadDataOptions => ({
  dataset: "mnist", dataDir: undefined, cacheDir: "/c", download: true, verbose: false, quiet: false, ...over,
});

describe("cliWords", () => {
  it.each([
    ["loadMnist: /d lacks train-images-idx3-ubyte: looked for ...", { dataDir: "/d" }, "--data-dir /d lacks train-images-idx3-ubyte: looked for ..."],
    ["for the full 60,000 / 10,000 pass dataDir (--data-dir) or allow a download.", {}, "for the full 60,000 / 10,000 pass --data-dir or allow a download."],
    ['pass dataDir: "/usr/share/datasets/fashion-mnist" (--data-dir), or', {}, "pass --data-dir /usr/share/datasets/fashion-mnist, or"],
    ["the cache is cacheDir/mnist", {}, "the cache is --cache-dir/mnist"],
    ["because downloads are off and the cache /c/mnist is empty", {}, "because --no-download is set and the cache /c/mnist is empty"],
    ["@tsgrad/data: cannot find the package mnist", {}, "cannot find the package mnist"],
  ])("%s", (message, o, expected) => {
    expect(cliWords(message, { dataDir: undefined, ...o })).toBe(expected);
  });
});

describe("embeddedNotice", () => {
  const data = { train: { count: 9000 }, test: { count: 1000 } } as MnistData;
  it("is one short line naming the subset and why", () => {
    expect(embeddedNotice(data, opts(), true)).toBe("MNIST could not be downloaded: using the embedded subset (9,000 train / 1,000 test images) (--verbose says why)");
    expect(embeddedNotice(data, opts({ verbose: true }), true)).toBe("MNIST could not be downloaded: using the embedded subset (9,000 train / 1,000 test images)");
    expect(embeddedNotice(data, opts({ download: false }), false)).toBe(
      "MNIST is not in the cache and --no-download is set: using the embedded subset (9,000 train / 1,000 test images)",
    );
    for (const line of [embeddedNotice(data, opts(), true), embeddedNotice(data, opts({ download: false }), false)]) expect(line.length).toBeLessThan(120);
  });
});

describe("dataErrorMessage", () => {
  const fashionError = new Error(
    "loadMnist: Fashion-MNIST is not available: the download failed (train-images-idx3-ubyte.gz could not be downloaded: http://m/x.gz: " +
      "getaddrinfo ENOTFOUND m), and it has no embedded default. Get it with `apt-get install dataset-fashion-mnist` and pass dataDir: " +
      '"/usr/share/datasets/fashion-mnist" (--data-dir), or allow a download from a reachable mirror.',
  );

  it("tells how to get Fashion-MNIST in flags, with the mirrors' errors only when verbose", () => {
    const short = dataErrorMessage(fashionError, opts({ dataset: "fashion-mnist" }), true);
    expect(short).toBe(
      "Fashion-MNIST is not available: it is not in the cache /c/fashion-mnist and could not be downloaded (--verbose says why). " +
        'Get it with "apt-get install dataset-fashion-mnist" and pass --data-dir /usr/share/datasets/fashion-mnist',
    );
    expect(short).not.toMatch(/dataDir|ENOTFOUND/);
    const long = dataErrorMessage(fashionError, opts({ dataset: "fashion-mnist", verbose: true }), true);
    expect(long).toContain("ENOTFOUND");
    expect(long).not.toMatch(/dataDir/);
    expect(dataErrorMessage(fashionError, opts({ dataset: "fashion-mnist", download: false }), false)).toMatch(
      /^Fashion-MNIST is not available: it is not in the cache \/c\/fashion-mnist and --no-download is set\. .*, or leave out --no-download$/,
    );
  });

  it("translates other errors", () => {
    expect(dataErrorMessage(new Error("loadMnist: /d lacks t10k-labels-idx1-ubyte"), opts({ dataDir: "/d" }), false)).toBe("--data-dir /d lacks t10k-labels-idx1-ubyte");
  });
});

describe("loadData offline", () => {
  const cache = mkdtempSync(join(tmpdir(), "mnist-train-data-"));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  it.each([true, false])("on a terminal (%s) leaves exactly one line: the embedded subset's", async (isTTY) => {
    const before = process.env["TSGRAD_MNIST_MIRRORS"];
    process.env["TSGRAD_MNIST_MIRRORS"] = "http://127.0.0.1:1/"; // refused at once: offline without the network
    try {
      const screen = new TerminalScreen(200); // wide enough for the notice: the check is what stays on it
      const writes: string[] = [];
      const data = await loadData(opts({ cacheDir: cache }), { write: (t) => (writes.push(t), screen.write(t)), isTTY, columns: () => 30 });
      expect(data.source.kind).toBe("embedded");
      expect(writes.some((w) => w.includes("downloading MNIST"))).toBe(isTTY);
      const status = writes.filter((w) => w.includes("downloading"));
      for (const w of status) expect(w.replace(/\r|\x1b\[2K/g, "").length, w).toBeLessThanOrEqual(29); // fits the 30 columns
      expect(screen.nonEmpty()).toEqual([
        "MNIST could not be downloaded: using the embedded subset (9,000 train / 1,000 test images) (--verbose says why)",
      ]);
    } finally {
      if (before === undefined) delete process.env["TSGRAD_MNIST_MIRRORS"];
      else process.env["TSGRAD_MNIST_MIRRORS"] = before;
    }
  });
});

describe("TSGRAD_MNIST_LIMIT (a knob for tests)", () => {
  it("reads TRAIN,TEST as two positive integers, nothing as no limit", () => {
    expect(parseLimit(undefined)).toBeNull();
    expect(parseLimit("")).toBeNull();
    expect(parseLimit("384,100")).toEqual({ train: 384, test: 100 });
    expect(parseLimit(" 64 , 10 ")).toEqual({ train: 64, test: 10 });
    for (const bad of ["384", "0,10", "10,0", "-1,5", "1.5,2", "a,b", "1,2,3"]) {
      expect(() => parseLimit(bad), bad).toThrow(new UsageError(`TSGRAD_MNIST_LIMIT must be TRAIN,TEST (two positive integers, e.g. 640,200), got "${bad}"`));
    }
  });

  it("keeps the first images of each split, without copying, and says so in the description", () => {
    const split = (n: number) => ({ images: Uint8Array.from({ length: n * 784 }, (_, i) => i % 251), labels: Uint8Array.from({ length: n }, (_, i) => i % 10), count: n });
    const data = { dataset: "mnist", train: split(50), test: split(20), description: "MNIST: 50 train / 20 test images" } as unknown as MnistData;
    const kept = limitData(data, { train: 30, test: 100 });
    expect([kept.train.count, kept.train.images.length, kept.train.labels.length]).toEqual([30, 30 * 784, 30]);
    expect(kept.test.count).toBe(20); // a limit above the split's size keeps it whole
    expect(kept.train.images.buffer).toBe(data.train.images.buffer);
    expect(Array.from(kept.train.labels)).toEqual(Array.from(data.train.labels.subarray(0, 30)));
    expect(kept.description).toBe("MNIST: 50 train / 20 test images (TSGRAD_MNIST_LIMIT keeps the first 30 train / 20 test images)");
  });
});
