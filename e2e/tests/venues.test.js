// The venue owners' pages, end to end: an owner creates a café with two rooms in French,
// downloads the venue file and the posters; the health authority gives them a code and
// they warn on behalf of one room with the command line; opening the venue file in the
// browser shows the warning, matched in the page (no request carries the file); a venue
// without reports shows none; bad input gets a clear message.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { binaryPath, screenshot, start } from "../lib/harness.js";

let run;
before(async () => {
  // Bucket 0: warnings are published at once instead of after the hour.
  run = await start({ serveArgs: ["--release-bucket-seconds", "0"] });
});
after(async () => {
  await run?.stop();
});

function cli(args) {
  const result = spawnSync(binaryPath(), args, { encoding: "utf8" });
  assert.equal(result.status, 0, `${args.join(" ")}: ${result.stderr}`);
  return result.stdout.trim();
}

/** A venue created through the form; returns the venue file's text. */
async function createVenue(page, { name, rooms }) {
  await page.goto("/venues");
  await page.locator("input[name=name]").fill(name);
  await page.locator("input[name=address]").fill("1 place du Marché, Lyon");
  await page.locator("select[name=type]").selectOption("food-service");
  await page.locator("input[name=default_stay]").fill("60");
  await page.locator("textarea[name=rooms]").fill(rooms.join("\n"));
  await page.locator("#create button[type=submit]").click();
  await page.locator("#created").waitFor();
  const href = await page.locator("#download-venue-file").getAttribute("href");
  return Buffer.from(href.split(",")[1], "base64").toString("utf8");
}

function watchForLeaks(page, secrets) {
  const leaks = [];
  page.on("request", (request) => {
    const seen = `${request.url()} ${request.postData() || ""}`;
    for (const secret of secrets) if (seen.includes(secret)) leaks.push(request.url());
  });
  return leaks;
}

test("an owner creates a venue, warns on behalf of a room, and sees the warning in the browser", async () => {
  const context = await run.newContext("fr-FR");
  const page = await context.newPage();
  await page.goto("/venues");
  assert.equal(await page.locator("html").getAttribute("lang"), "fr");
  assert.equal(await page.locator("h1").textContent(), "Enregistrement dans les lieux");
  const text = await createVenue(page, { name: "Café des Arts", rooms: ["Terrasse", "Salle"] });
  const venueFile = JSON.parse(text);
  assert.equal(venueFile.rooms.length, 2);
  assert.equal(venueFile.rooms[0].description, "Café des Arts – Terrasse");
  assert.equal(await page.locator(".room").count(), 2);
  assert.equal(await page.locator(".room svg #qr").count(), 2);
  const pdf = await page.locator(".download-pdf").first().getAttribute("href");
  assert.ok(Buffer.from(pdf.split(",")[1], "base64").toString("latin1").startsWith("%PDF-"));
  await screenshot(page, "venues-01-created-fr");

  // The command line reads the same file: it decodes and prints a poster.
  const dir = mkdtempSync(join(tmpdir(), "osc-venue-"));
  const path = join(dir, "cafe.venue.json");
  writeFileSync(path, text);
  cli(["venue", "poster", path, "--room", "1", "--format", "svg", "--output", join(dir, "salle.svg")]);
  assert.match(readFileSync(join(dir, "salle.svg"), "utf8"), /Café des Arts/);

  // The authority gives the owner a venue-warning code; the owner warns for the terrace,
  // 12:00–13:00 UTC yesterday.
  const apiKey = cli(["authority", "api-key", "create", "--data-dir", run.dataDir, "--name", "e2e"]);
  const issued = await (await fetch(`${run.baseUrl}/v1/authority/codes`, {
    method: "POST",
    headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ kind: "venue-warning" }),
  })).json();
  assert.equal(issued.kind, "venue-warning");
  const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  cli(["venue", "warn", path, "--room", "0", "--code", issued.code,
    "--from", `${day}T12:00:00Z`, "--to", `${day}T13:00:00Z`, "--server", run.baseUrl]);

  // Opening the file shows the warning; nothing of the file went out.
  const leaks = watchForLeaks(page, venueFile.rooms.flatMap((room) => [room.locationId, room.payload]));
  await page.goto("/venues");
  await page.locator("#venue-file").setInputFiles(path);
  await page.locator("#warning-found").waitFor();
  const warnings = await page.locator("#warnings li").allTextContents();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /Terrasse/);
  assert.match(warnings[0], new RegExp(`${day} 12:00 – 13:30`));
  assert.deepEqual(leaks, []);
  await screenshot(page, "venues-02-warning-fr");

  // The status command finds the same.
  const status = JSON.parse(cli(["venue", "status", path, "--server", run.baseUrl, "--json"]));
  assert.equal(status.warnings.length, 1);
  await context.close();
});

test("a venue without reports shows none, in English; bad files and forms get a clear message", async () => {
  const context = await run.newContext("en-GB");
  const page = await context.newPage();
  const text = await createVenue(page, { name: "Quiet Bookshop", rooms: [] });
  const dir = mkdtempSync(join(tmpdir(), "osc-venue-"));
  writeFileSync(join(dir, "shop.venue.json"), text);
  writeFileSync(join(dir, "not-a-venue.json"), '{"hello": "world"}');
  await page.goto("/venues");
  await page.locator("#venue-file").setInputFiles(join(dir, "shop.venue.json"));
  await page.locator("#no-warning").waitFor();
  await page.locator("#venue-file").setInputFiles(join(dir, "not-a-venue.json"));
  await page.locator("#venue-status").getByText("This is not a venue file.").waitFor();

  // An event whose end is before its start is refused, and the form keeps what was typed.
  await page.locator("input[name=name]").fill("Concert");
  await page.locator("input[name=address]").fill("Parc");
  await page.locator("select[name=type]").selectOption("cultural-event");
  await page.locator("input[name=start]").fill("2026-07-14T23:00");
  await page.locator("input[name=end]").fill("2026-07-14T20:00");
  await page.locator("#create button[type=submit]").click();
  await page.locator("#create-error").waitFor();
  assert.equal(await page.locator("input[name=name]").inputValue(), "Concert");
  await screenshot(page, "venues-03-error-en");
  await context.close();
});
