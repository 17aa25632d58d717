// Types of build.mjs, for the tests that build the bundle.
/** Bundles the CLI with esbuild into `outfile` (default dist/mnist-train.mjs); resolves to its path. */
export function buildCli(outfile?: string): Promise<string>;
