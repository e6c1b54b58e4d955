// The admin console: people (active or not), roles, new accounts, invite links.

import { html, useEffect, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { Modal } from './dialogs.js';
import { slot } from './extensions.js';
import { shownName } from './util.js';

export function AdminConsole({ store, onClose }) {
  const [query, setQuery] = useState('');
  const [people, setPeople] = useState([]);
  const [version, setVersion] = useState(0);
  const [form, setForm] = useState({ username: '', password: '', display_name: '', role: 'member' });
  const [invite, setInvite] = useState(null);
  const [message, setMessage] = useState('');

  useEffect(() => {
    api('GET', `/admin/users?q=${encodeURIComponent(query)}&limit=200`)
      .then(({ users }) => setPeople(users)).catch((err) => setMessage(err.message));
  }, [query, version]);

  async function change(user, body) {
    setMessage('');
    try {
      await api('PATCH', `/admin/users/${user.id}`, body);
      setVersion(version + 1);
    } catch (err) {
      setMessage(err.message);
    }
  }

  async function create(event) {
    event.preventDefault();
    setMessage('');
    try {
      const { user } = await api('POST', '/admin/users', { ...form, display_name: form.display_name || undefined });
      setMessage(`Created ${user.username}.`);
      setForm({ username: '', password: '', display_name: '', role: 'member' });
      setVersion(version + 1);
    } catch (err) {
      setMessage(err.fields ? Object.entries(err.fields).map(([k, v]) => `${k} ${v}`).join('; ') : err.message);
    }
  }

  async function makeInvite() {
    const made = await api('POST', '/admin/invites', { expires_in_s: 7 * 86400 });
    setInvite(made);
  }

  const field = (key, label, type = 'text') => html`
    <label class="field"><span>${label}</span><input type=${type} value=${form[key]} required=${key !== 'display_name'}
      onInput=${(e) => setForm({ ...form, [key]: e.currentTarget.value })} /></label>`;

  return html`
    <${Modal} title="Admin" onClose=${onClose}>
      <p>Registration: <strong>${store.info.registration}</strong>
        <small> (set by <code>auth.registration</code>)</small></p>
      <section class="stack">
        <h3>Invite link</h3>
        <button type="button" onClick=${makeInvite}>Create invite link</button>
        ${invite && html`<div class="row"><input readonly aria-label="Invite link" value=${invite.url} />
          <button type="button" onClick=${() => navigator.clipboard.writeText(invite.url).then(() => setMessage('Copied.'))}>Copy</button></div>
          <small>Expires ${new Date(invite.expires_at).toLocaleString()}</small>`}
      </section>
      <section class="stack">
        <h3>People</h3>
        <label class="field"><span>Search people</span>
          <input type="search" value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} /></label>
        <table class="people-table"><thead><tr><th>Name</th><th>Role</th><th>Status</th><th></th></tr></thead>
          <tbody>${people.map((user) => html`<tr key=${user.id}>
            <td>${shownName(user)} <small>@${user.username}</small></td>
            <td><select aria-label=${`Role of ${user.username}`} value=${user.role}
              onChange=${(e) => change(user, { role: e.currentTarget.value })}>
              <option value="member">member</option><option value="admin">admin</option></select></td>
            <td>${user.active ? 'active' : 'deactivated'}</td>
            <td>${user.active
              ? html`<button type="button" aria-label=${`Deactivate ${user.username}`} onClick=${() => change(user, { active: false })}>Deactivate</button>`
              : html`<button type="button" aria-label=${`Reactivate ${user.username}`} onClick=${() => change(user, { active: true })}>Reactivate</button>`}</td>
          </tr>`)}</tbody></table>
      </section>
      <form class="stack" onSubmit=${create}>
        <h3>New account</h3>
        ${field('username', 'New username')}${field('display_name', 'Display name (optional)')}
        ${field('password', 'Initial password', 'password')}
        <label class="field"><span>Role</span><select value=${form.role}
          onChange=${(e) => setForm({ ...form, role: e.currentTarget.value })}>
          <option value="member">member</option><option value="admin">admin</option></select></label>
        <button class="primary" type="submit">Create user</button>
      </form>
      ${message && html`<p role="status">${message}</p>`}
      ${slot('adminSections', store)}
    <//>`;
}
