// chatd's web client: the whole app, mounted on #app.

import { html, render, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { AdminConsole } from './admin.js';
import { AuthView } from './auth.js';
import { ConversationView } from './conversation.js';
import { BrowseChannels, NewConversation } from './dialogs.js';
import { extensionDialog, startExtensions } from './extensions.js';
import { loadEmoji } from './emoji.js';
import { Icon } from './icons.js';
import { Lightbox } from './lightbox.js';
import { ConversationDetails } from './manage.js';
import './integrations.js'; // bots, webhooks, slash commands (extends through extensions.js)
import './notifications.js'; // Web Push, notify settings, email (an extension module)
import { Panel } from './panel.js';
import { Sidebar } from './sidebar.js';
import { Store } from './store.js';
import './settings.js'; // the settings dialog, through extensions.js

const root = document.getElementById('app');
const store = new Store(draw);

// The search box (the main column's on wide screens, the sidebar's on phones: CSS shows
// one of the two), and the Mentions view beside it.
export function Search({ onSearch, onMentions, className }) {
  const [query, setQuery] = useState('');
  return html`
    <div class=${`search ${className}`}>
      <form role="search" onSubmit=${(e) => { e.preventDefault(); if (query.trim()) onSearch(query.trim()); }}>
        <input type="search" aria-label="Search messages" placeholder="Search messages (from:@name in:#channel)"
          value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} />
      </form>
      <button type="button" class="subtle" onClick=${onMentions}><${Icon} name="at" size=${16} /> Mentions</button>
    </div>`;
}

// While the connection is down: a banner anyone notices, what happens to what they send,
// and a button to try at once.
function ConnectionBanner() {
  if (store.connection === 'online' || store.connection === 'connecting') return null;
  const waiting = store.queued();
  return html`<div class="banner" role="status">
    <strong>Connection lost.</strong> Reconnecting…
    ${waiting ? ` ${waiting} ${waiting === 1 ? 'message waits' : 'messages wait'} and will be sent when it is back.`
      : ' What you send will go out when it is back.'}
    <button type="button" class="link" onClick=${() => store.socket && store.socket.retryNow()}>Try now</button>
  </div>`;
}

function Main() {
  const [dialog, setDialog] = useState(null);
  const [panel, setPanel] = useState(null);
  const conversation = store.active && store.conversations.get(store.active);
  const close = () => setDialog(null);
  const Extra = typeof dialog === 'string' ? extensionDialog(dialog) : null;
  store.openPanel = setPanel;
  store.openDialog = setDialog;
  return html`
    <div class=${`layout ${conversation ? 'has-conversation' : ''} ${panel ? 'has-panel' : ''}`}>
      <${Sidebar} store=${store} openDialog=${setDialog}
        search=${html`<${Search} className="in-sidebar" onSearch=${(query) => setPanel({ kind: 'search', query })}
          onMentions=${() => setPanel({ kind: 'mentions' })} />`} />
      <main class="main">
        <${ConnectionBanner} />
        <${Search} className="in-main" onSearch=${(query) => setPanel({ kind: 'search', query })}
          onMentions=${() => setPanel({ kind: 'mentions' })} />
        ${conversation
          ? html`<${ConversationView} key=${conversation.id} store=${store} conversation=${conversation}
              onBack=${() => { store.active = null; store.changed(); }} openPanel=${setPanel} />`
          : html`<div class="welcome"><h1>Welcome, ${store.name(store.me.id)}</h1>
              <p>Pick a conversation, or start one from the sidebar.</p></div>`}
      </main>
      ${panel && html`<${Panel} store=${store} panel=${panel} onClose=${() => setPanel(null)} />`}
      ${['direct', 'group', 'channel'].includes(dialog) && html`<${NewConversation} store=${store} kind=${dialog} onClose=${close} />`}
      ${dialog === 'browse' && html`<${BrowseChannels} store=${store} onClose=${close} />`}
      ${dialog === 'admin' && html`<${AdminConsole} store=${store} onClose=${close} />`}
      ${dialog === 'details' && html`<${ConversationDetails} store=${store} onClose=${close} />`}
      ${store.lightbox && html`<${Lightbox} key=${store.lightbox.conversationId} store=${store} />`}
      ${Extra && html`<${Extra} store=${store} onClose=${close} />`}
    </div>`;
}

function App() {
  if (store.status === 'loading') return html`<p class="boot">Loading chatd…</p>`;
  if (store.status === 'signed-out') return html`<${AuthView} store=${store} />`;
  return html`<${Main} />`;
}

function draw() {
  render(html`<${App} />`, root);
}

window.addEventListener('hashchange', () => {
  const wanted = location.hash.match(/^#\/c\/(.+)$/);
  if (wanted && store.conversations.has(wanted[1]) && store.active !== wanted[1]) store.open(wanted[1]);
});
draw();
loadEmoji().then(() => store.changed());
startExtensions(store);
store.boot();
