import YibaoCore
import YibaoStore

/// What `verify-ledger` found.
public struct LedgerReport: Sendable, Hashable, Codable {
    /// One discrepancy, with where it is.
    public struct Problem: Sendable, Hashable, Codable, CustomStringConvertible {
        /// What kind of check failed.
        public var check: String
        /// The entry, account or settlement at fault.
        public var location: String
        /// The numbers that disagree.
        public var detail: String

        public var description: String { "\(check) at \(location): \(detail)" }
    }

    /// Journal entries checked.
    public var entries: Int64
    /// Postings checked.
    public var postings: Int64
    /// Accounts checked.
    public var accounts: Int64
    /// Settlement records checked.
    public var settlements: Int64
    /// Discrepancies (at most `problemsMax` are listed).
    public var problems: [Problem]
    /// For a day's close, the part verified: nil when it is the whole ledger.
    public var day: Day?

    /// What a day's verification covered: the entries made in `[from, through)` (and the settlements
    /// created, completed or posted then), and every balance against the sum of its postings verified
    /// up to `balancesFrom` plus the postings made since.
    public struct Day: Sendable, Hashable, Codable {
        /// The day's start.
        public var from: Instant
        /// The day's end.
        public var through: Instant
        /// Up to when the sums the balances were checked against had been verified.
        public var balancesFrom: Instant

        enum CodingKeys: String, CodingKey {
            case from, through
            case balancesFrom = "balances_from"
        }
    }

    /// The most problems listed.
    public static let problemsMax = 100

    /// True when nothing is wrong (in the JSON too, so a script can check it).
    public var passed: Bool { problems.isEmpty }

    enum CodingKeys: String, CodingKey {
        case entries, postings, accounts, settlements, problems, passed, day
    }

    /// Creates a report.
    public init(entries: Int64, postings: Int64, accounts: Int64, settlements: Int64, problems: [Problem], day: Day? = nil) {
        self.day = day
        self.entries = entries
        self.postings = postings
        self.accounts = accounts
        self.settlements = settlements
        self.problems = problems
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        entries = try container.decode(Int64.self, forKey: .entries)
        postings = try container.decode(Int64.self, forKey: .postings)
        accounts = try container.decode(Int64.self, forKey: .accounts)
        settlements = try container.decode(Int64.self, forKey: .settlements)
        problems = try container.decode([Problem].self, forKey: .problems)
        day = try container.decodeIfPresent(Day.self, forKey: .day)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries, forKey: .entries)
        try container.encode(postings, forKey: .postings)
        try container.encode(accounts, forKey: .accounts)
        try container.encode(settlements, forKey: .settlements)
        try container.encode(problems, forKey: .problems)
        try container.encode(passed, forKey: .passed)
        try container.encodeIfPresent(day, forKey: .day)
    }
}

extension Platform {
    /// Recomputes every account balance from its postings, checks every entry sums to zero, no
    /// personal account is negative, all balances sum to zero, every settlement's breakdown identities
    /// hold and its journal entry matches its amounts.
    /// It reads the whole ledger, so it waits for the database as long as that takes (`DatabaseWait`).
    public func verifyLedger() async throws -> LedgerReport {
        try await DatabaseWait.unbounded { try await read { db, _ in try Self.verifyLedger(day: nil, in: db) } }
    }

    /// One day's entries verified, for the day's close: the checks of `verifyLedger` on the entries and
    /// settlements of that day only, and every account's balance against the sum of its postings verified
    /// by the previous close plus the postings made since — so a close costs the day's entries, not the
    /// whole ledger. The whole ledger is verified instead when no verified sums end where the day starts
    /// (the first close, a day skipped), at a month's last day, and whenever the day's check finds a
    /// problem (to tell a real one from sums gone stale); when that passes, the sums are rebuilt from it.
    /// When the whole ledger fails, the sums are forgotten, so every close verifies the whole ledger
    /// until it passes.
    public func verifyLedger(closing day: CivilDate) async throws -> LedgerReport {
        let (from, through) = (day.startInChina, day.adding(days: 1).startInChina)
        // Where the sums end, the day's checks against them and the day's movements: one snapshot.
        let (verified, dayReport, movements) = try await read { db, _ -> (Instant?, LedgerReport?, [(account: String, amount: Money)]) in
            let verified = try LedgerVerificationRepository.verifiedThrough(in: db)
            guard let verified, verified == from || verified == through else { return (verified, nil, []) }
            return (
                verified, try Self.verifyLedger(day: .init(from: from, through: through, balancesFrom: verified), in: db),
                verified == from ? try LedgerVerificationRepository.movements(from: from, through: through, in: db) : []
            )
        }
        if let dayReport, dayReport.passed {
            if verified == from {
                _ = try await write { db, now in
                    try LedgerVerificationRepository.advance(from: from, through: through, day: day, movements: movements, now: now, in: db)
                }
            }
            // A month's last day verifies the whole ledger as well; the sums moved on as on any day.
            guard day.adding(days: 1).day == 1 else { return dayReport }
        }
        let whole = try await verifyLedger()
        if !whole.passed {
            try await write { db, now in try LedgerVerificationRepository.forget(now: now, in: db) }
        } else if dayReport?.passed != true, verified.map({ $0 <= through }) ?? true {
            try await rebuildVerifiedSums(through: through, day: day)
        }
        return whole
    }

    /// Rebuilds each account row's verified sum of postings up to `through` from the postings, a page of
    /// rows per write (the postings before a closed day's end do not change, so pages read apart agree).
    func rebuildVerifiedSums(through: Instant, day: CivilDate) async throws {
        let token = ids.next("LV")
        try await write { db, now in try LedgerVerificationRepository.startRebuild(token: token, now: now, in: db) }
        var after = ""
        while true {
            let start = after
            let page = try await read { db, _ in try LedgerVerificationRepository.sums(before: through, after: start, accounts: 5000, in: db) }
            if !page.sums.isEmpty {
                guard try await write({ db, _ in try LedgerVerificationRepository.putRebuilt(page.sums, token: token, in: db) }) else { return }
            }
            guard let last = page.last else { break }
            after = last
        }
        _ = try await write { db, now in
            try LedgerVerificationRepository.finishRebuild(token: token, through: through, day: day, now: now, in: db)
        }
    }

    /// The checks of `verifyLedger`, over the whole ledger (`day` nil) or one day.
    static func verifyLedger(day: LedgerReport.Day?, in db: any SQLExecutor) throws -> LedgerReport {
        var problems: [LedgerReport.Problem] = []
        func add(_ check: String, _ location: String, _ detail: String) {
            if problems.count < LedgerReport.problemsMax { problems.append(.init(check: check, location: location, detail: detail)) }
        }
        let limit = " LIMIT \(LedgerReport.problemsMax)"
        // The day's entries, and the settlements the day touched: created (their ids are time-ordered),
        // completed (per institution, on its index) or posted that day.
        let entries = day.map { _ in " AND e.created_at >= ? AND e.created_at < ?" } ?? ""
        let window: [SQLValue] = day.map { [.instant($0.from), .instant($0.through)] } ?? []
        let settlementsOfDay =
            day.map { _ in
                """
                 AND s.id IN (SELECT reference FROM journal_entries WHERE created_at >= ? AND created_at < ?
                 UNION SELECT id FROM settlements WHERE id >= ? AND id < ?
                 UNION SELECT id FROM settlements WHERE institution_code IN (SELECT code FROM institutions) AND completed_at >= ? AND completed_at < ?)
                """
            } ?? ""
        let settlementWindow: [SQLValue] =
            day.map {
                [
                    .instant($0.from), .instant($0.through), .text(TimeOrderedID.lowerBound("S", at: $0.from)),
                    .text(TimeOrderedID.lowerBound("S", at: $0.through)), .instant($0.from), .instant($0.through),
                ]
            } ?? []
        for row in try db.query(
            (day == nil
                ? "SELECT p.entry_id, CAST(SUM(p.amount) AS BIGINT) AS total FROM postings p"
                : "SELECT p.entry_id, CAST(SUM(p.amount) AS BIGINT) AS total FROM postings p JOIN journal_entries e ON e.id = p.entry_id WHERE 1 = 1"
                    + entries) + " GROUP BY p.entry_id HAVING SUM(p.amount) <> 0" + limit, window
        ) {
            add("entry does not sum to zero", try row.string("entry_id"), "postings sum to \(try row.money("total"))")
        }
        for row in try db.query(
            "SELECT e.id FROM journal_entries e WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id)\(entries)" + limit, window
        ) {
            add("entry without postings", try row.string("id"), "an entry must move money")
        }
        if let day {
            for (account, stored, computed) in try LedgerVerificationRepository.balancesAgainstVerified(
                day.balancesFrom, limit: LedgerReport.problemsMax, in: db)
            {
                add("balance differs from postings", account, "stored \(stored), postings sum to \(computed)")
            }
        } else {
            for row in try db.query(
                """
                SELECT a.id, a.balance, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS computed FROM accounts a
                LEFT JOIN postings p ON p.account_id = a.id GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(p.amount), 0)
                """ + limit, []
            ) {
                add(
                    "balance differs from postings", try row.string("id"),
                    "stored \(try row.money("balance")), postings sum to \(try row.money("computed"))")
            }
        }
        for row in try db.query(
            "SELECT id, balance, held FROM accounts WHERE kind = 'personal' AND (balance < 0 OR held < 0 OR held > balance)" + limit, [])
        {
            add("personal account overdrawn", try row.string("id"), "balance \(try row.money("balance")), on hold \(try row.money("held"))")
        }
        let sums = try db.queryOne(
            "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total, COUNT(*) AS n FROM accounts", []
        )
        let total = try sums?.money("total") ?? .zero
        if total != .zero { add("balances do not sum to zero", "all accounts", "they sum to \(total)") }
        for row in try db.query(
            """
            SELECT s.id, s.fund_total + s.account_paid AS expected, CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS posted
            FROM settlements s LEFT JOIN journal_entries e ON e.reference = s.id
            LEFT JOIN postings p ON p.entry_id = e.id AND p.account_id LIKE 'institution_clearing:%'
            WHERE s.state = 'completed'\(settlementsOfDay)
            GROUP BY s.id, s.fund_total, s.account_paid HAVING s.fund_total + s.account_paid <> COALESCE(SUM(p.amount), 0)
            """ + limit, settlementWindow
        ) {
            add(
                "settlement and ledger disagree", try row.string("id"),
                "fund + account \(try row.money("expected")), posted to the institution \(try row.money("posted"))")
        }
        for row in try db.query(
            """
            SELECT l.id, CAST(COALESCE((SELECT a.balance FROM accounts a WHERE a.id = 'credit_line:' || l.id), 0) AS BIGINT) AS ledger,
            CAST(COALESCE((SELECT SUM(e.amount) FROM credit_entries e WHERE e.line_id = l.id), 0) AS BIGINT) AS entries FROM credit_lines l
            """, []
        ) where try row.money("ledger") != (try row.money("entries")) {
            add(
                "credit line and ledger disagree", try row.string("id"),
                "ledger credit_line balance \(try row.money("ledger")), the line's entries sum to \(try row.money("entries"))")
        }
        for row in try db.query(
            """
            SELECT b.id, b.principal_due + b.interest_due + b.fees_due AS due, CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS entries
            FROM credit_bills b LEFT JOIN credit_entries e ON e.bill_id = b.id GROUP BY b.id, b.principal_due, b.interest_due, b.fees_due
            HAVING b.principal_due + b.interest_due + b.fees_due <> COALESCE(SUM(e.amount), 0)
            """ + limit, []
        ) {
            add(
                "credit bill and its entries disagree", try row.string("id"),
                "owed \(try row.money("due")), entries sum to \(try row.money("entries"))")
        }
        var settlements: Int64 = 0
        var after = ""
        while true {
            let rows = try db.query(
                "SELECT s.id, s.document FROM settlements s WHERE s.id > ?\(settlementsOfDay) ORDER BY s.id LIMIT 1000",
                [.text(after)] + settlementWindow)
            guard let last = rows.last else { break }
            for row in rows {
                settlements += 1
                let record = try YibaoJSON.decodeStored(SettlementRecord.self, from: try row.string("document"))
                if let broken = record.breakdown.brokenIdentity() { add("settlement identity", record.id, broken) }
                if Money.sum(record.lines.map(\.split.amount)) != record.breakdown.totalAmount {
                    add(
                        "settlement lines", record.id,
                        "lines sum to \(Money.sum(record.lines.map(\.split.amount))), total is \(record.breakdown.totalAmount)")
                }
            }
            after = try last.string("id")
        }
        let counts = try db.queryOne(
            day == nil
                ? "SELECT (SELECT COUNT(*) FROM journal_entries) AS entries, (SELECT COUNT(*) FROM postings) AS postings"
                : """
                SELECT (SELECT COUNT(*) FROM journal_entries e WHERE 1 = 1\(entries)) AS entries,
                (SELECT COUNT(*) FROM postings p JOIN journal_entries e ON e.id = p.entry_id WHERE 1 = 1\(entries)) AS postings
                """, window + window
        )
        return LedgerReport(
            entries: try counts?.int64("entries") ?? 0, postings: try counts?.int64("postings") ?? 0,
            accounts: try sums?.int64("n") ?? 0, settlements: settlements, problems: problems,
            day: day
        )
    }

    /// An account's stored balance.
    public func balance(of account: AccountID) async throws -> Money {
        try await read { db, _ in try LedgerRepository.balance(account, in: db).balance }
    }
}
