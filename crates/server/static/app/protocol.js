// The venue protocol in the browser, the same computation as the Rust phone
// (crates/presence and crates/phone; PROTOCOLS.md §5): reading venue QR codes (ours,
// CWA, CrowdNotifier), location ids, the stay windows that get uploaded, encrypted
// check-in reports with their padding, matching downloaded reports, a venue owner's
// warning on behalf of their venue, the code's check digit, response signatures, and
// files sealed with a passphrase (the backup, a venue's paper register). The venue
// owners' page (/static/venues.js) imports it too. Pure: no DOM, no
// storage, no clock (time comes in as an argument), so that Node runs the same module
// against the official vectors. WebCrypto (globalThis.crypto) does the cryptography.

const encoder = new TextEncoder();
const subtle = globalThis.crypto.subtle;

// Limits, as in crates/presence/src/venue_code.rs.
export const DEFAULT_QR_CODE_PREFIX = "https://qr.openstopcovid.org?v=1#";
const CWA_HOST = "e.coronawarn.app";
const WEB_APP_PATH = "app";
export const MAX_QR_URL_LENGTH = 2953;
export const MAX_QR_PAYLOAD_BYTES = 2048;
const MAX_TEXT_LENGTH = 100;
const CWA_SEED_LENGTH = 16;
const CROWD_NOTIFIER_SEED_LENGTH = 32;
const CROWD_NOTIFIER_VERSIONS = ["3", "4"];
const MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES = 24 * 60;
const VENUE_TYPE_COUNT = 13;

// Check-ins and uploads, as in crates/presence/src/{time_derivation,upload,check_in_report}.rs
// and crates/phone/src/{check_ins,report}.rs.
export const INTERVAL_SECONDS = 600;
export const SECONDS_PER_DAY = 86_400;
const MIN_STAY_MINUTES = 10;
const MAX_AEROSOL_MINUTES = 30;
const MAX_STAY_SECONDS = 14 * SECONDS_PER_DAY;
export const MAX_AUTOMATIC_STAY_SECONDS = 12 * 3600;
export const RETENTION_SECONDS = 14 * SECONDS_PER_DAY;
export const UPLOAD_REPORT_BUCKET = 10;
export const UPLOAD_KEY_COUNT = 30;
export const CHECK_IN_TRANSMISSION_RISK_LEVEL = 6;
export const FAKE_UPLOAD_MEAN_SECONDS = 5 * SECONDS_PER_DAY;
export const HIGH_RISK_THRESHOLD = 10;
const IV_LENGTH = 16;
const MAC_LENGTH = 32;
const HASH_LENGTH = 32;
const ENCRYPTED_RECORD_LENGTH = 16;
export const CODE_DIGITS = 12;

/** An error whose `code` names a message the app shows (see messages.js). */
export class ProtocolError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

// ---- bytes ----

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function toHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ProtocolError("bad-hex");
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

export function toBase64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** base64url or standard base64, padding optional (as scanners and CWA write it). */
export function fromBase64Url(text) {
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(text)) throw new ProtocolError("venue-damaged");
  const standard = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  if (standard.length % 4 === 1) throw new ProtocolError("venue-damaged");
  try {
    return fromBase64(standard + "=".repeat((4 - (standard.length % 4)) % 4));
  } catch {
    throw new ProtocolError("venue-damaged");
  }
}

export function randomBytes(length) {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

// ---- protobuf: the few small messages of the protocol ----

/** Fields of a protobuf message: Map(number → [value, …]); varints as Numbers. */
function parseMessage(bytes) {
  const fields = new Map();
  let i = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (i >= bytes.length) throw new ProtocolError("venue-damaged");
      const byte = bytes[i++];
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new ProtocolError("venue-damaged");
  };
  while (i < bytes.length) {
    const key = varint();
    const number = Math.floor(key / 8);
    const wire = key % 8;
    if (number === 0) throw new ProtocolError("venue-damaged");
    let value;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const length = varint();
      if (length > bytes.length - i) throw new ProtocolError("venue-damaged");
      value = bytes.subarray(i, i + length);
      i += length;
    } else if (wire === 1 || wire === 5) {
      const length = wire === 1 ? 8 : 4;
      if (length > bytes.length - i) throw new ProtocolError("venue-damaged");
      value = bytes.subarray(i, i + length);
      i += length;
    } else throw new ProtocolError("venue-damaged");
    if (!fields.has(number)) fields.set(number, []);
    fields.get(number).push({ wire, value });
  }
  return fields;
}

// proto3 semantics: the last value wins; a missing field is its default.
function number(fields, n) {
  const values = fields.get(n);
  if (!values) return 0;
  const last = values[values.length - 1];
  if (last.wire !== 0) throw new ProtocolError("venue-damaged");
  return last.value;
}

function bytesField(fields, n) {
  const values = fields.get(n);
  if (!values) return null;
  const last = values[values.length - 1];
  if (last.wire !== 2) throw new ProtocolError("venue-damaged");
  return last.value;
}

function text(fields, n) {
  const bytes = bytesField(fields, n);
  if (!bytes) return "";
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ProtocolError("venue-damaged");
  }
}

function encodeVarint(value) {
  const out = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** A CheckInRecord: 1 startIntervalNumber, 2 period, 3 transmissionRiskLevel (proto3: zeros omitted). */
export function encodeCheckInRecord({ startIntervalNumber, period, transmissionRiskLevel }) {
  const out = [];
  [[1, startIntervalNumber], [2, period], [3, transmissionRiskLevel]].forEach(([n, value]) => {
    if (value !== 0) out.push(n * 8, ...encodeVarint(value));
  });
  return new Uint8Array(out);
}

export function decodeCheckInRecord(bytes) {
  const fields = parseMessage(bytes);
  return {
    startIntervalNumber: number(fields, 1),
    period: number(fields, 2),
    transmissionRiskLevel: number(fields, 3),
  };
}

// ---- venue QR codes ----

function checkLine(value, required) {
  if (required && value.trim() === "") throw new ProtocolError("venue-damaged");
  // UTF-16 code units, as the Rust check counts them.
  if (value.length > MAX_TEXT_LENGTH) throw new ProtocolError("venue-damaged");
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(value)) throw new ProtocolError("venue-damaged");
}

/** `https://host[/path]?…v=N…` → {host, path, version}; `http://` only for this machine. */
function hostPathAndVersion(base) {
  const match = /^(https?):\/\/([^/?]*)(\/[^?]*)?\?(.*)$/i.exec(base);
  if (!match) return null;
  const [, scheme, host, path = "", query] = match;
  if (!host) return null;
  if (scheme.toLowerCase() === "http") {
    const name = host.includes(":") ? host.slice(0, host.lastIndexOf(":")) : host;
    if (name !== "localhost" && name !== "127.0.0.1") return null;
  }
  const parameter = query.split("&").find((p) => p.startsWith("v=") || p.startsWith("V="));
  if (parameter === undefined) return null;
  return { host, path: path.replace(/^\//, ""), version: parameter.slice(2) };
}

function classify(base) {
  const ownBase = DEFAULT_QR_CODE_PREFIX.slice(0, -1);
  if (base.toLowerCase() === ownBase.toLowerCase()) return "openstopcovid";
  const parts = hostPathAndVersion(base);
  if (!parts) throw new ProtocolError("not-a-venue");
  const path = parts.path.replace(/\/+$/, "");
  if ((path === WEB_APP_PATH || path.endsWith("/" + WEB_APP_PATH)) && parts.version === "1") {
    return "openstopcovid";
  }
  if (parts.host.toLowerCase() === CWA_HOST) {
    if (parts.version === "1") return "cwa";
    throw new ProtocolError("venue-version");
  }
  if (parts.host.toLowerCase() === "qr.openstopcovid.org") throw new ProtocolError("venue-version");
  if (CROWD_NOTIFIER_VERSIONS.includes(parts.version)) return "crowdnotifier";
  throw new ProtocolError("not-a-venue");
}

/**
 * Reads a venue QR code URL (ours, CWA's, CrowdNotifier's) as the Rust phone does
 * (presence::venue_code::decode_qr_url). Throws a ProtocolError on anything else.
 */
export async function decodeVenueUrl(input) {
  if (typeof input !== "string" || input.length > MAX_QR_URL_LENGTH) throw new ProtocolError("not-a-venue");
  const url = input.trim();
  const hash = url.indexOf("#");
  if (hash < 0) throw new ProtocolError("not-a-venue");
  const format = classify(url.slice(0, hash));
  const payload = fromBase64Url(url.slice(hash + 1));
  if (payload.length === 0) throw new ProtocolError("venue-damaged");
  if (payload.length > MAX_QR_PAYLOAD_BYTES) throw new ProtocolError("venue-damaged");
  const venue = format === "crowdnotifier" ? decodeCrowdNotifier(payload) : decodeCwa(payload);
  const locationId = await sha256(concat(encoder.encode("CWA-GUID"), payload));
  return {
    ...venue,
    format,
    url,
    locationId: toHex(locationId),
    locationIdHash: toHex(await sha256(locationId)),
  };
}

/**
 * The frame CWA and CrowdNotifier payloads share: the location (description, address,
 * start and end), the seed in the crypto data. They differ only in field numbers, whether
 * an address is required, and the seed's length.
 */
function decodeLocation(fields, { timestampFields: [startField, endField], addressRequired, seedLength }) {
  const locationBytes = bytesField(fields, 2);
  const keyBytes = bytesField(fields, 3);
  if (!locationBytes || !keyBytes) throw new ProtocolError("venue-damaged");
  const location = parseMessage(locationBytes);
  const description = text(location, 2);
  const address = text(location, 3);
  checkLine(description, true);
  checkLine(address, addressRequired);
  const startTimestamp = number(location, startField);
  const endTimestamp = number(location, endField);
  if (endTimestamp < startTimestamp) throw new ProtocolError("venue-damaged");
  const seed = bytesField(parseMessage(keyBytes), 3);
  if (!seed || seed.length !== seedLength) throw new ProtocolError("venue-damaged");
  return { description, address, startTimestamp, endTimestamp };
}

function decodeCwa(payload) {
  const fields = parseMessage(payload);
  if (number(fields, 1) !== 1) throw new ProtocolError("venue-version");
  const location = decodeLocation(fields, {
    timestampFields: [5, 6],
    addressRequired: true,
    seedLength: CWA_SEED_LENGTH,
  });
  const vendor = parseMessage(bytesField(fields, 4) || new Uint8Array());
  const type = number(vendor, 2);
  if (type >= VENUE_TYPE_COUNT) throw new ProtocolError("venue-damaged");
  const minutes = number(vendor, 3);
  if (minutes > MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES) throw new ProtocolError("venue-damaged");
  return { ...location, type, defaultCheckInLengthMinutes: minutes > 0 ? minutes : null };
}

function decodeCrowdNotifier(payload) {
  const fields = parseMessage(payload);
  if (!CROWD_NOTIFIER_VERSIONS.includes(String(number(fields, 1)))) throw new ProtocolError("venue-version");
  const location = decodeLocation(fields, {
    timestampFields: [4, 5],
    addressRequired: false,
    seedLength: CROWD_NOTIFIER_SEED_LENGTH,
  });
  return { ...location, type: null, defaultCheckInLengthMinutes: null };
}

/**
 * When a check-in at `checkIn` ends by itself: the venue's default length, else the
 * event's end when it comes sooner, else 12 hours (crates/phone/src/check_ins.rs: the
 * phone clamps the default length to [1 min, 12 h]).
 */
export function automaticCheckOut(venue, checkIn) {
  const fallback = checkIn + MAX_AUTOMATIC_STAY_SECONDS;
  if (venue.defaultCheckInLengthMinutes) {
    const stay = Math.min(Math.max(venue.defaultCheckInLengthMinutes * 60, 60), MAX_AUTOMATIC_STAY_SECONDS);
    return checkIn + stay;
  }
  const permanent = venue.startTimestamp === 0 && venue.endTimestamp === 0;
  if (!permanent && venue.endTimestamp > checkIn && venue.endTimestamp < fallback) return venue.endTimestamp;
  return fallback;
}

// ---- the windows that get uploaded (CWA deriveTime and split) ----

const alignDown = (seconds) => Math.floor(seconds / INTERVAL_SECONDS) * INTERVAL_SECONDS;

/** The uploaded window of a stay, or null when it lasted less than 10 minutes. */
export function deriveTime(checkIn, checkOutInput) {
  const checkOut = Math.min(checkOutInput, checkIn + MAX_STAY_SECONDS);
  const duration = Math.max(0, checkOut - checkIn);
  const durationMinutes = Math.floor(duration / 60);
  if (durationMinutes < MIN_STAY_MINUTES) return null;
  const aerosol = durationMinutes <= MAX_AEROSOL_MINUTES ? duration : MAX_AEROSOL_MINUTES * 60;
  const relevantEnd = checkOut + aerosol;
  const startInterval = alignDown(checkIn);
  const endInterval = alignDown(relevantEnd);
  const overlapWithStart = startInterval + INTERVAL_SECONDS - checkIn;
  const overlapWithEnd = relevantEnd - endInterval;
  const target = Math.floor((duration + aerosol + INTERVAL_SECONDS / 2) / INTERVAL_SECONDS) * INTERVAL_SECONDS;
  if (overlapWithEnd > overlapWithStart) {
    const end = endInterval + INTERVAL_SECONDS;
    return { start: Math.max(0, end - target), end };
  }
  return { start: startInterval, end: startInterval + target };
}

export function splitAtUtcMidnight(window) {
  const pieces = [];
  let start = window.start;
  while (start < window.end) {
    const end = Math.min((Math.floor(start / SECONDS_PER_DAY) + 1) * SECONDS_PER_DAY, window.end);
    pieces.push({ start, end });
    start = end;
  }
  return pieces;
}

/** The records a report uploads for the given stays ({locationId hex, checkIn, checkOut}). */
export function uploadRecords(stays, transmissionRiskLevel = CHECK_IN_TRANSMISSION_RISK_LEVEL) {
  const records = [];
  for (const stay of stays) {
    const window = deriveTime(stay.checkIn, stay.checkOut);
    if (!window) continue;
    for (const piece of splitAtUtcMidnight(window)) {
      records.push({
        locationId: stay.locationId,
        record: {
          startIntervalNumber: piece.start / INTERVAL_SECONDS,
          period: (piece.end - piece.start) / INTERVAL_SECONDS,
          transmissionRiskLevel,
        },
      });
    }
  }
  return records;
}

async function venueKeys(locationId, usages) {
  const encryptionKey = await subtle.importKey(
    "raw", await sha256(concat(encoder.encode("CWA-ENCRYPTION-KEY"), locationId)),
    { name: "AES-CBC" }, false, usages.encrypt);
  const macKey = await subtle.importKey(
    "raw", await sha256(concat(encoder.encode("CWA-MAC-KEY"), locationId)),
    { name: "HMAC", hash: "SHA-256" }, false, usages.mac);
  return { encryptionKey, macKey };
}

/** One protected report (base64 fields), encrypted with a given or random IV. */
export async function encryptCheckInRecord(locationIdHex, record, iv = randomBytes(IV_LENGTH)) {
  const locationId = fromHex(locationIdHex);
  const { encryptionKey, macKey } = await venueKeys(locationId, { encrypt: ["encrypt"], mac: ["sign"] });
  const ciphertext = new Uint8Array(await subtle.encrypt({ name: "AES-CBC", iv }, encryptionKey, encodeCheckInRecord(record)));
  const mac = new Uint8Array(await subtle.sign("HMAC", macKey, concat(iv, ciphertext)));
  return {
    locationIdHash: toBase64(await sha256(locationId)),
    iv: toBase64(iv),
    encryptedCheckInRecord: toBase64(ciphertext),
    mac: toBase64(mac),
  };
}

/** Random bytes of a real report's sizes: the server and observers cannot tell it apart. */
export function fakeReport() {
  return {
    locationIdHash: toBase64(randomBytes(HASH_LENGTH)),
    iv: toBase64(randomBytes(IV_LENGTH)),
    encryptedCheckInRecord: toBase64(randomBytes(ENCRYPTED_RECORD_LENGTH)),
    mac: toBase64(randomBytes(MAC_LENGTH)),
  };
}

export function paddedReportCount(real) {
  return Math.max(1, Math.ceil(real / UPLOAD_REPORT_BUCKET)) * UPLOAD_REPORT_BUCKET;
}

function randomBelow(limit) {
  // Rejection sampling: no bias towards small values.
  const ceiling = Math.floor(0x1_0000_0000 / limit) * limit;
  for (;;) {
    const value = globalThis.crypto.getRandomValues(new Uint32Array(1))[0];
    if (value < ceiling) return value % limit;
  }
}

export function shuffle(items) {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = randomBelow(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** The reports of an upload: encrypted, padded with fake ones to a multiple of 10, shuffled. */
export async function prepareUpload(stays) {
  const reports = [];
  for (const { locationId, record } of uploadRecords(stays)) {
    reports.push(await encryptCheckInRecord(locationId, record));
  }
  while (reports.length < paddedReportCount(reports.length)) reports.push(fakeReport());
  return shuffle(reports);
}

/** 30 random keys marked fake, dated over the past 14 days, as the Rust phone pads. */
export function fakeKeys(count, now) {
  const today = Math.floor(now / SECONDS_PER_DAY) * 144;
  return Array.from({ length: count }, (_, index) => ({
    keyData: toBase64(randomBytes(16)),
    rollingStartNumber: today - 144 * (1 + (index % 14)),
    rollingPeriod: 144,
    fake: 1,
  }));
}

/** An exponentially distributed delay (seconds) with the given mean: fake uploads have no rhythm. */
export function exponentialDelay(meanSeconds) {
  const words = globalThis.crypto.getRandomValues(new Uint32Array(2));
  const uniform = ((words[0] >>> 11) * 2 ** 32 + words[1] + 1) / 2 ** 53;
  return Math.floor(-Math.log(Math.min(uniform, 1)) * meanSeconds);
}

// ---- matching downloaded reports against the visits on this device ----

export function transmissionRiskWeight(level) {
  return { 3: 0.6, 4: 0.8, 5: 1.0, 6: 1.2, 7: 1.4, 8: 1.6 }[level] || 0;
}

/**
 * The reports about the venues of `locationIds` (hex): those whose hash is one of theirs,
 * whose MAC checks and that decrypt, each once however often it was downloaded, as
 * {locationId, start, end, transmissionRiskLevel} (unix seconds), in the reports' order.
 * What a guest's phone and a venue owner both read (presence::matching).
 */
export async function readReports(locationIds, reports) {
  const byHash = new Map();
  for (const locationId of locationIds) {
    byHash.set(toHex(await sha256(fromHex(locationId))), locationId);
  }
  const seen = new Set();
  const keys = new Map();
  const found = [];
  for (const report of reports) {
    let hash;
    let iv;
    let ciphertext;
    let mac;
    try {
      hash = toHex(fromBase64(report.locationIdHash));
      iv = fromBase64(report.iv);
      ciphertext = fromBase64(report.encryptedCheckInRecord);
      mac = fromBase64(report.mac);
    } catch {
      continue;
    }
    const locationId = byHash.get(hash);
    const identity = `${hash}${report.iv}${report.encryptedCheckInRecord}${report.mac}`;
    if (!locationId || seen.has(identity) || iv.length !== IV_LENGTH || mac.length !== MAC_LENGTH) continue;
    if (ciphertext.length === 0 || ciphertext.length % 16 !== 0 || ciphertext.length > 64) continue;
    seen.add(identity);
    if (!keys.has(locationId)) {
      keys.set(locationId, await venueKeys(fromHex(locationId), { encrypt: ["decrypt"], mac: ["verify"] }));
    }
    const { encryptionKey, macKey } = keys.get(locationId);
    if (!(await subtle.verify("HMAC", macKey, mac, concat(iv, ciphertext)))) continue;
    let record;
    try {
      record = decodeCheckInRecord(new Uint8Array(await subtle.decrypt({ name: "AES-CBC", iv }, encryptionKey, ciphertext)));
    } catch {
      continue;
    }
    // A record no phone could have sent is ignored, as presence::matching does.
    if (record.period === 0 || record.transmissionRiskLevel < 1 || record.transmissionRiskLevel > 8) continue;
    found.push({
      locationId,
      start: record.startIntervalNumber * INTERVAL_SECONDS,
      end: (record.startIntervalNumber + record.period) * INTERVAL_SECONDS,
      transmissionRiskLevel: record.transmissionRiskLevel,
    });
  }
  return found;
}

/**
 * Warnings for `visits` ({locationId hex, description, checkIn, checkOut}) from protected
 * reports (base64 fields), one per venue and UTC day, as presence::match_guest_check_ins.
 */
export async function matchReports(visits, reports) {
  const totals = new Map();
  const locationIds = [...new Set(visits.map((visit) => visit.locationId))];
  for (const reported of await readReports(locationIds, reports)) {
    const weight = transmissionRiskWeight(reported.transmissionRiskLevel);
    for (const visit of visits.filter((candidate) => candidate.locationId === reported.locationId)) {
      const start = Math.max(visit.checkIn, reported.start);
      const end = Math.min(visit.checkOut, reported.end);
      const overlapMinutes = Math.floor((Math.max(0, end - start) + 30) / 60);
      if (overlapMinutes === 0) continue;
      const day = Math.floor(start / SECONDS_PER_DAY);
      const hash = toHex(await sha256(fromHex(visit.locationId)));
      const key = `${day}:${hash}`;
      const total = totals.get(key) || { locationIdHash: hash, description: visit.description, day, start, end, overlapMinutes: 0, riskScore: 0 };
      total.start = Math.min(total.start, start);
      total.end = Math.max(total.end, end);
      total.overlapMinutes += overlapMinutes;
      total.riskScore += weight * overlapMinutes;
      totals.set(key, total);
    }
  }
  return [...totals.values()]
    .map((total) => ({ ...total, riskLevel: riskLevel(total.riskScore) }))
    .sort((a, b) => a.start - b.start);
}

/** "high" from HIGH_RISK_THRESHOLD weighted minutes a day, else "low" (presence::RiskLevel). */
export function riskLevel(riskScore) {
  return riskScore >= HIGH_RISK_THRESHOLD ? "high" : "low";
}

// ---- a venue owner's warning on behalf of their venue (presence::upload::warn_on_behalf) ----

export const WARN_ON_BEHALF_EXTENSION_SECONDS = 30 * 60;
export const MAX_WARN_ON_BEHALF_WINDOW_SECONDS = MAX_STAY_SECONDS;
/** The level of an owner's warning: the authority decided there was an outbreak. */
export const WARN_ON_BEHALF_RISK_LEVEL = 8;

/**
 * The window actually reported for `window` ({start, end} unix seconds): the start
 * aligned down to a 10-minute interval, the end 30 minutes later aligned up, so that
 * guests present up to 30 minutes after the window are warned too.
 */
export function warnOnBehalfWindow(window) {
  return {
    start: alignDown(window.start),
    end: Math.ceil((window.end + WARN_ON_BEHALF_EXTENSION_SECONDS) / INTERVAL_SECONDS) * INTERVAL_SECONDS,
  };
}

/**
 * The reports a venue owner uploads (with a venue-warning code) for the room of
 * `locationId` (hex) and `window`: the extended window split per UTC day, encrypted,
 * padded and shuffled like a phone's upload. ProtocolError "window-empty" or
 * "window-too-long" for a window that could not be sent.
 */
export async function warnOnBehalf(locationId, window, transmissionRiskLevel = WARN_ON_BEHALF_RISK_LEVEL) {
  if (!(window.end > window.start)) throw new ProtocolError("window-empty");
  if (window.end - window.start > MAX_WARN_ON_BEHALF_WINDOW_SECONDS) throw new ProtocolError("window-too-long");
  const reports = [];
  for (const piece of splitAtUtcMidnight(warnOnBehalfWindow(window))) {
    reports.push(await encryptCheckInRecord(locationId, {
      startIntervalNumber: piece.start / INTERVAL_SECONDS,
      period: (piece.end - piece.start) / INTERVAL_SECONDS,
      transmissionRiskLevel,
    }));
  }
  while (reports.length < paddedReportCount(reports.length)) reports.push(fakeReport());
  return shuffle(reports);
}

// ---- codes (Verhoeff check digit, as messages::code) ----

const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const VERHOEFF_INVERSE = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

function verhoeffChecksum(digits) {
  let check = 0;
  digits.slice().reverse().forEach((digit, i) => {
    check = VERHOEFF_D[check][VERHOEFF_P[i % 8][digit]];
  });
  return check;
}

/** The Verhoeff check digit to append to `digits` (an array of numbers 0-9). */
export function checkDigit(digits) {
  return VERHOEFF_INVERSE[verhoeffChecksum([...digits, 0])];
}

/** Spaces, dashes and no-break spaces removed, as the Rust phone normalises a typed code. */
export function normalizeCode(input) {
  return String(input).replace(/[ \-\u00a0]/g, "");
}

export function isWellFormedCode(code) {
  return /^[0-9]{12}$/.test(code) && verhoeffChecksum(Array.from(code, Number)) === 0;
}

/** A random well-formed code, for fake traffic. */
export function randomCode() {
  const digits = Array.from({ length: CODE_DIGITS - 1 }, () => randomBelow(10));
  return [...digits, checkDigit(digits)].join("");
}

// ---- response signatures (the `Signature` header: an ES256 JWT over the body's hash) ----

export async function importPublicKeyPem(pem) {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  return subtle.importKey("spki", fromBase64(body), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
}

/** Whether `signature` (a JWT) is valid for `body` under `publicKey` and not expired at `now`. */
export async function verifyResponseSignature(publicKey, signature, body, now) {
  if (typeof signature !== "string") return false;
  const parts = signature.split(".");
  if (parts.length !== 3) return false;
  try {
    const header = JSON.parse(new TextDecoder().decode(fromBase64Url(parts[0])));
    const claims = JSON.parse(new TextDecoder().decode(fromBase64Url(parts[1])));
    if (header.alg !== "ES256") return false;
    const valid = await subtle.verify(
      { name: "ECDSA", hash: "SHA-256" }, publicKey, fromBase64Url(parts[2]),
      encoder.encode(`${parts[0]}.${parts[1]}`));
    if (!valid) return false;
    if (typeof claims.exp === "number" && claims.exp < now) return false;
    return claims["content-hash"] === toBase64(await sha256(body));
  } catch {
    return false;
  }
}

// ---- files sealed with a passphrase: the backup file (docs/web-app.md) and a venue's
// paper register (docs/venue-owners.md) ----

export const BACKUP_FORMAT = "openstopcovid-web-backup";
export const PASSPHRASE_ITERATIONS = 600_000;
const MAX_PASSPHRASE_ITERATIONS = 10_000_000;

async function passphraseKey(passphrase, salt, iterations, usage) {
  const material = await subtle.importKey("raw", encoder.encode(passphrase), "PBKDF2", false, ["deriveKey"]);
  return subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material, { name: "AES-GCM", length: 256 }, false, [usage]);
}

/** `content` (any JSON value) encrypted with the passphrase (PBKDF2-SHA256 + AES-256-GCM), as an object of `format`. */
export async function sealWithPassphrase(content, passphrase, format, iterations = PASSPHRASE_ITERATIONS) {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const plain = encoder.encode(JSON.stringify(content));
  const key = await passphraseKey(passphrase, salt, iterations, "encrypt");
  const ciphertext = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv }, key, plain));
  return {
    format,
    version: 1,
    kdf: { name: "PBKDF2-SHA256", iterations, salt: toBase64(salt) },
    cipher: { name: "AES-256-GCM", iv: toBase64(iv) },
    ciphertext: toBase64(ciphertext),
  };
}

/** The content of a sealed object of `format`; ProtocolError "sealed-damaged" or "sealed-passphrase". */
export async function openWithPassphrase(sealed, passphrase, format) {
  let salt;
  let iv;
  let ciphertext;
  try {
    if (sealed.format !== format || sealed.version !== 1) throw new Error("format");
    const { iterations } = sealed.kdf;
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PASSPHRASE_ITERATIONS) throw new Error("kdf");
    salt = fromBase64(sealed.kdf.salt);
    iv = fromBase64(sealed.cipher.iv);
    ciphertext = fromBase64(sealed.ciphertext);
    if (iv.length !== 12 || salt.length < 8) throw new Error("sizes");
  } catch {
    throw new ProtocolError("sealed-damaged");
  }
  let plain;
  try {
    const key = await passphraseKey(passphrase, salt, sealed.kdf.iterations, "decrypt");
    plain = await subtle.decrypt({ name: "AES-GCM", iv }, key, ciphertext);
  } catch {
    // GCM cannot tell a wrong passphrase from a changed file; a wrong passphrase is likelier.
    throw new ProtocolError("sealed-passphrase");
  }
  try {
    return JSON.parse(new TextDecoder().decode(plain));
  } catch {
    throw new ProtocolError("sealed-damaged");
  }
}

/** The visits as a JSON backup file, encrypted with the passphrase. */
export async function encryptBackup(visits, passphrase, now, iterations = PASSPHRASE_ITERATIONS) {
  return JSON.stringify(await sealWithPassphrase({ createdAt: now, visits }, passphrase, BACKUP_FORMAT, iterations));
}

/** The visits of a backup file; ProtocolError "backup-damaged" or "backup-passphrase". */
export async function decryptBackup(fileText, passphrase) {
  let content;
  try {
    content = await openWithPassphrase(JSON.parse(fileText), passphrase, BACKUP_FORMAT);
  } catch (error) {
    throw new ProtocolError(error.code === "sealed-passphrase" ? "backup-passphrase" : "backup-damaged");
  }
  if (!content || !Array.isArray(content.visits)) throw new ProtocolError("backup-damaged");
  return content.visits;
}
