// The inbox: notifications newest first, the unread count on the tab, mark all read.
import { get, post, session } from '../api.js';
import { dateTime, t } from '../i18n.js';
import { actionButton, card, h } from '../ui.js';

export async function updateBadge() {
  if (!session.token) return;
  try {
    const unread = (await get('/v1/patient/inbox')).filter((m) => !m.read_at).length;
    const tab = document.getElementById('tab-settings');
    if (tab && unread > 0) tab.append(h('span', { class: 'badge', 'aria-label': t('unread', unread) }, String(unread)));
  } catch {
    // Offline or signed out: no badge.
  }
}

export async function render(main) {
  const messages = await get('/v1/patient/inbox');
  const unread = messages.filter((m) => !m.read_at).length;
  main.replaceChildren(
    h('h2', {}, t('inbox')),
    h('p', { id: 'unread' }, t('unread', unread)),
    actionButton(t('markRead'), async () => {
      if (messages.length) await post('/v1/patient/inbox/read', { through_seq: messages[0].seq });
      await render(main);
    }),
    card(
      messages.length
        ? h('ul', { class: 'list', id: 'messages' }, messages.map((m) => h('li', { class: m.read_at ? '' : 'unread' }, h('strong', {}, m.title), h('p', {}, m.body), h('span', { class: 'muted' }, dateTime(m.at)))))
        : h('p', { class: 'muted' }, t('none')),
    ),
  );
}
