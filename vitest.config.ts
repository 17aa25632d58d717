// Root test configuration: every *.test.ts beside the sources of packages and apps, and the end-to-end tests in e2e/.
import { defineConfig } from "vitest/config";

const jsonReport = process.env["VITEST_JSON_REPORT"];

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "apps/*/src/**/*.test.ts", "e2e/src/**/*.test.ts"],
    setupFiles: ["./vitest.setup.ts"],
    testTimeout: 60_000,
    // .ci/run asks for a JSON report as well, to print the closing "N passed, N failed" line.
    reporters: jsonReport === undefined ? ["default"] : ["default", ["json", { outputFile: jsonReport }]],
  },
});
