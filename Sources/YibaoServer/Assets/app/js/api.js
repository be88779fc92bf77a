// The app's only way to the platform: the public /v1 API, with the patient's bearer token kept for
// this browser session only (sessionStorage). A problem document becomes an ApiError carrying its
// stable code; screens show problemMessage(code), never the JSON.
import { t } from './i18n.js';
import { updateOffset } from './voucher.js';

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code ?? (status === 0 ? 'network' : 'unknown');
    this.field = problem?.field;
    this.problem = problem;
    /** Seconds the platform asked to wait (`Retry-After`), when it gave a number. */
    this.retryAfter = retryAfter;
  }
}

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

/** How long a request refused because the instance is full (503 `overloaded`) is tried again, at most. */
const BUSY_PATIENCE_MS = 30000;

/**
 * A call to the platform. A request refused because the instance was full (503 `overloaded`, refused
 * before any work was done for it) is sent again, the same (same Idempotency-Key), after the
 * `Retry-After` it gave, while the busy banner says so — for up to 30 s; then the refusal is shown.
 */
export async function api(method, path, options = {}) {
  const started = Date.now();
  for (;;) {
    try {
      return await apiOnce(method, path, options);
    } catch (error) {
      const wait = error instanceof ApiError && error.code === 'overloaded' ? Math.max(1, error.retryAfter ?? 1) : null;
      if (wait === null || Date.now() - started + wait * 1000 > BUSY_PATIENCE_MS) throw error;
      await busyWait(wait);
    }
  }
}

let waiting = 0;
/** Waits `seconds`, counting down on the busy banner (role=status) while any request waits. */
async function busyWait(seconds) {
  const banner = document.getElementById('busy');
  waiting += 1;
  if (banner) banner.hidden = false;
  for (let left = Math.ceil(seconds); left > 0; left -= 1) {
    if (banner) banner.textContent = t('busy', left);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  waiting -= 1;
  if (banner && waiting === 0) banner.hidden = true;
}

async function apiOnce(method, path, { body, key, raw } = {}) {
  const headers = { Accept: 'application/json' };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (key) headers['Idempotency-Key'] = key;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, null);
  }
  updateOffset(response.headers.get('Date')).catch(() => {});
  if (response.status === 401 && session.token) {
    session.token = null;
    window.dispatchEvent(new CustomEvent('yibao:signed-out'));
  }
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    const retryAfter = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
    throw new ApiError(response.status, problem, Number.isFinite(retryAfter) ? retryAfter : null);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') ?? '';
  return type.includes('json') ? response.json() : response.text();
}

export const get = (path) => api('GET', path);
export const post = (path, body, options = {}) => api('POST', path, { body, ...options });
export const put = (path, body) => api('PUT', path, { body });
export const patch = (path, body) => api('PATCH', path, { body });
export const del = (path) => api('DELETE', path);
