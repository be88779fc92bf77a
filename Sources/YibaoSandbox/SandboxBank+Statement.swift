import YibaoCore
import YibaoStore

extension SandboxBank: ChannelStatementSource {
    /// The sandbox's fee on a capture: 0.2 % (a merchant discount rate of the kind card networks charge),
    /// rounded half away from zero; refunds carry none.
    public static let feeRate = Ratio(basisPoints: 20)

    /// The day's statement from the bank's own books: captures by the time they were captured, refunds by
    /// the time they were made.
    public func statement(day: CivilDate) async throws -> ChannelStatement {
        let start = day.startInChina
        let end = day.adding(days: 1).startInChina
        let name = self.name
        return try await backend.read { db in
            var movements = try db.query(
                """
                SELECT reference, captured, captured_at FROM sandbox_operations
                WHERE captured_at >= ? AND captured_at < ? AND captured > 0 ORDER BY captured_at, reference
                """, [.instant(start), .instant(end)]
            ).map { row in
                let amount = try row.money("captured")
                return ChannelMovement(
                    kind: .capture, key: try row.string("reference"), amount: amount, fee: amount.portion(SandboxBank.feeRate),
                    at: try row.instant("captured_at"))
            }
            movements += try db.query(
                "SELECT refund_reference, amount, created_at FROM sandbox_refunds WHERE created_at >= ? AND created_at < ? ORDER BY created_at, refund_reference",
                [.instant(start), .instant(end)]
            ).map { row in
                ChannelMovement(
                    kind: .refund, key: try row.string("refund_reference"), amount: try row.money("amount"), at: try row.instant("created_at"))
            }
            return ChannelStatement(channel: name, day: day, movements: movements)
        }
    }

    /// Test and drill fault: the bank captures money for a reference Yibao never sent (a stray charge), so
    /// the day's statement carries a capture Yibao has no record of.
    public func injectStrayCapture(reference: String, amount: Money) async throws {
        let clock = self.clock
        try await backend.write { db in
            let now = clock.now()
            try db.execute(
                """
                INSERT INTO sandbox_operations (reference, token, amount, state, captured, refunded, decline_reason, description, created_at,
                updated_at, captured_at) VALUES (?, 'stray', ?, 'captured', ?, 0, NULL, 'injected stray capture', ?, ?, ?)
                """, [.text(reference), .money(amount), .money(amount), .instant(now), .instant(now), .instant(now)])
        }
    }
}
