// Writing a message: Enter sends, Shift+Enter adds a line, Up edits your last message;
// files attach by button, drag and drop or paste, upload at once with progress, and go with
// the next message (Send with an empty box sends the files alone).

import { html, useEffect, useRef, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { handledBeforeSend, slot } from './extensions.js';
import { Icon } from './icons.js';
import { shownName, sizeOf } from './util.js';

const MENTION_AT_CARET = /(^|[^\w@])@([A-Za-z0-9._-]{0,32})$/;

// Members (and @all / @channel outside direct messages) whose name starts with `query`.
function suggestions(store, conversation, query) {
  const wanted = query.toLowerCase();
  const people = conversation.members
    .map((id) => store.users.get(id))
    .filter((user) => user && (user.username.startsWith(wanted)
      || (user.display_name || '').toLowerCase().startsWith(wanted)))
    .map((user) => ({ username: user.username, label: shownName(user) }));
  const everyone = conversation.kind === 'direct' ? [] : ['all', 'channel']
    .filter((name) => name.startsWith(wanted))
    .map((name) => ({ username: name, label: `everyone (@${name})` }));
  return [...people, ...everyone].slice(0, 8);
}

export function Composer({ store, conversation, replyTo, clearReply, control }) {
  const [text, setText] = useState('');
  const [uploads, setUploads] = useState([]); // { key, name, size, progress, file?, error? }
  const [error, setError] = useState('');
  const [suggest, setSuggest] = useState(null); // { start, items, index }
  const box = useRef(null);
  const drafts = useRef(new Map());

  useEffect(() => {
    setText(drafts.current.get(conversation.id) || '');
    setUploads([]);
    if (box.current) box.current.focus();
  }, [conversation.id]);

  function update(value, caret) {
    setText(value);
    drafts.current.set(conversation.id, value);
    if (value.trim()) store.typed(conversation.id);
    const match = value.slice(0, caret).match(MENTION_AT_CARET);
    if (!match) { // what extensions complete from the start of the text (slash commands)
      const items = slot('completions', store, conversation, value.slice(0, caret));
      setSuggest(items.length ? { start: 0, caret, items, index: 0, label: 'Command suggestions' } : null);
      return;
    }
    const items = suggestions(store, conversation, match[2]);
    setSuggest(items.length ? { start: caret - match[2].length - 1, caret, items, index: 0 } : null);
  }

  function pick(item) {
    const before = text.slice(0, suggest.start);
    const after = text.slice(suggest.caret);
    const inserted = item.insert || `@${item.username} `;
    update(before + inserted + after, before.length + inserted.length);
    setSuggest(null);
    requestAnimationFrame(() => {
      const el = box.current;
      if (el) el.selectionStart = el.selectionEnd = before.length + inserted.length;
    });
  }

  function attach(files) {
    for (const file of files) {
      const key = `${file.name}-${Math.random()}`;
      setUploads((list) => [...list, { key, name: file.name, size: file.size, progress: 0 }]);
      const patch = (changes) => setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...changes } : u)));
      store.upload(file, (progress) => patch({ progress }))
        .then((stored) => patch({ progress: 1, file: stored }))
        .catch((err) => patch({ error: err.message }));
    }
  }
  control.attach = attach;
  control.focus = () => box.current && box.current.focus();

  const busy = uploads.some((u) => !u.file && !u.error);

  async function send() {
    const body = text.trim();
    const files = uploads.filter((u) => u.file).map((u) => u.file);
    if (busy || (!body && !files.length)) return;
    setError('');
    if (body && !files.length) {
      try {
        if (await handledBeforeSend(store, conversation, body)) {
          setText('');
          drafts.current.delete(conversation.id);
          return;
        }
      } catch (err) {
        setError(err.message);
        return;
      }
    }
    setText('');
    drafts.current.delete(conversation.id);
    setUploads([]);
    const reply = replyTo ? replyTo.id : null;
    clearReply();
    store.atBottom = true;
    await store.send(conversation.id, body, files, reply);
  }

  function onKeyDown(event) {
    if (suggest) {
      const count = suggest.items.length;
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : count - 1;
        setSuggest({ ...suggest, index: (suggest.index + step) % count });
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        pick(suggest.items[suggest.index]);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setSuggest(null);
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === 'ArrowUp' && !text && store.editLast) {
      event.preventDefault();
      store.editLast();
    } else if (event.key === 'Escape' && replyTo) {
      clearReply();
    }
  }

  return html`
    <form class="composer" onSubmit=${(e) => { e.preventDefault(); send(); }}>
      ${replyTo && html`<div class="replying">Replying to <strong>${store.name(replyTo.author_id)}</strong>
        <button type="button" class="link" onClick=${clearReply}>Cancel</button></div>`}
      ${uploads.length > 0 && html`<ul class="uploads" aria-label="Attachments">
        ${uploads.map((u) => html`<li key=${u.key} class=${u.error ? 'failed' : ''}>
          <span class="file-name">${u.name}</span> <small>${sizeOf(u.size)}</small>
          ${u.error ? html` <span role="alert">${u.error}</span>`
            : html` <progress max="1" value=${u.progress} aria-label=${`Uploading ${u.name}`}></progress>`}
          <button type="button" class="icon" aria-label=${`Remove ${u.name}`}
            onClick=${() => setUploads((list) => list.filter((x) => x.key !== u.key))}><${Icon} name="close" size=${14} /></button></li>`)}
      </ul>`}
      ${suggest && html`<ul id="mention-suggestions" class="suggestions" role="listbox"
        aria-label=${suggest.label || 'Mention suggestions'}>
        ${suggest.items.map((item, i) => html`<li id=${`mention-${i}`} key=${item.key || item.username}
          role="option" aria-selected=${i === suggest.index ? 'true' : 'false'}
          class=${i === suggest.index ? 'active' : ''}
          onMouseDown=${(e) => { e.preventDefault(); pick(item); }}>
          <strong>${item.label}</strong> <small>${item.hint ?? `@${item.username}`}</small></li>`)}
      </ul>`}
      <div class="row">
        <label class="attach icon" title="Attach file">
          <${Icon} name="attach" size=${20} />
          <input type="file" multiple aria-label="Attach file" class="sr-only"
            onChange=${(e) => { attach([...e.currentTarget.files]); e.currentTarget.value = ''; }} />
        </label>
        <textarea ref=${box} aria-label="Message" rows="1" value=${text}
          placeholder=${`Message ${store.title(conversation)}`}
          aria-autocomplete="list" aria-controls="mention-suggestions"
          aria-expanded=${suggest ? 'true' : 'false'}
          aria-activedescendant=${suggest ? `mention-${suggest.index}` : undefined}
          onInput=${(e) => update(e.currentTarget.value, e.currentTarget.selectionStart)}
          onKeyDown=${onKeyDown} onBlur=${() => setTimeout(() => setSuggest(null), 150)}
          onPaste=${(e) => { const files = [...e.clipboardData.files]; if (files.length) { e.preventDefault(); attach(files); } }}></textarea>
        <button class="primary" type="submit" disabled=${busy}>Send</button>
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>`;
}
