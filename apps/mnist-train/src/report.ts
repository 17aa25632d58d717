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

interface Series {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
}

function lineChart(title: string, xs: readonly number[], series: readonly Series[], yFormat: (v: number) => string): string {
  const W = 460, H = 260, L = 56, R = 16, T = 28, B = 40;
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(...all), hi = Math.max(...all);
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number) => T + (1 - (y - lo) / (hi - lo)) * (H - T - B);
  const ticks = Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
  const grid = ticks
    .map((v) => `<line x1="${L}" x2="${W - R}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" class="grid"/>` +
      `<text x="${L - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${esc(yFormat(v))}</text>`)
    .join("");
  const xt = xs.map((x) => `<text x="${px(x).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${x}</text>`).join("");
  const lines = series
    .map((s) => {
      const pts = s.values.map((v, i) => `${px(xs[i]!).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
      const dots = s.values
        .map((v, i) => `<circle cx="${px(xs[i]!).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)} epoch ${xs[i]}: ${esc(yFormat(v))}</title></circle>`)
        .join("");
      return `<polyline class="series" points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
    })
    .join("");
  const legend = series
    .map((s, i) => `<rect x="${L + 8 + i * 120}" y="8" width="12" height="4" fill="${s.color}"/><text x="${L + 24 + i * 120}" y="14">${esc(s.name)}</text>`)
    .join("");
  return `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">` +
    `${grid}${xt}<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">epoch</text>${lines}${legend}</svg></figure>`;
}

function confusionMatrix(confusion: readonly (readonly number[])[], names: readonly string[]): string {
  const n = confusion.length;
  const cell = 34, L = 92, T = 44;
  const W = L + n * cell + 8, H = T + n * cell + 30;
  const rowMax = confusion.map((r) => Math.max(1, r.reduce((a, b) => a + b, 0)));
  let cells = "";
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = confusion[i]![j]!;
      const f = v / rowMax[i]!;
      const fill = i === j ? `rgba(34,139,34,${(0.15 + 0.85 * f).toFixed(3)})` : `rgba(200,40,40,${Math.min(1, 4 * f).toFixed(3)})`;
      cells += `<rect x="${L + j * cell}" y="${T + i * cell}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"><title>true ${esc(names[i] ?? String(i))}, predicted ${esc(names[j] ?? String(j))}: ${v}</title></rect>` +
        `<text x="${L + j * cell + cell / 2}" y="${T + i * cell + cell / 2 + 4}" text-anchor="middle" class="count">${v}</text>`;
    }
  }
  const cols = names.map((s, j) => `<text x="${L + j * cell + cell / 2}" y="${T - 8}" text-anchor="middle">${esc(s.slice(0, 5))}</text>`).join("");
  const rows = names.map((s, i) => `<text x="${L - 6}" y="${T + i * cell + cell / 2 + 4}" text-anchor="end">${esc(s)}</text>`).join("");
  return `<figure><figcaption>Test confusion matrix (rows: true class, columns: predicted)</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" id="confusion" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="confusion matrix">` +
    `<text x="${L + (n * cell) / 2}" y="14" text-anchor="middle">predicted</text>${cols}${rows}${cells}</svg></figure>`;
}

/** A complete, self-contained HTML page. */
export function renderReport(input: ReportInput): string {
  const xs = input.records.map((r) => r.epoch);
  const loss = lineChart("Loss", xs, [
    { name: "train loss", color: "#1f77b4", values: input.records.map((r) => r.trainLoss) },
    { name: "test loss", color: "#ff7f0e", values: input.records.map((r) => r.testLoss) },
  ], (v) => v.toFixed(3));
  const acc = lineChart("Test accuracy", xs, [
    { name: "test accuracy", color: "#2ca02c", values: input.records.map((r) => r.testAccuracy) },
  ], (v) => `${(v * 100).toFixed(1)}%`);
  const rows = input.records
    .map((r) => `<tr><td>${r.epoch}</td><td>${r.trainLoss.toFixed(4)}</td><td>${r.testLoss.toFixed(4)}</td><td>${(r.testAccuracy * 100).toFixed(2)}%</td><td>${r.seconds === null ? "—" : r.seconds.toFixed(1)}</td></tr>`)
    .join("");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(input.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .grid { stroke: #e5e5e5; }
svg .count { font-size: 10px; }
figure { display: inline-block; margin: 0 2em 2em 0; vertical-align: top; }
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
