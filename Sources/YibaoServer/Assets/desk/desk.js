// What the cashier console and the bureau dashboard share: elements, the /v1 API with the desk's
// bearer token (sessionStorage: this tab only), words in Simplified Chinese with an English switch,
// refusals as plain-language messages by their stable `code`, money in yuan.

import { retryWhileFull } from '/shared/busy.js';
import { h, saveResponse } from '/shared/dom.js';
import { ApiError, send } from '/shared/http.js';

let tokenKey = 'yibao.desk.token';
/** Which token this page keeps (the cashier's staff session or the operator's token). */
export function useToken(key) {
  tokenKey = key;
}
export const token = {
  get: () => sessionStorage.getItem(tokenKey),
  set: (value) => (value ? sessionStorage.setItem(tokenKey, value) : sessionStorage.removeItem(tokenKey)),
};

export { ApiError, h };

/**
 * A call to the public API; a problem document becomes an ApiError with its code. A request refused
 * because the platform was full (or, for a read or a request with an Idempotency-Key, because the
 * database did not answer) is sent again after its Retry-After, with a notice at the top of the page
 * (`retryWhileFull`, /shared/busy.js).
 */
export function api(method, path, { body, key, raw, text } = {}) {
  return retryWhileFull(() => send(method, path, { bearer: token.get(), body, key, raw, text, seen: signOutOn401 }), showBusy, { method, key });
}

/** The busy notice (role=status): the seconds left, or hidden for null. */
function showBusy(seconds) {
  let notice = document.getElementById('busy-notice');
  if (!notice) {
    notice = h('div', { id: 'busy-notice', class: 'busy-notice', role: 'status' });
    document.body.prepend(notice);
  }
  notice.hidden = seconds === null;
  if (seconds !== null) notice.textContent = t('busy', seconds);
}

/** A 401 to a call made with a token ends the desk's session (the token was revoked or expired). */
function signOutOn401(response, bearer) {
  if (response.status === 401 && bearer) {
    token.set(null);
    window.dispatchEvent(new CustomEvent('desk:signed-out'));
  }
}

export const get = (path) => api('GET', path);
export const post = (path, body, options = {}) => api('POST', path, { body, ...options });
export const put = (path, body) => api('PUT', path, { body });
export const del = (path) => api('DELETE', path);
export const newKey = () => crypto.randomUUID();

let uid = 0;
/** A label and its input (or select, with options [[value, text]…]), tied by id. */
export function field(label, attrs = {}) {
  const id = attrs.id ?? `d${++uid}`;
  const { options, ...rest } = attrs;
  const input = options
    ? h('select', { id, ...rest }, options.map(([value, text]) => h('option', { value }, text)))
    : h('input', { id, type: 'text', ...rest });
  return { element: h('div', { class: 'field' }, h('label', { for: id }, label), input), input };
}

/** Fen as yuan with two decimals: 12345 → "123.45". */
export function yuan(fen) {
  const value = Number(fen ?? 0);
  const abs = Math.abs(value);
  return `${value < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
/** Yuan typed by a person ("28.5"; "-120" when `signed`) as fen, an integer; null when it is not an amount. */
export function fen(text, { signed = false } = {}) {
  const match = /^\s*(-?)(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text ?? '');
  if (!match || (match[1] && !signed)) return null;
  const value = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  return match[1] ? -value : value;
}
export const dateTime = (iso) => (iso ? iso.replace('T', ' ').slice(0, 19) : '');
export const today = () => new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
/** The day `days` after `day` (both YYYY-MM-DD). */
export const shiftDay = (day, days) => new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

const WORDS = {
  zh: {
    signIn: '登录', signOut: '退出', institutionCode: '机构编码', loginName: '登录名', password: '密码', authCode: '身份验证器动态码（6位）',
    language: 'English', loading: '加载中…', none: '暂无', total: '总费用', fund: '基金支付', plan: '其中惠民保', account: '个人账户', cash: '个人现金', mutualAid: '家庭共济',
    genericError: '操作没有完成，请稍后重试', networkError: '网络连接中断，请检查网络后重试', refresh: '刷新', state: '状态', time: '时间', amount: '金额',
    colon: '：', approve: '通过', reject: '驳回', keep: '不操作', reason: '原因', save: '保存', search: '查找', demoHint: '演示账号见首页',
    busy: (seconds) => `系统繁忙，${seconds} 秒后自动重试（同一笔不会重复扣款）`,
  },
  en: {
    signIn: 'Sign in', signOut: 'Sign out', institutionCode: 'Institution code', loginName: 'Login name', password: 'Password', authCode: 'Authenticator code (6 digits)',
    language: '中文', loading: 'Loading…', none: 'None', total: 'Total', fund: 'Funds', plan: 'Of which the inclusive plan', account: 'Personal account', cash: 'Cash', mutualAid: 'Family mutual aid',
    genericError: 'That did not go through; try again shortly', networkError: 'The network is down; check it and try again', refresh: 'Refresh', state: 'State', time: 'Time', amount: 'Amount',
    colon: ': ', approve: 'Approve', reject: 'Reject', keep: 'Keep', reason: 'Reason', save: 'Save', search: 'Search', demoHint: 'Demo sign-ins are on the front page',
    busy: (seconds) => `The system is busy; trying again in ${seconds} s (nothing is charged twice)`,
  },
};

const PROBLEMS = {
  zh: {
    sign_in_failed: '登录名、密码或动态码不正确', account_locked: '输错次数太多，账户已暂时锁定，请稍后再试', unauthenticated: '登录已过期，请重新登录',
    forbidden: '当前账号没有这个操作的权限', not_found: '没有找到', code_malformed: '付款码格式不正确，请重新扫描', code_invalid: '付款码无效，请患者刷新后重新出示',
    code_expired: '付款码已过期，请患者刷新后重新出示', code_used: '这个付款码已使用过，请患者刷新后重新出示', code_revoked: '患者已停用这台设备的付款码',
    unknown_person: '没有这个参保人', person_not_insured: '参保人当前不在参保状态', unknown_catalogue_item: '目录中没有这个项目', no_fee_lines: '请先添加费用明细',
    visit_already_settled: '这次就诊已经结算', visit_not_open: '这次就诊不能再修改', already_reversed: '这笔结算已经冲正',
    refund_exceeds_settlement: '退费金额超过了可退金额', settlement_not_completed: '结算尚未完成（处理中、被拒或已取消），不能退费或冲正',
    settlement_refunded: '这笔结算已部分退费，不能整笔冲正，请退还剩余部分', settlement_in_progress: '这笔结算正在处理中，请稍后再试',
    payment_declined: '银行拒绝了扣款（余额不足或卡片受限），可改为窗口收取现金', payment_pending: '扣款结果待确认，请稍后刷新', no_funding_source: '患者没有可用的银行卡或信用额度，请窗口收取现金',
    account_insufficient: '个人账户余额不足', refund_not_allowed: '这笔结算不能这样退费', idempotency_key_reused: '重复提交，请刷新后重试',
    rate_limited: '操作太频繁，请稍后再试', weak_password: '密码太简单：至少10位，包含字母和数字', already_exists: '已经存在',
    binding_not_pending: '这项申请已经处理过', invalid_request: '填写的内容不正确，请检查', party_not_configured: '外部服务暂未接通',
    amount_mismatch: '金额不一致', would_go_negative: '余额不足，不能执行', approval_required: '需要第二位管理员审批', clearing_state: '清算单当前状态不允许这个操作',
    nothing_to_clear: '该机构这一期间没有可清算的结算', period_not_ended: '清算期间尚未结束，结束后才能申请', payout_account_missing: '该机构没有登记收款账户，不能拨付',
    overloaded: '系统繁忙，请稍后再试；这笔操作没有执行',
    unavailable: '系统暂时无法确认这笔操作是否完成，请查看后再试',
  },
  en: {
    sign_in_failed: 'Login name, password or authenticator code is wrong', account_locked: 'Too many wrong tries; the account is locked for a while', unauthenticated: 'Your session ended; sign in again',
    forbidden: 'This account may not do that', not_found: 'Not found', code_malformed: 'That is not a pay code; scan again', code_invalid: 'The code is not valid; ask the patient to refresh it',
    code_expired: 'The code expired; ask the patient to refresh it', code_used: 'That code was already used; ask the patient to refresh it', code_revoked: 'The patient turned this device off',
    unknown_person: 'No such insured person', person_not_insured: 'The person is not insured now', unknown_catalogue_item: 'Not in the catalogue', no_fee_lines: 'Add fee lines first',
    visit_already_settled: 'This visit is already settled', visit_not_open: 'This visit can no longer change', already_reversed: 'This settlement was already reversed',
    refund_exceeds_settlement: 'That is more than can be refunded', settlement_not_completed: 'The settlement is not completed (pending, declined or cancelled)',
    settlement_refunded: 'Partly refunded: it cannot be reversed whole; refund the rest instead', settlement_in_progress: 'The settlement is being processed; try again shortly',
    payment_declined: 'The bank declined the charge; collect cash at the counter instead', payment_pending: 'The charge is being confirmed; refresh shortly', no_funding_source: 'No card or credit line; collect cash at the counter',
    account_insufficient: 'Not enough in the personal account', refund_not_allowed: 'This settlement cannot be refunded this way', idempotency_key_reused: 'Duplicate submission; reload and try again',
    rate_limited: 'Too many tries; wait a moment', weak_password: 'Password too simple: 10+ characters with letters and digits', already_exists: 'Already exists',
    binding_not_pending: 'This request was already handled', invalid_request: 'Something entered is not right; check it', party_not_configured: 'An outside service is not connected',
    amount_mismatch: 'The amounts differ', would_go_negative: 'Not enough balance', approval_required: 'A second administrator must approve', clearing_state: 'The clearing is not in a state that allows this',
    nothing_to_clear: 'The institution has nothing to clear in that period', period_not_ended: 'The period has not ended yet', payout_account_missing: 'The institution has no payout account registered',
    overloaded: 'The system is busy; try again in a moment. Nothing was done',
    unavailable: 'The system could not confirm whether this was done; check, then try again',
  },
};

let language = localStorage.getItem('yibao.lang') === 'en' ? 'en' : 'zh';
let pageWords = { zh: {}, en: {} };
/** Adds a page's own words. */
export function words(extra) {
  pageWords = extra;
}
export const lang = () => language;
export function setLanguage(value) {
  language = value;
  localStorage.setItem('yibao.lang', value);
  document.documentElement.lang = value === 'en' ? 'en' : 'zh-CN';
}
export function t(key, ...args) {
  const entry = pageWords[language]?.[key] ?? WORDS[language][key] ?? pageWords.zh?.[key] ?? WORDS.zh[key] ?? key;
  return typeof entry === 'function' ? entry(...args) : entry;
}

/** The plain-language message of a failure: a refusal's by its code, else the network or general one. */
export function messageFor(error) {
  if (error instanceof ApiError) {
    if (error.status === 0) return t('networkError');
    return PROBLEMS[language][error.code] ?? t('genericError');
  }
  console.error(error);
  return t('genericError');
}

/**
 * The plain message of a failure, then the field the platform named and its detail (for forms whose
 * fields map one to one onto the request: a policy file, a partner's terms).
 */
export function messageWithField(error) {
  return error instanceof ApiError && error.field ? `${messageFor(error)}${t('colon')}${error.field} — ${error.message}` : messageFor(error);
}

/**
 * Runs an action, showing a failure's plain message in `alert` (role=alert); `describe` is
 * `messageWithField` for forms whose fields map one to one onto the request.
 */
export async function guarded(alert, action, describe = messageFor) {
  alert.textContent = '';
  alert.classList.remove('error');
  try {
    return await action();
  } catch (error) {
    alert.classList.add('error');
    alert.textContent = describe(error);
    return undefined;
  }
}

/**
 * A credential that exists in clear only in the answer that issued it (an operator's token, an
 * institution's secret, a webhook's signing secret): the note, then each [label, id, value] to copy,
 * shown this once.
 */
export const shownOnce = (note, values) => [h('p', {}, note),
  h('dl', { class: 'split secret' }, values.flatMap(([label, id, value]) => [h('dt', {}, label), h('dd', {}, h('code', { id }, value))]))];

/** A table: headers and rows of cells (strings or elements). */
export function table(caption, headers, rows, attrs = {}) {
  return h(
    'table',
    attrs,
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((text) => h('th', { scope: 'col' }, text)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: String(headers.length) }, t('none')))),
  );
}

/**
 * A button that acts on its second press: the first shows `question` (a string, or a function that
 * writes it when asked) and "keep"; once the action is done (or kept from), the button again.
 */
export function confirmed(label, question, id, action) {
  const cell = h('span', { class: 'confirm' });
  const first = h('button', { type: 'button', 'data-action': id }, label);
  const reset = () => cell.replaceChildren(first);
  first.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger', 'data-confirm': id }, typeof question === 'function' ? question() : question);
    const no = h('button', { type: 'button' }, t('keep'));
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await action();
      } finally {
        reset();
      }
    });
    no.addEventListener('click', reset);
    cell.replaceChildren(yes, ' ', no);
    yes.focus();
  });
  cell.append(first);
  return cell;
}

/** Opens an authenticated HTML page (a receipt) in a new tab, for printing. */
export async function openPage(path) {
  const response = await api('GET', path, { raw: true });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const opened = window.open(url, '_blank');
  return { url, opened };
}

/** Saves an authenticated file (a CSV) under the name the server gives it, or `fallback`. */
export async function download(path, fallback) {
  return saveResponse(await api('GET', path, { raw: true }), fallback);
}

/** The language switch in the header. */
export function languageButton(onChange) {
  const button = h('button', { type: 'button', class: 'link', id: 'lang-toggle' }, t('language'));
  button.addEventListener('click', () => {
    setLanguage(language === 'zh' ? 'en' : 'zh');
    button.textContent = t('language');
    onChange();
  });
  return button;
}

setLanguage(language);
