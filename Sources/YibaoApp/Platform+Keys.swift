import YibaoCore
import YibaoStore

/// What a key rotation re-encrypted.
public struct RotationReport: Sendable, Hashable, Codable {
    /// The key now sealing new values.
    public var currentKey: String
    /// Values re-sealed, per table column.
    public var resealed: [String: Int]
    /// Values still under another key (0 after a completed rotation).
    public var remaining: Int
}

extension Platform {
    /// Rows re-encrypted per transaction.
    public static let rotationBatchSize = 500

    /// The sealed columns: table, primary key (an expression for a composite one, as the seal's row names it),
    /// column, and the field name its seal is bound to.
    static let sealedColumns: [(table: String, key: String, column: String, field: String)] = [
        ("people", "number", "name_cipher", "people.name"),
        ("people", "number", "id_number_cipher", "people.id_number"),
        ("people", "number", "phone_cipher", "people.phone"),
        ("patients", "person_number", "totp_secret_cipher", "patients.totp_secret"),
        ("devices", "id", "secret_cipher", "devices.secret"),
        ("institution_keys", "key_id", "secret_cipher", "institution_keys.secret"),
        ("staff_members", "institution_code || '/' || name", "totp_secret_cipher", "staff_members.totp_secret"),
        ("national_registrations", "id", "diagnoses_cipher", "national_registrations.diagnoses"),
    ]

    /// Re-seals every personal value and secret that is not under the cipher's current key, in small
    /// transactions, while the platform keeps serving (old keys stay readable until this completes).
    public func resealUnderCurrentKey(actor: String = "system") async throws -> RotationReport {
        let cipher = self.cipher
        let current = cipher.currentKeyID
        var resealed: [String: Int] = [:]
        for column in Platform.sealedColumns {
            var after = ""
            while true {
                let start = after
                let (count, last): (Int, String?) = try await write { db, _ in
                    let rows = try db.query(
                        """
                        SELECT \(column.key) AS row_key, \(column.column) AS sealed FROM \(column.table)
                        WHERE \(column.key) > ? ORDER BY \(column.key) LIMIT \(Platform.rotationBatchSize)
                        """,
                        [.text(start)]
                    )
                    var count = 0
                    for row in rows {
                        guard let sealed = try row.optionalString("sealed"), PersonalDataCipher.keyID(of: sealed) != current else { continue }
                        let key = try row.string("row_key")
                        let plain = try cipher.open(sealed, field: column.field, row: key)
                        try db.execute(
                            "UPDATE \(column.table) SET \(column.column) = ? WHERE \(column.key) = ?",
                            [.text(cipher.seal(plain, field: column.field, row: key)), .text(key)]
                        )
                        count += 1
                    }
                    if column.table == "people" && !rows.isEmpty {
                        try db.execute(
                            "UPDATE people SET key_id = ? WHERE number >= ? AND number <= ?",
                            [.text(current), .text(try rows[0].string("row_key")), .text(try rows[rows.count - 1].string("row_key"))]
                        )
                    }
                    return (count, try rows.last?.string("row_key"))
                }
                resealed[column.table + "." + column.column, default: 0] += count
                guard let last else { break }
                after = last
            }
        }
        let remaining = try await sealedUnderOtherKeys()
        try await audit(actor: actor, action: "keys.rotate", subject: "keys", detail: ["current": current, "remaining": "\(remaining)"])
        return RotationReport(currentKey: current, resealed: resealed, remaining: remaining)
    }

    /// How many sealed values are under a key other than the current one.
    public func sealedUnderOtherKeys() async throws -> Int {
        let current = cipher.currentKeyID
        return try await read { db, _ in
            var total = 0
            for column in Platform.sealedColumns {
                total += Int(
                    try db.queryOne(
                        "SELECT COUNT(*) AS n FROM \(column.table) WHERE \(column.column) IS NOT NULL AND \(column.column) NOT LIKE ?",
                        [.text(current + ":%")]
                    )?.int64("n") ?? 0
                )
            }
            return total
        }
    }
}
