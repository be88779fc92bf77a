// The counter: identify the patient (a scanned pay code, or the insurance number), add fee lines by
// catalogue search or pasted from the HIS, pre-settle to see each line's split, why the fund paid what it
// paid (the deductible, the ratio, or care not covered at this level) and why a part is
// self-paid, settle in one step, print the receipt. Everything works from the keyboard: F2 scan,
// F4 item search, F8 pre-settle, F9 settle, F10 receipt.
import { fen, field, get, guarded, h, newKey, openPage, post, t, table, yuan } from '/desk/desk.js';
import { fundWhy } from '/shared/why.js';

let state = null; // { visit, byCode, preview, settlement, key }

const fresh = () => ({ visit: null, byCode: false, preview: null, settlement: null, key: newKey() });

function visitNumber() {
  const now = new Date(Date.now() + 8 * 3600 * 1000).toISOString().replace(/\D/g, '').slice(2, 14);
  return `MZ${now}${Math.floor(Math.random() * 1000).toString().padStart(3, '0')}`;
}

function reasons(split) {
  const parts = [];
  if (split.full_self_pay > 0) parts.push(`${t('reasonFull')} ${yuan(split.full_self_pay)}`);
  if (split.over_limit > 0) parts.push(`${t('reasonOver')} ${yuan(split.over_limit)}`);
  if (split.first_self_pay > 0) parts.push(`${t('reasonFirst')} ${yuan(split.first_self_pay)}`);
  return parts.join('；');
}

/** Why the fund paid what it paid, in the cashier's words (shared/why.js). */
function whyParagraph(b, id) {
  const why = fundWhy(b, t, yuan);
  return h('p', { id, 'data-why': why.kind, class: why.kind === 'nothing-in-scope' ? 'muted' : undefined }, why.text);
}

export function counterScreen(main) {
  if (!state || state.settlement) state = state?.settlement ? state : fresh();
  const alert = h('p', { role: 'alert', id: 'counter-alert' });
  const category = field(t('category'), { id: 'category', options: ['11', '13', '14', '41'].map((c) => [c, t(`cat${c}`)]) });
  const scan = field(t('scanLabel'), { id: 'scan', class: 'scan', autocomplete: 'off', spellcheck: 'false' });
  const scanForm = h('form', { id: 'scan-form', novalidate: true }, h('div', { class: 'row' }, h('div', { class: 'grow' }, scan.element), category.element));
  const patient = h('div', { id: 'patient' });
  const linesArea = h('div', { id: 'lines-area' });
  const split = h('div', { id: 'split' });
  const keys = h('p', { class: 'keys', id: 'keys' }, t('keys'));
  const waiting = h('div', { id: 'waiting' });
  // The waiting list's own alert: its refresh after a refused scan must not wipe the scan's message.
  const waitingAlert = h('p', { role: 'alert', id: 'waiting-alert' });
  main.replaceChildren(h('h2', {}, t('counter')), h('section', { class: 'card' }, scanForm, patient), alert, linesArea, split, waiting, waitingAlert, keys);

  scanForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = scan.input.value.trim();
    if (!value) return;
    state = fresh();
    const byCode = /^\d{16,32}$/.test(value);
    const body = { category: category.input.value, hospital_visit_number: visitNumber() };
    if (byCode) body.code = value;
    else body.person_number = value.toUpperCase();
    const visit = await guarded(alert, () => post('/v1/visits', body));
    scan.input.value = '';
    if (!visit) return drawVisit();
    state.visit = visit;
    state.byCode = byCode;
    drawVisit();
    document.getElementById('item-search')?.focus();
  });

  /** Visits waiting to be settled (frictionless visits, a declined card, a visit left open): take one. */
  async function drawWaiting() {
    const open = await guarded(waitingAlert, () => get('/v1/visits'));
    if (!open || state.visit) return waiting.replaceChildren();
    const rows = open.map((v) => h('tr', { 'data-visit': v.id }, h('td', {}, (v.opened_at ?? '').slice(11, 16)), h('td', {}, v.person_number), h('td', {}, v.hospital_visit_number),
      h('td', {}, v.payment_authority === 'frictionless' ? t('frictionless') : v.payment_authority === 'counter' ? t('byPerson') : t('byCode')), h('td', { class: 'num' }, yuan(v.total)),
      h('td', {}, h('button', { type: 'button', 'data-action': 'take', onclick: () => take(v) }, t('take')))));
    waiting.replaceChildren(h('section', { class: 'card' }, table(t('waiting'), [t('time'), t('patient'), t('visit'), t('openedBy'), t('total'), ''], rows, { id: 'waiting-table' })));
  }

  function take(visit) {
    state = fresh();
    state.visit = visit;
    state.byCode = visit.payment_authority !== 'counter';
    drawVisit();
    document.getElementById('presettle')?.focus();
  }

  function drawVisit() {
    split.replaceChildren();
    if (!state.visit) {
      patient.replaceChildren();
      linesArea.replaceChildren();
      drawWaiting();
      return;
    }
    waiting.replaceChildren();
    const v = state.visit;
    const how = v.payment_authority === 'frictionless' ? t('frictionless') : state.byCode ? t('byCode') : t('byPerson');
    patient.replaceChildren(h('p', { id: 'patient-line' }, `${t('patient')}：`, h('strong', { id: 'patient-number' }, v.person_number), `　${t('openedBy')}：${how}　${t('visit')}：${v.hospital_visit_number}　${t('category')}：`,
      h('span', { id: 'visit-category' }, t(`cat${v.category}`) === `cat${v.category}` ? v.category : t(`cat${v.category}`))));
    // The scan field's category follows the open visit when it is one the counter opens.
    if ([...category.input.options].some((o) => o.value === v.category)) category.input.value = v.category;
    drawLines();
    if (state.settlement) drawSettlement();
    else if (state.preview) drawPreview();
  }

  function drawLines() {
    const v = state.visit;
    const open = !state.settlement;
    const rows = v.lines.map((line) =>
      h('tr', { 'data-line': line.line_number }, h('td', {}, line.line_number), h('td', {}, line.item_code),
        h('td', {}, line.item_name, line.dosage?.frequency || line.dosage?.days ? h('span', { class: 'muted usage' }, ` ${t('usageShort', line.dosage.frequency ?? '', line.dosage.days)}`) : null), h('td', {}, line.item_class ?? ''),
        h('td', { class: 'num' }, String(line.quantity)), h('td', { class: 'num' }, yuan(line.unit_price)), h('td', { class: 'num' }, yuan(line.amount))));
    const parts = [table(t('lines'), ['#', t('code'), t('name'), t('cls'), t('quantity'), t('unitPrice'), t('lineAmount')], rows, { id: 'lines' }),
      h('p', {}, `${t('total')}：`, h('strong', { id: 'visit-total' }, yuan(v.total)))];
    if (open) parts.unshift(lineEntry());
    linesArea.replaceChildren(h('section', { class: 'card' }, ...parts, open ? settleControls() : null));
  }

  function lineEntry() {
    const search = field(t('itemSearch'), { id: 'item-search', autocomplete: 'off', role: 'combobox', 'aria-controls': 'item-results', 'aria-expanded': 'false', 'aria-autocomplete': 'list' });
    const results = h('ul', { id: 'item-results', role: 'listbox', 'aria-label': t('itemSearch'), hidden: true });
    const quantity = field(t('quantity'), { id: 'item-qty', value: '1', inputmode: 'decimal', size: '6' });
    const price = field(t('unitPrice'), { id: 'item-price', inputmode: 'decimal', size: '8' });
    const add = h('button', { type: 'submit', id: 'add-line' }, t('addLine'));
    // How a drug is taken (national 2204 used_frqu_dscr, prd_days, sin_dos_dscr): the patient's medication reminder follows it.
    const frequency = field(t('usage'), { id: 'item-frequency', options: [['', t('freqNone')], ...['qd', 'bid', 'tid', 'qid', 'qn', 'prn'].map((f) => [f, t(`freq_${f}`)])] });
    const days = field(t('usageDays'), { id: 'item-days', inputmode: 'numeric', size: '4' });
    const dose = field(t('usageDose'), { id: 'item-dose', size: '8', maxlength: '50' });
    const usage = h('div', { class: 'row', id: 'item-usage', hidden: true }, frequency.element, days.element, dose.element);
    const chosen = h('p', { id: 'item-chosen', class: 'muted', 'aria-live': 'polite' });
    let items = [];
    let active = 0;
    let picked = null;
    let timer = null;
    const show = () => {
      results.replaceChildren(...items.map((item, index) =>
        h('li', { role: 'option', id: `item-${index}`, 'aria-selected': index === active ? 'true' : 'false', 'data-code': item.code, onclick: () => pick(index) },
          `${item.code}　${item.name} ${item.specification ?? ''}　${item.item_class ?? ''}　${item.price_cap != null ? `${t('cap')} ${yuan(item.price_cap)}` : ''}`)));
      results.hidden = items.length === 0;
      search.input.setAttribute('aria-expanded', items.length ? 'true' : 'false');
      if (items.length) search.input.setAttribute('aria-activedescendant', `item-${active}`);
      else search.input.removeAttribute('aria-activedescendant');
    };
    const lookup = async () => {
      const q = search.input.value.trim();
      if (!q) {
        items = [];
        return show();
      }
      items = (await guarded(alert, () => get(`/v1/catalogue?q=${encodeURIComponent(q)}&limit=10`))) ?? [];
      active = 0;
      if (!items.length) alert.textContent = t('noMatch');
      show();
    };
    const pick = (index) => {
      picked = items[index];
      if (!picked) return;
      search.input.value = `${picked.code} ${picked.name}`;
      chosen.textContent = `${picked.code}　${picked.name}　${picked.item_class ?? ''}${picked.price_cap != null ? `　${t('cap')} ${yuan(picked.price_cap)}` : ''}`;
      if (picked.price_cap != null && !price.input.value) price.input.value = yuan(picked.price_cap);
      usage.hidden = picked.category !== 'drug';
      items = [];
      show();
      quantity.input.focus();
      quantity.input.select();
    };
    search.input.addEventListener('input', () => {
      picked = null;
      clearTimeout(timer);
      timer = setTimeout(lookup, 150);
    });
    search.input.addEventListener('keydown', async (event) => {
      if (event.key === 'ArrowDown' && items.length) {
        active = Math.min(active + 1, items.length - 1);
        show();
        event.preventDefault();
      } else if (event.key === 'ArrowUp' && items.length) {
        active = Math.max(active - 1, 0);
        show();
        event.preventDefault();
      } else if (event.key === 'Enter' && !picked) {
        event.preventDefault();
        clearTimeout(timer);
        if (!items.length) await lookup();
        pick(active);
      } else if (event.key === 'Escape') {
        items = [];
        show();
      }
    });
    const form = h('form', { id: 'line-form', novalidate: true }, h('div', { class: 'row' }, search.element, quantity.element, price.element, add), results, chosen, usage);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!picked) return search.input.focus();
      const unit = fen(price.input.value);
      const qty = Number(quantity.input.value);
      if (unit === null || !(qty > 0)) {
        alert.classList.add('error');
        alert.textContent = t('genericError');
        return;
      }
      const dayCount = days.input.value.trim() ? Number(days.input.value) : null;
      if (dayCount !== null && !(Number.isInteger(dayCount) && dayCount >= 1 && dayCount <= 365)) {
        alert.classList.add('error');
        alert.textContent = t('genericError');
        return days.input.focus();
      }
      const dosage = picked.category === 'drug' && (frequency.input.value || dayCount || dose.input.value.trim())
        ? { ...(frequency.input.value ? { frequency: frequency.input.value } : {}), ...(dayCount ? { days: dayCount } : {}), ...(dose.input.value.trim() ? { single_dose: dose.input.value.trim() } : {}) }
        : undefined;
      await addLines([{ item_code: picked.code, quantity: qty, unit_price: unit, ...(dosage ? { dosage } : {}) }]);
    });
    const paste = h('textarea', { id: 'paste', 'aria-label': t('paste') });
    const pasteButton = h('button', { type: 'button', id: 'add-pasted' }, t('addPasted'));
    pasteButton.addEventListener('click', async () => {
      const lines = paste.value.split('\n').map((row) => row.split(/[,\t]/).map((cell) => cell.trim())).filter((cells) => cells[0]);
      const parsed = lines.map(([code, qty, price]) => ({ item_code: code, quantity: Number(qty), unit_price: fen(price) }));
      if (parsed.some((line) => !(line.quantity > 0) || line.unit_price === null)) {
        alert.classList.add('error');
        alert.textContent = t('genericError');
        return;
      }
      await addLines(parsed);
      paste.value = '';
    });
    return h('div', {}, form, h('details', {}, h('summary', {}, t('paste')), paste, pasteButton));
  }

  async function addLines(lines) {
    const next = state.visit.lines.length;
    const numbered = lines.map((line, index) => ({ line_number: String(next + index + 1), ...line }));
    const visit = await guarded(alert, () => post(`/v1/visits/${state.visit.id}/lines`, { lines: numbered }));
    if (!visit) return;
    state.visit = visit;
    state.preview = null;
    drawVisit();
    document.getElementById('item-search')?.focus();
  }

  function settleControls() {
    const useAccount = h('input', { type: 'checkbox', id: 'use-account', checked: state.useAccount !== false });
    useAccount.addEventListener('change', () => (state.useAccount = useAccount.checked));
    const options = state.byCode ? [['source', t('fromSource')], ['counter', t('atCounter')]] : [['counter', t('atCounter')]];
    const collection = field(t('cashCollection'), { id: 'cash-collection', options });
    collection.input.value = state.collection ?? options[0][0];
    collection.input.addEventListener('change', () => (state.collection = collection.input.value));
    const pre = h('button', { type: 'button', id: 'presettle' }, `${t('preSettle')} (F8)`);
    const go = h('button', { type: 'button', id: 'settle', class: 'primary' }, `${t('settle')} (F9)`);
    pre.addEventListener('click', preSettle);
    go.addEventListener('click', settle);
    // Cancelling a registration (挂号撤销) takes two clicks: the first asks, the second cancels.
    const cancel = h('button', { type: 'button', id: 'cancel-visit' }, t('cancelVisit'));
    const arm = (armed) => {
      cancel.dataset.armed = armed ? '1' : '';
      cancel.textContent = t(armed ? 'confirmCancelVisit' : 'cancelVisit');
    };
    cancel.addEventListener('click', () => (cancel.dataset.armed ? cancelVisit() : arm(true)));
    cancel.addEventListener('blur', () => arm(false));
    return h('div', { class: 'row' }, h('label', {}, useAccount, ` ${t('useAccount')}`), collection.element, pre, go, cancel);
  }

  async function cancelVisit() {
    if (!state.visit || state.settlement) return;
    const visit = await guarded(alert, () => post(`/v1/visits/${state.visit.id}/cancellation`, {}));
    if (!visit) return;
    state = fresh();
    drawVisit();
    alert.textContent = t('visitCancelled', visit.hospital_visit_number);
    scan.input.focus();
  }

  async function preSettle() {
    if (!state.visit || state.settlement) return;
    const preview = await guarded(alert, () => post(`/v1/visits/${state.visit.id}/pre-settlement`, { use_account: state.useAccount !== false }));
    if (!preview) return;
    state.preview = preview;
    drawPreview();
  }

  function figures(b, prefix) {
    const parts = [['total', b.medfee_sumamt], ['fund', b.fund_pay_sumamt], ...(b.oth_pay ? [['plan', b.oth_pay]] : []), ['account', b.acct_pay], ['cash', b.psn_cash_pay]];
    return h('div', { class: 'figures' }, parts.map(([name, value]) =>
      h('div', { class: 'figure' }, h('span', { class: 'label' }, t(name)), h('span', { class: 'value', id: `${prefix}-${name}` }, yuan(value)))));
  }

  function lineShares(lines) {
    return table(t('splitTitle'), ['#', t('name'), t('lineAmount'), t('fund'), t('account'), t('cash'), t('selfReason')],
      lines.map((line) => h('tr', { 'data-line': line.split.line_number }, h('td', {}, line.split.line_number), h('td', {}, line.split.item_name),
        h('td', { class: 'num' }, yuan(line.split.amount)), h('td', { class: 'num' }, yuan(line.fund_paid)), h('td', { class: 'num' }, yuan(line.account_paid)),
        h('td', { class: 'num' }, yuan(line.cash_paid)), h('td', { class: 'reason' }, reasons(line.split)))), { id: 'split-lines' });
  }

  function drawPreview() {
    const p = state.preview;
    split.replaceChildren(h('section', { class: 'card', id: 'preview' }, h('h3', {}, `${t('preSettle')} · ${p.policy_title}`), figures(p.breakdown, 'pre'), whyParagraph(p.breakdown, 'pre-why'), lineShares(p.lines)));
  }

  async function settle() {
    if (!state.visit || state.settlement) return;
    const body = { use_account: state.useAccount !== false };
    if ((state.collection ?? (state.byCode ? 'source' : 'counter')) === 'counter' && state.byCode) body.cash_collection = 'counter';
    const record = await guarded(alert, () => post(`/v1/visits/${state.visit.id}/settlement`, body, { key: state.key }));
    if (!record) return;
    state.settlement = record;
    drawVisit();
    document.getElementById('print-receipt')?.focus();
  }

  function drawSettlement() {
    const s = state.settlement;
    const status = s.state === 'completed' ? t('settled') : s.state === 'pending' ? t('pending') : t('declined');
    const print = h('button', { type: 'button', id: 'print-receipt', class: 'primary' }, `${t('receipt')} (F10)`);
    print.addEventListener('click', () => printReceipt(s.id));
    const next = h('button', { type: 'button', id: 'next-patient' }, `${t('nextPatient')} (F2)`);
    next.addEventListener('click', nextPatient);
    split.replaceChildren(h('section', { class: 'card', id: 'settlement' }, h('h3', {}, h('span', { id: 'settlement-state', class: s.state === 'completed' ? 'ok' : 'error' }, status), `　${t('id')} `, h('span', { id: 'settlement-id' }, s.id)),
      figures(s.breakdown, 'paid'), whyParagraph(s.breakdown, 'paid-why'), lineShares(s.lines), h('div', { class: 'row no-print' }, s.state === 'completed' ? print : null, next)));
  }

  async function printReceipt(id) {
    await guarded(alert, () => openPage(`/v1/settlements/${id}/receipt.html`));
  }

  function nextPatient() {
    state = fresh();
    drawVisit();
    alert.textContent = '';
    scan.input.focus();
  }

  drawVisit();
  if (!state.visit) scan.input.focus();
  document.onkeydown = (event) => {
    if (!document.getElementById('scan')) return;
    const actions = { F2: () => (state.settlement || !state.visit ? nextPatient() : scan.input.focus()), F4: () => document.getElementById('item-search')?.focus(), F8: preSettle, F9: settle, F10: () => state.settlement && printReceipt(state.settlement.id) };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  };
}
