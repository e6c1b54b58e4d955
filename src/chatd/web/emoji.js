// Emoji names and search from the vendored gemoji data set (GitHub's names and keywords,
// vendor/gemoji-8.1.0.mjs, MIT), loaded once on first need; no network beyond our origin.
// The recently used emoji are kept in this browser (localStorage), most recent first.

const RECENT_KEY = 'chatd.recent-emoji';
const RECENT_MAX = 24;
const SHORTCODE = /:([a-z0-9_+-]{1,40}):/g;

let list = [];
const byName = new Map();
let loading = null;

// Load the data set; `then` runs once it is there (views re-render to show the emoji).
export function loadEmoji() {
  if (!loading) {
    loading = import('./vendor/gemoji-8.1.0.mjs').then(({ gemoji }) => {
      list = gemoji;
      for (const item of gemoji) for (const name of item.names) byName.set(name, item);
      return list;
    });
  }
  return loading;
}

export function emojiLoaded() {
  return list.length > 0;
}

export function emojiByName(name) {
  return byName.get(name);
}

export function allEmoji() {
  return list;
}

// `:tada:` -> 🎉 for every known name; unknown names stay as typed.
export function withShortcodes(text) {
  if (!list.length || !text.includes(':')) return text;
  return text.replace(SHORTCODE, (whole, name) => (byName.has(name) ? byName.get(name).emoji : whole));
}

// A reaction stored as `:short_name:` is shown as its emoji when known.
export function shownEmoji(emoji) {
  const match = /^:([a-z0-9_+-]+):$/.exec(emoji);
  return match && byName.has(match[1]) ? byName.get(match[1]).emoji : emoji;
}

// Names first (prefix, then anywhere), then keywords and descriptions.
export function searchEmoji(query, limit = 200) {
  const wanted = query.trim().toLowerCase().replace(/^:|:$/g, '');
  if (!wanted) return list.slice(0, limit);
  const scored = [];
  for (const item of list) {
    let score = 0;
    if (item.names.some((n) => n.startsWith(wanted))) score = 4;
    else if (item.names.some((n) => n.includes(wanted))) score = 3;
    else if (item.tags.some((t) => t.startsWith(wanted))) score = 2;
    else if (item.description.includes(wanted)) score = 1;
    if (score) scored.push([score, item]);
  }
  scored.sort((a, b) => b[0] - a[0]);
  return scored.slice(0, limit).map(([, item]) => item);
}

export function recentEmoji() {
  try {
    const saved = JSON.parse(localStorage.getItem(RECENT_KEY) || '[]');
    return Array.isArray(saved) ? saved.filter((e) => typeof e === 'string') : [];
  } catch (err) {
    return [];
  }
}

export function rememberEmoji(emoji) {
  const recent = [emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch (err) {
    // storage full or refused: the picker still works, just without the recent row
  }
}
