// Cards, the medical credit line and frictionless payment: bind a card, apply for credit (the decision
// and the limit), set the order, sign or revoke frictionless payment, bills, repayment from a card or
// the personal account, overdue status and penalty interest explained.
import { del, get, newKey, post, put } from '../api.js';
import { named, t, yuan } from '../i18n.js';
import { go } from '../main.js';
import { actionButton, card, field, form, h, split } from '../ui.js';

export async function render(main) {
  const [sources, lines, frictionless] = await Promise.all([get('/v1/patient/funding-sources'), get('/v1/patient/credit/lines'), get('/v1/patient/frictionless')]);
  const cardNumber = field(t('cardNumber'), { id: 'card-number', inputmode: 'numeric', autocomplete: 'cc-number' });
  const cardCode = field(t('authCode'), { id: 'card-code', inputmode: 'numeric', maxlength: '6' });
  const applyCode = field(t('authCode'), { id: 'apply-code', inputmode: 'numeric', maxlength: '6' });
  const withCode = (body, f) => (f.input.value.trim() ? { ...body, totp_code: f.input.value.trim() } : body);

  main.replaceChildren(
    h('h2', {}, t('credit')),
    card(
      h('h3', {}, t('fundingSources')),
      sources.length
        ? h('ul', { class: 'list', id: 'sources' }, sources.map((s) => h('li', {}, h('div', { class: 'row' }, h('span', {}, `${s.bank} ${s.masked}`), s.is_default ? h('span', { class: 'pill' }, t('default')) : actionButton(t('setDefault'), async () => {
          await put(`/v1/patient/funding-sources/${s.id}/default`);
          go('credit');
        }, { label: `${t('setDefault')} ${s.masked}` })))))
        : h('p', { class: 'muted' }, t('none')),
      form([cardNumber, cardCode], t('bindCard'), async () => {
        await post('/v1/patient/funding-sources', withCode({ card_number: cardNumber.input.value.replace(/\s/g, '') }, cardCode));
        go('credit');
      }, { id: 'card-form' }),
    ),
    card(
      h('h3', {}, t('creditLines')),
      lines.length ? h('div', { id: 'credit-lines' }, lines.map(lineView)) : form([applyCode], t('applyCredit'), async () => {
        await post('/v1/patient/credit/lines', withCode({}, applyCode));
        go('credit');
      }, { id: 'apply-form' }),
    ),
    card(h('h3', {}, t('frictionless')), frictionlessView(frictionless, sources)),
  );
}

function lineView(view) {
  const amount = field(`${t('repay')} (${t('yuan')})`, { id: `repay-amount-${view.line.id}`, inputmode: 'decimal' });
  const from = field(t('repay'), { id: `repay-source-${view.line.id}`, options: [['account', t('fromAccount')], ['funding_source', t('fromCard')]] });
  const key = newKey();
  return h(
    'div',
    { class: 'credit-line', 'data-line': view.line.id },
    h('p', { class: 'notice', id: 'credit-decision' }, `${t('decision')}: ${named(view.line.state)} · ${t('limit')} ${yuan(view.line.credit_limit)} ${t('yuan')}`),
    split([
      [t('creditAvailable'), h('span', { id: 'credit-available' }, yuan(view.available))],
      [t('creditUsed'), h('span', { id: 'credit-used' }, yuan(view.used))],
      [t('bills'), h('span', { id: 'credit-owed' }, yuan(view.owed))],
    ]),
    view.overdue_days > 0 ? h('p', { class: 'error', id: 'credit-overdue' }, `${t('overdue')} ${view.overdue_days} · ${t('penalty')}`) : h('p', { class: 'muted' }, t('penalty')),
    view.bills.length
      ? h('ul', { class: 'list' }, view.bills.map((b) => h('li', {}, `${b.bill.due_date ?? ''} · ${yuan(b.bill.total ?? b.bill.amount ?? 0)} · `, h('span', { class: 'pill' }, b.status))))
      : null,
    form([amount, from], t('repay'), async () => {
      const fen = Math.round(Number(amount.input.value) * 100);
      await post(`/v1/patient/credit/lines/${view.line.id}/repayments`, { amount: fen, source: from.input.value }, { key });
      go('credit');
    }, { id: `repay-form-${view.line.id}` }),
  );
}

function frictionlessView(status, sources) {
  if (status.authorisation) {
    return h(
      'div',
      {},
      h('p', { class: 'notice', id: 'frictionless-state' }, `${t('signed')} · ${named(status.authorisation.priority)}`),
      status.consent_text ? h('p', { class: 'muted' }, status.consent_text) : null,
      actionButton(t('revoke'), async () => {
        await del('/v1/patient/frictionless');
        go('credit');
      }, { cls: 'danger' }),
    );
  }
  const source = field(t('fundingSources'), { id: 'frictionless-source', options: sources.map((s) => [s.id, `${s.bank} ${s.masked}`]) });
  const priority = field(t('priority'), { id: 'frictionless-priority', options: [['account_first', `${t('personalAccount')} → ${t('cash')}`], ['source_first', `${t('cash')} → ${t('personalAccount')}`], ['account_only', t('personalAccount')]] });
  const code = field(t('authCode'), { id: 'frictionless-code', inputmode: 'numeric', maxlength: '6' });
  return h(
    'div',
    {},
    h('p', { id: 'frictionless-state' }, t('notSigned')),
    form([source, priority, code], t('sign'), async () => {
      const body = { funding_source_id: source.input.value || undefined, priority: priority.input.value };
      if (code.input.value.trim()) body.totp_code = code.input.value.trim();
      await put('/v1/patient/frictionless', body);
      go('credit');
    }, { id: 'frictionless-form' }),
  );
}
