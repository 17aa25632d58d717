// `pnpm sz`: logical lines (neither blank nor only comment) of each package's sources, tests apart, against the soft
// budgets the README states. Prints a table; a package over its budget is marked, the exit code stays 0 (soft).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
/** Soft budgets in logical lines of non-test sources (README, "Size"). */
const BUDGETS = {
  "packages/tensor": 3600, "packages/nn": 1100, "packages/optim": 500, "packages/data": 1100,
  "packages/testing": 200, "apps/mnist-train": 1600, bench: 400,
};

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "dist") return [];
    return statSync(path).isDirectory() ? files(path) : /\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Lines holding code: not blank, not inside or made only of a comment. */
function logicalLines(text) {
  let count = 0;
  let inBlock = false;
  for (const raw of text.split("\n")) {
    let line = raw.trim();
    if (inBlock) {
      const end = line.indexOf("*/");
      if (end < 0) continue;
      inBlock = false;
      line = line.slice(end + 2).trim();
    }
    if (line.startsWith("/*")) {
      const end = line.indexOf("*/", 2);
      if (end < 0) { inBlock = true; continue; }
      line = line.slice(end + 2).trim();
    }
    if (line === "" || line.startsWith("//")) continue;
    count++;
  }
  return count;
}

console.log("package               sources  tests   budget");
let total = 0;
for (const [pkg, budget] of Object.entries(BUDGETS)) {
  let src = 0, tests = 0;
  for (const f of files(join(root, pkg, pkg === "bench" ? "src" : "src"))) {
    const n = logicalLines(readFileSync(f, "utf8"));
    if (/\.test\.ts$/.test(f)) tests += n;
    else src += n;
  }
  total += src;
  const mark = src > budget ? "  over budget" : "";
  console.log(`${pkg.padEnd(20)} ${String(src).padStart(8)} ${String(tests).padStart(6)} ${String(budget).padStart(8)}${mark}`);
}
console.log(`${"all".padEnd(20)} ${String(total).padStart(8)}`);
console.log(`(logical lines of ${relative(process.cwd(), root) || "."}/*/src/**/*.ts: neither blank nor only comment)`);
