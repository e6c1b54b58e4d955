// Sending (shown at once as pending, confirmed by the server's message), the offline queue,
// retrying, discarding, and the changes one makes to a message: edit, delete, react, pin.
//
// A message sent while the connection is down waits as 'queued' and goes out, in order and
// with its first client_id (so the server stores it once even if an earlier try got
// through), as soon as the socket is back. Only an answer from the server ('failed') asks
// the person to retry or discard.

import { api, uploadFile } from '../api.js';
import { newClientId } from '../util.js';

export const sendingMethods = {
  async send(conversationId, body, files, replyTo, inThread = false) {
    this._lastTyped = null; // the next keystroke starts a new "is typing"
    const pending = {
      id: `pending-${newClientId()}`, client_id: newClientId(), pending: 'sending',
      conversation_id: conversationId, author_id: this.me.id, body, files,
      reply_to: replyTo, thread: Boolean(replyTo && inThread), created_at: new Date().toISOString(), seq: Infinity,
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

  // Send everything that waited for the connection, oldest first.
  async flushQueue() {
    const waiting = [...this.pending.values()].filter((p) => p.pending === 'queued');
    for (const pending of waiting) {
      if (!this.socket || !this.socket.isOpen()) return;
      await this._deliver(pending);
    }
  },

  queued() {
    return [...this.pending.values()].filter((p) => p.pending === 'queued').length;
  },

  async _deliver(pending) {
    if (this.connection !== 'online') {
      pending.pending = 'queued';
      this.changed();
      return;
    }
    pending.pending = 'sending';
    this.changed();
    const draft = {
      body: pending.body, client_id: pending.client_id,
      reply_to: pending.reply_to || undefined, file_ids: pending.files.map((f) => f.id),
    };
    if (pending.thread) draft.thread = true;
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
      const offline = err.offline || err.status === 0 || [502, 503, 504].includes(err.status);
      pending.pending = offline ? 'queued' : 'failed';
      pending.error = offline ? null : err.message;
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
