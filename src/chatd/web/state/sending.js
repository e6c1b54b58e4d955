// Sending (shown at once as pending, confirmed by the server's message), retrying,
// discarding, and the changes one makes to a message: edit, delete, react, pin.

import { api, uploadFile } from '../api.js';
import { newClientId } from '../util.js';

export const sendingMethods = {
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
  },

  async retry(clientId) {
    const pending = this.pending.get(clientId);
    if (pending) await this._deliver(pending);
  },

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
  },

  async edit(messageId, body) {
    const { message } = await api('PATCH', `/messages/${messageId}`, { body });
    this.replaceMessage(message);
  },

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
  },

  upload(file, onProgress) {
    return uploadFile(file, onProgress);
  },

  async react(message, emoji, add) {
    const path = `/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`;
    const { message: updated } = await api(add ? 'PUT' : 'DELETE', path);
    this.replaceMessage(updated);
  },

  async pin(message, pinned) {
    const { message: updated } = await api(pinned ? 'PUT' : 'DELETE', `/messages/${message.id}/pin`);
    this.replaceMessage(updated);
  },
};
