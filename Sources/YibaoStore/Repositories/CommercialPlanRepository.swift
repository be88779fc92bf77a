import YibaoCore

/// Commercial plans (惠民保), one per region and year.
package enum CommercialPlanRepository {
    package static func save(_ plan: CommercialPlan, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO commercial_plans (region, year, id, document, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (region, year) DO UPDATE SET id = excluded.id, document = excluded.document, updated_at = excluded.updated_at
            """,
            [.text(plan.region.value), .int(plan.year), .text(plan.id), .text(try YibaoJSON.string(plan)), .instant(now)]
        )
        try ReferenceVersions.bump("plans", in: db)
    }

    package static func find(region: RegionCode, year: Int, in db: any SQLExecutor) throws -> CommercialPlan? {
        try db.queryOne("SELECT document FROM commercial_plans WHERE region = ? AND year = ?", [.text(region.value), .int(year)]).map {
            try YibaoJSON.decode(CommercialPlan.self, from: try $0.string("document"))
        }
    }

    package static func all(in db: any SQLExecutor) throws -> [CommercialPlan] {
        try db.query("SELECT document FROM commercial_plans ORDER BY region, year", []).map {
            try YibaoJSON.decode(CommercialPlan.self, from: try $0.string("document"))
        }
    }

    /// Whether a person is enrolled (and paid) in the plan of a year: the plan's premium completed.
    package static func covered(person: String, year: Int, in db: any SQLExecutor) throws -> Bool {
        try db.fetch(covered(person: person, year: year))
    }

    package static func covered(person: String, year: Int) -> SQLRead<Bool> {
        SQLRead(
            "SELECT 1 AS one FROM coverage WHERE person_number = ? AND kind = 'commercial_plan' AND period = ?", [.text(person), .text(String(year))]
        ) { !$0.isEmpty }
    }
}
