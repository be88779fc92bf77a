import YibaoCore

/// The outbox of projections: one row, committed with a money movement, that says what to derive from
/// it after the commit — the wallet events, inbox messages, webhook deliveries and audit records of a
/// settlement. A row is deleted in the transaction that writes its projections, so each is expanded
/// exactly once, by the instance that committed it (at once) or, after a crash, by whichever instance's
/// background work takes it when its lease runs out.
package enum OutboxRepository {
    /// What a row projects.
    package enum Kind: String, Sendable {
        /// A completed settlement, reversal or refund (`reference`: its id; `detail`: "frictionless" when
        /// it was settled without a code).
        case settlement
        /// A pending settlement the bank declined or that was cancelled (`reference`: its id).
        case declined
    }

    /// One row.
    package struct Row: Sendable, Hashable {
        package let id: String
        package let kind: Kind
        package let reference: String
        package let detail: String
        /// When it was committed (with the money); set from the database when read back.
        package let createdAt: Instant

        package init(id: String, kind: Kind, reference: String, detail: String = "", createdAt: Instant = Instant(millisecondsSinceEpoch: 0)) {
            self.id = id
            self.kind = kind
            self.reference = reference
            self.detail = detail
            self.createdAt = createdAt
        }
    }

    /// How long after its commit a row becomes due for any instance's background work: the committing
    /// instance expands it at once, so background work only ever sees the rows of an instance that died
    /// (or whose expansion failed).
    package static let dueAfterSeconds: Int64 = 30

    package static func insertStatement(_ rows: [Row], now: Instant) -> SQLStatement {
        SQLStatement(
            "INSERT INTO outbox (id, kind, reference, detail, created_at, next_attempt_at) VALUES \(placeholders(rows.count, "(?, ?, ?, ?, ?, ?)"))",
            rows.flatMap { row -> [SQLValue] in
                [
                    .text(row.id), .text(row.kind.rawValue), .text(row.reference), .text(row.detail), .instant(now),
                    .instant(now.adding(seconds: dueAfterSeconds)),
                ]
            })
    }

    /// Inserts rows in the caller's transaction.
    package static func insert(_ rows: [Row], now: Instant, in db: any SQLExecutor) throws {
        let statement = insertStatement(rows, now: now)
        try db.execute(statement.sql, statement.arguments)
    }

    /// Deletes the rows that are still there and returns their ids, as a read to send in one batch with
    /// others (`SQLExecutor.fetch`): the caller expands exactly those, in the same transaction.
    package static func claiming(_ ids: [String]) -> SQLRead<Set<String>> {
        guard !ids.isEmpty else { return .known([]) }
        return SQLRead("DELETE FROM outbox WHERE id IN (\(placeholders(ids.count))) RETURNING id", ids.map { .text($0) }) { rows in
            Set(try rows.map { try $0.string("id") })
        }
    }

    /// Rows due (their committing instance did not expand them in time), oldest first, locked for the
    /// caller's transaction, which claims (deletes) and expands them: another instance skips them.
    package static func due(dueBy: Instant, limit: Int, in db: any SQLExecutor) throws -> [Row] {
        try db.query(
            "SELECT id, kind, reference, detail, created_at FROM outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED",
            [.instant(dueBy)]
        ).map {
            Row(
                id: try $0.string("id"), kind: try $0.enumeration("kind"), reference: try $0.string("reference"), detail: try $0.string("detail"),
                createdAt: try $0.instant("created_at"))
        }
    }

    /// Rows not yet expanded.
    package static func count(in db: any SQLExecutor) throws -> Int64 {
        try db.queryOne("SELECT COUNT(*) AS n FROM outbox", [])?.int64("n") ?? 0
    }
}
