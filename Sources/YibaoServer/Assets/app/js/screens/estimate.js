// How much will I be reimbursed? (报销估算) Before treatment: the hospital, the kind of care and the
// expected amounts per catalogue class; the platform runs the settlement engine on the year's figures
// so far and the personal account, and says what the fund, the account and cash would pay and what it
// assumed. Nothing is charged or recorded.
import { get, post } from '../api.js';
import { t, yuan } from '../i18n.js';
import { card, field, form, h, split } from '../ui.js';

/** Yuan typed by a person ("120.5") in fen; null when empty; NaN when not an amount. */
function fen(text) {
  const value = text.trim();
  if (!value) return null;
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(value);
  return match ? Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0')) : Number.NaN;
}

export async function render(main) {
  const [me, institutions] = await Promise.all([get('/v1/patient/me'), get('/v1/patient/institutions')]);
  // The patient's own region first: that is where they are usually treated.
  const sorted = [...institutions].sort((a, b) => (a.region === me.region) === (b.region === me.region) ? a.code.localeCompare(b.code) : a.region === me.region ? -1 : 1);
  const where = field(t('estimateInstitution'), { id: 'estimate-institution', options: sorted.map((i) => [i.code, `${i.name}`]) });
  const kind = field(t('estimateCategory'), { id: 'estimate-category', options: ['11', '21', '13', '14', '41'].map((c) => [c, t(`cat${c}`)]) });
  const classA = field(t('estimateClassA'), { id: 'estimate-a', inputmode: 'decimal' });
  const classB = field(t('estimateClassB'), { id: 'estimate-b', inputmode: 'decimal' });
  const classC = field(t('estimateClassC'), { id: 'estimate-c', inputmode: 'decimal' });
  const result = h('div', { id: 'estimate-result', 'aria-live': 'polite' });
  main.replaceChildren(
    h('h2', {}, t('estimate')),
    h('p', { class: 'muted' }, t('estimateHelp')),
    card(form([where, kind, classA, classB, classC], t('estimateRun'), async () => {
      const amounts = [['A', classA], ['B', classB], ['C', classC]]
        .map(([itemClass, f]) => ({ item_class: itemClass, amount: fen(f.input.value) }))
        .filter((a) => a.amount !== null);
      if (!amounts.length || amounts.some((a) => !(a.amount > 0))) throw Object.assign(new Error(t('estimateNeedAmount')), { shown: true });
      const estimate = await post('/v1/patient/estimate', { institution_code: where.input.value, category: kind.input.value, amounts });
      show(estimate);
    }, { id: 'estimate-form' })),
    result,
  );

  function show(estimate) {
    const b = estimate.breakdown;
    result.replaceChildren(card(
      h('h3', {}, `${t('estimateResult')} · ${estimate.institution.name}`),
      split([
        [t('total'), h('span', { id: 'estimate-total' }, yuan(b.medfee_sumamt))],
        [t('fund'), h('span', { id: 'estimate-fund', class: 'amount' }, yuan(b.fund_pay_sumamt))],
        ...(b.hifmi_pay > 0 ? [[t('catastrophic'), h('span', { id: 'estimate-catastrophic' }, yuan(b.hifmi_pay))]] : []),
        ...(b.oth_pay > 0 ? [[t('commercialPlan'), h('span', { id: 'estimate-plan' }, yuan(b.oth_pay))]] : []),
        [t('account'), h('span', { id: 'estimate-account' }, yuan(b.acct_pay))],
        [t('cash'), h('span', { id: 'estimate-cash' }, yuan(b.psn_cash_pay))],
      ]),
      h('p', { class: 'muted' }, estimate.policy_title),
      h('h3', {}, t('estimateAssumptions')),
      h('ul', { class: 'list', id: 'estimate-assumptions' }, estimate.assumptions.map((a) => h('li', { 'data-assumption': a.code }, t(`assume_${a.code}`, a.ratio)))),
    ));
  }
}
