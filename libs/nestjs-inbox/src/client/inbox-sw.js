/*
 * nestjs-inbox's service worker for Web Push (docs/channels.md): serve it from the site's own
 * origin and pass its path to `inbox.enablePush({ serviceWorker: '/inbox-sw.js' })`.
 *
 * - A push (`{ id, type, title, body, url, scope }`, JSON text) is shown as a notification: its
 *   strings as text (a notification renders no markup).
 * - Shown, it is marked seen over the protocol: the worker tells the site's open pages, whose
 *   inbox client sends `notifications:seen` on its socket (a worker holds no socket of its own;
 *   with no page open, the inbox marks it seen when it shows it).
 * - A click opens its `url` (site-relative or http(s) only), or focuses a page already there.
 */
'use strict';

const SHOWN = 'nestjs-inbox:shown';

/** A link the notification may open: same-origin relative, or http(s); anything else is dropped. */
function safeUrl(url) {
  if (typeof url !== 'string' || url === '') return null;
  try {
    const u = new URL(url, self.location.origin);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

self.addEventListener('push', (event) => {
  let n = {};
  try {
    n = event.data ? event.data.json() : {};
  } catch {
    n = {};
  }
  const title = typeof n.title === 'string' && n.title ? n.title : typeof n.type === 'string' ? n.type : 'Notification';
  event.waitUntil(
    self.registration
      .showNotification(title, {
        body: typeof n.body === 'string' ? n.body : undefined,
        tag: typeof n.id === 'string' ? `nestjs-inbox:${n.id}` : undefined,
        data: { id: n.id, url: safeUrl(n.url) },
      })
      .then(() => self.clients.matchAll({ type: 'window', includeUncontrolled: true }))
      .then((pages) => {
        if (typeof n.id === 'string') for (const page of pages) page.postMessage({ type: SHOWN, id: n.id });
      }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = event.notification.data && event.notification.data.url;
  if (!url) return;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((pages) => {
      const open = pages.find((p) => p.url === url);
      return open ? open.focus() : self.clients.openWindow(url);
    }),
  );
});
