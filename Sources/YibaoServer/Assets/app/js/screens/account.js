// Sign-up (ID number, insurance number, phone → SMS code → password → authenticator → first sign-in),
// sign-in, password reset.
import { post, session } from '../api.js';
import { t } from '../i18n.js';
import { go } from '../main.js';
import { qrSVG } from '../qr.js';
import { card, field, form, h } from '../ui.js';

async function openSession(phone, password, totp) {
  const opened = await post('/v1/patient/sessions', { phone, password, totp_code: totp });
  session.token = opened.token;
  go('home');
}

export function signIn(main) {
  const phone = field(t('phone'), { id: 'signin-phone', type: 'tel', autocomplete: 'tel', inputmode: 'numeric' });
  const password = field(t('password'), { id: 'signin-password', type: 'password', autocomplete: 'current-password' });
  const totp = field(t('authCode'), { id: 'signin-code', inputmode: 'numeric', autocomplete: 'off', maxlength: '6' });
  main.replaceChildren(
    h('h2', {}, t('signIn')),
    card(
      form([phone, password, totp], t('signIn'), () => openSession(phone.input.value.trim(), password.input.value, totp.input.value.trim()), {
        id: 'signin-form',
      }),
    ),
    h('p', {}, h('a', { href: '#/signup', id: 'to-signup' }, t('noAccount'))),
    h('p', {}, h('a', { href: '#/reset' }, t('forgot'))),
    h('p', {}, h('a', { href: '#/code' }, t('code'))),
  );
}

export function signUp(main) {
  const id = field(t('idNumber'), { id: 'signup-id', autocomplete: 'off' });
  const person = field(t('personNumber'), { id: 'signup-person', autocomplete: 'off' });
  const phone = field(t('phone'), { id: 'signup-phone', type: 'tel', inputmode: 'numeric' });
  const step1 = form(
    [id, person, phone],
    t('sendSms'),
    async () => {
      const identity = { id_number: id.input.value.trim().toUpperCase(), person_number: person.input.value.trim(), phone: phone.input.value.trim() };
      const sent = await post('/v1/patient/registration/sms', identity);
      step2(main, identity, sent);
    },
    { id: 'signup-form' },
  );
  main.replaceChildren(h('h2', {}, t('signUp')), card(step1), h('p', {}, h('a', { href: '#/signin' }, t('haveAccount'))));
}

function step2(main, identity, sent) {
  const sms = field(`${t('smsCode')} (${sent.sent_to})`, { id: 'signup-sms', inputmode: 'numeric', autocomplete: 'off' });
  const password = field(t('newPassword'), { id: 'signup-password', type: 'password', autocomplete: 'new-password' });
  main.replaceChildren(
    h('h2', {}, t('signUp')),
    card(
      form(
        [sms, password],
        t('next'),
        async () => {
          const registered = await post('/v1/patient/registration', { ...identity, sms_code: sms.input.value.trim(), password: password.input.value });
          step3(main, identity, password.input.value, registered);
        },
        { id: 'signup-form-2' },
      ),
    ),
  );
}

function step3(main, identity, password, registered) {
  const totp = field(t('authCode'), { id: 'setup-code', inputmode: 'numeric', autocomplete: 'off', maxlength: '6' });
  main.replaceChildren(
    h('h2', {}, t('authSetupTitle')),
    card(
      h('p', {}, t('authSetupHelp')),
      h('div', { class: 'otp-qr' }, qrSVG(registered.otpauth_uri, t('authSetupTitle'))),
      h('p', {}, t('manualKey')),
      h('p', { class: 'key', id: 'totp-key' }, registered.totp_secret),
      h('a', { href: registered.otpauth_uri, id: 'otpauth-link' }, 'otpauth://'),
      form([totp], t('signIn'), () => openSession(identity.phone, password, totp.input.value.trim()), { id: 'setup-form' }),
    ),
  );
}

export function reset(main) {
  const phone = field(t('phone'), { id: 'reset-phone', type: 'tel', inputmode: 'numeric' });
  main.replaceChildren(
    h('h2', {}, t('resetPassword')),
    card(
      form([phone], t('sendSms'), async () => {
        await post('/v1/patient/password-reset/sms', { phone: phone.input.value.trim() });
        const sms = field(t('smsCode'), { id: 'reset-sms', inputmode: 'numeric' });
        const totp = field(t('authCode'), { id: 'reset-code', inputmode: 'numeric', maxlength: '6' });
        const password = field(t('newPassword'), { id: 'reset-password', type: 'password', autocomplete: 'new-password' });
        main.replaceChildren(
          h('h2', {}, t('resetPassword')),
          card(
            form([sms, totp, password], t('resetPassword'), async () => {
              await post('/v1/patient/password-reset', {
                phone: phone.input.value.trim(),
                sms_code: sms.input.value.trim(),
                totp_code: totp.input.value.trim(),
                new_password: password.input.value,
              });
              go('signin');
            }),
          ),
        );
      }),
    ),
  );
}
