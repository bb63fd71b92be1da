// Starts the real `openstopcovid` binary on a free loopback port with a fresh data
// directory, creates accounts with its command line, and launches Debian's Chromium through
// playwright-core (no browser download). Everything is torn down by `stop()`.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "..", "..");
export const screenshotDir = join(repoRoot, "e2e", "screenshots");

/** The binary under test: OPENSTOPCOVID_BIN, else $CARGO_TARGET_DIR or target/, debug build. */
export function binaryPath() {
  if (process.env.OPENSTOPCOVID_BIN) return process.env.OPENSTOPCOVID_BIN;
  const targetDir = process.env.CARGO_TARGET_DIR || join(repoRoot, "target");
  return join(targetDir, "debug", "openstopcovid");
}

/** Debian's Chromium, installed by .ci/run. */
export const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Runs `openstopcovid authority user add`, the password on standard input. */
export function addUser(dataDir, email, role, password) {
  const result = spawnSync(
    binaryPath(),
    ["authority", "user", "add", "--data-dir", dataDir, "--email", email, "--role", role, "--password-stdin"],
    { input: password + "\n", encoding: "utf8" },
  );
  if (result.status !== 0) {
    throw new Error(`user add failed (${result.status}): ${result.stderr}`);
  }
}

async function waitUntilHealthy(baseUrl, server) {
  // Waits for the server to answer (it migrates the database first); bounded, and gives up
  // at once if the process died.
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}`);
    try {
      const response = await fetch(`${baseUrl}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wake) => setTimeout(wake, 100));
  }
  throw new Error("server did not become healthy");
}

/**
 * A running server and browser. `accounts` are created before the server starts;
 * `serveArgs` are added to `openstopcovid serve`; `publicUrl: true` passes the server's own
 * address as `--public-url` (venue codes and code QR codes then open the web app).
 * Returns { baseUrl, dataDir, browser, newContext(locale), logs(), stop() }.
 */
export async function start({ accounts = [], serveArgs = [], publicUrl = false } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "osc-e2e-data-"));
  for (const { email, role, password } of accounts) addUser(dataDir, email, role, password);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let output = "";
  const ownAddress = publicUrl ? ["--public-url", baseUrl] : [];
  const server = spawn(binaryPath(), ["serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, ...ownAddress, ...serveArgs], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout.on("data", (chunk) => { output += chunk; });
  server.stderr.on("data", (chunk) => { output += chunk; });
  await waitUntilHealthy(baseUrl, server);

  // launch() runs Chromium on a fresh temporary profile (user-data-dir) that Playwright
  // deletes on close; each context below is a further isolated cookie jar.
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
  });
  mkdirSync(screenshotDir, { recursive: true });

  return {
    baseUrl,
    dataDir,
    browser,
    /** A fresh browser profile (no cookies) speaking `locale` (sets Accept-Language). */
    newContext: (locale = "en-GB") => browser.newContext({ locale, baseURL: baseUrl }),
    /** Everything the server printed so far. */
    logs: () => output,
    async stop() {
      await browser.close();
      server.kill("SIGTERM");
      await new Promise((done) => (server.exitCode !== null ? done() : server.once("exit", done)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as e2e/screenshots/<name>.png. */
export async function screenshot(page, name) {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's violations on the page, one line each (evaluated through the devtools protocol, so the CSP stays on). */
export async function accessibilityViolations(page) {
  await page.evaluate(axeSource);
  return page.evaluate(async () => (await globalThis.axe.run(document)).violations
    .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`));
}

/** How many pixels the page is wider than the window (0: no sideways scrolling). */
export async function overflowWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}
