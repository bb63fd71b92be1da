// The web app's protocol module (crates/server/static/app/protocol.js) against the
// official vectors in ../shared/vectors/presence/, in Node (same WebCrypto as browsers):
// venue codes and their location ids, CWA's encrypted check-in reports both ways, the
// uploaded time windows, padding, matching, check digits and the backup file.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../lib/harness.js";
import * as protocol from "../../crates/server/static/app/protocol.js";

const vectors = JSON.parse(readFileSync(join(repoRoot, "..", "shared", "vectors", "presence", "cwa_vectors.json"), "utf8"));

test("CWA venue codes decode with every field and the official location ids", async () => {
  for (const vector of vectors.qr_codes) {
    const venue = await protocol.decodeVenueUrl(vector.url);
    assert.equal(venue.format, "cwa");
    assert.equal(venue.description, vector.description);
    assert.equal(venue.address, vector.address);
    assert.equal(venue.startTimestamp, vector.startTimestamp);
    assert.equal(venue.endTimestamp, vector.endTimestamp);
    assert.equal(venue.type, vector.vendorData.type);
    assert.equal(venue.defaultCheckInLengthMinutes, vector.vendorData.defaultCheckInLengthInMinutes);
    assert.equal(venue.locationId, vector.locationId);
    assert.equal(venue.locationIdHash, vector.locationIdHash);
  }
});

test("a CrowdNotifier (NotifyMe) code decodes with its own timestamp fields", async () => {
  const vector = vectors.crowdnotifier_v4_qr;
  const venue = await protocol.decodeVenueUrl(vector.url);
  assert.equal(venue.format, "crowdnotifier");
  assert.equal(venue.description, vector.description);
  assert.equal(venue.startTimestamp, vector.startTimestamp);
  assert.equal(venue.endTimestamp, vector.endTimestamp);
});

test("our own web app addresses are venue codes; anything else is refused with a reason", async () => {
  const payload = vectors.qr_codes[1].url.split("#")[1];
  for (const prefix of ["https://covid.example.org/app/?v=1#", "http://127.0.0.1:8080/app/?v=1#", protocol.DEFAULT_QR_CODE_PREFIX]) {
    const venue = await protocol.decodeVenueUrl(prefix + payload);
    assert.equal(venue.format, "openstopcovid");
    assert.equal(venue.locationId, vectors.qr_codes[1].locationId, "the id hashes the payload, not the prefix");
  }
  const refusals = [
    ["https://example.org/", "not-a-venue"],
    ["http://covid.example.org/app/?v=1#" + payload, "not-a-venue"],
    ["https://e.coronawarn.app?v=2#" + payload, "venue-version"],
    ["https://e.coronawarn.app?v=1#" + payload.slice(0, 20), "venue-damaged"],
    ["https://e.coronawarn.app?v=1#%%%", "venue-damaged"],
    ["https://e.coronawarn.app?v=1#", "venue-damaged"],
    ["x".repeat(5000), "not-a-venue"],
  ];
  for (const [url, code] of refusals) {
    await assert.rejects(protocol.decodeVenueUrl(url), (error) => error.code === code, url.slice(0, 60));
  }
});

test("encrypting the official record with its IV gives the official report, and matching reads it back", async () => {
  for (const vector of vectors.protected_reports) {
    const locationId = protocol.toHex(protocol.fromBase64(vector.locationId_b64));
    const report = await protocol.encryptCheckInRecord(locationId, vector.record, protocol.fromBase64(vector.iv_b64));
    assert.equal(report.encryptedCheckInRecord, vector.encryptedCheckInRecord_b64);
    assert.equal(report.mac, vector.mac_b64);
    if (vector.locationIdHash) {
      assert.equal(protocol.toHex(protocol.fromBase64(report.locationIdHash)), vector.locationIdHash);
    }
    const start = vector.record.startIntervalNumber * 600;
    const stay = { locationId, description: "venue", checkIn: start, checkOut: start + 3600 };
    const reports = [{ locationIdHash: report.locationIdHash, iv: vector.iv_b64, encryptedCheckInRecord: vector.encryptedCheckInRecord_b64, mac: vector.mac_b64 }];
    const [warning] = await protocol.matchReports([stay], reports);
    assert.equal(warning.overlapMinutes, 60);
    const weight = { 3: 0.6, 4: 0.8, 5: 1.0, 6: 1.2, 7: 1.4, 8: 1.6 }[vector.record.transmissionRiskLevel];
    assert.ok(Math.abs(warning.riskScore - 60 * weight) < 1e-9);
    assert.equal(warning.riskLevel, "high");
    const tampered = { ...reports[0], mac: protocol.toBase64(new Uint8Array(32)) };
    assert.deepEqual(await protocol.matchReports([stay], [tampered]), [], "a bad MAC is ignored");
  }
});

test("stays become the official uploaded windows (CWA deriveTime vectors)", () => {
  // Local times in UTC+1 on one day; the window keeps the same offsets.
  const day = 1_620_000_000 - 3600;
  const at = (hhmm) => {
    const [h, m] = hhmm.split(":").map(Number);
    return day + h * 3600 + m * 60;
  };
  for (const [checkIn, checkOut, expected] of vectors.time_derivation_local_utc_plus_1.cases) {
    const window = protocol.deriveTime(at(checkIn), at(checkOut));
    assert.deepEqual(window, expected && { start: at(expected[0]), end: at(expected[1]) }, `${checkIn}-${checkOut}`);
  }
});

test("uploads split at UTC midnight and are padded to tens of identical-looking reports", async () => {
  const locationId = "07".repeat(32);
  const dayStart = 1_614_816_000;
  const records = protocol.uploadRecords([{ locationId, checkIn: dayStart - 3600, checkOut: dayStart + 3600 }]);
  assert.equal(records.length, 2);
  assert.equal(records[0].record.startIntervalNumber * 600 + records[0].record.period * 600, dayStart);
  assert.equal(records[1].record.startIntervalNumber * 600, dayStart);
  assert.equal(protocol.uploadRecords([{ locationId, checkIn: dayStart, checkOut: dayStart + 300 }]).length, 0, "under 10 minutes");
  const upload = await protocol.prepareUpload([{ locationId, checkIn: dayStart, checkOut: dayStart + 3600 }]);
  assert.equal(upload.length, 10);
  const sizes = new Set(upload.map((report) => JSON.stringify(report).length));
  assert.equal(sizes.size, 1, "fake and real reports have the same size");
  assert.equal((await protocol.prepareUpload([])).length, 10);
  assert.equal(protocol.paddedReportCount(11), 20);
});

test("automatic check-out follows the venue's default length, the event's end, else 12 hours", () => {
  const place = { defaultCheckInLengthMinutes: null, startTimestamp: 0, endTimestamp: 0 };
  assert.equal(protocol.automaticCheckOut(place, 1000), 1000 + 12 * 3600);
  assert.equal(protocol.automaticCheckOut({ ...place, defaultCheckInLengthMinutes: 90 }, 1000), 1000 + 90 * 60);
  assert.equal(protocol.automaticCheckOut({ ...place, defaultCheckInLengthMinutes: 24 * 60 }, 1000), 1000 + 12 * 3600);
  assert.equal(protocol.automaticCheckOut({ ...place, startTimestamp: 500, endTimestamp: 4600 }, 1000), 4600);
});

test("codes: the Verhoeff check digit catches typos before any request", () => {
  assert.equal(protocol.checkDigit([2, 3, 6]), 3);
  const code = protocol.randomCode();
  assert.ok(protocol.isWellFormedCode(code));
  for (let position = 0; position < 12; position += 1) {
    const digit = (Number(code[position]) + 1) % 10;
    assert.ok(!protocol.isWellFormedCode(code.slice(0, position) + digit + code.slice(position + 1)));
  }
  assert.equal(protocol.normalizeCode("1234 5678-9012"), "123456789012");
  assert.ok(!protocol.isWellFormedCode("12345678901a"));
});

test("a backup opens with its passphrase only, and a damaged file is refused", async () => {
  const visits = [{ id: "a", locationId: "07".repeat(32), description: "Café", checkIn: 10, checkedOut: 20, automaticEnd: 30 }];
  const file = await protocol.encryptBackup(visits, "correct horse", 100, 1000);
  assert.deepEqual(await protocol.decryptBackup(file, "correct horse"), visits);
  await assert.rejects(protocol.decryptBackup(file, "wrong horse"), (error) => error.code === "backup-passphrase");
  await assert.rejects(protocol.decryptBackup("{}", "correct horse"), (error) => error.code === "backup-damaged");
  await assert.rejects(protocol.decryptBackup("not json", "x"), (error) => error.code === "backup-damaged");
});

// The same cases as presence::upload's warn_on_behalf tests (2021-03-04, a café's room).
test("an owner's warning reaches guests up to 30 minutes after the window, as in Rust", async () => {
  const cafe = "07".repeat(32);
  const at = (hour, minute) => 1_614_816_000 + hour * 3600 + minute * 60;
  assert.deepEqual(protocol.warnOnBehalfWindow({ start: at(18, 5), end: at(20, 0) }), { start: at(18, 0), end: at(20, 30) });
  const reports = await protocol.warnOnBehalf(cafe, { start: at(18, 5), end: at(20, 0) });
  assert.equal(reports.length, protocol.UPLOAD_REPORT_BUCKET);
  const guest = (from, to) => [{ locationId: cafe, description: "Café", checkIn: from, checkOut: to }];
  assert.equal((await protocol.matchReports(guest(at(19, 0), at(19, 20)), reports)).length, 1);
  const justAfter = await protocol.matchReports(guest(at(20, 10), at(21, 0)), reports);
  assert.equal(justAfter[0].overlapMinutes, 20);
  assert.equal((await protocol.matchReports(guest(at(20, 30), at(21, 30)), reports)).length, 0);
  // A night split at UTC midnight; the owner reads both pieces at level 8.
  const night = await protocol.warnOnBehalf(cafe, { start: at(23, 0), end: at(24 + 1, 0) });
  const read = await protocol.readReports([cafe, "08".repeat(32)], night);
  assert.deepEqual(read.map(({ start, end, transmissionRiskLevel }) => [start, end, transmissionRiskLevel]).sort(),
    [[at(23, 0), at(24, 0), 8], [at(24, 0), at(25, 30), 8]]);
  await assert.rejects(protocol.warnOnBehalf(cafe, { start: at(20, 0), end: at(18, 0) }), (error) => error.code === "window-empty");
  await assert.rejects(protocol.warnOnBehalf(cafe, { start: 0, end: 15 * 86_400 }), (error) => error.code === "window-too-long");
});

test("a sealed paper register opens with its passphrase only", async () => {
  const entries = [{ id: "1", name: "Mme Dupont", phone: "06 12 34 56 78", arrival: 10, departure: 20 }];
  const sealed = await protocol.sealWithPassphrase({ entries }, "une phrase secrète", "openstopcovid-paper-register", 1000);
  assert.ok(!JSON.stringify(sealed).includes("Dupont"));
  assert.deepEqual(await protocol.openWithPassphrase(sealed, "une phrase secrète", "openstopcovid-paper-register"), { entries });
  await assert.rejects(protocol.openWithPassphrase(sealed, "une autre", "openstopcovid-paper-register"), (error) => error.code === "sealed-passphrase");
  await assert.rejects(protocol.openWithPassphrase(sealed, "une phrase secrète", "openstopcovid-web-backup"), (error) => error.code === "sealed-damaged");
});
