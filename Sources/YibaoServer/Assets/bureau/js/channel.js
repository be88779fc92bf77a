// The bank's side of the clearing screen, for operators: the three-way reconciliation of one day (银行对账: the channel's statement against Yibao's captures and refunds; breaks go to the exception queue,
// and a rerun resolves those no longer found), which the daily close also runs, and the bank's payment
// instruction file (付款指令) for every clearing being paid.
import { download, field, guarded, h, post, shiftDay, t, table, today, yuan } from '/desk/desk.js';

/** The last run's answer, kept so that it stays shown when the screen reloads its queue. */
let lastRun = null;

function runResult(run) {
  if (!run) return h('div', { id: 'channel-result', role: 'status' });
  const breaks = run.breaks.map((b) => h('tr', { 'data-break': b.key }, h('td', {}, t(`break_${b.kind}`)), h('td', {}, t(`movement_${b.movement}`)), h('td', {}, b.key),
    h('td', { class: 'num' }, b.channel != null ? yuan(b.channel) : '—'), h('td', { class: 'num' }, b.yibao != null ? yuan(b.yibao) : '—')));
  return h('div', { id: 'channel-result', role: 'status', 'data-day': run.day, 'data-breaks': String(run.breaks.length) },
    h('p', { class: run.breaks.length ? 'error' : 'ok' }, t('channelSummary', run.day, run.statement_movements, run.yibao_movements, yuan(run.captured), yuan(run.refunded), yuan(run.fees), run.breaks.length)),
    run.breaks.length ? table(t('channelBreaks'), [t('kind'), t('movement'), t('reference2'), t('atChannel'), t('inYibao')], breaks, { id: 'channel-breaks' }) : '');
}

/** The day's reconciliation form and its last answer; `reload` shows the exception queue again. */
export function channelSection(alert, reload) {
  const day = field(t('day'), { id: 'channel-day', type: 'date', value: lastRun?.day ?? shiftDay(today(), -1) });
  const form = h('form', { class: 'card', id: 'channel-form', novalidate: true }, h('h3', {}, t('channelReconcile')), h('p', { class: 'muted' }, t('channelNote')),
    h('div', { class: 'row' }, day.element, h('button', { type: 'submit', class: 'primary' }, t('channelRun'))), runResult(lastRun));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const run = await guarded(alert, () => post('/v1/admin/channel-reconciliation', { day: day.input.value }));
    if (!run) return;
    lastRun = run;
    await reload();
  });
  return form;
}

/** The bank's payment instruction file, downloaded. */
export function paymentFileButton(alert) {
  return h('button', { type: 'button', id: 'payment-file', onclick: () => guarded(alert, () => download('/v1/admin/payment-instructions.csv', 'yibao-payment-instructions.csv')) }, t('paymentFile'));
}
