import YibaoCore
import YibaoStore

/// A patient's live session as they see it in their list.
public struct SessionView: Sendable, Hashable, Codable {
    /// The session id.
    public var id: String
    /// When it began.
    public var createdAt: Instant
    /// When it stops working.
    public var expiresAt: Instant
    /// Whether it is the session asking.
    public var current: Bool
}

extension Platform {
    /// How long a proved second factor counts as recent: sensitive actions within this window of the
    /// sign-in or of the last authenticator code need no new code.
    public static let secondFactorWindowSeconds: Int64 = 300
    /// Wrong authenticator codes in a row (outside sign-in) before step-up locks.
    public static let secondFactorFailuresBeforeLock: Int64 = 5
    /// How long a step-up lock lasts.
    public static let secondFactorLockSeconds: Int64 = 900

    // MARK: SMS codes

    /// Checks an SMS code in its own committed write, so a wrong guess is counted even when the request
    /// is refused; the fifth wrong guess kills the code. Refused with `sms_code_invalid` when wrong.
    func checkSMSCode(phone: String, purpose: String, code: String) async throws {
        let lookup = cipher.lookup(phone, purpose: "phone")
        let hash = Secrets.sha256Hex(purpose + "|" + code)
        let right = try await write { db, now in
            try PatientRepository.checkSMSCode(phoneLookup: lookup, purpose: purpose, codeHash: hash, now: now, in: db)
        }
        guard right else {
            throw Refusal(.smsCodeInvalid, "the verification code is wrong or has expired; request a new one", field: "sms_code")
        }
    }

    // MARK: The second factor

    /// Requires the second factor of a signed-in patient: the authenticator `code` when given (a code is
    /// accepted once; five wrong codes in a row lock step-up for 15 minutes and tell the patient), or a
    /// second factor this session proved within the last five minutes.
    public func requireSecondFactor(_ code: String?, session: PatientSession) async throws {
        let now = clock.now()
        guard let code, !code.isEmpty else {
            guard let at = session.secondFactorAt, now.millisecondsSinceEpoch - at.millisecondsSinceEpoch <= Platform.secondFactorWindowSeconds * 1000
            else {
                throw Refusal(
                    .secondFactorRequired,
                    "this needs your authenticator code (totp_code): the last one this session proved is more than \(Platform.secondFactorWindowSeconds / 60) minutes old",
                    field: "totp_code")
            }
            return
        }
        try await verifySecondFactor(code, person: session.personNumber, session: session.id)
    }

    /// Checks an authenticator code of a person outside sign-in (step-up, password reset): replayed
    /// steps are refused, failures counted in their own committed write, locked after five.
    func verifySecondFactor(_ code: String, person: String, session: String?) async throws {
        enum Outcome: Sendable {
            case accepted
            case wrong(left: Int64)
            case locked(Instant)
        }
        let cipher = self.cipher
        let ids = self.ids
        let outcome: Outcome = try await write { db, now in
            guard let state = try PatientRepository.secondFactorState(person: person, in: db),
                let secret = try PatientRepository.totpSecret(person: person, cipher: cipher, in: db)
            else {
                // A signed-in person without an authenticator (the bureau reset it, or a load-test
                // population's sessions): the step-up cannot be proved until one is set up.
                throw Refusal(
                    .secondFactorRequired,
                    "no authenticator is set up for this account: set one up (POST /v1/patient/authenticator) before this operation")
            }
            if let until = state.lockedUntil, until > now { return .locked(until) }
            if let step = AuthenticatorCode.match(secret: secret, code: code, at: now, after: state.lastStep) {
                try PatientRepository.acceptSecondFactor(person: person, step: step, now: now, in: db)
                if let session { try PatientRepository.markSecondFactor(session: session, now: now, in: db) }
                return .accepted
            }
            let lockUntil = now.adding(seconds: Platform.secondFactorLockSeconds)
            let failures = try PatientRepository.countSecondFactorFailure(
                person: person, lockUntil: { $0 >= Platform.secondFactorFailuresBeforeLock ? lockUntil : nil }, now: now, in: db)
            try AuditRepository.append(
                actor: "patient:" + person, action: "patient.second_factor_failed", subject: person, value: ["failures": "\(failures)"], now: now,
                in: db)
            guard failures >= Platform.secondFactorFailuresBeforeLock else { return .wrong(left: Platform.secondFactorFailuresBeforeLock - failures) }
            if failures == Platform.secondFactorFailuresBeforeLock {
                try Events.notice(
                    person: person, topic: "security.second_factor_locked", title: "验证码错误次数过多",
                    body: "您的账户连续 \(failures) 次输入了错误的身份验证器代码，敏感操作已锁定 15 分钟。如非本人操作，请立即修改密码并退出所有设备。", ids: ids, now: now, in: db)
            }
            return .locked(lockUntil)
        }
        switch outcome {
        case .accepted: return
        case .wrong(let left):
            throw Refusal(
                .secondFactorInvalid, "the authenticator code is wrong or was already used; \(left) more tries before it locks for 15 minutes",
                field: "totp_code")
        case .locked(let until):
            let wait = max(1, Int((until.millisecondsSinceEpoch - clock.now().millisecondsSinceEpoch) / 1000))
            throw Refusal(.accountLocked, "too many wrong authenticator codes; try again in \(wait) seconds", retryAfterSeconds: wait)
        }
    }

    // MARK: Sessions

    /// A person's live sessions, newest first; `current` marks the one asking.
    public func sessions(of person: String, current: String) async throws -> [SessionView] {
        try await read { db, now in
            try PatientRepository.sessions(person: person, now: now, in: db).map {
                SessionView(id: $0.session.id, createdAt: $0.createdAt, expiresAt: $0.session.expiresAt, current: $0.session.id == current)
            }
        }
    }

    /// Ends every session of a person (sign out everywhere); returns how many.
    @discardableResult
    public func revokeAllSessions(person: String, actor: String) async throws -> Int {
        try await write { db, now in
            let count = try PatientRepository.revokeSessions(person: person, now: now, in: db)
            try AuditRepository.append(
                actor: actor, action: "patient.sign_out_everywhere", subject: person, value: ["sessions": "\(count)"], now: now, in: db)
            return count
        }
    }

    // MARK: Password and authenticator resets

    /// The person whose password can be reset with this phone: a registered patient, or nil.
    public func registeredPerson(phone: String) async throws -> String? {
        let lookup = cipher.lookup(phone, purpose: "phone")
        let cipher = self.cipher
        return try await read { db, _ in try PatientRepository.credentials(phoneLookup: lookup, cipher: cipher, lock: false, in: db)?.personNumber }
    }

    /// Resets a forgotten password: the SMS code sent to the registered phone and the authenticator
    /// code prove it is the patient; every session ends.
    public func resetPassword(phone: String, smsCode: String, totpCode: String, passwordHash: String) async throws {
        guard let person = try await registeredPerson(phone: phone) else {
            throw Refusal(.smsCodeInvalid, "the verification code is wrong or has expired; request a new one", field: "sms_code")
        }
        try await checkSMSCode(phone: phone, purpose: "reset", code: smsCode)
        try await verifySecondFactor(totpCode, person: person, session: nil)
        let lookup = cipher.lookup(phone, purpose: "phone")
        let hash = Secrets.sha256Hex("reset|" + smsCode)
        let ids = self.ids
        try await write { db, now in
            guard try PatientRepository.consumeSMSCode(phoneLookup: lookup, purpose: "reset", codeHash: hash, now: now, in: db) else {
                throw Refusal(.smsCodeInvalid, "the verification code is wrong or has expired; request a new one", field: "sms_code")
            }
            try PatientRepository.setPassword(person: person, hash: passwordHash, now: now, in: db)
            let ended = try PatientRepository.revokeSessions(person: person, now: now, in: db)
            try AuditRepository.append(
                actor: "patient:" + person, action: "patient.password_reset", subject: person, value: ["sessions_ended": "\(ended)"], now: now, in: db
            )
            try Events.notice(
                person: person, topic: "security.password_reset", title: "密码已重置",
                body: "您的登录密码已于 \(now.nationalDateTime) 重置，所有设备已退出登录。如非本人操作，请立即联系医保经办机构。", ids: ids, now: now, in: db)
        }
    }

    /// An operator resets a patient's authenticator after checking the person's identity document in
    /// person: the ID number must match the enrolment. Every session ends; the patient then sets up a new
    /// authenticator with their password and an SMS code (`reenrolAuthenticator`).
    public func resetAuthenticator(person number: String, idNumber: String, reason: String, operatorName: String) async throws {
        if reason.isEmpty || reason.count > 200 { throw Refusal.invalid("reason", "say why (1 to 200 characters)") }
        let cipher = self.cipher
        let ids = self.ids
        try await write { db, now in
            guard let person = try PeopleRepository.find(number: number, cipher: cipher, in: db) else {
                throw Refusal(.notFound, "no person has number \(number)")
            }
            guard person.idNumber.uppercased() == idNumber.uppercased() else {
                throw Refusal(
                    .identityNotVerified, "the ID number does not match this person's enrolment; check the document again", field: "id_number")
            }
            guard try PatientRepository.markAuthenticatorReset(person: number, now: now, in: db) else {
                throw Refusal(.notFound, "\(number) has not registered on the phone yet: nothing to reset")
            }
            let ended = try PatientRepository.revokeSessions(person: number, now: now, in: db)
            try AuditRepository.append(
                actor: "operator:" + operatorName, action: "patient.authenticator_reset", subject: number,
                value: ["reason": reason, "sessions_ended": "\(ended)"], now: now, in: db)
            try Events.notice(
                person: number, topic: "security.authenticator_reset", title: "身份验证器已重置",
                body: "经办人员已核验您的身份并重置了身份验证器，所有设备已退出登录。请使用密码和短信验证码重新设置身份验证器。如非本人申请，请立即联系医保经办机构。", ids: ids, now: now,
                in: db)
        }
    }

    /// After an operator's reset: the patient proves the password (checked by the caller) and an SMS code
    /// and receives a new authenticator secret, shown once.
    public func reenrolAuthenticator(person: String, phone: String, smsCode: String, secret: String) async throws {
        try await checkSMSCode(phone: phone, purpose: "authenticator", code: smsCode)
        let lookup = cipher.lookup(phone, purpose: "phone")
        let hash = Secrets.sha256Hex("authenticator|" + smsCode)
        let cipher = self.cipher
        let ids = self.ids
        try await write { db, now in
            guard try PatientRepository.authenticatorResetPending(person: person, in: db) else {
                throw Refusal(
                    .forbidden, "a new authenticator is set up only after the bureau resets the old one (bring your ID document to a service counter)"
                )
            }
            guard try PatientRepository.consumeSMSCode(phoneLookup: lookup, purpose: "authenticator", codeHash: hash, now: now, in: db) else {
                throw Refusal(.smsCodeInvalid, "the verification code is wrong or has expired; request a new one", field: "sms_code")
            }
            try PatientRepository.setAuthenticator(
                person: person, secretCipher: cipher.seal(secret, field: "patients.totp_secret", row: person), now: now, in: db)
            try AuditRepository.append(
                actor: "patient:" + person, action: "patient.authenticator_enrol", subject: person, value: [String: String](), now: now, in: db)
            try Events.notice(
                person: person, topic: "security.authenticator_enrolled", title: "新的身份验证器", body: "您已设置新的身份验证器。如非本人操作，请立即联系医保经办机构。", ids: ids,
                now: now, in: db)
        }
    }
}
