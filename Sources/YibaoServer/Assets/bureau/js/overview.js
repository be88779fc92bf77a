// What waits for someone (attention.js), then the fund's money moving: the day's and the month's figures from the fund report (drawn from the
// ledger's settlements), a bar chart of the last 14 days drawn as SVG from the same report, and the
// tables by region × insurance type, hospital level and institution; the month's report as CSV, the file
// a bureau files and audits (the same as `yibao report` prints).
import { download, field, get, guarded, h, shiftDay, t, table, today, yuan } from '/desk/desk.js';
import { attentionSection } from './attention.js';

// fund_pay_sumamt: the basic funds and what commercial plans paid (shown apart as "of which" when any).
export const fund = (f) => f.pooled_fund + f.above_cap_fund + (f.plan ?? 0);
const account = (f) => f.own_account + f.mutual_aid;
const report = (from, through) => get(`/v1/admin/fund-report?from=${from}&through=${through}`);

function figures(prefix, f) {
  return h('div', { class: 'figures' }, [['settlements', f.settlements, false], ['givenBack', f.refunds_and_reversals, false], ['total', f.total, true],
    ['fund', fund(f), true], ...(f.plan ? [['plan', f.plan, true]] : []), ['ownAccount', account(f), true], ['cash', f.cash, true]].map(([name, value, money]) =>
    h('div', { class: 'figure' }, h('span', { class: 'label' }, t(name)), h('span', { class: 'value', id: `${prefix}-${name}` }, money ? yuan(value) : String(value)))));
}

/** A stacked bar per day: fund (dark) under personal account and cash (light); each bar titled with its figures. */
export function dailyChart(days) {
  const width = 720;
  const height = 220;
  const left = 56;
  const bottom = 28;
  const top = 10;
  const max = Math.max(1, ...days.map((d) => Math.max(0, fund(d.f)) + Math.max(0, account(d.f) + d.f.cash)));
  const scale = (value) => (Math.max(0, value) / max) * (height - bottom - top);
  const step = (width - left) / days.length;
  const ns = 'http://www.w3.org/2000/svg';
  const el = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const svg = el('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title', id: 'daily-chart' });
  svg.append(el('title', { id: 'chart-title' }, `${t('chartTitle', days.length)}. ${t('chartLegend')}`));
  svg.append(el('line', { class: 'axis', x1: left, y1: height - bottom, x2: width, y2: height - bottom }));
  for (const fraction of [0, 0.5, 1]) {
    const y = height - bottom - fraction * (height - bottom - top);
    svg.append(el('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, yuan(Math.round(max * fraction)).replace(/\.\d\d$/, '')));
  }
  days.forEach((d, index) => {
    const x = left + index * step + step * 0.15;
    const w = step * 0.7;
    const fundHeight = scale(fund(d.f));
    const restHeight = scale(account(d.f) + d.f.cash);
    const group = el('g', { 'data-day': d.day, 'data-fund': fund(d.f), 'data-total': d.f.total });
    group.append(el('title', {}, `${d.day}: ${t('fund')} ${yuan(fund(d.f))}, ${t('ownAccount')} ${yuan(account(d.f))}, ${t('cash')} ${yuan(d.f.cash)}`));
    group.append(el('rect', { class: 'bar', x, y: height - bottom - fundHeight, width: w, height: fundHeight }));
    group.append(el('rect', { class: 'bar2', x, y: height - bottom - fundHeight - restHeight, width: w, height: restHeight }));
    if ((days.length - 1 - index) % 2 === 0) group.append(el('text', { x: x + w / 2, y: height - 10, 'text-anchor': 'middle' }, d.day.slice(5)));
    svg.append(group);
  });
  return svg;
}

function lines(caption, rows, columns, id) {
  return table(caption, [...columns.map(([label]) => label), t('settlements'), t('total'), t('fund'), t('ownAccount'), t('cash')], rows.map((line) =>
    h('tr', {}, columns.map(([, pick]) => h('td', {}, pick(line) ?? '')), h('td', { class: 'num' }, String(line.figures.settlements)),
      h('td', { class: 'num' }, yuan(line.figures.total)), h('td', { class: 'num' }, yuan(fund(line.figures))), h('td', { class: 'num' }, yuan(account(line.figures))),
      h('td', { class: 'num' }, yuan(line.figures.cash)))), { id });
}

export async function overviewScreen(main, { can }) {
  const alert = h('p', { role: 'alert', id: 'overview-alert' });
  const day = field(t('day'), { id: 'overview-day', type: 'date', value: today() });
  const body = h('div', { id: 'overview-body' });
  main.replaceChildren(h('h2', {}, t('overview')), h('div', { class: 'row' }, day.element), alert, body);

  async function load() {
    const d = day.input.value || today();
    const monthStart = `${d.slice(0, 8)}01`;
    const span = 14;
    const days = Array.from({ length: span }, (_, i) => shiftDay(d, i - span + 1));
    const answers = await guarded(alert, () => Promise.all([report(d, d), report(monthStart, d), ...days.map((x) => report(x, x))]));
    if (!answers) return;
    const [dayReport, monthReport, ...daily] = answers;
    body.replaceChildren(
      h('section', { class: 'card' }, h('h3', {}, `${t('today')} · ${d}`), figures('today', dayReport.totals)),
      h('section', { class: 'card' }, h('h3', {}, `${t('month')} · ${monthStart} – ${d}`), figures('month', monthReport.totals),
        h('button', { type: 'button', id: 'export-fund-report', onclick: () => guarded(alert, () => download(`/v1/admin/fund-report.csv?from=${monthStart}&through=${d}`, 'yibao-fund-report.csv')) }, t('exportMonth'))),
      h('section', { class: 'card' }, h('h3', {}, t('chartTitle', span)), dailyChart(daily.map((r, i) => ({ day: days[i], f: r.totals }))), h('p', { class: 'muted' }, t('chartLegend'))),
      h('section', { class: 'card' }, lines(`${t('byFund')} · ${t('today')}`, dayReport.by_fund, [[t('region'), (l) => l.region], [t('insuranceType'), (l) => l.insurance_type], [t('pool'), (l) => l.pool]], 'by-fund-today')),
      h('section', { class: 'card' }, lines(`${t('byFund')} · ${t('month')}`, monthReport.by_fund, [[t('region'), (l) => l.region], [t('insuranceType'), (l) => l.insurance_type], [t('pool'), (l) => l.pool]], 'by-fund-month')),
      h('section', { class: 'card' }, lines(`${t('byLevel')} · ${t('month')}`, monthReport.by_level, [[t('level'), (l) => l.level]], 'by-level')),
      h('section', { class: 'card' }, lines(`${t('byInstitution')} · ${t('month')}`, monthReport.by_institution, [[t('institution'), (l) => l.institution_code]], 'by-institution')),
    );
  }
  day.input.addEventListener('change', load);
  const attention = attentionSection(can);
  await load();
  main.insertBefore(await attention, body);
}
