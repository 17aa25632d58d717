// Downloads one .gz file over http or https (node:http, node:https) and gunzips it (node:zlib), with timeouts.
import { get as httpGet, type ClientRequest, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { gunzip } from "node:zlib";

/** Options of {@link downloadGunzipped}. */
export interface DownloadOptions {
  /** Give up when the TCP (and TLS) handshake takes longer than this. */
  readonly connectTimeoutMs: number;
  /** Give up when the transfer stalls for this long. */
  readonly idleTimeoutMs: number;
}

/**
 * Downloads a `.gz` URL (`http:` or `https:`, the certificate verified against the host name) and returns its
 * decompressed bytes. Anything but a 200 fails with its status (redirects are not followed), as do a handshake longer
 * than `connectTimeoutMs`, a transfer that stalls for `idleTimeoutMs`, a response that breaks off, and bytes that are
 * not gzip (with zlib's words: "incorrect header check", "unexpected end of file").
 */
export function downloadGunzipped(url: string, { connectTimeoutMs, idleTimeoutMs }: DownloadOptions): Promise<Uint8Array> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return Promise.reject(new TypeError(`downloadGunzipped: expected an http: or https: URL, got ${url}`));
  }
  const secure = target.protocol === "https:";
  return new Promise<Uint8Array>((resolve, reject) => {
    let settled = false;
    let connectTimer: ReturnType<typeof setTimeout> | undefined;
    const finish = (error: Error | null, bytes?: Uint8Array): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      request.destroy();
      if (error !== null) reject(error);
      else resolve(bytes!);
    };
    const onResponse = (response: IncomingMessage): void => {
      if (response.statusCode !== 200) {
        finish(new Error(`HTTP ${response.statusCode} ${response.statusMessage ?? ""}`.trimEnd()));
        return;
      }
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("aborted", () => finish(new Error("the connection closed before the transfer completed")));
      response.once("error", (e) => finish(new Error(`the transfer broke off (${e.message})`)));
      response.once("end", () => {
        if (!response.complete) {
          finish(new Error("the connection closed before the transfer completed"));
          return;
        }
        gunzip(Buffer.concat(chunks), (e, out) => {
          if (e !== null) finish(new Error(e.message));
          else finish(null, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
        });
      });
    };
    // A fresh connection per file (agent: false), so that the handshake timer sees this request's handshake.
    const request: ClientRequest = (secure ? httpsGet : httpGet)(target, { agent: false }, onResponse);
    request.once("socket", (socket) => {
      connectTimer = setTimeout(() => finish(new Error(`no connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      socket.once(secure ? "secureConnect" : "connect", () => clearTimeout(connectTimer));
    });
    request.setTimeout(idleTimeoutMs, () => finish(new Error(`no data for ${idleTimeoutMs} ms`)));
    request.once("error", (e) => finish(new Error(e.message)));
  });
}
