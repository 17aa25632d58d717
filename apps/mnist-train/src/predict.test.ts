// predict's output pieces: the label line with its verdict, the top classes, the half-block image.
import { describe, expect, it } from "vitest";
import { describeLabel, renderDigit, topK } from "./predict.js";

const FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

describe("describeLabel", () => {
  it("says whether the top guess matches the label, with class names where they add something", () => {
    expect(describeLabel(7, 7, FASHION)).toBe("label 7 (Sneaker) — top guess correct");
    expect(describeLabel(7, 5, FASHION)).toBe("label 7 (Sneaker) — top guess wrong: 5 (Sandal)");
    expect(describeLabel(3, 3, DIGITS)).toBe("label 3 — top guess correct");
    expect(describeLabel(3, 8, DIGITS)).toBe("label 3 — top guess wrong: 8");
  });
});

describe("topK", () => {
  it("orders by probability, ties by index", () => {
    expect(topK([0.1, 0.4, 0.4, 0.1], 3)).toEqual([{ index: 1, probability: 0.4 }, { index: 2, probability: 0.4 }, { index: 0, probability: 0.1 }]);
  });
});

describe("renderDigit", () => {
  it("draws two pixel rows per line with half blocks", () => {
    const px = new Uint8Array([255, 0, 255, 0, 0, 255, 255, 0]); // 4 × 2: top row, bottom row
    expect(renderDigit(px, false, 4, 2)).toBe("▀▄█");
  });
});
