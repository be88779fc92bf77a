import YibaoCore

/// Wallet movements and inbox messages, numbered per person under the person's head row (a row lock
/// on PostgreSQL, the single writer on SQLite), so a person's numbers follow commit order and paging
/// by number never skips or repeats a movement. They are written by `ProjectionRepository`.
package enum WalletRepository {
    /// Locks a person's head row (creating it), to serialise decisions about the person.
    package static func lockHead(person: String, in db: any SQLExecutor) throws -> Int64 {
        try db.execute(
            "INSERT INTO wallet_heads (person_number, wallet_seq, inbox_seq) VALUES (?, 0, 0) ON CONFLICT (person_number) DO NOTHING", [.text(person)]
        )
        return try db.queryOne("SELECT wallet_seq FROM wallet_heads WHERE person_number = ? FOR UPDATE", [.text(person)])?.int64("wallet_seq") ?? 0
    }

    /// A filter of a person's history.
    package struct Filter: Sendable {
        package var from: Instant?
        package var until: Instant?
        package var kinds: [WalletEventKind]
        package var institution: String?

        package init(from: Instant?, until: Instant?, kinds: [WalletEventKind], institution: String?) {
            self.from = from
            self.until = until
            self.kinds = kinds
            self.institution = institution
        }
    }

    /// Newest first, before `beforeSeq` (exclusive), at most `limit`.
    package static func page(person: String, beforeSeq: Int64?, limit: Int, filter: Filter, in db: any SQLExecutor) throws -> [WalletEvent] {
        var clauses = ["person_number = ?"]
        var arguments: [SQLValue] = [.text(person)]
        if let beforeSeq {
            clauses.append("seq < ?")
            arguments.append(.integer(beforeSeq))
        }
        if let from = filter.from {
            clauses.append("at >= ?")
            arguments.append(.instant(from))
        }
        if let until = filter.until {
            clauses.append("at < ?")
            arguments.append(.instant(until))
        }
        if !filter.kinds.isEmpty {
            clauses.append("kind IN (" + placeholders(filter.kinds.count) + ")")
            arguments += filter.kinds.map { .text($0.rawValue) }
        }
        if let institution = filter.institution {
            clauses.append("institution_code = ?")
            arguments.append(.text(institution))
        }
        return try db.query(
            "SELECT * FROM wallet_events WHERE \(clauses.joined(separator: " AND ")) ORDER BY seq DESC LIMIT \(limit)", arguments
        ).map(decode)
    }

    package static func find(id: String, person: String, in db: any SQLExecutor) throws -> WalletEvent? {
        try db.queryOne("SELECT * FROM wallet_events WHERE id = ? AND person_number = ?", [.text(id), .text(person)]).map(decode)
    }

    package static func decode(_ row: SQLRow) throws -> WalletEvent {
        WalletEvent(
            personNumber: try row.string("person_number"), seq: try row.int64("seq"), id: try row.string("id"), kind: try row.enumeration("kind"),
            reference: try row.string("reference"), at: try row.instant("at"), institutionCode: try row.optionalString("institution_code"),
            counterparty: try row.string("counterparty"), total: try row.money("total"), fund: try row.money("fund"),
            account: try row.money("account"),
            mutualAid: try row.money("mutual_aid"), cash: try row.money("cash"), actor: try row.string("actor")
        )
    }

    // MARK: Inbox

    package static func inbox(person: String, beforeSeq: Int64?, limit: Int, in db: any SQLExecutor) throws -> [InboxMessage] {
        try db.query(
            "SELECT * FROM inbox WHERE person_number = ? AND seq < ? ORDER BY seq DESC LIMIT \(limit)",
            [.text(person), .integer(beforeSeq ?? Int64.max)]
        ).map { row in
            InboxMessage(
                personNumber: try row.string("person_number"), seq: try row.int64("seq"), id: try row.string("id"), topic: try row.string("topic"),
                title: try row.string("title"), body: try row.string("body"), reference: try row.optionalString("reference"),
                at: try row.instant("at"),
                readAt: try row.optionalInstant("read_at")
            )
        }
    }

    package static func markRead(person: String, throughSeq: Int64, now: Instant, in db: any SQLExecutor) throws -> Int {
        try db.execute(
            "UPDATE inbox SET read_at = ? WHERE person_number = ? AND seq <= ? AND read_at IS NULL",
            [.instant(now), .text(person), .integer(throughSeq)]
        )
    }
}
