// One clearing opened (清算明细), what the operator reviews before deducting and the administrator
// before approving: who started it and who approved it, the payout account, what it claims and what
// was deducted, and the settlements, refunds and reversals it carries, each with what the institution
// is owed for it. While it is applied, an operator deducts (审核扣款) on one settlement that is still
// owed something — the amount and the reason — and the patient's home fund takes it back (docs/clearing.md).
import { dateTime, fen, get, guarded, h, post, t, table, yuan } from '/desk/desk.js';

/** At most this many items are listed; a deduction on the whole clearing covers the rest. */
const SHOWN = 200;

/** The amount and reason inputs and the button that deducts them, on `settlement` or the whole clearing. */
export function deduction(clearingID, settlement, alert, done) {
  const label = settlement ?? clearingID;
  const amount = h('input', { type: 'text', inputmode: 'decimal', size: '8', placeholder: t('yuanPlaceholder'), 'aria-label': `${t('deductionAmount')} ${label}` });
  const reason = h('input', { type: 'text', size: '12', placeholder: t('reason'), 'aria-label': `${t('reason')} ${label}` });
  const button = h('button', { type: 'button', 'data-action': 'deduct', 'data-deduct': label, onclick: async () => {
    const value = fen(amount.value);
    if (!value) {
      alert.classList.add('error');
      alert.textContent = t('adjustInvalid');
      return;
    }
    const body = { amount: value, reason: reason.value.trim() || t('deduct'), ...(settlement ? { settlement_id: settlement } : {}) };
    if ((await guarded(alert, () => post(`/v1/admin/clearings/${clearingID}/deductions`, body))) !== undefined) done();
  } }, t('deduct'));
  return [amount, reason, button];
}

/** The clearing's detail, as GET /v1/admin/clearings/{id} has it; `changed` reloads the screen. */
export async function clearingDetail(id, { can, alert, changed }) {
  const detail = await guarded(alert, () => get(`/v1/admin/clearings/${id}`));
  if (!detail) return null;
  const c = detail.clearing;
  const deducted = c.deductions.reduce((sum, d) => sum + d.amount, 0);
  const facts = [[t('institutionCol'), c.institution_code], [t('insuranceType'), c.insurance_type], [t('period'), `${c.period.from} – ${c.period.through}`],
    [t('state'), t(`clearing_${c.state}`)], [t('startedBy'), c.started_by], [t('approvedBy'), c.approved_by ?? '—'], [t('payoutAccount'), c.payout_account ?? '—'],
    [t('bankReference'), c.bank_reference ?? c.last_failure ?? '—'], [t('itemCount'), String(c.item_count)], [t('total'), yuan(c.total)], [t('claimed'), yuan(c.claimed)],
    [t('deductionsTotal'), yuan(deducted)], [t('payable'), yuan(c.payable)]];
  const deductions = table(t('deductions'), [t('openedAt'), t('settlementCol'), t('amountCol'), t('reason'), t('by')], c.deductions.map((d) =>
    h('tr', {}, h('td', {}, dateTime(d.at)), h('td', {}, d.settlement_id ? h('code', {}, d.settlement_id) : t('wholeClearing')), h('td', { class: 'num' }, yuan(d.amount)),
      h('td', {}, d.reason), h('td', {}, d.by))), { id: 'clearing-deductions' });
  const deducting = c.state === 'applied' && can('operator');
  const items = detail.items.slice(0, SHOWN).map((item) => {
    const own = c.deductions.filter((d) => d.settlement_id === item.settlement_id).reduce((sum, d) => sum + d.amount, 0);
    return h('tr', { 'data-item': item.settlement_id }, h('td', {}, h('code', {}, item.settlement_id)), h('td', {}, t(`item_${item.kind}`)), h('td', {}, item.region),
      h('td', {}, dateTime(item.completed_at)), h('td', { class: 'num' }, yuan(item.total)), h('td', { class: 'num' }, yuan(item.owed)),
      h('td', { class: 'num', 'data-deducted': String(own) }, own ? yuan(own) : ''),
      deducting && item.kind === 'settlement' && item.owed > own ? h('td', {}, h('span', { class: 'row' }, deduction(c.id, item.settlement_id, alert, changed))) : h('td', {}, ''));
  });
  return h('section', { class: 'card', id: 'clearing-detail', 'data-clearing': c.id, tabindex: '-1' },
    h('h3', {}, t('clearingOf', c.id)), h('dl', { class: 'split' }, facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
    c.deductions.length ? deductions : '',
    table(t('clearingItems'), [t('settlementCol'), t('kind'), t('region'), t('completedAt'), t('total'), t('owed'), t('deducted'), ''], items, { id: 'clearing-items' }),
    detail.items.length > SHOWN ? h('p', { class: 'muted' }, t('moreItems', detail.items.length - SHOWN)) : '');
}
