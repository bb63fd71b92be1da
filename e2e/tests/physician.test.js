// The physicians' pages (issue 16, items 2 and 4): times in the browser's own zone and the
// page's language (the server's zone without a script), a reload of every result page
// changes nothing, Expire / Revoke / Disable ask first, the copy buttons, a password change
// and an admin's reset link; and every page at 390 px and 1280 px, in French and English,
// with no sideways scrolling, no axe-core violation, and a screenshot of each.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import { accessibilityViolations, overflowWidth, screenshot, start } from "../lib/harness.js";

const admin = { email: "admin@sante.example", role: "admin", password: "admin password 2020" };
const physician = { email: "dr.petit@sante.example", role: "physician", password: "stéthoscope rouge 42" };
const forgetful = { email: "dr.oubli@sante.example", role: "physician", password: "stéthoscope jaune 42" };
const careful = { email: "dr.prudent@sante.example", role: "physician", password: "stéthoscope vert 42" };

let run;
before(async () => {
  // The authority works in Paris; the browsers below are elsewhere.
  process.env.OPENSTOPCOVID_TIME_ZONE = "Europe/Paris";
  try {
    run = await start({ accounts: [admin, physician, forgetful, careful] });
  } finally {
    delete process.env.OPENSTOPCOVID_TIME_ZONE;
  }
});
after(async () => {
  await run?.stop();
});

/** A browser signed in as `account`. */
async function signedIn(account, { locale = "en-GB", width = 1280, timezoneId = "UTC", javaScriptEnabled = true } = {}) {
  const context = await run.browser.newContext({
    locale, timezoneId, javaScriptEnabled, baseURL: run.baseUrl, viewport: { width, height: 900 },
  });
  const page = await context.newPage();
  page.on("dialog", (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
  page.on("pageerror", (error) => {
    throw error;
  });
  await page.goto("/authority/sign-in");
  await page.locator("#email").fill(account.email);
  await page.locator("#password").fill(account.password);
  await page.locator("form[action='/authority/sign-in'] button[type=submit]").click();
  await page.waitForURL("**/authority/issue");
  return { context, page };
}

/** `iso` as the pages write it: `23 Nov 2026, 22:05` / `23 nov. 2026, 22:05`, in `timeZone`. */
function written(iso, locale, timeZone) {
  const moment = new Date(iso);
  const date = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric", timeZone }).format(moment);
  const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone }).format(moment);
  return `${date}, ${clock}`;
}

/** What an authenticator app shows at `time` (ms) for the base32 `key` (RFC 6238). */
function appCode(key, time = Date.now()) {
  let bits = "";
  for (const character of key.replaceAll(" ", "")) {
    bits += "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".indexOf(character).toString(2).padStart(5, "0");
  }
  const secret = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(time / 30_000)));
  const digest = createHmac("sha1", secret).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

async function issueCode(page) {
  await page.goto("/authority/issue");
  await page.locator("form[action='/authority/issue'] button.big").click();
  await page.waitForURL("**/authority/issue/shown?c=*");
  return page.locator(".code-digits").getAttribute("data-code");
}

test("times are in the browser's zone and the page's language; the server's zone without a script", async () => {
  const tokyo = await signedIn(physician, { locale: "fr-FR", timezoneId: "Asia/Tokyo" });
  await issueCode(tokyo.page);
  const shown = tokyo.page.url();
  const expiry = tokyo.page.locator(".code-expiry time");
  const iso = await expiry.getAttribute("datetime");
  assert.equal(await expiry.textContent(), written(iso, "fr-FR", "Asia/Tokyo"));
  assert.equal(await tokyo.page.locator("[data-time-zone]").textContent(), "Asia/Tokyo");
  assert.match(await tokyo.page.locator(".code-countdown").textContent(), /^Temps restant : 2[45] h \d\d min$/);
  await screenshot(tokyo.page, "phys-time-tokyo-fr");

  // Without a script, the same page in the server's zone, which it names.
  const plain = await signedIn(physician, { locale: "fr-FR", timezoneId: "Asia/Tokyo", javaScriptEnabled: false });
  await plain.page.goto(shown);
  assert.equal(await plain.page.locator(".code-expiry time").textContent(), written(iso, "fr-FR", "Europe/Paris"));
  assert.equal(await plain.page.locator("[data-time-zone]").textContent(), "Europe/Paris");
  assert.notEqual(written(iso, "fr-FR", "Europe/Paris"), written(iso, "fr-FR", "Asia/Tokyo"));

  // In English in New York, the issue hour of "My codes" is an hour, never a minute.
  const newYork = await signedIn(physician, { locale: "en-GB", timezoneId: "America/New_York" });
  await newYork.page.goto("/authority/codes");
  const issued = newYork.page.locator("#codes tbody tr").first().locator("time[data-local=hour]");
  const hour = await issued.getAttribute("datetime");
  const end = new Date(new Date(hour).getTime() + 3_600_000).toISOString();
  assert.equal(await issued.textContent(), `${written(hour, "en-GB", "America/New_York")}–${written(end, "en-GB", "America/New_York").split(", ")[1]}`);
  for (const { context } of [tokyo, plain, newYork]) await context.close();
});

test("a refused date keeps the form and says the bounds in the page's words", async () => {
  const { context, page } = await signedIn(physician, { locale: "fr-FR" });
  await page.goto("/authority/issue");
  await page.getByLabel("Diagnostic clinique, sans test").check();
  await page.locator("#test-date").fill("2001-01-01");
  await page.locator("form[action='/authority/issue'] button.big").click();
  const error = page.locator(".notice.error");
  assert.match(await error.textContent(), /^La date du test doit être un jour du \d{1,2} \S+ \d{4} au \d{1,2} \S+ \d{4}\.$/);
  assert.equal(await page.locator("#test-date").inputValue(), "2001-01-01", "kept as typed");
  assert.equal(await page.locator("#test-date").getAttribute("aria-invalid"), "true");
  assert.ok(await page.getByLabel("Diagnostic clinique, sans test").isChecked());
  await context.close();
});

test("a reload of any result page changes nothing", async () => {
  const { context, page } = await signedIn(admin);
  const countCodes = async () => {
    await page.goto("/authority/codes");
    return page.locator("#codes tbody tr").count();
  };
  // One code.
  const code = await issueCode(page);
  await page.reload();
  assert.equal(await page.locator(".code-digits").getAttribute("data-code"), code);
  assert.equal(await countCodes(), 1);
  // A sheet.
  await page.goto("/authority/issue");
  await page.locator("#count").fill("3");
  await page.locator("form[action='/authority/issue/sheet'] button").click();
  await page.waitForURL("**/authority/issue/sheet?c=*");
  await page.reload();
  assert.equal(await page.locator(".sheet-code").count(), 3);
  assert.equal(await countCodes(), 4);
  // An account.
  await page.goto("/authority/users");
  await page.locator("#new-email").fill("dr.reload@sante.example");
  await page.locator("#new-password").fill("a long enough password");
  await page.getByRole("button", { name: "Add the account" }).click();
  await page.getByText("Account dr.reload@sante.example added.").waitFor();
  await page.reload();
  await page.getByText("Account dr.reload@sante.example added.").waitFor();
  assert.equal(await page.getByText("already exists").count(), 0);
  // An API key: the same key after a reload, one key in the list.
  await page.goto("/authority/api-keys");
  await page.locator("#key-name").fill("lab reload");
  await page.getByRole("button", { name: "Create a key" }).click();
  const key = await page.locator("#new-api-key").textContent();
  await page.reload();
  assert.equal(await page.locator("#new-api-key").textContent(), key);
  assert.equal(await page.locator("#api-keys tbody tr", { hasText: "lab reload" }).count(), 1);
  // Signing out.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByText("You are signed out.").waitFor();
  await page.reload();
  assert.equal(await page.locator("h1").textContent(), "Sign in");
  await context.close();
});

test("expire, revoke and disable ask first; the copy buttons copy", async () => {
  const { context, page } = await signedIn(admin);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: run.baseUrl });
  const code = await issueCode(page);
  await page.getByRole("button", { name: "Copy the code" }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code);

  // Expire: asked on a page of its own; Cancel changes nothing.
  await page.goto("/authority/codes");
  const row = page.locator("#codes tbody tr").first();
  await row.getByRole("link", { name: /^Expire the code/ }).click();
  assert.match(await page.locator("h1").textContent(), /^Expire the code [0-9A-F]{4}-[0-9A-F]{4}\?$/);
  await page.reload();
  await page.getByRole("link", { name: "Cancel" }).click();
  assert.equal(await page.locator("#codes tbody tr .status").first().textContent(), "Unused");
  await row.getByRole("link", { name: /^Expire the code/ }).click();
  await page.getByRole("button", { name: "Expire" }).click();
  await page.getByText("The code is expired").waitFor();

  // Revoke, after the new key is copied.
  await page.goto("/authority/api-keys");
  await page.locator("#key-name").fill("lab copy");
  await page.getByRole("button", { name: "Create a key" }).click();
  await page.getByRole("button", { name: "Copy the key" }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await page.locator("#new-api-key").textContent());
  await page.getByRole("link", { name: "Revoke the key lab copy" }).click();
  assert.equal(await page.locator("h1").textContent(), "Revoke the API key lab copy?");
  await page.getByRole("button", { name: "Revoke" }).click();
  assert.equal(await page.locator("#api-keys tbody tr", { hasText: "lab copy" }).locator("td").nth(1).textContent(), "Revoked");

  // Disable.
  await page.goto("/authority/users");
  await page.getByRole("link", { name: "Disable the account dr.reload@sante.example" }).click();
  assert.equal(await page.locator("h1").textContent(), "Disable the account dr.reload@sante.example?");
  await page.getByRole("button", { name: "Disable" }).click();
  assert.match(await page.locator("#users tbody tr", { hasText: "dr.reload@sante.example" }).textContent(), /Disabled/);
  await context.close();
});

test("a physician changes their password; an admin's reset link works once", async () => {
  const { context, page } = await signedIn(physician, { locale: "fr-FR" });
  await page.getByRole("link", { name: "Mon compte" }).click();
  await page.locator("#current-password").fill(physician.password);
  await page.locator("#new-password").fill("trois mots sans rapport");
  await page.locator("#new-password-again").fill("trois mots sans rapport");
  await page.getByRole("button", { name: "Changer mon mot de passe" }).click();
  await page.getByText("Votre mot de passe est changé.").waitFor();
  physician.password = "trois mots sans rapport";
  await context.close();

  const adminBrowser = await signedIn(admin);
  await adminBrowser.page.goto("/authority/users");
  await adminBrowser.page.getByRole("button", { name: `Make a password-reset link for ${forgetful.email}` }).click();
  const link = await adminBrowser.page.locator("#reset-link").textContent();
  const stranger = await run.browser.newContext({ locale: "fr-FR", baseURL: run.baseUrl });
  const resetPage = await stranger.newPage();
  await resetPage.goto(link);
  await resetPage.locator("#new-password").fill("un souvenir retrouvé");
  await resetPage.locator("#new-password-again").fill("un souvenir retrouvé");
  await resetPage.getByRole("button", { name: "Enregistrer mon nouveau mot de passe" }).click();
  await resetPage.getByText("Votre nouveau mot de passe est enregistré").waitFor();
  const again = await resetPage.goto(link);
  assert.equal(again.status(), 404, "the link works once");
  forgetful.password = "un souvenir retrouvé";
  const back = await signedIn(forgetful);
  await back.context.close();
  await stranger.close();
  await adminBrowser.context.close();
});

test("two-step sign-in: set up with the QR code's key, then a fresh code at each sign-in", async () => {
  const { context, page } = await signedIn(careful, { locale: "fr-FR", width: 390 });
  await page.getByRole("link", { name: "Mon compte" }).click();
  await page.getByRole("link", { name: "Activer la connexion en deux étapes" }).click();
  assert.equal(await page.locator(".code-qr svg").count(), 1, "a QR code for the app");
  const key = await page.locator("#second-factor-secret").textContent();
  assert.match(key, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
  assert.equal(await overflowWidth(page), 0);
  assert.deepEqual(await accessibilityViolations(page), []);
  await screenshot(page, "phys-second-factor-setup-fr-390");
  await page.locator("#setup-code").fill(appCode(key));
  await page.getByRole("button", { name: "Activer la connexion en deux étapes" }).click();
  await page.getByText("La connexion en deux étapes est activée.").waitFor();
  await page.getByRole("button", { name: "Se déconnecter" }).click();

  // The password, then the app's code (the next one: the one typed above is spent).
  await page.locator("#email").fill(careful.email);
  await page.locator("#password").fill(careful.password);
  await page.locator("form[action='/authority/sign-in'] button[type=submit]").click();
  await page.waitForURL("**/authority/sign-in/code");
  assert.equal(await overflowWidth(page), 0);
  assert.deepEqual(await accessibilityViolations(page), []);
  await screenshot(page, "phys-sign-in-code-fr-390");
  await page.locator("#code").fill("000000");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.getByText("Ce code est faux, expiré ou déjà utilisé.").waitFor();
  await page.locator("#code").fill(appCode(key, Date.now() + 30_000));
  await page.getByRole("button", { name: "Se connecter" }).click();
  await page.waitForURL("**/authority/issue");
  await context.close();
});

test("every page at 390 px and 1280 px, in French and English: no sideways scroll, no axe violation", async () => {
  // What the pages show: a code, a sheet, a key, a reset link, each behind its own address.
  const { context, page } = await signedIn(admin);
  await issueCode(page);
  const shownCode = new URL(page.url()).pathname + new URL(page.url()).search;
  await page.goto("/authority/codes");
  const codeId = await page.locator("#codes tbody tr").first().getAttribute("data-code-id");
  await page.goto("/authority/issue");
  await page.locator("#count").fill("4");
  await page.locator("form[action='/authority/issue/sheet'] button").click();
  await page.waitForURL("**/authority/issue/sheet?c=*");
  const sheet = new URL(page.url()).pathname + new URL(page.url()).search;
  await page.goto("/authority/api-keys");
  await page.locator("#key-name").fill("Laboratoire d’analyses du centre hospitalier");
  await page.getByRole("button", { name: "Create a key" }).click();
  const newKey = new URL(page.url()).pathname + new URL(page.url()).search;
  const revoke = await page.getByRole("link", { name: /^Revoke the key Laboratoire/ }).getAttribute("href");
  await page.goto("/authority/users");
  const disable = await page.getByRole("link", { name: `Disable the account ${physician.email}` }).getAttribute("href");
  await page.getByRole("button", { name: `Make a password-reset link for ${physician.email}` }).click();
  const resetLink = await page.locator("#reset-link").textContent();
  const users = new URL(page.url()).pathname + new URL(page.url()).search;
  await context.close();

  const signedInPages = [
    ["issue", "/authority/issue"],
    ["code", shownCode],
    ["sheet", sheet],
    ["codes", "/authority/codes"],
    ["expire", `/authority/codes/${codeId}/expire`],
    ["statistics", "/authority/statistics"],
    ["users", users],
    ["disable", disable],
    ["api-keys", newKey],
    ["revoke", revoke],
    ["audit", "/authority/audit"],
    ["config", "/authority/config"],
    ["account", "/authority/account"],
    ["second-factor", "/authority/account/second-factor"],
  ];
  const signedOutPages = [
    ["sign-in", "/authority/sign-in"],
    ["reset", resetLink],
  ];
  for (const locale of ["en-GB", "fr-FR"]) {
    const language = locale.slice(0, 2);
    for (const width of [390, 1280]) {
      const browser = await signedIn(admin, { locale, width, timezoneId: "Europe/Paris" });
      const stranger = await run.browser.newContext({ locale, baseURL: run.baseUrl, viewport: { width, height: 900 } });
      const strangerPage = await stranger.newPage();
      const visits = [
        ...signedInPages.map(([name, path]) => [browser.page, name, path]),
        ...signedOutPages.map(([name, path]) => [strangerPage, name, path]),
      ];
      for (const [tab, name, path] of visits) {
        const answer = await tab.goto(path);
        assert.equal(answer.status(), 200, `${name} ${language} ${width}`);
        assert.equal(await tab.locator("html").getAttribute("lang"), language);
        assert.equal(await overflowWidth(tab), 0, `${name} ${language} ${width}: no sideways scrolling`);
        assert.deepEqual(await accessibilityViolations(tab), [], `accessibility of ${name} ${language} ${width}`);
        await screenshot(tab, `phys-${name}-${language}-${width}`);
      }
      await browser.context.close();
      await stranger.close();
    }
  }
});
