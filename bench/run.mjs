// `pnpm bench`: bundles each benchmark in src/ with esbuild and runs it with plain node, one process each.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = ["matmul"].filter((b) => only.length === 0 || only.includes(b));
mkdirSync(join(here, "dist"), { recursive: true });
for (const name of benches) {
  const outfile = join(here, "dist", `${name}.mjs`);
  await build({
    entryPoints: [join(here, "src", `${name}.ts`)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    logLevel: "warning",
  });
  console.log(`\n== ${name} ==`);
  execFileSync(process.execPath, [outfile], { stdio: "inherit" });
}
