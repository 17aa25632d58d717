// The HTML report: loss and accuracy curves and the test confusion matrix as inline SVG (no network needed).

/** One epoch's metrics, as written to --metrics. */
export interface EpochRecord {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly testLoss: number;
  readonly testAccuracy: number;
  /** Wall time of the epoch (training and evaluation); null when trained by an earlier run whose metrics are gone. */
  readonly seconds: number | null;
  /** Resident memory of the process at the end of the epoch, in MB (absent for epochs of an earlier run). */
  readonly rssMB?: number;
}

/** What the report shows. */
export interface ReportInput {
  readonly title: string;
  readonly subtitle: string;
  readonly records: readonly EpochRecord[];
  /** confusion[true][predicted] counts on the test split. */
  readonly confusion: readonly (readonly number[])[];
  readonly classNames: readonly string[];
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Round axis ticks: a step of 1, 2 or 5 × 10^k, ticks at its multiples, from at or below `lo` to at or above `hi`. */
export interface Ticks {
  readonly step: number;
  readonly values: readonly number[];
  /** Decimals that print every tick exactly. */
  readonly decimals: number;
}

/**
 * At most `maxTicks` (≥ 2) round ticks covering [lo, hi]. The step is the smallest of 1, 2, 5 × 10^k that needs no
 * more than `maxTicks` ticks; a range of zero width is widened by 5 % of its value (or 1 when it is 0) each way first.
 */
export function niceTicks(lo: number, hi: number, maxTicks = 6): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`niceTicks: expected finite bounds, got ${lo} and ${hi}`);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.05;
    [lo, hi] = [lo - d, hi + d];
  }
  const raw = (hi - lo) / Math.max(1, maxTicks - 1);
  let exp = Math.floor(Math.log10(raw));
  for (;;) {
    for (const m of [1, 2, 5]) {
      const step = m * 10 ** exp;
      const first = Math.floor(lo / step + 1e-9);
      const last = Math.ceil(hi / step - 1e-9);
      if (last - first + 1 <= maxTicks) {
        const decimals = Math.max(0, -exp);
        const values = Array.from({ length: last - first + 1 }, (_, i) => Number(((first + i) * step).toFixed(decimals)));
        return { step, values, decimals };
      }
    }
    exp += 1;
  }
}

interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
}

/** How a chart's y axis is read and printed: `scale` maps a value to axis units (100 for percent). */
interface YAxis {
  readonly scale: number;
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  /** Digits in tooltips. */
  readonly digits: number;
}

const CHART = { W: 460, H: 260, L: 58, R: 16, T: 30, B: 42 } as const;

function lineChart(id: string, title: string, xs: readonly number[], series: readonly Series[], axis: YAxis): string {
  const { W, H, L, R, T, B } = CHART;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite).map((v) => v * axis.scale);
  let lo = all.length === 0 ? axis.min : Math.min(...all);
  let hi = all.length === 0 ? axis.min + 1 : Math.max(...all);
  // Keep points off the frame; one value (a 1-epoch run) gets ±3 % of itself, within the axis's bounds.
  const margin = hi - lo > 1e-12 * Math.max(1, Math.abs(hi)) ? (hi - lo) * 0.05 : Math.abs(hi) * 0.03 || 1;
  [lo, hi] = [Math.max(axis.min, lo - margin), Math.min(axis.max, hi + margin)];
  const ticks = niceTicks(lo, hi, 6);
  const [y0, y1] = [Math.max(axis.min, ticks.values[0]!), Math.min(axis.max, ticks.values.at(-1)!)];
  const yTicks = ticks.values.filter((v) => v >= y0 - 1e-9 && v <= y1 + 1e-9);
  // Epochs: half an epoch of room either side, so one epoch sits in the middle and the last is not on the frame.
  const n = xs.length === 0 ? 1 : Math.max(...xs);
  const [x0, x1] = [Math.min(1, ...xs) - 0.5, n + 0.5];
  const xStep = [1, 2, 5].flatMap((m) => [1, 10, 100, 1000, 10000].map((p) => m * p)).sort((a, b) => a - b).find((s) => n / s <= 10) ?? n;
  const xTicks = Array.from({ length: n }, (_, i) => i + 1).filter((e) => xStep === 1 || e % xStep === 0);
  const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => T + (1 - (y * axis.scale - y0) / (y1 - y0)) * (H - T - B);
  const pyAxis = (v: number) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  const fmtTick = (v: number) => `${v.toFixed(ticks.decimals)}${axis.unit}`;
  const fmtValue = (v: number) => `${(v * axis.scale).toFixed(axis.digits)}${axis.unit}`;
  const grid = yTicks
    .map((v) => `<line x1="${L}" x2="${W - R}" y1="${pyAxis(v).toFixed(1)}" y2="${pyAxis(v).toFixed(1)}" class="grid"/>` +
      `<text class="ytick" data-value="${v}" x="${L - 6}" y="${(pyAxis(v) + 4).toFixed(1)}" text-anchor="end">${esc(fmtTick(v))}</text>`)
    .join("");
  const xt = xTicks.map((x) => `<text class="xtick" x="${px(x).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${x}</text>`).join("");
  const frame = `<rect class="plot" x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#ccc"/>`;
  const lines = series
    .map((s) => {
      const pts = s.values.map((v, i) => `${px(xs[i]!).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
      const dots = s.values
        .map((v, i) => `<circle class="point" data-value="${v * axis.scale}" cx="${px(xs[i]!).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)} epoch ${xs[i]}: ${esc(fmtValue(v))}</title></circle>`)
        .join("");
      return `<polyline class="series" points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
    })
    .join("");
  const legend = series
    .map((s, i) => `<rect x="${L + 8 + i * 120}" y="9" width="12" height="4" fill="${s.color}"/><text class="legend" x="${L + 24 + i * 120}" y="15">${esc(s.name)}</text>`)
    .join("");
  return `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" id="${id}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">` +
    `${frame}${grid}${xt}<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">epoch</text>${lines}${legend}</svg></figure>`;
}

/** Width of `s` in 11 px system-ui, over-estimated (6.8 px a character) so that labels get room enough. */
const textWidth = (s: string): number => 6.8 * [...s].length;

function confusionMatrix(confusion: readonly (readonly number[])[], names: readonly string[]): string {
  const n = confusion.length;
  const cell = 34;
  const label = (i: number) => names[i] ?? String(i);
  const longest = Math.max(0, ...Array.from({ length: n }, (_, i) => textWidth(label(i))));
  // Column labels that fit a cell stay level; longer ones (Fashion-MNIST's) stand upright, read from below.
  const upright = longest > cell - 4;
  const L = Math.ceil(longest + 14);
  const T = 24 + (upright ? Math.ceil(longest) + 8 : 20);
  const W = L + n * cell + 8, H = T + n * cell + 8;
  const rowMax = confusion.map((r) => Math.max(1, r.reduce((a, b) => a + b, 0)));
  let cells = "";
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = confusion[i]![j]!;
      const f = v / rowMax[i]!;
      const fill = i === j ? `rgba(34,139,34,${(0.15 + 0.85 * f).toFixed(3)})` : `rgba(200,40,40,${Math.min(1, 4 * f).toFixed(3)})`;
      cells += `<rect x="${L + j * cell}" y="${T + i * cell}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"><title>true ${esc(label(i))}, predicted ${esc(label(j))}: ${v}</title></rect>` +
        `<text x="${L + j * cell + cell / 2}" y="${T + i * cell + cell / 2 + 4}" text-anchor="middle" class="count">${v}</text>`;
    }
  }
  const cols = Array.from({ length: n }, (_, j) => {
    const x = L + j * cell + cell / 2;
    return upright
      ? `<text class="col" x="${x + 4}" y="${T - 6}" text-anchor="start" transform="rotate(-90 ${x + 4} ${T - 6})">${esc(label(j))}</text>`
      : `<text class="col" x="${x}" y="${T - 8}" text-anchor="middle">${esc(label(j))}</text>`;
  }).join("");
  const rows = Array.from({ length: n }, (_, i) => `<text class="row" x="${L - 6}" y="${T + i * cell + cell / 2 + 4}" text-anchor="end">${esc(label(i))}</text>`).join("");
  return `<figure><figcaption>Test confusion matrix (rows: true class, columns: predicted)</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" id="confusion" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="confusion matrix">` +
    `<text x="${L + (n * cell) / 2}" y="14" text-anchor="middle">predicted</text>${cols}${rows}${cells}</svg></figure>`;
}

/** A complete, self-contained HTML page; it fits a phone-sized window (the charts shrink, nothing scrolls sideways). */
export function renderReport(input: ReportInput): string {
  const xs = input.records.map((r) => r.epoch);
  const loss = lineChart("loss", "Loss", xs, [
    { name: "train loss", color: "#1f77b4", values: input.records.map((r) => r.trainLoss) },
    { name: "test loss", color: "#ff7f0e", values: input.records.map((r) => r.testLoss) },
  ], { scale: 1, unit: "", min: 0, max: Infinity, digits: 3 });
  const acc = lineChart("accuracy", "Test accuracy", xs, [
    { name: "test accuracy", color: "#2ca02c", values: input.records.map((r) => r.testAccuracy) },
  ], { scale: 100, unit: "%", min: 0, max: 100, digits: 1 });
  const rows = input.records
    .map((r) => `<tr><td>${r.epoch}</td><td>${r.trainLoss.toFixed(4)}</td><td>${r.testLoss.toFixed(4)}</td><td>${(r.testAccuracy * 100).toFixed(2)}%</td><td>${r.seconds === null ? "—" : r.seconds.toFixed(1)}</td></tr>`)
    .join("");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(input.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
@media (max-width: 600px) { body { margin: 1em; } }
h1 { font-size: 1.6em; }
h1, p { overflow-wrap: anywhere; }
svg { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .grid { stroke: #e5e5e5; }
svg .count { font-size: 10px; }
figure { display: inline-block; max-width: 100%; margin: 0 2em 2em 0; vertical-align: top; }
figcaption { font-weight: 600; margin-bottom: .5em; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: right; border-bottom: 1px solid #eee; }
</style>
</head>
<body>
<h1>${esc(input.title)}</h1>
<p>${esc(input.subtitle)}</p>
${loss}
${acc}
${confusionMatrix(input.confusion, input.classNames)}
<table><thead><tr><th>epoch</th><th>train loss</th><th>test loss</th><th>test accuracy</th><th>seconds</th></tr></thead><tbody>${rows}</tbody></table>
</body>
</html>
`;
}
