// The app's only way to the platform: the public /v1 API, with the patient's bearer token kept for
// this browser session only (sessionStorage). A problem document becomes an ApiError carrying its
// stable code; screens show problemMessage(code), never the JSON.
import { retryWhileFull } from '/shared/busy.js';
import { ApiError, send } from '/shared/http.js';
import { t } from './i18n.js';
import { updateOffset } from './voucher.js';

export { ApiError };

export const session = {
  get token() {
    return sessionStorage.getItem('yibao.token');
  },
  set token(value) {
    if (value) sessionStorage.setItem('yibao.token', value);
    else sessionStorage.removeItem('yibao.token');
  },
};

/** A fresh Idempotency-Key for one money-moving operation (the same value on every retry of it). */
export const newKey = () => crypto.randomUUID();

/**
 * A call to the platform. A request refused because the platform was full (or, for a read or a
 * request with an Idempotency-Key, because the database did not answer) is sent again after its
 * Retry-After, counting down on the busy banner (`retryWhileFull`, /shared/busy.js).
 */
export function api(method, path, { body, key, raw } = {}) {
  return retryWhileFull(() => send(method, path, { bearer: session.token, body, key, raw, seen }), showBusy, { method, key });
}

/** The busy banner under the header (role=status): the seconds left, or hidden for null. */
function showBusy(seconds) {
  const banner = document.getElementById('busy');
  if (!banner) return;
  banner.hidden = seconds === null;
  if (seconds !== null) banner.textContent = t('busy', seconds);
}

/** Every answer: the clock's offset from its Date, and a 401 to a signed-in call signs the patient out. */
function seen(response) {
  updateOffset(response.headers.get('Date')).catch(() => {});
  if (response.status === 401 && session.token) {
    session.token = null;
    window.dispatchEvent(new CustomEvent('yibao:signed-out'));
  }
}

export const get = (path) => api('GET', path);
export const post = (path, body, options = {}) => api('POST', path, { body, ...options });
export const put = (path, body) => api('PUT', path, { body });
export const patch = (path, body) => api('PATCH', path, { body });
export const del = (path) => api('DELETE', path);
