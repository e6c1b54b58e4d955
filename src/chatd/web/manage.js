// Managing a channel or group: name, topic, members (add, remove), archive, leave.
// Who may do what is the server's rule (PATCH: any member of a group, the owner or an
// admin of a channel; removing others: the owner or an admin); its refusal is shown.

import { html, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { Modal, UserPicker } from './dialogs.js';
import { Faces } from './avatar.js';

export function ConversationDetails({ store, onClose }) {
  const conversation = store.active && store.conversations.get(store.active);
  const [name, setName] = useState(conversation ? conversation.name || '' : '');
  const [topic, setTopic] = useState(conversation ? conversation.topic || '' : '');
  const [chosen, setChosen] = useState([]);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  if (!conversation) return null;
  const id = conversation.id;
  const owner = conversation.created_by === store.me.id || store.me.role === 'admin';
  const title = store.title(conversation);

  async function run(action, done) {
    setError('');
    setMessage('');
    try {
      await action();
      if (done) setMessage(done);
    } catch (err) {
      setError(err.fields ? Object.values(err.fields).join('; ') : err.message);
    }
  }
  const patch = (body) => api('PATCH', `/conversations/${id}`, body)
    .then(({ conversation: fresh }) => store.mergeConversation(fresh, true));

  return html`
    <${Modal} title=${`About ${title}`} onClose=${onClose}>
      <form class="stack" onSubmit=${(e) => { e.preventDefault(); run(() => patch({ name: name.trim() || null, topic }), 'Saved.'); }}>
        <label class="field"><span>${conversation.kind === 'channel' ? 'Channel name' : 'Group name'}</span>
          <input value=${name} maxlength="80" required=${conversation.kind === 'channel'}
            onInput=${(e) => setName(e.currentTarget.value)} /></label>
        <label class="field"><span>Topic</span>
          <input value=${topic} maxlength="250" onInput=${(e) => setTopic(e.currentTarget.value)} /></label>
        <button type="submit" class="primary">Save changes</button>
      </form>
      <section class="stack">
        <h3>Members (${conversation.members.length})</h3>
        <ul class="members" aria-label="Members">
          ${conversation.members.map((uid) => html`<li key=${uid}>
            <${Faces} store=${store} ids=${[uid]} size=${24} />
            <span>${store.name(uid)}${uid === conversation.created_by ? ' (owner)' : ''}${uid === store.me.id ? ' (you)' : ''}</span>
            ${owner && uid !== store.me.id && html`<button type="button" aria-label=${`Remove ${store.name(uid)}`}
              onClick=${() => confirm(`Remove ${store.name(uid)} from ${title}?`)
                && run(() => api('DELETE', `/conversations/${id}/members/${uid}`), `Removed ${store.name(uid)}.`)}>Remove</button>`}
          </li>`)}
        </ul>
        <h3>Add people</h3>
        <${UserPicker} store=${store} multiple=${true} chosen=${chosen} setChosen=${setChosen} />
        <button type="button" disabled=${!chosen.length} onClick=${() => run(async () => {
          for (const uid of chosen) {
            if (conversation.members.includes(uid)) continue;
            const { conversation: fresh } = await api('POST', `/conversations/${id}/members`, { user_id: uid });
            store.mergeConversation(fresh, true);
          }
          setChosen([]);
        }, 'Added.')}>Add to ${title}</button>
      </section>
      <section class="row">
        <button type="button" onClick=${() => confirm(conversation.archived ? `Unarchive ${title}?` : `Archive ${title}? Nobody can post in it until it is unarchived.`)
          && run(() => patch({ archived: !conversation.archived }), conversation.archived ? 'Unarchived.' : 'Archived.')}>
          ${conversation.archived ? 'Unarchive' : 'Archive'}</button>
        <button type="button" class="danger" onClick=${() => confirm(`Leave ${title}?`)
          && run(async () => { await store.leave(id); onClose(); })}>Leave ${title}</button>
      </section>
      <div aria-live="polite">
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${message && html`<p role="status">${message}</p>`}
      </div>
    <//>`;
}
