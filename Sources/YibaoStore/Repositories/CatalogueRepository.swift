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
