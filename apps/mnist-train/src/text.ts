// Wording helpers for the CLI's messages: plurals and counts ("1 epoch", "9,000 images").

/** `one` for 1, else `many` (default: `one` + "s"). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

/** A count with its noun, thousands separated: `count(1, "epoch")` is "1 epoch", `count(9000, "image")` "9,000 images". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${plural(n, one, many)}`;
}
