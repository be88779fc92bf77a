// Partners' webhooks (Standard Webhooks), for administrators on the access screen: every live
// subscription — a partner's, or an institution's own — with what waits for it (a partner whose endpoint is
// down shows its waiting deliveries, since when, and what it answered), a partner (a bank, a commercial insurer)
// subscribed to event types at a public https address, its signing secret shown once, and any
// subscription cancelled, after a confirmation. The API audits each with the administrator's name.
import { confirmed, dateTime, del, field, get, guarded, h, messageWithField, post, shownOnce, t, table } from '/desk/desk.js';

/** The event types a partner may ask for (Platform.webhookEventTypes, without "*"). */
const EVENTS = ['settlement.completed', 'settlement.reversed', 'settlement.refunded', 'payment.declined', 'premium.paid', 'medication.reminder', 'plan.claim'];

/** An event type in words (its code in the title, for the partner's engineers); a type without words as its code. */
function eventName(type) {
  const key = type === '*' ? 'allEvents' : `event_${type.replaceAll('.', '_')}`;
  const words = t(key);
  return h('span', { class: 'event', title: type, 'data-event-type': type }, words === key ? type : words);
}

/** What waits for the subscriber: nothing (delivered), or how many since when, and what its endpoint answered. */
function backlogCell(backlog) {
  if (!backlog?.pending) return h('td', { class: 'ok', 'data-pending': '0' }, t('allDelivered'));
  // Not tried yet: on their way (the worker posts within seconds), not a failure.
  if (!backlog.attempts) return h('td', { class: 'muted', 'data-pending': String(backlog.pending) }, t('deliveriesOnTheirWay', backlog.pending));
  return h('td', { class: 'error', 'data-pending': String(backlog.pending) },
    t('deliveriesWaiting', backlog.pending, dateTime(backlog.oldest_pending_at), backlog.attempts), backlog.last_error ? h('div', { class: 'muted' }, backlog.last_error) : '');
}

/** The webhooks card; `alert` carries refusals. */
export async function webhooksSection(alert) {
  const card = h('section', { class: 'card', id: 'webhooks-card' });
  const list = h('div', {});
  const secret = h('div', { id: 'webhook-secret', role: 'status' });
  const partner = field(t('webhookPartner'), { id: 'webhook-partner', autocomplete: 'off', maxlength: '50' });
  const url = field(t('webhookUrl'), { id: 'webhook-url', type: 'url', placeholder: 'https://', size: '40' });
  const boxes = EVENTS.map((event) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: event, 'data-event': event }), ` ${t(`event_${event.replace('.', '_')}`)}`));
  const form = h('form', { id: 'webhook-form', novalidate: true }, h('h4', {}, t('subscribePartner')),
    h('div', { class: 'row' }, partner.element, url.element), h('fieldset', {}, h('legend', {}, t('webhookEvents')), ...boxes),
    h('button', { type: 'submit', class: 'primary' }, t('subscribe')));

  async function load() {
    const subscriptions = await guarded(alert, () => get('/v1/admin/webhooks'));
    if (!subscriptions) return;
    list.replaceChildren(table(t('liveSubscriptions'), [t('owner'), t('webhookUrl'), t('webhookEvents'), t('deliveries'), ''], subscriptions.map((s) =>
      h('tr', { 'data-webhook': s.id }, h('td', {}, s.owner), h('td', {}, h('code', {}, s.url)), h('td', {}, ...s.events.flatMap((type, i) => (i ? [t('listSeparator'), eventName(type)] : [eventName(type)]))), backlogCell(s.backlog),
        h('td', {}, confirmed(t('cancelWebhook'), t('confirmCancelWebhook', s.owner), `cancel-${s.id}`, async () => {
          if ((await guarded(alert, () => del(`/v1/admin/webhooks/${encodeURIComponent(s.id)}`))) === undefined) return;
          secret.replaceChildren();
          await load();
          alert.textContent = t('webhookCancelled', s.owner);
        })))), { id: 'webhooks' }));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const events = boxes.map((b) => b.firstChild).filter((box) => box.checked).map((box) => box.value);
    // A refusal names its field: the partner, the address or the events.
    const created = await guarded(alert, () => post('/v1/admin/webhooks', { partner: partner.input.value.trim(), url: url.input.value.trim(), events }), messageWithField);
    if (!created) return;
    form.reset();
    await load();
    secret.replaceChildren(...shownOnce(t('webhookSecretOnce', created.owner), [[t('secret'), 'webhook-secret-value', created.secret]]));
  });
  card.replaceChildren(h('h3', {}, t('webhooks')), h('p', { class: 'muted' }, t('webhooksNote')), list, form, secret);
  await load();
  return card;
}
