// Access, for administrators: the operators (create one, change another's role, issue a new token — each
// token shown once —, revoke a leaked token, disable someone who left), each
// institution's API keys (issue one — its secret is shown once — and revoke a leaked one at once), and
// institutions registered or changed (a new hospital, then its first key), and partners' webhooks
// (webhooks.js).
// Every action is audited by the API with the administrator's name; each asks to be confirmed first.
import { confirmed, dateTime, del, field, get, guarded, h, post, put, shownOnce, t, table } from '/desk/desk.js';
import { webhooksSection } from './webhooks.js';

const ROLES = ['viewer', 'operator', 'administrator'];

const keyState = (k) => (k.revoked_at ? `${t('revokedAt')} ${dateTime(k.revoked_at)}` : k.expires_at ? `${t('expiresAt')} ${dateTime(k.expires_at)}` : t('keyLive'));

export async function accessScreen(main, { me }) {
  const alert = h('p', { role: 'alert', id: 'access-alert' });
  const operators = h('section', { class: 'card', id: 'operators-card' });
  const keys = h('section', { class: 'card', id: 'keys-card' });
  main.replaceChildren(h('h2', {}, t('access')), alert, operators, keys);

  // An operator's token, to be handed over in person.
  const token = h('div', { id: 'operator-token', role: 'status' });
  const showToken = (credential) => token.replaceChildren(...shownOnce(t('tokenOnce', credential.operator_name, dateTime(credential.expires_at)),
    [[t('operatorToken'), 'issued-token', credential.token]]));
  const name = field(t('loginName'), { id: 'operator-name', autocomplete: 'off', maxlength: '50' });
  const role = field(t('role'), { id: 'operator-role', options: [['viewer', t('viewer')], ['operator', t('operator')], ['administrator', t('administrator')]] });
  const create = h('form', { id: 'operator-form', novalidate: true }, h('h3', {}, t('addOperator')), h('p', { class: 'muted' }, t('addOperatorNote')),
    h('div', { class: 'row' }, name.element, role.element, h('button', { type: 'submit', class: 'primary' }, t('create'))));
  create.addEventListener('submit', async (event) => {
    event.preventDefault();
    const credential = await guarded(alert, () => post('/v1/admin/operators', { name: name.input.value.trim(), role: role.input.value }));
    if (!credential) return;
    name.input.value = '';
    await loadOperators();
    showToken(credential);
  });

  async function loadOperators() {
    const list = await guarded(alert, () => get('/v1/admin/operators'));
    if (!list) return;
    token.replaceChildren();
    const issueToken = (o) => h('button', { type: 'button', 'data-token': o.name, onclick: async () => {
      const credential = await guarded(alert, () => post(`/v1/admin/operators/${encodeURIComponent(o.name)}/tokens`, {}));
      if (!credential) return;
      await loadOperators();
      showToken(credential);
    } }, t('issueToken'));
    // Another enabled operator's role, chosen and then confirmed; their tokens keep working with it.
    const roleCell = (o) => {
      if (o.name === me.name || o.disabled_at) return h('td', { 'data-role': o.role }, t(o.role));
      const select = h('select', { 'aria-label': t('roleOf', o.name), 'data-role-of': o.name }, ROLES.map((r) => h('option', { value: r, selected: r === o.role }, t(r))));
      const cell = h('td', { 'data-role': o.role }, select);
      select.addEventListener('change', () => cell.replaceChildren(select, ' ', select.value === o.role ? ''
        : confirmed(t('changeRole'), t('confirmRole', o.name, t(select.value)), `role-${o.name}`, async () => {
          const role = select.value;
          if (await guarded(alert, () => put(`/v1/admin/operators/${encodeURIComponent(o.name)}/role`, { role })) === undefined) return;
          await loadOperators();
          alert.textContent = t('roleChanged', o.name, t(role));
        })));
      return cell;
    };
    operators.replaceChildren(table(t('operators'), [t('name'), t('role'), t('createdAt'), t('state'), t('liveTokens'), ''], list.map((o) => {
      const act = (path, done) => async () => {
        if (await guarded(alert, () => post(`/v1/admin/operators/${encodeURIComponent(o.name)}/${path}`, {})) === undefined) return;
        await loadOperators();
        alert.textContent = done(o.name);
      };
      const actions = o.name === me.name ? h('span', { class: 'muted' }, t('yourself'))
        : o.disabled_at ? ''
        : h('span', {}, issueToken(o), ' ', confirmed(t('revokeTokens'), t('confirmRevokeTokens', o.name), `revoke-tokens-${o.name}`, act('token-revocation', (n) => t('tokensRevoked', n))), ' ',
          confirmed(t('disable'), t('confirmDisable', o.name), `disable-${o.name}`, act('disable', (n) => t('disabled', n))));
      return h('tr', { 'data-operator': o.name }, h('td', {}, o.name), roleCell(o), h('td', {}, dateTime(o.created_at)),
        h('td', { class: o.disabled_at ? 'error' : 'ok', 'data-state': o.disabled_at ? 'disabled' : 'active' }, o.disabled_at ? `${t('disabledAt')} ${dateTime(o.disabled_at)}` : t('active')),
        h('td', { class: 'num', 'data-live': String(o.live_tokens) }, String(o.live_tokens)), h('td', {}, actions));
    }), { id: 'operators' }), token, create);
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
    // To be handed to the hospital's HIS team.
    issued.replaceChildren(...shownOnce(t('secretOnce'), [[t('keyId'), 'issued-key-id', credential.key_id], [t('secret'), 'issued-secret', credential.secret]]));
    await loadKeys();
  });
  chooser.input.addEventListener('change', () => {
    issued.replaceChildren();
    loadKeys();
    fill(known.get(chooser.input.value));
  });

  // An institution registered or changed (PUT /v1/admin/institutions/{code}): a new hospital is then
  // chosen above, ready for its first key.
  const known = new Map((institutions ?? []).map((i) => [i.code, i]));
  const form = {
    code: field(t('institutionCode'), { id: 'institution-code', autocomplete: 'off', maxlength: '30' }),
    name: field(t('institutionName'), { id: 'institution-name', autocomplete: 'off', maxlength: '200' }),
    region: field(t('region'), { id: 'institution-region', options: [['440100', '440100 广州'], ['620100', '620100 兰州']] }),
    level: field(t('level'), { id: 'institution-level', options: [['community', t('level_community')], ['1', t('level_1')], ['2', t('level_2')], ['3', t('level_3')], ['3A', t('level_3A')]] }),
    kind: field(t('institutionKind'), { id: 'institution-kind', options: [['hospital', t('kind_hospital')], ['pharmacy', t('kind_pharmacy')]] }),
    payout_account: field(t('payoutAccount'), { id: 'institution-payout', autocomplete: 'off', maxlength: '64' }),
  };
  function fill(institution) {
    for (const [key, f] of Object.entries(form)) {
      const value = institution?.[key];
      // A value the list does not offer (another region) is added, never silently replaced by the first.
      if (f.input.tagName === 'SELECT' && value != null && ![...f.input.options].some((o) => o.value === value)) f.input.append(h('option', { value }, value));
      f.input.value = value ?? (f.input.tagName === 'SELECT' ? f.input.options[0].value : '');
    }
  }
  const saved = h('p', { role: 'status', id: 'institution-result' });
  const editor = h('form', { class: 'card', id: 'institution-form', novalidate: true }, h('h3', {}, t('institutionEdit')), h('p', { class: 'muted' }, t('institutionNote')),
    h('div', { class: 'row' }, Object.values(form).map((f) => f.element)), h('button', { type: 'submit', class: 'primary' }, t('save')), saved);
  editor.addEventListener('submit', async (event) => {
    event.preventDefault();
    const code = form.code.input.value.trim();
    const body = { name: form.name.input.value.trim(), region: form.region.input.value, level: form.level.input.value, kind: form.kind.input.value,
      payout_account: form.payout_account.input.value.trim() || undefined };
    const institution = await guarded(saved, () => put(`/v1/admin/institutions/${encodeURIComponent(code)}`, body));
    if (!institution) return;
    const existed = known.has(institution.code);
    known.set(institution.code, institution);
    if (!existed) chooser.input.append(h('option', { value: institution.code }, `${institution.code} ${institution.name}`));
    chooser.input.value = institution.code;
    issued.replaceChildren();
    await loadKeys();
    saved.textContent = t(existed ? 'institutionUpdated' : 'institutionCreated', institution.code);
  });
  fill(known.get(chooser.input.value));
  keys.replaceChildren(h('h3', {}, t('institutionKeys')), h('div', { class: 'row' }, chooser.element, issue), h('p', { class: 'muted' }, t('keysNote')), issued, list);
  main.append(editor);
  await Promise.all([loadOperators(), institutions?.length ? loadKeys() : null]);
  main.append(await webhooksSection(alert));
}
