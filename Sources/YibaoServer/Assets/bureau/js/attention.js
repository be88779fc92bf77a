// What waits for someone at the bureau, at the top of the overview: open exceptions, binding reviews
// and reported transactions (for operators), adjustments waiting for a second administrator,
// clearings waiting for approval, days in service not closed, and subscribers whose webhook deliveries
// were refused and wait for a retry. Each count comes from the API the screen it links to reads; "nothing waits" when none.
import { get, h, t } from '/desk/desk.js';
import { closeWindow } from './close.js';

/** The days the close screen lists (`closeWindow`) that have no close. */
async function daysNotClosed() {
  const { yesterday, days } = await closeWindow();
  if (!days.length) return 0;
  return days.length - (await get(`/v1/admin/daily-closes?from=${days.at(-1)}&through=${yesterday}`)).length;
}

/** [key, the role that may read it, how many wait, the screen it links to]. */
const ITEMS = [
  ['exceptions', 'viewer', async () => (await get('/v1/admin/exceptions?state=open')).length, 'clearing'],
  ['reviews', 'operator', async () => (await get('/v1/admin/family/reviews')).length, 'reviews'],
  ['reports', 'operator', async () => (await get('/v1/admin/reports?state=open')).length, 'reports'],
  ['adjustments', 'viewer', async () => (await get('/v1/admin/adjustments?state=pending')).length, 'people'],
  ['clearings', 'viewer', async () => (await get('/v1/admin/clearings?state=applied')).length, 'clearing'],
  ['closes', 'viewer', daysNotClosed, 'close'],
  // Deliveries just made wait a few seconds for the worker; only those already tried and refused count.
  ['webhooks', 'viewer', async () => (await get('/v1/admin/webhooks')).filter((s) => s.backlog?.attempts > 0).length, 'access'],
];

/** The screens only some roles reach (the rest: every operator). */
const SCREEN_ROLE = { access: 'administrator', reviews: 'operator', reports: 'operator' };

/** The card; a count that cannot be read is left out rather than shown wrong, and a screen the role does not reach is not linked. */
export async function attentionSection(can) {
  const screens = (screen) => can(SCREEN_ROLE[screen] ?? 'viewer');
  const counted = await Promise.all(ITEMS.filter(([, role]) => can(role)).map(async ([key, , count, screen]) => {
    try {
      return [key, await count(), screen];
    } catch {
      return [key, null, screen];
    }
  }));
  const waiting = counted.filter(([, n]) => n > 0);
  const list = waiting.map(([key, n, screen]) => h('li', { 'data-attention': key, 'data-count': String(n) },
    screens(screen) ? h('a', { href: `#/${screen}` }, t(`attention_${key}`, n)) : t(`attention_${key}`, n)));
  return h('section', { class: 'card', id: 'attention', 'aria-labelledby': 'attention-title' }, h('h3', { id: 'attention-title' }, t('attention')),
    list.length ? h('ul', {}, list) : h('p', { class: 'ok', 'data-attention': 'none' }, t('nothingWaits')));
}
