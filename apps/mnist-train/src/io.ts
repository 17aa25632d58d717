// The CLI's standard streams and stops: output that goes quiet when its reader leaves, the stop a signal asks for,
// and the two errors that end a run with a chosen exit code.
import { setMemoryDebug } from "@tsgrad/tensor";
import { styler } from "./progress.js";

/** Why a run stopped early, and its exit code: 128 + the signal's number (SIGPIPE's for a closed standard output). */
export const STOPS = {
  SIGINT: { code: 130, word: "interrupted" },
  SIGTERM: { code: 143, word: "terminated (SIGTERM)" },
  EPIPE: { code: 141, word: "output closed" },
} as const;
export type StopReason = keyof typeof STOPS;

/** Raised to end the run with the exit code of its stop. */
export class Stopped extends Error {
  constructor(readonly reason: StopReason) {
    super(reason);
  }
}

/** A failure the CLI explains in one line (exit 1): a file that is not what it should be. */
export class Failure extends Error {}

/** Where the standard streams stand: a reader that went away (`| head`) closes one, and the CLI stops writing to it. */
export const closed = { stdout: false, stderr: false };
/** The stop asked for so far (a signal, or a closed standard output), read after every training step. */
export const stop: { reason: StopReason | null } = { reason: null };

for (const [name, stream] of [["stdout", process.stdout], ["stderr", process.stderr]] as const) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    closed[name] = true;
    stop.reason ??= "EPIPE"; // like SIGPIPE for a C program, but the step in flight finishes and --save still writes
  });
}

/** Writes to standard output, or nothing once its reader went away. */
export const out = (s: string): void => void (closed.stdout || process.stdout.write(s));
/** Writes to standard error, or nothing once its reader went away. */
export const err = (s: string): void => void (closed.stderr || process.stderr.write(s));
/** Whether standard output shows colours (a terminal, and no NO_COLOR). */
export const color = process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined;
// TSGRAD_MEMORY_DEBUG=1: recycled arrays filled with NaN (the tests run the CLI this way; see setMemoryDebug).
if (process.env["TSGRAD_MEMORY_DEBUG"] === "1") setMemoryDebug(true);
/** The styles of standard output. */
export const st = styler(color);
/** The terminal's width, asked at each redraw. */
export const columns = (): number | undefined => process.stderr.columns ?? process.stdout.columns;
