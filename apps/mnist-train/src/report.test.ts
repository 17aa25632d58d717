// The HTML report: a well-formed page with the loss and accuracy curves and the confusion matrix.
import { describe, expect, it } from "vitest";
import { niceTicks, renderReport } from "./report.js";

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

describe("niceTicks", () => {
  it.each([
    [0.4713, 0.5925, 6, [0.45, 0.5, 0.55, 0.6]],
    [0, 1, 6, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [80.3, 85.3, 6, [80, 82, 84, 86]],
    [93.2, 97.9, 6, [93, 94, 95, 96, 97, 98]],
    [1, 40, 11, [0, 5, 10, 15, 20, 25, 30, 35, 40]],
    [-3, 7, 6, [-5, 0, 5, 10]],
    [0.012, 0.0131, 6, [0.012, 0.0125, 0.013, 0.0135]],
    [0.85, 0.85, 6, [0.8, 0.82, 0.84, 0.86, 0.88, 0.9]],
    [0, 0, 6, [-1, -0.5, 0, 0.5, 1]],
  ])("[%f, %f] in at most %i ticks: %j (steps of 1, 2 or 5 × 10^k)", (lo, hi, max, values) => {
    expect(niceTicks(lo, hi, max).values).toEqual(values);
  });

  it("prints every tick with the decimals of its step", () => {
    expect(niceTicks(0.012, 0.0131).decimals).toBe(4);
    expect(niceTicks(80.3, 85.3).decimals).toBe(0);
  });

  it("refuses bounds that are not finite", () => {
    expect(() => niceTicks(0, Number.NaN)).toThrow(/niceTicks: expected finite bounds, got 0 and NaN/);
  });
});

describe("renderReport of a 1-epoch run", () => {
  const one = renderReport({
    title: "t", subtitle: "s", confusion, classNames: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    records: [{ epoch: 1, trainLoss: 0.543, testLoss: 0.4713, testAccuracy: 0.8282, seconds: 1.7 }],
  });
  const ticks = (id: string) => {
    const svg = new RegExp(`<svg[^>]*id="${id}"[\\s\\S]*?</svg>`).exec(one)![0];
    return [...svg.matchAll(/class="ytick" data-value="([^"]+)"[^>]*>([^<]+)</g)].map((m) => [Number(m[1]), m[2]]);
  };

  it("puts the accuracy axis around the one value, with round ticks (not 31.6 %–147.6 %)", () => {
    expect(ticks("accuracy")).toEqual([[80, "80%"], [82, "82%"], [84, "84%"], [86, "86%"]]);
  });

  it("puts the loss axis around both values", () => {
    expect(ticks("loss")).toEqual([[0.46, "0.46"], [0.48, "0.48"], [0.5, "0.50"], [0.52, "0.52"], [0.54, "0.54"], [0.56, "0.56"]]);
  });

  it("writes the class names in full", () => {
    expect([...one.matchAll(/<text class="col"[^>]*>([^<]+)</g)].map((m) => m[1])).toContain("Ankle boot");
    expect([...one.matchAll(/<text class="row"[^>]*>([^<]+)</g)].map((m) => m[1])).toContain("T-shirt/top");
  });
});
