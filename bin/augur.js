#!/usr/bin/env node
// The `augur` command: runs the compiled CLI (npm's `prepare` script builds dist/ on install).
import { main } from "../dist/src/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
