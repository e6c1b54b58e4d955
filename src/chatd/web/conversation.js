// The open conversation: header, history with scroll-back, typing status, composer.

import { html, useEffect, useLayoutEffect, useRef, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { Composer } from './composer.js';
import { slot } from './extensions.js';
import { Icon } from './icons.js';
import { Message } from './message.js';
import { Popover } from './popover.js';
import { dayOf } from './util.js';

const GROUP_MS = 5 * 60 * 1000;

function grouped(previous, message) {
  return previous && !previous.deleted && previous.author_id === message.author_id
    && !message.reply_to && !previous.notice
    && new Date(message.created_at) - new Date(previous.created_at) < GROUP_MS
    && dayOf(previous.created_at) === dayOf(message.created_at);
}

// The header's actions. Where the conversation is narrow (a phone, or a panel open beside
// it) they would wrap over several lines and squeeze the title to nothing, so there they
// move behind one "Conversation options" button (.conversation.narrow, set from its width:
// a CSS container query would make .conversation the containing block of the fixed
// popovers inside it).
const NARROW_PX = 820;

function useNarrow(ref) {
  const [narrow, setNarrow] = useState(false);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const observer = new ResizeObserver(() => setNarrow(el.clientWidth < NARROW_PX));
    observer.observe(el);
    setNarrow(el.clientWidth < NARROW_PX);
    return () => observer.disconnect();
  }, []);
  return narrow;
}

function HeaderActions({ store, conversation, title, openPanel }) {
  const [anchor, setAnchor] = useState(null);
  const close = () => setAnchor(null);
  const items = (after) => html`
    ${slot('conversationActions', store, conversation)}
    ${conversation.kind !== 'direct' && html`<button type="button" class="subtle"
      onClick=${() => { after(); store.openDialog('details'); }}>Details</button>`}
    <button type="button" class="subtle" onClick=${() => { after(); openPanel({ kind: 'pins' }); }}>Pins</button>
    <button type="button" class="subtle" aria-pressed=${conversation.muted}
      onClick=${() => store.setMuted(conversation.id, !conversation.muted)}>${conversation.muted ? 'Unmute' : 'Mute'}</button>
    ${conversation.kind !== 'direct' && html`<button type="button" class="subtle leave"
      onClick=${() => { after(); if (confirm(`Leave ${title}?`)) store.leave(conversation.id); }}>Leave</button>`}`;
  return html`
    <div class="bar-actions">${items(() => null)}</div>
    <button type="button" class="icon bar-more" aria-label="Conversation options" title="Conversation options"
      aria-haspopup="dialog" aria-expanded=${anchor ? 'true' : 'false'}
      onClick=${(e) => setAnchor(anchor ? null : e.currentTarget)}><${Icon} name="more" /></button>
    ${anchor && html`<${Popover} anchor=${anchor} label="Conversation options" className="bar-menu"
      onClose=${close}>${items(close)}<//>`}`;
}

function Typing({ store, conversationId }) {
  const names = store.typists(conversationId)
    .filter((id) => id !== store.me.id)
    .map((id) => store.name(id));
  return html`<div class="typing" role="status" aria-live="polite">
    ${names.map((name) => `${name} is typing`).join(' · ')}</div>`;
}

function History({ store, thread, conversation, onReply, onThread }) {
  const scroller = useRef(null);
  const content = useRef(null);
  const anchor = useRef(null); // scroll height before older messages were added above
  const pinnedTop = useRef(null); // where we last put the view when pinning it to the end

  function pin(el) {
    el.scrollTop = el.scrollHeight;
    pinnedTop.current = el.scrollTop;
  }
  const [editing, setEditing] = useState(null);
  const first = thread.items[0];

  // Hold the position when older pages arrive; follow the end when already there.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (anchor.current !== null) {
      el.scrollTop += el.scrollHeight - anchor.current;
      anchor.current = null;
    } else if (store.atBottom !== false) {
      pin(el);
    }
  }, [thread.items.length, first && first.id]);

  // Images (and anything else) that grow after they are shown keep the view pinned to the
  // newest message, unless the reader has scrolled up: growth fires no scroll event, so
  // `atBottom` still says where the reader was.
  useEffect(() => {
    const el = scroller.current;
    if (!el || !content.current || !window.ResizeObserver) return undefined;
    const observer = new ResizeObserver(() => {
      if (store.atBottom !== false && anchor.current === null) pin(el);
    });
    observer.observe(content.current);
    observer.observe(el);
    return () => observer.disconnect();
  }, [conversation.id]);

  useEffect(() => {
    store.atBottom = true;
    const el = scroller.current;
    if (el) pin(el);
    store.markSeen();
  }, [conversation.id]);

  // A scroll event arrives a frame late, measured against a layout that may have grown since
  // (an image loaded): only a move up from where we pinned the view means the reader left
  // the end.
  function onScroll() {
    const el = scroller.current;
    const near = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    const movedUp = pinnedTop.current === null || el.scrollTop < pinnedTop.current - 2;
    if (store.atBottom !== false && !near && !movedUp) {
      pin(el);
      return;
    }
    store.atBottom = near;
    if (near) pinnedTop.current = el.scrollTop;
    if (store.atBottom) store.markSeen();
    if (el.scrollTop < 120 && thread.hasOlder && !thread.loading) {
      anchor.current = el.scrollHeight;
      store.loadOlder(conversation.id);
    }
  }

  // Up in an empty composer edits your last message (its editor takes the keyboard).
  useEffect(() => {
    store.editLast = () => {
      const last = [...thread.items].reverse()
        .find((m) => m.author_id === store.me.id && !m.deleted && !m.pending && !m.thread && !m.notice);
      if (last) setEditing(last.id);
      return Boolean(last);
    };
  });

  const rows = [];
  let previous = null;
  let divided = false;
  for (const message of thread.items) {
    if (message.thread) continue; // thread replies live in the thread panel
    if (!previous || dayOf(previous.created_at) !== dayOf(message.created_at)) {
      rows.push(html`<div class="day" role="separator" key=${`day-${message.created_at}`}>${dayOf(message.created_at)}</div>`);
      previous = null;
    }
    if (!divided && !message.pending && !message.notice && message.seq > thread.dividerSeq
        && message.author_id !== store.me.id && thread.dividerSeq < conversation.last_seq) {
      rows.push(html`<div class="divider" role="separator" key="divider"><span>New messages</span></div>`);
      divided = true;
      previous = null;
    }
    if (message.notice) {
      rows.push(html`<p class="notice" key=${message.id}>${message.notice}</p>`);
      previous = null;
      continue;
    }
    rows.push(html`<${Message} key=${message.id} store=${store} message=${message}
      grouped=${grouped(previous, message)} onReply=${onReply} onThread=${onThread}
      editing=${editing === message.id} setEditing=${setEditing} />`);
    previous = message;
  }
  return html`
    <div class="history" ref=${scroller} onScroll=${onScroll}>
      <div class="history-content" ref=${content}>
        ${thread.hasOlder && html`<p class="older">${thread.loading ? 'Loading older messages…' : ''}</p>`}
        ${!thread.hasOlder && html`<p class="start">This is the start of the conversation.</p>`}
        <div role="log" aria-label="Messages" aria-live="polite">${rows}</div>
      </div>
    </div>`;
}

export function ConversationView({ store, conversation, onBack, openPanel }) {
  const thread = store.threads.get(conversation.id);
  const [replyTo, setReplyTo] = useState(null);
  const [dragging, setDragging] = useState(false);
  const composer = useRef({}); // the composer fills in attach() and focus()
  const section = useRef(null);
  const narrow = useNarrow(section);
  const title = store.title(conversation);
  const isMember = conversation.members.includes(store.me.id);
  store.focusComposer = () => composer.current.focus && composer.current.focus();
  return html`
    <section ref=${section} class=${`conversation ${dragging ? 'dragging' : ''} ${narrow ? 'narrow' : ''}`} aria-label=${title}
      onDragOver=${(e) => { e.preventDefault(); setDragging(true); }}
      onDragLeave=${() => setDragging(false)}
      onDrop=${(e) => {
        e.preventDefault();
        setDragging(false);
        if (composer.current.attach) composer.current.attach([...e.dataTransfer.files]);
      }}>
      <header class="bar">
        <button type="button" class="icon back" aria-label="Back to conversations" onClick=${onBack}><${Icon} name="back" /></button>
        <div class="title">
          <h1>${conversation.kind === 'channel' && html`<span aria-hidden="true">#</span>`}${title}</h1>
          ${conversation.topic && html`<p class="topic">${conversation.topic}</p>`}
        </div>
        <span class="count" title="members">${conversation.members.length} ${conversation.members.length === 1 ? 'member' : 'members'}</span>
        <${HeaderActions} store=${store} conversation=${conversation} title=${title} openPanel=${openPanel} />
      </header>
      ${thread && html`<${History} store=${store} thread=${thread} conversation=${conversation}
        onReply=${(m) => { setReplyTo(m); if (composer.current.focus) composer.current.focus(); }}
        onThread=${(m) => openPanel({ kind: 'thread', message: m })} />`}
      ${slot('conversationNotices', store, conversation)}
      <${Typing} store=${store} conversationId=${conversation.id} />
      ${isMember && !conversation.archived
        ? html`<${Composer} control=${composer.current} store=${store} conversation=${conversation}
            replyTo=${replyTo} clearReply=${() => setReplyTo(null)} />`
        : html`<p class="readonly">${conversation.archived ? 'This conversation is archived.' : 'Join to take part.'}</p>`}
    </section>`;
}
