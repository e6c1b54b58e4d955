// All client state in one place. Views read it and call its methods; every change calls
// `changed()`, which re-renders (Preact diffs the tree, so that stays cheap).
//
// The methods live in one module per concern under state/ and are mixed into the class,
// so that views keep one `store` to talk to while each file stays short:
//   session.js (sign in and out), people.js (users, presence), conversations.js (the list,
//   the open one, read markers), history.js (messages held per conversation), sending.js
//   (sending, the offline queue, edits, reactions), typing.js, notify.js (desktop notices).
// Small client modules (integrations, notifications) subscribe with `store.on(name, fn)`:
//   'started' (signed in, socket made), 'stopped', 'frame' (every WebSocket frame),
//   'message' (a live message.created).

import { conversationMethods } from './state/conversations.js';
import { historyMethods } from './state/history.js';
import { notifyMethods } from './state/notify.js';
import { peopleMethods } from './state/people.js';
import { sendingMethods } from './state/sending.js';
import { sessionMethods } from './state/session.js';
import { typingMethods } from './state/typing.js';

export class Store {
  constructor(onChange) {
    this.onChange = onChange;
    this.listeners = new Map(); // event name -> Set of functions
    this.me = null;
    this.status = 'loading'; // loading | signed-out | ready
    this.info = { registration: 'invite' };
    this.users = new Map();
    this.presence = new Map();
    this.conversations = new Map();
    this.active = null;
    this.threads = new Map(); // conversation id -> { items, hasOlder, loaded, dividerSeq }
    this.typing = new Map(); // conversation id -> Map(user id -> expiry ms)
    this.pending = new Map(); // client id -> pending message
    this.connection = 'connecting';
    this.socket = null;
    this.notice = null;
    this.quoted = new Map(); // messages fetched for reply quotes
    this.highlight = null; // a message opened from search or pins
    this.replierCache = new Map(); // thread root id -> { count, ids } asked of the server
    this.lightbox = null; // { conversationId, fileId } while the image viewer is open
    this.selectedMessage = null; // on phones: the message whose actions are shown
    this.focused = !document.hidden;
    this._scheduled = false;
    setInterval(() => this._expireTyping(), 1000);
    document.addEventListener('visibilitychange', () => {
      this.focused = !document.hidden;
      if (this.focused) this.markSeen();
      this.emit('visibility', this.focused);
    });
  }

  changed() {
    if (this._scheduled) return;
    this._scheduled = true;
    queueMicrotask(() => {
      this._scheduled = false;
      this._updateTitle();
      this.onChange();
    });
  }

  // Subscribe to an event; returns the function that unsubscribes.
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  // A listener that throws must not break the client's own handling of the event.
  emit(name, ...args) {
    for (const fn of this.listeners.get(name) || []) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`chatd: a '${name}' listener failed`, err);
      }
    }
  }
}

Object.assign(
  Store.prototype,
  sessionMethods,
  peopleMethods,
  conversationMethods,
  historyMethods,
  sendingMethods,
  typingMethods,
  notifyMethods,
);
