// The app shell: hash routes to screens, the tab bar, the language and elderly-mode switches, the
// offline banner, and the service worker that keeps the shell (and so the pay code) working offline.
import { session } from './api.js';
import { lang, setLanguage, t } from './i18n.js';
import { h } from './ui.js';
import * as account from './screens/account.js';
import * as code from './screens/code.js';
import * as credit from './screens/credit.js';
import * as estimate from './screens/estimate.js';
import * as family from './screens/family.js';
import * as home from './screens/home.js';
import * as inbox from './screens/inbox.js';
import * as orders from './screens/orders.js';
import * as premiums from './screens/premiums.js';
import * as reminders from './screens/reminders.js';
import * as settings from './screens/settings.js';
import * as wallet from './screens/wallet.js';

// path → [screen renderer, needs a session, title key]
const ROUTES = {
  signin: [account.signIn, false, 'signIn'],
  signup: [account.signUp, false, 'signUp'],
  reset: [account.reset, false, 'resetPassword'],
  home: [home.render, true, 'home'],
  code: [code.render, false, 'code'],
  wallet: [wallet.render, true, 'wallet'],
  entry: [wallet.entry, true, 'detail'],
  family: [family.render, true, 'family'],
  member: [family.member, true, 'memberWallet'],
  premiums: [premiums.render, true, 'premiums'],
  credit: [credit.render, true, 'credit'],
  inbox: [inbox.render, true, 'inbox'],
  orders: [orders.render, true, 'orders'],
  estimate: [estimate.render, true, 'estimate'],
  reminders: [reminders.render, true, 'reminders'],
  settings: [settings.render, true, 'settings'],
  verify: [premiums.verify, false, 'receipt'],
};

const TABS = [
  ['home', 'home'],
  ['code', 'code'],
  ['wallet', 'wallet'],
  ['family', 'family'],
  ['settings', 'more'],
];

export function go(path) {
  if (location.hash === `#/${path}`) route();
  else location.hash = `#/${path}`;
}

function current() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { name: name || (session.token ? 'home' : 'signin'), params: rest.map(decodeURIComponent) };
}

let cleanup = null;

async function route() {
  const { name, params } = current();
  const [render, needsSession, titleKey] = ROUTES[name] ?? ROUTES.home;
  if (needsSession && !session.token) return go('signin');
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const main = document.getElementById('main');
  main.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  document.title = `${t(titleKey)} · ${t('appName')}`;
  drawChrome(name);
  try {
    cleanup = (await render(main, params)) ?? null;
  } catch (error) {
    console.error(error);
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, t('genericError')));
  }
  main.focus({ preventScroll: true });
}

function drawChrome(name) {
  document.getElementById('title').textContent = t('appName');
  document.getElementById('skip-link').textContent = t('skipToContent');
  const langButton = document.getElementById('lang-toggle');
  langButton.textContent = t('language');
  langButton.lang = lang() === 'zh' ? 'en' : 'zh-CN';
  const elder = document.getElementById('elder-toggle');
  elder.textContent = t('elderMode');
  elder.setAttribute('aria-pressed', String(document.documentElement.classList.contains('elder')));
  const tabs = document.getElementById('tabs');
  tabs.hidden = !session.token;
  tabs.setAttribute('aria-label', t('home'));
  tabs.replaceChildren(
    ...TABS.map(([path, key]) => h('a', { href: `#/${path}`, 'aria-current': path === name ? 'page' : undefined, id: `tab-${path}` }, t(key))),
  );
  inbox.updateBadge();
}

function showOffline() {
  const banner = document.getElementById('offline');
  banner.hidden = navigator.onLine;
  banner.textContent = t('offline');
}

export function start() {
  setLanguage(lang());
  if (localStorage.getItem('yibao.elder') === '1') document.documentElement.classList.add('elder');
  document.getElementById('lang-toggle').addEventListener('click', () => {
    setLanguage(lang() === 'zh' ? 'en' : 'zh');
    route();
  });
  document.getElementById('elder-toggle').addEventListener('click', () => {
    const on = document.documentElement.classList.toggle('elder');
    localStorage.setItem('yibao.elder', on ? '1' : '0');
    route();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('online', showOffline);
  window.addEventListener('offline', showOffline);
  window.addEventListener('yibao:signed-out', () => go('signin'));
  showOffline();
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(() => {});
  route();
}

start();
