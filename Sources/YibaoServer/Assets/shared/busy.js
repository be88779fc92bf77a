// What every browser app does when the platform is full: an instance with too many requests in flight
// refuses a new one with 503 `overloaded` and `Retry-After`, before doing anything with it. The request
// is sent again, the same (same Idempotency-Key), after the wait it gave, for up to 30 s, while the
// page's notice counts down; then the refusal is shown like any other. A 503 `unavailable` (the
// database did not answer in time) may come after the work was done, so only a request that is safe to
// send twice is sent again: a read, or a request with its Idempotency-Key, whose repeat answers what the
// first did.

/** How long a request refused as `overloaded` is tried again, at most. */
const PATIENCE_MS = 30000;

/**
 * Runs `call` (one request, `{ method, key }`: it throws an error with `code` and `retryAfter` seconds
 * for a refusal) until it is not refused as `overloaded` — nor as `unavailable`, when the request is safe
 * to send twice (a GET, or one with its Idempotency-Key `key`) — or 30 s are up. `notice(seconds)` is
 * called each second of a wait, `notice(null)` once no request waits any more.
 */
export async function retryWhileFull(call, notice, { method, key } = {}) {
  const repeatable = method === 'GET' || Boolean(key);
  const started = Date.now();
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const retried = error?.code === 'overloaded' || (repeatable && error?.code === 'unavailable');
      const wait = retried ? Math.max(1, error.retryAfter ?? 1) : null;
      if (wait === null || Date.now() - started + wait * 1000 > PATIENCE_MS) throw error;
      await waitCountingDown(wait, notice);
    }
  }
}

let waiting = 0;
async function waitCountingDown(seconds, notice) {
  waiting += 1;
  try {
    for (let left = Math.ceil(seconds); left > 0; left -= 1) {
      notice(left);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    waiting -= 1;
    if (waiting === 0) notice(null);
  }
}
