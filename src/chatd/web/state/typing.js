// Who is typing where (others' typing events expire after 6 s), and our own "is typing".

const TYPING_TTL_MS = 6000;
const TYPING_REPEAT_MS = 3000;

export const typingMethods = {
  sawTyping(conversationId, userId) {
    if (!this.typing.has(conversationId)) this.typing.set(conversationId, new Map());
    this.typing.get(conversationId).set(userId, Date.now() + TYPING_TTL_MS);
    this.changed();
  },

  typists(conversationId) {
    const now = Date.now();
    const found = this.typing.get(conversationId);
    if (!found) return [];
    return [...found].filter(([, until]) => until > now).map(([id]) => id);
  },

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
  },

  typed(conversationId) {
    const now = Date.now();
    const last = this._lastTyped;
    if (last && last.id === conversationId && now - last.at < TYPING_REPEAT_MS) return;
    this._lastTyped = { id: conversationId, at: now };
    if (this.socket && this.socket.isOpen()) this.socket.send({ type: 'typing', conversation_id: conversationId });
  },
};
