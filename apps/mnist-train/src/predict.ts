// `predict`: draws a 28×28 image with Unicode half blocks and lists the most likely classes.
import { noGrad, tensor } from "@tsgrad/tensor";
import { IMAGE_SIZE, type Net } from "./model.js";
import { pixelTable } from "./train.js";

/** Class probabilities (softmax of the net's output: logits or log-probabilities) of one image of 784 bytes. */
export function predictImage(net: Net, pixels: Uint8Array): Float32Array {
  const lut = pixelTable(net.normalize);
  return noGrad(() => {
    const x = tensor(Float32Array.from(pixels, (v) => lut[v]!), { shape: [1, IMAGE_SIZE] });
    net.module.eval();
    return net.forward(x).softmax(1).toFloat32Array();
  });
}

/**
 * Renders a 28×28 grey image as 14 lines of 28 half-block cells (each cell is two pixels, top and bottom).
 * With colour, each cell uses 24-bit grey for both halves (`▀` on a background); without, pixels are thresholded
 * at 50% into `▀`, `▄`, `█` or a space.
 */
export function renderDigit(pixels: Uint8Array, color: boolean, width = 28, height = 28): string {
  const lines: string[] = [];
  for (let y = 0; y < height; y += 2) {
    let line = "";
    for (let x = 0; x < width; x++) {
      const top = pixels[y * width + x]!;
      const bottom = y + 1 < height ? pixels[(y + 1) * width + x]! : 0;
      if (color) {
        line += `\x1b[38;2;${top};${top};${top}m\x1b[48;2;${bottom};${bottom};${bottom}m▀`;
      } else {
        const t = top >= 128, b = bottom >= 128;
        line += t && b ? "█" : t ? "▀" : b ? "▄" : " ";
      }
    }
    lines.push(color ? `${line}\x1b[0m` : line.replace(/\s+$/, ""));
  }
  return lines.join("\n");
}

/**
 * The label and whether the top guess matches it: `label 7 (Sneaker) — top guess correct`, or
 * `label 7 (Sneaker) — top guess wrong: 5 (Sandal)`; class names equal to the label (MNIST's digits) are not repeated.
 */
export function describeLabel(label: number, top: number, classNames: readonly string[]): string {
  const name = (i: number): string => (classNames[i] === undefined || classNames[i] === String(i) ? String(i) : `${i} (${classNames[i]})`);
  return `label ${name(label)} — top guess ${top === label ? "correct" : `wrong: ${name(top)}`}`;
}

/** The `k` largest probabilities with their class indices, largest first (ties: lower index first). */
export function topK(probabilities: ArrayLike<number>, k: number): { index: number; probability: number }[] {
  return Array.from(probabilities, (probability, index) => ({ index, probability }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index)
    .slice(0, k);
}
