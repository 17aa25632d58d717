// Atomic writes: the whole file or the old one, and a failure names the user's path, never the temporary file.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeFsError, writeFileAtomic } from "./atomic.js";

const dir = mkdtempSync(join(tmpdir(), "tsgrad-atomic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomic", () => {
  it("replaces the file and leaves no temporary file", () => {
    const p = join(dir, "m.jsonl");
    writeFileSync(p, "old");
    writeFileAtomic(p, "new\n");
    writeFileAtomic(join(dir, "b.bin"), new Uint8Array([1, 2, 3]));
    expect(readFileSync(p, "utf8")).toBe("new\n");
    expect([...readFileSync(join(dir, "b.bin"))]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).sort()).toEqual(["b.bin", "m.jsonl"]);
  });

  it("names the path it was asked to write when it fails", () => {
    expect(() => writeFileAtomic(join(dir, "gone/m.jsonl"), "x")).toThrow(`cannot write ${dir}/gone/m.jsonl: no such file or folder (ENOENT)`);
    expect(() => writeFileAtomic("/sys/m.jsonl", "x")).toThrow(/^cannot write \/sys\/m\.jsonl: (permission denied \(EACCES\)|read-only file system \(EROFS\))$/);
  });
});

describe("describeFsError", () => {
  it("puts the code in words, without the path", () => {
    expect(describeFsError(Object.assign(new Error("ENOSPC: no space left on device, write '/x/.y.tmp'"), { code: "ENOSPC" }))).toBe("no space left on the device (ENOSPC)");
    expect(describeFsError(Object.assign(new Error("odd"), { code: "EWHATEVER" }))).toBe("EWHATEVER");
    expect(describeFsError(new Error("plain"))).toBe("plain");
  });
});
