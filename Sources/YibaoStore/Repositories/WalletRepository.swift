import Foundation
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

/// Webhook subscriptions and the delivery outbox.
package enum WebhookRepository {
    package struct Subscription: Sendable {
        package let id: String
        package let owner: String
        package let url: String
        package let secretCipher: String
        package let events: [String]

        package init(id: String, owner: String, url: String, secretCipher: String, events: [String]) {
            self.id = id
            self.owner = owner
            self.url = url
            self.secretCipher = secretCipher
            self.events = events
        }
    }

    package static func insert(_ subscription: Subscription, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO webhook_subscriptions (id, owner, url, secret_cipher, events, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
            [
                .text(subscription.id), .text(subscription.owner), .text(subscription.url), .text(subscription.secretCipher),
                .text(subscription.events.joined(separator: ",")), .instant(now),
            ]
        )
    }

    package static func live(in db: any SQLExecutor) throws -> [Subscription] {
        try db.fetch(live)
    }

    /// The live subscriptions, as a read to send in one batch with others (`SQLExecutor.fetch`).
    package static var live: SQLRead<[Subscription]> {
        SQLRead("SELECT id, owner, url, secret_cipher, events FROM webhook_subscriptions WHERE disabled_at IS NULL", []) { try $0.map(decode) }
    }

    package static func find(id: String, in db: any SQLExecutor) throws -> Subscription? {
        try db.queryOne("SELECT id, owner, url, secret_cipher, events FROM webhook_subscriptions WHERE id = ?", [.text(id)]).map(decode)
    }

    package static func disable(id: String, owner: String?, now: Instant, in db: any SQLExecutor) throws -> Bool {
        let filter = owner == nil ? "" : " AND owner = ?"
        return try db.execute(
            "UPDATE webhook_subscriptions SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL\(filter)",
            [.instant(now), .text(id)] + (owner.map { [.text($0)] } ?? [])
        ) == 1
    }

    package static func decode(_ row: SQLRow) throws -> Subscription {
        Subscription(
            id: try row.string("id"), owner: try row.string("owner"), url: try row.string("url"), secretCipher: try row.string("secret_cipher"),
            events: try row.string("events").split(separator: ",").map(String.init)
        )
    }

    package struct Delivery: Sendable {
        package let id: String
        package let subscriptionID: String
        let type: String
        package let payload: String
        package let attempts: Int64
        let createdAt: Instant
    }

    /// Takes up to `limit` due deliveries for this process (see `OutboxLease`): instances sharing a
    /// database do not post the same event at once.
    package static func take(now: Instant, limit: Int, in db: any SQLExecutor) throws -> [Delivery] {
        try OutboxLease.take(
            "webhook_deliveries", columns: "id, subscription_id, event_type, payload, attempts, created_at", dueBy: now, now: now, limit: limit,
            in: db
        ).map { row in
            Delivery(
                id: try row.string("id"), subscriptionID: try row.string("subscription_id"), type: try row.string("event_type"),
                payload: try row.string("payload"), attempts: try row.int64("attempts"), createdAt: try row.instant("created_at")
            )
        }
    }

    /// The longest wait between attempts.
    package static let backoffMaxSeconds: Int64 = 3600

    package static func delivered(_ id: String, status: Int, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE webhook_deliveries SET state = 'delivered', last_status = ?, delivered_at = ?, attempts = attempts + 1 WHERE id = ?",
            [.int(status), .instant(now), .text(id)]
        )
    }

    package static func failed(_ id: String, attempts: Int64, status: Int?, error: String, now: Instant, in db: any SQLExecutor) throws {
        let wait = min(Int64(1) << min(attempts, 20), backoffMaxSeconds)
        try db.execute(
            "UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
            [.integer(attempts), status.map { .int($0) } ?? .null, .text(error), .instant(now.adding(seconds: wait)), .text(id)]
        )
    }
}
