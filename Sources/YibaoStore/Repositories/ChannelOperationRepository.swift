import YibaoCore

/// Calls to the payment channel that must happen after a commit (capture, void, refund): written in the
/// same transaction as the business record (an outbox), attempted at once, retried with back-off until
/// the channel confirms. The channel is idempotent on the references, so a repeat is harmless.
package enum ChannelOperationRepository {
    package enum Kind: String, Sendable {
        case capture
        case void
        case refund
        /// Tell the credit partner that principal was repaid (`detail`: the line's token).
        case creditRepay = "credit_repay"
        /// Bring the partner's suspension of a line (`reference`) into line with Yibao's.
        case creditSync = "credit_sync"
        /// Deliver a credit-report record (`detail`) about a line (`reference`).
        case creditReport = "credit_report"
    }

    package struct Operation: Sendable {
        package let id: String
        let channel: String
        package let kind: Kind
        package let reference: String
        package let refundReference: String?
        package let amount: Money
        package let attempts: Int64
        package let detail: String?
    }

    /// The longest wait between attempts.
    package static let backoffMaxSeconds: Int64 = 300

    /// Queues one operation in the caller's transaction.
    package static func enqueue(
        id: String, channel: String, kind: Kind, reference: String, refundReference: String?, amount: Money, now: Instant, in db: any SQLExecutor,
        detail: String? = nil
    ) throws {
        let statement = insertStatement(
            [Queued(id: id, channel: channel, kind: kind, reference: reference, refundReference: refundReference, amount: amount, detail: detail)],
            now: now)
        try db.execute(statement.sql, statement.arguments)
    }

    /// An operation to queue (`enqueue`, or a write set's batch).
    package struct Queued: Sendable {
        package let id: String
        package let channel: String
        package let kind: Kind
        package let reference: String
        /// The refund record a refund operation pays out.
        package let refundReference: String?
        package let amount: Money
        package let detail: String?
        /// Queued already leased (`OutboxLease`) to the process that queues it, which attempts it right
        /// after the commit without a transaction to take it; should that process die first, the
        /// operation is due when the lease runs out, like any taken operation.
        package let leased: Bool

        package init(
            id: String, channel: String, kind: Kind, reference: String, refundReference: String? = nil, amount: Money, detail: String? = nil,
            leased: Bool = false
        ) {
            self.id = id
            self.channel = channel
            self.kind = kind
            self.reference = reference
            self.refundReference = refundReference
            self.amount = amount
            self.detail = detail
            self.leased = leased
        }
    }

    package static func insertStatement(_ operations: [Queued], now: Instant) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO channel_operations (id, channel, kind, reference, refund_reference, amount, state, attempts, next_attempt_at, last_error,
            created_at, updated_at, detail) VALUES \(placeholders(operations.count, "(?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL, ?, ?, ?)"))
            """,
            operations.flatMap { operation -> [SQLValue] in
                [
                    .text(operation.id), .text(operation.channel), .text(operation.kind.rawValue), .text(operation.reference),
                    .text(operation.refundReference), .money(operation.amount),
                    .instant(operation.leased ? now.adding(seconds: OutboxLease.leaseSeconds) : now), .instant(now), .instant(now),
                    .text(operation.detail),
                ]
            })
    }

    /// Takes up to `limit` due operations for this process (see `OutboxLease`): instances sharing a
    /// database never attempt the same operation at once.
    package static func take(now: Instant, dueBy: Instant? = nil, reference: String?, limit: Int, in db: any SQLExecutor) throws -> [Operation] {
        try OutboxLease.take(
            "channel_operations", columns: "id, channel, kind, reference, refund_reference, amount, attempts, detail",
            filter: reference == nil ? "" : " AND reference = ?", reference.map { [.text($0)] } ?? [], dueBy: dueBy ?? now, now: now,
            limit: limit, in: db
        ).map { row in
            Operation(
                id: try row.string("id"), channel: try row.string("channel"), kind: try row.enumeration("kind"),
                reference: try row.string("reference"),
                refundReference: try row.optionalString("refund_reference"), amount: try row.money("amount"), attempts: try row.int64("attempts"),
                detail: try row.optionalString("detail")
            )
        }
    }

    /// Marks operations done, in one statement.
    package static func markDone(_ ids: [String], now: Instant, in db: any SQLExecutor) throws {
        guard !ids.isEmpty else { return }
        try db.execute(
            "UPDATE channel_operations SET state = 'done', updated_at = ? WHERE id IN (\(placeholders(ids.count)))",
            [.instant(now)] + ids.map { .text($0) })
    }

    package static func markFailedAttempt(_ id: String, attempts: Int64, error: String, now: Instant, in db: any SQLExecutor) throws {
        let wait = min(Int64(1) << min(attempts, 12), backoffMaxSeconds)
        try db.execute(
            "UPDATE channel_operations SET attempts = ?, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
            [.integer(attempts), .text(error), .instant(now.adding(seconds: wait)), .instant(now), .text(id)]
        )
    }

    package static func pendingCount(in db: any SQLExecutor) throws -> Int64 {
        try db.queryOne("SELECT COUNT(*) AS n FROM channel_operations WHERE state = 'pending'", [])?.int64("n") ?? 0
    }
}

extension ChannelOperationRepository.Operation {
    /// An operation as it was just queued (not yet attempted).
    package init(_ queued: ChannelOperationRepository.Queued) {
        self.init(
            id: queued.id, channel: queued.channel, kind: queued.kind, reference: queued.reference, refundReference: queued.refundReference,
            amount: queued.amount, attempts: 0, detail: queued.detail)
    }
}
