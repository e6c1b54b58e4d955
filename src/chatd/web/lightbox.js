// The image viewer: one image large, arrows (buttons and keys) to the conversation's other
// images in order, a download link, Escape or the close button to leave.

import { html, useEffect, useRef } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { Icon } from './icons.js';
import { isImage } from './util.js';

function imagesOf(store, conversationId, extra) {
  const thread = store.threads.get(conversationId);
  const messages = thread ? [...thread.items] : [];
  if (extra && !messages.some((m) => m.id === extra.id)) messages.push(extra);
  messages.sort((a, b) => a.seq - b.seq);
  return messages
    .filter((m) => !m.deleted && m.files)
    .flatMap((m) => m.files.filter(isImage).map((file) => ({ file, message: m })));
}

export function Lightbox({ store }) {
  const ref = useRef(null);
  const { conversationId, fileId, extra } = store.lightbox;
  const images = imagesOf(store, conversationId, extra);
  const at = Math.max(0, images.findIndex((i) => i.file.id === fileId));
  const current = images[at];
  const go = (step) => {
    const next = images[at + step];
    if (next) {
      store.lightbox = { ...store.lightbox, fileId: next.file.id };
      store.changed();
    }
  };
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog && dialog.open && dialog.close();
  }, []);
  if (!current) return null;
  const url = `/api/v1/files/${current.file.id}`;
  return html`
    <dialog ref=${ref} class="lightbox" aria-label=${`Image ${at + 1} of ${images.length}: ${current.file.name}`}
      onCancel=${(e) => { e.preventDefault(); store.closeLightbox(); }}
      onKeyDown=${(e) => {
        if (e.key === 'ArrowLeft') { e.preventDefault(); go(-1); }
        if (e.key === 'ArrowRight') { e.preventDefault(); go(1); }
      }}
      onClick=${(e) => { if (e.target === ref.current) store.closeLightbox(); }}>
      <header>
        <span class="lightbox-name">${current.file.name} <small>· ${store.name(current.message.author_id)}</small></span>
        <a class="button" href=${url} download=${current.file.name} aria-label=${`Download ${current.file.name}`}>
          <${Icon} name="download" /> Download</a>
        <button type="button" class="icon" aria-label="Close image" onClick=${() => store.closeLightbox()}><${Icon} name="close" /></button>
      </header>
      <div class="lightbox-stage">
        <button type="button" class="icon nav" aria-label="Previous image" disabled=${at === 0}
          onClick=${() => go(-1)}><${Icon} name="left" size=${28} /></button>
        <img src=${url} alt=${current.file.name} />
        <button type="button" class="icon nav" aria-label="Next image" disabled=${at === images.length - 1}
          onClick=${() => go(1)}><${Icon} name="right" size=${28} /></button>
      </div>
    </dialog>`;
}
