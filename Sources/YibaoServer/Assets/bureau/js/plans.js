// Commercial plans (惠民保) on the reference screen: every region's plan by year, with what this year's
// paid this month (the insurer's claims report, net of refunds); an administrator uploads a plan file
// (JSON in the shape `GET /v1/admin/plans/{region}/{year}` answers, one region and year): the page says what it holds and whether it
// replaces that region's plan for the year, and the platform checks it and saves it whole, or refuses
// it with the problem in words. Settlements from then on use it; what was settled keeps what it was paid.
import { get, guarded, h, put, t, table, today, yuan } from '/desk/desk.js';
import { fileUpload } from './upload.js';

/** The plans section of the reference screen. */
export async function plansSection(main, { can, alert }) {
  const day = today();
  const list = h('div', {});
  main.append(h('section', { class: 'card', id: 'plans-section' }, list));
  let plans = [];
  async function load() {
    const found = await guarded(alert, () => get('/v1/admin/plans'));
    if (!found) return;
    plans = found;
    // What a plan paid this month, for this year's plans only (a claims report covers the plan's year).
    const rows = await Promise.all(plans.map(async (p) => {
      const current = String(p.year) === day.slice(0, 4);
      const claims = current ? await guarded(alert, () => get(`/v1/admin/plans/${p.region}/${p.year}/claims?from=${day.slice(0, 8)}01&through=${day}`)) : null;
      return h('tr', { 'data-plan': p.id }, h('td', {}, p.region), h('td', {}, String(p.year)), h('td', {}, p.name), h('td', {}, p.insurer?.name ?? ''),
        h('td', { class: 'num' }, yuan(p.premium)), h('td', { class: 'num' }, claims ? String(claims.claims.length) : '—'), h('td', { class: 'num' }, claims ? yuan(claims.plan_paid) : '—'));
    }));
    list.replaceChildren(table(t('plans'), [t('region'), t('year'), t('planName'), t('insurer'), t('premium'), t('planClaims'), t('planPaidMonth')], rows, { id: 'plans' }));
  }
  await load();
  if (!can('administrator')) return;
  main.append(fileUpload({ id: 'plan', action: 'save-plan', title: t('uploadPlan'), note: t('uploadPlanNote'), label: t('planFile'), describe: (body, name) => {
    if (!/^\d{6}$/.test(String(body?.region ?? '')) || !Number.isInteger(body?.year) || typeof body?.name !== 'string' || typeof body?.insurer?.name !== 'string') {
      return { problem: t('notPlanFile', name) };
    }
    const replaced = plans.find((p) => p.region === body.region && p.year === body.year);
    return {
      holds: [h('p', {}, t('planFileHolds', name, body.name, body.insurer.name, body.region, body.year)),
        h('p', {}, Number.isInteger(body.premium) ? t('planPremium', yuan(body.premium)) : ''),
        h('p', {}, replaced ? t('planReplaces', replaced.name) : t('planNew'))],
      saveLabel: t('savePlan'), question: t('confirmSavePlan', body.name, body.region, body.year),
      save: async () => {
        const saved = await put(`/v1/admin/plans/${body.region}/${body.year}`, body);
        await load();
        return t('planSaved', saved.name, saved.region, saved.year);
      },
    };
  } }));
}
