import YibaoCore

/// Catalogue items per region, and policies per region × insurance type × year.
package enum CatalogueRepository {
    /// Rows per multi-row upsert statement.
    package static let rowsPerStatement = 100

    /// Inserts or replaces items; returns how many were new.
    package static func upsert(_ items: [CatalogueItem], now: Instant, in db: any SQLExecutor) throws -> Int {
        var created = 0
        var regions = Set<RegionCode>()
        for chunk in stride(from: 0, to: items.count, by: rowsPerStatement).map({ Array(items[$0..<min($0 + rowsPerStatement, items.count)]) }) {
            let keys = chunk.map { "\($0.region.value)|\($0.code)" }
            let pairs = placeholders(chunk.count, "(?, ?)")
            let existing = try db.query(
                "SELECT region, code FROM catalogue_items WHERE (region, code) IN (VALUES \(pairs))",
                chunk.flatMap { [SQLValue.text($0.region.value), .text($0.code)] }
            ).map { "\(try $0.string("region"))|\(try $0.string("code"))" }
            created += Set(keys).subtracting(existing).count
            let rows = placeholders(chunk.count, "(?, ?, ?, ?, ?, ?, ?, ?, ?)")
            try db.execute(
                """
                INSERT INTO catalogue_items (region, code, name, specification, category, item_class, price_cap, first_self_pay_bp, updated_at)
                VALUES \(rows)
                ON CONFLICT (region, code) DO UPDATE SET name = excluded.name, specification = excluded.specification,
                category = excluded.category, item_class = excluded.item_class, price_cap = excluded.price_cap,
                first_self_pay_bp = excluded.first_self_pay_bp, updated_at = excluded.updated_at
                """,
                chunk.flatMap { item -> [SQLValue] in
                    [
                        .text(item.region.value), .text(item.code), .text(item.name), .text(item.specification),
                        .text(item.category.rawValue), .text(item.itemClass.rawValue), .money(item.priceCap),
                        .integer(item.firstSelfPayRatio.basisPoints), .instant(now),
                    ]
                }
            )
            regions.formUnion(chunk.map(\.region))
        }
        for region in regions { try ReferenceVersions.bump("catalogue:\(region)", in: db) }
        return created
    }

    package static func items(region: RegionCode, in db: any SQLExecutor) throws -> [CatalogueItem] {
        try db.query(
            "SELECT region, code, name, specification, category, item_class, price_cap, first_self_pay_bp FROM catalogue_items WHERE region = ?",
            [.text(region.value)]
        ).map(decode)
    }

    package static func decode(_ row: SQLRow) throws -> CatalogueItem {
        guard let region = RegionCode(try row.string("region")) else { throw StoreError.decoding("catalogue region") }
        return CatalogueItem(
            region: region, code: try row.string("code"), name: try row.string("name"), specification: try row.string("specification"),
            category: try row.enumeration("category"), itemClass: try row.enumeration("item_class"), priceCap: try row.optionalMoney("price_cap"),
            firstSelfPayRatio: Ratio(basisPoints: try row.int64("first_self_pay_bp"))
        )
    }

    package static func count(region: RegionCode?, in db: any SQLExecutor) throws -> Int64 {
        if let region {
            return try db.queryOne("SELECT COUNT(*) AS n FROM catalogue_items WHERE region = ?", [.text(region.value)])?.int64("n") ?? 0
        }
        return try db.queryOne("SELECT COUNT(*) AS n FROM catalogue_items", [])?.int64("n") ?? 0
    }
}

package enum PolicyRepository {
    package static func save(_ policy: Policy, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO policies (region, insurance_type, year, document, updated_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (region, insurance_type, year) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at
            """,
            [.text(policy.region.value), .text(policy.insuranceType.rawValue), .int(policy.year), .text(try YibaoJSON.string(policy)), .instant(now)]
        )
        try ReferenceVersions.bump("policies", in: db)
    }

    package static func find(region: RegionCode, type: InsuranceType, year: Int, in db: any SQLExecutor) throws -> Policy? {
        try db.queryOne(
            "SELECT document FROM policies WHERE region = ? AND insurance_type = ? AND year = ?",
            [.text(region.value), .text(type.rawValue), .int(year)]
        ).map { try YibaoJSON.decode(Policy.self, from: try $0.string("document")) }
    }

    package static func all(in db: any SQLExecutor) throws -> [Policy] {
        try db.query("SELECT document FROM policies ORDER BY region, insurance_type, year", []).map {
            try YibaoJSON.decode(Policy.self, from: try $0.string("document"))
        }
    }
}

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
