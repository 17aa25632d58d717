// The HTML report laid out by headless Chromium: no sideways scroll at 520 px, round ticks that hold the data inside
// the plots, and every class name whole and unclipped, for 1-epoch and 10-epoch runs of MNIST and Fashion-MNIST.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "@tsgrad/testing/browser";
import { renderReport, type EpochRecord } from "./report.js";

const FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** Records shaped like the app's runs (one Fashion-MNIST epoch: train 0.5430, test 0.4713, 82.82 %). */
function records(epochs: number, fashion: boolean): EpochRecord[] {
  return Array.from({ length: epochs }, (_, i) => {
    const k = Math.exp(-i / 3);
    return fashion
      ? { epoch: i + 1, trainLoss: 0.26 + 0.283 * k, testLoss: 0.33 + 0.141 * k, testAccuracy: 0.8828 - 0.0546 * k, seconds: 1.4 }
      : { epoch: i + 1, trainLoss: 0.02 + 0.28 * k, testLoss: 0.075 + 0.08 * k, testAccuracy: 0.978 - 0.038 * k, seconds: 1.3 };
  });
}

function confusion(seed: number): number[][] {
  let s = seed;
  const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) | 0) >>> 0) / 2 ** 32;
  return Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 800 + Math.floor(200 * rnd()) : Math.floor(150 * rnd() ** 4))));
}

interface Box {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}
interface Text {
  readonly cls: string;
  readonly text: string;
  readonly value: number;
  readonly box: Box;
}
interface Layout {
  readonly scrollWidth: number;
  readonly clientWidth: number;
  readonly charts: Record<string, { svg: Box; plot: Box; texts: Text[]; points: { value: number; box: Box }[] }>;
  readonly confusion: { svg: Box; texts: Text[]; cells: Box[] };
}

/** The DOM, as much of it as the measurement uses (the tests compile without the DOM library). */
interface DomElement {
  getBoundingClientRect(): Box;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  readonly textContent: string | null;
}

/** Runs in the page: every box the checks need. */
function measure(): Layout {
  const doc = (globalThis as unknown as { document: DomElement & { documentElement: { scrollWidth: number; clientWidth: number } } }).document;
  const box = (e: DomElement): Box => {
    const r = e.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  };
  const texts = (svg: DomElement): Text[] =>
    Array.from(svg.querySelectorAll("text")).map((t) => ({
      cls: t.getAttribute("class") ?? "", text: t.textContent ?? "", value: Number(t.getAttribute("data-value")), box: box(t),
    }));
  const chart = (id: string) => {
    const svg = doc.querySelector(`#${id}`)!;
    return {
      svg: box(svg), plot: box(svg.querySelector("rect.plot")!), texts: texts(svg),
      points: Array.from(svg.querySelectorAll("circle.point")).map((c) => ({ value: Number(c.getAttribute("data-value")), box: box(c) })),
    };
  };
  const cm = doc.querySelector("#confusion")!;
  return {
    scrollWidth: doc.documentElement.scrollWidth,
    clientWidth: doc.documentElement.clientWidth,
    charts: { loss: chart("loss"), accuracy: chart("accuracy") },
    confusion: { svg: box(cm), texts: texts(cm), cells: Array.from(cm.querySelectorAll("rect")).map(box) },
  };
}

const EPS = 0.5;
const inside = (a: Box, b: Box): boolean =>
  a.left >= b.left - EPS && a.right <= b.right + EPS && a.top >= b.top - EPS && a.bottom <= b.bottom + EPS;
const overlap = (a: Box, b: Box): boolean =>
  a.left < b.right - EPS && b.left < a.right - EPS && a.top < b.bottom - EPS && b.top < a.bottom - EPS;

/** A step of 1, 2 or 5 × 10^k. */
function isRoundStep(step: number): boolean {
  const exp = Math.floor(Math.log10(step));
  const m = step / 10 ** exp;
  return [1, 2, 5, 10].some((r) => Math.abs(m - r) < 1e-9);
}

let browser: Awaited<ReturnType<typeof launchChromium>>;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

// TSGRAD_REPORT_SCREENSHOTS=DIR saves what the checks saw, to look at.
const shots = process.env["TSGRAD_REPORT_SCREENSHOTS"];

/** What the app writes in the subtitle for each model (the CNN's is the longest). */
const MODELS = {
  mlp: "Linear(784→128) → ReLU → Linear(128→10), 101,770 parameters; Adam(lr=0.001), CrossEntropyLoss, batch 64, seed 1",
  cnn: "Conv2d(1→32, 3×3) → ReLU → Conv2d(32→64, 3×3) → ReLU → MaxPool2d(2) → Dropout(0.25) → Flatten → Linear(9216→128) → " +
    "ReLU → Dropout(0.5) → Linear(128→10) → LogSoftmax, 1,199,882 parameters; Adadelta(lr=1), StepLR(step_size=1, gamma=0.7) " +
    "per epoch, nll_loss of log_softmax, batch 64, seed 1",
} as const;

describe.each([
  ["MNIST", 1, DIGITS, "mlp"],
  ["MNIST", 10, DIGITS, "mlp"],
  ["Fashion-MNIST", 1, FASHION, "mlp"],
  ["Fashion-MNIST", 10, FASHION, "mlp"],
  ["Fashion-MNIST", 40, FASHION, "mlp"],
  ["Fashion-MNIST", 14, FASHION, "cnn"],
] as const)("the report of %s, %i epoch(s), %s", (dataset, epochs, names, model) => {
  const recs = records(epochs, dataset !== "MNIST");
  const html = renderReport({
    title: `mnist-train: ${dataset}`,
    subtitle: `${MODELS[model]}; ${dataset}: ` +
      "60,000 train / 10,000 test images from folder /a/rather/long/path/without/spaces/to/the/dataset/folder/holding/the/four/idx/files",
    records: recs, confusion: confusion(epochs), classNames: names,
  });

  it.each([520, 1280])("at %i px: nothing scrolls sideways, ticks are round and hold the data, names are whole", async (width) => {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    try {
      await page.setContent(html);
      if (shots !== undefined) {
        mkdirSync(shots, { recursive: true });
        await page.screenshot({ path: join(shots, `${dataset}-${epochs}-${model}-${width}.png`), fullPage: true });
      }
      const m = await page.evaluate(measure);
      expect(m.scrollWidth).toBeLessThanOrEqual(m.clientWidth);

      for (const [name, chart] of Object.entries(m.charts)) {
        const percent = name === "accuracy";
        for (const t of chart.texts) expect(inside(t.box, chart.svg), `${name}: "${t.text}" inside its chart`).toBe(true);
        const yTicks = chart.texts.filter((t) => t.cls === "ytick");
        const values = yTicks.map((t) => t.value);
        expect(values.length).toBeGreaterThanOrEqual(3);
        const step = values[1]! - values[0]!;
        expect(isRoundStep(step), `${name}: tick step ${step}`).toBe(true);
        values.forEach((v, i) => {
          expect(v).toBeCloseTo(values[0]! + i * step, 9);
          expect(Math.abs(v / step - Math.round(v / step))).toBeLessThan(1e-6); // on a multiple of the step
        });
        for (const t of yTicks) {
          expect(t.box.right, `${name}: tick "${t.text}" left of the plot`).toBeLessThanOrEqual(chart.plot.left + EPS);
          expect(t.text).toBe(`${t.value.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)))}${percent ? "%" : ""}`);
        }
        const data = chart.points.map((p) => p.value);
        expect(data).toHaveLength(percent ? epochs : 2 * epochs);
        expect(values[0]!).toBeLessThanOrEqual(Math.min(...data));
        expect(values.at(-1)!).toBeGreaterThanOrEqual(Math.max(...data));
        if (percent) {
          expect(values[0]!).toBeGreaterThanOrEqual(0);
          expect(values.at(-1)!).toBeLessThanOrEqual(100);
          // The range fits the data: not 31.6 %–147.6 % for one epoch at 83 %.
          expect(values.at(-1)! - values[0]!).toBeLessThanOrEqual(Math.max(20, 3 * (Math.max(...data) - Math.min(...data))));
        }
        for (const p of chart.points) expect(inside(p.box, chart.plot), `${name}: point ${p.value} inside the plot`).toBe(true);
        const xTicks = chart.texts.filter((t) => t.cls === "xtick");
        expect(xTicks.length).toBeGreaterThanOrEqual(1);
        expect(xTicks.length).toBeLessThanOrEqual(10);
        for (let i = 1; i < xTicks.length; i++) expect(overlap(xTicks[i - 1]!.box, xTicks[i]!.box)).toBe(false);
        const legend = chart.texts.filter((t) => t.cls === "legend");
        for (let i = 1; i < legend.length; i++) expect(overlap(legend[i - 1]!.box, legend[i]!.box)).toBe(false);
      }

      const cm = m.confusion;
      const cols = cm.texts.filter((t) => t.cls === "col");
      const rows = cm.texts.filter((t) => t.cls === "row");
      expect(cols.map((t) => t.text)).toEqual(names);
      expect(rows.map((t) => t.text)).toEqual(names);
      const grid = {
        left: Math.min(...cm.cells.map((c) => c.left)), top: Math.min(...cm.cells.map((c) => c.top)),
      };
      for (const t of [...cols, ...rows]) expect(inside(t.box, cm.svg), `"${t.text}" inside the matrix`).toBe(true);
      for (const t of cols) expect(t.box.bottom, `column "${t.text}" above the cells`).toBeLessThanOrEqual(grid.top + EPS);
      for (const t of rows) expect(t.box.right, `row "${t.text}" left of the cells`).toBeLessThanOrEqual(grid.left + EPS);
      for (const group of [cols, rows]) {
        for (let i = 1; i < group.length; i++) expect(overlap(group[i - 1]!.box, group[i]!.box), `"${group[i]!.text}" apart`).toBe(false);
      }
    } finally {
      await page.close();
    }
  });
});
