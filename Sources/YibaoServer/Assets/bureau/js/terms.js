// The partner banks' credit terms (信用就医条款) on the credit screen: the billing day, the interest-free
// days to the due date, the penalty interest a day, the late fee and when an overdue line is suspended.
// An administrator changes a partner's terms; lines opened from then on take them (docs/credit.md),
// and a figure the platform refuses is named with its field.
import { fen, field, get, guarded, h, messageWithField, put, t, table, yuan } from '/desk/desk.js';
import { percent } from '/shared/format.js';

function editor(terms, alert, reload) {
  const fields = {
    partner_name: field(t('partnerName'), { id: 'terms-name', value: terms.partner_name, maxlength: '100', autocomplete: 'off' }),
    billing_day: field(t('billingDay'), { id: 'terms-billing-day', type: 'number', min: '1', max: '28', value: String(terms.billing_day) }),
    grace_days: field(t('graceDays'), { id: 'terms-grace-days', type: 'number', min: '0', value: String(terms.grace_days) }),
    penalty_basis_points_per_day: field(t('penaltyBasisPoints'), { id: 'terms-penalty', type: 'number', min: '0', value: String(terms.penalty_basis_points_per_day) }),
    late_fee: field(t('lateFee'), { id: 'terms-late-fee', inputmode: 'decimal', value: yuan(terms.late_fee), autocomplete: 'off' }),
    suspend_after_overdue_days: field(t('suspendAfter'), { id: 'terms-suspend', type: 'number', min: '1', value: String(terms.suspend_after_overdue_days) }),
  };
  const result = h('p', { role: 'status', id: 'terms-result' });
  const form = h('form', { id: 'terms-form', novalidate: true }, h('h3', {}, t('termsOf', terms.partner)), h('p', { class: 'muted' }, t('termsNote')),
    h('div', { class: 'row' }, Object.values(fields).map((f) => f.element)), h('button', { type: 'submit', class: 'primary' }, t('save')), result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.classList.remove('error');
    const lateFee = fen(fields.late_fee.input.value);
    const whole = (f) => (/^\d{1,6}$/.test(f.input.value.trim()) ? Number(f.input.value.trim()) : NaN);
    const body = { partner_name: fields.partner_name.input.value.trim(), billing_day: whole(fields.billing_day), grace_days: whole(fields.grace_days),
      penalty_basis_points_per_day: whole(fields.penalty_basis_points_per_day), late_fee: lateFee, suspend_after_overdue_days: whole(fields.suspend_after_overdue_days) };
    const bad = Object.entries(body).find(([, value]) => value === null || Number.isNaN(value) || value === '');
    if (bad) {
      result.classList.add('error');
      result.textContent = t('termsInvalid', t(`terms_${bad[0]}`));
      return;
    }
    if ((await guarded(result, () => put(`/v1/admin/credit/partners/${encodeURIComponent(terms.partner)}`, body), messageWithField)) === undefined) return;
    await reload();
    alert.textContent = t('termsSaved', terms.partner);
  });
  return form;
}

/** The terms table and, for administrators, the form that changes a partner's terms. */
export async function termsSection(main, { can, alert }) {
  const section = h('section', { class: 'card', id: 'terms-card' });
  main.append(section);
  async function load() {
    const partners = await guarded(alert, () => get('/v1/admin/credit/partners'));
    if (!partners) return;
    const edit = h('div', { id: 'terms-edit' });
    const rows = partners.map((p) => h('tr', { 'data-partner': p.partner }, h('td', {}, p.partner), h('td', {}, p.partner_name), h('td', { class: 'num' }, String(p.billing_day)),
      h('td', { class: 'num' }, String(p.grace_days)), h('td', { class: 'num' }, percent(p.penalty_basis_points_per_day)), h('td', { class: 'num' }, yuan(p.late_fee)),
      h('td', { class: 'num' }, String(p.suspend_after_overdue_days)),
      h('td', {}, can('administrator') ? h('button', { type: 'button', 'data-edit': p.partner, onclick: () => {
        alert.textContent = '';
        edit.replaceChildren(editor(p, alert, load));
      } }, t('change')) : '')));
    section.replaceChildren(table(t('creditTerms'), [t('partner'), t('partnerName'), t('billingDay'), t('graceDays'), t('penaltyPerDay'), t('lateFee'), t('suspendAfter'), ''], rows,
      { id: 'credit-terms' }), edit);
  }
  await load();
}
