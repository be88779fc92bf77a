// The bureau dashboard: an operator signs in with their token (`yibao operator`), then sees the screens
// their role may use; a viewer's screens have no buttons that would be refused. A client of /v1 only.
import { ApiError, get, guarded, h, field, languageButton, t, token, useToken, words } from '/desk/desk.js';
import { WORDS } from './words.js';
import { overviewScreen } from './overview.js';
import { reviewsScreen, reportsScreen } from './queues.js';
import { peopleScreen, referenceScreen } from './people.js';
import { clearingScreen, creditScreen, ledgerScreen } from './money.js';
import { accessScreen } from './access.js';
import { closeScreen } from './close.js';

useToken('yibao.bureau.token');
words(WORDS);

const RANK = { viewer: 0, operator: 1, administrator: 2 };
const main = document.getElementById('main');
let me = null;

/** Whether the signed-in operator's role includes `role`. */
export const can = (role) => me && RANK[me.role] >= RANK[role];

const SCREENS = [
  ['overview', overviewScreen, 'viewer'], ['reviews', reviewsScreen, 'operator'], ['reports', reportsScreen, 'operator'], ['people', peopleScreen, 'viewer'],
  ['reference', referenceScreen, 'viewer'], ['credit', creditScreen, 'viewer'], ['clearing', clearingScreen, 'viewer'], ['close', closeScreen, 'viewer'], ['ledger', ledgerScreen, 'viewer'],
  ['access', accessScreen, 'administrator'],
];

function signInScreen() {
  const input = field(t('tokenLabel'), { id: 'signin-token', type: 'password', autocomplete: 'current-password', required: true });
  const alert = h('p', { role: 'alert', id: 'signin-alert' });
  const form = h('form', { id: 'signin-form', class: 'card signin', novalidate: true }, h('h2', {}, t('signInTitle')), input.element, alert,
    h('button', { type: 'submit', class: 'primary' }, t('signIn')), h('p', { class: 'muted' }, h('a', { href: '/' }, t('demoHint'))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    token.set(input.input.value.trim());
    const found = await guarded(alert, () => get('/v1/admin/me'));
    if (!found) return token.set(null);
    me = found;
    location.hash = '#/overview';
    render();
  });
  main.replaceChildren(form);
  input.input.focus();
}

const route = () => (location.hash.replace(/^#\//, '') || 'overview').split('/')[0];

function header() {
  document.getElementById('title').textContent = t('title');
  document.title = `${t('title')} · Yibao`;
  const nav = document.getElementById('nav');
  const actions = document.getElementById('header-actions');
  actions.replaceChildren(languageButton(render));
  document.getElementById('who').textContent = me ? `${me.name}（${t(me.role)}）` : '';
  nav.hidden = !me;
  if (!me) return;
  nav.replaceChildren(...SCREENS.filter(([, , role]) => can(role)).map(([id]) => h('a', { href: `#/${id}`, id: `nav-${id}`, 'aria-current': route() === id ? 'page' : undefined }, t(id))));
  const out = h('button', { type: 'button', class: 'link', id: 'sign-out' }, t('signOut'));
  out.addEventListener('click', () => {
    token.set(null);
    me = null;
    render();
  });
  actions.append(out);
}

async function render() {
  if (token.get() && !me) {
    try {
      me = await get('/v1/admin/me');
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
    }
  }
  header();
  if (!me) return signInScreen();
  const [, screen] = SCREENS.find(([id, , role]) => id === route() && can(role)) ?? SCREENS[0];
  main.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  return screen(main, { can, me });
}

window.addEventListener('hashchange', render);
window.addEventListener('desk:signed-out', () => {
  me = null;
  render();
});
render();
