// Integrations in the web client: `/` commands in the composer (completed from
// GET /api/v1/commands, run with POST .../commands, an ephemeral answer shown to the caller
// only), the BOT badge, the conversation's webhooks dialog and the admin console's section.
// It hooks in through extensions.js; the dialogs live in integrations-*.js.

import { html } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';
import { extend } from './extensions.js';
import { renderMarkdown } from './markdown.js';
import { AdminIntegrations } from './integrations-admin.js';
import { WebhooksDialog } from './integrations-webhooks.js';

const COMMAND_AT_START = /^\/([a-z0-9_-]{0,32})$/i; // the caret still in the first word
const COMMAND_LINE = /^\/([a-z0-9_-]{1,32})(\s|$)/i;

let commands = []; // [{trigger, description}], loaded at start and when a run misses
const notes = new Map(); // conversation id -> [{key, command, text}], this tab only
let noteCount = 0;

async function loadCommands() {
  try {
    commands = (await api('GET', '/commands')).commands;
  } catch (err) {
    commands = [];
  }
}

function addNote(store, conversationId, command, text) {
  const list = notes.get(conversationId) || [];
  list.push({ key: ++noteCount, command, text });
  notes.set(conversationId, list.slice(-5));
  store.changed();
}

function dismiss(store, conversationId, key) {
  notes.set(conversationId, (notes.get(conversationId) || []).filter((n) => n.key !== key));
  store.changed();
}

// Whether a message came from a bot or an integration (its BOT badge).
export function fromBot(store, message) {
  if (message.via) return true;
  const author = store.users.get(message.author_id);
  return Boolean(author && author.bot);
}

export function BotBadge({ store, message }) {
  if (!fromBot(store, message)) return null;
  const via = message.via ? ` via ${message.via.name}` : '';
  return html`<span class="bot-badge" title=${`Posted by a bot${via}`}>BOT</span>`;
}

function EphemeralNotes({ store, conversation }) {
  const list = notes.get(conversation.id) || [];
  if (!list.length) return null;
  return html`
    <ul class="ephemeral-notes" aria-label="Only visible to you">
      ${list.map((note) => html`
        <li key=${note.key} class="ephemeral" role="status">
          <span class="bot-badge">BOT</span> <strong>${note.command}</strong>
          <small> · only visible to you</small>
          <div class="body">${renderMarkdown(note.text, new Set())}</div>
          <button type="button" class="link" onClick=${() => dismiss(store, conversation.id, note.key)}>Dismiss</button>
        </li>`)}
    </ul>`;
}

extend({
  start(store) {
    store.on('started', loadCommands);
    // a slow command's later answer through its response_url, for this user only
    store.on('frame', (frame) => {
      if (frame.type === 'command.ephemeral') addNote(store, frame.conversation_id, frame.command, frame.text);
    });
  },

  completions(store, conversation, before) {
    const match = before.match(COMMAND_AT_START);
    if (!match) return [];
    const wanted = match[1].toLowerCase();
    if (commands.some((c) => c.trigger === wanted)) return []; // complete: Enter runs it
    return commands
      .filter((c) => c.trigger.startsWith(wanted))
      .slice(0, 8)
      .map((c) => ({ key: `/${c.trigger}`, label: `/${c.trigger}`, hint: c.description, insert: `/${c.trigger} ` }));
  },

  async beforeSend(store, conversation, body) {
    const match = body.match(COMMAND_LINE);
    if (!match) return false;
    if (!commands.some((c) => c.trigger === match[1].toLowerCase())) await loadCommands();
    const answer = await api('POST', `/conversations/${conversation.id}/commands`, { text: body });
    if (answer.ephemeral && answer.ephemeral.text) {
      addNote(store, conversation.id, `/${match[1].toLowerCase()}`, answer.ephemeral.text);
    }
    return true; // an in_channel answer arrives as a message.created like any other
  },

  conversationNotices(store, conversation) {
    return html`<${EphemeralNotes} key="ephemeral" store=${store} conversation=${conversation} />`;
  },

  conversationActions(store, conversation) {
    if (conversation.kind === 'direct') return [];
    return html`<button type="button" key="webhooks" class="subtle"
      onClick=${() => store.openDialog('webhooks')}>Webhooks</button>`;
  },

  messageBadges(store, message) {
    return html`<${BotBadge} key="bot" store=${store} message=${message} />`;
  },

  adminSections(store) {
    return html`<${AdminIntegrations} key="integrations" store=${store} onCommandsChanged=${loadCommands} />`;
  },

  dialogs: { webhooks: WebhooksDialog },
});
