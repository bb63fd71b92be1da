// The venue owners' pages, end to end, in Chromium against the real binary:
// - an owner creates a café with two rooms: the result is its own address, a reload
//   changes nothing, the venue file and posters download with their accents;
// - the health authority gives the owner a venue-warning code; the owner warns the guests
//   of a room from the browser (times in the browser's zone, Paris here), and opening the
//   venue file shows the warning with what to do, a guest's Rust phone is warned, and
//   nothing of the file left the browser;
// - the paper register: guests typed in, sealed with a passphrase; the ones whose stay
//   overlaps the warning are listed, the others not; the register travels in the
//   exported venue file and opens elsewhere with its passphrase only; a guest who left
//   more than 14 days ago is not kept;
// - a poster printed again from the venue file; bad files and forms get clear messages;
// - every screen at 390 px and 1280 px, French and English: axe-core finds nothing and
//   nothing scrolls sideways. Screenshots in e2e/screenshots/venues-*.png.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { assertAccessible, assertFitsTheScreen } from "../lib/checks.js";
import { binaryPath, screenshot, start } from "../lib/harness.js";

const TIME_ZONE = "Europe/Paris";
const PASSPHRASE = "cahier du café 2026";

let run;
let work;
before(async () => {
  // Bucket 0: warnings are published at once instead of after the hour.
  run = await start({ serveArgs: ["--release-bucket-seconds", "0"] });
  work = mkdtempSync(join(tmpdir(), "osc-venue-"));
});
after(async () => {
  await run?.stop();
});

function cli(args) {
  const result = spawnSync(binaryPath(), args, { encoding: "utf8" });
  assert.equal(result.status, 0, `${args.join(" ")}: ${result.stderr}`);
  return result.stdout.trim();
}

/** A browser profile of its own: language, screen width, Paris time. */
async function browse({ locale = "fr-FR", width = 1280 } = {}) {
  const context = await run.browser.newContext({
    locale, baseURL: run.baseUrl, viewport: { width, height: 900 }, timezoneId: TIME_ZONE,
  });
  const page = await context.newPage();
  page.on("dialog", (dialog) => {
    throw new Error(`an unexpected dialog opened: ${dialog.message()}`);
  });
  return { context, page };
}

/** Clicks `locator` and saves what it downloads: {name, path, text}. */
async function download(page, locator) {
  const [file] = await Promise.all([page.waitForEvent("download"), locator.click()]);
  const path = join(work, `${Date.now()}-${file.suggestedFilename()}`);
  await file.saveAs(path);
  return { name: file.suggestedFilename(), path, text: readFileSync(path, "latin1") };
}

/** The day before today in Paris, `YYYY-MM-DD`. */
function yesterdayInParis() {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: TIME_ZONE }).format(new Date(Date.now() - 86_400_000));
}

/** `day` at `time` (`HH:MM`) in Paris, as RFC 3339 UTC: winter or summer time, whichever holds. */
function parisInstant(day, time) {
  const inParis = new Intl.DateTimeFormat("sv-SE", { timeZone: TIME_ZONE, dateStyle: "short", timeStyle: "short" });
  const instant = ["+01:00", "+02:00"].map((offset) => new Date(`${day}T${time}:00${offset}`))
    .find((candidate) => inParis.format(candidate) === `${day} ${time}`);
  return instant.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A venue created through the form; returns its file's path (saved under its own name). */
async function createVenue(page, { name, rooms }) {
  await page.goto("/venues");
  await page.locator("#name").fill(name);
  await page.locator("#address").fill("1 place du Marché, Lyon");
  await page.locator("#type").selectOption("food-service");
  await page.locator("#default_stay").fill("60");
  await page.locator("#rooms").fill(rooms.join("\n"));
  await page.locator("#create button[type=submit]").click();
  await page.locator("#created").waitFor();
  const file = await download(page, page.locator("#download-venue-file"));
  const path = join(work, file.name);
  writeFileSync(path, readFileSync(file.path));
  return { path, name: file.name };
}

/** Opens a venue file on /venues and waits for the answer about warnings. */
async function openVenueFile(page, path) {
  await page.goto("/venues");
  await page.locator("#venue-file").setInputFiles(path);
  await page.locator("#no-warning, #warning-found").first().waitFor();
}

function watchForLeaks(page, secrets) {
  const leaks = [];
  page.on("request", (request) => {
    const seen = `${request.url()} ${request.postData() || ""}`;
    for (const secret of secrets) if (seen.includes(secret)) leaks.push(request.url());
  });
  return leaks;
}

/** Every check a screen passes, and its screenshot. */
async function screen(page, width, name) {
  await assertAccessible(page, name);
  await assertFitsTheScreen(page, width, name);
  await screenshot(page, `venues-${name}-${width}`);
}

let cafe;

test("a created venue has its own address: a reload changes nothing; downloads keep their accents", async () => {
  const { context, page } = await browse();
  await page.goto("/venues");
  assert.equal(await page.locator("html").getAttribute("lang"), "fr");
  assert.equal(await page.locator("h1").textContent(), "Enregistrement dans les lieux");
  await screen(page, 1280, "home-fr");
  cafe = await createVenue(page, { name: "Café des Arts", rooms: ["Terrasse", "Salle"] });
  assert.equal(cafe.name, "café-des-arts.venue.json");
  const venueFile = JSON.parse(readFileSync(cafe.path, "utf8"));
  assert.equal(venueFile.rooms.length, 2);
  assert.equal(venueFile.rooms[0].description, "Café des Arts – Terrasse");
  assert.match(page.url(), /\/venues\/created\?v=/);
  assert.equal(await page.locator(".room svg #qr").count(), 2);
  const shown = await page.locator("#created").innerHTML();
  await page.reload();
  assert.equal(await page.locator("#created").innerHTML(), shown, "a reload shows the same venue");
  const again = await download(page, page.locator("#download-venue-file"));
  assert.equal(again.text, readFileSync(cafe.path, "latin1"), "the same venue file, the same keys");
  const pdf = await download(page, page.locator(".download-pdf").first());
  assert.equal(pdf.name, "café-des-arts-terrasse.pdf");
  assert.ok(pdf.text.startsWith("%PDF-"));
  const svg = await download(page, page.locator(".download-svg").nth(1));
  assert.equal(svg.name, "café-des-arts-salle.svg");
  await screen(page, 1280, "created-fr");

  // The command line reads the same file.
  cli(["venue", "poster", cafe.path, "--room", "1", "--format", "svg", "--output", join(work, "salle.svg")]);
  assert.match(readFileSync(join(work, "salle.svg"), "utf8"), /Café des Arts/);
  await context.close();
});

test("the owner warns the guests of a room from the browser and sees what to do", async () => {
  const { context, page } = await browse();
  const venueFile = JSON.parse(readFileSync(cafe.path, "utf8"));
  const leaks = watchForLeaks(page, venueFile.rooms.flatMap((room) => [room.locationId, room.payload]));
  await openVenueFile(page, cafe.path);
  assert.equal(await page.locator("#no-warning").count(), 1);

  // The health authority issues a venue-warning code.
  const apiKey = cli(["authority", "api-key", "create", "--data-dir", run.dataDir, "--name", "e2e"]);
  const issue = async (kind) => (await fetch(`${run.baseUrl}/v1/authority/codes`, {
    method: "POST",
    headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ kind }),
  })).json();
  const issued = await issue("venue-warning");
  assert.equal(issued.kind, "venue-warning");

  // A guest's Rust phone was on the terrace from 12:20 to 12:50 yesterday.
  const day = yesterdayInParis();
  const guest = (time, ...args) => cli(["phone", "--state", join(work, "guest"), "--now", time, ...args]);
  guest(parisInstant(day, "12:20"), "init", "--server", run.baseUrl);
  guest(parisInstant(day, "12:20"), "checkin", venueFile.rooms[0].url);
  guest(parisInstant(day, "12:50"), "checkout");

  // Mistakes are caught before anything is sent.
  await page.locator("#warn-room").selectOption({ label: "Terrasse" });
  await page.locator("#warn-from").fill(`${day}T13:00`);
  await page.locator("#warn-to").fill(`${day}T12:00`);
  await page.locator("#warn-code").fill(issued.code);
  await page.locator("#warn button[type=submit]").click();
  await page.locator("#warn-status").getByText("La période doit finir après son début.").waitFor();
  await page.locator("#warn-from").fill(`${day}T12:00`);
  await page.locator("#warn-to").fill(`${day}T13:00`);
  await page.locator("#warn-code").fill(`${issued.code.slice(0, 11)}${(Number(issued.code[11]) + 1) % 10}`);
  await page.locator("#warn button[type=submit]").click();
  await page.locator("#warn-status").getByText("Ce code est mal saisi").waitFor();

  // A patient's code is refused with the reason.
  const patient = await issue("patient");
  await page.locator("#warn-code").fill(patient.code);
  await page.locator("#warn button[type=submit]").click();
  await page.locator("#warn-status").getByText("Ce n'est pas un code d'alerte de lieu").waitFor();

  // The venue-warning code: 12:00–13:00 in Paris yesterday.
  await page.locator("#warn-code").fill(issued.code);
  await page.locator("#warn button[type=submit]").click();
  await page.locator("#warn-sent").waitFor();
  assert.match(await page.locator("#warn-sent").textContent(), /Terrasse, .* de 12:00 à 13:00/);
  await page.locator("#warning-found").waitFor();
  const warnings = await page.locator("#warnings li").allTextContents();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^Terrasse : .* de 12:00 à 13:30 \(risque plus élevé\)$/);
  assert.match(await page.locator("#advice").textContent(), /Aérez la salle.*0 800 130 000/);
  assert.match(await page.locator("#venue-status").textContent(), /Faites un test dès aujourd'hui/);
  assert.doesNotMatch(await page.locator("#venue-status").textContent(), /niveau de risque de transmission/);
  await screen(page, 1280, "warning-fr");

  // The code worked once: sending again is refused, and a reload sends nothing.
  await page.locator("#warn-code").fill(issued.code);
  await page.locator("#warn button[type=submit]").click();
  await page.locator("#warn-status").getByText("Ce code est inconnu, déjà utilisé ou expiré.").waitFor();
  await page.reload();
  await page.locator("#venue-file").setInputFiles(cafe.path);
  await page.locator("#warning-found").waitFor();
  assert.equal(await page.locator("#warnings li").count(), 1);
  assert.deepEqual(leaks, [], "no request carried the venue file's location ids or payloads");

  // The command line reads the same warning, and the guest's phone is warned.
  const status = JSON.parse(cli(["venue", "status", cafe.path, "--server", run.baseUrl, "--json"]));
  assert.equal(status.warnings.length, 1);
  assert.equal(status.warnings[0].transmissionRiskLevel, 8);
  assert.equal(status.warnings[0].riskLevel, "high");
  const phone = JSON.parse(guest(new Date().toISOString().replace(/\.\d{3}Z$/, "Z"), "sync"));
  assert.equal(phone.venueWarnings.length, 1, JSON.stringify(phone));
  assert.match(JSON.stringify(phone.venueWarnings[0]), /Terrasse/);
  await context.close();
});

test("the paper register lists the guests who overlapped the warning and travels sealed in the venue file", async () => {
  const { context, page } = await browse();
  await openVenueFile(page, cafe.path);
  await page.locator("#warning-found").waitFor();
  await page.locator("#register-matches").getByText("Ouvrez le cahier").waitFor();

  await page.locator("#register-passphrase").fill("court");
  await page.locator("#register-unlock button").click();
  await page.locator("#register-status").getByText("au moins 8 caractères").waitFor();
  await page.locator("#register-passphrase").fill(PASSPHRASE);
  await page.locator("#register-unlock button").click();
  await page.locator("#register-open").waitFor();

  const day = yesterdayInParis();
  const add = async (room, name, phone, from, to) => {
    await page.locator("#register-room").selectOption({ label: room });
    await page.locator("#register-name").fill(name);
    await page.locator("#register-phone").fill(phone);
    await page.locator("#register-arrival").fill(`${day}T${from}`);
    await page.locator("#register-departure").fill(`${day}T${to}`);
    await page.locator("#register-form button[type=submit]").click();
    await page.locator("#register-entries").getByText(name).waitFor();
  };
  await add("Terrasse", "Mme Dupont", "06 12 34 56 78", "12:15", "12:45");
  await add("Terrasse", "M. Martin", "06 98 76 54 32", "15:00", "16:00");
  await add("Salle", "Mme Leroy", "04 78 00 00 00", "12:00", "13:00");
  await add("Terrasse", "M. Erreur", "00", "09:00", "09:30");
  // A guest who left more than 14 days ago is not kept.
  const longAgo = new Intl.DateTimeFormat("sv-SE", { timeZone: TIME_ZONE }).format(new Date(Date.now() - 20 * 86_400_000));
  await page.locator("#register-name").fill("Mme Ancienne");
  await page.locator("#register-phone").fill("01 00 00 00 00");
  await page.locator("#register-arrival").fill(`${longAgo}T12:00`);
  await page.locator("#register-departure").fill(`${longAgo}T13:00`);
  await page.locator("#register-form button[type=submit]").click();
  await page.locator("#register-status").getByText("effacées : 1").waitFor();
  assert.equal(await page.locator("#register-entries").getByText("Mme Ancienne").count(), 0);
  const matches = await page.locator("#register-match-list li").allTextContents();
  assert.equal(matches.length, 1, "only the guest of the warned room who was there then");
  assert.match(matches[0], /^Mme Dupont, 06 12 34 56 78 : Terrasse, .*, 30 min en même temps \(risque plus élevé\)$/);

  // Deleting asks first; a refusal keeps the entry.
  page.removeAllListeners("dialog");
  page.once("dialog", (dialog) => dialog.dismiss());
  await page.getByRole("button", { name: "Supprimer M. Erreur" }).click();
  assert.equal(await page.locator("#register-entries li").count(), 4);
  page.once("dialog", (dialog) => {
    assert.equal(dialog.message(), "Supprimer M. Erreur du cahier ?");
    dialog.accept();
  });
  await page.getByRole("button", { name: "Supprimer M. Erreur" }).click();
  await page.waitForFunction(() => document.querySelectorAll("#register-entries li").length === 3);
  await screen(page, 1280, "register-fr");
  const stored = await page.evaluate(() => Object.values(localStorage).join(""));
  assert.ok(stored.length > 0 && !stored.includes("Dupont"), "the browser keeps the register sealed");

  // Exported with the venue file, the register opens in another browser with its
  // passphrase only.
  const exported = await download(page, page.locator("#register-export"));
  assert.equal(exported.name, "café-des-arts.venue.json");
  assert.ok(!exported.text.includes("Dupont"));
  await context.close();

  const elsewhere = await browse({ locale: "en-GB", width: 390 });
  mkdirSync(join(work, "exported"));
  const path = join(work, "exported", exported.name);
  writeFileSync(path, readFileSync(exported.path));
  await openVenueFile(elsewhere.page, path);
  await elsewhere.page.locator("#register-passphrase").fill("not the passphrase");
  await elsewhere.page.locator("#register-unlock button").click();
  await elsewhere.page.locator("#register-status").getByText("Wrong passphrase").waitFor();
  assert.equal(await elsewhere.page.locator("#register-open").isHidden(), true);
  await elsewhere.page.locator("#register-passphrase").fill(PASSPHRASE);
  await elsewhere.page.locator("#register-unlock button").click();
  await elsewhere.page.locator("#register-open").waitFor();
  assert.equal(await elsewhere.page.locator("#register-entries li").count(), 3);
  const found = await elsewhere.page.locator("#register-match-list li").allTextContents();
  assert.equal(found.length, 1);
  assert.match(found[0], /^Mme Dupont, 06 12 34 56 78: Terrasse, .*, 30 min at the same time \(higher risk\)$/);
  await screen(elsewhere.page, 390, "register-en");
  await elsewhere.context.close();
});

test("a venue file prints its posters again, named with their accents", async () => {
  const { context, page } = await browse({ locale: "en-GB" });
  await openVenueFile(page, cafe.path);
  await page.locator("#reprint-room").selectOption({ label: "Salle" });
  const svg = await download(page, page.getByRole("button", { name: "Download the SVG poster" }));
  assert.equal(svg.name, "café-des-arts-salle.svg");
  assert.match(readFileSync(svg.path, "utf8"), />Salle<\/text>/);
  const pdf = await download(page, page.getByRole("button", { name: "Download the PDF poster" }));
  assert.equal(pdf.name, "café-des-arts-salle.pdf");
  assert.ok(pdf.text.startsWith("%PDF-"));
  await screen(page, 1280, "tools-en");
  await context.close();
});

test("every screen at 390 and 1280 px, in French and English; bad files and forms say why", async () => {
  for (const width of [390, 1280]) {
    for (const [locale, lang] of [["fr-FR", "fr"], ["en-GB", "en"]]) {
      const { context, page } = await browse({ locale, width });
      await page.goto("/venues");
      await screen(page, width, `home-${lang}`);
      const created = await createVenue(page, { name: "Épicerie du Vieux-Lyon, rue Saint-Jean", rooms: ["Boutique", "Arrière-salle"] });
      await screen(page, width, `created-${lang}`);
      const address = page.url();
      await openVenueFile(page, created.path);
      await screen(page, width, `tools-${lang}`);
      await openVenueFile(page, cafe.path);
      await page.locator("#warning-found").waitFor();
      await screen(page, width, `warning-${lang}`);
      await context.close();

      // The result's address in another browser: nothing to see, and it says why.
      const other = await browse({ locale, width });
      await other.page.goto(address);
      assert.equal(await other.page.locator(".room").count(), 0);
      await screen(other.page, width, `expired-${lang}`);
      await other.context.close();
    }
  }

  const { context, page } = await browse({ locale: "en-GB", width: 390 });
  writeFileSync(join(work, "not-a-venue.json"), '{"hello": "world"}');
  await page.goto("/venues");
  await page.locator("#venue-file").setInputFiles(join(work, "not-a-venue.json"));
  await page.locator("#venue-status").getByText("This is not a venue file.").waitFor();

  // An event whose end is before its start is refused in the page's language, without
  // unix times, and the form keeps what was typed.
  await page.locator("#name").fill("Concert");
  await page.locator("#address").fill("Parc");
  await page.locator("#type").selectOption("cultural-event");
  await page.locator("#start").fill("2026-07-14T23:00");
  await page.locator("#end").fill("2026-07-14T20:00");
  await page.locator("#create button[type=submit]").click();
  await page.locator("#create-error").waitFor();
  assert.equal(await page.locator("#create-error").textContent(), "The event must end after it starts.");
  assert.equal(await page.locator("#name").inputValue(), "Concert");
  assert.equal(await page.locator("#start").inputValue(), "2026-07-14T23:00");
  await screen(page, 390, "error-en");
  await context.close();
});
