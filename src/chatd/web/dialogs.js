// Modal dialogs: new direct message, group or channel (with a user picker), browse channels.

import { html, useEffect, useRef, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { Icon } from './icons.js';
import { shownName } from './util.js';

export function Modal({ title, onClose, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog && dialog.open && dialog.close();
  }, []);
  return html`
    <dialog ref=${ref} class="modal" aria-label=${title} onClose=${onClose}
      onCancel=${(e) => { e.preventDefault(); onClose(); }}>
      <header><h2>${title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick=${onClose}><${Icon} name="close" /></button></header>
      ${children}
    </dialog>`;
}

export function UserPicker({ store, multiple, chosen, setChosen }) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState([]);
  useEffect(() => {
    let live = true;
    api('GET', `/users?q=${encodeURIComponent(query)}&limit=20`)
      .then(({ users }) => live && setFound(users))
      .catch(() => null);
    return () => { live = false; };
  }, [query]);
  function toggle(user) {
    store.users.set(user.id, user);
    if (!multiple) setChosen([user.id]);
    else setChosen(chosen.includes(user.id) ? chosen.filter((id) => id !== user.id) : [...chosen, user.id]);
  }
  return html`
    <div class="picker">
      <label class="field"><span>Find people</span>
        <input type="search" value=${query} placeholder="Name or username"
          onInput=${(e) => setQuery(e.currentTarget.value)} /></label>
      ${chosen.length > 0 && html`<p class="chosen">With: ${chosen.map((id) => shownName(store.users.get(id))).join(', ')}</p>`}
      <ul class="people" aria-label="People">
        ${found.map((user) => html`
          <li key=${user.id}>
            <label class="person">
              <input type=${multiple ? 'checkbox' : 'radio'} name="person"
                checked=${chosen.includes(user.id)} onChange=${() => toggle(user)} />
              <span>${shownName(user)}</span><small>@${user.username}</small>
            </label>
          </li>`)}
      </ul>
    </div>`;
}

export function NewConversation({ store, kind, onClose }) {
  const [chosen, setChosen] = useState([]);
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [error, setError] = useState('');
  const titles = { direct: 'New direct message', group: 'New group', channel: 'New channel' };
  async function submit(event) {
    event.preventDefault();
    setError('');
    try {
      if (kind === 'direct' && chosen.length !== 1) throw new Error('Choose one person.');
      await store.create(kind, chosen, name || undefined, topic || undefined);
      onClose();
    } catch (err) {
      setError(err.fields ? Object.values(err.fields).join('; ') : err.message);
    }
  }
  return html`
    <${Modal} title=${titles[kind]} onClose=${onClose}>
      <form onSubmit=${submit} class="stack">
        ${kind !== 'direct' && html`
          <label class="field"><span>${kind === 'channel' ? 'Channel name' : 'Group name (optional)'}</span>
            <input value=${name} required=${kind === 'channel'} maxlength="80"
              onInput=${(e) => setName(e.currentTarget.value)} /></label>
          <label class="field"><span>Topic (optional)</span>
            <input value=${topic} maxlength="250" onInput=${(e) => setTopic(e.currentTarget.value)} /></label>`}
        <${UserPicker} store=${store} multiple=${kind !== 'direct'} chosen=${chosen} setChosen=${setChosen} />
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button class="primary" type="submit">${kind === 'direct' ? 'Open conversation' : 'Create'}</button>
      </form>
    <//>`;
}

export function BrowseChannels({ store, onClose }) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState([]);
  useEffect(() => {
    let live = true;
    api('GET', `/channels?q=${encodeURIComponent(query)}&limit=100`)
      .then(({ conversations }) => live && setFound(conversations))
      .catch(() => null);
    return () => { live = false; };
  }, [query]);
  return html`
    <${Modal} title="Browse channels" onClose=${onClose}>
      <label class="field"><span>Find a channel</span>
        <input type="search" value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} /></label>
      <ul class="channels" aria-label="Channels">
        ${found.map((c) => {
          const joined = c.members.includes(store.me.id);
          return html`
            <li key=${c.id}>
              <div><strong><span aria-hidden="true">#</span>${c.name}</strong>
                <small>${c.members.length} members${c.topic ? ` · ${c.topic}` : ''}</small></div>
              ${joined
                ? html`<button type="button" onClick=${() => { store.open(c.id); onClose(); }}>Open</button>`
                : html`<button type="button" class="primary" aria-label=${`Join ${c.name}`}
                    onClick=${async () => { await store.join(c.id); onClose(); }}>Join</button>`}
            </li>`;
        })}
      </ul>
      ${!found.length && html`<p class="empty">No channels match.</p>`}
    <//>`;
}
