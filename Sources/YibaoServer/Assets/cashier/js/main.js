// The cashier console: sign-in (institution, name, password, authenticator code), then the counter,
// the day's settlements and — for a manager — the staff. A client of the public /v1 API only.
import { ApiError, del, get, guarded, h, field, languageButton, post, t, token, useToken, words } from '/desk/desk.js';
import { WORDS } from './words.js';
import { counterScreen } from './counter.js';
import { dayScreen } from './day.js';
import { staffScreen } from './staff.js';

useToken('yibao.cashier.token');
words(WORDS);

const main = document.getElementById('main');
let me = null;

const screens = { counter: counterScreen, today: dayScreen, staff: staffScreen };

function signInScreen() {
  const institution = field(t('institutionCode'), { id: 'signin-institution', autocomplete: 'organization', required: true });
  const name = field(t('loginName'), { id: 'signin-name', autocomplete: 'username', required: true });
  const password = field(t('password'), { id: 'signin-password', type: 'password', autocomplete: 'current-password', required: true });
  const code = field(t('authCode'), { id: 'signin-code', inputmode: 'numeric', autocomplete: 'off', maxlength: '6', required: true });
  const alert = h('p', { role: 'alert', id: 'signin-alert' });
  const form = h('form', { id: 'signin-form', class: 'card signin', novalidate: true }, h('h2', {}, t('signInTitle')), institution.element, name.element,
    password.element, code.element, alert, h('button', { type: 'submit', class: 'primary' }, t('signIn')), h('p', { class: 'muted' }, h('a', { href: '/' }, t('demoHint'))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const opened = await guarded(alert, () =>
      post('/v1/staff/sessions', { institution_code: institution.input.value.trim(), name: name.input.value.trim(), password: password.input.value, totp_code: code.input.value.trim() }));
    if (opened) {
      token.set(opened.token);
      me = opened.staff;
      location.hash = '#/counter';
      render();
    }
  });
  main.replaceChildren(form);
  institution.input.focus();
}

function header() {
  document.getElementById('title').textContent = t('title');
  document.title = `${t('title')} · Yibao`;
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const actions = document.getElementById('header-actions');
  actions.replaceChildren(languageButton(render));
  if (!me) {
    nav.hidden = true;
    who.textContent = '';
    return;
  }
  nav.hidden = false;
  const current = route();
  const links = [['counter', t('counter')], ['today', t('today')]];
  if (me.role === 'manager') links.push(['staff', t('staff')]);
  nav.replaceChildren(...links.map(([id, text]) => h('a', { href: `#/${id}`, id: `nav-${id}`, 'aria-current': current === id ? 'page' : undefined }, text)));
  who.textContent = `${me.institution_name} · ${me.display_name}（${t(me.role)}）`;
  const out = h('button', { type: 'button', class: 'link', id: 'sign-out' }, t('signOut'));
  out.addEventListener('click', async () => {
    try {
      await del('/v1/staff/sessions/current');
    } catch {
      // Signed out here either way.
    }
    token.set(null);
    me = null;
    render();
  });
  actions.append(out);
}

const route = () => (location.hash.replace(/^#\//, '') || 'counter').split('/')[0];

async function render() {
  if (token.get() && !me) {
    try {
      me = await get('/v1/staff/me');
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      me = null;
    }
  }
  header();
  if (!token.get() || !me) return signInScreen();
  const screen = screens[route()] ?? counterScreen;
  if (screen === staffScreen && me.role !== 'manager') return counterScreen(main, me);
  return screen(main, me);
}

window.addEventListener('hashchange', render);
window.addEventListener('desk:signed-out', () => {
  me = null;
  render();
});
render();
