// The day's settlements at this institution: the net of what completed, each record with its receipt,
// a refund (lines, cash part or insurance part) and a reversal — a refusal shown in plain words.
import { fen, field, get, guarded, h, newKey, openPage, post, t, table, today, yuan } from '/desk/desk.js';

export async function dayScreen(main) {
  const alert = h('p', { role: 'alert', id: 'day-alert' });
  const day = field(t('day'), { id: 'day', type: 'date', value: today() });
  const filter = field(t('filter'), { id: 'day-filter', autocomplete: 'off' });
  const totals = h('div', { id: 'day-totals' });
  const list = h('div', { id: 'day-list' });
  const panel = h('div', { id: 'refund-panel' });
  main.replaceChildren(h('h2', {}, t('today')), h('div', { class: 'row card' }, day.element, filter.element), alert, totals, panel, list);
  let records = [];

  async function load() {
    const answer = await guarded(alert, () => get(`/v1/settlements?day=${day.input.value || today()}`));
    if (!answer) return;
    records = answer.records;
    const n = answer.totals;
    totals.replaceChildren(h('section', { class: 'card' }, h('h3', {}, t('dayTotals')), h('div', { class: 'figures' },
      [['settlementsCount', n.settlements, false], ['givenBack', n.given_back, false], ['total', n.total, true], ['fund', n.fund, true], ['account', n.account, true], ['cash', n.cash, true]]
        .map(([name, value, money]) => h('div', { class: 'figure' }, h('span', { class: 'label' }, t(name)), h('span', { class: 'value', id: `day-${name}` }, money ? yuan(value) : String(value)))))));
    draw();
  }

  function draw() {
    const q = filter.input.value.trim().toUpperCase();
    const shown = records.filter((r) => !q || r.id.toUpperCase().includes(q) || r.person_number.toUpperCase().includes(q));
    const rows = shown.map((r) => {
      const actions = h('td', { class: 'no-print' });
      if (r.kind === 'settlement' && r.state === 'completed') {
        actions.append(
          h('button', { type: 'button', 'data-action': 'receipt', onclick: () => guarded(alert, () => openPage(`/v1/settlements/${r.id}/receipt.html`)) }, t('receipt')), ' ',
          h('button', { type: 'button', 'data-action': 'refund', onclick: () => refundForm(r) }, t('refund')), ' ',
          h('button', { type: 'button', class: 'danger', 'data-action': 'reverse', onclick: () => reverse(r) }, t('reverse')));
      }
      return h('tr', { 'data-settlement': r.id, 'data-kind': r.kind }, h('td', {}, (r.settled_at ?? '').slice(11, 19)), h('td', {}, r.id), h('td', {}, t(`kind_${r.kind}`)),
        h('td', {}, t(`state_${r.state}`), r.reversed_by ? ` · ${t('reversed')}` : ''), h('td', {}, r.person_number),
        h('td', { class: 'num' }, yuan(r.breakdown.medfee_sumamt)), h('td', { class: 'num' }, yuan(r.breakdown.fund_pay_sumamt)),
        h('td', { class: 'num' }, yuan(r.breakdown.acct_pay)), h('td', { class: 'num' }, yuan(r.breakdown.psn_cash_pay)), actions);
    });
    list.replaceChildren(table(t('today'), [t('time'), t('id'), t('kind'), t('state'), t('patient'), t('total'), t('fund'), t('account'), t('cash'), t('actions')], rows, { id: 'day-table' }));
  }

  async function reverse(record) {
    const done = await guarded(alert, () => post(`/v1/settlements/${record.id}/reversal`, undefined, { key: newKey() }));
    if (done) {
      alert.textContent = `${t('reversed')}：${record.id}`;
      alert.classList.add('ok');
      await load();
    }
  }

  function refundForm(record) {
    const type = field(t('refundType'), { id: 'refund-type', options: [['lines', t('refundLines')], ['cash', t('refundCash')], ['insurance', t('refundInsurance')]] });
    const lines = h('fieldset', { id: 'refund-lines' }, h('legend', {}, t('lines')), record.lines.map((line) =>
      h('label', { class: 'row' }, h('input', { type: 'checkbox', value: line.split.line_number, 'data-line': line.split.line_number }), ` ${line.split.line_number} ${line.split.item_name} ${yuan(line.split.amount)}`)));
    const amount = field(t('refundAmount'), { id: 'refund-amount', inputmode: 'decimal' });
    const result = h('p', { role: 'status', id: 'refund-result' });
    const key = newKey();
    const form = h('form', { id: 'refund-form', class: 'card', novalidate: true }, h('h3', {}, `${t('refund')} · ${record.id}`), type.element, lines, amount.element, result,
      h('button', { type: 'submit', class: 'primary' }, t('confirmRefund')));
    const sync = () => {
      lines.hidden = type.input.value !== 'lines';
      amount.element.hidden = type.input.value !== 'cash';
    };
    type.input.addEventListener('change', sync);
    sync();
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { type: type.input.value };
      if (body.type === 'lines') body.line_numbers = [...lines.querySelectorAll('input:checked')].map((box) => box.value);
      if (body.type === 'cash') body.amount = fen(amount.input.value);
      const refund = await guarded(result, () => post(`/v1/settlements/${record.id}/refunds`, body, { key }));
      if (refund) {
        panel.replaceChildren(h('p', { class: 'ok', id: 'refund-done', role: 'status' }, `${t('refunded')}：${yuan(-refund.breakdown.medfee_sumamt)}（${t('fund')} ${yuan(-refund.breakdown.fund_pay_sumamt)}，${t('account')} ${yuan(-refund.breakdown.acct_pay)}，${t('cash')} ${yuan(-refund.breakdown.psn_cash_pay)}）`));
        await load();
      }
    });
    panel.replaceChildren(form);
    type.input.focus();
  }

  day.input.addEventListener('change', load);
  filter.input.addEventListener('input', draw);
  await load();
}
