// The conversation list, the open conversation, settings, and this reader's read markers.

import { api } from '../api.js';
import { conversationName } from '../util.js';

export const conversationMethods = {
  async refreshConversations() {
    const { conversations } = await api('GET', '/conversations');
    this.conversations = new Map(conversations.map((c) => [c.id, c]));
    await this.ensureUsers(conversations.flatMap((c) => c.members));
    this.changed();
  },

  title(conversation) {
    return conversationName(conversation, this.users, this.me.id);
  },

  sorted(kind) {
    return [...this.conversations.values()]
      .filter((c) => c.kind === kind && !c.archived)
      .sort((a, b) => this.title(a).localeCompare(this.title(b)));
  },

  totalUnread() {
    let total = 0;
    for (const c of this.conversations.values()) if (!c.muted) total += c.unread_count;
    return total;
  },

  _updateTitle() {
    const total = this.me ? this.totalUnread() : 0;
    const active = this.active && this.conversations.get(this.active);
    const place = active ? `${this.title(active)} · chatd` : 'chatd';
    document.title = total ? `(${total}) ${place}` : place;
  },

  // Where a session starts without a conversation in the URL: #general if the server made
  // one (auth.default_channels), on wide screens only (a phone starts on the list).
  openLanding() {
    if (window.matchMedia('(max-width: 760px)').matches) return;
    const general = [...this.conversations.values()].find((c) => c.kind === 'channel' && c.name === 'general');
    if (general) this.open(general.id);
  },

  // `own`: `incoming` is this reader's own view (an HTTP answer, or the event after a
  // settings change, maybe made on another device): its muted and notify win. Otherwise it
  // is the neutral view sent to every member (a rename, a topic), which carries no one's
  // settings. Markers and counts stay the local ones either way (they move with read events
  // and messages, and may be ahead of a view fetched a moment ago).
  mergeConversation(incoming, own = false) {
    const known = this.conversations.get(incoming.id);
    const settings = own || !known ? incoming : known;
    const merged = known
      ? { ...incoming, read_seq: known.read_seq, unread_count: known.unread_count,
          mention_count: known.mention_count, muted: settings.muted, notify: settings.notify }
      : incoming;
    this.conversations.set(incoming.id, merged);
    this.ensureUsers(merged.members);
    this.changed();
    return merged;
  },

  async create(kind, members, name, topic) {
    const { conversation } = await api('POST', '/conversations', { kind, members, name, topic });
    this.conversations.set(conversation.id, conversation);
    await this.ensureUsers(conversation.members);
    this.open(conversation.id);
    return conversation;
  },

  async join(id) {
    const { conversation } = await api('POST', `/conversations/${id}/join`);
    this.conversations.set(id, conversation);
    this.open(id);
  },

  async leave(id) {
    await api('DELETE', `/conversations/${id}/members/${this.me.id}`);
    this.conversations.delete(id);
    if (this.active === id) this.active = null;
    this.changed();
  },

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
  },

  async setMuted(conversationId, muted) {
    const { conversation } = await api('PATCH', `/conversations/${conversationId}/settings`, { muted });
    this.mergeConversation(conversation, true);
  },

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
  },

  applyRead(conversationId, seq) {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || seq <= conversation.read_seq) return;
    api('GET', `/conversations/${conversationId}`)
      .then(({ conversation: fresh }) => {
        this.conversations.set(conversationId, fresh);
        this.changed();
      })
      .catch(() => null);
  },
};
