/**
 * Browser tests: Playwright (`playwright-core`, no browser download) driving Debian's Chromium at
 * /usr/bin/chromium (`scripts/system-deps.sh` installs it; `.ci/run` runs that first). A missing
 * Chromium fails the test with what to install — browser tests are never skipped.
 *
 * Each launch gets a fresh profile dir (removed on close), headless, no sandbox (CI runs as root),
 * no GPU, no QUIC, no first-run or background traffic. Console errors and page errors are collected
 * so a test can fail on them; screenshots go to test-output/ (git-ignored).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";

export const CHROMIUM = process.env.AMP_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
export const TEST_OUTPUT = path.join(__dirname, "..", "..", "test-output");

export interface TestBrowser {
  readonly context: BrowserContext;
  /** A new page whose console errors and uncaught exceptions land in `errors`. */
  page(): Promise<{ page: Page; errors: string[] }>;
  /** Full-page screenshot to test-output/<name>.png; returns the file. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: run 'bash scripts/system-deps.sh' (apt-get install -y chromium) — browser tests are never skipped`,
    );
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "amp-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1366, height: 900 },
      timeout: 60_000,
    });
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  return {
    context,
    async page() {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
      return { page, errors };
    },
    async screenshot(page, name) {
      fs.mkdirSync(TEST_OUTPUT, { recursive: true });
      const file = path.join(TEST_OUTPUT, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      try {
        await context.close();
      } finally {
        fs.rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
