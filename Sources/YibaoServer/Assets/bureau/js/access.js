// Access, for administrators: the operators (revoke a leaked token, disable someone who left) and
// each institution's API keys (issue one — its secret is shown once — and revoke a leaked one at once).
// Every action is audited by the API with the administrator's name; each asks to be confirmed first.
import { confirmed, dateTime, del, field, get, guarded, h, post, t, table } from '/desk/desk.js';

const keyState = (k) => (k.revoked_at ? `${t('revokedAt')} ${dateTime(k.revoked_at)}` : k.expires_at ? `${t('expiresAt')} ${dateTime(k.expires_at)}` : t('keyLive'));

export async function accessScreen(main, { me }) {
  const alert = h('p', { role: 'alert', id: 'access-alert' });
  const operators = h('section', { class: 'card', id: 'operators-card' });
  const keys = h('section', { class: 'card', id: 'keys-card' });
  main.replaceChildren(h('h2', {}, t('access')), alert, operators, keys);

  async function loadOperators() {
    const list = await guarded(alert, () => get('/v1/admin/operators'));
    if (!list) return;
    operators.replaceChildren(table(t('operators'), [t('name'), t('role'), t('createdAt'), t('state'), t('liveTokens'), ''], list.map((o) => {
      const act = (path, done) => async () => {
        if (await guarded(alert, () => post(`/v1/admin/operators/${encodeURIComponent(o.name)}/${path}`, {})) === undefined) return;
        await loadOperators();
        alert.textContent = done(o.name);
      };
      const actions = o.name === me.name ? h('span', { class: 'muted' }, t('yourself'))
        : o.disabled_at ? ''
        : h('span', {}, confirmed(t('revokeTokens'), t('confirmRevokeTokens', o.name), `revoke-tokens-${o.name}`, act('token-revocation', (n) => t('tokensRevoked', n))), ' ',
          confirmed(t('disable'), t('confirmDisable', o.name), `disable-${o.name}`, act('disable', (n) => t('disabled', n))));
      return h('tr', { 'data-operator': o.name }, h('td', {}, o.name), h('td', {}, t(o.role)), h('td', {}, dateTime(o.created_at)),
        h('td', { class: o.disabled_at ? 'error' : 'ok', 'data-state': o.disabled_at ? 'disabled' : 'active' }, o.disabled_at ? `${t('disabledAt')} ${dateTime(o.disabled_at)}` : t('active')),
        h('td', { class: 'num', 'data-live': String(o.live_tokens) }, String(o.live_tokens)), h('td', {}, actions));
    }), { id: 'operators' }));
  }

  const institutions = await guarded(alert, () => get('/v1/admin/institutions'));
  const chooser = field(t('institutionCol'), { id: 'keys-institution', options: (institutions ?? []).map((i) => [i.code, `${i.code} ${i.name}`]) });
  const issued = h('div', { id: 'key-issued', role: 'status' });
  const list = h('div', { id: 'keys-list' });
  async function loadKeys() {
    const code = chooser.input.value;
    const found = await guarded(alert, () => get(`/v1/admin/institutions/${encodeURIComponent(code)}/keys`));
    if (!found) return list.replaceChildren();
    list.replaceChildren(table(t('keysOf', code), [t('keyId'), t('createdAt'), t('state'), ''], found.map((k) => {
      const revoke = k.revoked_at ? '' : confirmed(t('revoke'), t('confirmRevokeKey', k.key_id), `revoke-${k.key_id}`, async () => {
        if (await guarded(alert, () => del(`/v1/admin/institutions/${encodeURIComponent(code)}/keys/${encodeURIComponent(k.key_id)}`)) === undefined) return;
        issued.replaceChildren();
        await loadKeys();
        alert.textContent = t('keyRevoked', k.key_id);
      });
      return h('tr', { 'data-key': k.key_id }, h('td', {}, h('code', {}, k.key_id)), h('td', {}, dateTime(k.created_at)),
        h('td', { class: k.revoked_at ? 'error' : '', 'data-state': k.revoked_at ? 'revoked' : k.expires_at ? 'expiring' : 'live' }, keyState(k)), h('td', {}, revoke));
    }), { id: 'keys' }));
  }
  const issue = h('button', { type: 'button', class: 'primary', id: 'issue-key' }, t('issueKey'));
  issue.addEventListener('click', async () => {
    const credential = await guarded(alert, () => post(`/v1/admin/institutions/${encodeURIComponent(chooser.input.value)}/keys`, {}));
    if (!credential) return;
    // The secret exists in clear only in this answer: shown once, to be handed to the hospital's HIS team.
    issued.replaceChildren(h('p', {}, t('secretOnce')), h('dl', { class: 'split secret' },
      h('dt', {}, t('keyId')), h('dd', {}, h('code', { id: 'issued-key-id' }, credential.key_id)),
      h('dt', {}, t('secret')), h('dd', {}, h('code', { id: 'issued-secret' }, credential.secret))));
    await loadKeys();
  });
  chooser.input.addEventListener('change', () => {
    issued.replaceChildren();
    loadKeys();
  });
  keys.replaceChildren(h('h3', {}, t('institutionKeys')), h('div', { class: 'row' }, chooser.element, issue), h('p', { class: 'muted' }, t('keysNote')), issued, list);
  await Promise.all([loadOperators(), institutions?.length ? loadKeys() : null]);
}
