// A file of figures uploaded by an administrator (a region's policies, a commercial plan): chosen, read
// in the page as JSON, described in words (what it holds, what it replaces) and saved only after a
// second press; the platform checks the whole file and saves all of it or nothing, and a refusal is
// shown with its field.
import { confirmed, h, messageWithField, t } from '/desk/desk.js';

/**
 * The upload card. `id` names its elements (`${id}-upload`, `${id}-file`, `${id}-upload-result`), `action`
 * its save button (`[data-action=${action}]`);
 * `describe(body, fileName)` answers `{ problem }` (the file is not one of these) or `{ holds: [elements],
 * question, save: async () => message }`.
 */
export function fileUpload({ id, action, title, note, label, describe }) {
  const input = h('input', { type: 'file', id: `${id}-file`, accept: 'application/json,.json' });
  const status = h('div', { id: `${id}-upload-result`, role: 'status' });
  const fail = (text) => {
    status.classList.add('error');
    status.replaceChildren(h('p', {}, text));
  };
  input.addEventListener('change', async () => {
    status.classList.remove('error');
    status.replaceChildren();
    const file = input.files[0];
    if (!file) return;
    let body;
    try {
      body = JSON.parse(await file.text());
    } catch {
      return fail(t('notJSON', file.name));
    }
    const described = describe(body, file.name);
    if (described.problem) return fail(described.problem);
    const save = confirmed(described.saveLabel, described.question, action, async () => {
      try {
        const saved = await described.save();
        status.replaceChildren(h('p', { class: 'ok' }, saved));
      } catch (error) {
        fail(messageWithField(error));
      }
    });
    status.replaceChildren(...described.holds, save);
  });
  return h('section', { class: 'card', id: `${id}-upload` }, h('h3', {}, title), h('p', { class: 'muted' }, note),
    h('label', { for: `${id}-file` }, label), ' ', input, status);
}
