// All client state in one place. Views read it and call its methods; every change
// calls `changed()`, which re-renders (Preact diffs the tree, so that stays cheap).

import { api, uploadFile } from './api.js';
import { Socket } from './socket.js';
import { conversationName, newClientId, shownName } from './util.js';

const PAGE = 50;
const TYPING_TTL_MS = 6000;

export class Store {
  constructor(onChange) {
    this.onChange = onChange;
    this.me = null;
    this.status = 'loading'; // loading | signed-out | ready
    this.info = { registration: 'invite' };
    this.users = new Map();
    this.presence = new Map();
    this.conversations = new Map();
    this.active = null;
    this.threads = new Map(); // conversation id -> { items, hasOlder, loaded, dividerSeq }
    this.typing = new Map(); // conversation id -> Map(user id -> expiry ms)
    this.pending = new Map(); // client id -> pending message
    this.connection = 'connecting';
    this.socket = null;
    this.notice = null;
    this.quoted = new Map(); // messages fetched for reply quotes
    this.highlight = null; // a message opened from search or pins
    this.focused = !document.hidden;
    this._scheduled = false;
    setInterval(() => this._expireTyping(), 1000);
    document.addEventListener('visibilitychange', () => {
      this.focused = !document.hidden;
      if (this.focused) this.markSeen();
    });
  }

  changed() {
    if (this._scheduled) return;
    this._scheduled = true;
    queueMicrotask(() => {
      this._scheduled = false;
      this._updateTitle();
      this.onChange();
    });
  }

  // ---- session ---------------------------------------------------------------------------

  async boot() {
    try {
      this.info = await api('GET', '/info');
      const { user } = await api('GET', '/users/me');
      await this._start(user);
    } catch (err) {
      if (err.status !== 401) this.notice = err.message;
      const setup = await api('GET', '/setup').catch(() => ({ needed: false }));
      this.setupNeeded = setup.needed;
      this.status = 'signed-out';
      this.changed();
    }
  }

  async signIn(path, body) {
    const result = await api('POST', path, { ...body, session_cookie: true });
    history.replaceState(null, '', '/');
    await this._start(result.user);
  }

  async signOut() {
    try {
      await api('POST', '/auth/logout');
    } finally {
      this._stop();
      this.status = 'signed-out';
      this.changed();
    }
  }

  async _start(user) {
    this.me = user;
    this.users.set(user.id, user);
    this.status = 'ready';
    await this.refreshConversations();
    const wanted = location.hash.match(/^#\/c\/(.+)$/);
    if (wanted && this.conversations.has(wanted[1])) this.open(wanted[1]);
    this.socket = new Socket(this);
    this.socket.connect();
    this.changed();
  }

  _stop() {
    if (this.socket) this.socket.stop();
    this.socket = null;
    this.me = null;
    this.conversations.clear();
    this.threads.clear();
    this.active = null;
  }

  expired() {
    this._stop();
    this.status = 'signed-out';
    this.notice = 'You were signed out.';
    this.changed();
  }

  // ---- people --------------------------------------------------------------------------

  async ensureUsers(ids) {
    const missing = [...new Set(ids)].filter((id) => id && !this.users.has(id));
    await Promise.all(
      missing.map((id) =>
        api('GET', `/users/${id}`)
          .then(({ user }) => this.users.set(user.id, user))
          .catch(() => null),
      ),
    );
    if (missing.length) this.changed();
  }

  async loadPresence() {
    const { presence } = await api('GET', '/presence');
    for (const item of presence) this.presence.set(item.user_id, item);
    this.changed();
  }

  name(userId) {
    return shownName(this.users.get(userId));
  }

  // ---- conversations -------------------------------------------------------------------

  async refreshConversations() {
    const { conversations } = await api('GET', '/conversations');
    this.conversations = new Map(conversations.map((c) => [c.id, c]));
    await this.ensureUsers(conversations.flatMap((c) => c.members));
    this.changed();
  }

  title(conversation) {
    return conversationName(conversation, this.users, this.me.id);
  }

  sorted(kind) {
    return [...this.conversations.values()]
      .filter((c) => c.kind === kind && !c.archived)
      .sort((a, b) => this.title(a).localeCompare(this.title(b)));
  }

  totalUnread() {
    let total = 0;
    for (const c of this.conversations.values()) if (!c.muted) total += c.unread_count;
    return total;
  }

  _updateTitle() {
    const total = this.me ? this.totalUnread() : 0;
    const active = this.active && this.conversations.get(this.active);
    const place = active ? `${this.title(active)} · chatd` : 'chatd';
    document.title = total ? `(${total}) ${place}` : place;
  }

  mergeConversation(incoming) {
    const known = this.conversations.get(incoming.id);
    // Events carry a neutral view: keep this reader's marker, counts and settings.
    const merged = known
      ? { ...incoming, read_seq: known.read_seq, unread_count: known.unread_count,
          mention_count: known.mention_count, muted: known.muted }
      : incoming;
    this.conversations.set(incoming.id, merged);
    this.ensureUsers(merged.members);
    this.changed();
    return merged;
  }

  async create(kind, members, name, topic) {
    const { conversation } = await api('POST', '/conversations', { kind, members, name, topic });
    this.conversations.set(conversation.id, conversation);
    await this.ensureUsers(conversation.members);
    this.open(conversation.id);
    return conversation;
  }

  async join(id) {
    const { conversation } = await api('POST', `/conversations/${id}/join`);
    this.conversations.set(id, conversation);
    this.open(id);
  }

  async leave(id) {
    await api('DELETE', `/conversations/${id}/members/${this.me.id}`);
    this.conversations.delete(id);
    if (this.active === id) this.active = null;
    this.changed();
  }

  open(id) {
    this.active = id;
    if (location.hash !== `#/c/${id}`) history.replaceState(null, '', `#/c/${id}`);
    const conversation = this.conversations.get(id);
    if (!this.threads.has(id)) {
      this.threads.set(id, {
        items: [], hasOlder: true, loaded: false, loading: false,
        dividerSeq: conversation ? conversation.read_seq : 0,
      });
      this.loadOlder(id);
    } else {
      this.threads.get(id).dividerSeq = conversation ? conversation.read_seq : 0;
    }
    this.changed();
  }

  // ---- messages ------------------------------------------------------------------------

  async loadOlder(id) {
    const thread = this.threads.get(id);
    if (!thread || thread.loading || !thread.hasOlder) return;
    thread.loading = true;
    const first = thread.items.find((m) => !m.pending);
    const query = first ? `?before=${first.seq}&limit=${PAGE}` : `?limit=${PAGE}`;
    try {
      const { messages, has_more: more } = await api('GET', `/conversations/${id}/messages${query}`);
      thread.items = [...messages, ...thread.items];
      thread.hasOlder = more;
      thread.loaded = true;
      await this.ensureUsers(messages.map((m) => m.author_id));
    } finally {
      thread.loading = false;
      this.changed();
    }
  }

  // Fetch what was missed while disconnected: every page after the newest seq we hold.
  async fillGap(id) {
    const thread = this.threads.get(id);
    if (!thread || !thread.loaded) return;
    let after = thread.items.reduce((seq, m) => (m.pending ? seq : Math.max(seq, m.seq)), 0);
    for (;;) {
      const { messages, has_more: more } = await api(
        'GET', `/conversations/${id}/messages?after=${after}&limit=200`,
      );
      for (const message of messages) this.addMessage(message, false);
      if (!more || !messages.length) break;
      after = messages[messages.length - 1].seq;
    }
  }

  addMessage(message, live) {
    const conversation = this.conversations.get(message.conversation_id);
    if (conversation && message.seq > conversation.last_seq) {
      conversation.last_seq = message.seq;
      if (live && message.author_id !== this.me.id) conversation.unread_count += 1;
      if (live && message.mentions.includes(this.me.id)) conversation.mention_count += 1;
    }
    this.ensureUsers([message.author_id]);
    const typing = this.typing.get(message.conversation_id);
    if (typing) typing.delete(message.author_id);
    const thread = this.threads.get(message.conversation_id);
    if (thread && thread.loaded) {
      if (message.client_id) this.pending.delete(message.client_id);
      const items = thread.items.filter(
        (m) => m.id !== message.id && !(m.pending && m.client_id === message.client_id),
      );
      items.push(message);
      items.sort((a, b) => (a.pending ? 1 : 0) - (b.pending ? 1 : 0) || a.seq - b.seq);
      thread.items = items;
    }
    this.changed();
  }

  replaceMessage(message) {
    const thread = this.threads.get(message.conversation_id);
    if (thread) thread.items = thread.items.map((m) => (m.id === message.id ? message : m));
    if (this.quoted.has(message.id)) this.quoted.set(message.id, message);
    this.changed();
  }

  tombstone(conversationId, messageId) {
    const thread = this.threads.get(conversationId);
    if (thread) {
      thread.items = thread.items.map((m) =>
        m.id === messageId ? { ...m, deleted: true, body: '', files: [], reactions: [] } : m,
      );
    }
    this.changed();
  }

  async send(conversationId, body, files, replyTo) {
    this._lastTyped = null; // the next keystroke starts a new "is typing"
    const pending = {
      id: `pending-${newClientId()}`, client_id: newClientId(), pending: 'sending',
      conversation_id: conversationId, author_id: this.me.id, body, files,
      reply_to: replyTo, created_at: new Date().toISOString(), seq: Infinity,
      reactions: [], mentions: [], edited_at: null, deleted: false, reply_count: 0,
    };
    this.pending.set(pending.client_id, pending);
    const thread = this.threads.get(conversationId);
    if (thread) thread.items = [...thread.items, pending];
    this.changed();
    await this._deliver(pending);
  }

  async retry(clientId) {
    const pending = this.pending.get(clientId);
    if (pending) await this._deliver(pending);
  }

  async _deliver(pending) {
    pending.pending = 'sending';
    this.changed();
    const draft = {
      body: pending.body, client_id: pending.client_id,
      reply_to: pending.reply_to || undefined, file_ids: pending.files.map((f) => f.id),
    };
    try {
      let message;
      if (this.socket && this.socket.isOpen()) {
        message = await this.socket.request({ type: 'send', conversation_id: pending.conversation_id, ...draft });
        message = message.message;
      } else {
        ({ message } = await api('POST', `/conversations/${pending.conversation_id}/messages`, draft));
      }
      this.addMessage(message, false);
    } catch (err) {
      pending.pending = 'failed';
      pending.error = err.message;
      this.changed();
    }
  }

  async edit(messageId, body) {
    const { message } = await api('PATCH', `/messages/${messageId}`, { body });
    this.replaceMessage(message);
  }

  async remove(message) {
    if (message.pending) {
      this.pending.delete(message.client_id);
      const thread = this.threads.get(message.conversation_id);
      thread.items = thread.items.filter((m) => m.id !== message.id);
      this.changed();
      return;
    }
    await api('DELETE', `/messages/${message.id}`);
    this.tombstone(message.conversation_id, message.id);
  }

  upload(file, onProgress) {
    return uploadFile(file, onProgress);
  }

  findMessage(conversationId, messageId) {
    const thread = this.threads.get(conversationId);
    const found = thread && thread.items.find((m) => m.id === messageId);
    if (found) return found;
    if (this.quoted.has(messageId)) return this.quoted.get(messageId);
    this.quoted.set(messageId, null);
    api('GET', `/messages/${messageId}`)
      .then(({ message }) => { this.quoted.set(messageId, message); this.changed(); })
      .catch(() => null);
    return null;
  }

  async react(message, emoji, add) {
    const path = `/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`;
    const { message: updated } = await api(add ? 'PUT' : 'DELETE', path);
    this.replaceMessage(updated);
  }

  async pin(message, pinned) {
    const { message: updated } = await api(pinned ? 'PUT' : 'DELETE', `/messages/${message.id}/pin`);
    this.replaceMessage(updated);
  }

  async setMuted(conversationId, muted) {
    const { conversation } = await api('PATCH', `/conversations/${conversationId}/settings`, { muted });
    this.conversations.set(conversationId, conversation);
    this.changed();
  }

  // Open a message in its conversation (from search or pins): load around it, highlight it.
  async reveal(message) {
    this.open(message.conversation_id);
    const thread = this.threads.get(message.conversation_id);
    if (!thread.items.some((m) => m.id === message.id)) {
      const { messages, has_more: more } = await api(
        'GET', `/conversations/${message.conversation_id}/messages?before=${message.seq + 25}&limit=50`,
      );
      thread.items = messages;
      thread.hasOlder = more;
      thread.loaded = true;
      this.atBottom = false;
      await this.ensureUsers(messages.map((m) => m.author_id));
    }
    this.highlight = message.id;
    this.changed();
    requestAnimationFrame(() => {
      const el = document.getElementById(`m-${message.id}`);
      if (el) el.scrollIntoView({ block: 'center' });
    });
  }

  // The reader has seen the newest message of the open conversation: move the marker.
  markSeen() {
    const conversation = this.active && this.conversations.get(this.active);
    if (!conversation || !this.focused || !this.atBottom) return;
    if (conversation.read_seq >= conversation.last_seq && !conversation.unread_count) return;
    const seq = conversation.last_seq;
    conversation.read_seq = seq;
    conversation.unread_count = 0;
    conversation.mention_count = 0;
    this.changed();
    if (this.socket && this.socket.isOpen()) {
      this.socket.send({ type: 'read', conversation_id: conversation.id, seq });
    } else {
      api('POST', `/conversations/${conversation.id}/read`, { seq }).catch(() => null);
    }
  }

  applyRead(conversationId, seq) {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || seq <= conversation.read_seq) return;
    api('GET', `/conversations/${conversationId}`)
      .then(({ conversation: fresh }) => {
        this.conversations.set(conversationId, fresh);
        this.changed();
      })
      .catch(() => null);
  }

  // ---- typing --------------------------------------------------------------------------

  sawTyping(conversationId, userId) {
    if (!this.typing.has(conversationId)) this.typing.set(conversationId, new Map());
    this.typing.get(conversationId).set(userId, Date.now() + TYPING_TTL_MS);
    this.changed();
  }

  typists(conversationId) {
    const now = Date.now();
    const found = this.typing.get(conversationId);
    if (!found) return [];
    return [...found].filter(([, until]) => until > now).map(([id]) => id);
  }

  _expireTyping() {
    const now = Date.now();
    let changed = false;
    for (const found of this.typing.values()) {
      for (const [id, until] of found) {
        if (until <= now) {
          found.delete(id);
          changed = true;
        }
      }
    }
    if (changed) this.changed();
  }

  typed(conversationId) {
    const now = Date.now();
    if (this._lastTyped && this._lastTyped.id === conversationId && now - this._lastTyped.at < 3000) return;
    this._lastTyped = { id: conversationId, at: now };
    if (this.socket && this.socket.isOpen()) this.socket.send({ type: 'typing', conversation_id: conversationId });
  }

  // ---- notifications -------------------------------------------------------------------

  notify(message) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    if (!document.hidden || message.author_id === this.me.id) return;
    const conversation = this.conversations.get(message.conversation_id);
    if (!conversation || conversation.muted) return;
    const mentioned = message.mentions.includes(this.me.id);
    if (conversation.kind !== 'direct' && !mentioned) return;
    const note = new Notification(`${this.name(message.author_id)} · ${this.title(conversation)}`, {
      body: message.body.slice(0, 200) || 'sent a file', tag: message.conversation_id,
    });
    note.onclick = () => {
      window.focus();
      this.open(message.conversation_id);
    };
  }
}
