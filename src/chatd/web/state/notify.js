// Desktop notifications while the page is hidden: direct and group messages, and mentions.

export const notifyMethods = {
  notify(message) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    if (!document.hidden || message.author_id === this.me.id) return;
    const conversation = this.conversations.get(message.conversation_id);
    if (!conversation || conversation.muted) return;
    const mentioned = message.mentions.includes(this.me.id);
    // The conversation's notify setting (notifications.js); default: mentions in channels.
    let level = conversation.notify || 'default';
    if (level === 'default') level = conversation.kind === 'channel' ? 'mentions' : 'all';
    if (level === 'none' || (level === 'mentions' && !mentioned)) return;
    const note = new Notification(`${this.name(message.author_id)} · ${this.title(conversation)}`, {
      body: message.body.slice(0, 200) || 'sent a file', tag: message.conversation_id,
    });
    note.onclick = () => {
      window.focus();
      this.open(message.conversation_id);
    };
  },
};
