// Family (家庭共济): bind a relative (16+: they confirm in their own app; under 16: documents and the
// bureau's review), the rules explained before they bite, every state, unbind, a member's balances,
// history and drugs; paying for a member happens at the counter with your code and their number, and
// with their premiums on the premiums screen.
import { del, get, post } from '../api.js';
import { dateTime, t } from '../i18n.js';
import { faceEvidence } from '../face.js';
import { go } from '../main.js';
import { actionButton, card, field, form, h } from '../ui.js';
import { balances, historyList, itemsList } from './wallet.js';

const stateName = (b) => (b.state === 'pending' && b.verification === 'documents' ? t('inReview') : t(b.state));

export async function render(main) {
  const [me, bindings] = await Promise.all([get('/v1/patient/me'), get('/v1/patient/family/bindings')]);
  const all = bindings.bindings ?? bindings;
  const mine = all.filter((b) => b.binder_number === me.person_number);
  const ofMe = all.filter((b) => b.member_number === me.person_number);

  const number = field(t('memberNumber'), { id: 'bind-member', autocomplete: 'off' });
  const id = field(t('memberId'), { id: 'bind-member-id', autocomplete: 'off' });
  const relationship = field(t('relationship'), { id: 'bind-relationship', options: [['spouse', t('spouse')], ['parent', t('parent')], ['child', t('child')]] });
  const documentRef = field(t('documentRef'), { id: 'bind-document' });
  const totp = field(t('authCode'), { id: 'bind-code', inputmode: 'numeric', maxlength: '6' });
  const bindForm = form(
    [number, id, relationship, documentRef, totp],
    t('bindRelative'),
    async () => {
      const body = { member_number: number.input.value.trim(), member_id_number: id.input.value.trim().toUpperCase(), relationship: relationship.input.value };
      if (documentRef.input.value.trim()) {
        body.document_type = 'birth_certificate';
        body.document_reference = documentRef.input.value.trim();
      }
      if (totp.input.value.trim()) body.totp_code = totp.input.value.trim();
      await post('/v1/patient/family/bindings', body);
      go('family');
    },
    { id: 'bind-form' },
  );

  main.replaceChildren(
    h('h2', {}, t('family')),
    h('p', { class: 'notice', id: 'family-rules' }, t('familyLimits')),
    card(h('h3', {}, t('asBinder')), bindingList(mine, 'binder')),
    card(h('h3', {}, t('asMember')), bindingList(ofMe, 'member')),
    card(h('h3', {}, t('bindRelative')), bindForm),
  );
}

function bindingList(bindings, side) {
  if (!bindings.length) return h('p', { class: 'muted' }, t('none'));
  return h(
    'ul',
    { class: 'list' },
    bindings.map((b) => {
      const other = side === 'binder' ? b.member_number : b.binder_number;
      const actions = [];
      if (b.state === 'pending' && side === 'member' && b.verification === 'self_confirmation') {
        actions.push(
          actionButton(t('confirm'), async () => {
            await post(`/v1/patient/family/bindings/${b.id}/confirm`, { face_evidence: await faceEvidence(b.member_number) });
            go('family');
          }, { cls: 'primary', label: `${t('confirm')} ${other}` }),
          actionButton(t('decline'), async () => {
            await post(`/v1/patient/family/bindings/${b.id}/decline`, {});
            go('family');
          }, { label: `${t('decline')} ${other}` }),
        );
      }
      if (b.state === 'pending' && side === 'binder') {
        actions.push(actionButton(t('cancel'), async () => {
          await post(`/v1/patient/family/bindings/${b.id}/cancel`, {});
          go('family');
        }, { label: `${t('cancel')} ${other}` }));
      }
      if (b.state === 'approved' && !b.unbound_at) {
        if (side === 'binder') actions.push(h('a', { href: `#/member/${encodeURIComponent(other)}`, class: 'button secondary' }, t('memberWallet')));
        actions.push(actionButton(t('unbind'), async () => {
          await del(`/v1/patient/family/bindings/${b.id}`);
          go('family');
        }, { cls: 'danger', label: `${t('unbind')} ${other}` }));
      }
      return h(
        'li',
        { 'data-binding': b.id },
        h('div', { class: 'row' }, h('span', {}, `${t(b.relationship)} · ${other}`), h('span', { class: 'pill binding-state' }, b.unbound_at ? t('unbound') : stateName(b))),
        h('p', { class: 'muted' }, dateTime(b.requested_at), b.note ? ` · ${b.note}` : ''),
        h('div', { class: 'row' }, actions),
      );
    }),
  );
}

export async function member(main, [number]) {
  const wallet = await get(`/v1/patient/family/members/${encodeURIComponent(number)}/wallet`);
  const history = historyList(`/v1/patient/family/members/${encodeURIComponent(number)}/history`);
  main.replaceChildren(
    h('h2', {}, `${t('memberWallet')} · ${number}`),
    balances(wallet),
    card(h('h3', {}, t('history')), history.element),
    card(h('h3', {}, t('items')), await itemsList(`/v1/patient/family/members/${encodeURIComponent(number)}/items`)),
    h('p', {}, h('a', { href: `#/reminders/${encodeURIComponent(number)}`, class: 'button secondary', id: 'member-reminders' }, t('reminders'))),
    h('p', {}, h('a', { href: `#/premiums/${encodeURIComponent(number)}`, class: 'button secondary' }, t('payForMember'))),
    h('p', {}, h('a', { href: '#/family' }, t('back'))),
  );
  await history.load(true);
}
