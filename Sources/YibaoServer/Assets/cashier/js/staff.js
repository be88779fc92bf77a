// The institution's staff, for a manager: who may sign in, create an account (the authenticator key
// is shown once), disable one (its sessions end at once).
import { field, get, guarded, h, post, t, table } from '/desk/desk.js';

export async function staffScreen(main, me) {
  const alert = h('p', { role: 'alert', id: 'staff-alert' });
  const list = h('div', { id: 'staff-list' });
  const name = field(t('loginName'), { id: 'new-name', autocomplete: 'off' });
  const display = field(t('displayName'), { id: 'new-display', autocomplete: 'off' });
  const role = field(t('role'), { id: 'new-role', options: [['cashier', t('cashier')], ['manager', t('manager')]] });
  const password = field(t('password'), { id: 'new-password', type: 'password', autocomplete: 'new-password' });
  const created = h('div', { id: 'staff-created', role: 'status' });
  const form = h('form', { id: 'staff-form', class: 'card', novalidate: true }, h('h3', {}, t('newMember')), h('div', { class: 'row' }, name.element, display.element, role.element, password.element),
    h('button', { type: 'submit', class: 'primary' }, t('save')), created);
  main.replaceChildren(h('h2', {}, t('members')), alert, list, form);

  async function load() {
    const members = await guarded(alert, () => get('/v1/staff/members'));
    if (!members) return;
    list.replaceChildren(table(t('members'), [t('loginName'), t('displayName'), t('role'), t('state'), t('actions')], members.map((m) =>
      h('tr', { 'data-member': m.name }, h('td', {}, m.name), h('td', {}, m.display_name), h('td', {}, t(m.role)), h('td', {}, m.disabled_at ? t('disabled') : ''),
        h('td', {}, !m.disabled_at && m.name !== me.name ? h('button', { type: 'button', class: 'danger', onclick: () => disable(m.name) }, t('disable')) : '')))));
  }

  async function disable(member) {
    if ((await guarded(alert, () => post(`/v1/staff/members/${encodeURIComponent(member)}/disable`))) !== undefined) await load();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const answer = await guarded(alert, () => post('/v1/staff/members', { name: name.input.value.trim(), display_name: display.input.value.trim(), role: role.input.value, password: password.input.value }));
    if (!answer) return;
    created.replaceChildren(h('p', {}, t('created')), h('code', { id: 'created-key' }, answer.totp_secret));
    form.reset();
    await load();
  });
  await load();
}
