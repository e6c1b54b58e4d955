// People: user records fetched on demand, and everyone's presence.

import { api } from '../api.js';
import { shownName } from '../util.js';

export const peopleMethods = {
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
  },

  async loadPresence() {
    const { presence } = await api('GET', '/presence');
    for (const item of presence) this.presence.set(item.user_id, item);
    this.changed();
  },

  // A presence event: also the server's answer when someone becomes a contact.
  setPresence(item) {
    this.presence.set(item.user_id, item);
    this.changed();
  },

  // The usernames (lower case) of the other people a message mentions, for the quieter
  // highlight of mentions that are not the reader's.
  mentionedOthers(message) {
    const out = new Set();
    for (const id of message.mentions || []) {
      const user = this.users.get(id);
      if (user && id !== this.me.id) out.add(user.username.toLowerCase());
    }
    return out;
  },

  name(userId) {
    return shownName(this.users.get(userId));
  },
};
