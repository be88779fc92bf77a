// The service worker keeps the app shell so the pay code page opens and works with the network off.
// API responses are never cached: they carry personal data and must be fresh.
const CACHE = 'yibao-app-v7';
const SHELL = [
  '/app/', '/app/index.html', '/app/app.css', '/app/manifest.webmanifest',
  '/app/js/main.js', '/app/js/api.js', '/app/js/i18n.js', '/app/js/ui.js', '/app/js/qr.js', '/app/js/barcode.js', '/app/js/voucher.js', '/app/js/face.js',
  '/app/js/screens/account.js', '/app/js/screens/code.js', '/app/js/screens/credit.js', '/app/js/screens/estimate.js', '/app/js/screens/family.js',
  '/app/js/screens/home.js', '/app/js/screens/inbox.js', '/app/js/screens/orders.js', '/app/js/screens/premiums.js', '/app/js/screens/reminders.js', '/app/js/screens/settings.js',
  '/app/js/screens/wallet.js', '/shared/busy.js', '/shared/dom.js', '/shared/http.js', '/shared/why.js', '/shared/format.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key)))).then(() => self.clients.claim()),
  );
});

// The shell: network first (so a new version shows at once), the cache when offline.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || !(url.pathname.startsWith('/app/') || url.pathname.startsWith('/shared/'))) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true }).then((hit) => hit ?? caches.match('/app/index.html'))),
  );
});
