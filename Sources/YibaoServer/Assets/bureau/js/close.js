// The daily close (日结), the last 14 days through yesterday (by the platform's clock, the sandbox's in a
// demo) and not before the day Yibao went into service: each day closed or not — the bank's
// statement against Yibao's movements (breaks go to the exception queue), the ledger verified (the
// day's entries, or the whole ledger), the day's totals — and, for operators, a day closed by hand or
// closed again (the server closes yesterday by itself after 01:00).
import { get, guarded, h, post, shiftDay, t, table, yuan } from '/desk/desk.js';
import { fund } from './overview.js';

const DAYS = 14;

function ledgerCell(ledger) {
  if (!ledger) return h('td', {}, '—');
  const scope = ledger.day ? t('dayEntries', ledger.entries) : t('wholeLedger');
  return h('td', { class: ledger.passed ? 'ok' : 'error', 'data-ledger': ledger.passed ? 'passed' : 'failed' }, `${ledger.passed ? t('passed') : t('failed')} · ${scope}`);
}

function channelCell(channel) {
  if (!channel) return h('td', { class: 'muted' }, t('noStatement'));
  const breaks = channel.breaks.length;
  return h('td', { class: breaks ? 'error' : 'ok', 'data-breaks': String(breaks) }, breaks ? t('breaks', breaks) : t('balanced'));
}

/**
 * The days the close covers, by the platform's clock: the last 14 through yesterday, none before the
 * day Yibao went into service (ISO dates compare as text). `days` is latest first, maybe empty.
 */
export async function closeWindow() {
  const calendar = await get('/v1/admin/calendar');
  const yesterday = shiftDay(calendar.today, -1);
  const since = calendar.in_service_since;
  return { since, yesterday, days: Array.from({ length: DAYS }, (_, i) => shiftDay(yesterday, -i)).filter((day) => day >= since) };
}

export async function closeScreen(main, { can }) {
  const alert = h('p', { role: 'alert', id: 'close-alert' });
  const body = h('div', { id: 'close-body' });
  main.replaceChildren(h('h2', {}, t('close')), h('p', { class: 'muted' }, t('closeNote')), alert, body);
  async function load() {
    const span = await guarded(alert, closeWindow);
    if (!span) return;
    const { since, yesterday, days } = span;
    if (!days.length) {
      body.replaceChildren(h('p', { id: 'close-empty', class: 'card' }, t('nothingToClose', since, shiftDay(since, 1))));
      return;
    }
    const closes = await guarded(alert, () => get(`/v1/admin/daily-closes?from=${days.at(-1)}&through=${yesterday}`));
    if (!closes) return;
    const byDay = new Map(closes.map((c) => [c.day, c]));
    const rows = days.map((day) => {
      const close = byDay.get(day);
      const action = can('operator')
        ? h('button', { type: 'button', class: close ? '' : 'primary', 'data-close': day, onclick: async () => {
          const done = await guarded(alert, () => post('/v1/admin/daily-close', close ? { day, again: true } : { day }));
          if (!done) return;
          await load();
          alert.textContent = t('closedDay', day);
        } }, close ? t('closeAgain') : t('closeDay'))
        : '';
      if (!close) {
        return h('tr', { 'data-day': day }, h('td', {}, day), h('td', { class: 'error', 'data-state': 'open' }, t('notClosed')), h('td', { colspan: '6' }, ''), h('td', {}, action));
      }
      const totals = close.fund_report.totals;
      return h('tr', { 'data-day': day }, h('td', {}, day), h('td', { class: 'ok', 'data-state': 'closed' }, t('closed')), ledgerCell(close.ledger), channelCell(close.channel),
        h('td', { class: 'num' }, String(close.exceptions_opened)), h('td', { class: 'num', 'data-settlements': '' }, String(totals.settlements)),
        h('td', { class: 'num' }, yuan(totals.total)), h('td', { class: 'num' }, yuan(fund(totals))), h('td', {}, action));
    });
    body.replaceChildren(h('section', { class: 'card' }, table(t('closes', days.length, since), [t('day'), t('state'), t('ledgerCheck'), t('channelCheck'), t('exceptionsOpened'),
      t('settlements'), t('total'), t('fund'), ''], rows, { id: 'closes' })));
  }
  await load();
}
