// The conversation list: channels, groups and direct messages with unread counts and presence.

import { html } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { Avatar } from './avatar.js';
import { slot } from './extensions.js';
import { Icon } from './icons.js';
import { shownName } from './util.js';

const STATUS_TEXT = { online: 'online', away: 'away', dnd: 'do not disturb', offline: 'offline' };

// A person's face with their presence as a small dot on its corner (decorative: the
// status is said in text beside it).
function FaceWithStatus({ user, id, status }) {
  return html`<span class="face-status" aria-hidden="true"><${Avatar} user=${user} id=${id} size=${20} />
    <span class=${`dot ${status}`}></span></span>`;
}

function Entry({ store, conversation }) {
  const title = store.title(conversation);
  const unread = conversation.unread_count;
  const mentions = conversation.mention_count;
  let status = null;
  let other = null;
  if (conversation.kind === 'direct') {
    other = conversation.members.find((id) => id !== store.me.id) || store.me.id;
    status = (store.presence.get(other) || {}).status || 'offline';
  }
  const active = store.active === conversation.id;
  return html`
    <li>
      <a href=${`#/c/${conversation.id}`} class=${`entry ${active ? 'active' : ''} ${unread && !conversation.muted ? 'unread' : ''}`}
        aria-current=${active ? 'page' : undefined}
        onClick=${(e) => { e.preventDefault(); store.open(conversation.id); }}>
        ${conversation.kind === 'channel' && html`<span class="sigil" aria-hidden="true">#</span>`}
        ${status && html`<${FaceWithStatus} user=${store.users.get(other)} id=${other} status=${status} />`}
        <span class="entry-name">${title}</span>
        ${status && html`<span class="sr-only"> (${STATUS_TEXT[status]})</span>`}
        ${conversation.muted && html`<span class="muted-mark" title="muted"><${Icon} name="mute" size=${14} /><span class="sr-only"> (muted)</span></span>`}
        ${mentions > 0 && !conversation.muted && html`<span class="mention-badge" aria-hidden="true">@</span>`}
        ${unread > 0 && !conversation.muted && html`<span class="badge" aria-hidden="true">${unread}</span>`}
        ${unread > 0 && conversation.muted && html`<span class="quiet-dot" aria-hidden="true"></span>`}
        ${unread > 0 && html`<span class="sr-only">, ${unread} unread</span>`}
        ${mentions > 0 && html`<span class="sr-only">, ${mentions} mentions</span>`}
      </a>
    </li>`;
}

function Section({ store, title, kind, action, actionLabel }) {
  const items = store.sorted(kind);
  return html`
    <section class="section">
      <header>
        <h2>${title}</h2>
        <button class="icon" type="button" aria-label=${actionLabel} title=${actionLabel}
          onClick=${action}><${Icon} name="plus" /></button>
      </header>
      <ul>${items.map((c) => html`<${Entry} key=${c.id} store=${store} conversation=${c} />`)}</ul>
      ${!items.length && html`<p class="empty">None yet</p>`}
    </section>`;
}

export function Sidebar({ store, openDialog, search }) {
  const me = store.me;
  const myStatus = (store.presence.get(me.id) || {}).status || 'online';
  const connection = store.connection === 'online' ? null
    : store.connection === 'connecting' ? 'Connecting…' : 'Offline';
  return html`
    <aside class="sidebar">
      <div class="brand">
        <img src="/static/icon.svg" alt="" width="28" height="28" />
        <span>chatd</span>
        ${connection && html`<span class="conn" role="status">${connection}</span>`}
      </div>
      ${search}
      <nav aria-label="Conversations">
        <${Section} store=${store} title="Channels" kind="channel"
          action=${() => openDialog('channel')} actionLabel="New channel" />
        <button type="button" class="subtle" onClick=${() => openDialog('browse')}>Browse channels</button>
        <${Section} store=${store} title="Groups" kind="group"
          action=${() => openDialog('group')} actionLabel="New group" />
        <${Section} store=${store} title="Direct messages" kind="direct"
          action=${() => openDialog('direct')} actionLabel="New direct message" />
      </nav>
      <footer class="me">
        <div class="me-who"><${FaceWithStatus} user=${me} id=${me.id} status=${myStatus} />
          <span class="me-name">${shownName(me)}</span></div>
        ${'Notification' in window && Notification.permission === 'default' && html`
          <button type="button" class="icon" title="Enable notifications" aria-label="Enable notifications"
            onClick=${() => Notification.requestPermission().then(() => store.changed())}><${Icon} name="bell" /></button>`}
        ${slot('sidebarActions', store, openDialog)}
        ${me.role === 'admin' && html`
          <button type="button" class="subtle" onClick=${() => openDialog('admin')}>Admin</button>`}
        <button type="button" class="subtle" onClick=${() => store.signOut()}>Sign out</button>
      </footer>
    </aside>`;
}
