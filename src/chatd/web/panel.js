// The panel beside a conversation: a thread (its replies as full messages, with their own
// composer), a conversation's pins, search results, and the messages that mention you.

import { html, useEffect, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { Composer } from './composer.js';
import { Faces } from './avatar.js';
import { Icon } from './icons.js';
import { renderMarkdown } from './markdown.js';
import { Message } from './message.js';
import { parseSearch } from './search.js';
import { fullTime, timeOf } from './util.js';

function Compact({ store, message, onOpen, terms = null }) {
  const names = new Set([store.me.username, 'all', 'channel']);
  return html`
    <article class="compact">
      <header class="meta"><${Faces} store=${store} ids=${[message.author_id]} size=${20} />
        <span class="author">${store.name(message.author_id)}</span>
        <time datetime=${message.created_at} title=${fullTime(message.created_at)}>${timeOf(message.created_at)}</time></header>
      <div class="body">${message.deleted ? 'This message was deleted.' : renderMarkdown(message.body, names, terms, store.mentionedOthers(message))}</div>
      ${onOpen && html`<button type="button" class="link" onClick=${() => onOpen(message)}>Open in conversation</button>`}
    </article>`;
}

function Thread({ store, root }) {
  const [fetched, setFetched] = useState([]);
  const [editing, setEditing] = useState(null);
  const conversation = store.conversations.get(root.conversation_id);
  const live = store.findMessage(root.conversation_id, root.id) || root;
  const held = store.threads.get(root.conversation_id);
  useEffect(() => {
    api('GET', `/messages/${root.id}/replies?limit=200`)
      .then(({ messages }) => { setFetched(messages); store.ensureUsers(messages.map((m) => m.author_id)); })
      .catch(() => null);
  }, [root.id]);
  // The fetched replies, updated and extended by what the conversation holds (live events).
  const byId = new Map(fetched.map((m) => [m.id, m]));
  for (const m of held ? held.items : []) if (m.reply_to === root.id) byId.set(m.id, m);
  const replies = [...byId.values()]
    .filter((m) => !(m.pending && byId.has(m.id) && [...byId.values()].some((x) => !x.pending && x.client_id === m.client_id)))
    .sort((a, b) => (a.pending ? 1 : 0) - (b.pending ? 1 : 0) || a.seq - b.seq);
  const item = (m) => html`<${Message} key=${m.id} store=${store} message=${m} inThread=${true}
    editing=${editing === m.id} setEditing=${setEditing} onReply=${() => null} onThread=${() => null} />`;
  return html`
    <div class="thread">
      ${item(live)}
      <h3>${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}</h3>
      <div role="log" aria-label="Replies">${replies.map(item)}</div>
      ${conversation && !conversation.archived && conversation.members.includes(store.me.id) && html`
        <${Composer} store=${store} conversation=${conversation} root=${live} clearReply=${() => null} />`}
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

// A list of messages from anywhere, newest first, with "Load more" by cursor.
function Found({ store, label, load, terms, empty, deps }) {
  const [found, setFound] = useState(null);
  const [cursor, setCursor] = useState(null);
  async function page(after, previous) {
    try {
      const { messages, next_cursor: next } = await load(after);
      await store.ensureUsers(messages.map((m) => m.author_id));
      setFound([...previous, ...messages]);
      setCursor(next || null);
    } catch (err) {
      setFound({ error: err.message });
    }
  }
  useEffect(() => {
    setFound(null);
    page(null, []);
  }, deps);
  if (found === null) return html`<p>Loading…</p>`;
  if (found.error) return html`<p class="error" role="alert">${found.error}</p>`;
  return html`
    <ul class="results" aria-label=${label}>
      ${found.map((m) => {
        const conversation = store.conversations.get(m.conversation_id);
        return html`<li key=${m.id}>
          <p class="where">${conversation ? store.title(conversation) : ''}</p>
          <${Compact} store=${store} message=${m} terms=${terms} onOpen=${(x) => store.reveal(x)} /></li>`;
      })}
    </ul>
    ${!found.length && html`<p class="empty">${empty}</p>`}
    ${cursor && html`<button type="button" onClick=${() => page(cursor, found)}>Load more</button>`}`;
}

function Results({ store, query }) {
  const [parsed, setParsed] = useState(null);
  useEffect(() => {
    setParsed(null);
    parseSearch(store, query).then(setParsed).catch((err) => setParsed({ error: err.message }));
  }, [query]);
  if (parsed === null) return html`<p>Searching…</p>`;
  if (parsed.error) return html`<p class="error" role="alert">${parsed.error}</p>`;
  return html`<${Found} store=${store} label="Search results" terms=${parsed.terms} deps=${[query]}
    empty="No messages match." load=${(cursor) => api('GET', `/search?${parsed.params}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)} />`;
}

function Mentions({ store }) {
  return html`<${Found} store=${store} label="Mentions" deps=${[]} empty="Nobody has mentioned you yet."
    load=${(cursor) => api('GET', `/mentions?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)} />`;
}

export function Panel({ store, panel, onClose }) {
  const titles = {
    thread: 'Thread', pins: 'Pinned messages', search: `Search: ${panel.query || ''}`, mentions: 'Mentions',
  };
  return html`
    <aside class="panel" aria-label=${titles[panel.kind]}>
      <header class="bar"><h2>${titles[panel.kind]}</h2>
        <button type="button" class="icon" aria-label="Close panel" onClick=${onClose}><${Icon} name="close" /></button></header>
      <div class="panel-body">
        ${panel.kind === 'thread' && html`<${Thread} key=${panel.message.id} store=${store} root=${panel.message} />`}
        ${panel.kind === 'pins' && html`<${Pins} store=${store} conversationId=${store.active} />`}
        ${panel.kind === 'search' && html`<${Results} key=${panel.query} store=${store} query=${panel.query} />`}
        ${panel.kind === 'mentions' && html`<${Mentions} store=${store} />`}
      </div>
    </aside>`;
}
