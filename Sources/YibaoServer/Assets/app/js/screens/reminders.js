// Medication reminders (用药提醒): proposed from the drugs of each settlement, with the hospital's
// dosage when it sent one (or stated assumptions when not). Nothing fires until the patient accepts;
// the times, the course length and the dose can be edited; a refund of the drug cancels its reminder.
// Reminders arrive in the inbox (and through the notification channel) at their times, China time.
import { get, patch } from '../api.js';
import { dateTime, named, t } from '../i18n.js';
import { actionButton, card, field, form, h, split } from '../ui.js';

/** "08:00, 12:00 18:00" → ["08:00", "12:00", "18:00"]; null when a part is not a time. */
function times(text) {
  const parts = text.split(/[\s,，、;；]+/).filter(Boolean);
  return parts.length && parts.every((p) => /^([01]?\d|2[0-3]):[0-5]\d$/.test(p)) ? parts.map((p) => p.padStart(5, '0')) : null;
}

/** `#/reminders` for your own; `#/reminders/<number>` for a relative you bound (you then look after
 * the reminders you accept or edit: their times reach your inbox too). */
export async function render(main, [member] = []) {
  const base = member ? `/v1/patient/family/members/${encodeURIComponent(member)}/medication-reminders` : '/v1/patient/medication-reminders';
  const reminders = await get(base);
  const change = async (reminder, body) => {
    await patch(`${base}/${encodeURIComponent(reminder.id)}`, body);
    await render(main, member ? [member] : []);
  };
  main.replaceChildren(
    h('h2', {}, member ? `${t('reminders')} · ${member}` : t('reminders')),
    h('p', { class: 'muted' }, member ? t('remindersFamilyHelp') : t('remindersHelp')),
    reminders.length
      ? h('div', { id: 'reminders' }, reminders.map((r) => reminderCard(r, change)))
      : card(h('p', { class: 'muted', id: 'reminders-none' }, t('remindersNone'))),
  );
}

function reminderCard(r, change) {
  const open = r.state === 'proposed' || r.state === 'active' || r.state === 'off';
  const timesField = field(t('reminderTimes'), { id: `times-${r.id}`, value: r.times.join(', '), inputmode: 'numeric' });
  const daysField = field(t('reminderDays'), { id: `days-${r.id}`, value: String(r.days), inputmode: 'numeric' });
  const doseField = field(t('reminderDose'), { id: `dose-${r.id}`, value: r.single_dose ?? '' });
  const how = [r.route, r.single_dose].filter(Boolean).join(' ');
  const element = card(
    h('h3', {}, `${r.item_name}`, h('span', { class: 'muted' }, ` ${r.specification}`)),
    split([
      [t('state'), h('span', { 'data-state': r.state, class: 'reminder-state' }, named(`reminder_${r.state}`))],
      [t('reminderTimes'), h('span', { class: 'reminder-times' }, r.times.join(' · '))],
      [t('reminderCourse'), `${r.first_day} · ${t('reminderDaysCount', r.days, r.every_days)}`],
      ...(how ? [[t('reminderDose'), how]] : []),
      ...(r.frequency ? [[t('reminderPrescribed'), r.frequency]] : []),
      ...(r.next_at ? [[t('reminderNext'), dateTime(r.next_at)]] : []),
      [t('institution'), r.institution_name],
      ...(r.caregiver ? [[t('reminderCaregiver'), h('span', { class: 'reminder-caregiver' }, r.caregiver)]] : []),
    ]),
    r.assumptions.length ? h('ul', { class: 'list muted assumptions' }, r.assumptions.map((a) => h('li', {}, a))) : null,
    open
      ? h('div', { class: 'row' },
        r.state === 'active'
          ? actionButton(t('reminderOff'), () => change(r, { state: 'off' }), { label: `${t('reminderOff')} ${r.item_name}` })
          : actionButton(r.state === 'proposed' ? t('reminderAccept') : t('reminderOn'), () => change(r, { state: 'active' }), { cls: 'primary', label: `${r.state === 'proposed' ? t('reminderAccept') : t('reminderOn')} ${r.item_name}` }))
      : null,
    open
      ? h('details', {}, h('summary', {}, t('reminderEdit')),
        form([timesField, daysField, doseField], t('save'), async () => {
          const parsed = times(timesField.input.value);
          if (!parsed) throw Object.assign(new Error(t('reminderBadTimes')), { shown: true });
          const days = Number(daysField.input.value);
          if (!Number.isInteger(days) || days < 1 || days > 365) throw Object.assign(new Error(t('reminderBadDays')), { shown: true });
          const dose = doseField.input.value.trim();
          await change(r, { times: parsed, days, ...(dose ? { single_dose: dose } : {}), ...(r.state === 'proposed' ? { state: 'active' } : {}) });
        }, { id: `edit-${r.id}` }))
      : null,
  );
  element.dataset.reminder = r.id;
  return element;
}
