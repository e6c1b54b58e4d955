// Small round faces for people: the user's avatar image when they have one, else their
// initials on a colour derived from their id (stable across sessions and browsers).

import { html } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { shownName } from './util.js';

const COLOURS = ['#c2255c', '#9c36b5', '#6741d9', '#3b5bdb', '#1971c2', '#0c8599', '#099268', '#2f9e44', '#e8590c', '#a61e4d'];

function colourOf(id) {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return COLOURS[hash % COLOURS.length];
}

function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : name.slice(0, 2);
  return letters.toUpperCase();
}

export function Face({ user, id, size = 20 }) {
  const style = `width:${size}px;height:${size}px;font-size:${Math.round(size * 0.42)}px`;
  if (user && user.avatar_url) {
    return html`<img class="face" src=${user.avatar_url} alt="" width=${size} height=${size} style=${style} />`;
  }
  return html`<span class="face" aria-hidden="true" style=${`${style};background:${colourOf(id || '')}`}>${initials(shownName(user))}</span>`;
}

// Decorative faces of several people (their names are said in the text beside them).
export function Faces({ store, ids, size = 20 }) {
  const shown = ids.slice(0, 5);
  if (!shown.length) return null;
  return html`<span class="faces" aria-hidden="true" title=${shown.map((id) => store.name(id)).join(', ')}>
    ${shown.map((id) => html`<${Face} key=${id} id=${id} user=${store.users.get(id)} size=${size} />`)}</span>`;
}
