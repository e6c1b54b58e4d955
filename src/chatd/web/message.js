// One message: author, time, body (Markdown rendered as elements), files, reply quote,
// reactions, its thread's summary, and its actions. Every message has one focusable
// "Message actions" menu (keyboard users reach everything there); the mouse toolbar shown on
// hover repeats the common ones; on a phone a tap or long press on a message shows them.

import { html, useLayoutEffect, useRef, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { shownEmoji } from './emoji.js';
import { EmojiPicker } from './emojipicker.js';
import { slot } from './extensions.js';
import { Icon } from './icons.js';
import { renderMarkdown } from './markdown.js';
import { MessageMenu } from './menu.js';
import { Faces } from './avatar.js';
import { fullTime, isImage, sizeOf, timeOf } from './util.js';

const LONG_PRESS_MS = 500;

function Files({ store, message }) {
  const images = message.files.filter(isImage);
  const others = message.files.filter((f) => !isImage(f));
  return html`
    ${images.length > 0 && html`<ul class=${`files images count-${Math.min(images.length, 3)}`}>
      ${images.map((file) => html`<li key=${file.id}>
        <button type="button" class="image-button" aria-label=${`View ${file.name}`}
          onClick=${() => store.openLightbox(message, file.id)}>
          <img class="inline-image" src=${`/api/v1/files/${file.id}`} alt=${file.name} /></button></li>`)}
    </ul>`}
    ${others.length > 0 && html`<ul class="files others">
      ${others.map((file) => html`<li key=${file.id}>
        <a class="file" href=${`/api/v1/files/${file.id}`} download=${file.name}>
          <${Icon} name="file" /> <span class="file-name">${file.name}</span>
          <small>${sizeOf(file.size)}</small></a></li>`)}
    </ul>`}`;
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
        const shown = shownEmoji(r.emoji);
        return html`<button type="button" class=${`reaction ${mine ? 'mine' : ''}`}
          aria-pressed=${mine} title=${`${r.emoji} by ${who}`} aria-label=${`${shown} ${r.count}, by ${who}`}
          onClick=${() => store.react(message, r.emoji, !mine)}>${shown} ${r.count}</button>`;
      })}
    </div>`;
}

// The editor for one's own message: focused with the caret at the end; Enter saves,
// Escape cancels (and hands the keyboard back to the composer).
function EditForm({ store, message, onDone }) {
  const [draft, setDraft] = useState(message.body);
  const [error, setError] = useState('');
  const box = useRef(null);
  // Focus as part of the render that shows the editor (not an effect a frame later), so
  // keys typed right after Up land in the editor, not the composer.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  function cancel() {
    onDone();
    if (store.focusComposer) store.focusComposer();
  }
  async function save(event) {
    event.preventDefault();
    if (!draft.trim()) return;
    try {
      if (draft.trim() !== message.body) await store.edit(message.id, draft.trim());
      cancel();
    } catch (err) {
      setError(err.message);
    }
  }
  return html`<form class="edit" onSubmit=${save}>
    <textarea ref=${box} aria-label="Edit message" value=${draft}
      onInput=${(e) => setDraft(e.currentTarget.value)}
      onKeyDown=${(e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) save(e);
        else if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); cancel(); }
      }}></textarea>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="row"><button class="primary" type="submit">Save</button>
      <button type="button" onClick=${cancel}>Cancel</button>
      <small class="hint">Enter to save, Escape to cancel</small></div></form>`;
}

function ThreadSummary({ store, message, onThread }) {
  const count = message.reply_count;
  return html`<div class="thread-summary">
    <${Faces} store=${store} ids=${store.repliers(message)} />
    <button type="button" class="link replies" onClick=${() => onThread(message)}>
      ${count} ${count === 1 ? 'reply' : 'replies'}</button></div>`;
}

export function Message({ store, message, grouped, onReply, onThread, editing, setEditing, inThread }) {
  const [picker, setPicker] = useState(null); // the anchor element while the picker is open
  const press = useRef(null);
  const mine = message.author_id === store.me.id;
  const author = store.name(message.author_id);
  const mentioned = message.mentions && message.mentions.includes(store.me.id);
  const names = new Set([store.me.username, 'all', 'channel']);
  const selected = store.selectedMessage === message.id;
  const classes = ['message', grouped ? 'grouped' : '', mentioned ? 'mentioned' : '',
    message.pending ? `pending ${message.pending}` : '', message.deleted ? 'deleted' : '',
    store.highlight === message.id ? 'highlight' : '', selected ? 'selected' : ''];
  const actionable = !message.pending && !message.deleted;
  // Pins: any member of a group or direct conversation; in a channel its owner or an admin
  // (the server's rule; the menu offers no action the server would refuse).
  const conversation = store.conversations.get(message.conversation_id);
  const mayPin = conversation && (conversation.kind !== 'channel'
    || conversation.created_by === store.me.id || store.me.role === 'admin');

  const actions = {
    react: (anchor) => setPicker(anchor),
    thread: inThread ? null : () => onThread(message),
    quote: inThread ? null : () => onReply(message),
    pin: mayPin ? () => store.pin(message, !message.pinned) : null,
    edit: mine ? () => setEditing(message.id) : null,
    remove: mine || store.me.role === 'admin'
      ? () => confirm('Delete this message?') && store.remove(message) : null,
    pinned: message.pinned,
  };

  // Phones: a tap (or a long press) on a message shows its actions.
  function select(event) {
    if (!window.matchMedia('(max-width: 760px)').matches) return;
    if (event.target.closest('button, a, textarea, input, .popover')) return;
    store.selectedMessage = selected ? null : message.id;
    store.changed();
  }

  return html`
    <article id=${`m-${message.id}`} class=${classes.join(' ')} onClick=${select}
      onTouchStart=${() => { press.current = setTimeout(() => { store.selectedMessage = message.id; store.changed(); }, LONG_PRESS_MS); }}
      onTouchEnd=${() => clearTimeout(press.current)} onTouchMove=${() => clearTimeout(press.current)}>
      <header class=${grouped ? 'sr-only' : 'meta'}>
        <${Faces} store=${store} ids=${[message.author_id]} size=${20} />
        <span class="author">${author}</span>${slot('messageBadges', store, message)}
        <time datetime=${message.created_at} title=${fullTime(message.created_at)}>${timeOf(message.created_at)}</time>
        ${message.pinned && html`<span class="pinned-mark"><${Icon} name="pin" size=${12} /> Pinned</span>`}
      </header>
      ${grouped && message.pinned && html`<span class="pinned-mark"><${Icon} name="pin" size=${12} /> Pinned</span>`}
      ${message.reply_to && !message.thread && !inThread && html`<${Quote} store=${store} message=${message} />`}
      ${message.deleted
        ? html`<p class="body tombstone">This message was deleted.</p>`
        : editing
          ? html`<${EditForm} store=${store} message=${message} onDone=${() => setEditing(null)} />`
          : html`<div class="body">${renderMarkdown(message.body, names, null, store.mentionedOthers(message))}
              ${message.edited_at && html`<span class="edited" title=${fullTime(message.edited_at)}> (edited)</span>`}</div>`}
      ${!message.deleted && message.files && message.files.length > 0 && html`<${Files} store=${store} message=${message} />`}
      <${Reactions} store=${store} message=${message} />
      ${!inThread && message.reply_count > 0 && html`<${ThreadSummary} store=${store} message=${message} onThread=${onThread} />`}
      ${message.pending === 'sending' && html`<p class="state">Sending…</p>`}
      ${message.pending === 'queued' && html`<p class="state queued">Waiting for the connection; it will be sent when it is back.</p>`}
      ${message.pending === 'failed' && html`
        <p class="state failed" role="alert">Not sent${message.error ? `: ${message.error}` : ''}. <button type="button" class="link"
          onClick=${() => store.retry(message.client_id)}>Retry</button>
          <button type="button" class="link" onClick=${() => store.remove(message)}>Discard</button></p>`}
      ${actionable && html`
        <div class="actions">
          <button type="button" class="icon" aria-label="Add reaction" title="Add reaction" tabindex="-1"
            onClick=${(e) => setPicker(picker ? null : e.currentTarget)}><${Icon} name="smile" /></button>
          ${actions.thread && html`<button type="button" class="icon" aria-label="Reply in thread" title="Reply in thread"
            tabindex="-1" onClick=${actions.thread}><${Icon} name="reply" /></button>`}
          <${MessageMenu} actions=${actions} />
        </div>`}
      ${picker && html`<${EmojiPicker} anchor=${picker} verb="React with" label="Choose a reaction"
        onPick=${(emoji) => store.react(message, emoji, true)} onClose=${() => setPicker(null)} />`}
    </article>`;
}
