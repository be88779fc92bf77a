// Small DOM helpers shared by the screens: elements, labelled fields, forms that show refusals as
// plain-language messages.
import { h, saveResponse } from '/shared/dom.js';
import { ApiError, post } from './api.js';
import { problemMessage, t } from './i18n.js';

export { h };

let uid = 0;

/** A label and its input, tied by id. */
export function field(label, attrs = {}) {
  const id = attrs.id ?? `f${++uid}`;
  const input = attrs.options
    ? h('select', { id, name: attrs.name }, attrs.options.map(([value, text]) => h('option', { value }, text)))
    : h('input', { id, type: 'text', ...attrs, options: undefined });
  return { element: h('div', {}, h('label', { for: id }, label), input), input };
}

/** The message a failure shows: a refusal's plain-language text, or the network message. */
export function messageFor(error) {
  if (error?.shown) return error.message;
  if (error instanceof ApiError) return error.status === 0 ? t('networkError') : problemMessage(error.code);
  console.error(error);
  return t('genericError');
}

/** Asks for the authenticator code in a modal dialog; resolves with it, or null when cancelled. */
function askForCode() {
  return new Promise((resolve) => {
    const input = h('input', { id: 'stepup-code', inputmode: 'numeric', autocomplete: 'off', maxlength: '6' });
    const dialog = h(
      'dialog',
      { 'aria-labelledby': 'stepup-title', id: 'stepup' },
      h('form', { method: 'dialog' }, h('h2', { id: 'stepup-title' }, t('authCode')), h('label', { for: 'stepup-code' }, t('authCode')), input,
        h('div', { class: 'row' }, h('button', { value: 'cancel', class: 'secondary', type: 'submit' }, t('back')), h('button', { value: 'ok', class: 'primary', type: 'submit', id: 'stepup-ok' }, t('next')))),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok' ? input.value.trim() : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/**
 * Runs an action; when the platform asks for the second factor (a sensitive action more than five
 * minutes after sign-in), asks for the authenticator code, proves it for this session and runs the
 * action once more.
 */
export async function withSecondFactor(action) {
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'second_factor_required') throw error;
    const code = await askForCode();
    if (!code) throw error;
    await post('/v1/patient/sessions/current/second-factor', { totp_code: code });
    return action();
  }
}

/**
 * A form: its fields, a submit button, an alert area. `action` gets the form; a thrown error is shown
 * as its plain-language message in the alert area (role=alert, so a screen reader reads it).
 */
export function form(fields, submitText, action, { id } = {}) {
  const alert = h('div', { role: 'alert', class: 'form-alert' });
  const button = h('button', { type: 'submit', class: 'primary' }, submitText);
  const element = h('form', { id, novalidate: true }, fields.map((f) => f.element ?? f), alert, button);
  element.addEventListener('submit', async (event) => {
    event.preventDefault();
    alert.replaceChildren();
    alert.className = 'form-alert';
    button.disabled = true;
    try {
      await withSecondFactor(() => action(element));
    } catch (error) {
      alert.className = 'form-alert error';
      alert.textContent = messageFor(error);
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

/** A button that runs an action and shows a failure next to it. */
export function actionButton(text, action, { cls = 'secondary', label } = {}) {
  const alert = h('span', { role: 'alert' });
  const button = h('button', { type: 'button', class: cls, 'aria-label': label }, text);
  button.addEventListener('click', async () => {
    alert.textContent = '';
    alert.className = '';
    button.disabled = true;
    try {
      await withSecondFactor(action);
    } catch (error) {
      alert.className = 'error';
      alert.textContent = messageFor(error);
    } finally {
      button.disabled = false;
    }
  });
  return h('span', {}, button, alert);
}

export function card(...children) {
  return h('section', { class: 'card' }, ...children);
}

/** A definition list of label → value pairs. */
export function split(pairs) {
  return h('dl', { class: 'split' }, pairs.flatMap(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
}

/** Opens an authenticated HTML page (a receipt, a statement) in a new tab for printing. */
export async function openPage(fetchResponse) {
  const blob = await (await fetchResponse).blob();
  window.open(URL.createObjectURL(blob), '_blank', 'noopener');
}

/** Saves an authenticated download (a CSV). */
export async function download(fetchResponse, name) {
  await saveResponse(await fetchResponse, name);
}
