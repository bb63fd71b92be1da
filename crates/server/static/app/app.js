// The citizen web app: screens, events and the calls to the public API. The protocol
// itself is in protocol.js, what the device keeps in storage.js, the texts in messages.js.
//
// A poster's URL is /app/?v=1#<venue payload>: the payload is in the fragment, which the
// browser never sends, so only this page sees which venue was opened. Check-in and
// check-out work offline; reports and warnings wait for the network and say so.

import * as protocol from "./protocol.js";
import * as storage from "./storage.js";
import { browserLanguage, text } from "./messages.js";

const $ = (id) => document.getElementById(id);
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** How long an upload token is reused for a retry (the server gives at most 60 minutes). */
const TOKEN_REUSE_SECONDS = 45 * 60;
/** Choices of the optional planned stay, in minutes. */
const PLANNED_STAYS = [30, 60, 90, 120, 180, 240];

let language = "en";
let openedVenue = null;
let scanning = null;

const t = (id, values) => text(language, id, values);

function formatTime(seconds) {
  return new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(seconds * 1000));
}

function formatDate(seconds) {
  return new Intl.DateTimeFormat(language, { weekday: "short", day: "numeric", month: "short" }).format(new Date(seconds * 1000));
}

function formatDateTime(seconds) {
  return `${formatDate(seconds)} ${formatTime(seconds)}`;
}

function say(element, message, kind = "") {
  element.textContent = message;
  element.className = kind;
}

// ---- language ----

function applyLanguage() {
  document.documentElement.lang = language;
  document.title = t("title");
  for (const element of document.querySelectorAll("[data-text]")) {
    element.textContent = t(element.dataset.text);
  }
  const other = language === "fr" ? "en" : "fr";
  const button = $("language");
  button.textContent = t("switch-language");
  button.lang = other;
  button.setAttribute("aria-label", t("switch-language-label"));
  const planned = $("planned");
  const chosen = planned.value;
  planned.replaceChildren(new Option(t("planned-default"), ""));
  for (const minutes of PLANNED_STAYS) {
    const label = minutes < 60 ? t("planned-minutes", { minutes }) : t("planned-hours", { hours: String(minutes / 60).replace(".", language === "fr" ? "," : ".") });
    planned.append(new Option(label, String(minutes)));
  }
  planned.value = chosen;
  render();
}

// ---- rendering ----

function render() {
  const now = nowSeconds();
  renderVenue(now);
  renderCurrent(now);
  renderVisits(now);
  renderWarnings();
  $("report-pending").hidden = !storage.settings().pendingReport;
}

function renderVenue(now) {
  $("venue").hidden = !openedVenue;
  if (!openedVenue) return;
  $("venue-name").textContent = openedVenue.description;
  $("venue-address").textContent = openedVenue.address;
  $("venue-type").textContent = openedVenue.type === null ? "" : `${t("venue-type-label")}: ${t(`type-${openedVenue.type}`)}`;
  const event = openedVenue.startTimestamp !== 0 || openedVenue.endTimestamp !== 0;
  $("venue-event").hidden = !event;
  if (event) {
    $("venue-event").textContent = t("venue-event", { start: formatDateTime(openedVenue.startTimestamp), end: formatDateTime(openedVenue.endTimestamp) });
  }
  const current = storage.currentVisit(now);
  const here = current && current.locationId === openedVenue.locationId;
  $("venue-check-in").hidden = Boolean(here);
  $("venue-here").hidden = !here;
}

function elapsed(seconds) {
  const minutes = Math.floor(seconds / 60);
  return minutes < 60
    ? t("elapsed-minutes", { minutes })
    : t("elapsed-hours", { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
}

function renderCurrent(now) {
  const current = storage.currentVisit(now);
  $("current").hidden = !current;
  if (!current) return;
  $("current-venue").textContent = t("checked-in-at", { venue: current.description });
  $("current-since").textContent = t("checked-in-since", { time: formatTime(current.checkIn), elapsed: elapsed(now - current.checkIn) });
  $("current-automatic").textContent = t("automatic-check-out", { time: formatDateTime(current.automaticEnd) });
}

function renderVisits(now) {
  const list = $("visit-list");
  const visits = storage.visits().slice().reverse();
  list.replaceChildren();
  $("visits-none").hidden = visits.length > 0;
  for (const visit of visits) {
    const item = document.createElement("li");
    const label = document.createElement("span");
    const end = storage.visitEnd(visit);
    const endText = end > now && visit.checkedOut === null ? t("visit-now") : formatTime(end);
    label.textContent = `${visit.description} · ${formatDate(visit.checkIn)} ${t("visit-until", { start: formatTime(visit.checkIn), end: endText })}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = t("delete");
    remove.setAttribute("aria-label", t("delete-visit", { venue: visit.description, time: formatDateTime(visit.checkIn) }));
    remove.addEventListener("click", () => {
      storage.saveVisits(storage.visits().filter((other) => other.id !== visit.id));
      say($("status"), t("visit-deleted"));
      render();
    });
    item.append(label, remove);
    list.append(item);
  }
}

function renderWarnings() {
  const warnings = storage.settings().warnings || [];
  const list = $("warning-list");
  list.replaceChildren();
  if (warnings.length === 0) return;
  const items = document.createElement("ul");
  items.className = "warnings";
  for (const warning of warnings) {
    const item = document.createElement("li");
    item.textContent = `${t("warning-item", {
      venue: warning.description,
      day: formatDate(warning.start),
      start: formatTime(warning.start),
      end: formatTime(warning.end),
      minutes: warning.overlapMinutes,
    })} ${t(warning.riskLevel === "high" ? "warning-high" : "warning-low")}`;
    items.append(item);
  }
  const advice = document.createElement("p");
  advice.textContent = t("warning-advice");
  list.append(items, advice);
}

// ---- venues: open, check in, check out ----

async function openVenue(url) {
  try {
    openedVenue = await protocol.decodeVenueUrl(url);
    say($("status"), "");
    render();
    $("venue-heading").scrollIntoView?.();
    return true;
  } catch (error) {
    openedVenue = null;
    say($("status"), t(error instanceof protocol.ProtocolError ? error.code : "not-a-venue"), "error");
    render();
    return false;
  }
}

function checkOut(now) {
  const current = storage.currentVisit(now);
  if (!current) return null;
  storage.saveVisits(storage.visits().map((visit) => (visit.id === current.id ? { ...visit, checkedOut: Math.max(now, visit.checkIn) } : visit)));
  return current;
}

function checkIn() {
  if (!openedVenue) return;
  const now = nowSeconds();
  storage.purge(now);
  // A new check-in ends the previous one: nobody is in two places.
  checkOut(now);
  const planned = Number($("planned").value);
  const automaticEnd = planned > 0
    ? now + Math.min(planned * 60, protocol.MAX_AUTOMATIC_STAY_SECONDS)
    : protocol.automaticCheckOut(openedVenue, now);
  storage.saveVisits([...storage.visits(), {
    id: globalThis.crypto.randomUUID(),
    url: openedVenue.url,
    description: openedVenue.description,
    address: openedVenue.address,
    type: openedVenue.type,
    locationId: openedVenue.locationId,
    checkIn: now,
    checkedOut: null,
    automaticEnd,
  }]);
  say($("status"), t("checked-in-done", { venue: openedVenue.description }));
  openedVenue = null;
  history.replaceState(null, "", "/app/");
  render();
  $("check-out").focus();
}

// ---- the network: warnings, reports, fake traffic ----

class ServerError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function call(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { cache: "no-store", ...options });
  } catch {
    throw new ServerError(0, "network");
  }
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try {
      const problem = await response.json();
      if (problem.detail) detail = `${detail}: ${problem.detail}`;
    } catch {
      // not a problem document
    }
    throw new ServerError(response.status, detail);
  }
  return response;
}

function postJson(path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return call(path, { method: "POST", headers, body: JSON.stringify(body) });
}

/** The server's key, pinned at first start: later answers must be signed by it. */
async function pinnedKey() {
  let pem = storage.settings().publicKeyPem;
  if (!pem) {
    pem = await (await call("/v1/export-public-key")).text();
    storage.updateSettings({ publicKeyPem: pem });
  }
  return protocol.importPublicKeyPem(pem);
}

let checkingWarnings = false;

async function checkWarnings() {
  const status = $("warnings-status");
  if (!navigator.onLine) {
    say(status, t("warnings-offline"), "error");
    return;
  }
  if (checkingWarnings) return;
  checkingWarnings = true;
  say(status, t("warnings-checking"));
  try {
    const key = await pinnedKey();
    // Everything still published (14 days): reports of the hour in progress may come after
    // a download, and a visit restored from a backup needs older reports, so no cursor.
    const response = await call("/v1/warnings?since=0&format=json", { headers: { Accept: "application/json" } });
    const body = new Uint8Array(await response.arrayBuffer());
    const now = nowSeconds();
    if (!(await protocol.verifyResponseSignature(key, response.headers.get("signature"), body, now))) {
      say(status, t("warnings-bad-signature"), "error");
      return;
    }
    const packageJson = JSON.parse(new TextDecoder().decode(body));
    const stays = storage.visits().map((visit) => ({
      locationId: visit.locationId,
      description: visit.description,
      checkIn: visit.checkIn,
      checkOut: Math.min(storage.visitEnd(visit), Math.max(now, visit.checkIn)),
    }));
    const found = await protocol.matchReports(stays, packageJson.checkInProtectedReports || []);
    const known = storage.settings().warnings || [];
    const fresh = found.filter((warning) => !known.some((old) => old.day === warning.day && old.locationIdHash === warning.locationIdHash));
    const merged = [...known.filter((old) => !found.some((warning) => old.day === warning.day && old.locationIdHash === warning.locationIdHash)), ...found]
      .sort((a, b) => a.start - b.start);
    storage.updateSettings({ warnings: merged, warningsCheckedAt: now });
    renderWarnings();
    say(status, merged.length === 0 ? t("warnings-none", { time: formatDateTime(now) }) : "");
    if (fresh.length > 0) notify(fresh);
  } catch (error) {
    say(status, t("warnings-failed", { detail: error.message || "?" }), "error");
  } finally {
    checkingWarnings = false;
  }
}

function notify(warnings) {
  if (!("Notification" in globalThis) || Notification.permission !== "granted") return;
  const body = warnings.map((warning) => warning.description).join(", ");
  navigator.serviceWorker?.ready
    .then((registration) => registration.showNotification(t("notification-title"), { body, tag: "warning" }))
    .catch(() => {});
}

function selectedVisits() {
  return [...document.querySelectorAll("#consent-list input:checked")].map((box) => box.value);
}

async function sendReport(pending) {
  const reportStatus = $("report-status");
  const now = nowSeconds();
  let { token, tokenAt } = pending;
  if (!token || now - tokenAt > TOKEN_REUSE_SECONDS) {
    const verified = await (await postJson("/v1/codes/verify", { code: pending.code, fake: false })).json();
    token = verified.accessToken;
    // Kept until the upload succeeds: the code is used now, the token allows one retry.
    storage.updateSettings({ pendingReport: { ...pending, token, tokenAt: now } });
  }
  const stays = storage.visits()
    .filter((visit) => pending.visitIds.includes(visit.id))
    .map((visit) => ({ locationId: visit.locationId, checkIn: visit.checkIn, checkOut: Math.min(storage.visitEnd(visit), Math.max(now, visit.checkIn)) }));
  const reports = await protocol.prepareUpload(stays);
  await postJson("/v1/checkins", { checkInProtectedReports: reports, fake: 0 }, token);
  // A web phone has no Bluetooth keys; it still uploads 30 fake ones like every phone, so
  // that its report looks like any other on the wire.
  await postJson("/v2/gaen/exposed", {
    gaenKeys: protocol.fakeKeys(protocol.UPLOAD_KEY_COUNT, now),
    delayedKeyDate: Math.floor(now / protocol.SECONDS_PER_DAY) * 144,
  }, token).catch(() => {});
  storage.updateSettings({ pendingReport: null });
  say(reportStatus, t("shared", { count: stays.length }), "done");
  $("consent").hidden = true;
  render();
}

async function share() {
  const code = protocol.normalizeCode($("code").value);
  if (!protocol.isWellFormedCode(code)) {
    showCodeError();
    return;
  }
  const pending = { code, visitIds: selectedVisits() };
  storage.updateSettings({ pendingReport: pending });
  await retryPendingReport();
}

async function retryPendingReport() {
  const pending = storage.settings().pendingReport;
  if (!pending) return;
  const reportStatus = $("report-status");
  if (!navigator.onLine) {
    say(reportStatus, t("report-offline"), "error");
    render();
    return;
  }
  const button = $("share");
  button.disabled = true;
  say(reportStatus, t("sharing"));
  try {
    await sendReport(pending);
  } catch (error) {
    if (error instanceof ServerError && (error.status === 404 || error.status === 401 || error.status === 403)) {
      // The code (or its token) will not get better: drop it, keep the visits.
      storage.updateSettings({ pendingReport: null });
      say(reportStatus, t("report-code-refused"), "error");
    } else {
      // Server down or busy: the report stays pending and is retried on the next start,
      // when the network comes back, or with the button.
      say(reportStatus, t("report-failed", { detail: error.message || "?" }), "error");
    }
  } finally {
    button.disabled = false;
    render();
  }
}

/** A fake report now and then (Poisson, mean 5 days), as the Rust phone sends. */
async function fakeTraffic() {
  const now = nowSeconds();
  const due = storage.settings().nextFakeReport;
  if (!Number.isFinite(due)) {
    storage.updateSettings({ nextFakeReport: now + protocol.exponentialDelay(protocol.FAKE_UPLOAD_MEAN_SECONDS) });
    return;
  }
  if (now < due || !navigator.onLine) return;
  storage.updateSettings({ nextFakeReport: now + protocol.exponentialDelay(protocol.FAKE_UPLOAD_MEAN_SECONDS) });
  try {
    const { accessToken } = await (await postJson("/v1/codes/verify", { code: protocol.randomCode(), fake: true })).json();
    await postJson("/v1/checkins", { checkInProtectedReports: await protocol.prepareUpload([]), fake: 1 }, accessToken);
    await postJson("/v2/gaen/exposed", {
      gaenKeys: protocol.fakeKeys(protocol.UPLOAD_KEY_COUNT, now),
      delayedKeyDate: Math.floor(now / protocol.SECONDS_PER_DAY) * 144,
    }, accessToken);
  } catch {
    // Fake traffic is best effort; the next one comes on schedule.
  }
}

// ---- the report screen ----

function showScreen(report) {
  $("report").hidden = !report;
  $("home").hidden = report;
  if (report) {
    $("consent").hidden = true;
    say($("code-error"), "");
    $("code").removeAttribute("aria-invalid");
    $("code").focus();
  }
}

function showCodeError() {
  say($("code-error"), t("code-invalid"), "error");
  $("code").setAttribute("aria-invalid", "true");
  $("code").focus();
}

function showConsent() {
  const code = protocol.normalizeCode($("code").value);
  if (!protocol.isWellFormedCode(code)) {
    showCodeError();
    return;
  }
  say($("code-error"), "");
  $("code").removeAttribute("aria-invalid");
  const list = $("consent-list");
  list.replaceChildren();
  const visits = storage.visits().slice().reverse();
  for (const visit of visits) {
    const item = document.createElement("li");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.value = visit.id;
    box.id = `share-${visit.id}`;
    const label = document.createElement("label");
    label.htmlFor = box.id;
    label.textContent = `${visit.description} · ${formatDate(visit.checkIn)} ${formatTime(visit.checkIn)} – ${formatTime(storage.visitEnd(visit))}`;
    item.append(box, label);
    list.append(item);
  }
  $("consent-intro").textContent = visits.length === 0 ? t("consent-none") : t("consent-intro");
  $("consent").hidden = false;
  $("share").focus();
}

// ---- backup ----

async function exportVisits() {
  const status = $("backup-status");
  const passphrase = $("passphrase").value;
  if (passphrase.length < 8) {
    say(status, t("export-short"), "error");
    return;
  }
  const file = await protocol.encryptBackup(storage.visits(), passphrase, nowSeconds());
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([file], { type: "application/json" }));
  link.download = `openstopcovid-visits-${new Date().toISOString().slice(0, 10)}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  say(status, t("export-done"), "done");
}

async function importVisits() {
  const status = $("backup-status");
  const file = $("import-file").files?.[0];
  if (!file) {
    say(status, t("import-choose"), "error");
    return;
  }
  try {
    const visits = await protocol.decryptBackup(await file.text(), $("passphrase").value);
    const added = storage.mergeVisits(visits);
    storage.purge(nowSeconds());
    say(status, t("import-done", { count: added }), "done");
    render();
  } catch (error) {
    say(status, t(error instanceof protocol.ProtocolError ? error.code : "backup-damaged"), "error");
  }
}

// ---- camera ----

async function startScan() {
  if (scanning) {
    stopScan();
    return;
  }
  const video = $("camera");
  try {
    const detector = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    $("scan").textContent = t("scan-stop");
    scanning = setInterval(async () => {
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length > 0) {
        stopScan();
        await openVenue(codes[0].rawValue);
      }
    }, 300);
  } catch {
    stopScan();
    say($("status"), t("scan-unavailable"), "error");
  }
}

function stopScan() {
  clearInterval(scanning);
  scanning = null;
  const video = $("camera");
  video.srcObject?.getTracks().forEach((track) => track.stop());
  video.srcObject = null;
  video.hidden = true;
  $("scan").textContent = t("scan");
}

// ---- start ----

async function handleLocation() {
  const fragment = location.hash.slice(1);
  if (fragment.startsWith("report=")) {
    showScreen(true);
    $("code").value = decodeURIComponent(fragment.slice("report=".length)).replace(/[^0-9 ]/g, "");
    history.replaceState(null, "", "/app/");
    return;
  }
  if (fragment && new URLSearchParams(location.search).has("v")) {
    await openVenue(location.href);
  }
}

function updateOnline() {
  $("offline").hidden = navigator.onLine;
}

async function start() {
  storage.purge(nowSeconds());
  language = storage.settings().language || browserLanguage(navigator.languages);
  applyLanguage();
  updateOnline();

  $("language").addEventListener("click", () => {
    language = language === "fr" ? "en" : "fr";
    storage.updateSettings({ language });
    applyLanguage();
  });
  $("check-in").addEventListener("click", checkIn);
  $("check-out").addEventListener("click", () => {
    const ended = checkOut(nowSeconds());
    if (ended) say($("status"), t("checked-out-done", { venue: ended.description }));
    render();
  });
  $("paste-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await openVenue($("venue-link").value)) $("venue-link").value = "";
  });
  if ("BarcodeDetector" in globalThis && navigator.mediaDevices) {
    $("scan").hidden = false;
    $("scan").addEventListener("click", startScan);
  }
  $("check-warnings").addEventListener("click", checkWarnings);
  if ("Notification" in globalThis && Notification.permission === "default") {
    $("notifications").hidden = false;
    $("notifications").addEventListener("click", async () => {
      await Notification.requestPermission().catch(() => {});
      $("notifications").hidden = Notification.permission !== "default";
    });
  }
  $("report-open").addEventListener("click", () => showScreen(true));
  for (const cancel of document.querySelectorAll("#report .cancel")) {
    cancel.addEventListener("click", () => {
      showScreen(false);
      $("report-open").focus();
    });
  }
  $("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showConsent();
  });
  $("share").addEventListener("click", share);
  $("export").addEventListener("click", exportVisits);
  $("import").addEventListener("click", importVisits);
  addEventListener("hashchange", handleLocation);
  addEventListener("online", () => {
    updateOnline();
    retryPendingReport();
    checkWarnings();
  });
  addEventListener("offline", updateOnline);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      storage.purge(nowSeconds());
      render();
      checkWarnings();
    }
  });
  // The elapsed time and the automatic check-out move on while the page is open.
  setInterval(render, 30_000);

  await handleLocation();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
  }
  if (navigator.onLine) {
    checkWarnings();
    retryPendingReport();
    fakeTraffic();
  }
}

start();
