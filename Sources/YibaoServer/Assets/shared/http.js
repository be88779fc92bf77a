// What every browser app does with an answer of the public /v1 API: a success is read as JSON (or
// text), a problem document becomes an ApiError carrying its stable `code` (screens show a
// plain-language message for it, never the JSON), and a failed network is status 0. Each app adds its
// own token and what it does on 401 (`seen`); busy.js sends a request refused as `overloaded` again.
import { retryAfterSeconds } from '/shared/busy.js';

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code ?? (status === 0 ? 'network' : 'unknown');
    this.detail = problem?.detail;
    this.field = problem?.field;
    this.problem = problem;
    /** Seconds the platform asked to wait (`Retry-After`), when it gave a number. */
    this.retryAfter = retryAfter;
  }
}

/**
 * Sends one request (`init` as for fetch) and reads its answer: the parsed JSON or the text of a
 * success, null for 204, the Response itself when `raw`. A refusal throws an ApiError. `seen(response)`
 * runs on every answer before it is read.
 */
export async function send(path, init, { raw = false, seen = () => {} } = {}) {
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, null);
  }
  seen(response);
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    throw new ApiError(response.status, problem, retryAfterSeconds(response));
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return (response.headers.get('Content-Type') ?? '').includes('json') ? response.json() : response.text();
}
