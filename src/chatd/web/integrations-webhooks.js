// A conversation's incoming webhooks: list them with their URLs, add one (then copy its
// URL), delete one. Who may do what is the server's rule; its refusals are shown as given.

import { html, useEffect, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { Modal } from './dialogs.js';

function copy(text, setMessage) {
  if (!navigator.clipboard) {
    setMessage('Select the URL and copy it.');
    return;
  }
  navigator.clipboard.writeText(text)
    .then(() => setMessage('Copied the URL.'))
    .catch(() => setMessage('Select the URL and copy it.'));
}

export function WebhooksDialog({ store, onClose }) {
  const conversation = store.conversations.get(store.active);
  const [hooks, setHooks] = useState([]);
  const [name, setName] = useState('');
  const [message, setMessage] = useState('');
  const [version, setVersion] = useState(0);

  useEffect(() => {
    if (!conversation) return;
    api('GET', `/conversations/${conversation.id}/webhooks`)
      .then((found) => setHooks(found.webhooks))
      .catch((err) => setMessage(err.message));
  }, [version]);

  if (!conversation) return null;

  async function create(event) {
    event.preventDefault();
    setMessage('');
    try {
      const { webhook } = await api('POST', `/conversations/${conversation.id}/webhooks`, { name });
      setName('');
      setMessage(`Created ${webhook.name}. Copy its URL into the tool that posts.`);
      setVersion(version + 1);
    } catch (err) {
      setMessage(err.fields ? Object.values(err.fields).join('; ') : err.message);
    }
  }

  async function remove(hook) {
    if (!confirm(`Delete the webhook ${hook.name}? Tools posting to it will get 404.`)) return;
    setMessage('');
    try {
      await api('DELETE', `/webhooks/${hook.id}`);
      setMessage(`Deleted ${hook.name}.`);
      setVersion(version + 1);
    } catch (err) {
      setMessage(err.message);
    }
  }

  return html`
    <${Modal} title=${`Webhooks of ${store.title(conversation)}`} onClose=${onClose}>
      <p>A tool that posts to a Slack incoming webhook posts here unchanged: give it one of
        these URLs. Anyone with the URL can post, so keep it like a password.</p>
      <ul class="webhook-list" aria-label="Webhooks">
        ${hooks.map((hook) => html`
          <li key=${hook.id} class="stack">
            <strong>${hook.name}</strong>
            <div class="row">
              <input readonly aria-label=${`URL of ${hook.name}`} value=${hook.url}
                onFocus=${(e) => e.currentTarget.select()} />
              <button type="button" onClick=${() => copy(hook.url, setMessage)}
                aria-label=${`Copy URL of ${hook.name}`}>Copy URL</button>
              <button type="button" onClick=${() => remove(hook)}
                aria-label=${`Delete ${hook.name}`}>Delete</button>
            </div>
          </li>`)}
        ${hooks.length === 0 && html`<li><small>No webhooks yet.</small></li>`}
      </ul>
      <form class="stack" onSubmit=${create}>
        <label class="field"><span>Webhook name</span>
          <input value=${name} required maxlength="80" onInput=${(e) => setName(e.currentTarget.value)} /></label>
        <button class="primary" type="submit">Create webhook</button>
      </form>
      ${message && html`<p role="status">${message}</p>`}
    <//>`;
}
