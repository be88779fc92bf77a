// Home: who is signed in, the personal account, and the app's doors. Elderly mode shows fewer, larger
// tiles with the pay code first.
import { get } from '../api.js';
import { named, t, yuan } from '../i18n.js';
import { card, h, split } from '../ui.js';

export async function render(main) {
  const me = await get('/v1/patient/me');
  const elder = document.documentElement.classList.contains('elder');
  const tiles = elder
    ? [['code', 'code', true], ['orders', 'orders'], ['wallet', 'wallet'], ['family', 'family'], ['premiums', 'premiums'], ['reminders', 'reminders'], ['inbox', 'inbox']]
    : [['code', 'code', true], ['orders', 'orders'], ['wallet', 'wallet'], ['family', 'family'], ['premiums', 'premiums'], ['credit', 'credit'], ['estimate', 'estimate'], ['reminders', 'reminders'], ['inbox', 'inbox'], ['settings', 'settings']];
  main.replaceChildren(
    h('h2', {}, t('welcome', me.name_masked)),
    card(
      split([
        [t('personalAccount'), h('span', { class: 'amount', id: 'home-balance' }, `${yuan(me.account_balance)} ${t('yuan')}`)],
        [t('personNumberShort'), me.person_number],
        [t('status'), named(me.status)],
      ]),
    ),
    h('nav', { class: 'grid', 'aria-label': t('home') }, tiles.map(([path, key, big]) => h('a', { href: `#/${path}`, class: `button tile${big ? ' big' : ''}` }, t(key)))),
  );
}
