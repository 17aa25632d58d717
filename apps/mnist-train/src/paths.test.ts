// User paths: resolved from where the command was typed (INIT_CWD under pnpm), outputs checked before any work.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "./cli.js";
import { checkDistinct, checkFolder, checkInputFile, checkOutputFile, resolveUserPath, userFolder } from "./paths.js";

const dir = mkdtempSync(join(tmpdir(), "mnist-train-paths-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const message = (f: () => void): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("expected a UsageError");
};

describe("userFolder and resolveUserPath", () => {
  it("starts from INIT_CWD when it names a folder, else from the working directory", () => {
    expect(userFolder({ INIT_CWD: dir }, "/elsewhere")).toBe(dir);
    expect(userFolder({}, "/elsewhere")).toBe("/elsewhere");
    expect(userFolder({ INIT_CWD: join(dir, "missing") }, "/elsewhere")).toBe("/elsewhere");
    expect(userFolder({ INIT_CWD: "relative/dir" }, "/elsewhere")).toBe("/elsewhere");
  });

  it("resolves relative paths against that folder and keeps absolute ones", () => {
    expect(resolveUserPath("run.safetensors", "/home/me/project")).toBe("/home/me/project/run.safetensors");
    expect(resolveUserPath("../out/r.html", "/home/me/project")).toBe("/home/me/out/r.html");
    expect(resolveUserPath("/tmp/x", "/home/me")).toBe("/tmp/x");
  });
});

describe("checkOutputFile", () => {
  it("accepts a new or existing file in a writable folder and leaves no probe behind", () => {
    checkOutputFile("--save", join(dir, "new.safetensors"));
    writeFileSync(join(dir, "old.jsonl"), "{}\n");
    checkOutputFile("--metrics", join(dir, "old.jsonl"));
    expect(readdirSync(dir).sort()).toEqual(["old.jsonl"]);
  });

  it("names the user's path when the folder is missing, not a folder, or the path is a folder", () => {
    expect(message(() => checkOutputFile("--save", join(dir, "no/such/run.safetensors"), "run.safetensors"))).toBe(
      `--save ${dir}/no/such/run.safetensors: the folder ${dir}/no/such does not exist`,
    );
    writeFileSync(join(dir, "file"), "x");
    expect(message(() => checkOutputFile("--report", join(dir, "file/r.html")))).toBe(`--report ${dir}/file/r.html: ${dir}/file is not a folder`);
    mkdirSync(join(dir, "sub"));
    expect(message(() => checkOutputFile("--report", join(dir, "sub"), "run.html"))).toBe(
      `--report ${dir}/sub is a folder: give a file name, e.g. --report ${dir}/sub/run.html`,
    );
  });

  it("says why a folder takes no file, without naming the probe file", () => {
    // /sys refuses new files even to root; a read-only folder refuses them to anyone else.
    const m = message(() => checkOutputFile("--metrics", "/sys/run.jsonl"));
    expect(m).toMatch(/^--metrics \/sys\/run\.jsonl: cannot write in the folder \/sys: (permission denied \(EACCES\)|read-only file system \(EROFS\))$/);
    expect(m).not.toMatch(/probe|tmp/);
    if (process.getuid?.() !== 0) {
      const ro = join(dir, "ro");
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      expect(message(() => checkOutputFile("--save", join(ro, "r.safetensors")))).toBe(`--save ${ro}/r.safetensors: cannot write in the folder ${ro}: permission denied (EACCES)`);
    }
  });
});

describe("checkInputFile and checkFolder", () => {
  it("names the flag and the path of a missing file, or of a folder given as a file", () => {
    expect(message(() => checkInputFile("--eval", join(dir, "missing.safetensors"), "a checkpoint file"))).toBe(`--eval ${dir}/missing.safetensors does not exist`);
    expect(message(() => checkInputFile("--resume", dir, "a checkpoint file"))).toBe(`--resume ${dir} is a folder, not a checkpoint file`);
    writeFileSync(join(dir, "c.safetensors"), "x");
    checkInputFile("--eval", join(dir, "c.safetensors"), "a checkpoint file");
  });

  it("wants folders to be folders; a cache folder may not exist yet", () => {
    expect(message(() => checkFolder("--data-dir", join(dir, "nope")))).toBe(`--data-dir ${dir}/nope does not exist`);
    expect(message(() => checkFolder("--data-dir", join(dir, "file")))).toBe(`--data-dir ${dir}/file is not a folder`);
    checkFolder("--cache-dir", join(dir, "nope"), true);
    expect(message(() => checkFolder("--cache-dir", join(dir, "file"), true))).toBe(`--cache-dir ${dir}/file is not a folder`);
  });
});

describe("checkDistinct", () => {
  it("refuses two outputs on one file and an output over an input", () => {
    expect(message(() => checkDistinct([{ flag: "--metrics", path: "/a/x" }, { flag: "--report", path: "/a/x" }], []))).toBe(
      "--metrics and --report both name /a/x: each output needs its own file",
    );
    expect(message(() => checkDistinct([{ flag: "--report", path: "/a/run.safetensors" }], [{ flag: "--resume", path: "/a/run.safetensors" }]))).toBe(
      "--report /a/run.safetensors would overwrite --resume /a/run.safetensors",
    );
    checkDistinct([{ flag: "--metrics", path: "/a/m" }, { flag: "--report", path: "/a/r" }], [{ flag: "--resume", path: "/a/c" }]);
  });
});
