// The HTML report: a well-formed page with the loss and accuracy curves and the confusion matrix.
import { describe, expect, it } from "vitest";
import { renderReport } from "./report.js";

/** Checks that every tag opened is closed in order (void elements excepted); returns the first problem or null. */
function tagBalance(html: string): string | null {
  const voids = new Set(["meta", "link", "br", "img", "input", "hr", "!doctype"]);
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([!a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, rawName, , selfClosing] = m;
    const name = rawName!.toLowerCase();
    if (voids.has(name) || selfClosing === "/") continue;
    if (closing === "") stack.push(name);
    else if (stack.pop() !== name) return `</${name}> closes the wrong element`;
  }
  return stack.length === 0 ? null : `unclosed: ${stack.join(", ")}`;
}

const records = [
  { epoch: 1, trainLoss: 0.5, testLoss: 0.4, testAccuracy: 0.85, seconds: 3.2 },
  { epoch: 2, trainLoss: 0.3, testLoss: 0.35, testAccuracy: 0.875, seconds: 3.1 },
  { epoch: 3, trainLoss: 0.25, testLoss: 0.33, testAccuracy: 0.88, seconds: null },
];
const confusion = Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 90 + i : i + j)));

describe("renderReport", () => {
  const html = renderReport({ title: "Run <1> & co", subtitle: "seed 1", records, confusion, classNames: ["T-shirt/top", ...Array.from({ length: 9 }, (_, i) => String(i + 1))] });

  it("is a complete, well-formed page that needs no network", () => {
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(tagBalance(html)).toBeNull();
    expect(html).not.toMatch(/(src|href)=["']https?:/);
    expect(html).toContain("<title>Run &lt;1&gt; &amp; co</title>");
  });

  it("draws the loss curves (train and test) and the accuracy curve through every epoch", () => {
    const lines = [...html.matchAll(/<polyline class="series" points="([^"]+)"/g)].map((m) => m[1]!.split(" "));
    expect(lines).toHaveLength(3);
    for (const pts of lines) expect(pts).toHaveLength(3);
    expect(html).toContain("train loss epoch 2: 0.300");
    expect(html).toContain("test accuracy epoch 3: 88.0%");
  });

  it("holds the 10×10 confusion matrix with its counts", () => {
    const cells = [...html.matchAll(/<title>true ([^,]+), predicted ([^:]+): (\d+)<\/title>/g)];
    expect(cells).toHaveLength(100);
    expect(cells[0]!.slice(1)).toEqual(["T-shirt/top", "T-shirt/top", "90"]);
    expect(cells[23]!.slice(1)).toEqual(["2", "3", "5"]);
  });

  it("shows epochs without a timing as a dash", () => {
    expect(html).toMatch(/<td>3<\/td>.*<td>—<\/td><\/tr>/);
  });
});
