// The progress bar: never wider than the terminal (so never wrapped), nothing left on screen after an epoch.
import { describe, expect, it } from "vitest";
import { barLine, epochProgress, formatDuration, visibleWidth } from "./progress.js";
import { TerminalScreen } from "./terminal-screen.js";

const stats = { loss: "loss 0.2345", rate: "45,000 img/s", eta: "ETA 0:07" };

describe("barLine", () => {
  it("shows everything on an 80-column terminal, one column to spare", () => {
    const line = barLine({ label: "epoch 1/10", done: 469, total: 938, stats }, 80, false);
    expect(line).toMatch(/^epoch 1\/10 █+░+ 469\/938 {2}loss 0\.2345 {2}45,000 img\/s {2}ETA 0:07$/);
    expect(visibleWidth(line)).toBeLessThanOrEqual(79);
  });

  it("gives up the rate, then the ETA, then the loss, then the bar as the terminal narrows", () => {
    const at = (cols: number) => barLine({ label: "epoch 1/10", done: 469, total: 938, stats }, cols, false);
    expect(at(62)).not.toContain("img/s");
    expect(at(62)).toContain("ETA");
    expect(at(48)).not.toContain("ETA");
    expect(at(48)).toContain("loss");
    expect(at(34)).not.toContain("loss");
    expect(at(34)).toContain("█");
    expect(at(20)).toBe("epoch 1/10 469/938");
    expect(at(12)).toBe("epoch 1/10 ");
  });

  it("is at most columns - 1 wide for every width from 1 to 200, with colour codes not counted", () => {
    for (let cols = 1; cols <= 200; cols++) {
      for (const color of [false, true]) {
        const line = barLine({ label: "epoch 100/100", done: 1, total: 93750, stats }, cols, color);
        expect(visibleWidth(line), `${cols} columns`).toBeLessThanOrEqual(Math.max(1, cols - 1));
      }
    }
  });
});

describe("epochProgress on a terminal", () => {
  it.each([10, 24, 40, 57, 80, 120, 200])("at %i columns it redraws one line in place and leaves nothing behind", (cols) => {
    const screen = new TerminalScreen(cols);
    screen.write("header\n");
    let t = 0;
    const frames: string[] = [];
    const p = epochProgress({
      write: (s) => {
        frames.push(s);
        screen.write(s);
      },
      isTTY: true, color: true, quiet: false, columns: () => cols, now: () => t,
    }, "epoch 3/10", 938, 64);
    for (let b = 1; b <= 938; b++) {
      t += 7;
      p.update(b, 2.3 / b);
      expect(screen.nonEmpty().length, `after batch ${b}`).toBeLessThanOrEqual(2);
    }
    expect(screen.lines().slice(1).join("")).toMatch(/938\/938|epoch 3/);
    p.finish();
    expect(screen.nonEmpty()).toEqual(["header"]);
    for (const f of frames) expect(visibleWidth(f)).toBeLessThan(cols);
  });

  it("asks for the width at every redraw, so a terminal made narrower gets narrower frames", () => {
    let cols = 120;
    let t = 0;
    const frames: string[] = [];
    const p = epochProgress({ write: (s) => frames.push(s), isTTY: true, color: false, quiet: false, columns: () => cols, now: () => t }, "epoch 1/1", 100, 64);
    p.update(10, 1);
    expect(visibleWidth(frames[0]!)).toBeGreaterThan(60);
    cols = 40;
    t += 100;
    p.update(11, 1);
    expect(frames).toHaveLength(2);
    expect(visibleWidth(frames[1]!)).toBeLessThan(40);
  });

  it("falls back to 80 columns when the width is unknown", () => {
    const writes: string[] = [];
    const p = epochProgress({ write: (s) => writes.push(s), isTTY: true, color: false, quiet: false, now: () => 1000 }, "epoch 1/1", 10, 64);
    p.update(10, 0.5);
    expect(visibleWidth(writes[0]!)).toBeLessThanOrEqual(79);
  });
});

describe("epochProgress elsewhere", () => {
  it("writes a plain line at most every interval, none when quiet", () => {
    const writes: string[] = [];
    let t = 0;
    const p = epochProgress({ write: (s) => writes.push(s), isTTY: false, color: false, quiet: false, plainIntervalMs: 1000, now: () => t }, "epoch 1/2", 100, 64);
    for (let b = 1; b <= 100; b++) {
      t += 50;
      p.update(b, 0.5);
    }
    p.finish();
    expect(writes.length).toBe(4);
    expect(writes[0]).toMatch(/^epoch 1\/2: 21\/100 batches, loss 0\.5000 {2}1,280 img\/s {2}ETA 0:04\n$/);
    const quiet: string[] = [];
    const q = epochProgress({ write: (s) => quiet.push(s), isTTY: true, color: false, quiet: true }, "e", 10, 1);
    q.update(5, 1);
    q.finish();
    expect(quiet).toEqual([]);
  });
});

describe("formatDuration", () => {
  it.each([[0, "0:00"], [59.4, "0:59"], [61, "1:01"], [3725, "1:02:05"], [Number.NaN, "--:--"], [-1, "--:--"]])("%f s is %s", (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });
});

describe("TerminalScreen", () => {
  it("wraps like xterm, so a line as wide as the terminal does not wrap until the next character", () => {
    const s = new TerminalScreen(5);
    s.write("abcde");
    expect(s.lines()).toEqual(["abcde"]);
    s.write("\r\x1b[2Kxy");
    expect(s.lines()).toEqual(["xy"]);
    s.write("\r\x1b[2Kabcdefg");
    s.write("\r\x1b[2K");
    expect(s.lines()).toEqual(["abcde", ""]); // the wrapped first row stays behind
  });
});
