// Writing a message: Enter sends, Shift+Enter adds a line, Up edits your last message;
// files attach by button, drag and drop or paste, upload at once with progress, and go with
// the next message (Send with an empty box sends the files alone).

import { html, useEffect, useRef, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { Icon } from './icons.js';
import { sizeOf } from './util.js';

export function Composer({ store, conversation, replyTo, clearReply, control }) {
  const [text, setText] = useState('');
  const [uploads, setUploads] = useState([]); // { key, name, size, progress, file?, error? }
  const [error, setError] = useState('');
  const box = useRef(null);
  const drafts = useRef(new Map());

  useEffect(() => {
    setText(drafts.current.get(conversation.id) || '');
    setUploads([]);
    if (box.current) box.current.focus();
  }, [conversation.id]);

  function update(value) {
    setText(value);
    drafts.current.set(conversation.id, value);
    if (value.trim()) store.typed(conversation.id);
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
    setText('');
    drafts.current.delete(conversation.id);
    setUploads([]);
    const reply = replyTo ? replyTo.id : null;
    clearReply();
    store.atBottom = true;
    await store.send(conversation.id, body, files, reply);
  }

  function onKeyDown(event) {
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
      <div class="row">
        <label class="attach icon" title="Attach file">
          <${Icon} name="attach" size=${20} />
          <input type="file" multiple aria-label="Attach file" class="sr-only"
            onChange=${(e) => { attach([...e.currentTarget.files]); e.currentTarget.value = ''; }} />
        </label>
        <textarea ref=${box} aria-label="Message" rows="1" value=${text}
          placeholder=${`Message ${store.title(conversation)}`}
          onInput=${(e) => update(e.currentTarget.value)} onKeyDown=${onKeyDown}
          onPaste=${(e) => { const files = [...e.clipboardData.files]; if (files.length) { e.preventDefault(); attach(files); } }}></textarea>
        <button class="primary" type="submit" disabled=${busy}>Send</button>
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>`;
}
