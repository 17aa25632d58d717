// mnist-train: the reference MNIST run as a command-line tool (arguments, paths checked first, dispatch, exit codes).
import { parseCli, UsageError, helpText, type PredictOptions, type TrainOptions } from "./cli.js";
import { optimizerPath } from "./checkpoint.js";
import { evalCheckpoint, predict, train } from "./commands.js";
import { closed, err, out, STOPS, Stopped } from "./io.js";
import { checkDistinct, checkFolder, checkInputFile, checkOutputFile, resolveUserPath, userFolder, type NamedPath } from "./paths.js";

/** Runs the CLI and returns its exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const usage = (e: UsageError): number => {
    err(`mnist-train: ${e.message}\nhint: run "mnist-train --help" for the options and their defaults\n`);
    return 2;
  };
  let options;
  try {
    options = parseCli(argv);
  } catch (e) {
    if (e instanceof UsageError) return usage(e);
    throw e;
  }
  if (options.command === "help") {
    out(`${helpText}\n`);
    return 0;
  }
  try {
    const base = userFolder();
    if (options.command === "predict") return await predict(resolvePredictPaths(options, base));
    const o = resolveTrainPaths(options, base);
    return await (o.eval !== undefined ? evalCheckpoint(o, o.eval) : train(o));
  } catch (e) {
    if (e instanceof UsageError) return usage(e);
    if (e instanceof Stopped) return STOPS[e.reason].code;
    err(`mnist-train: ${(e as Error).message}\n`);
    return 1;
  }
}

/** Relative paths start where the user typed the command; input folders and files are checked before any work. */
function checkData<T extends { dataDir: string | undefined; cacheDir: string | undefined }>(o: T, base: string): T {
  const r = (p: string | undefined) => (p === undefined ? undefined : resolveUserPath(p, base));
  const resolved = { ...o, dataDir: r(o.dataDir), cacheDir: r(o.cacheDir) };
  if (resolved.dataDir !== undefined) checkFolder("--data-dir", resolved.dataDir);
  if (resolved.cacheDir !== undefined) checkFolder("--cache-dir", resolved.cacheDir, true);
  return resolved;
}

function resolvePredictPaths(o: PredictOptions, base: string): PredictOptions {
  const resolved = { ...checkData(o, base), checkpoint: resolveUserPath(o.checkpoint, base) };
  checkInputFile("--checkpoint", resolved.checkpoint, "a checkpoint file");
  return resolved;
}

/** Resolves every path of a training run and checks them all, the outputs included, before anything is loaded. */
function resolveTrainPaths(o: TrainOptions, base: string): TrainOptions {
  const r = (p: string | undefined) => (p === undefined ? undefined : resolveUserPath(p, base));
  const resolved: TrainOptions = {
    ...checkData(o, base), save: r(o.save), resume: r(o.resume), eval: r(o.eval), metrics: r(o.metrics), report: r(o.report),
  };
  if (resolved.resume !== undefined) checkInputFile("--resume", resolved.resume, "a checkpoint file");
  if (resolved.eval !== undefined) checkInputFile("--eval", resolved.eval, "a checkpoint file");
  const outputs: NamedPath[] = [];
  if (resolved.save !== undefined) {
    checkOutputFile("--save", resolved.save, "run.safetensors");
    outputs.push({ flag: "--save", path: resolved.save }, { flag: "--save (its optimizer file)", path: optimizerPath(resolved.save) });
  }
  if (resolved.metrics !== undefined) {
    checkOutputFile("--metrics", resolved.metrics, "run.jsonl");
    outputs.push({ flag: "--metrics", path: resolved.metrics });
  }
  if (resolved.report !== undefined) {
    checkOutputFile("--report", resolved.report, "run.html");
    outputs.push({ flag: "--report", path: resolved.report });
  }
  const inputs: NamedPath[] = [];
  if (resolved.resume !== undefined && resolved.resume !== resolved.save) {
    inputs.push({ flag: "--resume", path: resolved.resume }, { flag: "--resume (its optimizer file)", path: optimizerPath(resolved.resume) });
  }
  checkDistinct(outputs, inputs);
  return resolved;
}

main(process.argv.slice(2)).then(
  async (code) => {
    // A reader that went away reports EPIPE asynchronously: let it, so that `predict | head -2` ends with 141, not 0.
    await new Promise((resolve) => setImmediate(resolve));
    process.exit(code === 0 && closed.stdout ? STOPS.EPIPE.code : code);
  },
  (e: unknown) => {
    err(`mnist-train: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
