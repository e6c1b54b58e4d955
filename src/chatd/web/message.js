// One message: author, time, body (Markdown rendered as elements), files, reply quote, actions.

import { html, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { slot } from './extensions.js';
import { Icon } from './icons.js';
import { renderMarkdown } from './markdown.js';
import { fullTime, isImage, sizeOf, timeOf } from './util.js';

const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀', '✅', '🔥'];

function Files({ files }) {
  return html`
    <ul class="files">
      ${files.map((file) => html`
        <li key=${file.id}>
          ${isImage(file)
            ? html`<a href=${`/api/v1/files/${file.id}`} target="_blank" rel="noopener noreferrer">
                <img class="inline-image" src=${`/api/v1/files/${file.id}`} alt=${file.name} loading="lazy" /></a>`
            : html`<a class="file" href=${`/api/v1/files/${file.id}`} download=${file.name}>
                <${Icon} name="file" /> <span class="file-name">${file.name}</span>
                <small>${sizeOf(file.size)}</small></a>`}
        </li>`)}
    </ul>`;
}

function Quote({ store, message }) {
  const original = store.findMessage(message.conversation_id, message.reply_to);
  if (!original) return html`<div class="quote">Reply to an earlier message</div>`;
  const text = original.deleted ? 'deleted message' : original.body.slice(0, 140) || 'a file';
  return html`<div class="quote"><strong>${store.name(original.author_id)}</strong> ${text}</div>`;
}

function Reactions({ store, message }) {
  if (!message.reactions || !message.reactions.length) return null;
  return html`
    <div class="reactions">
      ${message.reactions.map((r) => {
        const mine = r.user_ids.includes(store.me.id);
        const who = r.user_ids.map((id) => store.name(id)).join(', ');
        return html`<button type="button" class=${`reaction ${mine ? 'mine' : ''}`}
          aria-pressed=${mine} title=${who} aria-label=${`${r.emoji} ${r.count}, by ${who}`}
          onClick=${() => store.react(message, r.emoji, !mine)}>${r.emoji} ${r.count}</button>`;
      })}
    </div>`;
}

function ReactionPicker({ store, message, onClose }) {
  return html`
    <div class="picker-pop" role="group" aria-label="Choose a reaction">
      ${QUICK_REACTIONS.map((emoji) => html`
        <button type="button" class="icon" aria-label=${`React with ${emoji}`}
          onClick=${() => { store.react(message, emoji, true); onClose(); }}>${emoji}</button>`)}
    </div>`;
}

export function Message({ store, message, grouped, onReply, onThread, editing, setEditing }) {
  const [picking, setPicking] = useState(false);
  const [draft, setDraft] = useState(message.body);
  const mine = message.author_id === store.me.id;
  const author = store.name(message.author_id);
  const mentioned = message.mentions && message.mentions.includes(store.me.id);
  const names = new Set([store.me.username, 'all', 'channel']);
  const classes = ['message', grouped ? 'grouped' : '', mentioned ? 'mentioned' : '',
    message.pending ? `pending ${message.pending}` : '', message.deleted ? 'deleted' : ''];

  async function save(event) {
    event.preventDefault();
    await store.edit(message.id, draft);
    setEditing(null);
  }

  return html`
    <article id=${`m-${message.id}`} class=${classes.join(' ') + (store.highlight === message.id ? ' highlight' : '')}>
      <header class=${grouped ? 'sr-only' : 'meta'}>
        <span class="author">${author}</span>${slot('messageBadges', store, message)}
        <time datetime=${message.created_at} title=${fullTime(message.created_at)}>${timeOf(message.created_at)}</time>
      </header>
      ${message.reply_to && html`<${Quote} store=${store} message=${message} />`}
      ${message.deleted
        ? html`<p class="body tombstone">This message was deleted.</p>`
        : editing
          ? html`<form class="edit" onSubmit=${save}>
              <textarea aria-label="Edit message" value=${draft}
                onInput=${(e) => setDraft(e.currentTarget.value)}
                onKeyDown=${(e) => {
                  if (e.key === 'Enter' && !e.shiftKey) save(e);
                  if (e.key === 'Escape') setEditing(null);
                }} ref=${(el) => el && el.focus()}></textarea>
              <div class="row"><button class="primary" type="submit">Save</button>
                <button type="button" onClick=${() => setEditing(null)}>Cancel</button></div></form>`
          : html`<div class="body">${renderMarkdown(message.body, names)}
              ${message.edited_at && html`<span class="edited" title=${fullTime(message.edited_at)}> (edited)</span>`}</div>`}
      ${!message.deleted && message.files && message.files.length > 0 && html`<${Files} files=${message.files} />`}
      ${message.pinned && html`<p class="pinned-mark"><${Icon} name="pin" size=${12} /> Pinned</p>`}
      <${Reactions} store=${store} message=${message} />
      ${message.reply_count > 0 && html`
        <button type="button" class="link replies" onClick=${() => onThread(message)}>
          ${message.reply_count} ${message.reply_count === 1 ? 'reply' : 'replies'}</button>`}
      ${message.pending === 'sending' && html`<p class="state">Sending…</p>`}
      ${message.pending === 'failed' && html`
        <p class="state failed" role="alert">Not sent. <button type="button" class="link"
          onClick=${() => store.retry(message.client_id)}>Retry</button>
          <button type="button" class="link" onClick=${() => store.remove(message)}>Discard</button></p>`}
      ${!message.pending && !message.deleted && html`
        <div class="actions">
          <button type="button" class="icon" aria-label="Add reaction" title="Add reaction"
            onClick=${() => setPicking(!picking)}><${Icon} name="smile" /></button>
          <button type="button" class="icon" aria-label="Reply" title="Reply" onClick=${() => onReply(message)}><${Icon} name="reply" /></button>
          <button type="button" class="icon" aria-label=${message.pinned ? 'Unpin' : 'Pin'}
            title=${message.pinned ? 'Unpin' : 'Pin'} onClick=${() => store.pin(message, !message.pinned)}><${Icon} name="pin" /></button>
          ${mine && html`<button type="button" class="icon" aria-label="Edit" title="Edit"
            onClick=${() => { setDraft(message.body); setEditing(message.id); }}><${Icon} name="edit" /></button>`}
          ${(mine || store.me.role === 'admin') && html`<button type="button" class="icon" aria-label="Delete"
            title="Delete" onClick=${() => confirm('Delete this message?') && store.remove(message)}><${Icon} name="trash" /></button>`}
        </div>`}
      ${picking && html`<${ReactionPicker} store=${store} message=${message} onClose=${() => setPicking(false)} />`}
    </article>`;
}
