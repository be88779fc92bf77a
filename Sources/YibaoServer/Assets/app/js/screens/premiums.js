// Premiums: for myself or a bound relative, the contribution and period with the amount from the
// policy, paid with a bound card, then the e-receipt with its verification code and a link anyone can
// open to check it.
import { get, newKey, post } from '../api.js';
import { named, t, yuan } from '../i18n.js';
import { go } from '../main.js';
import { actionButton, card, field, form, h, split } from '../ui.js';

export async function render(main, [forPerson]) {
  const [me, bindings, sources] = await Promise.all([get('/v1/patient/me'), get('/v1/patient/family/bindings'), get('/v1/patient/funding-sources')]);
  const person = forPerson || me.person_number;
  const members = (bindings.bindings ?? bindings).filter((b) => b.binder_number === me.person_number && b.state === 'approved' && !b.unbound_at);
  const who = field(t('payFor'), {
    id: 'premium-person',
    options: [[me.person_number, `${t('self')} (${me.person_number})`], ...members.map((b) => [b.member_number, `${t(b.relationship)} (${b.member_number})`])],
  });
  who.input.value = person;
  who.input.addEventListener('change', () => go(`premiums/${encodeURIComponent(who.input.value)}`));
  const options = await get(`/v1/patient/premiums?person_number=${encodeURIComponent(person)}`);
  const cards = (sources.sources ?? sources).filter((s) => s.kind !== 'medical_credit');
  const list = (options.options ?? options).map((option) => {
    if (option.payment_id && option.status === 'paid') {
      return h('li', {}, h('div', { class: 'row' }, h('span', {}, `${named(option.kind)} · ${option.period}`), h('span', { class: 'pill' }, t('paid'))),
        actionButton(t('receipt'), () => showReceipt(main, option.payment_id)));
    }
    if (!option.open) return h('li', { class: 'muted' }, `${named(option.kind)} · ${option.period} · ${yuan(option.amount)} · ${named(option.status)}`);
    const source = field(t('payWithCard'), { id: `premium-card-${option.kind}-${option.period}`, options: cards.map((c) => [c.id, `${c.bank ?? ''} ${c.masked ?? c.label ?? c.id}`]) });
    const totp = field(t('authCode'), { id: `premium-code-${option.kind}-${option.period}`, inputmode: 'numeric', maxlength: '6' });
    const key = newKey();
    return h(
      'li',
      {},
      h('div', { class: 'row' }, h('strong', {}, `${named(option.kind)} · ${option.period}`), h('span', { class: 'amount' }, `${yuan(option.amount)} ${t('yuan')}`)),
      form(
        person === me.person_number ? [source] : [source, totp],
        t('pay'),
        async () => {
          const body = { person_number: person, kind: option.kind, period: option.period, amount: option.amount, funding_source_id: source.input.value || undefined };
          if (totp.input.value.trim()) body.totp_code = totp.input.value.trim();
          const payment = await post('/v1/patient/premiums', body, { key });
          await showReceipt(main, payment.id);
        },
        { id: `premium-form-${option.kind}-${option.period}` },
      ),
    );
  });
  main.replaceChildren(
    h('h2', {}, t('premiums')),
    card(who.element),
    card(list.length ? h('ul', { class: 'list', id: 'premium-options' }, list) : h('p', { class: 'muted' }, t('none'))),
  );
}

async function showReceipt(main, id) {
  const receipt = await get(`/v1/patient/premiums/${encodeURIComponent(id)}/receipt`);
  const p = receipt.payment;
  const link = `${location.origin}/app/#/verify/${encodeURIComponent(p.id)}/${encodeURIComponent(receipt.verification_code)}/${p.amount}/${encodeURIComponent(p.period)}`;
  main.replaceChildren(
    h('h2', {}, t('receipt')),
    card(
      split([
        [t('personNumber'), p.person_number],
        [t('kind'), named(p.kind)],
        [t('period'), p.period],
        [t('amount'), h('span', { id: 'premium-amount' }, `${yuan(p.amount)} ${t('yuan')}`)],
        [t('verifyCode'), h('span', { id: 'premium-code', class: 'key' }, receipt.verification_code)],
      ]),
      h('p', {}, t('verifyLink'), ': ', h('a', { href: link, id: 'premium-verify-link' }, link)),
    ),
    h('p', {}, h('a', { href: '#/premiums' }, t('back'))),
  );
}

/** The public check of a receipt: anyone with the link sees whether it is authentic. No sign-in. */
export async function verify(main, [id, code, amount, period]) {
  const params = new URLSearchParams({ code: code ?? '', amount: amount ?? '', period: period ?? '' });
  const result = await get(`/v1/receipts/${encodeURIComponent(id)}/verification?${params}`);
  main.replaceChildren(
    h('h2', {}, t('receipt')),
    card(
      h('p', { class: result.authentic ? 'notice' : 'error', id: 'verify-result', role: 'status' }, result.authentic ? t('authentic') : t('notAuthentic')),
      split([
        [t('amount'), result.amount == null ? '' : `${yuan(result.amount)} ${t('yuan')}`],
        [t('period'), result.period ?? ''],
      ]),
    ),
  );
}
