// A message's one focusable actions control: a menu button with a WAI-ARIA menu (arrow
// keys, Home/End, Enter; Escape or Tab closes it and focus returns to the button).

import { html, useLayoutEffect, useRef, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { Icon } from './icons.js';
import { Popover } from './popover.js';

function Items({ items, close }) {
  const list = useRef(null);
  useLayoutEffect(() => {
    const first = list.current && list.current.parentElement.querySelector('[role=menuitem]');
    if (first) first.focus();
  }, []);
  function onKeyDown(event) {
    const all = [...list.current.parentElement.querySelectorAll('[role=menuitem]')];
    const at = all.indexOf(document.activeElement);
    const go = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: all.length - 1 }[event.key];
    if (go !== undefined) {
      event.preventDefault();
      all[(go + all.length) % all.length].focus();
    } else if (event.key === 'Tab') {
      close(false);
    }
  }
  return html`<span ref=${list} class="menu-start" />${items.map(([label, run]) => html`
    <button type="button" role="menuitem" key=${label} tabindex="-1" class="menu-item"
      onKeyDown=${onKeyDown} onClick=${() => { close(false); run(); }}>${label}</button>`)}`;
}

export function MessageMenu({ actions }) {
  const [anchor, setAnchor] = useState(null);
  const button = useRef(null);
  const items = [
    ['Add reaction', () => actions.react(button.current)],
    actions.thread && ['Reply in thread', actions.thread],
    actions.quote && ['Quote reply', actions.quote],
    actions.pin && [actions.pinned ? 'Unpin' : 'Pin', actions.pin],
    actions.edit && ['Edit', actions.edit],
    actions.remove && ['Delete', actions.remove],
  ].filter(Boolean);
  const close = (refocus) => {
    setAnchor(null);
    if (refocus && button.current) button.current.focus();
  };
  return html`
    <button ref=${button} type="button" class="icon menu-button" aria-label="Message actions" title="More actions"
      aria-haspopup="menu" aria-expanded=${anchor ? 'true' : 'false'}
      onClick=${(e) => setAnchor(anchor ? null : e.currentTarget)}><${Icon} name="more" /></button>
    ${anchor && html`<${Popover} anchor=${anchor} role="menu" label="Message actions" className="menu"
      onClose=${() => setAnchor(null)}><${Items} items=${items} close=${close} /><//>`}`;
}
