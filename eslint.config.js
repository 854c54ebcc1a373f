// Lint rules from style.md: no floating promises, no explicit any, type-aware checks.
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "bin/**",
      "eslint.config.js",
      "test/**/fixtures/**/*.js",
      "test/**/fixtures/**/*.mjs",
      "test/**/fixtures/**/*.cjs",
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        // node:test's describe/it return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              name: [
                "describe",
                "it",
                "test",
                "before",
                "after",
                "beforeEach",
                "afterEach",
                "suite",
              ],
              package: "node:test",
            },
          ],
        },
      ],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
    },
  },
  {
    // Errors crossing a layer carry a stable code (style.md): AugurError, never a bare Error.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "NewExpression[callee.name='Error']",
          message: "Throw an AugurError with a stable code (src/lib/errors.ts), not a bare Error.",
        },
        {
          selector: "CallExpression[callee.name='Error']",
          message: "Throw an AugurError with a stable code (src/lib/errors.ts), not a bare Error.",
        },
      ],
    },
  },
  ...layerRules(),
);

/**
 * Layers (docs/architecture.md): imports point down only — cli → client → api →
 * watch / checks / agent → catalog → store, with config beside api, dns beside api (neither
 * imports the other) and lib under everything.
 * The three middle layers are independent of each other. Also: the catalog is the only reader of
 * its view, so `inspectView` (for tests) is refused everywhere else in src/.
 */
function layerRules() {
  const forbidden = {
    lib: ["../**"],
    store: ["catalog", "checks", "watch", "agent", "config", "api", "dns", "client", "cli"],
    catalog: ["checks", "watch", "agent", "config", "api", "dns", "client", "cli"],
    checks: ["watch", "agent", "config", "api", "dns", "client", "cli"],
    watch: ["checks", "agent", "config", "api", "dns", "client", "cli"],
    agent: ["checks", "watch", "config", "api", "dns", "client", "cli"],
    config: ["api", "dns", "client", "cli"],
    api: ["dns", "client", "cli"],
    // The DNS interface sits beside the HTTP API: the catalog, config types and lib below it.
    dns: ["api", "client", "cli"],
    client: ["cli"],
    cli: [],
  };
  const inspectView = {
    group: ["**/catalog/catalog.js"],
    importNames: ["inspectView"],
    message: "Read the catalog through Catalog's methods; inspectView is for tests.",
  };
  return Object.entries(forbidden).map(([layer, above]) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            ...(above.length > 0
              ? [
                  {
                    group: above.map((l) => (l.startsWith("..") ? l : `**/${l}/**`)),
                    message: `src/${layer}/ may not import a layer above it (docs/architecture.md).`,
                  },
                ]
              : []),
            ...(layer === "catalog" ? [] : [inspectView]),
          ],
        },
      ],
    },
  }));
}
