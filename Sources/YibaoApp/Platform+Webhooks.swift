import Crypto
import Foundation
import YibaoCore
import YibaoStore

/// Sends one webhook request (an HTTP POST); returns the response status. The server implements it
/// with AsyncHTTPClient.
public protocol WebhookTransport: Sendable {
    /// POSTs a body with headers; returns the HTTP status.
    func post(url: String, headers: [(String, String)], body: String) async throws -> Int
}

/// A webhook subscription as its owner sees it; the secret is shown only when created.
public struct WebhookSubscription: Sendable, Hashable, Codable {
    /// The id.
    public var id: String
    /// `institution:<code>` or `partner:<name>`.
    public var owner: String
    /// Where deliveries go.
    public var url: String
    /// Event types (`settlement.completed`, `premium.paid` … or `*`).
    public var events: [String]
    /// The signing secret (`whsec_…`), present only in the answer that created it.
    public var secret: String?
    /// What waits to be delivered, in lists (absent from the answer that created it).
    public var backlog: WebhookBacklog? = nil
}

/// A subscription's deliveries not yet acknowledged by its receiver: a partner whose endpoint is down
/// shows here (and in `/metrics`' `yibao_webhook_backlog`) while every event waits for it, retried with
/// back-off up to an hour.
public struct WebhookBacklog: Sendable, Hashable, Codable {
    /// Deliveries waiting.
    public var pending: Int64
    /// When the oldest waiting one was made (nil when none waits).
    public var oldestPendingAt: Instant?
    /// The most attempts any waiting delivery has had.
    public var attempts: Int64
    /// What the receiver answered the one tried most ("HTTP 503", a connection error).
    public var lastError: String?
}

/// Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp`,
/// `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body" under the decoded secret>`.
public enum StandardWebhooks {
    /// A new secret: `whsec_` and 24 random bytes in base64.
    public static func newSecret() -> String {
        "whsec_" + SymmetricKey(size: SymmetricKeySize(bitCount: 192)).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// The signature header value.
    public static func signature(secret: String, id: String, timestamp: Int64, body: String) -> String {
        let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count))) ?? Data(secret.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(body)".utf8), using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Whether a signature header (which may list several, space-separated) verifies.
    public static func verify(secret: String, id: String, timestamp: Int64, body: String, header: String) -> Bool {
        let expected = signature(secret: secret, id: id, timestamp: timestamp, body: body)
        return header.split(separator: " ").contains { Secrets.constantTimeEquals(String($0), expected) }
    }
}

extension Platform {
    /// The event types a subscription may ask for.
    public static let webhookEventTypes = [
        "settlement.completed", "settlement.reversed", "settlement.refunded", "payment.declined", "premium.paid", "medication.reminder", "plan.claim",
        "*",
    ]

    /// Subscribes an owner to event types at a URL; returns the subscription with its secret (once).
    public func subscribeWebhook(owner: String, url: String, events: [String], allowPrivate: Bool = false) async throws -> WebhookSubscription {
        guard URL(string: url) != nil else { throw Refusal.invalid("url", "url must be an https URL of at most 500 characters") }
        if let problem = WebhookDestination.problem(url: url, allowPrivate: allowPrivate) { throw Refusal.invalid("url", problem) }
        guard !events.isEmpty, events.allSatisfy(Platform.webhookEventTypes.contains) else {
            throw Refusal.invalid("events", "events are some of: \(Platform.webhookEventTypes.joined(separator: ", "))")
        }
        let id = ids.next("WH")
        let secret = StandardWebhooks.newSecret()
        let sealed = cipher.seal(secret, field: "webhook_subscriptions.secret", row: id)
        try await write { db, now in
            try WebhookRepository.insert(.init(id: id, owner: owner, url: url, secretCipher: sealed, events: events), now: now, in: db)
            try AuditRepository.append(actor: owner, action: "webhook.subscribe", subject: owner, value: ["id": id, "url": url], now: now, in: db)
        }
        return WebhookSubscription(id: id, owner: owner, url: url, events: events, secret: secret)
    }

    /// An owner's live subscriptions (all when `owner` is nil).
    public func webhookSubscriptions(owner: String?) async throws -> [WebhookSubscription] {
        try await read { db, _ in
            let backlog = try WebhookRepository.backlog(in: db)
            return try WebhookRepository.live(in: db).filter { owner == nil || $0.owner == owner }.map {
                let waiting = backlog[$0.id]
                return WebhookSubscription(
                    id: $0.id, owner: $0.owner, url: $0.url, events: $0.events, secret: nil,
                    backlog: WebhookBacklog(
                        pending: waiting?.pending ?? 0, oldestPendingAt: waiting?.oldest, attempts: waiting?.attempts ?? 0,
                        lastError: waiting?.lastError))
            }
        }
    }

    /// Disables a subscription (of this owner, when given).
    public func unsubscribeWebhook(id: String, owner: String?) async throws {
        let done = try await write { db, now in try WebhookRepository.disable(id: id, owner: owner, now: now, in: db) }
        if !done { throw Refusal(.notFound, "no live subscription \(id)") }
    }

    /// Delivers due webhooks (up to `limit`): signed per Standard Webhooks, 2xx marks delivered, anything
    /// else retries with back-off (1 s doubling to an hour). Returns how many were delivered. Deliveries
    /// are taken under a lease first, so instances sharing a database split them.
    @discardableResult
    public func deliverWebhooks(transport: any WebhookTransport, limit: Int = 100) async -> Int {
        await flushProjections()
        let cipher = self.cipher
        guard let due = try? await write({ db, now in try WebhookRepository.take(now: now, limit: limit, in: db) }) else { return 0 }
        var delivered = 0
        for delivery in due {
            guard let subscription = try? await read({ db, _ in try WebhookRepository.find(id: delivery.subscriptionID, in: db) }),
                let secret = try? cipher.open(subscription.secretCipher, field: "webhook_subscriptions.secret", row: subscription.id)
            else { continue }
            let timestamp = clock.now().secondsSinceEpoch
            let headers = [
                ("content-type", "application/json"), ("webhook-id", delivery.id), ("webhook-timestamp", String(timestamp)),
                ("webhook-signature", StandardWebhooks.signature(secret: secret, id: delivery.id, timestamp: timestamp, body: delivery.payload)),
            ]
            do {
                let status = try await transport.post(url: subscription.url, headers: headers, body: delivery.payload)
                if (200..<300).contains(status) {
                    try await write { db, now in try WebhookRepository.delivered(delivery.id, status: status, now: now, in: db) }
                    delivered += 1
                } else {
                    try await write { db, now in
                        try WebhookRepository.failed(
                            delivery.id, attempts: delivery.attempts + 1, status: status, error: "HTTP \(status)", now: now, in: db)
                    }
                }
            } catch {
                _ = try? await write { db, now in
                    try WebhookRepository.failed(delivery.id, attempts: delivery.attempts + 1, status: nil, error: "\(error)", now: now, in: db)
                }
            }
        }
        return delivered
    }

    /// Webhook deliveries not yet acknowledged.
    public func pendingWebhookDeliveries() async throws -> Int64 {
        await flushProjections()
        return try await read { db, _ in try db.queryOne("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state = 'pending'", [])?.int64("n") ?? 0
        }
    }
}
