// The messages held for each opened conversation: pages of history, live additions,
// edits and tombstones, gap filling after a reconnect, and jumping to one message.

import { api } from '../api.js';

const PAGE = 50;

export const historyMethods = {
  async loadOlder(id) {
    const thread = this.threads.get(id);
    if (!thread || thread.loading || !thread.hasOlder) return;
    thread.loading = true;
    const first = thread.items.find((m) => !m.pending && !m.notice);
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
  },

  // Fetch what was missed while disconnected: every page after the newest seq we hold.
  async fillGap(id) {
    const thread = this.threads.get(id);
    if (!thread || !thread.loaded) return;
    let after = thread.items.reduce((seq, m) => (m.pending || m.notice ? seq : Math.max(seq, m.seq)), 0);
    for (;;) {
      const { messages, has_more: more } = await api(
        'GET', `/conversations/${id}/messages?after=${after}&limit=200`,
      );
      for (const message of messages) this.addMessage(message, false);
      if (!more || !messages.length) break;
      after = messages[messages.length - 1].seq;
    }
  },

  addMessage(message, live) {
    const conversation = this.conversations.get(message.conversation_id);
    const thread = this.threads.get(message.conversation_id);
    const held = thread && thread.items.some((m) => m.id === message.id);
    if (conversation && message.seq > conversation.last_seq) {
      // "New messages" marks only what arrived while the reader was away: a message that
      // arrives while they are reading at the bottom of the open conversation moves the
      // line along, unless a line from their absence is still shown.
      const watching = this.active === message.conversation_id && this.focused && this.atBottom !== false;
      if (thread && watching && thread.dividerSeq >= conversation.last_seq) thread.dividerSeq = message.seq;
      conversation.last_seq = message.seq;
      if (live && message.author_id !== this.me.id) conversation.unread_count += 1;
      if (live && message.mentions.includes(this.me.id)) conversation.mention_count += 1;
    }
    this.ensureUsers([message.author_id]);
    const typing = this.typing.get(message.conversation_id);
    if (typing) typing.delete(message.author_id);
    if (live && !held && message.thread && thread) {
      const root = thread.items.find((m) => m.id === message.reply_to);
      if (root) thread.items = thread.items.map((m) => (m === root ? { ...m, reply_count: m.reply_count + 1 } : m));
    }
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
  },

  // A line in the flow for a change seen live ("Bob joined"): kept in this page only, after
  // the newest message, never sent anywhere.
  addNotice(conversationId, text) {
    const thread = this.threads.get(conversationId);
    const conversation = this.conversations.get(conversationId);
    if (!thread || !thread.loaded || !conversation) return;
    const seq = conversation.last_seq + 0.5;
    thread.items = [...thread.items, {
      id: `notice-${Date.now()}-${Math.random()}`, notice: text, seq, created_at: new Date().toISOString(),
    }].sort((a, b) => (a.pending ? 1 : 0) - (b.pending ? 1 : 0) || a.seq - b.seq);
    this.changed();
  },

  replaceMessage(message) {
    const thread = this.threads.get(message.conversation_id);
    if (thread) thread.items = thread.items.map((m) => (m.id === message.id ? message : m));
    if (this.quoted.has(message.id)) this.quoted.set(message.id, message);
    this.changed();
  },

  tombstone(conversationId, messageId) {
    const thread = this.threads.get(conversationId);
    if (thread) {
      thread.items = thread.items.map((m) =>
        m.id === messageId ? { ...m, deleted: true, body: '', files: [], reactions: [] } : m,
      );
    }
    this.changed();
  },

  // Who replied in a message's thread, in order of first reply: from the replies held,
  // else asked of the server once per reply count.
  repliers(root) {
    const thread = this.threads.get(root.conversation_id);
    const held = thread ? thread.items.filter((m) => m.reply_to === root.id && m.thread) : [];
    const ids = [...new Set(held.map((m) => m.author_id))];
    if (held.length >= root.reply_count) return ids;
    const known = this.replierCache.get(root.id);
    if (known && known.count === root.reply_count) return known.ids;
    if (!known || known.count !== -root.reply_count) {
      this.replierCache.set(root.id, { count: -root.reply_count, ids });
      api('GET', `/messages/${root.id}/replies?limit=200`)
        .then(({ messages }) => {
          const found = [...new Set(messages.map((m) => m.author_id))];
          this.replierCache.set(root.id, { count: root.reply_count, ids: found });
          this.ensureUsers(found);
          this.changed();
        })
        .catch(() => null);
    }
    return known ? known.ids : ids;
  },

  // The image viewer: one image of a conversation, with the conversation's others a step away.
  openLightbox(message, fileId) {
    this.lightbox = { conversationId: message.conversation_id, fileId, extra: message };
    this.changed();
  },

  closeLightbox() {
    this.lightbox = null;
    this.changed();
  },

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
  },

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
  },
};
