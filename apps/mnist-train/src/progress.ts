// Progress output: a bar redrawn in place on a terminal (always narrower than it), plain lines every few seconds elsewhere.

/** Where and how progress is drawn. */
export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly isTTY: boolean;
  readonly color: boolean;
  readonly quiet: boolean;
  /** The terminal's width, asked at every redraw (it may change); undefined means 80. */
  readonly columns?: () => number | undefined;
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

/**
 * Columns a string takes on a terminal: its code points, without ANSI escape sequences and control characters (the
 * bar draws no wide characters).
 */
export function visibleWidth(s: string): number {
  return [...s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/[\x00-\x1f\x7f]/g, "")].length;
}

/** What one line of the bar shows. */
export interface BarState {
  readonly label: string;
  readonly done: number;
  readonly total: number;
  readonly stats: { readonly loss: string; readonly rate: string; readonly eta: string };
}

const BAR_MAX = 30;
const BAR_MIN = 8;

/**
 * One frame of the bar, at most `columns - 1` wide so that the terminal never wraps it (a wrapped frame leaves its
 * first rows behind when the next one is drawn over the last). Room is given up in this order: the bar shrinks to
 * 8 cells, then the rate goes, then the ETA, then the loss, then the bar itself, and at last the text is cut.
 */
export function barLine(state: BarState, columns: number, color: boolean): string {
  const st = styler(color);
  const room = Math.max(1, columns - 1);
  const counts = `${String(state.done).padStart(String(state.total).length)}/${state.total}`;
  const { loss, rate, eta } = state.stats;
  const options = [[loss, rate, eta], [loss, eta], [loss], []];
  for (const stats of options) {
    const tail = [counts, ...stats].join("  ");
    const width = Math.min(BAR_MAX, room - visibleWidth(`${state.label}  ${tail}`));
    if (width >= BAR_MIN) {
      const filled = Math.round((state.done / state.total) * width);
      return `${state.label} ${"█".repeat(filled)}${st.dim("░".repeat(width - filled))} ${tail}`;
    }
  }
  return [...`${state.label} ${counts}`].slice(0, room).join("");
}

/** Starts the progress display of one epoch of `total` batches of `batchSize` images. */
export function epochProgress(
  options: ProgressOptions,
  label: string,
  total: number,
  batchSize: number,
  startBatch = 0,
): EpochProgress {
  const { write, isTTY, color, quiet, columns = () => undefined, plainIntervalMs = 5000, now = () => performance.now() } = options;
  const t0 = now();
  let lastDraw = -Infinity;
  let drewBar = false;
  const stats = (done: number, loss: number): BarState["stats"] => {
    const elapsed = (now() - t0) / 1000;
    const rate = elapsed > 0 ? ((done - startBatch) * batchSize) / elapsed : 0;
    const eta = done > startBatch ? (elapsed / (done - startBatch)) * (total - done) : NaN;
    return { loss: `loss ${loss.toFixed(4)}`, rate: `${Math.round(rate).toLocaleString("en-US")} img/s`, eta: `ETA ${formatDuration(eta)}` };
  };
  return {
    update(done, meanLoss) {
      if (quiet) return;
      const t = now();
      if (isTTY) {
        if (t - lastDraw < 80 && done < total) return;
        lastDraw = t;
        const cols = columns();
        write(`\r\x1b[2K${barLine({ label, done, total, stats: stats(done, meanLoss) }, cols !== undefined && cols > 0 ? cols : 80, color)}`);
        drewBar = true;
      } else if (t - lastDraw >= plainIntervalMs && done < total) {
        if (lastDraw === -Infinity) {
          lastDraw = t; // the first plain line comes after one interval, not at once
          return;
        }
        lastDraw = t;
        const s = stats(done, meanLoss);
        write(`${label}: ${done}/${total} batches, ${s.loss}  ${s.rate}  ${s.eta}\n`);
      }
    },
    finish() {
      if (!quiet && isTTY && drewBar) write("\r\x1b[2K");
    },
  };
}
