// Search queries as people type them: words and "quoted phrases" for the server, plus
// `from:@name` (an author, by username or display name) and `in:#channel` (a conversation
// the reader is in, by name), which become the API's author_id and conversation_id.

import { api } from './api.js';

const FILTER = /(^|\s)(from|in):(\S+)/gi;

export async function parseSearch(store, query) {
  const params = new URLSearchParams();
  const filters = [...query.matchAll(FILTER)];
  const rest = query.replace(FILTER, ' ').replace(/\s+/g, ' ').trim();
  for (const [, , kind, raw] of filters) {
    if (kind.toLowerCase() === 'from') {
      const name = raw.replace(/^@/, '').toLowerCase();
      const { users } = await api('GET', `/users?q=${encodeURIComponent(name)}&limit=20`);
      const user = users.find((u) => u.username === name) || users[0];
      if (!user) throw new Error(`Nobody is called ${raw}.`);
      store.users.set(user.id, user);
      params.set('author_id', user.id);
    } else {
      const name = raw.replace(/^#/, '').toLowerCase();
      const found = [...store.conversations.values()]
        .find((c) => c.name && c.name.toLowerCase() === name);
      if (!found) throw new Error(`You are in no conversation called ${raw}.`);
      params.set('conversation_id', found.id);
    }
  }
  if (!rest) throw new Error('Add a word to look for (from: and in: narrow a search, they do not make one).');
  params.set('q', rest);
  params.set('limit', '50');
  const terms = [...rest.matchAll(/"([^"]+)"|(\S+)/g)]
    .map((m) => (m[1] || m[2]).toLowerCase())
    .filter((t) => t.length > 0);
  return { params: params.toString(), terms };
}
