// The admin console's integrations: bots (create, token shown once, replace it, disable),
// slash commands and outgoing webhooks (their secret shown once at creation).

import { html, useEffect, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { shownName } from './util.js';

function problem(err) {
  return err.fields ? Object.entries(err.fields).map(([k, v]) => `${k} ${v}`).join('; ') : err.message;
}

// A secret the server shows once: in a read-only field, with a warning.
function ShownOnce({ label, value }) {
  if (!value) return null;
  return html`<div class="stack shown-once">
    <label class="field"><span>${label}</span>
      <input readonly aria-label=${label} value=${value} onFocus=${(e) => e.currentTarget.select()} /></label>
    <small>Copy it now: it is shown only this once.</small></div>`;
}

function useList(path, key, version, setMessage) {
  const [items, setItems] = useState([]);
  useEffect(() => {
    api('GET', path).then((found) => setItems(found[key])).catch((err) => setMessage(problem(err)));
  }, [version]);
  return items;
}

function Bots({ setMessage }) {
  const [version, setVersion] = useState(0);
  const [form, setForm] = useState({ username: '', display_name: '' });
  const [secret, setSecret] = useState(null); // { label, value }
  const bots = useList('/admin/bots', 'users', version, setMessage);

  async function act(work) {
    setMessage('');
    try {
      await work();
      setVersion((v) => v + 1);
    } catch (err) {
      setMessage(problem(err));
    }
  }
  const create = (event) => {
    event.preventDefault();
    act(async () => {
      const made = await api('POST', '/admin/bots', { username: form.username, display_name: form.display_name || undefined });
      setSecret({ label: `Token of ${made.user.username}`, value: made.token });
      setForm({ username: '', display_name: '' });
    });
  };
  const replace = (bot) => act(async () => {
    if (!confirm(`Replace the token of ${bot.username}? The old one stops working at once.`)) return;
    const made = await api('POST', `/admin/bots/${bot.id}/token`);
    setSecret({ label: `Token of ${bot.username}`, value: made.token });
  });
  const setActive = (bot, active) => act(() => api('PATCH', `/admin/users/${bot.id}`, { active }));

  return html`<section class="stack" aria-label="Bots">
    <h3>Bots</h3>
    <table class="people-table"><tbody>${bots.map((bot) => html`<tr key=${bot.id}>
      <td>${shownName(bot)} <small>@${bot.username}</small></td>
      <td>${bot.active ? 'active' : 'disabled'}</td>
      <td><button type="button" aria-label=${`Replace token of ${bot.username}`} onClick=${() => replace(bot)}>Replace token</button>
        ${bot.active
          ? html`<button type="button" aria-label=${`Disable ${bot.username}`} onClick=${() => setActive(bot, false)}>Disable</button>`
          : html`<button type="button" aria-label=${`Enable ${bot.username}`} onClick=${() => setActive(bot, true)}>Enable</button>`}</td>
    </tr>`)}</tbody></table>
    <form class="stack" onSubmit=${create}>
      <label class="field"><span>Bot username</span><input required value=${form.username}
        onInput=${(e) => setForm({ ...form, username: e.currentTarget.value })} /></label>
      <label class="field"><span>Bot display name</span><input value=${form.display_name}
        onInput=${(e) => setForm({ ...form, display_name: e.currentTarget.value })} /></label>
      <button type="submit">Create bot</button>
    </form>
    ${secret && html`<${ShownOnce} label=${secret.label} value=${secret.value} />`}
  </section>`;
}

function Commands({ setMessage, onCommandsChanged }) {
  const [version, setVersion] = useState(0);
  const [form, setForm] = useState({ trigger: '', url: '', description: '' });
  const [token, setToken] = useState(null);
  const commands = useList('/commands', 'commands', version, setMessage);

  async function create(event) {
    event.preventDefault();
    setMessage('');
    try {
      const { command } = await api('POST', '/admin/commands', form);
      setToken({ label: `Verification token of /${command.trigger}`, value: command.token });
      setForm({ trigger: '', url: '', description: '' });
      setVersion(version + 1);
      onCommandsChanged();
    } catch (err) {
      setMessage(problem(err));
    }
  }
  async function remove(command) {
    if (!confirm(`Delete /${command.trigger}?`)) return;
    try {
      await api('DELETE', `/admin/commands/${command.id}`);
      setVersion(version + 1);
      onCommandsChanged();
    } catch (err) {
      setMessage(problem(err));
    }
  }
  const field = (key, label, type = 'text') => html`<label class="field"><span>${label}</span>
    <input type=${type} value=${form[key]} required=${key !== 'description'}
      onInput=${(e) => setForm({ ...form, [key]: e.currentTarget.value })} /></label>`;

  return html`<section class="stack" aria-label="Slash commands">
    <h3>Slash commands</h3>
    <ul>${commands.map((c) => html`<li key=${c.id}><code>/${c.trigger}</code> ${c.description}
      <small> → ${c.url}</small>
      <button type="button" aria-label=${`Delete /${c.trigger}`} onClick=${() => remove(c)}>Delete</button></li>`)}</ul>
    <form class="stack" onSubmit=${create}>
      ${field('trigger', 'Command trigger')}${field('url', 'Command URL', 'url')}
      ${field('description', 'Command description')}
      <button type="submit">Create command</button>
    </form>
    ${token && html`<${ShownOnce} label=${token.label} value=${token.value} />`}
  </section>`;
}

function OutgoingHooks({ store, setMessage }) {
  const [version, setVersion] = useState(0);
  const [form, setForm] = useState({ name: '', url: '', words: '', conversations: [] });
  const [secret, setSecret] = useState(null);
  const hooks = useList('/admin/outgoing-hooks', 'outgoing_hooks', version, setMessage);

  async function create(event) {
    event.preventDefault();
    setMessage('');
    const words = form.words.split(/[\s,]+/).filter(Boolean);
    try {
      const made = await api('POST', '/admin/outgoing-hooks', {
        name: form.name, url: form.url, trigger_words: words, conversation_ids: form.conversations,
      });
      setSecret({ label: `Signing secret of ${made.outgoing_hook.name}`, value: made.secret });
      setForm({ name: '', url: '', words: '', conversations: [] });
      setVersion(version + 1);
    } catch (err) {
      setMessage(problem(err));
    }
  }
  async function remove(hook) {
    if (!confirm(`Delete the outgoing webhook ${hook.name}?`)) return;
    try {
      await api('DELETE', `/admin/outgoing-hooks/${hook.id}`);
      setVersion(version + 1);
    } catch (err) {
      setMessage(problem(err));
    }
  }
  const field = (key, label, type = 'text', required = true) => html`<label class="field"><span>${label}</span>
    <input type=${type} value=${form[key]} required=${required}
      onInput=${(e) => setForm({ ...form, [key]: e.currentTarget.value })} /></label>`;

  return html`<section class="stack" aria-label="Outgoing webhooks">
    <h3>Outgoing webhooks</h3>
    <ul>${hooks.map((h) => html`<li key=${h.id}><strong>${h.name}</strong> <small>→ ${h.url}</small>
      ${h.trigger_words.length > 0 && html` <small>on ${h.trigger_words.join(', ')}</small>`}
      <small> in ${h.conversation_ids.length
        ? h.conversation_ids.map((id) => (store.conversations.has(id) ? store.title(store.conversations.get(id)) : 'a conversation')).join(', ')
        : 'every channel'}</small>
      <button type="button" aria-label=${`Delete ${h.name}`} onClick=${() => remove(h)}>Delete</button></li>`)}</ul>
    <form class="stack" onSubmit=${create}>
      ${field('name', 'Hook name')}${field('url', 'Hook URL', 'url')}
      ${field('words', 'Trigger words (optional, comma-separated)', 'text', false)}
      <label class="field"><span>Conversations (none chosen: every channel)</span>
        <select multiple aria-label="Hook conversations" value=${form.conversations}
          onChange=${(e) => setForm({ ...form, conversations: [...e.currentTarget.selectedOptions].map((o) => o.value) })}>
          ${[...store.conversations.values()].filter((c) => c.kind !== 'direct').map((c) => html`
            <option key=${c.id} value=${c.id}>${store.title(c)}</option>`)}
        </select></label>
      <button type="submit">Create outgoing webhook</button>
    </form>
    ${secret && html`<${ShownOnce} label=${secret.label} value=${secret.value} />`}
  </section>`;
}

export function AdminIntegrations({ store, onCommandsChanged }) {
  const [message, setMessage] = useState('');
  return html`<div class="stack integrations-admin">
    <${Bots} setMessage=${setMessage} />
    <${Commands} setMessage=${setMessage} onCommandsChanged=${onCommandsChanged} />
    <${OutgoingHooks} store=${store} setMessage=${setMessage} />
    ${message && html`<p role="alert">${message}</p>`}
  </div>`;
}
