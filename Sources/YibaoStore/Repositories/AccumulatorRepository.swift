import YibaoCore

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
