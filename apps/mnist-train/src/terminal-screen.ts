// Test support: a minimal terminal screen (xterm's wrapping, \r, \n, erase-line) to see what output leaves behind.

/** The cells of a terminal `columns` wide after some output: enough of VT100 for progress bars. */
export class TerminalScreen {
  private readonly rows: string[][] = [[]];
  private row = 0;
  private col = 0;
  /** xterm's "pending wrap": a character written in the last column moves the cursor on only when the next one comes. */
  private pendingWrap = false;

  constructor(readonly columns: number) {}

  /** Interprets `text`: printable characters, \r, \n (as a terminal with onlcr: to the next line's start), CSI sequences. */
  write(text: string): void {
    const tokens = text.match(/\x1b\[[0-9;]*[A-Za-z]|[\s\S]/gu) ?? [];
    for (const t of tokens) {
      if (t === "\r") {
        this.col = 0;
        this.pendingWrap = false;
      } else if (t === "\n") {
        this.newline();
      } else if (t.startsWith("\x1b[")) {
        this.control(t);
      } else {
        if (this.pendingWrap) this.newline();
        this.line()[this.col] = t;
        if (this.col === this.columns - 1) this.pendingWrap = true;
        else this.col += 1;
      }
    }
  }

  /** The screen's lines, trailing blanks removed. */
  lines(): string[] {
    return this.rows.map((r) => Array.from({ length: r.length }, (_, i) => r[i] ?? " ").join("").trimEnd());
  }

  /** The lines that hold anything. */
  nonEmpty(): string[] {
    return this.lines().filter((l) => l !== "");
  }

  private line(): string[] {
    while (this.rows.length <= this.row) this.rows.push([]);
    return this.rows[this.row]!;
  }

  private newline(): void {
    this.row += 1;
    this.col = 0;
    this.pendingWrap = false;
    this.line();
  }

  private control(seq: string): void {
    const final = seq.at(-1)!;
    const n = Number(seq.slice(2, -1) || "0");
    if (final === "K") {
      const l = this.line();
      if (n === 2) l.length = 0;
      else if (n === 0) l.length = Math.min(l.length, this.col);
    } else if (final === "A") {
      this.row = Math.max(0, this.row - Math.max(1, n));
    } else if (final === "J") {
      this.line().length = Math.min(this.line().length, this.col);
      this.rows.length = this.row + 1;
    }
    // "m" (colours) and anything else: no effect on the cells.
  }
}
