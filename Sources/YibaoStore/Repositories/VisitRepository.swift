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

package enum AccumulatorRepository {
    /// Reads (creating at zero, and locking on PostgreSQL) a person's accumulators for a year and pool.
    package static func lock(person: String, year: Int, pool: BenefitPoolKind, in db: any SQLExecutor) throws -> PoolAccumulators {
        try db.execute(
            """
            INSERT INTO accumulators (person_number, year, pool, deductible_paid, basic_fund_paid, above_cap_amount, above_cap_fund_paid,
            in_scope_total, visits, visits_by_level, plan_deductible_met, plan_paid) VALUES (?, ?, ?, 0, 0, 0, 0, 0, 0, '', 0, 0)
            ON CONFLICT (person_number, year, pool) DO NOTHING
            """,
            [.text(person), .int(year), .text(pool.rawValue)]
        )
        guard let row = try db.queryOne(select + " FOR UPDATE", [.text(person), .int(year), .text(pool.rawValue)]) else {
            throw StoreError.decoding("accumulators row vanished")
        }
        return try decode(row)
    }

    /// Reads without locking; zero when none.
    package static func read(person: String, year: Int, pool: BenefitPoolKind, in db: any SQLExecutor) throws -> PoolAccumulators {
        try db.queryOne(select, [.text(person), .int(year), .text(pool.rawValue)]).map(decode) ?? .zero
    }

    /// Reads under lock (PostgreSQL) without creating: zero when the person has none yet for the year.
    /// The settlement path serialises a person's settlements on their personal account's row (locked
    /// first), so a row created by the write set's upsert is never raced.
    package static func lockIfPresent(person: String, year: Int, pool: BenefitPoolKind, in db: any SQLExecutor) throws -> PoolAccumulators {
        try db.fetch(lockIfPresent(person: person, year: year, pool: pool))
    }

    /// The read of `lockIfPresent(person:year:pool:in:)`, to send in a batch.
    package static func lockIfPresent(person: String, year: Int, pool: BenefitPoolKind) -> SQLRead<PoolAccumulators> {
        SQLRead(select + " FOR UPDATE", [.text(person), .int(year), .text(pool.rawValue)]) { try $0.first.map(decode) ?? .zero }
    }

    /// Writes accumulators as they are after a transaction (created if new). Every value comes from
    /// `PoolAccumulators.applying`, which refuses (`would_go_negative`) what would go below zero.
    package static func upsertStatement(_ rows: [WriteSet.Accumulators]) -> SQLStatement {
        precondition(rows.allSatisfy { $0.value.isNonNegative }, "accumulators never go below zero")
        return SQLStatement(
            """
            INSERT INTO accumulators (person_number, year, pool, deductible_paid, basic_fund_paid, above_cap_amount, above_cap_fund_paid,
            in_scope_total, visits, visits_by_level, plan_deductible_met, plan_paid)
            VALUES \(placeholders(rows.count, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
            ON CONFLICT (person_number, year, pool) DO UPDATE SET deductible_paid = excluded.deductible_paid,
            basic_fund_paid = excluded.basic_fund_paid, above_cap_amount = excluded.above_cap_amount,
            above_cap_fund_paid = excluded.above_cap_fund_paid, in_scope_total = excluded.in_scope_total, visits = excluded.visits,
            visits_by_level = excluded.visits_by_level, plan_deductible_met = excluded.plan_deductible_met, plan_paid = excluded.plan_paid
            """,
            rows.flatMap { row -> [SQLValue] in
                let value = row.value
                return [
                    .text(row.person), .int(row.year), .text(row.pool.rawValue), .money(value.deductiblePaid), .money(value.basicFundPaid),
                    .money(value.aboveCapAmount), .money(value.aboveCapFundPaid), .money(value.inScopeTotal), .integer(value.visits),
                    .text(value.visitsByLevel.encoded), .money(value.planDeductibleMet), .money(value.planPaid),
                ]
            })
    }

    package static let select = """
        SELECT deductible_paid, basic_fund_paid, above_cap_amount, above_cap_fund_paid, in_scope_total, visits, visits_by_level,
        plan_deductible_met, plan_paid FROM accumulators WHERE person_number = ? AND year = ? AND pool = ?
        """

    package static func decode(_ row: SQLRow) throws -> PoolAccumulators {
        guard let byLevel = LevelCounts(encoded: try row.string("visits_by_level")) else { throw StoreError.decoding("accumulators visits_by_level") }
        return PoolAccumulators(
            deductiblePaid: try row.money("deductible_paid"), basicFundPaid: try row.money("basic_fund_paid"),
            aboveCapAmount: try row.money("above_cap_amount"), aboveCapFundPaid: try row.money("above_cap_fund_paid"),
            inScopeTotal: try row.money("in_scope_total"), visits: try row.int64("visits"), visitsByLevel: byLevel,
            planDeductibleMet: try row.money("plan_deductible_met"), planPaid: try row.money("plan_paid")
        )
    }
}

/// Idempotency keys: the first request with a key claims it in the same transaction as the record it
/// creates; a retry finds the claim and gets the first answer. A concurrent retry waits on the claim's
/// row (PostgreSQL) or the single writer (SQLite), so it never runs the operation twice.
package enum IdempotencyRepository {
    package enum Claim: Sendable {
        /// The key is new: run the operation, then `complete` the claim.
        case claimed
        /// The key was used before for the same request: the result to answer with.
        case replay(kind: String, id: String)
    }

    /// Claims a key whose result is recorded later (`complete`).
    package static func claim(scope: String, key: String, fingerprint: String, now: Instant, in db: any SQLExecutor) throws -> Claim {
        try claim(scope: scope, key: key, fingerprint: fingerprint, kind: "", id: "", now: now, in: db)
    }

    /// Claims a key for a result whose id is decided before the work runs (a settlement's id): one
    /// statement instead of a claim and a completion. Rolled back with the work when it is refused.
    package static func claim(
        scope: String, key: String, fingerprint: String, kind: String, id: String, now: Instant, in db: any SQLExecutor
    ) throws -> Claim {
        let inserted = try db.execute(
            """
            INSERT INTO idempotency_keys (scope, idempotency_key, fingerprint, result_kind, result_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, idempotency_key) DO NOTHING
            """,
            [.text(scope), .text(key), .text(fingerprint), .text(kind), .text(id), .instant(now)]
        )
        if inserted == 1 { return .claimed }
        guard
            let row = try db.queryOne(
                "SELECT fingerprint, result_kind, result_id FROM idempotency_keys WHERE scope = ? AND idempotency_key = ?",
                [.text(scope), .text(key)]
            )
        else { throw StoreError.conflict("idempotency key vanished") }
        guard try row.string("fingerprint") == fingerprint else {
            throw Refusal(.idempotencyKeyReused, "this Idempotency-Key was already used for a different request; use a new key for a new request")
        }
        return .replay(kind: try row.string("result_kind"), id: try row.string("result_id"))
    }

    package static func complete(scope: String, key: String, kind: String, id: String, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE idempotency_keys SET result_kind = ?, result_id = ? WHERE scope = ? AND idempotency_key = ?",
            [.text(kind), .text(id), .text(scope), .text(key)]
        )
    }
}
