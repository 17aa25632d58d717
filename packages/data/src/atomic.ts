// Atomic file writes for every file tsgrad writes (the MNIST cache, checkpoints, metrics): a temporary file in the
// same folder, fsync, then rename over the target.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const REASONS: Readonly<Record<string, string>> = {
  EACCES: "permission denied", EPERM: "operation not permitted", EROFS: "read-only file system",
  ENOSPC: "no space left on the device", EDQUOT: "disk quota exceeded", ENOENT: "no such file or folder",
  ENOTDIR: "a part of the path is not a folder", EISDIR: "it is a folder", EEXIST: "it already exists",
  EMFILE: "too many open files", EIO: "input/output error", ENAMETOOLONG: "the name is too long",
};

/**
 * Why a file-system call failed, in words and without the path Node puts in its messages (which may be the name of
 * a temporary file the user never chose): `permission denied (EACCES)`.
 */
export function describeFsError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return REASONS[code] === undefined ? code : `${REASONS[code]} (${code})`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Writes `bytes` to `path` so that a reader (or a crash) sees either the old file or the new one, never a mix.
 * A failure names `path` (never the temporary file) and leaves no temporary file behind.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, "w");
    try {
      const buf = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${path}: ${describeFsError(e)}`, { cause: e });
  }
  syncFolder(dirname(path));
}

/** Makes a rename in `dir` durable (fsync of the folder); where folders cannot be synced, the rename stands as it is. */
function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems and platforms refuse to sync a folder: the file itself was synced before the rename.
  }
}
