import YibaoCore

/// Payment orders (national 6201): persistence only; what may be paid or cancelled is decided in Core
/// (`PaymentOrder.refusalToPay`, `refusalToCancel`).
package enum PaymentOrderRepository {
    static let columns = """
        id, institution_code, visit_id, person_number, category, hospital_visit_number, total, cancelled, settlement_id, payer_number, \
        created_at, expires_at
        """

    package static func insert(_ order: PaymentOrder, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO payment_orders (\(columns), updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(order.id), .text(order.institutionCode), .text(order.visitId), .text(order.personNumber), .text(order.category.rawValue),
                .text(order.hospitalVisitNumber), .money(order.total), .bool(order.cancelled), .text(order.settlementId),
                .text(order.payerNumber), .instant(order.createdAt), .instant(order.expiresAt), .instant(order.createdAt),
            ])
    }

    /// One order (of an institution, when given), locked for the caller's transaction when asked.
    package static func find(id: String, institution: String? = nil, lock: Bool, in db: any SQLExecutor) throws -> PaymentOrder? {
        var sql = "SELECT \(columns) FROM payment_orders WHERE id = ?"
        var values: [SQLValue] = [.text(id)]
        if let institution {
            sql += " AND institution_code = ?"
            values.append(.text(institution))
        }
        return try db.queryOne(sql + (lock ? " FOR UPDATE" : ""), values).map(decode)
    }

    /// The newest orders of some people (a patient and the members they may pay for).
    package static func of(people: [String], since: Instant, in db: any SQLExecutor) throws -> [PaymentOrder] {
        guard !people.isEmpty else { return [] }
        return try db.query(
            """
            SELECT \(columns) FROM payment_orders WHERE person_number IN (\(placeholders(people.count))) AND created_at >= ?
            ORDER BY created_at DESC, id DESC LIMIT 100
            """, people.map { .text($0) } + [.instant(since)]
        ).map(decode)
    }

    /// Records the settlement of a payment attempt and who paid.
    package static func setSettlement(id: String, settlementID: String, payer: String?, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE payment_orders SET settlement_id = ?, payer_number = ?, updated_at = ? WHERE id = ?",
            [.text(settlementID), .text(payer), .instant(now), .text(id)])
    }

    package static func cancel(id: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute("UPDATE payment_orders SET cancelled = 1, updated_at = ? WHERE id = ?", [.instant(now), .text(id)])
    }

    /// Cancels the order of a visit, if it has one not cancelled yet.
    package static func cancel(visit: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute("UPDATE payment_orders SET cancelled = 1, updated_at = ? WHERE visit_id = ? AND cancelled = 0", [.instant(now), .text(visit)])
    }

    static func decode(_ row: SQLRow) throws -> PaymentOrder {
        PaymentOrder(
            id: try row.string("id"), institutionCode: try row.string("institution_code"), visitId: try row.string("visit_id"),
            personNumber: try row.string("person_number"), category: try row.enumeration("category"),
            hospitalVisitNumber: try row.string("hospital_visit_number"), total: try row.money("total"), cancelled: try row.bool("cancelled"),
            settlementId: try row.optionalString("settlement_id"), payerNumber: try row.optionalString("payer_number"),
            createdAt: try row.instant("created_at"), expiresAt: try row.instant("expires_at"))
    }
}
