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

    /// The most problems listed.
    public static let problemsMax = 100

    /// True when nothing is wrong (in the JSON too, so a script can check it).
    public var passed: Bool { problems.isEmpty }

    enum CodingKeys: String, CodingKey {
        case entries, postings, accounts, settlements, problems, passed
    }

    /// Creates a report.
    public init(entries: Int64, postings: Int64, accounts: Int64, settlements: Int64, problems: [Problem]) {
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
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries, forKey: .entries)
        try container.encode(postings, forKey: .postings)
        try container.encode(accounts, forKey: .accounts)
        try container.encode(settlements, forKey: .settlements)
        try container.encode(problems, forKey: .problems)
        try container.encode(passed, forKey: .passed)
    }
}

extension Platform {
    /// Recomputes every account balance from its postings, checks every entry sums to zero, no
    /// personal account is negative, all balances sum to zero, every settlement's breakdown identities
    /// hold and its journal entry matches its amounts.
    public func verifyLedger() async throws -> LedgerReport {
        try await read { db, _ in
            var problems: [LedgerReport.Problem] = []
            func add(_ check: String, _ location: String, _ detail: String) {
                if problems.count < LedgerReport.problemsMax { problems.append(.init(check: check, location: location, detail: detail)) }
            }
            let limit = " LIMIT \(LedgerReport.problemsMax)"
            for row in try db.query(
                "SELECT entry_id, CAST(SUM(amount) AS BIGINT) AS total FROM postings GROUP BY entry_id HAVING SUM(amount) <> 0" + limit, []
            ) {
                add("entry does not sum to zero", try row.string("entry_id"), "postings sum to \(try row.money("total"))")
            }
            for row in try db.query(
                "SELECT e.id FROM journal_entries e WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.entry_id = e.id)" + limit, []
            ) {
                add("entry without postings", try row.string("id"), "an entry must move money")
            }
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
                WHERE s.state = 'completed'
                GROUP BY s.id, s.fund_total, s.account_paid HAVING s.fund_total + s.account_paid <> COALESCE(SUM(p.amount), 0)
                """ + limit, []
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
                let rows = try db.query("SELECT id, document FROM settlements WHERE id > ? ORDER BY id LIMIT 1000", [.text(after)])
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
                "SELECT (SELECT COUNT(*) FROM journal_entries) AS entries, (SELECT COUNT(*) FROM postings) AS postings", []
            )
            return LedgerReport(
                entries: try counts?.int64("entries") ?? 0, postings: try counts?.int64("postings") ?? 0,
                accounts: try sums?.int64("n") ?? 0, settlements: settlements, problems: problems
            )
        }
    }

    /// An account's stored balance.
    public func balance(of account: AccountID) async throws -> Money {
        try await read { db, _ in try LedgerRepository.balance(account, in: db).balance }
    }
}
