// What every browser app does with a call to the public /v1 API: the headers (its bearer token, JSON
// or CSV, the Idempotency-Key), then the answer: a success read as JSON or text, a problem document
// as an ApiError carrying its stable `code` (screens show a plain-language message for it, never the
// JSON), a failed network as status 0. Each app says what a 401 does (`seen`); busy.js sends a request
// refused as `overloaded` again after its `retryAfter`.

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code ?? (status === 0 ? 'network' : 'unknown');
    /** The request field a refusal names (`field` of the problem document), when it names one. */
    this.field = problem?.field ?? null;
    /** Seconds the platform asked to wait (`Retry-After`), when it gave a number. */
    this.retryAfter = retryAfter;
  }
}

/**
 * One request, and its answer read: the parsed JSON or the text of a success, null for 204, the
 * Response itself when `raw`. A refusal throws an ApiError. `body` is sent as JSON, or as it is when
 * `text` (CSV); `seen(response, bearer)` runs on every answer before it is read.
 */
export async function send(method, path, { bearer, body, key, raw = false, text = false, seen = () => {} } = {}) {
  const headers = { Accept: 'application/json' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = text ? 'text/csv' : 'application/json';
  if (key) headers['Idempotency-Key'] = key;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined || text ? body : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, null);
  }
  seen(response, bearer);
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

/** Seconds from a response's `Retry-After`, when it is a number. */
function retryAfterSeconds(response) {
  const seconds = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
  return Number.isFinite(seconds) ? seconds : null;
}
