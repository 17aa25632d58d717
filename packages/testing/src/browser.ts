// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core, pages on 127.0.0.1.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type OutgoingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";
import { chromium, type Browser } from "playwright-core";

/** Where Debian's `chromium` package puts the browser (`.ci/run` installs it when missing). */
export const CHROMIUM_PATH = process.env["TSGRAD_CHROMIUM"] ?? "/usr/bin/chromium";

/** Flags for a headless run on a machine with no GPU and no network but loopback. */
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];

/** Starts headless Chromium; fails (never skips) with a clear message when the browser is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `browser tests need Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (.ci/run does this), ` +
        "or set TSGRAD_CHROMIUM to another Chromium binary",
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json", ".json": "application/json", ".css": "text/css", ".wasm": "application/wasm",
  ".png": "image/png", ".svg": "image/svg+xml",
};

/** A static file server on 127.0.0.1 (a free port): its base URL and how to stop it. */
export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Options of {@link serveStatic}. */
export interface ServeStaticOptions {
  /** Headers sent with every response, e.g. COOP/COEP for cross-origin isolation. */
  readonly headers?: OutgoingHttpHeaders;
}

/** Serves the files under `root` on 127.0.0.1 only (never another interface), each with `headers`. */
export async function serveStatic(root: string, { headers = {} }: ServeStaticOptions = {}): Promise<StaticServer> {
  const base = resolve(root);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) {
      res.writeHead(404, headers).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { ...headers, "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** The headers that make a page cross-origin isolated (SharedArrayBuffer and shared wasm memory allowed). */
export const CROSS_ORIGIN_ISOLATION: OutgoingHttpHeaders = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
};
