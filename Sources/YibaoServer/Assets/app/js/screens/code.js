// The pay code (the heart of the app): the dynamic e-voucher computed here from the device key, as a
// QR code, a barcode and digits, refreshed at each step with a countdown. It needs no network once
// this browser is enrolled (docs/e-voucher-code.md).
import { post, session } from '../api.js';
import { t } from '../i18n.js';
import { go } from '../main.js';
import { barcodeSVG } from '../barcode.js';
import { qrSVG } from '../qr.js';
import { card, field, form, h } from '../ui.js';
import { currentCode, loadDevice, saveDevice } from '../voucher.js';

export async function render(main) {
  const device = await loadDevice();
  if (!device) {
    if (!session.token) return go('signin');
    return enrol(main);
  }
  return show(main, device);
}

function enrol(main) {
  const name = field(t('deviceName'), { id: 'device-name', value: navigator.userAgent.includes('Mobile') ? '我的手机' : '我的浏览器' });
  const totp = field(t('authCode'), { id: 'enrol-code', inputmode: 'numeric', autocomplete: 'off', maxlength: '6' });
  main.replaceChildren(
    h('h2', {}, t('enrolTitle')),
    card(
      h('p', {}, t('enrolHelp')),
      form(
        [name, totp],
        t('enrol'),
        async () => {
          const body = { name: name.input.value.trim() || 'phone' };
          if (totp.input.value.trim()) body.totp_code = totp.input.value.trim();
          const provisioned = await post('/v1/patient/devices', body);
          await saveDevice(provisioned);
          go('code');
        },
        { id: 'enrol-form' },
      ),
    ),
  );
}

function show(main, device) {
  const qr = h('div', { id: 'qr' });
  const bar = h('div', { id: 'barcode' });
  const digits = h('p', { class: 'digits', id: 'code-digits' });
  const countdown = h('p', { class: 'countdown', id: 'countdown', 'aria-live': 'off' });
  const box = h('div', { class: 'code-box', id: 'code-box' }, qr, bar, digits, countdown);
  const full = h('button', { type: 'button', class: 'secondary', id: 'fullscreen' }, t('fullScreen'));
  full.addEventListener('click', () => box.requestFullscreen?.().catch(() => {}));
  main.replaceChildren(
    h('h2', {}, t('codeTitle')),
    h('p', { class: 'muted' }, t('codeHelp')),
    box,
    h('p', { class: 'muted' }, '☀ ', t('brightness')),
    h('div', { class: 'row' }, full, session.token ? null : h('a', { href: '#/signin' }, t('signIn'))),
  );

  let shown = null;
  let endsAt = 0;
  let stopped = false;
  async function tick() {
    if (stopped) return;
    const now = Date.now();
    if (now >= endsAt || !shown) {
      const next = await currentCode(device, now);
      endsAt = next.endsAt;
      if (next.code !== shown) {
        shown = next.code;
        qr.replaceChildren(qrSVG(shown, t('codeTitle')));
        qr.firstChild.classList.add('qr');
        bar.replaceChildren(barcodeSVG(shown, t('codeTitle')));
        bar.firstChild.classList.add('barcode');
        digits.textContent = shown.replace(/(\d{4})(?=\d)/g, '$1 ');
        digits.dataset.code = shown;
      }
    }
    countdown.textContent = t('refreshIn', Math.max(0, Math.ceil((endsAt - Date.now()) / 1000)));
  }
  tick();
  const timer = setInterval(tick, 500);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
