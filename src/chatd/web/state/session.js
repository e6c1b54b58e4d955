// Signing in and out: the first load, the session's start (conversations, socket) and end.

import { api } from '../api.js';
import { Socket } from '../socket.js';

export const sessionMethods = {
  async boot() {
    try {
      this.info = await api('GET', '/info');
      const { user } = await api('GET', '/users/me');
      await this._start(user);
    } catch (err) {
      if (err.status !== 401) this.notice = err.message;
      const setup = await api('GET', '/setup').catch(() => ({ needed: false }));
      this.setupNeeded = setup.needed;
      this.status = 'signed-out';
      this.changed();
    }
  },

  async signIn(path, body) {
    const result = await api('POST', path, { ...body, session_cookie: true });
    history.replaceState(null, '', '/');
    await this._start(result.user);
  },

  async signOut() {
    try {
      await api('POST', '/auth/logout');
    } finally {
      this._stop();
      this.status = 'signed-out';
      this.changed();
    }
  },

  async _start(user) {
    this.me = user;
    this.users.set(user.id, user);
    this.status = 'ready';
    await this.refreshConversations();
    const wanted = location.hash.match(/^#\/c\/(.+)$/);
    if (wanted && this.conversations.has(wanted[1])) this.open(wanted[1]);
    else this.openLanding();
    this.socket = new Socket(this);
    this.socket.connect();
    this.emit('started');
    this.changed();
  },

  _stop() {
    if (this.socket) this.socket.stop();
    this.socket = null;
    this.me = null;
    this.conversations.clear();
    this.threads.clear();
    this.active = null;
    this.emit('stopped');
  },

  expired() {
    this._stop();
    this.status = 'signed-out';
    this.notice = 'You were signed out.';
    this.changed();
  },
};
