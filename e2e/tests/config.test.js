// The app configuration round trip: an administrator edits texts at /authority/config
// (preview, save, a refused form, a roll back behind its confirmation) and a Rust phone
// (`openstopcovid phone sync`) shows what was saved; /v1/config serves it signed. Both
// sizes the page must work at (390 px and 1280 px), axe-core on every screen, screenshots.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { binaryPath, screenshot, start } from "../lib/harness.js";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const admin = { email: "admin@sante.example", role: "admin", password: "admin password 2020" };

let run;
let work;
before(async () => {
  run = await start({ accounts: [admin] });
  work = mkdtempSync(join(tmpdir(), "osc-e2e-config-"));
});
after(async () => {
  await run?.stop();
});

function cli(args) {
  const result = spawnSync(binaryPath(), args, { encoding: "utf8" });
  assert.equal(result.status, 0, `${args.join(" ")}: ${result.stderr}`);
  return result.stdout.trim();
}

/** `openstopcovid phone --state … <args>`, its JSON answer. */
function rustPhone(...args) {
  const output = cli(["phone", "--state", join(work, "phone"), ...args]);
  return output ? JSON.parse(output) : null;
}

async function accessible(page, screen) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => (await globalThis.axe.run(document)).violations
    .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`));
  assert.deepEqual(violations, [], `accessibility of ${screen}`);
}

async function adminPage(width, locale = "en-GB") {
  const context = await run.browser.newContext({ locale, baseURL: run.baseUrl, viewport: { width, height: 900 } });
  const page = await context.newPage();
  page.on("dialog", (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
  await page.goto("/authority/sign-in");
  await page.locator("#email").fill(admin.email);
  await page.locator("#password").fill(admin.password);
  await page.locator("form[action='/authority/sign-in'] button[type=submit]").click();
  await page.waitForURL("**/authority/issue");
  return { context, page };
}

const field = (page, name) => page.locator(`[name="${name}"]`);

/** The page is no wider than the screen: nothing to scroll sideways but the tables. */
async function fitsTheScreen(page, width) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= width, `the page is ${overflow} px wide on a ${width} px screen`);
}

test("an admin's text reaches a phone; a bad form saves nothing; a roll back restores a version", async () => {
  // The phone before any change: the built-in defaults.
  rustPhone("--now", new Date().toISOString(), "init", "--server", run.baseUrl);
  const fresh = rustPhone("sync");
  assert.equal(fresh.configuration.version, null);
  assert.equal(fresh.instructions.en.infoBanner, null);

  const { context, page } = await adminPage(1280);
  await page.getByRole("link", { name: "App configuration" }).click();
  await page.waitForURL("**/authority/config");
  assert.equal(await page.locator("h1").textContent(), "App configuration");
  assert.match(await page.locator("#config-in-force").textContent(), /built-in defaults/);
  await accessible(page, "config page");
  await screenshot(page, "config-01-defaults-1280");

  // A banner and a new hotline, previewed first: nothing saved yet.
  const banner = "Free tests this week at every town hall, no appointment needed.";
  await field(page, "texts.en.infoBanner").fill(banner);
  await field(page, "texts.en.hotline").fill("+33 800 555 010");
  await page.getByRole("button", { name: "Preview" }).click();
  await page.getByText("Preview only: these settings are not saved yet.").waitFor();
  assert.equal((await page.locator(".phone[lang=en] .phone-banner").textContent()).trim(), banner);
  assert.equal(await page.locator(".phone[lang=fr] .phone-banner").count(), 0, "French has no banner");
  assert.match(await page.locator("#config-in-force").textContent(), /built-in defaults/, "a preview saves nothing");
  await screenshot(page, "config-02-preview-1280");

  // Saved: POST → redirect → GET, version 1 in force.
  await page.getByRole("button", { name: "Save as a new version" }).click();
  await page.waitForURL("**/authority/config?saved=1");
  await page.getByText("Saved as version 1.").waitFor();
  assert.match(await page.locator("#config-in-force").textContent(), new RegExp(`version 1, saved .* by ${admin.email}`));
  assert.equal(await page.locator("#config-history tbody tr").count(), 1);
  await accessible(page, "config page after a save");

  // The phone shows it at its next sync; /v1/config serves it, signed.
  const synced = rustPhone("sync");
  assert.equal(synced.configuration.version, 1);
  assert.equal(synced.instructions.en.infoBanner, banner);
  assert.equal(synced.instructions.en.hotline, "+33 800 555 010");
  assert.equal(synced.instructions.fr.infoBanner, null);
  const served = await fetch(`${run.baseUrl}/v1/config`);
  assert.equal(served.status, 200);
  assert.ok(served.headers.get("signature"), "signed like every answer");
  assert.ok(served.headers.get("etag"));
  const document = await served.json();
  assert.equal(document.version, 1);
  assert.equal(document.texts.en.infoBanner, banner);

  // Out-of-range numbers and a hotline that is not one: every problem named, nothing saved.
  await field(page, "risk.highRiskMinutes").fill("5000");
  await field(page, "risk.attenuationThresholdsDb[1]").fill("50");
  await field(page, "texts.fr.hotline").fill("appelez-nous");
  await page.getByRole("button", { name: "Save as a new version" }).click();
  await page.getByText("Nothing was saved: correct the fields below.").waitFor();
  const problems = await page.locator("#config-errors li").allTextContents();
  assert.deepEqual(problems, [
    "Attenuation bucket edges (dB): must increase strictly (immediate < near < medium)",
    "High risk from (minutes per day): must be a number from 0 to 1440",
    "Hotline (phone number) (French): must be a phone number (digits, spaces and + - . ( ) only)",
  ]);
  assert.equal(await field(page, "risk.highRiskMinutes").getAttribute("aria-invalid"), "true");
  assert.equal(await field(page, "risk.highRiskMinutes").inputValue(), "5000", "the form comes back as typed");
  await accessible(page, "config page with errors");
  await screenshot(page, "config-03-errors-1280");
  assert.equal((await (await fetch(`${run.baseUrl}/v1/config`)).json()).version, 1, "still version 1");

  // Version 2, then back to version 1 after the confirmation page (version 3 = 1).
  await page.goto("/authority/config");
  await field(page, "texts.en.infoBanner").fill("Testing centres close at 18:00 on Sundays.");
  await page.getByRole("button", { name: "Save as a new version" }).click();
  await page.waitForURL("**/authority/config?saved=2");
  assert.equal(rustPhone("sync").instructions.en.infoBanner, "Testing centres close at 18:00 on Sundays.");
  await page.getByRole("link", { name: "Roll back to version 1" }).click();
  await page.waitForURL("**/authority/config/versions/1/roll-back");
  assert.equal(await page.locator("h1").textContent(), "Roll back to version 1?");
  assert.equal((await page.locator(".phone[lang=en] .phone-banner").textContent()).trim(), banner, "what version 1 shows");
  await accessible(page, "roll back confirmation");
  await screenshot(page, "config-04-roll-back-confirm-1280");
  await page.getByRole("button", { name: "Roll back to version 1" }).click();
  await page.waitForURL("**/authority/config?saved=3");
  assert.match(await page.locator("#config-history tbody tr").first().textContent(), /copy of version 1/);
  const restored = rustPhone("sync");
  assert.equal(restored.configuration.version, 3);
  assert.equal(restored.instructions.en.infoBanner, banner);
  await screenshot(page, "config-05-rolled-back-1280");

  // The audit log names every change.
  await page.getByRole("link", { name: "Audit log" }).click();
  const audit = await page.locator("#audit tbody").textContent();
  assert.match(audit, /saved app configuration version/);
  assert.match(audit, /rolled the app configuration back/);
  await context.close();
});

test("the page works on a 390 px phone screen, in French", async () => {
  const { context, page } = await adminPage(390, "fr-FR");
  await page.goto("/authority/config");
  assert.equal(await page.locator("h1").textContent(), "Configuration des applications");
  await fitsTheScreen(page, 390);
  await accessible(page, "config page at 390 px");
  await screenshot(page, "config-06-fr-390");
  // Editing works there too: the French text of a high-risk proximity warning.
  const text = "Faites un test aujourd’hui dans une pharmacie ; appelez le 0 800 130 000 si besoin.";
  await field(page, "texts.fr.exposureHigh").fill(text);
  await page.getByRole("button", { name: "Aperçu" }).click();
  await page.getByText("Aperçu seulement").waitFor();
  await fitsTheScreen(page, 390);
  await screenshot(page, "config-07-apercu-fr-390");
  await page.getByRole("button", { name: "Enregistrer une nouvelle version" }).click();
  await page.waitForURL(/\/authority\/config\?saved=\d+$/);
  await page.getByText("Les téléphones l’appliquent à leur prochaine synchronisation.").first().waitFor();
  const served = await (await fetch(`${run.baseUrl}/v1/config`)).json();
  assert.equal(served.texts.fr.exposureHigh, text);
  await context.close();
});
