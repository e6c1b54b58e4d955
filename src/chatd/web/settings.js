// The settings dialog: avatar, display name, status and password. Hooks into the client
// through extensions.js (a sidebar button and the 'settings' dialog).

import { html, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { ApiError, api } from './api.js';
import { Avatar } from './avatar.js';
import { Modal } from './dialogs.js';
import { extend } from './extensions.js';

const STATUS_KEY = 'chatd.status'; // the status a person chose, set again after a reconnect
const STATUSES = [['online', 'Online'], ['away', 'Away'], ['dnd', 'Do not disturb']];
const AVATAR_TYPES = 'image/png,image/jpeg,image/gif,image/webp';
const MAX_AVATAR_BYTES = 5 * 1024 * 1024;

function problem(err) {
  if (err.fields) return Object.entries(err.fields).map(([k, v]) => `${k.replace('_', ' ')} ${v}`).join('; ');
  return err.message;
}

// A change to the signed-in person: everywhere their record is shown.
function setMe(store, user) {
  store.me = user;
  store.users.set(user.id, user);
  store.changed();
}

// fetch() with a multipart body; the browser sets the boundary.
async function putAvatar(file) {
  const form = new FormData();
  form.append('file', file, file.name);
  let response;
  try {
    response = await fetch('/api/v1/users/me/avatar', {
      method: 'PUT', body: form, credentials: 'same-origin', headers: { 'X-Chatd-CSRF': '1' },
    });
  } catch (err) {
    throw new ApiError(0, { message: 'cannot reach the server' });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data.user;
}

function Notice({ note }) {
  if (!note) return null;
  return note.error
    ? html`<p class="notice error" role="alert">${note.text}</p>`
    : html`<p class="notice ok" role="status">${note.text}</p>`;
}

function AvatarSection({ store }) {
  const [note, setNote] = useState(null);
  const [busy, setBusy] = useState(false);
  async function upload(event) {
    const input = event.currentTarget;
    const file = input.files && input.files[0];
    input.value = '';
    if (!file) return;
    if (file.size > MAX_AVATAR_BYTES) {
      setNote({ error: true, text: 'That image is larger than 5 MB.' });
      return;
    }
    setBusy(true);
    setNote({ text: 'Uploading…' });
    try {
      setMe(store, await putAvatar(file));
      setNote({ text: 'Avatar updated.' });
    } catch (err) {
      const text = err.status === 415 ? 'Choose a PNG, JPEG, GIF or WebP image.' : problem(err);
      setNote({ error: true, text });
    } finally {
      setBusy(false);
    }
  }
  async function remove() {
    setNote(null);
    try {
      const { user } = await api('DELETE', '/users/me/avatar');
      setMe(store, user);
      setNote({ text: 'Avatar removed.' });
    } catch (err) {
      setNote({ error: true, text: problem(err) });
    }
  }
  return html`
    <section class="stack" aria-labelledby="settings-avatar">
      <h3 id="settings-avatar">Avatar</h3>
      <div class="settings-avatar">
        <${Avatar} user=${store.me} size=${96} label="Your avatar" />
        <div class="buttons">
          <label class="button">
            <span>Upload avatar</span>
            <input type="file" class="sr-only" accept=${AVATAR_TYPES} disabled=${busy}
              aria-label="Upload avatar" onChange=${upload} /></label>
          ${store.me.avatar_url && html`
            <button type="button" onClick=${remove} disabled=${busy}>Remove avatar</button>`}
        </div>
      </div>
      <small>PNG, JPEG, GIF or WebP, at most 5 MB; cropped to a square.</small>
      <${Notice} note=${note} />
    </section>`;
}

function NameSection({ store }) {
  const [name, setName] = useState(store.me.display_name || '');
  const [note, setNote] = useState(null);
  async function save(event) {
    event.preventDefault();
    setNote(null);
    try {
      const { user } = await api('PATCH', '/users/me', { display_name: name.trim() });
      setMe(store, user);
      setNote({ text: 'Display name saved.' });
    } catch (err) {
      setNote({ error: true, text: problem(err) });
    }
  }
  return html`
    <form class="stack" onSubmit=${save}>
      <h3>Profile</h3>
      <label class="field"><span>Display name</span>
        <input value=${name} maxlength="64" placeholder=${store.me.username}
          onInput=${(e) => setName(e.currentTarget.value)} /></label>
      <small>Username: @${store.me.username}</small>
      <div class="row"><button class="primary" type="submit">Save name</button></div>
      <${Notice} note=${note} />
    </form>`;
}

export function chooseStatus(store, status) {
  if (status === 'online') localStorage.removeItem(STATUS_KEY);
  else localStorage.setItem(STATUS_KEY, status);
  if (store.socket) store.socket.send({ type: 'presence', status });
}

function StatusSection({ store }) {
  const current = (store.presence.get(store.me.id) || {}).status;
  const chosen = STATUSES.some(([value]) => value === current) ? current : 'online';
  return html`
    <fieldset class="stack">
      <legend><h3>Status</h3></legend>
      <div class="status-choice" role="radiogroup" aria-label="Status">
        ${STATUSES.map(([value, label]) => html`
          <label key=${value}><input type="radio" name="status" value=${value}
            checked=${chosen === value} onChange=${() => chooseStatus(store, value)} />
            <span class=${`dot ${value}`} aria-hidden="true"></span>${label}</label>`)}
      </div>
    </fieldset>`;
}

function PasswordSection() {
  const [form, setForm] = useState({ current: '', next: '', again: '' });
  const [note, setNote] = useState(null);
  async function change(event) {
    event.preventDefault();
    setNote(null);
    if (form.next !== form.again) {
      setNote({ error: true, text: 'The new passwords do not match.' });
      return;
    }
    try {
      await api('POST', '/users/me/password', { current_password: form.current, new_password: form.next });
      setForm({ current: '', next: '', again: '' });
      setNote({ text: 'Password changed. Your other sessions were signed out.' });
    } catch (err) {
      setNote({ error: true, text: err.code === 'forbidden' ? 'The current password is wrong.' : problem(err) });
    }
  }
  const input = (key, label, auto) => html`
    <label class="field"><span>${label}</span>
      <input type="password" required minlength=${key === 'current' ? undefined : 8} autocomplete=${auto}
        value=${form[key]} onInput=${(e) => setForm({ ...form, [key]: e.currentTarget.value })} /></label>`;
  return html`
    <form class="stack" onSubmit=${change}>
      <h3>Password</h3>
      ${input('current', 'Current password', 'current-password')}
      ${input('next', 'New password', 'new-password')}
      ${input('again', 'Repeat new password', 'new-password')}
      <div class="row"><button type="submit">Change password</button></div>
      <${Notice} note=${note} />
    </form>`;
}

export function SettingsDialog({ store, onClose }) {
  return html`
    <${Modal} title="Settings" onClose=${onClose}>
      <${AvatarSection} store=${store} />
      <${NameSection} store=${store} />
      <${StatusSection} store=${store} />
      <${PasswordSection} />
    <//>`;
}

extend({
  start(store) {
    store.on('frame', (frame) => {
      if (frame.type === 'hello') {
        const saved = localStorage.getItem(STATUS_KEY);
        if (saved === 'away' || saved === 'dnd') store.socket.send({ type: 'presence', status: saved });
      } else if (frame.type === 'user.updated' && store.me && frame.user.id === store.me.id) {
        setMe(store, frame.user);
      }
    });
  },
  sidebarActions(store, openDialog) {
    return html`<button type="button" class="subtle" onClick=${() => openDialog('settings')}>Settings</button>`;
  },
  dialogs: { settings: SettingsDialog },
});
