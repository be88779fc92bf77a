import YibaoCore

/// Idempotency keys: the first request with a key claims it in the same transaction as the record it
/// creates; a retry finds the claim and gets the first answer. A concurrent retry waits on the claim's
/// row (PostgreSQL) or the single writer (SQLite), so it never runs the operation twice.
package enum IdempotencyRepository {
    package enum Claim: Sendable {
        /// The key is new: run the operation, then `complete` the claim.
        case claimed
        /// The key was used before for the same request: the result to answer with.
        case replay(kind: String, id: String)
    }

    /// Claims a key whose result is recorded later (`complete`).
    package static func claim(scope: String, key: String, fingerprint: String, now: Instant, in db: any SQLExecutor) throws -> Claim {
        try claim(scope: scope, key: key, fingerprint: fingerprint, kind: "", id: "", now: now, in: db)
    }

    /// Claims a key for a result whose id is decided before the work runs (a settlement's id): one
    /// statement instead of a claim and a completion. Rolled back with the work when it is refused.
    package static func claim(
        scope: String, key: String, fingerprint: String, kind: String, id: String, now: Instant, in db: any SQLExecutor
    ) throws -> Claim {
        try db.fetch(claiming(scope: scope, key: key, fingerprint: fingerprint, kind: kind, id: id, now: now))
            ? .claimed : claimedBefore(scope: scope, key: key, fingerprint: fingerprint, in: db)
    }

    /// The claim as a read to batch with the transaction's first others (`SQLExecutor.fetch`, on
    /// PostgreSQL one wait for all of them): true when this request claimed the key, false when a request
    /// claimed it before (then `claimedBefore` says what it got).
    package static func claiming(scope: String, key: String, fingerprint: String, kind: String, id: String, now: Instant) -> SQLRead<Bool> {
        SQLRead(
            """
            INSERT INTO idempotency_keys (scope, idempotency_key, fingerprint, result_kind, result_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, idempotency_key) DO NOTHING RETURNING 1 AS claimed
            """,
            [.text(scope), .text(key), .text(fingerprint), .text(kind), .text(id), .instant(now)]
        ) { !$0.isEmpty }
    }

    /// A key an earlier request claimed: its result to replay, or a refusal when this request is another.
    package static func claimedBefore(scope: String, key: String, fingerprint: String, in db: any SQLExecutor) throws -> Claim {
        guard
            let row = try db.queryOne(
                "SELECT fingerprint, result_kind, result_id FROM idempotency_keys WHERE scope = ? AND idempotency_key = ?",
                [.text(scope), .text(key)]
            )
        else { throw StoreError.conflict("idempotency key vanished") }
        guard try row.string("fingerprint") == fingerprint else {
            throw Refusal(.idempotencyKeyReused, "this Idempotency-Key was already used for a different request; use a new key for a new request")
        }
        return .replay(kind: try row.string("result_kind"), id: try row.string("result_id"))
    }

    package static func complete(scope: String, key: String, kind: String, id: String, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE idempotency_keys SET result_kind = ?, result_id = ? WHERE scope = ? AND idempotency_key = ?",
            [.text(kind), .text(id), .text(scope), .text(key)]
        )
    }
}
