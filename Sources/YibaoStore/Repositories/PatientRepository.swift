import YibaoCore

/// Patients' sign-in records, sessions, SMS codes, devices, used codes and funding sources.
package enum PatientRepository {
    package struct Credentials: Sendable {
        package let personNumber: String
        package let passwordHash: String
        package let totpSecret: String
        package let totpLastStep: Int64
        let failedSignIns: Int64
        package let lockedUntil: Instant?
        package let authenticatorResetAt: Instant?
    }

    package static func insert(
        person: String, phoneLookup: String, passwordHash: String, totpSecretCipher: String, now: Instant, in db: any SQLExecutor
    ) throws {
        do {
            try db.execute(
                """
                INSERT INTO patients (person_number, phone_lookup, password_hash, totp_secret_cipher, totp_last_step, failed_sign_ins, locked_until,
                created_at, updated_at) VALUES (?, ?, ?, ?, 0, 0, NULL, ?, ?)
                """,
                [.text(person), .text(phoneLookup), .text(passwordHash), .text(totpSecretCipher), .instant(now), .instant(now)]
            )
        } catch StoreError.uniqueViolation {
            throw Refusal(.alreadyExists, "this person or phone is already registered; sign in instead")
        }
    }

    package static func credentials(phoneLookup: String, cipher: PersonalDataCipher, lock: Bool, in db: any SQLExecutor) throws -> Credentials? {
        try db.queryOne(
            """
            SELECT person_number, password_hash, totp_secret_cipher, totp_last_step, failed_sign_ins, locked_until, authenticator_reset_at FROM patients
            WHERE phone_lookup = ?\(lock ? " FOR UPDATE" : "")
            """,
            [.text(phoneLookup)]
        ).map { row in
            let person = try row.string("person_number")
            return Credentials(
                personNumber: person, passwordHash: try row.string("password_hash"),
                totpSecret: try cipher.open(try row.string("totp_secret_cipher"), field: "patients.totp_secret", row: person),
                totpLastStep: try row.int64("totp_last_step"), failedSignIns: try row.int64("failed_sign_ins"),
                lockedUntil: try row.optionalInstant("locked_until"), authenticatorResetAt: try row.optionalInstant("authenticator_reset_at")
            )
        }
    }

    /// The authenticator secret of a person, opened.
    package static func totpSecret(person: String, cipher: PersonalDataCipher, in db: any SQLExecutor) throws -> String? {
        try db.queryOne("SELECT totp_secret_cipher FROM patients WHERE person_number = ?", [.text(person)]).map {
            try cipher.open(try $0.string("totp_secret_cipher"), field: "patients.totp_secret", row: person)
        }
    }

    /// Replaces the password hash; sign-in failures and locks reset.
    package static func setPassword(person: String, hash: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE patients SET password_hash = ?, failed_sign_ins = 0, locked_until = NULL, updated_at = ? WHERE person_number = ?",
            [.text(hash), .instant(now), .text(person)])
    }

    /// Marks a patient's authenticator as reset by an operator; false when the person is not registered.
    package static func markAuthenticatorReset(person: String, now: Instant, in db: any SQLExecutor) throws -> Bool {
        try db.execute(
            "UPDATE patients SET authenticator_reset_at = ?, updated_at = ? WHERE person_number = ?", [.instant(now), .instant(now), .text(person)])
            == 1
    }

    /// True when an operator reset the authenticator and no new one is set up yet.
    package static func authenticatorResetPending(person: String, in db: any SQLExecutor) throws -> Bool {
        try db.queryOne("SELECT authenticator_reset_at FROM patients WHERE person_number = ? FOR UPDATE", [.text(person)])?
            .optionalInstant("authenticator_reset_at") != nil
    }

    /// Sets up a new authenticator secret after a reset: its steps start afresh.
    package static func setAuthenticator(person: String, secretCipher: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            UPDATE patients SET totp_secret_cipher = ?, totp_last_step = 0, second_factor_failures = 0, second_factor_locked_until = NULL,
            authenticator_reset_at = NULL, updated_at = ? WHERE person_number = ?
            """,
            [.text(secretCipher), .instant(now), .text(person)])
    }

    /// Counts a failed sign-in atomically; returns the failures so far.
    package static func countFailure(person: String, now: Instant, in db: any SQLExecutor) throws -> Int64 {
        try db.queryOne(
            "UPDATE patients SET failed_sign_ins = failed_sign_ins + 1, updated_at = ? WHERE person_number = ? RETURNING failed_sign_ins",
            [.instant(now), .text(person)]
        )?.int64("failed_sign_ins") ?? 0
    }

    package static func lock(person: String, until: Instant, in db: any SQLExecutor) throws {
        try db.execute("UPDATE patients SET locked_until = ? WHERE person_number = ?", [.instant(until), .text(person)])
    }

    package static func recordSuccess(person: String, totpStep: Int64, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE patients SET failed_sign_ins = 0, locked_until = NULL, totp_last_step = ?, updated_at = ? WHERE person_number = ?",
            [.integer(totpStep), .instant(now), .text(person)]
        )
    }

    package static func insertSession(tokenHash: String, id: String, person: String, now: Instant, expires: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO patient_sessions (token_hash, id, person_number, created_at, expires_at, revoked_at, second_factor_at)
            VALUES (?, ?, ?, ?, ?, NULL, ?)
            """,
            [.text(tokenHash), .text(id), .text(person), .instant(now), .instant(expires), .instant(now)]
        )
    }

    package static func session(tokenHash: String, now: Instant, in db: any SQLExecutor) throws -> PatientSession? {
        try db.queryOne(
            """
            SELECT id, person_number, expires_at, second_factor_at FROM patient_sessions
            WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ?
            """,
            [.text(tokenHash), .instant(now)]
        ).map(decodeSession)
    }

    package static func decodeSession(_ row: SQLRow) throws -> PatientSession {
        PatientSession(
            id: try row.string("id"), personNumber: try row.string("person_number"), expiresAt: try row.instant("expires_at"),
            secondFactorAt: try row.optionalInstant("second_factor_at"))
    }

    /// A person's live sessions with when each began, newest first.
    package static func sessions(person: String, now: Instant, in db: any SQLExecutor) throws -> [(session: PatientSession, createdAt: Instant)] {
        try db.query(
            """
            SELECT id, person_number, expires_at, second_factor_at, created_at FROM patient_sessions
            WHERE person_number = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id LIMIT 100
            """,
            [.text(person), .instant(now)]
        ).map { (try decodeSession($0), try $0.instant("created_at")) }
    }

    /// Ends every live session of a person; returns how many.
    package static func revokeSessions(person: String, now: Instant, in db: any SQLExecutor) throws -> Int {
        try db.execute(
            "UPDATE patient_sessions SET revoked_at = ? WHERE person_number = ? AND revoked_at IS NULL", [.instant(now), .text(person)])
    }

    /// Records that a session proved the second factor now.
    package static func markSecondFactor(session: String, now: Instant, in db: any SQLExecutor) throws {
        try db.execute("UPDATE patient_sessions SET second_factor_at = ? WHERE id = ?", [.instant(now), .text(session)])
    }

    /// The second-factor state of a person: the last TOTP step accepted, failures in a row, lock.
    package static func secondFactorState(person: String, in db: any SQLExecutor) throws -> (lastStep: Int64, failures: Int64, lockedUntil: Instant?)?
    {
        try db.queryOne(
            "SELECT totp_last_step, second_factor_failures, second_factor_locked_until FROM patients WHERE person_number = ? FOR UPDATE",
            [.text(person)]
        ).map { (try $0.int64("totp_last_step"), try $0.int64("second_factor_failures"), try $0.optionalInstant("second_factor_locked_until")) }
    }

    /// Counts a wrong second-factor code; returns the failures in a row.
    package static func countSecondFactorFailure(person: String, lockUntil: (Int64) -> Instant?, now: Instant, in db: any SQLExecutor) throws -> Int64
    {
        let failures =
            try db.queryOne(
                """
                UPDATE patients SET second_factor_failures = second_factor_failures + 1, updated_at = ? WHERE person_number = ?
                RETURNING second_factor_failures
                """,
                [.instant(now), .text(person)]
            )?.int64("second_factor_failures") ?? 0
        if let until = lockUntil(failures) {
            try db.execute("UPDATE patients SET second_factor_locked_until = ? WHERE person_number = ?", [.instant(until), .text(person)])
        }
        return failures
    }

    /// Records an accepted second-factor code: its step is used, failures reset.
    package static func acceptSecondFactor(person: String, step: Int64, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            """
            UPDATE patients SET totp_last_step = ?, second_factor_failures = 0, second_factor_locked_until = NULL, updated_at = ?
            WHERE person_number = ?
            """,
            [.integer(step), .instant(now), .text(person)]
        )
    }

    package static func revokeSession(id: String, person: String, now: Instant, in db: any SQLExecutor) throws -> Bool {
        try db.execute(
            "UPDATE patient_sessions SET revoked_at = ? WHERE id = ? AND person_number = ? AND revoked_at IS NULL",
            [.instant(now), .text(id), .text(person)]
        ) == 1
    }

    package static func saveSMSCode(
        phoneLookup: String, purpose: String, codeHash: String, expires: Instant, now: Instant, in db: any SQLExecutor
    ) throws {
        try db.execute(
            """
            INSERT INTO sms_codes (phone_lookup, purpose, code_hash, attempts, expires_at, created_at) VALUES (?, ?, ?, 0, ?, ?)
            ON CONFLICT (phone_lookup, purpose) DO UPDATE SET code_hash = excluded.code_hash, attempts = 0, expires_at = excluded.expires_at,
            created_at = excluded.created_at
            """,
            [.text(phoneLookup), .text(purpose), .text(codeHash), .instant(expires), .instant(now)]
        )
    }

    /// The most wrong guesses an SMS code tolerates.
    package static let smsAttemptsMax: Int64 = 5

    /// Checks an SMS code without consuming it; a wrong guess is counted (the caller commits it on its
    /// own, so a refusal that follows cannot roll the count back). False when wrong, expired or guessed
    /// `smsAttemptsMax` times: from then on even the right code is refused.
    package static func checkSMSCode(phoneLookup: String, purpose: String, codeHash: String, now: Instant, in db: any SQLExecutor) throws -> Bool {
        guard
            let row = try db.queryOne(
                "SELECT code_hash, attempts, expires_at FROM sms_codes WHERE phone_lookup = ? AND purpose = ? FOR UPDATE",
                [.text(phoneLookup), .text(purpose)]
            )
        else { return false }
        guard try row.instant("expires_at") > now, try row.int64("attempts") < smsAttemptsMax else { return false }
        guard Secrets.constantTimeEquals(try row.string("code_hash"), codeHash) else {
            try db.execute(
                "UPDATE sms_codes SET attempts = attempts + 1 WHERE phone_lookup = ? AND purpose = ?", [.text(phoneLookup), .text(purpose)])
            return false
        }
        return true
    }

    /// Consumes a code checked before: true when it was still there, right, unexpired and not guessed out.
    package static func consumeSMSCode(phoneLookup: String, purpose: String, codeHash: String, now: Instant, in db: any SQLExecutor) throws -> Bool {
        try db.execute(
            "DELETE FROM sms_codes WHERE phone_lookup = ? AND purpose = ? AND code_hash = ? AND expires_at > ? AND attempts < ?",
            [.text(phoneLookup), .text(purpose), .text(codeHash), .instant(now), .integer(smsAttemptsMax)]
        ) == 1
    }
}
