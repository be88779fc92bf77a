// Money after the counter: credit delinquency (the credit-report records) and the partners' terms
// (terms.js), reconciliation and
// clearing (each institution's runs balanced or not, clearings and their payouts — one opened in
// clearing.js —, the bank's day reconciled and its payment file in channel.js, the exception
// queue), and the ledger's and audit log's verification with the latest anchor.
import { api, dateTime, field, get, guarded, h, post, t, table, today, yuan } from '/desk/desk.js';
import { channelSection, paymentFileButton } from './channel.js';
import { clearingDetail, deduction } from './clearing.js';
import { termsSection } from './terms.js';

export async function creditScreen(main, { can }) {
  const alert = h('p', { role: 'alert', id: 'credit-alert' });
  main.replaceChildren(h('h2', {}, t('credit')), alert);
  const answers = await guarded(alert, () => Promise.all([get('/v1/admin/credit/delinquency'), get('/v1/admin/credit/reports')]));
  if (!answers) return;
  const [watch, records] = answers;
  main.append(h('section', { class: 'card' }, table(t('delinquency'), [t('person'), t('partner'), t('state'), t('overdueBills'), t('overdueOwed'), t('oldestDue'), t('overdueDays')],
    watch.map((d) => h('tr', { 'data-line': d.line_id }, h('td', {}, d.person_number), h('td', {}, d.partner), h('td', { class: d.state === 'suspended' ? 'error' : '' }, t(`line_${d.state}`)),
      h('td', { class: 'num' }, String(d.overdue_bills)), h('td', { class: 'num' }, yuan(d.overdue_owed)), h('td', {}, d.oldest_due ?? ''), h('td', { class: 'num' }, String(d.overdue_days)))),
    { id: 'credit-delinquency' })));
  main.append(h('section', { class: 'card' }, table(t('creditReports'), [t('openedAt'), t('person'), t('kind'), t('amountCol')], records.map((r) =>
    h('tr', {}, h('td', {}, dateTime(r.at ?? r.created_at)), h('td', {}, r.person_number ?? ''), h('td', {}, r.kind ?? ''), h('td', { class: 'num' }, r.amount != null ? yuan(r.amount) : ''))), { id: 'credit-reports' })));
  await termsSection(main, { can, alert });
}

export async function clearingScreen(main, { can }, opened = null) {
  const alert = h('p', { role: 'alert', id: 'clearing-alert' });
  main.replaceChildren(h('h2', {}, t('clearing')), alert);
  const answers = await guarded(alert, () => Promise.all([get('/v1/admin/reconciliations'), get('/v1/admin/clearings'), get('/v1/admin/exceptions?state=open')]));
  if (!answers) return;
  const [reconciliations, clearings, exceptions] = answers;
  // The screen again after an action, with the clearing that was open opened again.
  const detail = h('div', {});
  const reload = () => clearingScreen(main, { can }, detail.firstChild?.dataset.clearing ?? null);
  const open = async (id) => {
    const shown = await clearingDetail(id, { can, alert, changed: reload });
    if (!shown) return;
    detail.replaceChildren(shown);
    shown.focus();
  };
  main.append(
    h('section', { class: 'card' }, table(t('reconciliations'), [t('openedAt'), t('institutionCol'), t('kind'), t('period'), t('state'), ''], reconciliations.map((r) =>
      h('tr', {}, h('td', {}, dateTime(r.created_at)), h('td', {}, r.institution_code), h('td', {}, r.kind), h('td', {}, `${r.period.from} – ${r.period.through}`),
        h('td', { class: r.balanced ? 'ok' : 'error' }, r.balanced ? t('balanced') : t('unbalanced')), h('td', {}, r.summary ?? ''))), { id: 'reconciliations' })),
    h('section', { class: 'card' }, table(t('clearings'), [t('institutionCol'), t('insuranceType'), t('period'), t('state'), t('payable'), ''], clearings.map((c) =>
      h('tr', { 'data-clearing': c.id }, h('td', {}, c.institution_code), h('td', {}, c.insurance_type ?? ''), h('td', {}, c.period ? `${c.period.from} – ${c.period.through}` : ''),
        h('td', {}, t(`clearing_${c.state}`)), h('td', { class: 'num' }, c.payable != null ? yuan(c.payable) : ''),
        h('td', {}, h('span', { class: 'row' }, h('button', { type: 'button', 'data-detail': c.id, onclick: () => open(c.id) }, t('detail')), clearingActions(c, can, alert, reload))))), { id: 'clearings' }),
      can('operator') ? paymentFileButton(alert) : null, detail),
    can('operator') ? startClearing(alert, reload) : '',
    can('operator') ? channelSection(alert, reload) : '',
    h('section', { class: 'card' }, table(t('exceptions'), [t('openedAt'), t('kind'), t('reference2'), t('amountCol'), ''], exceptions.map((x) => {
      const action = can('operator') ? h('button', { type: 'button', onclick: async () => {
        if (await guarded(alert, () => post(`/v1/admin/exceptions/${x.id}/resolution`, { resolution: 'checked at the bureau dashboard' }))) reload();
      } }, t('resolve')) : '';
      return h('tr', {}, h('td', {}, dateTime(x.opened_at ?? x.created_at)), h('td', {}, x.kind), h('td', {}, x.reference), h('td', { class: 'num' }, x.amount != null ? yuan(x.amount) : ''), h('td', {}, action));
    }), { id: 'exceptions' })),
  );
  if (opened) await open(opened);
  main.append(await sandboxClock(alert, can, reload));
}

/**
 * In a demo (the sandbox's test clock answers), the clock's day and, for operators, a step to
 * tomorrow: today's settlements then belong to a period that has ended and can be cleared. Nothing
 * in production: there the route does not exist.
 */
async function sandboxClock(alert, can, reload) {
  let clock;
  try {
    clock = await get('/v1/sandbox/clock');
  } catch {
    return '';
  }
  const step = can('operator') ? h('button', { type: 'button', id: 'clock-advance', onclick: async () => {
    if (await guarded(alert, () => post('/v1/sandbox/clock/advance', { days: 1 }))) reload();
  } }, t('clockAdvance')) : '';
  return h('section', { class: 'card', id: 'sandbox-clock' }, h('p', { class: 'muted' }, t('clockNote', dateTime(clock.now), Math.round(clock.offset_seconds / 86_400))), step);
}

export async function ledgerScreen(main) {
  const alert = h('p', { role: 'alert', id: 'ledger-alert' });
  const ledger = h('div', { id: 'ledger-result', role: 'status' });
  const audit = h('div', { id: 'audit-result', role: 'status' });
  const verifyLedger = h('button', { type: 'button', class: 'primary', id: 'verify-ledger' }, t('verifyLedger'));
  const verifyAudit = h('button', { type: 'button', class: 'primary', id: 'verify-audit' }, t('verifyAudit'));
  verifyLedger.addEventListener('click', async () => {
    const r = await guarded(alert, () => get('/v1/admin/ledger/verification'));
    if (r) ledger.replaceChildren(h('p', { class: r.passed ? 'ok' : 'error', id: 'ledger-state' }, r.passed ? t('passed') : t('failed')),
      h('p', {}, `${t('entries')} ${r.entries} · ${t('postings')} ${r.postings} · ${t('settlements')} ${r.settlements}`), r.problems.length ? h('ul', {}, r.problems.map((p) => h('li', {}, p))) : '');
  });
  verifyAudit.addEventListener('click', async () => {
    const r = await guarded(alert, () => get('/v1/admin/audit/verification'));
    if (r) audit.replaceChildren(h('p', { class: r.problems.length ? 'error' : 'ok', id: 'audit-state' }, r.problems.length ? t('failed') : t('passed')),
      h('p', {}, `${t('records')} ${r.records}`), h('h3', {}, t('heads')), h('pre', { id: 'audit-heads' }, r.heads.map((x) => `${x.lane}:${x.seq}:${x.hash}`).join('\n')));
  });
  main.replaceChildren(h('h2', {}, t('ledger')), alert, h('section', { class: 'card' }, verifyLedger, ledger), h('section', { class: 'card' }, verifyAudit, audit));
  verifyLedger.click();
  verifyAudit.click();
}

/** What the signed-in role may do with a clearing in its state: deduct, approve, cancel, run, record the payout. */
function clearingActions(c, can, alert, reload) {
  const act = (label, run, cls) => h('button', { type: 'button', class: cls, 'data-action': label, onclick: async () => {
    if ((await guarded(alert, run)) !== undefined) reload();
  } }, t(label));
  const path = `/v1/admin/clearings/${c.id}`;
  const actions = [];
  if (c.state === 'applied' && can('operator')) {
    actions.push(...deduction(c.id, null, alert, reload));
    actions.push(act('cancelClearing', () => api('DELETE', path), 'danger'));
  }
  if (c.state === 'applied' && can('administrator')) actions.push(act('approveClearing', () => post(`${path}/approval`), 'primary'));
  if (c.state === 'approved' && can('administrator')) actions.push(act('runClearing', () => post(`${path}/run`), 'primary'));
  if (c.state === 'paying' && can('operator')) {
    const reference = h('input', { type: 'text', size: '12', 'aria-label': `${t('bankReference')} ${c.id}` });
    actions.push(reference, act('recordPaid', () => post(`${path}/payout`, { paid: true, bank_reference: reference.value.trim() }), 'primary'),
      act('recordFailed', () => post(`${path}/payout`, { paid: false, failure: reference.value.trim() || 'bank refused' }), 'danger'));
  }
  return h('span', { class: 'row' }, actions);
}

/** Starts a clearing of an institution's ended period (an operator). */
function startClearing(alert, reload) {
  const institution = field(t('institutionCol'), { id: 'clearing-institution', autocomplete: 'off' });
  const type = field(t('insuranceType'), { id: 'clearing-type', options: [['310', '310'], ['390', '390']] });
  const from = field(t('from'), { id: 'clearing-from', type: 'date' });
  const through = field(t('through'), { id: 'clearing-through', type: 'date', value: today() });
  const form = h('form', { class: 'card', id: 'clearing-form', novalidate: true }, h('h3', {}, t('startClearing')),
    h('div', { class: 'row' }, institution.element, type.element, from.element, through.element, h('button', { type: 'submit', class: 'primary' }, t('startClearing'))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const started = await guarded(alert, () => post('/v1/admin/clearings', { institution_code: institution.input.value.trim(), insurance_type: type.input.value, from: from.input.value, through: through.input.value }));
    if (started) reload();
  });
  return form;
}
