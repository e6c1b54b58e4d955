// The panel beside a conversation: a thread's replies, a conversation's pins, search results.

import { html, useEffect, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { Icon } from './icons.js';
import { renderMarkdown } from './markdown.js';
import { fullTime, timeOf } from './util.js';

function Compact({ store, message, onOpen }) {
  const names = new Set([store.me.username, 'all', 'channel']);
  return html`
    <article class="compact">
      <header class="meta"><span class="author">${store.name(message.author_id)}</span>
        <time datetime=${message.created_at} title=${fullTime(message.created_at)}>${timeOf(message.created_at)}</time></header>
      <div class="body">${message.deleted ? 'This message was deleted.' : renderMarkdown(message.body, names)}</div>
      ${onOpen && html`<button type="button" class="link" onClick=${() => onOpen(message)}>Open in conversation</button>`}
    </article>`;
}

function Thread({ store, root }) {
  const [replies, setReplies] = useState([]);
  const [text, setText] = useState('');
  const live = store.findMessage(root.conversation_id, root.id) || root;
  useEffect(() => {
    api('GET', `/messages/${root.id}/replies?limit=200`)
      .then(({ messages }) => { setReplies(messages); store.ensureUsers(messages.map((m) => m.author_id)); })
      .catch(() => null);
  }, [root.id, live.reply_count]);
  async function reply(event) {
    event.preventDefault();
    if (!text.trim()) return;
    await store.send(root.conversation_id, text.trim(), [], root.id);
    setText('');
  }
  return html`
    <div class="thread">
      <${Compact} store=${store} message=${live} />
      <h3>${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}</h3>
      <div role="log" aria-label="Replies">${replies.map((m) => html`<${Compact} key=${m.id} store=${store} message=${m} />`)}</div>
      <form class="composer" onSubmit=${reply}>
        <textarea aria-label="Reply" rows="2" value=${text} onInput=${(e) => setText(e.currentTarget.value)}
          onKeyDown=${(e) => { if (e.key === 'Enter' && !e.shiftKey) reply(e); }}></textarea>
        <button class="primary" type="submit">Reply</button>
      </form>
    </div>`;
}

function Pins({ store, conversationId }) {
  const [pins, setPins] = useState(null);
  const version = (store.threads.get(conversationId) || { items: [] }).items.filter((m) => m.pinned).length;
  useEffect(() => {
    api('GET', `/conversations/${conversationId}/pins`).then(({ messages }) => setPins(messages)).catch(() => setPins([]));
  }, [conversationId, version]);
  if (pins === null) return html`<p>Loading…</p>`;
  if (!pins.length) return html`<p class="empty">Nothing is pinned here yet.</p>`;
  return html`<ul class="results" aria-label="Pinned messages">
    ${pins.map((m) => html`<li key=${m.id}><${Compact} store=${store} message=${m}
      onOpen=${(x) => store.reveal(x)} /></li>`)}</ul>`;
}

function Results({ store, query }) {
  const [found, setFound] = useState(null);
  useEffect(() => {
    setFound(null);
    api('GET', `/search?q=${encodeURIComponent(query)}&limit=50`)
      .then(({ messages }) => { setFound(messages); store.ensureUsers(messages.map((m) => m.author_id)); })
      .catch((err) => setFound({ error: err.message }));
  }, [query]);
  if (found === null) return html`<p>Searching…</p>`;
  if (found.error) return html`<p class="error" role="alert">${found.error}</p>`;
  return html`
    <ul class="results" aria-label="Search results">
      ${found.map((m) => {
        const conversation = store.conversations.get(m.conversation_id);
        return html`<li key=${m.id}>
          <p class="where">${conversation ? store.title(conversation) : ''}</p>
          <${Compact} store=${store} message=${m} onOpen=${(x) => store.reveal(x)} /></li>`;
      })}
    </ul>
    ${!found.length && html`<p class="empty">No messages match.</p>`}`;
}

export function Panel({ store, panel, onClose }) {
  const titles = { thread: 'Thread', pins: 'Pinned messages', search: `Search: ${panel.query || ''}` };
  return html`
    <aside class="panel" aria-label=${titles[panel.kind]}>
      <header class="bar"><h2>${titles[panel.kind]}</h2>
        <button type="button" class="icon" aria-label="Close panel" onClick=${onClose}><${Icon} name="close" /></button></header>
      <div class="panel-body">
        ${panel.kind === 'thread' && html`<${Thread} store=${store} root=${panel.message} />`}
        ${panel.kind === 'pins' && html`<${Pins} store=${store} conversationId=${store.active} />`}
        ${panel.kind === 'search' && html`<${Results} store=${store} query=${panel.query} />`}
      </div>
    </aside>`;
}
