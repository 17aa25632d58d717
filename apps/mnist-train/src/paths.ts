// User paths: relative to the folder the command was run in, and checked before anything is loaded or trained.
import { accessSync, closeSync, constants, existsSync, openSync, rmSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { UsageError } from "./cli.js";
import { describeFsError } from "@tsgrad/data/node";

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The folder relative paths start from: `INIT_CWD` when it names a folder (pnpm and npm set it to where the user
 * typed the command, and run scripts from the package's folder), else the working directory.
 */
export function userFolder(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const init = env["INIT_CWD"];
  return init !== undefined && isAbsolute(init) && isFolder(init) ? init : cwd;
}

/** `path` resolved against `base` (an absolute path stays as it is). */
export function resolveUserPath(path: string, base: string): string {
  return resolve(base, path);
}

/**
 * Checks, before any work, that `path` can be written the way {@link writeFileAtomic} writes (a temporary file in
 * its folder, then a rename): the folder exists and takes a new file, and `path` is not a folder.
 * @throws UsageError naming `flag` and `path`.
 */
export function checkOutputFile(flag: string, path: string, example = "run.out"): void {
  const dir = dirname(path);
  if (!existsSync(dir)) throw new UsageError(`${flag} ${path}: the folder ${dir} does not exist`);
  if (!isFolder(dir)) throw new UsageError(`${flag} ${path}: ${dir} is not a folder`);
  if (isFolder(path)) throw new UsageError(`${flag} ${path} is a folder: give a file name, e.g. ${flag} ${join(path, example)}`);
  const probe = join(dir, `.${basename(path)}.${process.pid}.probe`);
  try {
    closeSync(openSync(probe, "w"));
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot write in the folder ${dir}: ${describeFsError(e)}`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/** Checks that `path` is a readable file (`what` names it in messages: "a checkpoint file"). */
export function checkInputFile(flag: string, path: string, what: string): void {
  if (!existsSync(path)) throw new UsageError(`${flag} ${path} does not exist`);
  if (isFolder(path)) throw new UsageError(`${flag} ${path} is a folder, not ${what}`);
  try {
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw new UsageError(`${flag} ${path} cannot be read: ${describeFsError(e)}`);
  }
}

/** Checks that `path` is a folder; `mayBeMissing` accepts one that does not exist yet (a cache to be created). */
export function checkFolder(flag: string, path: string, mayBeMissing = false): void {
  if (!existsSync(path)) {
    if (mayBeMissing) return;
    throw new UsageError(`${flag} ${path} does not exist`);
  }
  if (!isFolder(path)) throw new UsageError(`${flag} ${path} is not a folder`);
}

/** A path the run writes, or reads and must not overwrite by accident. */
export interface NamedPath {
  readonly flag: string;
  readonly path: string;
}

/** Two outputs on one file would overwrite each other; an output on an input would destroy it. */
export function checkDistinct(outputs: readonly NamedPath[], inputs: readonly NamedPath[]): void {
  for (const [i, a] of outputs.entries()) {
    for (const b of outputs.slice(i + 1)) {
      if (a.path === b.path) throw new UsageError(`${a.flag} and ${b.flag} both name ${a.path}: each output needs its own file`);
    }
    for (const b of inputs) {
      if (a.path === b.path) throw new UsageError(`${a.flag} ${a.path} would overwrite ${b.flag} ${b.path}`);
    }
  }
}
