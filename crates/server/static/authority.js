// OpenStopCovid health-authority UI: the few conveniences that need a script. Every page
// works without it (sign-in, issuing, lists, confirmations; times in the server's zone);
// this adds the copy and print buttons, puts every time in the browser's own zone and
// keeps expiry countdowns running.
"use strict";

/** `23 Nov 2026, 22:05` / `23 nov. 2026, 22:05`: the shape the server writes (web/local_time.rs). */
function localTimes() {
  const locale = document.documentElement.lang === "fr" ? "fr-FR" : "en-GB";
  const date = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric" });
  const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const dateTime = (moment) => `${date.format(moment)}, ${clock.format(moment)}`;
  for (const element of document.querySelectorAll("time[data-local]")) {
    const moment = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(moment.getTime())) continue;
    // A time kept only to the hour is shown as that hour, never as a minute.
    element.textContent = element.dataset.local === "hour"
      ? `${dateTime(moment)}–${clock.format(new Date(moment.getTime() + 3_600_000))}`
      : dateTime(moment);
  }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) {
    for (const element of document.querySelectorAll("[data-time-zone]")) element.textContent = zone;
  }
}

/** `45 min`, `23 h 05 min`, rounded up as the server does (web/local_time.rs, time_left). */
function timeLeft(seconds) {
  const minutes = Math.ceil(Math.max(0, seconds) / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

function countdowns() {
  const elements = [...document.querySelectorAll("time[data-countdown]")];
  if (elements.length === 0) return;
  const tick = () => {
    for (const element of elements) {
      const until = new Date(element.getAttribute("datetime")).getTime();
      if (!Number.isNaN(until)) element.textContent = timeLeft((until - Date.now()) / 1000);
    }
  };
  tick();
  setInterval(tick, 15_000);
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes();
  countdowns();
  for (const button of document.querySelectorAll("button[data-copy]")) {
    if (!navigator.clipboard) continue;
    button.hidden = false;
    const label = button.textContent;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = button.dataset.copied;
        setTimeout(() => { button.textContent = label; }, 2000);
      } catch (_) {
        // Clipboard refused (permissions): the text stays on screen to read out or select.
      }
    });
  }
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});
