import YibaoCore

/// Outboxes worked by background workers (channel operations, webhook deliveries): rows with a
/// `state` and a `next_attempt_at`. A worker *takes* due rows in a write transaction — `FOR UPDATE
/// SKIP LOCKED`, then their next attempt moved `leaseSeconds` ahead — so instances sharing a database
/// never work the same row at once, and a row whose worker died is due again when its lease runs out.
package enum OutboxLease {
    /// How long a worker has the rows it took; longer than one attempt can take.
    package static let leaseSeconds: Int64 = 60

    /// Selects up to `limit` pending rows of `table` due by `dueBy` (the `columns`, oldest first, with
    /// `filter` and its `arguments` added to the condition) and leases them until `now + leaseSeconds`.
    package static func take(
        _ table: String, columns: String, filter: String = "", _ arguments: [SQLValue] = [], dueBy: Instant, now: Instant, limit: Int,
        in db: any SQLExecutor
    ) throws -> [SQLRow] {
        let rows = try db.query(
            """
            SELECT \(columns) FROM \(table) WHERE state = 'pending' AND next_attempt_at <= ?\(filter)
            ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """,
            [.instant(dueBy)] + arguments
        )
        guard !rows.isEmpty else { return [] }
        let ids = try rows.map { SQLValue.text(try $0.string("id")) }
        try db.execute(
            "UPDATE \(table) SET next_attempt_at = ? WHERE id IN (\(placeholders(ids.count)))", [.instant(now.adding(seconds: leaseSeconds))] + ids)
        return rows
    }
}
