// The admin console's invites: make one with a chosen expiry and number of uses, list the
// unexpired ones with their uses, revoke one (after a confirmation) so it stops at once.

import { html, useEffect, useState } from './vendor/htm-preact-standalone-3.1.1.mjs';
import { api } from './api.js';

const EXPIRIES = [
  [3600, '1 hour'], [86400, '1 day'], [7 * 86400, '7 days'], [30 * 86400, '30 days'], [365 * 86400, '1 year'],
];

function usesOf(invite) {
  return invite.max_uses ? `${invite.uses} of ${invite.max_uses}` : `${invite.uses} (no limit)`;
}

export function Invites({ store, report }) {
  const [invites, setInvites] = useState([]);
  const [version, setVersion] = useState(0);
  const [expires, setExpires] = useState(String(7 * 86400));
  const [maxUses, setMaxUses] = useState('');
  const [made, setMade] = useState(null);
  const [revoking, setRevoking] = useState(null);

  useEffect(() => {
    api('GET', '/admin/invites').then(({ invites: found }) => {
      setInvites(found);
      store.ensureUsers(found.map((i) => i.created_by));
    }).catch((err) => report(err));
  }, [version]);

  async function create(event) {
    event.preventDefault();
    const body = { expires_in_s: Number(expires) };
    if (maxUses.trim()) body.max_uses = Number(maxUses);
    try {
      setMade(await api('POST', '/admin/invites', body));
      report(null);
      setVersion(version + 1);
    } catch (err) {
      report(err);
    }
  }

  async function revoke(invite) {
    try {
      await api('DELETE', `/admin/invites/${encodeURIComponent(invite.code)}`);
      if (made && made.code === invite.code) setMade(null);
      report(null, 'Invite revoked: the link no longer works.');
    } catch (err) {
      report(err);
    }
    setRevoking(null);
    setVersion(version + 1);
  }

  return html`
    <section class="stack" aria-labelledby="admin-invites">
      <h3 id="admin-invites">Invites</h3>
      <form class="row" onSubmit=${create}>
        <label class="field"><span>Expires after</span>
          <select value=${expires} onChange=${(e) => setExpires(e.currentTarget.value)}>
            ${EXPIRIES.map(([seconds, label]) => html`<option value=${String(seconds)}>${label}</option>`)}
          </select></label>
        <label class="field"><span>Uses (empty: no limit)</span>
          <input type="number" min="1" max="100000" value=${maxUses}
            onInput=${(e) => setMaxUses(e.currentTarget.value)} /></label>
        <button type="submit">Create invite link</button>
      </form>
      ${made && html`<div class="row"><input readonly aria-label="Invite link" value=${made.url} />
        <button type="button" onClick=${() => navigator.clipboard.writeText(made.url).then(() => report(null, 'Copied.'))}>Copy</button></div>`}
      ${invites.length
        ? html`<table class="invite-table" aria-label="Invites">
            <thead><tr><th>Code</th><th>Uses</th><th>Expires</th><th>Made by</th><th></th></tr></thead>
            <tbody>${invites.map((invite) => html`<tr key=${invite.code}>
              <td><code>${invite.code.slice(0, 8)}…</code></td>
              <td>${usesOf(invite)}</td>
              <td>${invite.expires_at ? new Date(invite.expires_at).toLocaleString() : 'never'}</td>
              <td>${invite.created_by ? store.name(invite.created_by) : 'command line'}</td>
              <td>${revoking === invite.code
                ? html`<span class="confirm-box" role="group" aria-label="Confirm revoking">
                    Revoke? <button type="button" class="danger" onClick=${() => revoke(invite)}>Yes, revoke</button>
                    <button type="button" onClick=${() => setRevoking(null)}>Cancel</button></span>`
                : html`<button type="button" aria-label=${`Revoke invite ${invite.code.slice(0, 8)}`}
                    onClick=${() => setRevoking(invite.code)}>Revoke</button>`}</td>
            </tr>`)}</tbody></table>`
        : html`<p class="empty">No unexpired invites.</p>`}
    </section>`;
}
