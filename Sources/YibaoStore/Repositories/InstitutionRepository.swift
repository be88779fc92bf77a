import YibaoCore

/// Institutions and their API keys (stored as SHA-256 of the secret).
package enum InstitutionRepository {
    package static func upsert(_ institution: Institution, now: Instant, in db: any SQLExecutor) throws -> Bool {
        let existed = try db.queryOne("SELECT code FROM institutions WHERE code = ?", [.text(institution.code)]) != nil
        try db.execute(
            """
            INSERT INTO institutions (code, name, region, level, kind, payout_account, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (code) DO UPDATE SET name = excluded.name, region = excluded.region, level = excluded.level,
            kind = excluded.kind, payout_account = excluded.payout_account, updated_at = excluded.updated_at
            """,
            [
                .text(institution.code), .text(institution.name), .text(institution.region.value), .text(institution.level.rawValue),
                .text(institution.kind.rawValue), .text(institution.payoutAccount), .instant(now), .instant(now),
            ]
        )
        try ReferenceVersions.bump("institutions", in: db)
        return !existed
    }

    package static func find(code: String, in db: any SQLExecutor) throws -> Institution? {
        try db.queryOne("SELECT code, name, region, level, kind, payout_account FROM institutions WHERE code = ?", [.text(code)]).map(decode)
    }

    package static func all(in db: any SQLExecutor) throws -> [Institution] {
        try db.query("SELECT code, name, region, level, kind, payout_account FROM institutions ORDER BY code", []).map(decode)
    }

    package static func decode(_ row: SQLRow) throws -> Institution {
        guard let region = RegionCode(try row.string("region")) else { throw StoreError.decoding("institution region") }
        return Institution(
            code: try row.string("code"), name: try row.string("name"), region: region, level: try row.enumeration("level"),
            kind: try row.enumeration("kind"), payoutAccount: try row.optionalString("payout_account")
        )
    }

    package static func insertKey(
        keyID: String, institution: String, secretHash: String, secretCipher: String, now: Instant, in db: any SQLExecutor
    ) throws {
        try db.execute(
            """
            INSERT INTO institution_keys (key_id, institution_code, secret_hash, secret_cipher, created_at, expires_at, revoked_at)
            VALUES (?, ?, ?, ?, ?, NULL, NULL)
            """,
            [.text(keyID), .text(institution), .text(secretHash), .text(secretCipher), .instant(now)]
        )
    }

    /// Sets every other live key of the institution to expire at `expiry` (key rotation with overlap).
    package static func expireOtherKeys(institution: String, except keyID: String, at expiry: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            UPDATE institution_keys SET expires_at = ? WHERE institution_code = ? AND key_id <> ? AND revoked_at IS NULL
            AND (expires_at IS NULL OR expires_at > ?)
            """,
            [.instant(expiry), .text(institution), .text(keyID), .instant(expiry)]
        )
    }

    package struct StoredKey: Sendable {
        package let keyID: String
        package let institutionCode: String
        package let secretHash: String
        package let secretCipher: String?
        package let expiresAt: Instant?
        package let revokedAt: Instant?
    }

    package static func key(_ keyID: String, in db: any SQLExecutor) throws -> StoredKey? {
        try db.queryOne(
            "SELECT key_id, institution_code, secret_hash, secret_cipher, expires_at, revoked_at FROM institution_keys WHERE key_id = ?",
            [.text(keyID)]
        ).map { row in
            StoredKey(
                keyID: try row.string("key_id"), institutionCode: try row.string("institution_code"),
                secretHash: try row.string("secret_hash"), secretCipher: try row.optionalString("secret_cipher"),
                expiresAt: try row.optionalInstant("expires_at"),
                revokedAt: try row.optionalInstant("revoked_at")
            )
        }
    }
}
