// A person's face: their avatar image, or their initials on a colour derived from their id
// (so the same person has the same colour everywhere, and two people rarely share one).
// Decorative by default (the name is shown beside it); give `label` where it stands alone.

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

export function Avatar({ user, size = 32, label }) {
  const [broken, setBroken] = useState(null);
  const sizeClass = `avatar avatar-${size <= 20 ? 's' : size <= 32 ? 'm' : size <= 48 ? 'l' : 'xl'}`;
  const a11y = label ? { role: 'img', 'aria-label': label } : { 'aria-hidden': 'true' };
  const url = user && user.avatar_url;
  if (url && broken !== url) {
    return html`<img class=${sizeClass} src=${url} alt=${label || ''} width=${size} height=${size}
      loading="lazy" decoding="async" draggable="false" onError=${() => setBroken(url)} />`;
  }
  return html`<span class=${`${sizeClass} avatar-initials avatar-c${colourIndex(user && user.id)}`}
    ...${a11y}>${initials(user)}</span>`;
}
