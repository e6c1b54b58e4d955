// The admin console: people (active or not), roles, new accounts, password resets, invites.
// Destructive actions ask first, in place; your own account cannot be deactivated from here
// (an admin who did so was locked out). Every outcome shows in a bar that stays at the top
// of the dialog however far it is scrolled, and errors are announced.

import { html, useEffect, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { Avatar } from './avatar.js';
import { Modal } from './dialogs.js';
import { slot } from './extensions.js';
import { Invites } from './invites.js';
import { shownName } from './util.js';

function problem(err) {
  if (err.fields) return Object.entries(err.fields).map(([k, v]) => `${k.replace('_', ' ')} ${v}`).join('; ');
  return err.message;
}

// The row's pending action: a deactivation or demotion to confirm, or a new password to set.
function Confirm({ person, pending, onConfirm, onCancel }) {
  const [password, setPassword] = useState('');
  if (pending.kind === 'password') {
    return html`
      <form class="confirm-box row" aria-label=${`Password reset for ${person.username}`}
        onSubmit=${(e) => { e.preventDefault(); onConfirm(password); }}>
        <label class="field"><span>New password for ${person.username}</span>
          <input type="password" required minlength="8" autocomplete="new-password" value=${password}
            onInput=${(e) => setPassword(e.currentTarget.value)} /></label>
        <button type="submit" class="primary">Save new password</button>
        <button type="button" onClick=${onCancel}>Cancel</button>
        <small>Signs ${person.username} out everywhere.</small>
      </form>`;
  }
  const text = pending.kind === 'deactivate'
    ? `Deactivate ${person.username}? They are signed out at once and cannot sign in until reactivated.`
    : pending.self
      ? 'Make yourself a member? You lose access to this console at once.'
      : `Make ${person.username} a member? They lose admin rights.`;
  return html`
    <div class="confirm-box stack" role="group" aria-label="Confirm">
      <p>${text}</p>
      <div class="row">
        <button type="button" class="primary danger" onClick=${() => onConfirm()}>
          ${pending.kind === 'deactivate' ? 'Yes, deactivate' : 'Yes, make member'}</button>
        <button type="button" onClick=${onCancel}>Cancel</button>
      </div>
    </div>`;
}

function Person({ store, person, pending, setPending, change, resetPassword }) {
  const self = person.id === store.me.id;
  const mine = pending && pending.id === person.id;
  function role(event) {
    const value = event.currentTarget.value;
    if (value === 'member' && person.role === 'admin') {
      event.currentTarget.value = person.role; // unchanged until confirmed
      setPending({ id: person.id, kind: 'demote', self });
    } else {
      change(person, { role: value });
    }
  }
  return html`
    <tr>
      <td><span class="admin-person"><${Avatar} user=${person} size=${20} />
        <span>${shownName(person)} <small>@${person.username}${self ? ' (you)' : ''}</small></span></span></td>
      <td><select aria-label=${`Role of ${person.username}`} value=${person.role} onChange=${role}>
        <option value="member">member</option><option value="admin">admin</option></select></td>
      <td>${person.active ? 'active' : 'deactivated'}</td>
      <td class="row">
        ${person.active && !self && html`<button type="button" aria-label=${`Deactivate ${person.username}`}
          onClick=${() => setPending({ id: person.id, kind: 'deactivate' })}>Deactivate</button>`}
        ${!person.active && html`<button type="button" aria-label=${`Reactivate ${person.username}`}
          onClick=${() => change(person, { active: true })}>Reactivate</button>`}
        <button type="button" aria-label=${`Reset password of ${person.username}`}
          onClick=${() => setPending({ id: person.id, kind: 'password' })}>Reset password</button>
      </td>
    </tr>
    ${mine && html`<tr><td colspan="4"><${Confirm} person=${person} pending=${pending}
      onCancel=${() => setPending(null)}
      onConfirm=${(password) => (pending.kind === 'password'
        ? resetPassword(person, password)
        : change(person, pending.kind === 'deactivate' ? { active: false } : { role: 'member' }))} /></td></tr>`}`;
}

export function AdminConsole({ store, onClose }) {
  const [query, setQuery] = useState('');
  const [people, setPeople] = useState([]);
  const [version, setVersion] = useState(0);
  const [form, setForm] = useState({ username: '', password: '', display_name: '', role: 'member' });
  const [pending, setPending] = useState(null);
  const [note, setNote] = useState(null);

  // An outcome for the top of the dialog: an error (announced) or a confirmation.
  function report(err, text) {
    setNote(err ? { error: true, text: problem(err) } : text ? { text } : null);
  }

  useEffect(() => {
    api('GET', `/admin/users?q=${encodeURIComponent(query)}&limit=200`)
      .then(({ users }) => setPeople(users)).catch((err) => report(err));
  }, [query, version]);

  async function change(person, body) {
    setPending(null);
    try {
      const { user } = await api('PATCH', `/admin/users/${person.id}`, body);
      store.users.set(user.id, user);
      if (user.id === store.me.id) store.me = user;
      report(null, `${user.username}: ${user.active ? user.role : 'deactivated'}.`);
      setVersion(version + 1);
      store.changed();
    } catch (err) {
      report(err);
    }
  }

  async function resetPassword(person, password) {
    try {
      await api('POST', `/admin/users/${person.id}/password`, { password });
      setPending(null);
      report(null, `Password of ${person.username} set; their sessions were signed out.`);
    } catch (err) {
      report(err);
    }
  }

  async function create(event) {
    event.preventDefault();
    try {
      const { user } = await api('POST', '/admin/users', { ...form, display_name: form.display_name || undefined });
      report(null, `Created ${user.username}.`);
      setForm({ username: '', password: '', display_name: '', role: 'member' });
      setVersion(version + 1);
    } catch (err) {
      report(err);
    }
  }

  const field = (key, label, type = 'text') => html`
    <label class="field"><span>${label}</span><input type=${type} value=${form[key]} required=${key !== 'display_name'}
      onInput=${(e) => setForm({ ...form, [key]: e.currentTarget.value })} /></label>`;

  return html`
    <${Modal} title="Admin" onClose=${onClose}>
      <div class="admin-note">${note && (note.error
        ? html`<p class="notice error" role="alert">${note.text}</p>`
        : html`<p class="notice ok" role="status">${note.text}</p>`)}</div>
      <p>Registration: <strong>${store.info.registration}</strong>
        <small> (set by <code>auth.registration</code>)</small></p>
      <${Invites} store=${store} report=${report} />
      <section class="stack">
        <h3>People</h3>
        <label class="field"><span>Search people</span>
          <input type="search" value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} /></label>
        <table class="people-table"><thead><tr><th>Name</th><th>Role</th><th>Status</th><th></th></tr></thead>
          <tbody>${people.map((person) => html`<${Person} key=${person.id} store=${store} person=${person}
            pending=${pending} setPending=${(p) => { setPending(p); setNote(null); }}
            change=${change} resetPassword=${resetPassword} />`)}</tbody></table>
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
      ${slot('adminSections', store)}
    <//>`;
}
