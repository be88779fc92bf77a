import YibaoCore

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

    /// What waits to be delivered to one subscription.
    package struct Backlog: Sendable {
        package let pending: Int64
        package let oldest: Instant
        package let attempts: Int64
        package let lastError: String?
    }

    /// The deliveries still pending, per subscription (read through the `state` index, never the
    /// delivered history): how many, the oldest, the most attempts any has had, and the error of the one
    /// tried most.
    package static func backlog(in db: any SQLExecutor) throws -> [String: Backlog] {
        let rows = try db.query(
            """
            SELECT d.subscription_id, COUNT(*) AS n, MIN(d.created_at) AS oldest, MAX(d.attempts) AS attempts,
            (SELECT e.last_error FROM webhook_deliveries e WHERE e.state = 'pending' AND e.subscription_id = d.subscription_id
             AND e.last_error IS NOT NULL ORDER BY e.attempts DESC, e.id LIMIT 1) AS last_error
            FROM webhook_deliveries d WHERE d.state = 'pending' GROUP BY d.subscription_id
            """, [])
        var found: [String: Backlog] = [:]
        for row in rows {
            found[try row.string("subscription_id")] = Backlog(
                pending: try row.int64("n"), oldest: try row.instant("oldest"), attempts: try row.int64("attempts"),
                lastError: try row.optionalString("last_error"))
        }
        return found
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
