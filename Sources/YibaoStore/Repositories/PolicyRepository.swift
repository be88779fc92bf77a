import YibaoCore

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
