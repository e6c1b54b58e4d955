// First-run setup, sign in and registration.

import { html, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';

function fromHash(key) {
  const match = location.hash.match(new RegExp(`[#&]${key}=([^&]+)`));
  return match ? decodeURIComponent(match[1]) : '';
}

function Field({ label, type = 'text', value, onInput, autocomplete, error }) {
  return html`
    <label class="field">
      <span>${label}</span>
      <input type=${type} value=${value} autocomplete=${autocomplete} required
        aria-invalid=${error ? 'true' : undefined}
        onInput=${(e) => onInput(e.currentTarget.value)} />
      ${error && html`<small class="field-error">${error}</small>`}
    </label>`;
}

export function AuthView({ store }) {
  const path = location.pathname;
  const initial = path === '/setup' || store.setupNeeded ? 'setup'
    : path === '/register' ? 'register' : 'login';
  const [mode, setMode] = useState(initial);
  const [token, setToken] = useState(fromHash('token'));
  const [invite, setInvite] = useState(fromHash('invite'));
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(store.notice || '');
  const [fields, setFields] = useState({});
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError('');
    setFields({});
    try {
      if (mode === 'setup') {
        await store.signIn('/setup', { setup_token: token, username, password });
      } else if (mode === 'register') {
        await store.signIn('/auth/register', { invite: invite || undefined, username, password });
      } else {
        await store.signIn('/auth/login', { username, password });
      }
      store.notice = null;
    } catch (err) {
      setError(err.message);
      setFields(err.fields || {});
    } finally {
      setBusy(false);
    }
  }

  const titles = { setup: 'Set up chatd', register: 'Create your account', login: 'Sign in to chatd' };
  const buttons = { setup: 'Create admin account', register: 'Create account', login: 'Sign in' };
  const canRegister = store.info.registration !== 'closed';
  return html`
    <main class="auth">
      <form class="auth-card" onSubmit=${submit}>
        <img src="/static/icon.svg" alt="" width="48" height="48" />
        <h1>${titles[mode]}</h1>
        ${mode === 'setup' && html`<p class="hint">Create the first account. It will be the admin.</p>`}
        ${mode === 'setup' && html`<${Field} label="Setup token" value=${token} onInput=${setToken}
          autocomplete="off" error=${fields.setup_token} />`}
        ${mode === 'register' && store.info.registration === 'invite' && html`
          <${Field} label="Invite code" value=${invite} onInput=${setInvite} autocomplete="off" />`}
        <${Field} label="Username" value=${username} onInput=${setUsername}
          autocomplete="username" error=${fields.username} />
        <${Field} label="Password" type="password" value=${password} onInput=${setPassword}
          autocomplete=${mode === 'login' ? 'current-password' : 'new-password'}
          error=${fields.password} />
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button class="primary" type="submit" disabled=${busy}>${buttons[mode]}</button>
        ${mode === 'login' && canRegister && html`
          <p class="switch">New here? <button type="button" class="link"
            onClick=${() => setMode('register')}>Create an account</button></p>`}
        ${mode === 'register' && html`
          <p class="switch">Have an account? <button type="button" class="link"
            onClick=${() => setMode('login')}>Sign in</button></p>`}
      </form>
    </main>`;
}
