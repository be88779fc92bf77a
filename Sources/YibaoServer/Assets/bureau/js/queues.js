// The operator's queues: bindings of children made with documents (approve, or reject with a reason),
// and transactions patients reported (resolve, saying how; the patient is told).
import { dateTime, field, get, guarded, h, put, t, table } from '/desk/desk.js';

export async function reviewsScreen(main) {
  const alert = h('p', { role: 'alert', id: 'reviews-alert' });
  const list = h('div', { id: 'reviews-list' });
  main.replaceChildren(h('h2', {}, t('reviews')), alert, list);
  async function load() {
    const reviews = await guarded(alert, () => get('/v1/admin/family/reviews'));
    if (!reviews) return;
    list.replaceChildren(table(t('reviews'), [t('requestedAt'), t('binder'), t('member'), t('relationship'), t('documentType'), t('documentReference'), t('note'), ''], reviews.map((r) => {
      const note = h('input', { type: 'text', 'aria-label': `${t('note')} ${r.id}`, 'data-note': r.id, size: '16' });
      const decide = (decision) => async () => {
        const done = await guarded(alert, () => put(`/v1/admin/family/reviews/${r.id}`, { decision, note: note.value.trim() || undefined }));
        if (done) {
          await load();
          alert.textContent = `${decision === 'approve' ? t('approved') : t('rejected')}：${r.member_number}`;
        }
      };
      return h('tr', { 'data-binding': r.id }, h('td', {}, dateTime(r.requested_at)), h('td', {}, r.binder_number), h('td', {}, r.member_number), h('td', {}, t(r.relationship)),
        h('td', {}, r.document_type ?? ''), h('td', {}, h('code', {}, r.document_reference ?? '')), h('td', {}, note),
        h('td', {}, h('button', { type: 'button', class: 'primary', 'data-action': 'approve', onclick: decide('approve') }, t('approve')), ' ',
          h('button', { type: 'button', class: 'danger', 'data-action': 'reject', onclick: decide('reject') }, t('reject'))));
    }), { id: 'reviews-table' }));
  }
  await load();
}

export async function reportsScreen(main) {
  const alert = h('p', { role: 'alert', id: 'reports-alert' });
  const list = h('div', { id: 'reports-list' });
  main.replaceChildren(h('h2', {}, t('reports')), alert, list);
  async function load() {
    const reports = await guarded(alert, () => get('/v1/admin/reports?state=open'));
    if (!reports) return;
    list.replaceChildren(table(t('reports'), [t('openedAt'), t('person'), t('reference2'), t('reason'), t('resolution'), ''], reports.map((r) => {
      const resolution = field(t('resolution'), { options: [['recognised', t('recognised')], ['corrected', t('corrected')], ['fraud_confirmed', t('fraud')]], 'data-resolution': r.id });
      const note = h('input', { type: 'text', 'aria-label': `${t('note')} ${r.id}`, size: '16' });
      const resolve = async () => {
        const done = await guarded(alert, () => put(`/v1/admin/reports/${r.id}`, { resolution: resolution.input.value, note: note.value.trim() }));
        if (done) await load();
      };
      return h('tr', { 'data-report': r.id }, h('td', {}, dateTime(r.created_at)), h('td', {}, r.person_number), h('td', {}, r.event_id), h('td', {}, r.reason),
        h('td', {}, resolution.element, note), h('td', {}, h('button', { type: 'button', class: 'primary', onclick: resolve }, t('resolve'))));
    }), { id: 'reports-table' }));
  }
  await load();
}
