// ESLint: typescript-eslint's strict rules over every TypeScript source, no default exports, no `any`.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "bench/peers/**", "testdata/**", "**/*.mjs", "**/*.js"] },
  ...tseslint.configs.strict,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "no-restricted-syntax": ["error", { selector: "ExportDefaultDeclaration", message: "Use named exports (STYLE.md, habit 2)." }],
      // With noUncheckedIndexedAccess every typed-array read is `T | undefined`: `a[i]!` is this codebase's idiom.
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true }],
      "prefer-const": ["error", { destructuring: "all" }],
    },
  },
  // Tool configurations whose tools require a default export.
  { files: ["vitest.config.ts"], rules: { "no-restricted-syntax": "off" } },
);
