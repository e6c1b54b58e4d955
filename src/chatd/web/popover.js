// A floating box beside the control that opened it: placed inside the viewport (below the
// anchor if it fits, else above; clamped at the edges), closed by Escape or a press
// outside it, and focus goes back to the anchor when it closes by keyboard.

import { html, useEffect, useLayoutEffect, useRef, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';

const MARGIN = 8;

export function Popover({ anchor, onClose, label, role = 'dialog', className = '', children }) {
  const box = useRef(null);
  const [place, setPlace] = useState({ left: -9999, top: -9999 });

  useLayoutEffect(() => {
    const el = box.current;
    if (!el || !anchor) return;
    const a = anchor.getBoundingClientRect();
    const width = el.offsetWidth;
    const height = el.offsetHeight;
    const roomBelow = window.innerHeight - a.bottom - MARGIN;
    let top = roomBelow >= height ? a.bottom + 4 : a.top - height - 4;
    top = Math.max(MARGIN, Math.min(top, window.innerHeight - height - MARGIN));
    let left = a.right - width;
    left = Math.max(MARGIN, Math.min(left, window.innerWidth - width - MARGIN));
    setPlace({ left, top });
  }, [anchor]);

  useEffect(() => {
    function onKey(event) {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        onClose();
        if (anchor && anchor.isConnected) anchor.focus();
      }
    }
    function onDown(event) {
      const el = box.current;
      if (el && !el.contains(event.target) && !(anchor && anchor.contains(event.target))) onClose();
    }
    document.addEventListener('keydown', onKey, true);
    document.addEventListener('pointerdown', onDown, true);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      document.removeEventListener('pointerdown', onDown, true);
    };
  }, [anchor, onClose]);

  return html`<div ref=${box} class=${`popover ${className}`} role=${role} aria-label=${label}
    style=${`left:${place.left}px;top:${place.top}px`}>${children}</div>`;
}
