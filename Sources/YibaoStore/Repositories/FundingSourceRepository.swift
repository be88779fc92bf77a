import YibaoCore

package enum FundingSourceRepository {
    package static let columns = "id, person_number, channel, kind, token, masked, bank, is_default"

    package static func insert(_ source: FundingSource, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO funding_sources (\(columns), created_at, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                .text(source.id), .text(source.personNumber), .text(source.channel), .text(source.kind.rawValue), .text(source.token),
                .text(source.masked), .text(source.bank), .bool(source.isDefault), .instant(now),
            ]
        )
    }

    package static func list(person: String, in db: any SQLExecutor) throws -> [FundingSource] {
        try db.query(
            "SELECT \(columns) FROM funding_sources WHERE person_number = ? AND removed_at IS NULL ORDER BY created_at, id", [.text(person)]
        ).map(decode)
    }

    package static func defaultSource(person: String, in db: any SQLExecutor) throws -> FundingSource? {
        try db.fetch(defaultSource(person: person))
    }

    package static func defaultSource(person: String) -> SQLRead<FundingSource?> {
        .one(
            "SELECT \(columns) FROM funding_sources WHERE person_number = ? AND removed_at IS NULL AND is_default = 1", [.text(person)],
            decode: decode)
    }

    package static func find(id: String, in db: any SQLExecutor) throws -> FundingSource? {
        try db.queryOne("SELECT \(columns) FROM funding_sources WHERE id = ?", [.text(id)]).map(decode)
    }

    /// A source of a person that is still bound (not removed).
    package static func bound(id: String, person: String, in db: any SQLExecutor) throws -> FundingSource? {
        try db.queryOne(
            "SELECT \(columns) FROM funding_sources WHERE id = ? AND person_number = ? AND removed_at IS NULL", [.text(id), .text(person)]
        ).map(decode)
    }

    package static func setDefault(id: String, person: String, in db: any SQLExecutor) throws -> Bool {
        guard
            try db.queryOne(
                "SELECT id FROM funding_sources WHERE id = ? AND person_number = ? AND removed_at IS NULL", [.text(id), .text(person)]
            ) != nil
        else { return false }
        try db.execute("UPDATE funding_sources SET is_default = 0 WHERE person_number = ?", [.text(person)])
        try db.execute("UPDATE funding_sources SET is_default = 1 WHERE id = ?", [.text(id)])
        return true
    }

    package static func remove(id: String, person: String, now: Instant, in db: any SQLExecutor) throws -> Bool {
        try db.execute(
            "UPDATE funding_sources SET removed_at = ?, is_default = 0 WHERE id = ? AND person_number = ? AND removed_at IS NULL",
            [.instant(now), .text(id), .text(person)]
        ) == 1
    }

    package static func decode(_ row: SQLRow) throws -> FundingSource {
        FundingSource(
            id: try row.string("id"), personNumber: try row.string("person_number"), channel: try row.string("channel"),
            kind: try row.enumeration("kind"), token: try row.string("token"), masked: try row.string("masked"), bank: try row.string("bank"),
            isDefault: try row.bool("is_default")
        )
    }
}
