// The service worker: keeps the app's files so that a poster opens it with no network at
// all, and check-in and check-out work offline. Files are answered from the cache at once
// and refreshed in the background (the server revalidates with ETags, a 304 is a few
// bytes); API calls (/v1/…, /v2/…) are never cached and go to the network.
// The page carries its script and style sheet inline (the server joins them), so the page,
// the manifest and the icon are all there is to keep.
const CACHE = "openstopcovid-app-v2";
const FILES = ["/app/", "/app/manifest.webmanifest", "/app/icon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/app/")) return;
  // A poster's URL (/app/?v=1#…) and every visit of the app are the same page.
  const key = event.request.mode === "navigate" ? "/app/" : url.pathname;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(key);
      const refresh = fetch(event.request.mode === "navigate" ? "/app/" : event.request)
        .then((response) => {
          if (response.ok) cache.put(key, response.clone());
          return response;
        });
      if (cached) {
        event.waitUntil(refresh.catch(() => {}));
        return cached;
      }
      return refresh;
    }),
  );
});
