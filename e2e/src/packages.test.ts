// The published packages as a user gets them: packed by pnpm, installed by npm into a plain project outside the
// workspace, run by plain Node, type-checked with NodeNext, bundled for browsers, and trained in headless Chromium
// without and with cross-origin isolation.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "@tsgrad/testing";
import { CROSS_ORIGIN_ISOLATION, launchChromium, serveStatic, type StaticServer } from "@tsgrad/testing/browser";
import { copyFixtures, installTarballs, packPackages, PUBLISHED, run, tarEntries } from "./tarballs.js";

const STEPS = 40;
/**
 * A size budget: tensor + nn + optim, minified by esbuild, gzip -9. Raised from 40 kB when conv2d/pooling (with their
 * Winograd and SIMD kernels), three optimizers and PyTorch-style printing landed (31.9 → 47.9 kB); ~15 % to grow.
 */
const BUNDLE_BUDGET_BYTES = 55_000;

type Browser = Awaited<ReturnType<typeof launchChromium>>;
type Page = Awaited<ReturnType<Browser["newPage"]>>;

interface Training {
  readonly losses: number[];
  readonly parameters: string;
}

/** What train.mjs prints. */
interface NodeTraining {
  readonly source: string;
  readonly count: number;
  readonly backend: string;
  readonly threads: number;
  readonly one: Training;
  readonly two: Training;
}

let root = "";
let project = "";
let tarballs: Record<(typeof PUBLISHED)[number], string>;
let node: NodeTraining;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "tsgrad-e2e-"));
  project = join(root, "project");
  mkdirSync(project);
  tarballs = await packPackages(join(root, "tarballs"));
  await installTarballs(project, tarballs);
  copyFixtures(project);
  // The plain Node program, which also writes the gzip IDX files that the browser pages train on.
  const { stdout } = await run(process.execPath, ["train.mjs", String(STEPS)], { cwd: project, timeoutMs: 120_000 });
  node = JSON.parse(stdout.trim().split("\n").pop()!) as NodeTraining;
}, 300_000);

afterAll(() => {
  if (root !== "") rmSync(root, { recursive: true, force: true });
});

/** Mean of the first and of the last five losses: training lowers it. */
function expectLossFalls(losses: readonly number[]): void {
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(losses).toHaveLength(STEPS);
  for (const l of losses) expect(Number.isFinite(l)).toBe(true);
  expect(mean(losses.slice(-5))).toBeLessThan(0.6 * mean(losses.slice(0, 5)));
}

describe("the pnpm pack tarballs", () => {
  it.each(PUBLISHED)("@tsgrad/%s holds the build (ESM .js, .d.ts, source maps), README and LICENSE, and nothing else", (name) => {
    const entries = tarEntries(tarballs[name]);
    const files = [...entries.keys()];
    for (const f of files) expect(f).toMatch(/^package\/(package\.json|README\.md|LICENSE|dist\/([a-z-]+\/)*[a-z-]+\.(js|d\.ts|js\.map))$/);
    for (const f of files.filter((x) => x.endsWith(".js"))) {
      expect(files).toContain(f.replace(/\.js$/, ".d.ts"));
      const map = JSON.parse(Buffer.from(entries.get(`${f}.map`)!).toString()) as { sourcesContent?: string[] };
      expect(map.sourcesContent?.[0]).toMatch(/^\/\/ /); // the TypeScript source itself, with its role header
    }
    expect(files.some((f) => /test|fixtures|tsconfig|\/src\//.test(f))).toBe(false);
    expect(Buffer.from(entries.get("package/LICENSE")!).toString()).toMatch(/^MIT License/);

    const manifest = JSON.parse(Buffer.from(entries.get("package/package.json")!).toString()) as Record<string, unknown>;
    expect(manifest["private"]).toBeUndefined();
    expect(manifest).toMatchObject({ license: "MIT", type: "module", sideEffects: false, types: "./dist/index.d.ts" });
    expect(manifest["description"]).toEqual(expect.any(String));
    expect(manifest["keywords"]).toEqual(expect.arrayContaining(["typescript"]));
    expect(manifest["repository"]).toMatchObject({ type: "git", directory: `packages/${name}` });
    const exportsMap = manifest["exports"] as Record<string, { types: string; import: string }>;
    expect(Object.keys(exportsMap)).toEqual(name === "data" ? [".", "./node"] : name === "tensor" ? [".", "./internal"] : ["."]);
    for (const target of Object.values(exportsMap)) {
      expect(Object.keys(target)).toEqual(["types", "import"]);
      expect(files).toContain(`package/${target.types.slice(2)}`);
      expect(files).toContain(`package/${target.import.slice(2)}`);
    }
    const version = (JSON.parse(readFileSync(join(repoRoot, "packages/tensor/package.json"), "utf8")) as { version: string }).version;
    const deps = (manifest["dependencies"] ?? {}) as Record<string, string>;
    for (const field of ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]) {
      for (const range of Object.values((manifest[field] ?? {}) as Record<string, string>)) expect(range).not.toMatch(/^workspace:/);
    }
    if (name !== "tensor") expect(deps["@tsgrad/tensor"]).toBe(`^${version}`);
    else expect(deps).toEqual({});
  });
});

describe("installed with npm into a plain project", () => {
  it("a plain .mjs trains the reference model on real MNIST images (the loss falls; 2 threads give the same bits)", () => {
    expect(node).toMatchObject({ source: "embedded", count: 64 * STEPS, backend: "wasm", threads: 2 });
    expectLossFalls(node.one.losses);
    expect(node.two).toEqual(node.one);
  });

  const tsc = (config: string) =>
    run(process.execPath, [join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", config], { cwd: project, timeoutMs: 120_000 });
  const tsconfig = (file: string, files: string[], options: Record<string, unknown>) =>
    writeFileSync(join(project, file), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true,
        skipLibCheck: false, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, allowJs: true, checkJs: true,
        ...options,
      },
      files,
    }));

  it("type-checks TypeScript consumers with moduleResolution NodeNext: Node (with @tsgrad/data/node), and browser with no Node types", async () => {
    const node = { lib: ["ES2022"], types: ["node"], typeRoots: [join(repoRoot, "node_modules/@types")] };
    tsconfig("tsconfig.node.json", ["consumer.ts", "readme-node.mjs"], node);
    tsconfig("tsconfig.browser.json", ["consumer-browser.ts", "readme-browser.mjs"], { lib: ["ES2022", "DOM"], types: [] });
    await Promise.all([tsc("tsconfig.node.json"), tsc("tsconfig.browser.json")]);
  });

  it("the README's Node and browser examples are the files type-checked here", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    for (const file of ["readme-node.mjs", "readme-browser.mjs"]) {
      const example = readFileSync(join(project, file), "utf8").split("\n").slice(1).join("\n"); // without the role header
      expect(readme, file).toContain("```js\n" + example + "```");
    }
  });

  it(`bundles tensor + nn + optim for browsers under ${BUNDLE_BUDGET_BYTES / 1000} kB (esbuild --minify, gzip -9)`, async () => {
    const entry = join(project, "bundle-entry.mjs");
    writeFileSync(entry, 'export * from "@tsgrad/tensor";\nexport * from "@tsgrad/nn";\nexport * from "@tsgrad/optim";\n');
    const out = await build({ entryPoints: [entry], bundle: true, minify: true, format: "esm", platform: "browser", write: false, logLevel: "silent" });
    const code = out.outputFiles[0]!.contents;
    const gzip = gzipSync(code, { level: 9 }).length;
    console.log(`tensor + nn + optim, esbuild --minify: ${code.length} bytes, gzip -9: ${gzip} bytes`);
    expect(gzip).toBeLessThan(BUNDLE_BUDGET_BYTES);
  });

  describe("in headless Chromium, from the installed dist/ files", () => {
    let browser: Browser;
    let plain: StaticServer;
    let isolated: StaticServer;

    beforeAll(async () => {
      // The page maps each package name onto the file its `exports` name (an import map); a worker has no import
      // map, so the worker's script is an esbuild bundle of the same built files.
      const imports: Record<string, string> = {};
      for (const name of PUBLISHED) {
        const manifest = JSON.parse(readFileSync(join(project, "node_modules/@tsgrad", name, "package.json"), "utf8")) as {
          exports: Record<string, { import: string }>;
        };
        for (const [subpath, target] of Object.entries(manifest.exports)) {
          imports[`@tsgrad/${name}${subpath.slice(1)}`] = `./node_modules/@tsgrad/${name}/${target.import.slice(2)}`;
        }
      }
      writeFileSync(join(project, "index.html"), `<!doctype html>
<meta charset="utf-8">
<title>tsgrad e2e</title>
<link rel="icon" href="data:,">
<script type="importmap">${JSON.stringify({ imports })}</script>
<script type="module">
  import { runTraining } from "./page.mjs";
  window.runTraining = runTraining;
  window.ready = true;
</script>
`);
      await build({
        entryPoints: [join(project, "worker.mjs")], bundle: true, format: "esm", platform: "browser",
        outfile: join(project, "worker.bundle.mjs"), logLevel: "silent",
      });
      plain = await serveStatic(project);
      isolated = await serveStatic(project, { headers: CROSS_ORIGIN_ISOLATION });
      browser = await launchChromium();
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await plain?.close();
      await isolated?.close();
    });

    interface PageRun extends Training {
      readonly threads: number;
      readonly reported: number;
      readonly workerKernelCalls: number;
      readonly ms: number;
    }
    interface PageResult {
      readonly crossOriginIsolated: boolean;
      readonly sharedArrayBuffer: string;
      readonly context: string;
      readonly backend: string;
      readonly instructions: string;
      readonly warnings: string[];
      readonly workersStarted: number;
      readonly runs: PageRun[];
    }

    /** Opens the page and runs the training there, or in a dedicated worker it starts; fails on any page error. */
    async function train(server: StaticServer, threadCounts: number[], where: "page" | "worker", relaxed?: boolean): Promise<PageResult> {
      const page: Page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      try {
        await page.goto(`${server.url}/index.html`);
        await page.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true, null, { timeout: 20_000 });
        const options = { steps: STEPS, threadCounts, relaxed };
        const result = await page.evaluate(
          ({ options, where }) => {
            // The page's globals, typed here (the workspace type-checks this file without the DOM library).
            const g = globalThis as unknown as {
              runTraining(o: typeof options): Promise<unknown>;
              Worker: new (url: string, o: { type: "module" }) => {
                onmessage: (e: { data: { result?: unknown; error?: string } }) => void;
                onerror: (e: { message: string }) => void;
                postMessage(message: unknown): void;
              };
            };
            if (where === "page") return g.runTraining(options);
            return new Promise((resolve, reject) => {
              const worker = new g.Worker("./worker.bundle.mjs", { type: "module" });
              worker.onmessage = (e) => (e.data.error === undefined ? resolve(e.data.result) : reject(new Error(e.data.error)));
              worker.onerror = (e) => reject(new Error(`worker: ${e.message}`));
              worker.postMessage(options);
            });
          },
          { options, where },
        );
        expect(errors).toEqual([]);
        return result as PageResult;
      } finally {
        await page.close();
      }
    }

    it("without cross-origin isolation: 1 thread, setNumThreads(2) warns exactly once, the loss falls", async () => {
      // Relaxed SIMD pinned off, so that the bits can be held to Node 20's (which has no relaxed SIMD without a flag).
      const r = await train(plain, [2], "page", false);
      expect(r).toMatchObject({ crossOriginIsolated: false, sharedArrayBuffer: "undefined", backend: "wasm", instructions: "simd128", workersStarted: 0 });
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toMatch(/^setNumThreads: 2 threads need SharedArrayBuffer, .*cross-origin isolated\); running on 1 thread\. .*"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp"\.$/);
      const [run1] = r.runs;
      expect(run1).toMatchObject({ threads: 2, reported: 1, workerKernelCalls: 0 });
      expectLossFalls(run1!.losses);
      // The same bits as Node on the same bytes: one V8, one wasm SIMD kernel, one order of summation.
      expect({ losses: run1!.losses, parameters: run1!.parameters }).toEqual(node.one);
      console.log(`chromium ${browser.version()}, not isolated: backend ${r.backend}, ${run1!.reported} thread, ` +
        `loss ${run1!.losses[0]!.toFixed(3)} → ${run1!.losses.at(-1)!.toFixed(3)} in ${STEPS} steps, ${(run1!.ms / STEPS).toFixed(2)} ms/step`);
    });

    it("the README's browser example runs as it is on a cross-origin-isolated page", async () => {
      const page: Page = await browser.newPage();
      const errors: string[] = [];
      const logs: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => (m.type() === "error" || m.type() === "warning" ? errors : logs).push(m.text()));
      try {
        await page.goto(`${isolated.url}/index.html`);
        await page.evaluate('import("./readme-browser.mjs").then(() => true)'); // a string: vitest rewrites import()
      } finally {
        await page.close();
      }
      expect(errors).toEqual([]);
      expect(logs).toHaveLength(STEPS); // one line per batch: 2,560 images in batches of 64
      const losses = logs.map((line) => Number(/^2 thread\(s\): loss (\d\.\d{3})$/.exec(line)?.[1]));
      expectLossFalls(losses);
    });

    it.each(["page", "worker"] as const)(
      "cross-origin isolated, training on the %s's thread: 2 threads run, with losses bit-identical to 1 thread",
      async (where) => {
        const r = await train(isolated, [1, 2], where, false);
        expect(r).toMatchObject({ crossOriginIsolated: true, sharedArrayBuffer: "function", context: where, backend: "wasm", instructions: "simd128", warnings: [] });
        const [one, two] = r.runs;
        expect(one).toMatchObject({ threads: 1, reported: 1, workerKernelCalls: 0 });
        expect(two).toMatchObject({ threads: 2, reported: 2 });
        expect(r.workersStarted).toBe(1);
        expect(two!.workerKernelCalls).toBeGreaterThan(0); // the second thread computed part of the products
        expectLossFalls(one!.losses);
        expect({ losses: two!.losses, parameters: two!.parameters }).toEqual({ losses: one!.losses, parameters: one!.parameters });
        expect({ losses: one!.losses, parameters: one!.parameters }).toEqual(node.one);
        console.log(`chromium, isolated, on the ${where}'s thread: backend ${r.backend}; 2 threads: the worker made ` +
          `${two!.workerKernelCalls} kernel calls; ${(one!.ms / STEPS).toFixed(2)} / ${(two!.ms / STEPS).toFixed(2)} ms/step (1 / 2 threads)`);
      },
    );

    it("by default Chromium's gemms run relaxed SIMD (f32x4.relaxed_madd): 2 threads give the bits of 1 thread", async () => {
      const r = await train(isolated, [1, 2], "page");
      expect(r).toMatchObject({ crossOriginIsolated: true, backend: "wasm", instructions: "relaxed-simd", warnings: [] });
      const [one, two] = r.runs;
      expect(two).toMatchObject({ threads: 2, reported: 2 });
      expect(two!.workerKernelCalls).toBeGreaterThan(0);
      expectLossFalls(one!.losses);
      expect({ losses: two!.losses, parameters: two!.parameters }).toEqual({ losses: one!.losses, parameters: one!.parameters });
      // Within float32 rounding of the plain kernels' run (one rounding per multiply-add instead of two).
      const drift = Math.max(...one!.losses.map((loss, i) => Math.abs(loss - node.one.losses[i]!)));
      expect(drift).toBeLessThan(1e-5);
      console.log(`chromium, isolated, relaxed SIMD by default: ${(one!.ms / STEPS).toFixed(2)} / ${(two!.ms / STEPS).toFixed(2)} ms/step ` +
        `(1 / 2 threads); largest loss difference to the plain kernels ${drift.toExponential(1)}, the same parameters: ${JSON.stringify(one!.parameters) === JSON.stringify(node.one.parameters)}`);
    });
  });
});
