import YibaoCore

/// Visits, settlements, accumulators and idempotency keys.
package enum VisitRepository {
    package static func insert(_ visit: Visit, deviceID: String? = nil, now: Instant, in db: any SQLExecutor) throws {
        let statement = try insertStatement(visit, deviceID: deviceID, now: now)
        do {
            try db.execute(statement.sql, statement.arguments)
        } catch StoreError.uniqueViolation {
            throw duplicate(visit)
        }
    }

    /// The refusal of a second visit with the same hospital visit number at an institution.
    package static func duplicate(_ visit: Visit) -> Refusal {
        Refusal(.alreadyExists, "this institution already has a visit numbered \(visit.hospitalVisitNumber)", field: "hospital_visit_number")
    }

    package static func insertStatement(_ visit: Visit, deviceID: String?, now: Instant) throws -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO visits (id, institution_code, person_number, category, hospital_visit_number, state, lines, line_count, total,
            settlement_id, opened_at, updated_at, payment_authority, device_id, payer_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(visit.id), .text(visit.institutionCode), .text(visit.personNumber), .text(visit.category.rawValue),
                .text(visit.hospitalVisitNumber), .text(visit.state.rawValue), .text(try YibaoJSON.storageString(visit.lines)),
                .int(visit.lines.count), .money(visit.total), .text(visit.settlementId), .instant(visit.openedAt), .instant(now),
                .text(visit.paymentAuthority.rawValue), .text(deviceID), .text(visit.payerNumber),
            ]
        )
    }

    package static func update(_ visit: Visit, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE visits SET state = ?, lines = ?, line_count = ?, total = ?, settlement_id = ?, updated_at = ? WHERE id = ?",
            [
                .text(visit.state.rawValue), .text(try YibaoJSON.storageString(visit.lines)), .int(visit.lines.count), .money(visit.total),
                .text(visit.settlementId), .instant(now), .text(visit.id),
            ]
        )
    }

    /// Who pays a visit and how its cash part is collected (a payment order paid on a phone).
    package static func setPayment(_ id: String, authority: PaymentAuthority, payer: String?, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE visits SET payment_authority = ?, payer_number = ?, updated_at = ? WHERE id = ?",
            [.text(authority.rawValue), .text(payer), .instant(now), .text(id)])
    }

    /// How a visit's cash part is collected.
    package static func paymentAuthority(_ id: String, in db: any SQLExecutor) throws -> PaymentAuthority? {
        try db.queryOne("SELECT payment_authority FROM visits WHERE id = ?", [.text(id)])?.enumeration("payment_authority")
    }

    /// Moves a visit to another state (paying, settled, open again) without rewriting its lines.
    package static func updateState(_ id: String, state: VisitState, settlementId: String?, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE visits SET state = ?, settlement_id = ?, updated_at = ? WHERE id = ?",
            [.text(state.rawValue), .text(settlementId), .instant(now), .text(id)]
        )
    }

    /// A visit of an institution (locked on PostgreSQL when `lock`); nil when it is not that institution's.
    package static func find(id: String, institution: String, lock: Bool, in db: any SQLExecutor) throws -> Visit? {
        try db.queryOne(
            """
            SELECT id, institution_code, person_number, category, hospital_visit_number, state, lines, settlement_id, opened_at, payment_authority,
            payer_number FROM visits WHERE id = ? AND institution_code = ?\(lock ? " FOR UPDATE" : "")
            """,
            [.text(id), .text(institution)]
        ).map(decode)
    }

    /// An institution's visits still open (waiting to be settled: frictionless ones, a visit whose payment
    /// was declined), newest first, at most `limit`.
    package static func open(institution: String, limit: Int, in db: any SQLExecutor) throws -> [Visit] {
        try db.query(
            """
            SELECT id, institution_code, person_number, category, hospital_visit_number, state, lines, settlement_id, opened_at, payment_authority,
            payer_number FROM visits WHERE institution_code = ? AND state = 'open' ORDER BY opened_at DESC, id DESC LIMIT \(max(1, min(limit, 500)))
            """,
            [.text(institution)]
        ).map(decode)
    }

    package static func decode(_ row: SQLRow) throws -> Visit {
        Visit(
            id: try row.string("id"), institutionCode: try row.string("institution_code"), personNumber: try row.string("person_number"),
            category: try row.enumeration("category"), hospitalVisitNumber: try row.string("hospital_visit_number"),
            state: try row.enumeration("state"), lines: try YibaoJSON.decodeStored([LineSplit].self, from: try row.string("lines")),
            settlementId: try row.optionalString("settlement_id"), openedAt: try row.instant("opened_at"),
            paymentAuthority: try row.enumeration("payment_authority"), payerNumber: try row.optionalString("payer_number")
        )
    }
}
