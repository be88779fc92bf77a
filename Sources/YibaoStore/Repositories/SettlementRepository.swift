import YibaoCore

package enum SettlementRepository {
    package static func insert(_ record: SettlementRecord, in db: any SQLExecutor) throws {
        let statement = try insertStatement(record)
        try db.execute(statement.sql, statement.arguments)
    }

    package static func insertStatement(_ record: SettlementRecord) throws -> SQLStatement {
        var stored = record
        stored.reversedBy = nil
        return SQLStatement(
            """
            INSERT INTO settlements (id, kind, state, visit_id, original_id, institution_code, person_number, mutual_aid_payer, region,
            insurance_type, year, pool, category, total, fund_total, account_paid, cash_paid, document, created_at, reversed_by, funding_source_id,
            completed_at, plan_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)
            """,
            [
                .text(record.id), .text(record.kind.rawValue), .text(record.state.rawValue), .text(record.visitId), .text(record.originalId),
                .text(record.institution.code), .text(record.personNumber), .text(record.mutualAidPayer), .text(record.insuranceRegion.value),
                .text(record.insuranceType.rawValue), .int(record.year), .text(record.pool.rawValue), .text(record.category.rawValue),
                .money(record.breakdown.totalAmount), .money(record.breakdown.fundTotal), .money(record.breakdown.accountPaid),
                .money(record.breakdown.cashPaid), .text(try YibaoJSON.storageString(stored)), .instant(record.settledAt),
                .text(record.fundingSource?.id), .instant(record.state == .completed ? record.settledAt : nil),
                // Only on the records a plan paid (or got money back) in: its claims.
                .text(record.breakdown.otherFund == .zero ? nil : record.plan?.id),
            ]
        )
    }

    /// A settlement of an institution (any institution when `institution` is nil).
    package static func find(id: String, institution: String?, lock: Bool, in db: any SQLExecutor) throws -> SettlementRecord? {
        let filter = institution == nil ? "" : " AND institution_code = ?"
        let arguments: [SQLValue] = institution.map { [.text(id), .text($0)] } ?? [.text(id)]
        return try db.queryOne(
            "SELECT document, state, reversed_by FROM settlements WHERE id = ?\(filter)\(lock ? " FOR UPDATE" : "")", arguments
        ).map(decode)
    }

    /// Rewrites a pending settlement when its payment resolves (the only change a record ever sees);
    /// a completed one counts from `now` for reconciliation and clearing.
    package static func resolve(_ record: SettlementRecord, now: Instant, in db: any SQLExecutor) throws {
        var stored = record
        stored.reversedBy = nil
        try db.execute(
            "UPDATE settlements SET state = ?, document = ?, completed_at = ? WHERE id = ? AND state = 'pending'",
            [
                .text(record.state.rawValue), .text(try YibaoJSON.storageString(stored)), .instant(record.state == .completed ? now : nil),
                .text(record.id),
            ]
        )
    }

    /// The state of a settlement, locking its row.
    package static func lockState(_ id: String, in db: any SQLExecutor) throws -> SettlementState? {
        try db.fetch(lockState(id))
    }

    package static func lockState(_ id: String) -> SQLRead<SettlementState?> {
        .one("SELECT state FROM settlements WHERE id = ? FOR UPDATE", [.text(id)]) { try $0.enumeration("state") }
    }

    /// The settlement of a person whose cash part is being collected, if any. It is the person's payment
    /// lock: while it waits for the bank, the person's other settlements wait (they would otherwise
    /// compute on accumulators it is about to change). A unique index (`settlements_pending`, migration
    /// 22) allows one per person, so taking the lock is writing the pending record, and releasing it is
    /// the record's leaving `pending`.
    package static func inFlight(person: String) -> SQLRead<String?> {
        .one("SELECT id FROM settlements WHERE person_number = ? AND state = 'pending'", [.text(person)]) { try $0.string("id") }
    }

    /// Pending settlements created before `before`.
    package static func pending(before: Instant, limit: Int, in db: any SQLExecutor) throws -> [String] {
        try db.query(
            "SELECT id FROM settlements WHERE state = 'pending' AND created_at < ? ORDER BY created_at LIMIT \(limit)", [.instant(before)]
        ).map { try $0.string("id") }
    }

    /// True when the settlement has partial refunds.
    package static func hasRefunds(of id: String, in db: any SQLExecutor) throws -> Bool {
        try db.queryOne("SELECT id FROM settlements WHERE original_id = ? AND kind = 'refund' LIMIT 1", [.text(id)]) != nil
    }

    /// An institution's records created in `[from, until)`, newest first, at most `limit`.
    package static func ofInstitution(_ code: String, from: Instant, until: Instant, limit: Int, in db: any SQLExecutor) throws -> [SettlementRecord]
    {
        try db.query(
            """
            SELECT document, state, reversed_by FROM settlements WHERE institution_code = ? AND created_at >= ? AND created_at < ?
            ORDER BY created_at DESC, id DESC LIMIT \(max(1, min(limit, 2000)))
            """,
            [.text(code), .instant(from), .instant(until)]
        ).map(decode)
    }

    /// The completed records (settlements, refunds, reversals) a commercial plan paid or got money back
    /// in, completed in `[from, until)`, oldest first, at most `limit`.
    package static func ofPlan(_ plan: String, from: Instant, until: Instant, limit: Int, in db: any SQLExecutor) throws -> [SettlementRecord] {
        try db.query(
            """
            SELECT document, state, reversed_by FROM settlements WHERE plan_id = ? AND completed_at >= ? AND completed_at < ? AND state = 'completed'
            ORDER BY completed_at, id LIMIT \(max(1, min(limit, 100_000)))
            """,
            [.text(plan), .instant(from), .instant(until)]
        ).map(decode)
    }

    /// A person's completed settlements of a medical category in `[from, until)` not reversed, oldest first.
    package static func ofPerson(
        _ person: String, category: MedicalCategory, from: Instant, until: Instant, limit: Int, in db: any SQLExecutor
    ) throws -> [SettlementRecord] {
        try db.query(
            """
            SELECT document, state, reversed_by FROM settlements WHERE person_number = ? AND created_at >= ? AND created_at < ?
            AND kind = 'settlement' AND state = 'completed' AND reversed_by IS NULL AND category = ?
            ORDER BY created_at, id LIMIT \(max(1, min(limit, 2000)))
            """,
            [.text(person), .instant(from), .instant(until), .text(category.rawValue)]
        ).map(decode)
    }

    /// The refunds of a settlement, oldest first.
    package static func refunds(of id: String, in db: any SQLExecutor) throws -> [SettlementRecord] {
        try db.query(
            "SELECT document, state, reversed_by FROM settlements WHERE original_id = ? AND kind = 'refund' ORDER BY created_at, id", [.text(id)]
        ).map(decode)
    }

    /// The completed reversals and refunds of any of `originals`, oldest first, as a read to send in a
    /// batch (`SQLExecutor.fetch`).
    package static func givenBack(originals: [String]) -> SQLRead<[SettlementRecord]> {
        guard !originals.isEmpty else { return .known([]) }
        return SQLRead(
            """
            SELECT document, state, reversed_by FROM settlements WHERE original_id IN (\(placeholders(originals.count))) AND state = 'completed'
            ORDER BY created_at, id
            """, originals.map { .text($0) }
        ) { try $0.map(decode) }
    }

    package static func markReversed(_ id: String, by reversal: String, in db: any SQLExecutor) throws {
        try db.execute("UPDATE settlements SET reversed_by = ? WHERE id = ?", [.text(reversal), .text(id)])
    }

    package static func decode(_ row: SQLRow) throws -> SettlementRecord {
        var record = try YibaoJSON.decodeStored(SettlementRecord.self, from: try row.string("document"))
        record.state = try row.enumeration("state")
        record.reversedBy = try row.optionalString("reversed_by")
        return record
    }
}
