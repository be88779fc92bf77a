// Me: the profile, inbox, devices (revoking this browser forgets its key), signed-in sessions, sign out.
import { del, get, session } from '../api.js';
import { dateTime, named, t } from '../i18n.js';
import { go } from '../main.js';
import { actionButton, card, h, split } from '../ui.js';
import { forgetDevice, loadDevice } from '../voucher.js';

export async function render(main) {
  const [me, devices, sessions, coverage] = await Promise.all([
    get('/v1/patient/me'),
    get('/v1/patient/devices'),
    get('/v1/patient/sessions'),
    get('/v1/patient/coverage'),
  ]);
  const local = await loadDevice();
  main.replaceChildren(
    h('h2', {}, t('settings')),
    card(
      split([
        [t('personNumber'), me.person_number],
        [t('status'), named(me.status)],
        [t('signedInUntil'), dateTime(me.session_expires_at)],
        [t('coverage'), coverage.map((c) => `${named(c.kind)} ${c.period}`).join('，') || t('none')],
      ]),
    ),
    h('nav', { class: 'grid', 'aria-label': t('more') }, [
      ['inbox', 'inbox'], ['premiums', 'premiums'], ['credit', 'credit'],
    ].map(([path, key]) => h('a', { href: `#/${path}`, class: 'button tile' }, t(key)))),
    card(
      h('h3', {}, t('devices')),
      devices.length
        ? h('ul', { class: 'list', id: 'devices' }, devices.map((d) => h('li', {}, h('div', { class: 'row' },
          h('span', {}, d.name, local?.deviceId === d.id ? ` (${t('thisDevice')})` : '', d.revoked_at ? ` · ${t('revoke')}` : ''),
          d.revoked_at ? null : actionButton(t('revokeDevice'), async () => {
            await del(`/v1/patient/devices/${d.id}`);
            if (local?.deviceId === d.id) await forgetDevice();
            go('settings');
          }, { cls: 'danger', label: `${t('revokeDevice')} ${d.name}` })))))
        : h('p', { class: 'muted' }, t('none')),
    ),
    card(
      h('h3', {}, t('sessions')),
      h('ul', { class: 'list', id: 'sessions' }, sessions.map((s) => h('li', {}, h('div', { class: 'row' },
        h('span', {}, dateTime(s.created_at), s.id === me.session_id ? ` (${t('thisDevice')})` : ''),
        s.id === me.session_id ? null : actionButton(t('endSession'), async () => {
          await del(`/v1/patient/sessions/${s.id}`);
          go('settings');
        }, { label: `${t('endSession')} ${dateTime(s.created_at)}` }))))),
      actionButton(t('endAll'), async () => {
        await del('/v1/patient/sessions');
        session.token = null;
        go('signin');
      }, { cls: 'danger' }),
    ),
    actionButton(t('signOut'), async () => {
      await del(`/v1/patient/sessions/${me.session_id}`).catch(() => {});
      session.token = null;
      go('signin');
    }, { cls: 'primary' }),
  );
}
