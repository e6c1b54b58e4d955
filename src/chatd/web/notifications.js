// Notifications away from the page: Web Push through the service worker (/sw.js), each
// conversation's notify setting, and the person's email and email digests.
//
// The browser is subscribed whenever notifications are allowed (at sign-in, and as soon as
// the person allows them), and unsubscribed before signing out, so a shared computer does
// not keep receiving the last person's messages. Push needs a secure page (https, or
// localhost); elsewhere the settings say so.

import { html, useEffect, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { Modal } from './dialogs.js';
import { extend } from './extensions.js';

const LEVELS = [
  ['default', 'Default'],
  ['all', 'All messages'],
  ['mentions', 'Mentions only'],
  ['none', 'Nothing'],
];

function pushSupported() {
  return window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window
    && 'Notification' in window;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text) {
  const plain = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(plain, (c) => c.charCodeAt(0));
}

async function registration() {
  await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  return navigator.serviceWorker.ready;
}

// Subscribe this browser (again: the server keeps one row per endpoint) when allowed.
export async function subscribePush() {
  if (!pushSupported() || Notification.permission !== 'granted') return false;
  const reg = await registration();
  const { public_key: publicKey } = await api('GET', '/push/key');
  let subscription = await reg.pushManager.getSubscription();
  const key = subscription && subscription.options.applicationServerKey;
  if (subscription && (!key || base64url(key) !== publicKey)) {
    await subscription.unsubscribe(); // made for another server key: useless now
    subscription = null;
  }
  if (!subscription) {
    subscription = await reg.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: fromBase64url(publicKey),
    });
  }
  const { endpoint, keys } = subscription.toJSON();
  await api('POST', '/push/subscriptions', { endpoint, keys });
  return true;
}

async function unsubscribePush() {
  if (!pushSupported()) return;
  const reg = await navigator.serviceWorker.getRegistration('/');
  const subscription = reg && (await reg.pushManager.getSubscription());
  if (!subscription) return;
  await api('DELETE', '/push/subscriptions', { endpoint: subscription.endpoint }).catch(() => null);
  await subscription.unsubscribe();
}

function trySubscribe(store) {
  subscribePush().catch((err) => {
    store.pushProblem = err.message || String(err);
    store.changed();
  });
}

async function setLevel(store, conversationId, notify) {
  const { conversation } = await api('PATCH', `/conversations/${conversationId}/settings`, { notify });
  store.mergeConversation(conversation, true); // the caller's own view
}

function NotifyLevel({ store, conversation }) {
  return html`
    <label class="notify-level" title="What reaches you when you are away">
      <select aria-label="Notifications" value=${conversation.notify || 'default'}
        onChange=${(e) => setLevel(store, conversation.id, e.currentTarget.value)}>
        ${LEVELS.map(([value, label]) => html`<option value=${value}>${value === 'default'
          ? `Notify: default (${conversation.kind === 'channel' ? 'mentions' : 'all'})`
          : `Notify: ${label.toLowerCase()}`}</option>`)}
      </select>
    </label>`;
}

function BrowserPart({ store }) {
  if (!pushSupported()) {
    return html`<p>Browser notifications need the page served over https (or on this computer).</p>`;
  }
  const permission = Notification.permission;
  if (permission === 'denied') {
    return html`<p>Notifications are blocked for this site in the browser's settings.</p>`;
  }
  if (permission === 'granted') {
    return html`<p>This browser shows notifications for new messages while chatd is closed or in
      the background.${store.pushProblem ? ` (Subscribing failed: ${store.pushProblem})` : ''}</p>`;
  }
  return html`<p><button type="button"
    onClick=${() => Notification.requestPermission().then(() => { trySubscribe(store); store.changed(); })}>
    Turn on browser notifications</button></p>`;
}

function NotificationSettings({ store, onClose }) {
  const [email, setEmail] = useState('');
  const [digests, setDigests] = useState(true);
  const [state, setState] = useState({ loaded: false, error: null, saved: false });
  useEffect(() => {
    api('GET', '/users/me').then(({ user }) => {
      setEmail(user.email || '');
      setDigests(user.email ? user.email_notifications : true);
      setState({ loaded: true, error: null, saved: false });
    }).catch((err) => setState({ loaded: true, error: err.message, saved: false }));
  }, []);
  async function save(event) {
    event.preventDefault();
    const address = email.trim();
    try {
      const body = { email: address || null };
      if (address) body.email_notifications = digests;
      const { user } = await api('PATCH', '/users/me', body);
      setEmail(user.email || '');
      setDigests(user.email ? user.email_notifications : true);
      setState({ loaded: true, error: null, saved: true });
    } catch (err) {
      setState({ loaded: true, error: (err.fields && err.fields.email) || err.message, saved: false });
    }
  }
  return html`
    <${Modal} title="Notifications" onClose=${onClose}>
      <section aria-label="Browser notifications"><h3>Browser</h3><${BrowserPart} store=${store} /></section>
      <form class="notify-email" noValidate onSubmit=${save}>
        <h3>Email</h3>
        <p>When you are away, unread messages that notify you are sent here after a while.</p>
        <label class="field"><span>Email</span>
          <input type="email" autocomplete="email" value=${email} disabled=${!state.loaded}
            onInput=${(e) => { setEmail(e.currentTarget.value); setState({ ...state, saved: false }); }} /></label>
        <label><input type="checkbox" checked=${digests} disabled=${!email.trim()}
          onChange=${(e) => { setDigests(e.currentTarget.checked); setState({ ...state, saved: false }); }} />
          Email notifications</label>
        ${state.error && html`<p class="field-error" role="alert">${state.error}</p>`}
        ${state.saved && html`<p role="status">Saved.</p>`}
        <p><button type="submit" disabled=${!state.loaded}>Save</button></p>
      </form>
    <//>`;
}

extend({
  start(store) {
    store.on('started', () => trySubscribe(store));
    // Stop this browser's pushes before the session ends (the call needs the session).
    const signOut = store.signOut.bind(store);
    store.signOut = async () => {
      await unsubscribePush().catch(() => null);
      return signOut();
    };
    if (!('serviceWorker' in navigator)) return;
    navigator.serviceWorker.addEventListener('message', (event) => {
      const data = event.data || {};
      if (data.type === 'chatd.open' && typeof data.conversation_id === 'string') {
        window.focus();
        if (store.conversations.has(data.conversation_id)) store.open(data.conversation_id);
      }
    });
    if (navigator.permissions) {
      navigator.permissions.query({ name: 'notifications' }).then((status) => {
        status.onchange = () => {
          if (status.state === 'granted' && store.me) trySubscribe(store);
          store.changed();
        };
      }).catch(() => null);
    }
  },
  sidebarActions: (store, openDialog) => html`
    <button type="button" class="subtle" onClick=${() => openDialog('notifications')}>Notifications</button>`,
  conversationActions: (store, conversation) => (conversation.members.includes(store.me.id)
    ? html`<${NotifyLevel} store=${store} conversation=${conversation} />` : null),
  dialogs: { notifications: NotificationSettings },
});
