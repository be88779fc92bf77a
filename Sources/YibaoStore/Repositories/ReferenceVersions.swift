import YibaoCore

/// A counter per kind of reference data, bumped on every change, so that each server instance's
/// in-memory cache notices changes made through another instance.
package enum ReferenceVersions {
    package static func bump(_ name: String, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO reference_versions (name, version) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET version = reference_versions.version + 1",
            [.text(name)]
        )
    }

    package static func all(in db: any SQLExecutor) throws -> [String: Int64] {
        var versions: [String: Int64] = [:]
        for row in try db.query("SELECT name, version FROM reference_versions", []) {
            versions[try row.string("name")] = try row.int64("version")
        }
        return versions
    }
}
