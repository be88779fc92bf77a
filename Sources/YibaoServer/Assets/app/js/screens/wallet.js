// The wallet: balances, the history (filters, endless scrolling over the stable pages), an entry's
// split and receipt, drugs and items, monthly statements, CSV export, and "I don't recognise this".
import { api, get, post } from '../api.js';
import { dateTime, named, t, yuan } from '../i18n.js';
import { go } from '../main.js';
import { actionButton, card, download, field, form, h, openPage, split } from '../ui.js';
import { fundWhy } from '/shared/why.js';

const KINDS = ['settlement', 'refund', 'reversal', 'premium', 'credit_repayment', 'family_payment', 'mutual_aid_given', 'account_credit'];

export const kindName = (kind) =>
  ({ settlement: t('settlement'), refund: t('refund'), reversal: t('refund'), premium: t('premium'), credit_repayment: t('repayment'),
     family_payment: t('mutualAid'), mutual_aid_given: t('mutualAid'), account_credit: t('adjustment') })[kind] ?? kind;

/** The balances card of a wallet summary. */
export function balances(wallet, lines = []) {
  const rows = [[t('personalAccount'), h('span', { class: 'amount', id: 'wallet-balance' }, `${yuan(wallet.account_available)} ${t('yuan')}`)]];
  for (const line of lines) {
    rows.push([t('creditAvailable'), `${yuan(line.available)} ${t('yuan')}`], [t('creditUsed'), `${yuan(line.used)} ${t('yuan')}`]);
  }
  for (const c of wallet.cards ?? []) {
    rows.push([`${`${c.source.bank} ${c.source.masked}`}${c.is_default ? ` (${t('default')})` : ''}`, c.available == null ? '' : `${yuan(c.available)} ${t('yuan')}`]);
  }
  return card(h('h3', {}, t('balances')), split(rows));
}

/** A history list with a kind filter and "load more" that follows the stable cursor. */
export function historyList(basePath, { onOpen } = {}) {
  const list = h('ul', { class: 'list', id: 'history' });
  const more = h('button', { type: 'button', class: 'secondary', id: 'history-more' }, t('loadMore'));
  const end = h('p', { class: 'muted', hidden: true }, t('noMore'));
  const filter = field(t('kindFilter'), { id: 'history-kind', options: [['', t('all')], ...KINDS.map((k) => [k, kindName(k)])] });
  const from = field(t('fromDate'), { id: 'history-from', type: 'date' });
  const until = field(t('untilDate'), { id: 'history-until', type: 'date' });
  let cursor = null;
  async function load(reset) {
    if (reset) {
      cursor = null;
      list.replaceChildren();
    }
    const params = new URLSearchParams({ limit: '20' });
    if (filter.input.value) params.set('kind', filter.input.value);
    if (from.input.value) params.set('from', from.input.value);
    // "until" is inclusive for the patient: the API's until is the start of the day after.
    if (until.input.value) params.set('until', nextDay(until.input.value));
    if (cursor) params.set('cursor', cursor);
    const page = await get(`${basePath}?${params}`);
    for (const event of page.events) {
      const button = h(
        'button',
        { type: 'button', class: 'entry', 'data-event': event.id },
        h('span', {}, h('strong', {}, kindName(event.kind)), h('br'), h('span', { class: 'muted' }, `${dateTime(event.at)} ${event.counterparty ?? ''}`)),
        h('span', { class: 'num' }, yuan(event.total)),
      );
      if (onOpen) button.addEventListener('click', () => onOpen(event));
      list.append(h('li', {}, button));
    }
    if (page.events.length === 0 && !cursor) list.append(h('li', { class: 'muted' }, t('none')));
    cursor = page.next_cursor ?? null;
    more.hidden = !cursor;
    end.hidden = !!cursor;
  }
  more.addEventListener('click', () => load(false));
  for (const f of [filter, from, until]) f.input.addEventListener('change', () => load(true));
  // Endless scrolling: the next stable page loads when "load more" comes into view.
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && cursor) load(false);
  });
  observer.observe(more);
  return { element: h('div', {}, h('div', { class: 'filters' }, filter.element, from.element, until.element), list, more, end), load };
}

function nextDay(date) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

let lastEvents = new Map();

export async function render(main) {
  const [wallet, lines] = await Promise.all([get('/v1/patient/wallet'), get('/v1/patient/credit/lines').catch(() => [])]);
  const history = historyList('/v1/patient/history', {
    onOpen: (event) => {
      lastEvents.set(event.id, event);
      go(`entry/${encodeURIComponent(event.id)}`);
    },
  });
  const month = new Date().toISOString().slice(0, 7);
  const monthField = field(t('statement'), { id: 'statement-month', type: 'month', value: month });
  main.replaceChildren(
    h('h2', {}, t('wallet')),
    balances(wallet, Array.isArray(lines) ? lines : lines.lines ?? []),
    card(h('h3', {}, t('history')), history.element),
    card(
      monthField.element,
      h(
        'div',
        { class: 'row' },
        actionButton(t('statement'), () => openPage(api('GET', `/v1/patient/statements/${monthField.input.value}/page`, { raw: true }))),
        actionButton(t('exportCsv'), () => download(api('GET', '/v1/patient/history.csv', { raw: true }), 'yibao-history.csv')),
      ),
    ),
    card(h('h3', {}, t('items')), await itemsList('/v1/patient/items')),
    card(h('h3', {}, t('reports')), await reportsList()),
  );
  await history.load(true);
}

export async function itemsList(path) {
  const page = await get(path);
  const items = page.items ?? [];
  if (items.length === 0) return h('p', { class: 'muted' }, t('none'));
  return h(
    'ul',
    { class: 'list', id: 'items' },
    items.slice(0, 20).map((item) => h('li', {}, h('strong', {}, item.name ?? item.item_name ?? item.item_code), ' ', h('span', { class: 'muted' }, `× ${item.quantity}`), h('span', { class: 'num' }, ` ${yuan(item.total ?? item.amount)}`))),
  );
}

async function reportsList() {
  const reports = await get('/v1/patient/reports');
  const rows = reports.reports ?? reports;
  if (!rows.length) return h('p', { class: 'muted' }, t('none'));
  return h('ul', { class: 'list', id: 'reports' }, rows.map((r) => h('li', {}, `${dateTime(r.created_at)} · ${r.reason} · `, h('span', { class: 'pill' }, named(r.state)))));
}

/** One entry: the split, the receipt, and reporting it. */
export async function entry(main, [id]) {
  let event = lastEvents.get(id);
  if (!event) {
    const page = await get('/v1/patient/history?limit=200');
    event = page.events.find((e) => e.id === id);
  }
  if (!event) return go('wallet');
  const reason = field(t('reportReason'), { id: 'report-reason' });
  const reportForm = form(
    [reason],
    t('report'),
    async () => {
      await post('/v1/patient/reports', { event_id: event.id, reason: reason.input.value.trim() || t('report') });
      reportForm.replaceWith(h('p', { class: 'notice', role: 'status', id: 'report-sent' }, t('reported')));
    },
    { id: 'report-form' },
  );
  const parts = [
    h('h2', {}, kindName(event.kind)),
    card(
      split([
        [t('time'), dateTime(event.at)],
        [t('institution'), event.counterparty ?? ''],
        [t('total'), h('span', { id: 'entry-total' }, yuan(event.total))],
        [t('fund'), h('span', { id: 'entry-fund' }, yuan(event.fund))],
        [t('account'), h('span', { id: 'entry-account' }, yuan(event.account))],
        [t('mutualAid'), h('span', { id: 'entry-mutual-aid' }, yuan(event.mutual_aid))],
        [t('cash'), h('span', { id: 'entry-cash' }, yuan(event.cash))],
      ]),
    ),
  ];
  if (event.kind === 'settlement' && event.reference) {
    try {
      const receipt = await get(`/v1/patient/settlements/${encodeURIComponent(event.reference)}/receipt`);
      parts.push(card(h('h3', {}, t('receipt')), receipt.breakdown ? whyParagraph(receipt.breakdown) : '', receiptLines(receipt), actionButton(t('receipt'), () => openPage(api('GET', `/v1/patient/settlements/${encodeURIComponent(event.reference)}/receipt.html`, { raw: true })))));
    } catch {
      // The receipt is optional here (a member's entry, say); the split above stands.
    }
  }
  parts.push(card(reportForm), h('p', {}, h('a', { href: '#/wallet' }, t('back'))));
  main.replaceChildren(...parts);
}

/** Why the fund paid what it paid, in the patient's words (shared/why.js). */
function whyParagraph(b) {
  const why = fundWhy(b, t, yuan);
  return h('p', { id: 'entry-why', 'data-why': why.kind }, why.text);
}

function receiptLines(receipt) {
  const lines = receipt.lines ?? [];
  return h(
    'ul',
    { class: 'list', id: 'receipt-lines' },
    lines.map((line) => {
      const split = line.split;
      const reasons = [
        [split.full_self_pay, t('reasonFullSelfPay')],
        [split.over_limit, t('reasonOverLimit')],
        [split.first_self_pay, t('reasonFirstSelfPay')],
      ].filter(([amount]) => amount > 0);
      return h(
        'li',
        {},
        h('div', { class: 'row' }, h('strong', {}, `${split.item_name} × ${split.quantity}`), h('span', { class: 'num' }, yuan(split.amount))),
        h('p', { class: 'muted' }, `${t('fund')} ${yuan(line.fund_paid)} · ${t('account')} ${yuan(line.account_paid)} · ${t('cash')} ${yuan(line.cash_paid)}`),
        reasons.length ? h('p', { class: 'muted' }, `${t('selfPaidReason')}: `, reasons.map(([amount, why]) => `${why} ${yuan(amount)}`).join('，')) : null,
      );
    }),
  );
}
