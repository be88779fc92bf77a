import YibaoCore

/// Institution staff accounts and their sessions (stored as SHA-256 of the token).
package enum StaffRepository {
    /// A staff member's sign-in record.
    package struct Credentials: Sendable {
        package let member: StaffMember
        package let passwordHash: String
        package let totpSecret: String
        package let totpLastStep: Int64
        package let lockedUntil: Instant?
    }

    private static let memberColumns = "institution_code, name, display_name, role, created_at, disabled_at"

    package static func insert(
        _ member: StaffMember, passwordHash: String, totpSecretCipher: String, in db: any SQLExecutor
    ) throws {
        do {
            try db.execute(
                """
                INSERT INTO staff_members (institution_code, name, display_name, role, password_hash, totp_secret_cipher, totp_last_step,
                failed_sign_ins, locked_until, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, NULL, ?, NULL)
                """,
                [
                    .text(member.institutionCode), .text(member.name), .text(member.displayName), .text(member.role.rawValue), .text(passwordHash),
                    .text(totpSecretCipher), .instant(member.createdAt),
                ]
            )
        } catch StoreError.uniqueViolation {
            throw Refusal(.alreadyExists, "this institution already has a staff member named \(member.name)")
        }
    }

    package static func members(institution: String, in db: any SQLExecutor) throws -> [StaffMember] {
        try db.query("SELECT \(memberColumns) FROM staff_members WHERE institution_code = ? ORDER BY name", [.text(institution)]).map(decode)
    }

    package static func member(institution: String, name: String, in db: any SQLExecutor) throws -> StaffMember? {
        try db.queryOne(
            "SELECT \(memberColumns) FROM staff_members WHERE institution_code = ? AND name = ?", [.text(institution), .text(name)]
        ).map(decode)
    }

    package static func credentials(institution: String, name: String, cipher: PersonalDataCipher, in db: any SQLExecutor) throws -> Credentials? {
        try db.queryOne(
            """
            SELECT \(memberColumns), password_hash, totp_secret_cipher, totp_last_step, locked_until FROM staff_members
            WHERE institution_code = ? AND name = ?
            """,
            [.text(institution), .text(name)]
        ).map { row in
            Credentials(
                member: try decode(row), passwordHash: try row.string("password_hash"),
                totpSecret: try cipher.open(try row.string("totp_secret_cipher"), field: "staff_members.totp_secret", row: institution + "/" + name),
                totpLastStep: try row.int64("totp_last_step"), lockedUntil: try row.optionalInstant("locked_until"))
        }
    }

    package static func countFailure(institution: String, name: String, in db: any SQLExecutor) throws -> Int64 {
        try db.queryOne(
            "UPDATE staff_members SET failed_sign_ins = failed_sign_ins + 1 WHERE institution_code = ? AND name = ? RETURNING failed_sign_ins",
            [.text(institution), .text(name)]
        )?.int64("failed_sign_ins") ?? 0
    }

    package static func lock(institution: String, name: String, until: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE staff_members SET locked_until = ? WHERE institution_code = ? AND name = ?", [.instant(until), .text(institution), .text(name)])
    }

    /// Records a successful sign-in unless the code's step was already used (a concurrent sign-in with
    /// the same code): true when this sign-in took the step.
    package static func recordSuccess(institution: String, name: String, totpStep: Int64, in db: any SQLExecutor) throws -> Bool {
        try db.queryOne(
            """
            UPDATE staff_members SET failed_sign_ins = 0, locked_until = NULL, totp_last_step = ?
            WHERE institution_code = ? AND name = ? AND totp_last_step < ? AND disabled_at IS NULL RETURNING name
            """,
            [.integer(totpStep), .text(institution), .text(name), .integer(totpStep)]
        ) != nil
    }

    package static func disable(institution: String, name: String, now: Instant, in db: any SQLExecutor) throws -> Bool {
        let changed =
            try db.queryOne(
                "UPDATE staff_members SET disabled_at = ? WHERE institution_code = ? AND name = ? AND disabled_at IS NULL RETURNING name",
                [.instant(now), .text(institution), .text(name)]
            ) != nil
        try db.execute(
            "UPDATE staff_sessions SET revoked_at = ? WHERE institution_code = ? AND name = ? AND revoked_at IS NULL",
            [.instant(now), .text(institution), .text(name)])
        return changed
    }

    package static func insertSession(
        tokenHash: String, id: String, institution: String, name: String, now: Instant, expires: Instant, in db: any SQLExecutor
    ) throws {
        try db.execute(
            """
            INSERT INTO staff_sessions (token_hash, id, institution_code, name, created_at, expires_at, revoked_at)
            VALUES (?, ?, ?, ?, ?, ?, NULL)
            """,
            [.text(tokenHash), .text(id), .text(institution), .text(name), .instant(now), .instant(expires)]
        )
    }

    /// The live session of a token hash: not expired, not revoked, the member not disabled.
    package static func session(tokenHash: String, now: Instant, in db: any SQLExecutor) throws -> StaffSession? {
        guard
            let row = try db.queryOne(
                """
                SELECT s.id, s.expires_at, m.name, m.display_name, m.role, i.code, i.name AS institution_name, i.region, i.level, i.kind,
                i.payout_account FROM staff_sessions s
                JOIN staff_members m ON m.institution_code = s.institution_code AND m.name = s.name
                JOIN institutions i ON i.code = s.institution_code
                WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND m.disabled_at IS NULL
                """,
                [.text(tokenHash), .instant(now)]
            )
        else { return nil }
        guard let region = RegionCode(try row.string("region")) else { throw StoreError.decoding("institution region") }
        let institution = Institution(
            code: try row.string("code"), name: try row.string("institution_name"), region: region, level: try row.enumeration("level"),
            kind: try row.enumeration("kind"), payoutAccount: try row.optionalString("payout_account"))
        return StaffSession(
            id: try row.string("id"), institution: institution, name: try row.string("name"), displayName: try row.string("display_name"),
            role: try row.enumeration("role"), expiresAt: try row.instant("expires_at"))
    }

    package static func revokeSession(id: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute("UPDATE staff_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [.instant(now), .text(id)])
    }

    private static func decode(_ row: SQLRow) throws -> StaffMember {
        StaffMember(
            institutionCode: try row.string("institution_code"), name: try row.string("name"), displayName: try row.string("display_name"),
            role: try row.enumeration("role"), createdAt: try row.instant("created_at"), disabledAt: try row.optionalInstant("disabled_at"))
    }
}
