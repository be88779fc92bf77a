// Bills to pay on the phone (医保移动支付): orders the hospital sent for you or for a relative you
// bind. Confirming with the second factor settles exactly as the pay code at the counter would: the
// fund and the personal account (and, for a relative, your account as mutual aid), the rest from your
// default card or credit line.
import { get, newKey, post } from '../api.js';
import { dateTime, t, yuan } from '../i18n.js';
import { card, form, h, split } from '../ui.js';

export async function render(main) {
  const [me, orders] = await Promise.all([get('/v1/patient/me'), get('/v1/patient/payment-orders')]);
  const open = orders.filter((o) => o.state === 'awaiting_payment');
  const done = orders.filter((o) => o.state !== 'awaiting_payment');
  main.replaceChildren(
    h('h2', {}, t('orders')),
    h('p', { class: 'muted' }, t('ordersHelp')),
    open.length ? h('div', { id: 'orders-open' }, open.map((o) => orderCard(o, me))) : card(h('p', { class: 'muted' }, t('none'))),
    done.length ? card(h('h3', {}, t('history')), h('ul', { class: 'list', id: 'orders-done' }, done.map((o) => h('li', { 'data-order': o.id }, `${o.institution.name} · ${yuan(o.total)} · `, h('span', { class: 'pill' }, t(`order_${o.state}`)))))) : null,
  );
}

function orderCard(order, me) {
  const forMember = order.person_number !== me.person_number;
  const useAccount = h('input', { type: 'checkbox', id: `order-account-${order.id}`, checked: true });
  const key = newKey();
  const preview = order.preview?.breakdown;
  return card(
    h('div', { 'data-order': order.id },
      h('h3', {}, order.institution.name),
      forMember ? h('p', { class: 'notice' }, `${t('forRelative')} ${order.person_number}`) : null,
      split([
        [t('total'), h('span', { class: 'amount' }, `${yuan(order.total)} ${t('yuan')}`)],
        ...(preview ? [[t('fund'), yuan(preview.fund_pay_sumamt ?? preview.hifp_pay)], [t('account'), yuan(preview.acct_pay)], [t('cash'), yuan(preview.psn_cash_pay)]] : []),
        [t('payBefore'), dateTime(order.expires_at)],
      ]),
      form(
        [h('div', { class: 'row' }, h('label', { for: `order-account-${order.id}` }, useAccount, ' ', t('useAccount')))],
        t('pay'),
        async () => {
          const record = await post(`/v1/patient/payment-orders/${order.id}/payment`, { use_account: useAccount.checked }, { key });
          showPaid(record);
        },
        { id: `order-form-${order.id}` },
      ),
    ),
  );
}

function showPaid(record) {
  const b = record.breakdown;
  const main = document.getElementById('main');
  main.replaceChildren(
    h('h2', {}, t('paid')),
    card(
      split([
        [t('total'), h('span', { id: 'paid-total' }, yuan(b.medfee_sumamt))],
        [t('fund'), h('span', { id: 'paid-fund' }, yuan(b.fund_pay_sumamt))],
        [t('account'), h('span', { id: 'paid-account' }, yuan(b.acct_pay))],
        [t('mutualAid'), h('span', { id: 'paid-mutual-aid' }, yuan(b.acct_mulaid_pay))],
        [t('cash'), h('span', { id: 'paid-cash' }, yuan(b.psn_cash_pay))],
      ]),
    ),
    h('p', {}, h('a', { href: '#/wallet', class: 'button secondary' }, t('wallet'))),
    h('p', {}, h('a', { href: '#/orders' }, t('back'))),
  );
  main.focus();
}

