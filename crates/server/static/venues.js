// The venue owners' page: reads a venue file chosen by the owner, downloads the published
// check-in reports as JSON and matches them here with WebCrypto, exactly as
// presence::match_owned_venues does (PROTOCOLS.md §5). The venue file never leaves the
// browser: it is read with FileReader and no request carries any of it.
"use strict";

const encoder = new TextEncoder();

function hexToBytes(hex) {
  if (typeof hex !== "string" || !/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error("bad location id");
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i += 1) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

// A CheckInRecord: 1 startIntervalNumber, 2 period, 3 transmissionRiskLevel (varints).
function parseCheckInRecord(bytes) {
  const fields = {};
  let i = 0;
  while (i < bytes.length) {
    let key = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[i++];
      key += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80 && i < bytes.length);
    if ((key & 7) !== 0) return null;
    let value = 0;
    shift = 0;
    do {
      byte = bytes[i++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80 && i < bytes.length);
    fields[Math.floor(key / 8)] = value;
  }
  return { start: (fields[1] || 0) * 600, end: ((fields[1] || 0) + (fields[2] || 0)) * 600, level: fields[3] || 0 };
}

async function roomKeys(room) {
  const locationId = hexToBytes(room.locationId);
  const macKey = await crypto.subtle.importKey(
    "raw", await sha256(concat(encoder.encode("CWA-MAC-KEY"), locationId)),
    { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const encryptionKey = await crypto.subtle.importKey(
    "raw", await sha256(concat(encoder.encode("CWA-ENCRYPTION-KEY"), locationId)),
    { name: "AES-CBC" }, false, ["decrypt"]);
  return { room, hash: await sha256(locationId), macKey, encryptionKey };
}

async function matchReports(venueFile, reports) {
  const rooms = await Promise.all(venueFile.rooms.map(roomKeys));
  const found = [];
  for (const report of reports) {
    const hash = base64ToBytes(report.locationIdHash);
    const room = rooms.find((candidate) => sameBytes(candidate.hash, hash));
    if (!room) continue;
    const iv = base64ToBytes(report.iv);
    const ciphertext = base64ToBytes(report.encryptedCheckInRecord);
    const authentic = await crypto.subtle.verify(
      "HMAC", room.macKey, base64ToBytes(report.mac), concat(iv, ciphertext));
    if (!authentic) continue;
    try {
      const plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv }, room.encryptionKey, ciphertext));
      const record = parseCheckInRecord(plain);
      if (record) found.push({ description: room.room.description, ...record });
    } catch {
      // Bad padding: not a report about this room.
    }
  }
  found.sort((a, b) => a.start - b.start);
  return found;
}

function utc(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ");
}

function show(element, text, className) {
  element.replaceChildren();
  const paragraph = document.createElement("p");
  paragraph.textContent = text;
  if (className) paragraph.className = className;
  element.append(paragraph);
  return paragraph;
}

async function openVenueFile(file) {
  const message = (id) => document.querySelector(`#messages [data-message="${id}"]`).textContent;
  const messages = {
    venuesStatusLoading: message("venues-status-loading"),
    venuesStatusNone: message("venues-status-none"),
    venuesStatusFound: message("venues-status-found"),
    venuesStatusBadFile: message("venues-status-bad-file"),
    venuesStatusUnreachable: message("venues-status-unreachable"),
    venuesStatusRisk: message("venues-status-risk"),
    venuesStatusUtc: message("venues-status-utc"),
  };
  const status = document.getElementById("venue-status");
  let venueFile;
  try {
    venueFile = JSON.parse(await file.text());
    if (venueFile.openstopcovidVenueFile !== 1 || !Array.isArray(venueFile.rooms) || venueFile.rooms.length === 0) {
      throw new Error("not a venue file");
    }
    venueFile.rooms.forEach((room) => hexToBytes(room.locationId));
  } catch {
    show(status, messages.venuesStatusBadFile, "error");
    return;
  }
  show(status, messages.venuesStatusLoading);
  let reports;
  try {
    const response = await fetch("/v1/warnings?since=0&format=json", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    reports = (await response.json()).checkInProtectedReports;
  } catch {
    show(status, messages.venuesStatusUnreachable, "error");
    return;
  }
  const found = await matchReports(venueFile, reports);
  if (found.length === 0) {
    show(status, messages.venuesStatusNone).id = "no-warning";
    return;
  }
  show(status, messages.venuesStatusFound, "found").id = "warning-found";
  const list = document.createElement("ul");
  list.id = "warnings";
  for (const visit of found) {
    const item = document.createElement("li");
    item.textContent = `${visit.description}: ${utc(visit.start)} – ${utc(visit.end).slice(11)} ${messages.venuesStatusUtc}, ${messages.venuesStatusRisk} ${visit.level}`;
    list.append(item);
  }
  status.append(list);
}

document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("venue-file");
  if (!input) return;
  input.addEventListener("change", () => {
    if (input.files && input.files[0]) openVenueFile(input.files[0]);
  });
});
