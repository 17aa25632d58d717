// Progress output: a bar redrawn in place on a terminal, plain lines at most every few seconds elsewhere.

/** Where and how progress is drawn. */
export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly isTTY: boolean;
  readonly color: boolean;
  readonly quiet: boolean;
  /** Minimum interval between plain (non-terminal) lines, in ms. */
  readonly plainIntervalMs?: number;
  readonly now?: () => number;
}

/** One epoch's progress. */
export interface EpochProgress {
  update(batchesDone: number, meanLoss: number): void;
  finish(): void;
}

/** Formats seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** ANSI styling that disappears when colour is off (not a terminal, or NO_COLOR). */
export function styler(color: boolean): { bold: (s: string) => string; dim: (s: string) => string; green: (s: string) => string } {
  const wrap = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { bold: wrap("1"), dim: wrap("2"), green: wrap("32") };
}

/** Starts the progress display of one epoch of `total` batches of `batchSize` images. */
export function epochProgress(
  options: ProgressOptions,
  label: string,
  total: number,
  batchSize: number,
  startBatch = 0,
): EpochProgress {
  const { write, isTTY, color, quiet, plainIntervalMs = 5000, now = () => performance.now() } = options;
  const t0 = now();
  let lastDraw = -Infinity;
  let drewBar = false;
  const st = styler(color);
  const width = 24;
  const line = (done: number, loss: number, tty: boolean): string => {
    const elapsed = (now() - t0) / 1000;
    const rate = elapsed > 0 ? ((done - startBatch) * batchSize) / elapsed : 0;
    const eta = done > startBatch ? (elapsed / (done - startBatch)) * (total - done) : NaN;
    const stats = `loss ${loss.toFixed(4)}  ${Math.round(rate).toLocaleString("en-US")} img/s  ETA ${formatDuration(eta)}`;
    if (!tty) return `${label}: ${done}/${total} batches, ${stats}`;
    const filled = Math.round((done / total) * width);
    const bar = "█".repeat(filled) + st.dim("░".repeat(width - filled));
    return `${label} ${bar} ${String(done).padStart(String(total).length)}/${total}  ${stats}`;
  };
  return {
    update(done, meanLoss) {
      if (quiet) return;
      const t = now();
      if (isTTY) {
        if (t - lastDraw < 80 && done < total) return;
        lastDraw = t;
        write(`\r\x1b[2K${line(done, meanLoss, true)}`);
        drewBar = true;
      } else if (t - lastDraw >= plainIntervalMs && done < total) {
        if (lastDraw === -Infinity) {
          lastDraw = t; // the first plain line comes after one interval, not at once
          return;
        }
        lastDraw = t;
        write(`${line(done, meanLoss, false)}\n`);
      }
    },
    finish() {
      if (!quiet && isTTY && drewBar) write("\r\x1b[2K");
    },
  };
}
