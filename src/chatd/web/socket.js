// The live connection: cookie-authenticated WebSocket, reconnect with backoff and jitter,
// heartbeats, and a resync from `hello` so that nothing is missed or shown twice.

// Backoff: from half a second, doubling, capped at 3 s while the page is visible (a person
// is waiting) and at 30 s while it is hidden; a visible page or the browser's `online` event
// tries again at once.
const MIN_DELAY_MS = 500;
const MAX_VISIBLE_DELAY_MS = 3000;
const MAX_HIDDEN_DELAY_MS = 30000;

function lost(message) {
  const err = new Error(message);
  err.offline = true; // the send may be retried with the same client_id
  return err;
}

export class Socket {
  constructor(store) {
    this.store = store;
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.refs = new Map(); // ref -> { resolve, reject, timer }
    this.nextRef = 1;
    this.heartbeat = null;
    this.lastFrameAt = 0;
    this.retryTimer = null;
    this.nextTryAt = 0;
    this.retryNow = () => {
      if (this.stopped || !this.retryTimer) return;
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.connect();
    };
    document.addEventListener('visibilitychange', () => { if (!document.hidden) this.retryNow(); });
    window.addEventListener('online', this.retryNow);
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    this.ws = ws;
    this.store.connection = this.attempt ? 'reconnecting' : 'connecting';
    this.store.changed();
    ws.onmessage = (event) => {
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      this.handle(frame);
    };
    ws.onclose = (event) => this.closed(ws, event.code);
  }

  isOpen() {
    return this.ws && this.ws.readyState === WebSocket.OPEN && this.store.connection === 'online';
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  // A frame that expects an answer: resolves with the `ack`, rejects on `error`.
  request(frame, timeoutMs = 10000) {
    const ref = `r${this.nextRef++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.refs.delete(ref);
        reject(lost('no answer from the server'));
      }, timeoutMs);
      this.refs.set(ref, { resolve, reject, timer });
      this.send({ ...frame, ref });
    });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    window.removeEventListener('online', this.retryNow);
    clearInterval(this.heartbeat);
    if (this.ws) this.ws.close(1000);
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    clearInterval(this.heartbeat);
    for (const { reject, timer } of this.refs.values()) {
      clearTimeout(timer);
      reject(lost('connection lost'));
    }
    this.refs.clear();
    if (this.stopped) return;
    if (code === 4001) {
      this.store.expired();
      return;
    }
    this.attempt += 1;
    const cap = document.hidden ? MAX_HIDDEN_DELAY_MS : MAX_VISIBLE_DELAY_MS;
    const ceiling = Math.min(cap, MIN_DELAY_MS * 2 ** Math.min(this.attempt, 10));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.store.connection = 'offline';
    this.nextTryAt = Date.now() + delay;
    this.store.changed();
    this.retryTimer = setTimeout(() => { this.retryTimer = null; this.connect(); }, delay);
  }

  async hello(frame) {
    const store = this.store;
    this.attempt = 0;
    store.connection = 'online';
    store.me = frame.user;
    store.users.set(frame.user.id, frame.user);
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastFrameAt > frame.heartbeat_s * 2500) {
        this.ws.close(4000); // silent for too long: reconnect
        return;
      }
      this.send({ type: 'ping' });
    }, frame.heartbeat_s * 1000);
    const known = new Map([...store.conversations].map(([id, c]) => [id, c.last_seq]));
    const changedIds = frame.conversations.filter((c) => known.get(c.id) !== c.last_seq);
    if (changedIds.length || frame.conversations.length !== known.size) {
      await store.refreshConversations();
    }
    for (const { id } of changedIds) await store.fillGap(id).catch(() => null);
    store.loadPresence().catch(() => null);
    await store.flushQueue();
    store.changed();
  }

  handle(frame) {
    const store = this.store;
    store.emit('frame', frame);
    switch (frame.type) {
      case 'hello':
        this.hello(frame);
        break;
      case 'ack':
      case 'error': {
        const waiting = frame.ref && this.refs.get(frame.ref);
        if (waiting) {
          this.refs.delete(frame.ref);
          clearTimeout(waiting.timer);
          if (frame.type === 'ack') waiting.resolve(frame);
          else waiting.reject(new Error(frame.message));
        }
        break;
      }
      case 'message.created':
        store.addMessage(frame.message, true);
        store.notify(frame.message);
        store.emit('message', frame.message);
        if (frame.message.conversation_id === store.active) store.markSeen();
        break;
      case 'message.updated':
        store.replaceMessage(frame.message);
        break;
      case 'message.deleted':
        store.tombstone(frame.conversation_id, frame.message_id);
        break;
      case 'conversation.created':
      case 'conversation.updated':
        store.mergeConversation(frame.conversation, frame.own === true);
        break;
      case 'member.added':
        if (frame.user_id === store.me.id) store.refreshConversations();
        else {
          this.members(frame.conversation_id, (ids) => [...ids, frame.user_id]);
          store.ensureUsers([frame.user_id]).then(() => store.addNotice(frame.conversation_id, `${store.name(frame.user_id)} joined`));
        }
        break;
      case 'member.removed':
        if (frame.user_id === store.me.id) {
          store.conversations.delete(frame.conversation_id);
          if (store.active === frame.conversation_id) store.active = null;
          store.changed();
        } else {
          this.members(frame.conversation_id, (ids) => ids.filter((id) => id !== frame.user_id));
          store.addNotice(frame.conversation_id, `${store.name(frame.user_id)} left`);
        }
        break;
      case 'user.updated':
        store.users.set(frame.user.id, frame.user);
        store.changed();
        break;
      case 'presence':
        store.setPresence(frame.presence);
        break;
      case 'typing':
        store.sawTyping(frame.conversation_id, frame.user_id);
        break;
      case 'read':
        store.applyRead(frame.conversation_id, frame.seq);
        break;
      default:
        break;
    }
  }

  members(conversationId, change) {
    const conversation = this.store.conversations.get(conversationId);
    if (!conversation) return;
    conversation.members = [...new Set(change(conversation.members))];
    this.store.ensureUsers(conversation.members);
    this.store.changed();
  }
}
