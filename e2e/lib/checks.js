// What every screen of the web UIs must pass, whatever the test: axe-core finds no
// accessibility violation, and the page is no wider than the screen (nothing to scroll
// sideways at 390 px).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe-core in the page (evaluated through the devtools protocol, so the CSP stays on). */
export async function assertAccessible(page, screen) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => (await globalThis.axe.run(document)).violations
    .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`));
  assert.deepEqual(violations, [], `accessibility of ${screen}`);
}

/** The page is no wider than its `width` px screen. */
export async function assertFitsTheScreen(page, width, screen) {
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `${screen}: the page is ${scrollWidth} px wide on a ${width} px screen`);
}
