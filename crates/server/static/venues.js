// The venue owners' page. Everything about an opened venue file happens here, with the
// web app's protocol module (/app/protocol.js, the same code that runs on visitors'
// phones and that Node tests against the official vectors):
// - whether a visitor who tested positive was there: the published reports are
//   downloaded and matched against the file's rooms (protocol.readReports), and the page
//   says what to do, with the health authority's texts;
// - warning the guests of a room: the reports `openstopcovid venue warn` would build
//   (protocol.warnOnBehalf), sent with the authority's venue-warning code exactly as the
//   command line sends them; only ciphertexts leave the browser;
// - posters printed again: the file (without the register) is posted to /venues/poster,
//   which draws the poster and forgets the file;
// - the paper register of guests without a phone: sealed with the owner's passphrase
//   (PBKDF2 + AES-256-GCM) in localStorage and in the venue files exported from here,
//   entries deleted 14 days after the guest left, and listed when a warning overlaps them.
// The file's location ids never leave the browser except to draw a poster.
"use strict";

/** What the sealed register is, in localStorage and in exported venue files. */
const REGISTER_FORMAT = "openstopcovid-paper-register";
/** localStorage key of a venue's register, followed by its first room's location id hash. */
const REGISTER_STORAGE_PREFIX = "openstopcovid-paper-register:";
const MIN_PASSPHRASE_LENGTH = 8;
/** Venue files larger than this are refused unread (presence::MAX_VENUE_FILE_BYTES). */
const MAX_VENUE_FILE_BYTES = 1024 * 1024;
/** The most rooms a venue file holds (presence::venue_file::MAX_ROOMS). */
const MAX_ROOMS = 100;

let protocol;
const page = {
  venueFile: null,
  fileName: "",
  /** The reports downloaded last, and those about this venue. */
  reports: [],
  found: [],
  /** The open register: its passphrase and entries; null while locked. */
  register: null,
};

const $ = (id) => document.getElementById(id);
const language = document.documentElement.lang || "en";
/** The browser's own variant of the page's language (en-GB writes 13:30, en-US 1:30 PM). */
const locale = navigator.languages.find((tag) => tag.split("-")[0] === language) || language;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A message of the page, in its language, with `{name}` filled in from `values`. */
function message(id, values = {}) {
  const element = document.querySelector(`#messages [data-message="${id}"]`);
  const text = element ? element.textContent : id;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** `text` alone in `element`; `kind` ("error", "success", "found") makes it a notice. */
function say(element, text, kind) {
  element.replaceChildren();
  if (!text) return null;
  const paragraph = document.createElement("p");
  paragraph.textContent = text;
  if (kind) paragraph.className = `notice ${kind}`;
  element.append(paragraph);
  return paragraph;
}

// ---- times, in the page's language and the browser's time zone ----

const dayFormat = new Intl.DateTimeFormat(locale, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
const timeFormat = new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit" });
const formatDay = (seconds) => dayFormat.format(new Date(seconds * 1000));
const formatTime = (seconds) => timeFormat.format(new Date(seconds * 1000));

/** A `datetime-local` value (local time) as unix seconds; NaN when empty or unreadable. */
function localInputSeconds(value) {
  if (!value) return NaN;
  return Math.floor(new Date(value).getTime() / 1000);
}

/** The words of a window: {day, from, to} (the end's day is left out). */
function windowWords(start, end) {
  return { day: formatDay(start), from: formatTime(start), to: formatTime(end) };
}

// ---- the venue file ----

function roomName(room) {
  return room.name || page.venueFile.name;
}

/** The venue file in `text`, checked as presence::VenueFile::parse checks it; null if it is not one. */
async function readVenueFile(text) {
  if (text.length > MAX_VENUE_FILE_BYTES) return null;
  try {
    const file = JSON.parse(text);
    if (file.openstopcovidVenueFile !== 1 || !Array.isArray(file.rooms)) return null;
    if (file.rooms.length === 0 || file.rooms.length > MAX_ROOMS) return null;
    for (const room of file.rooms) {
      const code = await protocol.decodeVenueUrl(room.url);
      if (code.locationId !== String(room.locationId).toLowerCase()) return null;
    }
    return file;
  } catch {
    return null;
  }
}

function fillRoomChoices(select, rooms, valueOf) {
  select.replaceChildren(...rooms.map((room, index) => {
    const option = document.createElement("option");
    option.value = valueOf(room, index);
    option.textContent = roomName(room);
    return option;
  }));
}

async function openVenueFile(file) {
  const status = $("venue-status");
  const venueFile = await readVenueFile(await file.text());
  if (!venueFile) {
    say(status, message("venues-status-bad-file"), "error");
    $("venue-tools").hidden = true;
    return;
  }
  page.venueFile = venueFile;
  page.fileName = file.name;
  page.register = null;
  fillRoomChoices($("warn-room"), venueFile.rooms, (room, index) => index);
  fillRoomChoices($("reprint-room"), venueFile.rooms, (room, index) => index);
  fillRoomChoices($("register-room"), venueFile.rooms, (room) => room.locationId);
  const { paperRegister, ...withoutRegister } = venueFile;
  $("reprint-file").value = JSON.stringify(withoutRegister);
  $("register-unlock").hidden = false;
  $("register-open").hidden = true;
  say($("register-status"), "");
  say($("warn-status"), "");
  $("venue-tools").hidden = false;
  await checkReports();
}

// ---- was a positive visitor here, and what to do ----

/** The level of a report: a guest's who stayed its whole window (presence's VenueReport::risk_level). */
function reportLevel(report) {
  const minutes = (report.end - report.start) / 60;
  return protocol.riskLevel(protocol.transmissionRiskWeight(report.transmissionRiskLevel) * minutes);
}

async function checkReports() {
  const status = $("venue-status");
  say(status, message("venues-status-loading"));
  try {
    const response = await fetch("/v1/warnings?since=0&format=json", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    page.reports = (await response.json()).checkInProtectedReports || [];
  } catch {
    say(status, message("venues-status-unreachable"), "error");
    return;
  }
  const rooms = new Map(page.venueFile.rooms.map((room) => [room.locationId.toLowerCase(), room]));
  page.found = (await protocol.readReports([...rooms.keys()], page.reports))
    .map((report) => ({ ...report, room: rooms.get(report.locationId), level: reportLevel(report) }))
    .sort((a, b) => a.start - b.start);
  if (page.found.length === 0) {
    say(status, message("venues-status-none")).id = "no-warning";
    return;
  }
  say(status, message("venues-status-found"), "found").id = "warning-found";
  const list = document.createElement("ul");
  list.id = "warnings";
  for (const report of page.found) {
    const item = document.createElement("li");
    item.textContent = `${message("venues-report-item", { room: roomName(report.room), ...windowWords(report.start, report.end) })} (${message(`venues-level-${report.level}`)})`;
    list.append(item);
  }
  const level = page.found.some((report) => report.level === "high") ? "high" : "low";
  const heading = document.createElement("h3");
  heading.textContent = message("venues-advice-heading");
  const advice = document.createElement("p");
  advice.id = "advice";
  advice.textContent = message(`venues-advice-${level}`);
  const guests = document.createElement("p");
  guests.textContent = message("venues-advice-guests", { advice: message(`authority-venue-${level}`) });
  const matches = document.createElement("div");
  matches.id = "register-matches";
  status.append(list, heading, advice, guests, matches);
  await showRegisterMatches();
}

// ---- warning the guests of a room ----

async function warnGuests(event) {
  event.preventDefault();
  const status = $("warn-status");
  const refuse = (id) => say(status, message(id), "error");
  const room = page.venueFile.rooms[Number($("warn-room").value)];
  const code = protocol.normalizeCode($("warn-code").value);
  const start = localInputSeconds($("warn-from").value);
  const end = localInputSeconds($("warn-to").value);
  if (Number.isNaN(start) || Number.isNaN(end)) return refuse("venues-warn-error-times");
  if (start > nowSeconds()) return refuse("venues-warn-error-future");
  if (!protocol.isWellFormedCode(code)) return refuse("venues-warn-error-code");
  let reports;
  try {
    reports = await protocol.warnOnBehalf(room.locationId.toLowerCase(), { start, end });
  } catch (error) {
    return refuse(error.code === "window-too-long" ? "venues-warn-error-too-long" : "venues-warn-error-window");
  }
  say(status, message("venues-warn-sending"));
  try {
    const verified = await fetch("/v1/codes/verify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code, fake: false }),
    });
    if (verified.status === 404) return refuse("venues-warn-refused-code");
    if (!verified.ok) throw new Error(String(verified.status));
    const { accessToken } = await verified.json();
    const uploaded = await fetch("/v1/venues/warnings", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ checkInProtectedReports: reports, fake: 0 }),
    });
    if (uploaded.status === 403) return refuse("venues-warn-refused-kind");
    if (!uploaded.ok) throw new Error(String(uploaded.status));
  } catch {
    return refuse("venues-warn-failed");
  }
  $("warn-code").value = "";
  say(status, message("venues-warn-sent", { room: roomName(room), ...windowWords(start, end) }), "success").id = "warn-sent";
  return checkReports();
}

// ---- the paper register ----

function registerStorageKey() {
  return REGISTER_STORAGE_PREFIX + page.venueFile.rooms[0].locationIdHash;
}

function storedRegister() {
  try {
    return JSON.parse(localStorage.getItem(registerStorageKey()) || "null");
  } catch {
    return null;
  }
}

/** Entries whose guest left more than 14 days ago are deleted; returns how many. */
function purgeRegister() {
  const cutoff = nowSeconds() - protocol.RETENTION_SECONDS;
  const before = page.register.entries.length;
  page.register.entries = page.register.entries.filter((entry) => entry.departure >= cutoff);
  return before - page.register.entries.length;
}

async function saveRegister() {
  page.register.sealed = await protocol.sealWithPassphrase(
    { entries: page.register.entries }, page.register.passphrase, REGISTER_FORMAT);
  localStorage.setItem(registerStorageKey(), JSON.stringify(page.register.sealed));
}

async function unlockRegister(event) {
  event.preventDefault();
  const status = $("register-status");
  const passphrase = $("register-passphrase").value;
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    say(status, message("venues-register-passphrase-short"), "error");
    return;
  }
  // This browser's register and the one in the opened file, merged entry by entry.
  const entries = new Map();
  for (const sealed of [storedRegister(), page.venueFile.paperRegister]) {
    if (!sealed) continue;
    try {
      const content = await protocol.openWithPassphrase(sealed, passphrase, REGISTER_FORMAT);
      for (const entry of content.entries || []) entries.set(entry.id, entry);
    } catch (error) {
      const id = error.code === "sealed-passphrase" ? "venues-register-wrong-passphrase" : "venues-register-damaged";
      say(status, message(id), "error");
      return;
    }
  }
  page.register = { passphrase, entries: [...entries.values()] };
  const purged = purgeRegister();
  await saveRegister();
  $("register-passphrase").value = "";
  $("register-unlock").hidden = true;
  $("register-open").hidden = false;
  say(status, purged > 0 ? message("venues-register-purged", { count: purged }) : "");
  renderRegister();
  await showRegisterMatches();
}

function roomOf(locationId) {
  return page.venueFile.rooms.find((room) => room.locationId === locationId) || page.venueFile.rooms[0];
}

function renderRegister() {
  const list = $("register-entries");
  list.replaceChildren();
  if (page.register.entries.length === 0) {
    const item = document.createElement("li");
    item.textContent = message("venues-register-empty");
    list.append(item);
    return;
  }
  for (const entry of [...page.register.entries].sort((a, b) => a.arrival - b.arrival)) {
    const item = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = message("venues-register-entry", {
      name: entry.name, phone: entry.phone, room: roomName(roomOf(entry.locationId)), ...windowWords(entry.arrival, entry.departure),
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "small danger";
    remove.textContent = message("venues-register-delete");
    remove.setAttribute("aria-label", `${message("venues-register-delete")} ${entry.name}`);
    remove.addEventListener("click", () => deleteEntry(entry));
    item.append(text, " ", remove);
    list.append(item);
  }
}

async function addEntry(event) {
  event.preventDefault();
  const status = $("register-status");
  const entry = {
    id: protocol.toHex(protocol.randomBytes(16)),
    locationId: $("register-room").value,
    name: $("register-name").value.trim(),
    phone: $("register-phone").value.trim(),
    arrival: localInputSeconds($("register-arrival").value),
    departure: localInputSeconds($("register-departure").value),
  };
  if (!entry.name || !entry.phone || !(entry.arrival < entry.departure)) {
    say(status, message("venues-register-error-entry"), "error");
    return;
  }
  page.register.entries.push(entry);
  const purged = purgeRegister();
  await saveRegister();
  $("register-name").value = "";
  $("register-phone").value = "";
  say(status, purged > 0 ? message("venues-register-purged", { count: purged }) : message("venues-register-saved"), "success");
  renderRegister();
  await showRegisterMatches();
}

async function deleteEntry(entry) {
  if (!window.confirm(message("venues-register-delete-confirm", { name: entry.name }))) return;
  page.register.entries = page.register.entries.filter((kept) => kept.id !== entry.id);
  await saveRegister();
  renderRegister();
  await showRegisterMatches();
}

async function clearRegister() {
  if (!window.confirm(message("venues-register-clear-confirm"))) return;
  page.register.entries = [];
  await saveRegister();
  renderRegister();
  await showRegisterMatches();
}

/** The opened venue file with the sealed register in it, downloaded under its own name. */
function exportVenueFile() {
  const file = { ...page.venueFile, paperRegister: page.register.sealed };
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([`${JSON.stringify(file, null, 2)}\n`], { type: "application/json" }));
  link.download = page.fileName || "venue.venue.json";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

/**
 * Under a warning: the register's guests whose stay overlaps a report, matched exactly as
 * a guest's phone would match them (protocol.matchReports), with their level.
 */
async function showRegisterMatches() {
  const target = $("register-matches");
  if (!target || page.found.length === 0) return;
  if (!page.register) {
    say(target, message("venues-register-locked"));
    return;
  }
  const matches = [];
  for (const entry of page.register.entries) {
    const room = roomOf(entry.locationId);
    const visit = { locationId: entry.locationId, description: roomName(room), checkIn: entry.arrival, checkOut: entry.departure };
    const warnings = await protocol.matchReports([visit], page.reports);
    if (warnings.length === 0) continue;
    matches.push({
      entry,
      room,
      start: warnings[0].start,
      minutes: warnings.reduce((sum, warning) => sum + warning.overlapMinutes, 0),
      level: warnings.some((warning) => warning.riskLevel === "high") ? "high" : "low",
    });
  }
  const heading = document.createElement("h3");
  heading.textContent = message("venues-register-matches");
  target.replaceChildren(heading);
  if (matches.length === 0) {
    const none = document.createElement("p");
    none.id = "register-no-match";
    none.textContent = message("venues-register-no-match");
    target.append(none);
    return;
  }
  const intro = document.createElement("p");
  intro.textContent = message("venues-register-matches-intro");
  const list = document.createElement("ul");
  list.id = "register-match-list";
  for (const match of matches.sort((a, b) => a.start - b.start)) {
    const item = document.createElement("li");
    item.textContent = message("venues-register-match", {
      name: match.entry.name,
      phone: match.entry.phone,
      room: roomName(match.room),
      day: formatDay(match.start),
      minutes: match.minutes,
      level: message(`venues-level-${match.level}`),
    });
    list.append(item);
  }
  target.append(intro, list);
  for (const level of ["high", "low"].filter((wanted) => matches.some((match) => match.level === wanted))) {
    const advice = document.createElement("p");
    const line = message("venues-register-advice", {
      level: message(`venues-level-${level}`),
      advice: message(`authority-venue-${level}`),
    });
    advice.textContent = line.charAt(0).toUpperCase() + line.slice(1);
    target.append(advice);
  }
}

// ---- the creation form: event times in the browser's time zone ----

function fillOffsets() {
  for (const name of ["start", "end"]) {
    const value = $(name).value;
    const offset = document.querySelector(`input[name="${name}_offset"]`);
    offset.value = value ? String(-new Date(value).getTimezoneOffset()) : "";
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("create-form")?.addEventListener("submit", fillOffsets);
  const input = $("venue-file");
  if (!input) return;
  protocol = await import("/app/protocol.js");
  input.addEventListener("change", () => {
    if (input.files && input.files[0]) openVenueFile(input.files[0]);
  });
  $("warn-form").addEventListener("submit", warnGuests);
  $("register-unlock").addEventListener("submit", unlockRegister);
  $("register-form").addEventListener("submit", addEntry);
  $("register-clear").addEventListener("click", clearRegister);
  $("register-export").addEventListener("click", exportVenueFile);
});
