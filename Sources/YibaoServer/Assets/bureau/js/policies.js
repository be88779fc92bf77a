// Policies (待遇政策) on the reference screen: every region's policies by year; one opened shows its
// figures in words — per hospital level the deductible (起付线) and the fund's share (报销比例), the
// year's caps (封顶线), what pays above them (大额补助 / 大病保险), the factors for care elsewhere and
// the premiums. An administrator uploads a region's policy file for a year (the JSON `yibao import
// policy` reads): the page says what it holds and what it replaces, and the platform checks and saves
// the whole file in one transaction — all of it, or nothing with the first problem and its field.
// Settlements from then on use it; what was settled keeps what it was paid.
import { get, guarded, h, put, t, table, yuan } from '/desk/desk.js';
import { percent } from '/shared/format.js';
import { fileUpload } from './upload.js';

const typeName = (type) => t(`type_${type}`);
/** A label and its value, with the language's colon. */
const said = (label, value) => `${t(label)}${t('colon')}${value}`;

function pool(name, rule) {
  const facts = [said('deductibleScope', t(`scope_${rule.deductible_scope}`)), said('annualCap', yuan(rule.annual_cap))];
  if (rule.retiree_annual_cap != null) facts.push(said('retireeCap', yuan(rule.retiree_annual_cap)));
  if (rule.repeat_stay_deductible_factor != null) facts.push(said('repeatStay', percent(rule.repeat_stay_deductible_factor)));
  const rows = rule.levels.map((level) => h('tr', { 'data-level': level.level }, h('td', {}, t(`level_${level.level}`)), h('td', { class: 'num' }, yuan(level.deductible)),
    h('td', { class: 'num', 'data-ratio': String(level.ratio) }, level.ratio ? percent(level.ratio) : t('notCovered')),
    h('td', { class: 'num' }, level.retiree_bonus ? `+${percent(level.retiree_bonus)}` : '—')));
  const parts = [h('h4', {}, t(name)), h('p', {}, facts.join(' · ')),
    table(t('levelsOf', t(name)), [t('level'), t('deductible'), t('fundShare'), t('retireeBonus')], rows, { id: `policy-${name}-levels` })];
  const tier = rule.above_cap;
  if (tier) {
    let from = 0;
    const bands = tier.bands.map((band) => {
      const text = band.up_to != null ? t('band', yuan(from), yuan(band.up_to), percent(band.ratio))
        : from ? t('bandRest', yuan(from), percent(band.ratio)) : t('bandAll', percent(band.ratio));
      from = band.up_to ?? from;
      return h('li', {}, text);
    });
    parts.push(h('p', { id: `policy-${name}-above` }, `${t(`base_${tier.base}`)} · ${t('deductible')} ${yuan(tier.deductible)}${tier.annual_cap != null ? ` · ${t('tierCap')} ${yuan(tier.annual_cap)}` : ''}`), h('ul', {}, bands));
  }
  return h('section', { class: 'card', id: `policy-${name}` }, parts);
}

function detail(policy) {
  const cross = policy.cross_region;
  const premiums = (policy.premiums ?? []).map((p) => h('li', {}, `${t(`premium_${p.kind}`)} ${yuan(p.amount)}${p.opens ? ` · ${p.opens} – ${p.closes}` : ''}`));
  return h('div', { id: 'policy-detail', 'data-policy': `${policy.region}-${policy.year}-${policy.insurance_type}` },
    h('h3', { tabindex: '-1' }, policy.title), h('p', { class: 'muted' }, `${policy.region} · ${policy.year} · ${typeName(policy.insurance_type)}`),
    h('div', { class: 'grid' }, pool('outpatient', policy.outpatient), pool('inpatient', policy.inpatient)),
    h('p', {}, `${t('crossRegion')}${t('colon')}${t('unfiled')} ${percent(cross.unfiled)} · ${t('referral')} ${percent(cross.referral)} · ${t('longTermResident')} ${percent(cross.long_term_resident)}`),
    premiums.length ? h('div', {}, h('h4', {}, t('premiums')), h('ul', {}, premiums)) : '',
    h('details', {}, h('summary', {}, t('sources')), h('ul', { class: 'muted' }, policy.sources.map((s) => h('li', {}, s)))));
}


/** A region's policy file for a year, uploaded (`current()`: the policies listed; `reload` lists them again). */
function upload(current, reload) {
  return fileUpload({ id: 'policy', action: 'save-policies', title: t('uploadPolicies'), note: t('uploadNote'), label: t('policyFile'), describe: (body, name) => {
    const held = Array.isArray(body?.policies) ? body.policies : [];
    if (!/^\d{6}$/.test(String(body?.region ?? '')) || !Number.isInteger(body?.year) || !held.length) return { problem: t('notPolicyFile', name) };
    const replaced = current().filter((p) => p.region === body.region && p.year === body.year).length;
    return {
      holds: [h('p', {}, t('fileHolds', name, body.region, body.year)), h('ul', {}, held.map((p) => h('li', {}, `${typeName(p.insurance_type)}${t('colon')}${p.title ?? ''}`))),
        h('p', {}, replaced ? t('replaces', replaced) : t('replacesNone'))],
      saveLabel: t('savePolicies'), question: t('confirmSavePolicies', body.region, body.year, held.length),
      save: async () => {
        const saved = await put(`/v1/admin/policies/${body.region}/${body.year}`, body);
        await reload();
        return t('policiesSaved', saved.region, saved.year, saved.saved.map(typeName).join('、'));
      },
    };
  } });
}

/** The policies section of the reference screen. */
export async function policiesSection(main, { can, alert }) {
  let policies = [];
  const list = h('div', {});
  const open = h('div', {});
  main.append(h('section', { class: 'card', id: 'policies-section' }, list, open));
  const key = (p) => `${p.region}-${p.year}-${p.insurance_type}`;
  const show = async (p) => {
    const found = await guarded(alert, () => get(`/v1/admin/policies/${p.region}/${p.year}/${p.insurance_type}`));
    if (!found) return;
    open.replaceChildren(detail(found));
    // The figures open below a long list: the heading takes the focus, so they are in view and read next.
    open.querySelector('h3').focus();
  };
  // The list again after an upload, and the policy that was open, as it now is.
  async function load() {
    const found = await guarded(alert, () => get('/v1/admin/policies'));
    if (!found) return;
    policies = found;
    list.replaceChildren(table(t('policies'), [t('region'), t('year'), t('insuranceType'), t('policyTitle'), ''], policies.map((p) =>
      h('tr', { 'data-policy': key(p) }, h('td', {}, p.region), h('td', {}, String(p.year)), h('td', {}, typeName(p.insurance_type)), h('td', {}, p.title),
        h('td', {}, h('button', { type: 'button', 'data-open': key(p), onclick: () => show(p) }, t('lookUp'))))), { id: 'policies' }));
    const shown = policies.find((p) => key(p) === open.firstChild?.dataset.policy);
    if (shown) await show(shown);
  }
  await load();
  if (can('administrator')) main.append(upload(() => policies, load));
}
