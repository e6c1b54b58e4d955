// A person's face, the one module for it: their avatar image, or their initials on a colour
// derived from their id (so the same person has the same colour everywhere, and two people
// rarely share one). Decorative by default (the name is shown beside it); give `label`
// where it stands alone. `Faces` shows a few people at once (thread repliers, members).

import { html, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';

export const AVATAR_COLOURS = 12; // .avatar-c0 ... .avatar-c11 in profile.css

export function colourIndex(id) {
  let hash = 0;
  for (const char of String(id || '')) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return hash % AVATAR_COLOURS;
}

export function initials(user) {
  const name = (user && (user.display_name || user.username)) || '?';
  const words = name.split(/[\s._-]+/u).filter(Boolean);
  const first = Array.from(words[0] || name)[0] || '?';
  const last = words.length > 1 ? Array.from(words[words.length - 1])[0] : '';
  return (first + last).toLocaleUpperCase();
}

// `id`: whose face, when their record has not loaded yet (the colour is right at once).
export function Avatar({ user, id, size = 32, label }) {
  const [broken, setBroken] = useState(null);
  const style = `width:${size}px;height:${size}px;font-size:${Math.round(size * 0.4)}px`;
  const a11y = label ? { role: 'img', 'aria-label': label } : { 'aria-hidden': 'true' };
  const url = user && user.avatar_url;
  if (url && broken !== url) {
    return html`<img class="avatar" src=${url} alt=${label || ''} width=${size} height=${size} style=${style}
      loading="lazy" decoding="async" draggable="false" onError=${() => setBroken(url)} />`;
  }
  const colour = colourIndex((user && user.id) || id);
  return html`<span class=${`avatar avatar-initials avatar-c${colour}`} style=${style}
    ...${a11y}>${initials(user)}</span>`;
}

// Decorative faces of several people (their names are said in the text beside them).
export function Faces({ store, ids, size = 20 }) {
  const shown = ids.slice(0, 5);
  if (!shown.length) return null;
  return html`<span class="faces" aria-hidden="true" title=${shown.map((id) => store.name(id)).join(', ')}>
    ${shown.map((id) => html`<${Avatar} key=${id} id=${id} user=${store.users.get(id)} size=${size} />`)}</span>`;
}
