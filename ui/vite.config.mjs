// The web UI's build: Preact through esbuild's JSX transform (no Babel preset needed), emitted
// into dist/ui/, which the agent serves at /ui/. Hashed file names let the agent cache assets
// for a year; index.html is the only file that must be fetched fresh.
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "/ui/",
  logLevel: "warn",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: fileURLToPath(new URL("../dist/ui", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    assetsDir: "assets",
    reportCompressedSize: false,
  },
});
