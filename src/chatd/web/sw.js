// chatd's service worker: shows a Web Push notification (the author and the conversation in
// the title, the text in the body) while no chatd page is in front, and opens the conversation
// when the notification is clicked. Served at /sw.js so that its scope is the whole site.

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function readPayload(event) {
  try {
    const data = event.data ? event.data.json() : null;
    return data && typeof data === 'object' ? data : {};
  } catch (err) {
    return {};
  }
}

async function pageInFront() {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  return windows.some((client) => client.visibilityState === 'visible' && client.focused);
}

self.addEventListener('push', (event) => {
  const data = readPayload(event);
  const id = typeof data.conversation_id === 'string' ? data.conversation_id : '';
  const title = typeof data.title === 'string' && data.title ? data.title : 'chatd';
  const body = typeof data.body === 'string' ? data.body : '';
  event.waitUntil((async () => {
    // A push was sent because the server saw no active socket; a page that is in front after
    // all shows the message itself (browsers still require a notification for each push
    // unless a page is focused, so only skip it then).
    if (await pageInFront()) return;
    await self.registration.showNotification(title, {
      body,
      // one per conversation, replaced by newer; the same tag as the page's own notices
      tag: id || undefined,
      renotify: Boolean(id),
      icon: '/static/icon.svg',
      data: { conversation_id: id, message_id: data.message_id, seq: data.seq },
    });
  })());
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = event.notification.data && event.notification.data.conversation_id;
  const url = new URL(id ? `/#/c/${encodeURIComponent(id)}` : '/', self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
    if (open) {
      await open.focus();
      open.postMessage({ type: 'chatd.open', conversation_id: id });
      return;
    }
    await self.clients.openWindow(url);
  })());
});
