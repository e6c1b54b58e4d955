// The emoji picker, for reactions and for the composer: the recently used first, then the
// whole vendored set by category, searchable by name and keyword (Enter picks the first).

import { html, useEffect, useLayoutEffect, useRef, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { allEmoji, emojiLoaded, loadEmoji, recentEmoji, rememberEmoji, searchEmoji } from './emoji.js';
import { Popover } from './popover.js';

const QUICK = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀', '✅', '🔥'];

function Choice({ emoji, title, verb, pick }) {
  return html`<button type="button" class="emoji-choice" title=${title} aria-label=${`${verb} ${emoji}`}
    onClick=${() => pick(emoji)}>${emoji}</button>`;
}

// `verb`: how each choice is named ("React with", "Insert").
export function EmojiPicker({ anchor, onPick, onClose, verb, label }) {
  const [query, setQuery] = useState('');
  const [, setReady] = useState(emojiLoaded());
  const search = useRef(null);
  useEffect(() => {
    loadEmoji().then(() => setReady(true));
  }, []);
  useLayoutEffect(() => {
    if (search.current) search.current.focus();
  }, []);

  function pick(emoji) {
    rememberEmoji(emoji);
    onPick(emoji);
    onClose();
  }

  const found = query.trim() ? searchEmoji(query, 120) : null;
  const recent = recentEmoji();
  const top = recent.length ? recent : QUICK;
  const groups = new Map();
  if (!found) {
    // Each emoji appears once: those in the first row are left out of their category.
    const shown = new Set(top);
    for (const item of allEmoji()) {
      if (shown.has(item.emoji)) continue;
      if (!groups.has(item.category)) groups.set(item.category, []);
      groups.get(item.category).push(item);
    }
  }
  const choice = (item) => html`<${Choice} key=${item.emoji} emoji=${item.emoji} verb=${verb}
    title=${`:${item.names[0]}: ${item.description}`} pick=${pick} />`;
  return html`
    <${Popover} anchor=${anchor} onClose=${onClose} label=${label} className="emoji-picker">
      <input ref=${search} type="search" aria-label="Search emoji" placeholder="Search emoji"
        value=${query} onInput=${(e) => setQuery(e.currentTarget.value)}
        onKeyDown=${(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            if (found && found.length) pick(found[0].emoji);
          }
        }} />
      <div class="emoji-scroll">
        ${found
          ? html`<div class="emoji-grid" role="group" aria-label="Matching emoji">${found.map(choice)}</div>
              ${!found.length && html`<p class="empty">No emoji match.</p>`}`
          : html`
            <h4>${recent.length ? 'Recently used' : 'Frequently used'}</h4>
            <div class="emoji-grid" role="group" aria-label="Recently used">
              ${top.map((emoji) => html`<${Choice} key=${emoji} emoji=${emoji}
                verb=${verb} title=${emoji} pick=${pick} />`)}</div>
            ${[...groups].map(([category, items]) => html`<h4 key=${`h-${category}`}>${category}</h4>
              <div class="emoji-grid" key=${category} role="group" aria-label=${category}>${items.map(choice)}</div>`)}`}
      </div>
    <//>`;
}
