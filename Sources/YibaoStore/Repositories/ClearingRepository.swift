import YibaoCore

/// What reconciliation and clearing read and write: the completed settlements of an institution by
/// the time they completed, clearings, the settlements each carries (one clearing per settlement, kept
/// by the primary key) and their deductions.
package enum ClearingRepository {
    /// The settlements, refunds and reversals an institution completed in a period, oldest first.
    package static func statementRows(institution: String, period: StatementPeriod, in db: any SQLExecutor) throws -> [StatementRow] {
        try db.query(
            """
            SELECT id, kind, visit_id, person_number, insurance_type, category, total, fund_total, account_paid, cash_paid FROM settlements
            WHERE institution_code = ? AND state = 'completed' AND completed_at >= ? AND completed_at < ? ORDER BY completed_at, id
            """, [.text(institution), .instant(period.start), .instant(period.end)]
        ).map { row in
            let category: MedicalCategory = try row.enumeration("category")
            let kind: SettlementKind = try row.enumeration("kind")
            return StatementRow(
                settlementId: try row.string("id"), visitId: try row.string("visit_id"), personNumber: try row.string("person_number"),
                insuranceType: try row.enumeration("insurance_type"), clearingType: ClearingType(category), total: try row.money("total"),
                fund: try row.money("fund_total"), account: try row.money("account_paid"), cash: try row.money("cash_paid"),
                refund: kind != .settlement)
        }
    }

    /// Locks the institution's row: applications of one institution take turns.
    package static func lockInstitution(_ code: String, in db: any SQLExecutor) throws -> Institution? {
        try db.queryOne("SELECT code, name, region, level, kind, payout_account FROM institutions WHERE code = ? FOR UPDATE", [.text(code)])
            .map(InstitutionRepository.decode)
    }

    /// An open (applied, approved or paying) clearing of the institution, insurance type and period.
    package static func open(institution: String, insuranceType: InsuranceType, period: StatementPeriod, in db: any SQLExecutor) throws -> Clearing? {
        try db.queryOne(
            """
            SELECT * FROM clearings WHERE institution_code = ? AND insurance_type = ? AND period_from = ? AND period_through = ?
            AND state IN ('applied', 'approved', 'paying') LIMIT 1
            """, [.text(institution), .text(insuranceType.rawValue), .text(period.from.description), .text(period.through.description)]
        ).map { try decode($0, deductions: []) }
    }

    /// Inserts a new clearing and attaches to it every completed, not yet cleared settlement, refund and
    /// reversal of the institution and insurance type that completed before `before`. Returns the count,
    /// the medical-fee total and what is owed for them.
    package static func insert(_ clearing: Clearing, before: Instant, in db: any SQLExecutor) throws -> (count: Int, total: Money, owed: Money) {
        try db.execute(
            """
            INSERT INTO clearings (id, institution_code, insurance_type, period_from, period_through, state, started_by, item_count, total,
            claimed, approved_by, payout_account, bank_reference, last_failure, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, NULL, NULL, NULL, NULL, ?, ?)
            """,
            [
                .text(clearing.id), .text(clearing.institutionCode), .text(clearing.insuranceType.rawValue), .text(clearing.period.from.description),
                .text(clearing.period.through.description), .text(clearing.state.rawValue), .text(clearing.startedBy), .instant(clearing.createdAt),
                .instant(clearing.updatedAt),
            ])
        try db.execute(
            """
            INSERT INTO clearing_items (settlement_id, clearing_id, kind, region, total, owed, completed_at)
            SELECT s.id, ?, s.kind, s.region, s.total, s.fund_total + s.account_paid, s.completed_at FROM settlements s
            WHERE s.institution_code = ? AND s.insurance_type = ? AND s.state = 'completed' AND s.completed_at < ?
            AND NOT EXISTS (SELECT 1 FROM clearing_items c WHERE c.settlement_id = s.id)
            """,
            [.text(clearing.id), .text(clearing.institutionCode), .text(clearing.insuranceType.rawValue), .instant(before)])
        let sums = try db.queryOne(
            """
            SELECT COUNT(*) AS n, CAST(COALESCE(SUM(total), 0) AS BIGINT) AS total, CAST(COALESCE(SUM(owed), 0) AS BIGINT) AS owed
            FROM clearing_items WHERE clearing_id = ?
            """, [.text(clearing.id)])
        let result = (count: Int(try sums?.int64("n") ?? 0), total: try sums?.money("total") ?? .zero, owed: try sums?.money("owed") ?? .zero)
        try db.execute(
            "UPDATE clearings SET item_count = ?, total = ?, claimed = ? WHERE id = ?",
            [.int(result.count), .money(result.total), .money(result.owed), .text(clearing.id)])
        return result
    }

    /// Writes a clearing's state and decisions.
    package static func update(_ clearing: Clearing, in db: any SQLExecutor) throws {
        try db.execute(
            """
            UPDATE clearings SET state = ?, approved_by = ?, payout_account = ?, bank_reference = ?, last_failure = ?, updated_at = ?
            WHERE id = ?
            """,
            [
                .text(clearing.state.rawValue), .text(clearing.approvedBy), .text(clearing.payoutAccount), .text(clearing.bankReference),
                .text(clearing.lastFailure), .instant(clearing.updatedAt), .text(clearing.id),
            ])
    }

    /// Frees a cancelled clearing's settlements for a later application.
    package static func release(_ clearingID: String, in db: any SQLExecutor) throws {
        try db.execute("DELETE FROM clearing_items WHERE clearing_id = ?", [.text(clearingID)])
    }

    /// A clearing with its deductions (of one institution when `institution` is given).
    package static func find(id: String, institution: String?, lock: Bool, in db: any SQLExecutor) throws -> Clearing? {
        let filter = institution == nil ? "" : " AND institution_code = ?"
        guard
            let row = try db.queryOne(
                "SELECT * FROM clearings WHERE id = ?\(filter)\(lock ? " FOR UPDATE" : "")", [.text(id)] + (institution.map { [.text($0)] } ?? []))
        else { return nil }
        return try decode(row, deductions: deductions(of: id, in: db))
    }

    /// Clearings, newest first, filtered by institution and state.
    package static func list(institution: String?, state: ClearingState?, in db: any SQLExecutor) throws -> [Clearing] {
        var clauses: [String] = []
        var arguments: [SQLValue] = []
        if let institution {
            clauses.append("institution_code = ?")
            arguments.append(.text(institution))
        }
        if let state {
            clauses.append("state = ?")
            arguments.append(.text(state.rawValue))
        }
        let filter = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        let rows = try db.query("SELECT * FROM clearings\(filter) ORDER BY created_at DESC, id LIMIT 500", arguments)
        return try rows.map { row in try decode(row, deductions: deductions(of: try row.string("id"), in: db)) }
    }

    /// The items of a clearing, by settlement id.
    package static func items(of clearingID: String, in db: any SQLExecutor) throws -> [ClearingItem] {
        try db.query(
            "SELECT settlement_id, kind, region, total, owed, completed_at FROM clearing_items WHERE clearing_id = ? ORDER BY completed_at, settlement_id",
            [.text(clearingID)]
        ).map(decodeItem)
    }

    /// One item of a clearing.
    package static func item(_ settlementID: String, of clearingID: String, in db: any SQLExecutor) throws -> ClearingItem? {
        try db.queryOne(
            "SELECT settlement_id, kind, region, total, owed, completed_at FROM clearing_items WHERE clearing_id = ? AND settlement_id = ?",
            [.text(clearingID), .text(settlementID)]
        ).map(decodeItem)
    }

    /// Records a deduction.
    package static func insert(_ deduction: ClearingDeduction, clearing: String, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO clearing_deductions (id, clearing_id, settlement_id, amount, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                .text(deduction.id), .text(clearing), .text(deduction.settlementId), .money(deduction.amount), .text(deduction.reason),
                .text(deduction.by), .instant(deduction.at),
            ])
    }

    static func deductions(of clearingID: String, in db: any SQLExecutor) throws -> [ClearingDeduction] {
        try db.query(
            "SELECT id, settlement_id, amount, reason, created_by, created_at FROM clearing_deductions WHERE clearing_id = ? ORDER BY created_at, id",
            [.text(clearingID)]
        ).map { row in
            ClearingDeduction(
                id: try row.string("id"), settlementId: try row.optionalString("settlement_id"), amount: try row.money("amount"),
                reason: try row.string("reason"), by: try row.string("created_by"), at: try row.instant("created_at"))
        }
    }

    static func decodeItem(_ row: SQLRow) throws -> ClearingItem {
        guard let region = RegionCode(try row.string("region")) else { throw StoreError.decoding("clearing item region") }
        return ClearingItem(
            settlementId: try row.string("settlement_id"), kind: try row.enumeration("kind"), region: region, total: try row.money("total"),
            owed: try row.money("owed"), completedAt: try row.instant("completed_at"))
    }

    static func decode(_ row: SQLRow, deductions: [ClearingDeduction]) throws -> Clearing {
        guard let from = CivilDate(try row.string("period_from")), let through = CivilDate(try row.string("period_through")),
            let period = try? StatementPeriod(from: from, through: through)
        else { throw StoreError.decoding("clearing period") }
        return Clearing(
            id: try row.string("id"), institutionCode: try row.string("institution_code"), insuranceType: try row.enumeration("insurance_type"),
            period: period, state: try row.enumeration("state"), startedBy: try row.string("started_by"), itemCount: Int(try row.int64("item_count")),
            total: try row.money("total"), claimed: try row.money("claimed"), deductions: deductions,
            approvedBy: try row.optionalString("approved_by"),
            payoutAccount: try row.optionalString("payout_account"), bankReference: try row.optionalString("bank_reference"),
            lastFailure: try row.optionalString("last_failure"), createdAt: try row.instant("created_at"), updatedAt: try row.instant("updated_at"))
    }

    // MARK: Reconciliations run

    package static func insertReconciliation(_ record: ReconciliationRecord, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO reconciliations (id, institution_code, kind, period_from, period_through, balanced, summary, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(record.id), .text(record.institutionCode), .text(record.kind), .text(record.period.from.description),
                .text(record.period.through.description), .int(record.balanced ? 1 : 0), .text(record.summary), .instant(record.createdAt),
            ])
    }

    package static func reconciliations(institution: String?, in db: any SQLExecutor) throws -> [ReconciliationRecord] {
        let rows =
            try institution.map {
                try db.query("SELECT * FROM reconciliations WHERE institution_code = ? ORDER BY created_at DESC, id LIMIT 500", [.text($0)])
            } ?? db.query("SELECT * FROM reconciliations ORDER BY created_at DESC, id LIMIT 500", [])
        return try rows.map { row in
            guard let from = CivilDate(try row.string("period_from")), let through = CivilDate(try row.string("period_through")),
                let period = try? StatementPeriod(from: from, through: through)
            else { throw StoreError.decoding("reconciliation period") }
            return ReconciliationRecord(
                id: try row.string("id"), institutionCode: try row.string("institution_code"), kind: try row.string("kind"), period: period,
                balanced: try row.int64("balanced") == 1, summary: try row.string("summary"), createdAt: try row.instant("created_at"))
        }
    }
}
