// What the app keeps on the device, in localStorage (small, synchronous, and available
// to the page offline): the visits, the pinned server key, the warnings found, the
// schedule of fake reports and a report waiting for the network. Nothing is kept longer
// than 14 days after a visit ended (purged on every start).

import { RETENTION_SECONDS } from "./protocol.js";

const VISITS = "openstopcovid.visits";
const SETTINGS = "openstopcovid.settings";

function read(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

function write(key, value) {
  localStorage.setItem(key, JSON.stringify(value));
}

/** Every visit, oldest first: {id, url, description, address, type, locationId, checkIn, checkedOut, automaticEnd}. */
export function visits() {
  const list = read(VISITS, []);
  return Array.isArray(list) ? list : [];
}

export function saveVisits(list) {
  write(VISITS, [...list].sort((a, b) => a.checkIn - b.checkIn));
}

/** When a visit ended (or will end by itself). */
export function visitEnd(visit) {
  return visit.checkedOut ?? visit.automaticEnd;
}

/** The visit the person is checked into at `now`, if any (crates/phone: current_check_in). */
export function currentVisit(now) {
  return visits()
    .filter((visit) => visit.checkedOut === null && visit.checkIn <= now && now < visit.automaticEnd)
    .sort((a, b) => b.checkIn - a.checkIn)[0] || null;
}

/** Deletes visits (and warnings) that ended more than 14 days before `now`. */
export function purge(now) {
  const limit = now - RETENTION_SECONDS;
  saveVisits(visits().filter((visit) => visitEnd(visit) > limit));
  const kept = settings();
  kept.warnings = (kept.warnings || []).filter((warning) => warning.end > limit);
  saveSettings(kept);
}

export function settings() {
  const value = read(SETTINGS, {});
  return value && typeof value === "object" ? value : {};
}

export function saveSettings(value) {
  write(SETTINGS, value);
}

export function updateSettings(change) {
  saveSettings({ ...settings(), ...change });
}

/** Adds imported visits, skipping those already here (same venue and check-in time). */
export function mergeVisits(imported) {
  const list = visits();
  let added = 0;
  for (const visit of imported) {
    const valid = visit && typeof visit.locationId === "string" && /^[0-9a-f]{64}$/.test(visit.locationId)
      && Number.isFinite(visit.checkIn) && Number.isFinite(visit.automaticEnd)
      && typeof visit.description === "string";
    if (!valid) continue;
    if (list.some((existing) => existing.locationId === visit.locationId && existing.checkIn === visit.checkIn)) continue;
    list.push({
      id: globalThis.crypto.randomUUID(),
      url: String(visit.url || ""),
      description: visit.description,
      address: String(visit.address || ""),
      type: Number.isInteger(visit.type) ? visit.type : null,
      locationId: visit.locationId,
      checkIn: visit.checkIn,
      checkedOut: Number.isFinite(visit.checkedOut) ? visit.checkedOut : null,
      automaticEnd: visit.automaticEnd,
    });
    added += 1;
  }
  saveVisits(list);
  return added;
}
