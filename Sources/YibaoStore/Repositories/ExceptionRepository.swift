import YibaoCore

/// The exception queue an operator works through, and what it is fed from: Yibao's channel movements,
/// channel operations that keep failing, settlements pending too long.
package enum ExceptionRepository {
    /// Yibao's movements through a channel whose journal entries were written in `[start, end)`: a
    /// settlement's, premium's or card repayment's capture (the channel posted negative) keyed by its
    /// reference, a refund's or reversal's refund (posted positive) keyed by the record.
    package static func channelMovements(channel: String, start: Instant, end: Instant, in db: any SQLExecutor) throws -> [ChannelMovement] {
        try db.query(
            """
            SELECT e.reference, e.kind, e.created_at, CAST(SUM(p.amount) AS BIGINT) AS amount FROM journal_entries e
            JOIN postings p ON p.entry_id = e.id
            WHERE e.created_at >= ? AND e.created_at < ? AND p.account_id LIKE ?
            AND e.kind IN ('settlement', 'refund', 'reversal', 'premium', 'credit_repayment')
            GROUP BY e.reference, e.kind, e.created_at
            """, [.instant(start), .instant(end), .text("channel:\(channel)#%")]
        ).compactMap { row in
            let amount = try row.money("amount")
            let kind: EntryKind = try row.enumeration("kind")
            if amount.isNegative {
                return ChannelMovement(kind: .capture, key: try row.string("reference"), amount: -amount, at: try row.instant("created_at"))
            }
            // A repayment from the personal account pays the partner through the channel, not a card refund.
            guard amount.isPositive, kind != .creditRepayment else { return nil }
            return ChannelMovement(kind: .refund, key: try row.string("reference"), amount: amount, at: try row.instant("created_at"))
        }
    }

    /// Opens an item unless one of its kind and reference exists (open or resolved).
    package static func open(_ item: ExceptionItem, scope: String, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO exceptions (id, kind, reference, scope, detail, state, created_at, resolved_at, resolved_by, resolution)
            VALUES (?, ?, ?, ?, ?, 'open', ?, NULL, NULL, NULL) ON CONFLICT (kind, reference) DO NOTHING
            """, [.text(item.id), .text(item.kind.rawValue), .text(item.reference), .text(scope), .text(item.detail), .instant(item.createdAt)])
    }

    /// Resolves the open items of a scope and kinds that a new run no longer finds.
    package static func resolveVanished(
        scope: String, kinds: [ExceptionItem.Kind], stillThere: Set<String>, now: Instant, in db: any SQLExecutor
    ) throws -> Int {
        let rows = try db.query(
            "SELECT id, reference FROM exceptions WHERE scope = ? AND state = 'open' AND kind IN (\(placeholders(kinds.count)))",
            [.text(scope)] + kinds.map { .text($0.rawValue) })
        var resolved = 0
        for row in rows where !stillThere.contains(try row.string("reference")) {
            try db.execute(
                "UPDATE exceptions SET state = 'resolved', resolved_at = ?, resolved_by = 'system', resolution = 'matched on a later run' WHERE id = ?",
                [.instant(now), .text(try row.string("id"))])
            resolved += 1
        }
        return resolved
    }

    /// Items in a state, oldest first.
    package static func list(state: String, in db: any SQLExecutor) throws -> [ExceptionItem] {
        try db.query("SELECT * FROM exceptions WHERE state = ? ORDER BY created_at, id LIMIT 500", [.text(state)]).map(decode)
    }

    /// One item, locked.
    package static func find(id: String, in db: any SQLExecutor) throws -> ExceptionItem? {
        try db.queryOne("SELECT * FROM exceptions WHERE id = ? FOR UPDATE", [.text(id)]).map(decode)
    }

    /// Marks an item resolved.
    package static func resolve(id: String, resolution: String, by actor: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE exceptions SET state = 'resolved', resolved_at = ?, resolved_by = ?, resolution = ? WHERE id = ?",
            [.instant(now), .text(actor), .text(resolution), .text(id)])
    }

    /// Open items per kind and the oldest one's time.
    package static func openCounts(in db: any SQLExecutor) throws -> [(kind: String, count: Int64, oldest: Instant)] {
        try db.query("SELECT kind, COUNT(*) AS n, MIN(created_at) AS oldest FROM exceptions WHERE state = 'open' GROUP BY kind", []).map {
            (try $0.string("kind"), try $0.int64("n"), try $0.instant("oldest"))
        }
    }

    /// Channel operations not done after `attempts` tries.
    package static func failingOperations(attempts: Int64, in db: any SQLExecutor) throws -> [(id: String, detail: String)] {
        try db.query(
            "SELECT id, kind, reference, attempts, last_error FROM channel_operations WHERE state = 'pending' AND attempts >= ? ORDER BY created_at LIMIT 1000",
            [.integer(attempts)]
        ).map { row in
            (
                try row.string("id"),
                "\(try row.string("kind")) of \(try row.string("reference")): \(try row.int64("attempts")) attempts, last error: \(try row.optionalString("last_error") ?? "none")"
            )
        }
    }

    /// Settlements pending since before `before`.
    package static func longPending(before: Instant, in db: any SQLExecutor) throws -> [(id: String, detail: String)] {
        try db.query(
            "SELECT id, person_number, cash_paid, created_at FROM settlements WHERE state = 'pending' AND created_at < ? ORDER BY created_at LIMIT 1000",
            [.instant(before)]
        ).map { row in
            (try row.string("id"), "pending since \(try row.instant("created_at")), \(try row.money("cash_paid")) yuan of cash on hold")
        }
    }

    static func decode(_ row: SQLRow) throws -> ExceptionItem {
        ExceptionItem(
            id: try row.string("id"), kind: try row.enumeration("kind"), reference: try row.string("reference"), detail: try row.string("detail"),
            state: try row.string("state"), createdAt: try row.instant("created_at"), resolvedAt: try row.optionalInstant("resolved_at"),
            resolvedBy: try row.optionalString("resolved_by"), resolution: try row.optionalString("resolution"))
    }

    /// A day's kept close.
    package static func dailyClose(day: CivilDate, in db: any SQLExecutor) throws -> String? {
        try db.queryOne("SELECT report FROM daily_closes WHERE day = ?", [.text(day.description)])?.string("report")
    }

    /// The closes kept for the days `from` through `through`, the latest day first.
    package static func dailyCloses(from: CivilDate, through: CivilDate, in db: any SQLExecutor) throws -> [String] {
        try db.query(
            "SELECT report FROM daily_closes WHERE day >= ? AND day <= ? ORDER BY day DESC", [.text(from.description), .text(through.description)]
        ).map { try $0.string("report") }
    }

    /// Keeps (or replaces) a day's close.
    package static func keepDailyClose(day: CivilDate, report: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO daily_closes (day, report, created_at) VALUES (?, ?, ?)
            ON CONFLICT (day) DO UPDATE SET report = excluded.report, created_at = excluded.created_at
            """, [.text(day.description), .text(report), .instant(now)])
    }

    /// The count and oldest time of what waits in a queue table (`outbox`, `webhook_deliveries` …).
    package static func backlog(_ sql: String, in db: any SQLExecutor) throws -> (count: Int64, oldest: Instant?) {
        let row = try db.queryOne(sql, [])
        return (try row?.int64("n") ?? 0, try row?.optionalInstant("oldest"))
    }

    /// Per institution with completed settlements: the first day it completed one and the last day its
    /// reconciliations balanced through.
    package static func reconciliationStanding(in db: any SQLExecutor) throws -> [(institution: String, first: Instant, balancedThrough: String?)] {
        // One index lookup per institution (completed_at is set only on completed records, and the index
        // holds only those, hence the condition), not a scan of the settlements: this runs at every
        // `/metrics` scrape.
        try db.query(
            """
            SELECT i.code,
            (SELECT MIN(s.completed_at) FROM settlements s WHERE s.institution_code = i.code AND s.completed_at IS NOT NULL) AS first,
            (SELECT MAX(r.period_through) FROM reconciliations r WHERE r.institution_code = i.code AND r.balanced = 1) AS through
            FROM institutions i
            """, []
        ).compactMap { row in
            guard let first = try row.optionalInstant("first") else { return nil }
            return (try row.string("code"), first, try row.optionalString("through"))
        }
    }

}
