/**
 * What the browser tests share: Debian's chromium (never a downloaded browser), why a suite
 * skips when it or the UI build is missing, and the bound on each of Playwright's own waits.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const BUILT = fileURLToPath(new URL("../../ui/index.html", import.meta.url));

/** Why the browser suites skip, or undefined when they can run. */
export const missing: string | undefined = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is not installed (apt-get install chromium)`
  : !existsSync(BUILT)
    ? "the UI is not built (npm run build:ui)"
    : undefined;

/** Playwright's own waits poll the page; this bounds each one, far above what the UI takes. */
export const WAIT = { timeout: 15_000 };

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}
