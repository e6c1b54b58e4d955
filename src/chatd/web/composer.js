// Writing a message: Enter sends, Shift+Enter adds a line, Up edits your last message;
// files attach by button, drag and drop or paste, upload at once with progress, and go with
// the next message (Send with an empty box sends the files alone).

import { html, useEffect, useRef, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { emojiLoaded, loadEmoji, searchEmoji } from './emoji.js';
import { EmojiPicker } from './emojipicker.js';
import { handledBeforeSend, slot } from './extensions.js';
import { Icon } from './icons.js';
import { shownName, sizeOf } from './util.js';

const MENTION_AT_CARET = /(^|[^\w@])@([A-Za-z0-9._-]{0,32})$/;
const EMOJI_AT_CARET = /(^|\s):([a-z0-9_+-]{2,32})$/;

// `:ta` -> the emoji whose names or keywords start so (the data loads on first use).
function emojiSuggestions(query) {
  if (!emojiLoaded()) {
    loadEmoji();
    return [];
  }
  return searchEmoji(query, 8).map((item) => ({
    key: item.names[0], insert: `${item.emoji} `, label: item.emoji, detail: `:${item.names[0]}:`,
  }));
}

// Members (and @all / @channel outside direct messages) whose name starts with `query`.
function suggestions(store, conversation, query) {
  const wanted = query.toLowerCase();
  const people = conversation.members
    .map((id) => store.users.get(id))
    .filter((user) => user && (user.username.startsWith(wanted)
      || (user.display_name || '').toLowerCase().startsWith(wanted)))
    .map((user) => ({ key: user.username, insert: `@${user.username} `, label: shownName(user), detail: `@${user.username}` }));
  const everyone = conversation.kind === 'direct' ? [] : ['all', 'channel']
    .filter((name) => name.startsWith(wanted))
    .map((name) => ({ key: name, insert: `@${name} `, label: `everyone (@${name})`, detail: `@${name}` }));
  return [...people, ...everyone].slice(0, 8);
}

// `root`: set in the thread panel, where replies go to that thread (and, when asked, to
// the conversation as well).
export function Composer({ store, conversation, replyTo, clearReply, control, root = null }) {
  const [text, setText] = useState('');
  const [uploads, setUploads] = useState([]); // { key, name, size, progress, file?, error? }
  const [error, setError] = useState('');
  const [suggest, setSuggest] = useState(null); // { start, items, index, kind }
  const [alsoSend, setAlsoSend] = useState(false);
  const [picker, setPicker] = useState(null);
  const box = useRef(null);
  const drafts = useRef(new Map());
  const draftKey = root ? `thread-${root.id}` : conversation.id;
  const ids = root ? 'thread-suggestions' : 'mention-suggestions';

  useEffect(() => {
    setText(drafts.current.get(draftKey) || '');
    setUploads([]);
    if (box.current) box.current.focus();
  }, [draftKey]);

  function update(value, caret) {
    setText(value);
    drafts.current.set(draftKey, value);
    if (value.trim()) store.typed(conversation.id);
    const before = value.slice(0, caret);
    const mention = before.match(MENTION_AT_CARET);
    const emoji = !mention && before.match(EMOJI_AT_CARET);
    const query = mention ? mention[2] : emoji ? emoji[2] : null;
    if (!mention && !emoji) {
      // Outside a mention or an emoji: what extensions complete from the start of the text
      // (slash commands), in the conversation's composer only; a thread reply has none.
      const items = root ? [] : slot('completions', store, conversation, before);
      setSuggest(items.length ? { start: 0, caret, items, index: 0, label: 'Command suggestions' } : null);
      return;
    }
    const items = mention ? suggestions(store, conversation, query) : emojiSuggestions(query);
    const label = mention ? 'Mention suggestions' : 'Emoji suggestions';
    setSuggest(items.length ? { start: caret - query.length - 1, caret, items, index: 0, label } : null);
  }

  // Put `inserted` in place of the text from `start` to the caret. The box's value and caret
  // are set at once, in this event, so keys typed right after land after the insertion
  // (setting the caret a frame later moved it back under keys already typed).
  function insertAt(start, end, inserted) {
    const el = box.current;
    const current = el ? el.value : text;
    const value = current.slice(0, start) + inserted + current.slice(end);
    const caret = start + inserted.length;
    if (el) {
      el.value = value;
      el.setSelectionRange(caret, caret);
    }
    setText(value);
    drafts.current.set(draftKey, value);
    setSuggest(null);
  }

  function pick(item) {
    insertAt(suggest.start, suggest.caret, item.insert);
  }

  function insertEmoji(emoji) {
    const el = box.current;
    const start = el ? el.selectionStart : text.length;
    const end = el ? el.selectionEnd : text.length;
    insertAt(start, end, emoji);
    if (el) el.focus();
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
  if (control) {
    control.attach = attach;
    control.focus = () => box.current && box.current.focus();
  }

  const busy = uploads.some((u) => !u.file && !u.error);

  async function send() {
    const body = text.trim();
    const files = uploads.filter((u) => u.file).map((u) => u.file);
    if (busy || (!body && !files.length)) return;
    setError('');
    if (body && !files.length && !root) {
      try {
        if (await handledBeforeSend(store, conversation, body)) {
          setText('');
          drafts.current.delete(draftKey);
          return;
        }
      } catch (err) {
        setError(err.message);
        return;
      }
    }
    setText('');
    drafts.current.delete(draftKey);
    setUploads([]);
    if (root) {
      await store.send(conversation.id, body, files, root.id, !alsoSend);
      return;
    }
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
    } else if (event.key === 'ArrowUp' && !text && !root && store.editLast) {
      if (store.editLast()) event.preventDefault();
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
      ${suggest && html`<ul id=${ids} class="suggestions" role="listbox"
        aria-label=${suggest.label}>
        ${suggest.items.map((item, i) => html`<li id=${`${ids}-${i}`} key=${item.key}
          role="option" aria-selected=${i === suggest.index ? 'true' : 'false'}
          class=${i === suggest.index ? 'active' : ''}
          onMouseDown=${(e) => { e.preventDefault(); pick(item); }}>
          <strong>${item.label}</strong> <small>${item.detail ?? item.hint ?? ''}</small></li>`)}
      </ul>`}
      <div class="row">
        <label class="attach icon" title="Attach file">
          <${Icon} name="attach" size=${20} />
          <input type="file" multiple aria-label=${root ? 'Attach file to reply' : 'Attach file'} class="sr-only"
            onChange=${(e) => { attach([...e.currentTarget.files]); e.currentTarget.value = ''; }} />
        </label>
        <textarea ref=${box} aria-label=${root ? 'Reply' : 'Message'} rows="1" value=${text}
          placeholder=${root ? 'Reply in thread' : `Message ${store.title(conversation)}`}
          aria-autocomplete="list" aria-controls=${ids}
          aria-expanded=${suggest ? 'true' : 'false'}
          aria-activedescendant=${suggest ? `${ids}-${suggest.index}` : undefined}
          onInput=${(e) => update(e.currentTarget.value, e.currentTarget.selectionStart)}
          onKeyDown=${onKeyDown} onBlur=${() => setTimeout(() => setSuggest(null), 150)}
          onPaste=${(e) => { const files = [...e.clipboardData.files]; if (files.length) { e.preventDefault(); attach(files); } }}></textarea>
        <button type="button" class="icon" aria-label="Insert emoji" title="Insert emoji"
          onClick=${(e) => setPicker(picker ? null : e.currentTarget)}><${Icon} name="smile" size=${20} /></button>
        <button class="primary" type="submit" disabled=${busy}>${root ? 'Reply' : 'Send'}</button>
      </div>
      ${root && html`<label class="also"><input type="checkbox" checked=${alsoSend}
        onChange=${(e) => setAlsoSend(e.currentTarget.checked)} /> Also send to the conversation</label>`}
      ${picker && html`<${EmojiPicker} anchor=${picker} verb="Insert" label="Choose an emoji"
        onPick=${insertEmoji} onClose=${() => setPicker(null)} />`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>`;
}
