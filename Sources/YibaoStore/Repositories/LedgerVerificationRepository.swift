import YibaoCore

/// What the daily close needs to verify one day's entries instead of the whole ledger every day: each
/// account row's sum of postings up to an instant (`verified_balances`), and that instant
/// (`ledger_verified`, one row; NULL while nothing is verified or while the sums are rebuilt).
package enum LedgerVerificationRepository {
    /// Up to when the verified sums hold, and the closed day they end: nil when there are none.
    package static func verifiedThrough(in db: any SQLExecutor) throws -> Instant? {
        try db.queryOne("SELECT through FROM ledger_verified WHERE id = 1", [])?.optionalInstant("through")
    }

    /// Per account row with postings in `[from, through)`: their sum (rows whose postings cancel out are
    /// left out).
    package static func movements(from: Instant, through: Instant, in db: any SQLExecutor) throws -> [(account: String, amount: Money)] {
        try db.query(
            """
            SELECT p.account_id, CAST(SUM(p.amount) AS BIGINT) AS amount FROM journal_entries e JOIN postings p ON p.entry_id = e.id
            WHERE e.created_at >= ? AND e.created_at < ? GROUP BY p.account_id HAVING SUM(p.amount) <> 0
            """, [.instant(from), .instant(through)]
        ).map { (try $0.string("account_id"), try $0.money("amount")) }
    }

    /// Account rows whose stored balance is not their verified sum plus the postings of every entry made
    /// since `verified` (at most `limit`).
    package static func balancesAgainstVerified(
        _ verified: Instant, limit: Int, in db: any SQLExecutor
    ) throws -> [(account: String, stored: Money, computed: Money)] {
        try db.query(
            """
            SELECT a.id, a.balance, CAST(COALESCE(v.balance, 0) + COALESCE(d.amount, 0) AS BIGINT) AS computed FROM accounts a
            LEFT JOIN verified_balances v ON v.account_id = a.id
            LEFT JOIN (SELECT p.account_id, SUM(p.amount) AS amount FROM journal_entries e JOIN postings p ON p.entry_id = e.id
                       WHERE e.created_at >= ? AND e.created_at < ? GROUP BY p.account_id) d ON d.account_id = a.id
            WHERE a.balance <> COALESCE(v.balance, 0) + COALESCE(d.amount, 0) LIMIT \(limit)
            """,
            // Bounded above too (by the largest instant), so that SQLite reads the entries by their time
            // index instead of every posting in account order.
            [.instant(verified), .integer(Int64.max)]
        ).map { (try $0.string("id"), try $0.money("balance"), try $0.money("computed")) }
    }

    /// Moves the verified sums from `from` to `through` by the day's movements, when they still end at
    /// `from` (another close may have moved them). Returns whether it did.
    package static func advance(
        from: Instant, through: Instant, day: CivilDate, movements: [(account: String, amount: Money)], now: Instant, in db: any SQLExecutor
    ) throws -> Bool {
        let moved = try db.execute(
            "UPDATE ledger_verified SET through = ?, day = ?, updated_at = ? WHERE id = 1 AND through = ? AND rebuilding IS NULL",
            [.instant(through), .text(day.description), .instant(now), .instant(from)])
        guard moved == 1 else { return false }
        try upsert(movements, adding: true, in: db)
        return true
    }

    /// Starts rebuilding the sums from the postings under `token`: forgets them and marks the rebuild as
    /// this one's (pages are written only under it, so two rebuilds at once cannot mix).
    package static func startRebuild(token: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE ledger_verified SET through = NULL, day = NULL, rebuilding = ?, updated_at = ? WHERE id = 1", [.text(token), .instant(now)])
        try db.execute("DELETE FROM verified_balances", [])
    }

    /// One page of the rebuild: the account rows after `after` in key order, `accounts` of them (all
    /// the rest when fewer are left), and for each with postings the sum of those made before `through`.
    /// `last` is where the next page starts, nil when this page ran to the end.
    ///
    /// A page reads only its own accounts' postings, through the account index: the sum of every posting
    /// of the range, less the sum of those of entries made at or after `through` (found through the
    /// entries' time index), in one statement so that both halves see the same postings. A page that
    /// aggregated the postings before `through` of every account after `after` and kept the first ones
    /// read the whole ledger each time on PostgreSQL (a hash join of every posting with every entry:
    /// 0.6–1.2 s a page at 2 M postings, against 0.15 s this way).
    ///
    /// On SQLite the shape matters (`EXPLAIN QUERY PLAN`, 10 M postings): each half is grouped on its
    /// own, so the range's postings are summed in the index's order (a `UNION ALL` grouped as a whole
    /// went through a temporary B-tree), and the entries half is driven from the entries' time index by
    /// `CROSS JOIN`, which SQLite takes as the order of the loops (left to itself it walked the range's
    /// postings again and looked up each one's entry: 19–21 s for the page with the contributions
    /// account's 5 M postings, 5.3 s this way). PostgreSQL reads `CROSS JOIN … WHERE` as a plain join.
    package static func sums(
        before through: Instant, after: String, accounts: Int, in db: any SQLExecutor
    ) throws -> (sums: [(account: String, amount: Money)], last: String?) {
        let last = try db.queryOne("SELECT id FROM accounts WHERE id > ? ORDER BY id LIMIT 1 OFFSET \(max(accounts - 1, 0))", [.text(after)])?
            .string("id")
        func range(_ column: String) -> String { last == nil ? "\(column) > ?" : "\(column) > ? AND \(column) <= ?" }
        let bounds: [SQLValue] = [.text(after)] + (last.map { [.text($0)] } ?? [])
        let sums = try db.query(
            """
            SELECT every.account_id, CAST(every.amount - COALESCE(since.amount, 0) AS BIGINT) AS amount
            FROM (SELECT account_id, SUM(amount) AS amount FROM postings WHERE \(range("account_id")) GROUP BY account_id) every
            LEFT JOIN (
                SELECT p.account_id, SUM(p.amount) AS amount FROM journal_entries e CROSS JOIN postings p
                WHERE p.entry_id = e.id AND e.created_at >= ? AND \(range("p.account_id")) GROUP BY p.account_id
            ) since ON since.account_id = every.account_id
            """, bounds + [.instant(through)] + bounds
        ).map { (try $0.string("account_id"), try $0.money("amount")) }
        return (sums, last)
    }

    /// Writes a page of the rebuild, if the rebuild `token` is still the one running. Returns whether it did.
    package static func putRebuilt(_ page: [(account: String, amount: Money)], token: String, in db: any SQLExecutor) throws -> Bool {
        guard try db.queryOne("SELECT rebuilding FROM ledger_verified WHERE id = 1", [])?.optionalString("rebuilding") == token else { return false }
        try upsert(page, adding: false, in: db)
        return true
    }

    /// Ends the rebuild `token`: the sums now hold up to `through`. Returns whether it was still running.
    package static func finishRebuild(token: String, through: Instant, day: CivilDate, now: Instant, in db: any SQLExecutor) throws -> Bool {
        try db.execute(
            "UPDATE ledger_verified SET through = ?, day = ?, rebuilding = NULL, updated_at = ? WHERE id = 1 AND rebuilding = ?",
            [.instant(through), .text(day.description), .instant(now), .text(token)]) == 1
    }

    /// Forgets the sums (a verification of the whole ledger found problems: the next close verifies the
    /// whole ledger again).
    package static func forget(now: Instant, in db: any SQLExecutor) throws {
        try db.execute("UPDATE ledger_verified SET through = NULL, day = NULL, rebuilding = NULL, updated_at = ? WHERE id = 1", [.instant(now)])
    }

    /// Account rows whose verified sum is not the sum of their postings made before the instant the sums
    /// hold up to (for the simulation's invariants; empty while nothing is verified or a rebuild runs).
    package static func sumsDisagreeing(in db: any SQLExecutor) throws -> [(account: String, verified: Money, postings: Money)] {
        guard let row = try db.queryOne("SELECT through, rebuilding FROM ledger_verified WHERE id = 1", []),
            let through = try row.optionalInstant("through"), try row.optionalString("rebuilding") == nil
        else { return [] }
        return try db.query(
            """
            SELECT a.id, CAST(COALESCE(v.balance, 0) AS BIGINT) AS verified, CAST(COALESCE(s.amount, 0) AS BIGINT) AS postings FROM accounts a
            LEFT JOIN verified_balances v ON v.account_id = a.id
            LEFT JOIN (SELECT p.account_id, SUM(p.amount) AS amount FROM postings p JOIN journal_entries e ON e.id = p.entry_id
                       WHERE e.created_at < ? GROUP BY p.account_id) s ON s.account_id = a.id
            WHERE COALESCE(v.balance, 0) <> COALESCE(s.amount, 0)
            """, [.instant(through)]
        ).map { (try $0.string("id"), try $0.money("verified"), try $0.money("postings")) }
    }

    private static func upsert(_ rows: [(account: String, amount: Money)], adding: Bool, in db: any SQLExecutor) throws {
        let set = adding ? "verified_balances.balance + excluded.balance" : "excluded.balance"
        for start in stride(from: 0, to: rows.count, by: 500) {
            let chunk = rows[start..<min(rows.count, start + 500)]
            try db.execute(
                "INSERT INTO verified_balances (account_id, balance) VALUES \(placeholders(chunk.count, "(?, ?)")) "
                    + "ON CONFLICT (account_id) DO UPDATE SET balance = \(set)",
                chunk.flatMap { [SQLValue.text($0.account), .money($0.amount)] })
        }
    }
}
