import Foundation
import YibaoCore
import YibaoStore

/// A staff member's sign-in record, for the server's password and authenticator checks.
public struct StaffCredentials: Sendable, Hashable {
    /// The member.
    public let member: StaffMember
    /// bcrypt hash of the password.
    public let passwordHash: String
    /// The TOTP secret of the authenticator app.
    public let totpSecret: String
    /// The last TOTP step accepted (a code is never accepted twice).
    public let totpLastStep: Int64
    /// Locked until, after repeated failures.
    public let lockedUntil: Instant?
}

extension Platform {
    /// How long a staff session lives: one shift.
    public static let staffSessionLifetimeSeconds: Int64 = 10 * 3600

    /// The staff member a request acts for, set by the server around an institution route called with a
    /// staff session. Journal entries and audit records written for that request name them.
    @TaskLocal public static var actingStaff: StaffSession?

    /// How journal entries and audit records name who acted for `institution`: the staff member at the
    /// counter when a request is theirs, else the institution's system.
    /// Read it in the request's task (`acting`), not inside a database closure, which may run elsewhere.
    public static func actor(institution code: String, acting: StaffSession? = Platform.actingStaff) -> String {
        if let staff = acting, staff.institution.code == code { return staff.actor }
        return "institution:" + code
    }

    /// Creates a staff account; `actor` is the manager or administrator doing it.
    public func createStaff(
        institution code: String, name: String, displayName: String, role: StaffRole, passwordHash: String, totpSecret: String, actor: String
    ) async throws -> StaffMember {
        try StaffMember.validateName(name)
        try StaffMember.validateDisplayName(displayName)
        let cipher = self.cipher
        return try await write { db, now in
            guard try InstitutionRepository.find(code: code, in: db) != nil else { throw Refusal(.notFound, "no institution \(code)") }
            let member = StaffMember(
                institutionCode: code, name: name, displayName: displayName.trimmingCharacters(in: .whitespaces), role: role, createdAt: now)
            try StaffRepository.insert(
                member, passwordHash: passwordHash,
                totpSecretCipher: cipher.seal(totpSecret, field: "staff_members.totp_secret", row: code + "/" + name),
                in: db)
            try AuditRepository.append(
                actor: actor, action: "staff.create", subject: "staff:\(code)/\(name)", value: ["role": role.rawValue], now: now, in: db)
            return member
        }
    }

    /// An institution's staff.
    public func staffMembers(institution: String) async throws -> [StaffMember] {
        try await read { db, _ in try StaffRepository.members(institution: institution, in: db) }
    }

    /// Disables a staff account: every session ends at once. A manager cannot disable themselves.
    public func disableStaff(institution: String, name: String, actor: String) async throws {
        try await write { db, now in
            guard try StaffRepository.member(institution: institution, name: name, in: db) != nil else {
                throw Refusal(.notFound, "this institution has no staff member \(name)")
            }
            if try StaffRepository.disable(institution: institution, name: name, now: now, in: db) {
                try AuditRepository.append(
                    actor: actor, action: "staff.disable", subject: "staff:\(institution)/\(name)", value: [String: String](), now: now, in: db)
            }
        }
    }

    /// The sign-in record of a staff member, or nil.
    public func staffCredentials(institution: String, name: String) async throws -> StaffCredentials? {
        let cipher = self.cipher
        return try await read { db, _ in
            try StaffRepository.credentials(institution: institution, name: name, cipher: cipher, in: db).map {
                StaffCredentials(
                    member: $0.member, passwordHash: $0.passwordHash, totpSecret: $0.totpSecret, totpLastStep: $0.totpLastStep,
                    lockedUntil: $0.lockedUntil)
            }
        }
    }

    /// Counts a failed staff sign-in; from the fifth on, locks the account with back-off (1, 2, 4 …
    /// minutes, at most an hour). Returns the lock's end when locked.
    public func recordStaffSignInFailure(institution: String, name: String) async throws -> Instant? {
        try await write { db, now in
            let failures = try StaffRepository.countFailure(institution: institution, name: name, in: db)
            try AuditRepository.append(
                actor: "anonymous", action: "staff.sign_in_failed", subject: "staff:\(institution)/\(name)", value: ["failures": "\(failures)"],
                now: now, in: db)
            guard failures >= Platform.signInFailuresBeforeLock else { return nil }
            let exponent = min(failures - Platform.signInFailuresBeforeLock, 6)
            let until = now.adding(seconds: min(60 * (Int64(1) << exponent), Platform.signInLockMaxSeconds))
            try StaffRepository.lock(institution: institution, name: name, until: until, in: db)
            return until
        }
    }

    /// Opens a staff session after the password and the authenticator code were checked; returns the
    /// bearer token (`sf_…`, shown once) and the session. Refused when the code's step was taken meanwhile.
    public func openStaffSession(institution: String, name: String, totpStep: Int64) async throws -> (token: String, session: StaffSession) {
        let token = "sf_" + Secrets.randomToken()
        let hash = Secrets.sha256Hex(token)
        let id = ids.next("SF")
        return try await write { db, now in
            guard try StaffRepository.recordSuccess(institution: institution, name: name, totpStep: totpStep, in: db) else {
                throw Refusal(.signInFailed, "the name, password or authenticator code is wrong")
            }
            try StaffRepository.insertSession(
                tokenHash: hash, id: id, institution: institution, name: name, now: now,
                expires: now.adding(seconds: Platform.staffSessionLifetimeSeconds), in: db)
            guard let session = try StaffRepository.session(tokenHash: hash, now: now, in: db) else {
                throw Refusal(.signInFailed, "the name, password or authenticator code is wrong")
            }
            try AuditRepository.append(
                actor: session.actor, action: "staff.sign_in", subject: "staff:\(institution)/\(name)", value: ["session": id], now: now, in: db)
            return (token, session)
        }
    }

    /// The live staff session of a bearer token, or nil.
    public func staffSession(token: String) async throws -> StaffSession? {
        guard token.hasPrefix("sf_"), token.utf8.count < 200 else { return nil }
        let hash = Secrets.sha256Hex(token)
        return try await read { db, now in try StaffRepository.session(tokenHash: hash, now: now, in: db) }
    }

    /// Ends a staff session (sign out).
    public func endStaffSession(_ session: StaffSession) async throws {
        try await write { db, now in
            try StaffRepository.revokeSession(id: session.id, now: now, in: db)
            try AuditRepository.append(
                actor: session.actor, action: "staff.sign_out", subject: "staff:\(session.institution.code)/\(session.name)",
                value: ["session": session.id], now: now, in: db)
        }
    }

    /// Records in the audit log that a staff member did something through an institution route (the
    /// method, the path and the answer's status), so every counter action names the person.
    public func auditStaffRequest(_ session: StaffSession, method: String, path: String, status: Int) async throws {
        try await audit(
            actor: session.actor, action: "staff.request", subject: "institution:" + session.institution.code,
            detail: ["method": method, "path": path, "status": "\(status)"])
    }
}
