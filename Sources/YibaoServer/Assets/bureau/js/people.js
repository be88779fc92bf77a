// People (find by insurance number — personal data masked; enrol, for operators; adjust the personal
// account by hand and the adjustments waiting for a second administrator, for administrators) and the reference
// data: policies (policies.js: each one's figures, and a region's file uploaded), the commercial plans (plans.js: what each paid this
// month, and a plan's file uploaded), a
// catalogue item, a catalogue CSV import with the rejected rows listed by line.
import { api, confirmed, dateTime, fen, field, get, guarded, h, newKey, post, t, table, yuan } from '/desk/desk.js';
import { plansSection } from './plans.js';
import { policiesSection } from './policies.js';

/** An administrator's manual adjustment of a person's account: posted at once up to the approval line,
 * above it waiting for a second administrator; and the adjustments that wait, which only another
 * administrator may approve or reject. Every one is audited with both names. */
function adjustments(me, alert, refreshPerson) {
  const amount = field(t('adjustAmount'), { id: 'adjust-amount', inputmode: 'decimal', autocomplete: 'off' });
  const reason = field(t('adjustReason'), { id: 'adjust-reason', autocomplete: 'off', maxlength: '200' });
  const result = h('p', { role: 'status', id: 'adjust-result' });
  const queue = h('div', { id: 'adjustments-pending' });
  let person = null;
  // One key per adjustment meant: a retry after a lost answer sends the same one (the API then answers
  // the first adjustment, nothing posted twice); a new amount, reason or person is a new adjustment.
  let key = newKey();
  for (const f of [amount, reason]) f.input.addEventListener('input', () => (key = newKey()));
  const form = h('section', { class: 'card', id: 'adjust-card', hidden: true }, h('h3', {}, t('adjustTitle')), h('p', { class: 'muted' }, t('adjustNote')),
    h('div', { class: 'row' }, amount.element, reason.element), confirmed(t('adjust'), () => t('confirmAdjust', person, amount.input.value.trim()), 'adjust', async () => {
      const value = fen(amount.input.value, { signed: true });
      if (!value) return (result.textContent = t('adjustInvalid'));
      const done = await guarded(result, () => post(`/v1/admin/people/${encodeURIComponent(person)}/adjustments`, { amount: value, reason: reason.input.value.trim() }, { key }));
      if (!done) return;
      result.textContent = done.state === 'posted' ? t('adjustPosted', yuan(done.amount)) : t('adjustPending', yuan(done.amount));
      amount.input.value = '';
      reason.input.value = '';
      key = newKey();
      await Promise.all([refreshPerson(person), loadQueue()]);
    }), result);
  async function loadQueue() {
    const pending = await guarded(alert, () => get('/v1/admin/adjustments?state=pending'));
    if (!pending) return;
    queue.replaceChildren(table(t('pendingAdjustments'), [t('openedAt'), t('person'), t('amountCol'), t('adjustReason'), t('requestedBy'), ''], pending.map((a) => {
      const decide = (path, done) => async () => {
        if (await guarded(alert, () => post(`/v1/admin/adjustments/${encodeURIComponent(a.id)}/${path}`, {})) === undefined) return;
        alert.textContent = done;
        await Promise.all([loadQueue(), person ? refreshPerson(person) : null]);
      };
      const actions = a.requested_by === `operator:${me.name}` ? h('span', { class: 'muted' }, t('waitsForAnother'))
        : h('span', {}, confirmed(t('approve'), t('confirmApprove', a.person_number, yuan(a.amount)), `approve-${a.id}`, decide('approval', t('adjustApproved'))), ' ',
          confirmed(t('reject'), t('confirmReject'), `reject-${a.id}`, decide('rejection', t('adjustRejected'))));
      return h('tr', { 'data-adjustment': a.id }, h('td', {}, dateTime(a.requested_at)), h('td', {}, a.person_number), h('td', { class: 'num' }, yuan(a.amount)),
        h('td', {}, a.reason), h('td', {}, a.requested_by.replace(/^operator:/, '')), h('td', {}, actions));
    }), { id: 'adjustments' }));
  }
  return {
    form, queue: h('section', { class: 'card' }, queue), loadQueue,
    show(number) {
      if (number !== person) {
        result.textContent = '';
        key = newKey();
      }
      person = number;
      form.hidden = !number;
    },
  };
}

export async function peopleScreen(main, { can, me }) {
  const alert = h('p', { role: 'alert', id: 'people-alert' });
  const number = field(t('personNumber'), { id: 'find-number', autocomplete: 'off' });
  const found = h('div', { id: 'person' });
  const find = h('form', { id: 'find-form', class: 'card', novalidate: true }, h('div', { class: 'row' }, number.element, h('button', { type: 'submit', class: 'primary' }, t('find'))), found);
  const adjusting = can('administrator') ? adjustments(me, alert, (shown) => show(shown)) : null;
  async function show(wanted = number.input.value.trim()) {
    const person = await guarded(alert, () => get(`/v1/admin/people/${encodeURIComponent(wanted)}`));
    adjusting?.show(person?.number);
    if (!person) return found.replaceChildren();
    found.replaceChildren(h('dl', { class: 'split' }, [[t('personNumber'), person.number], [t('name'), person.name_masked], [t('idNumber'), person.id_number_masked],
      [t('phone'), person.phone_masked ?? ''], [t('region'), person.region], [t('insuranceType'), person.insurance_type], [t('status'), t(`insured_${person.status}`)],
      [t('balance'), yuan(person.account_balance)]].flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, v)])));
  }
  find.addEventListener('submit', (event) => {
    event.preventDefault();
    show();
  });
  main.replaceChildren(h('h2', {}, t('people')), alert, find);
  if (adjusting) {
    main.append(adjusting.form, adjusting.queue);
    await adjusting.loadQueue();
  }
  if (!can('operator')) return main.append(h('p', { class: 'muted' }, t('viewerNote')));
  const fields = {
    number: field(t('personNumber'), { id: 'enrol-number' }), name: field(t('name'), { id: 'enrol-name' }), id_number: field(t('idNumber'), { id: 'enrol-id' }),
    region: field(t('region'), { id: 'enrol-region', options: [['440100', '440100 广州'], ['620100', '620100 兰州']] }),
    insurance_type: field(t('insuranceType'), { id: 'enrol-type', options: [['310', '310 职工基本医疗保险'], ['390', '390 城乡居民基本医疗保险']] }),
    phone: field(t('phone'), { id: 'enrol-phone', inputmode: 'tel' }),
  };
  const result = h('p', { role: 'status', id: 'enrol-result' });
  const enrol = h('form', { id: 'enrol-form', class: 'card', novalidate: true }, h('h3', {}, t('enrol')), h('div', { class: 'row' }, Object.values(fields).map((f) => f.element)),
    h('button', { type: 'submit', class: 'primary' }, t('enrol')), result);
  enrol.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.input.value.trim()]).filter(([, v]) => v));
    const person = await guarded(result, () => post('/v1/admin/people', body));
    if (person) result.textContent = `${t('enrolled')}：${person.number} ${person.name_masked} ${person.id_number_masked}`;
  });
  main.append(enrol);
}

export async function referenceScreen(main, { can }) {
  const alert = h('p', { role: 'alert', id: 'reference-alert' });
  main.replaceChildren(h('h2', {}, t('reference')), alert);
  await policiesSection(main, { can, alert });
  await plansSection(main, { can, alert });
  const region = field(t('region'), { id: 'item-region', options: [['440100', '440100'], ['620100', '620100']] });
  const code = field(t('code'), { id: 'item-code', autocomplete: 'off' });
  const item = h('div', { id: 'item' });
  const look = h('form', { class: 'card', id: 'item-form', novalidate: true }, h('h3', {}, t('item')), h('div', { class: 'row' }, region.element, code.element, h('button', { type: 'submit' }, t('lookUp'))), item);
  look.addEventListener('submit', async (event) => {
    event.preventDefault();
    const found = await guarded(alert, () => get(`/v1/admin/catalogue/${region.input.value}/${encodeURIComponent(code.input.value.trim())}`));
    item.replaceChildren(found ? h('p', {}, `${found.code} ${found.name} ${found.specification} · ${found.category} · ${found.item_class}${found.price_cap != null ? ` · ${yuan(found.price_cap)}` : ''}`) : '');
  });
  main.append(look);
  if (!can('operator')) return main.append(h('p', { class: 'muted' }, t('viewerNote')));
  const csv = h('textarea', { id: 'catalogue-csv', 'aria-label': t('importCatalogue'), rows: '6' });
  csv.value = 'region,code,name,specification,category,class,price_cap_yuan,first_self_pay_percent\n';
  const result = h('div', { id: 'import-result', role: 'status' });
  const button = h('button', { type: 'button', class: 'primary', id: 'import-button' }, t('importButton'));
  button.addEventListener('click', async () => {
    const answer = await guarded(alert, () => api('POST', '/v1/admin/catalogue', { body: csv.value, text: true }));
    if (!answer) return;
    const rejected = answer.rejected ?? [];
    result.replaceChildren(h('p', {}, `${t('accepted')} ${answer.accepted ?? 0} · ${t('created')} ${answer.created ?? 0} · ${t('updated')} ${answer.updated ?? 0}`),
      table(t('rejectedRows'), [t('line'), t('reason')], rejected.map((r) => h('tr', {}, h('td', {}, String(r.line)), h('td', {}, r.reason ?? r.problem ?? JSON.stringify(r)))), { id: 'rejected-rows' }));
  });
  main.append(h('section', { class: 'card' }, h('h3', {}, t('importCatalogue')), csv, button, result));
}
