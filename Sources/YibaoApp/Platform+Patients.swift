import YibaoCore
import YibaoStore

/// A device just enrolled: the secret is shown to the phone once and never again.
public struct EnrolledDevice: Sendable, Hashable {
    /// The device.
    public let device: Device
    /// The secret (20 bytes).
    public let secret: [UInt8]
}

/// A patient's sign-in record, for the server's password and second-factor checks.
public struct PatientCredentials: Sendable, Hashable {
    /// The person.
    public let personNumber: String
    /// bcrypt hash of the password.
    public let passwordHash: String
    /// The TOTP secret of the authenticator app.
    public let totpSecret: String
    /// The last TOTP step accepted (a TOTP code is never accepted twice).
    public let totpLastStep: Int64
    /// Locked until, after repeated failures.
    public let lockedUntil: Instant?
    /// An operator reset the authenticator and no new one is set up yet.
    public let authenticatorResetPending: Bool
}

extension Platform {
    /// How long a patient session lives.
    public static let sessionLifetimeSeconds: Int64 = 12 * 3600
    /// How long an SMS code lives.
    public static let smsCodeLifetimeSeconds: Int64 = 300
    /// Failed sign-ins before the account locks.
    public static let signInFailuresBeforeLock: Int64 = 5
    /// The longest lock.
    public static let signInLockMaxSeconds: Int64 = 3600
    /// The most devices a person may have enrolled at once.
    public static let devicesPerPersonMax = 5

    // MARK: Registration

    /// The enrolled person matching all three of ID number, person (insurance) number and phone; a
    /// refusal otherwise (without saying which one differs).
    public func registrationPerson(idNumber: String, personNumber: String, phone: String) async throws -> Person {
        guard let person = try await person(idNumber: idNumber), person.number == personNumber, person.phone == phone else {
            throw Refusal(
                .registrationMismatch, "no enrolled person has this ID number, insurance number and phone together; check them or ask the bureau"
            )
        }
        return person
    }

    /// Stores an SMS verification code (hashed) for a phone and purpose.
    public func saveSMSCode(phone: String, purpose: String, code: String) async throws {
        let lookup = cipher.lookup(phone, purpose: "phone")
        let hash = Secrets.sha256Hex(purpose + "|" + code)
        try await write { db, now in
            try PatientRepository.saveSMSCode(
                phoneLookup: lookup, purpose: purpose, codeHash: hash, expires: now.adding(seconds: Platform.smsCodeLifetimeSeconds), now: now, in: db
            )
        }
    }

    /// Registers a patient: the SMS code must match (checked in its own committed write, so wrong guesses
    /// count even though the registration is refused; the fifth kills the code); the password arrives
    /// hashed; the TOTP secret is sealed.
    public func registerPatient(person: Person, smsCode: String, passwordHash: String, totpSecret: String) async throws {
        let cipher = self.cipher
        let phone = person.phone ?? ""
        try await checkSMSCode(phone: phone, purpose: "register", code: smsCode)
        let lookup = cipher.lookup(phone, purpose: "phone")
        let codeHash = Secrets.sha256Hex("register|" + smsCode)
        try await write { db, now in
            guard try PatientRepository.consumeSMSCode(phoneLookup: lookup, purpose: "register", codeHash: codeHash, now: now, in: db) else {
                throw Refusal(.smsCodeInvalid, "the verification code is wrong or has expired; request a new one", field: "sms_code")
            }
            try PatientRepository.insert(
                person: person.number, phoneLookup: lookup, passwordHash: passwordHash,
                totpSecretCipher: cipher.seal(totpSecret, field: "patients.totp_secret", row: person.number), now: now, in: db
            )
            try AuditRepository.append(
                actor: "patient:" + person.number, action: "patient.register", subject: person.number, value: [String: String](), now: now, in: db)
        }
    }

    // MARK: Sign-in

    /// The sign-in record of a phone, or nil.
    public func patientCredentials(phone: String) async throws -> PatientCredentials? {
        let cipher = self.cipher
        let lookup = cipher.lookup(phone, purpose: "phone")
        return try await read { db, _ in
            try PatientRepository.credentials(phoneLookup: lookup, cipher: cipher, lock: false, in: db).map {
                PatientCredentials(
                    personNumber: $0.personNumber, passwordHash: $0.passwordHash, totpSecret: $0.totpSecret, totpLastStep: $0.totpLastStep,
                    lockedUntil: $0.lockedUntil, authenticatorResetPending: $0.authenticatorResetAt != nil
                )
            }
        }
    }

    /// Counts a failed sign-in; from the fifth failure on, locks the account with back-off (1, 2, 4 …
    /// minutes, at most an hour). Returns the lock's end when locked.
    public func recordSignInFailure(person: String) async throws -> Instant? {
        try await write { db, now in
            let failures = try PatientRepository.countFailure(person: person, now: now, in: db)
            try AuditRepository.append(
                actor: "anonymous", action: "patient.sign_in_failed", subject: person, value: ["failures": "\(failures)"], now: now, in: db
            )
            guard failures >= Platform.signInFailuresBeforeLock else { return nil }
            let exponent = min(failures - Platform.signInFailuresBeforeLock, 6)
            let until = now.adding(seconds: min(60 * (Int64(1) << exponent), Platform.signInLockMaxSeconds))
            try PatientRepository.lock(person: person, until: until, in: db)
            return until
        }
    }

    /// Opens a session after a successful sign-in; returns the bearer token (shown once) and the session.
    public func openSession(person: String, totpStep: Int64) async throws -> (token: String, session: PatientSession) {
        let token = "ps_" + Secrets.randomToken()
        let hash = Secrets.sha256Hex(token)
        let id = ids.next("SS")
        let ids = self.ids
        return try await write { db, now in
            try PatientRepository.recordSuccess(person: person, totpStep: totpStep, now: now, in: db)
            let expires = now.adding(seconds: Platform.sessionLifetimeSeconds)
            try PatientRepository.insertSession(tokenHash: hash, id: id, person: person, now: now, expires: expires, in: db)
            try AuditRepository.append(
                actor: "patient:" + person, action: "patient.sign_in", subject: person, value: ["session": id], now: now, in: db)
            try Events.notice(
                person: person, topic: "security.signed_in", title: "新的登录",
                body: "您的账户于 \(now.nationalDateTime) 登录。如非本人操作，请立即修改密码并退出所有设备。", ids: ids, now: now, in: db
            )
            return (token, PatientSession(id: id, personNumber: person, expiresAt: expires))
        }
    }

    /// The live session of a bearer token, or nil.
    public func patientSession(token: String) async throws -> PatientSession? {
        guard token.hasPrefix("ps_"), token.utf8.count < 200 else { return nil }
        let hash = Secrets.sha256Hex(token)
        return try await read { db, now in try PatientRepository.session(tokenHash: hash, now: now, in: db) }
    }

    /// Revokes one of a person's sessions.
    public func revokeSession(id: String, person: String) async throws {
        let revoked = try await write { db, now in
            let revoked = try PatientRepository.revokeSession(id: id, person: person, now: now, in: db)
            if revoked {
                try AuditRepository.append(
                    actor: "patient:" + person, action: "patient.sign_out", subject: person, value: ["session": id], now: now, in: db)
            }
            return revoked
        }
        if !revoked { throw Refusal(.notFound, "no live session \(id)") }
    }

    // MARK: Devices

    /// Enrols a device for a person: a random device number and secret (`secret` chooses it: seeded tests only).
    public func enrolDevice(person: String, name: String, secret chosen: [UInt8]? = nil) async throws -> EnrolledDevice {
        if name.isEmpty || name.count > 50 { throw Refusal.invalid("name", "name must be 1 to 50 characters") }
        var rng = SystemRandomNumberGenerator()
        let secret = chosen ?? (0..<20).map { _ in UInt8.random(in: 0...255, using: &rng) }
        precondition(secret.count == 20, "a device secret is 20 bytes")
        let id = ids.next("D")
        let cipher = self.cipher
        let ids = self.ids
        return try await write { db, now in
            let live = try DeviceRepository.list(person: person, in: db).filter { $0.revokedAt == nil }
            if live.count >= Platform.devicesPerPersonMax {
                throw Refusal(.alreadyExists, "at most \(Platform.devicesPerPersonMax) devices; revoke one first")
            }
            for _ in 0..<8 {
                var generator = SystemRandomNumberGenerator()
                let number = String(Int64.random(in: 1_000_000_000...9_999_999_999, using: &generator))
                guard try DeviceRepository.find(number: number, in: db) == nil else { continue }
                let device = Device(id: id, number: number, personNumber: person, name: name, enrolledAt: now, revokedAt: nil)
                try DeviceRepository.insert(device, secretCipher: cipher.seal(Base32.encode(secret), field: "devices.secret", row: id), in: db)
                try AuditRepository.append(
                    actor: "patient:" + person, action: "device.enrol", subject: person, value: ["device": id], now: now, in: db)
                try Events.notice(
                    person: person, topic: "security.device_enrolled", title: "新设备", body: "设备「\(name)」已可出示医保码。如非本人操作，请立即移除该设备。",
                    ids: ids, now: now, in: db
                )
                return EnrolledDevice(device: device, secret: secret)
            }
            throw StoreError.conflict("no free device number")
        }
    }

    /// A person's devices, revoked ones included.
    public func devices(person: String) async throws -> [Device] {
        try await read { db, _ in try DeviceRepository.list(person: person, in: db) }
    }

    /// Revokes a device: its codes stop working at once.
    public func revokeDevice(id: String, person: String) async throws {
        let ids = self.ids
        let revoked = try await write { db, now in
            let revoked = try DeviceRepository.revoke(id: id, person: person, now: now, in: db)
            if revoked {
                try AuditRepository.append(
                    actor: "patient:" + person, action: "device.revoke", subject: person, value: ["device": id], now: now, in: db)
                try Events.notice(
                    person: person, topic: "security.device_revoked", title: "设备已移除", body: "一台设备已移除，其医保码立即失效。", ids: ids, now: now, in: db)
            }
            return revoked
        }
        if !revoked { throw Refusal(.notFound, "no live device \(id)") }
    }

    /// The code a device shows now (for the phone page served by Yibao), and when it stops working.
    public func currentCode(device id: String, person: String) async throws -> (code: String, validUntil: Instant) {
        let cipher = self.cipher
        return try await read { db, now in
            guard let (device, sealed) = try DeviceRepository.find(id: id, person: person, in: db), device.revokedAt == nil else {
                throw Refusal(.notFound, "no live device \(id)")
            }
            let secret = Base32.decode(try cipher.open(sealed, field: "devices.secret", row: id)) ?? []
            return (
                VoucherCode.make(secret: secret, deviceNumber: device.number, at: now),
                VoucherCode.expiry(ofStep: VoucherCode.step(at: now))
            )
        }
    }

    /// A code verified by its cryptography: the device and the time step it was made in.
    struct VerifiedCode: Sendable {
        let device: Device
        let step: Int64
    }

    /// Verifies a scanned code (parse, device, decrypt the secret, the one-time password over the
    /// accepted steps) without spending it.
    static func verifyCode(_ code: String, cipher: PersonalDataCipher, now: Instant, in db: any SQLExecutor) throws -> VerifiedCode {
        let parsed = try parseCode(code)
        return try verify(parsed, device: DeviceRepository.find(number: parsed.deviceNumber, in: db), cipher: cipher, now: now)
    }

    /// A scanned code's parts, or the refusal for a code that is not one of Yibao's.
    static func parseCode(_ code: String) throws(Refusal) -> VoucherCode.Parsed {
        guard let parsed = VoucherCode.parse(code) else {
            throw Refusal(.codeMalformed, "this is not a Yibao e-voucher code (21 digits starting 88); scan again", field: "code")
        }
        return parsed
    }

    /// Verifies a parsed code against its device's row as read (`DeviceRepository.find` or `finding`;
    /// nil when no device has the code's number): the device still enrolled, its secret decrypted, the
    /// one-time password over the accepted steps.
    static func verify(_ parsed: VoucherCode.Parsed, device row: (Device, String)?, cipher: PersonalDataCipher, now: Instant) throws -> VerifiedCode {
        guard let (device, sealed) = row else {
            throw Refusal(.codeInvalid, "the code does not verify", field: "code")
        }
        if device.revokedAt != nil {
            throw Refusal(.codeRevoked, "the phone that shows this code was removed by its owner", field: "code")
        }
        let secret = Base32.decode(try cipher.open(sealed, field: "devices.secret", row: device.id)) ?? []
        switch VoucherCode.match(parsed, secret: secret, now: now) {
        case .none:
            throw Refusal(.codeInvalid, "the code does not verify", field: "code")
        case .expired:
            throw Refusal(.codeExpired, "the code has expired; ask the patient to show the current one", field: "code")
        case .current(let step):
            return VerifiedCode(device: device, step: step)
        }
    }

    /// Resolves a scanned code inside the transaction that uses it: verified against its device's row
    /// as this transaction reads it (enrolled, the step accepted now), then the (device, step) spent — a
    /// code spent before is refused. Returns the device's owner.
    static func spendCode(_ code: String, institution: String, cipher: PersonalDataCipher, now: Instant, in db: any SQLExecutor) throws -> Device {
        let verified = try verifyCode(code, cipher: cipher, now: now, in: db)
        guard try DeviceRepository.spend(device: verified.device.id, step: verified.step, institution: institution, now: now, in: db) else {
            throw Refusal.codeAlreadyUsed
        }
        return verified.device
    }

    // MARK: Funding sources

    /// Binds a card through the payment channel (the bank checks it is in the person's name) and makes
    /// it the default when it is the person's first.
    public func bindCard(person personNumber: String, number: String) async throws -> FundingSource {
        guard let person = try await person(number: personNumber) else { throw Refusal(.notFound, "no person \(personNumber)") }
        let bound: BoundCard
        do {
            bound = try await channel.bindCard(number: number, holderIDNumber: person.idNumber, holderName: person.name)
        } catch ChannelError.bindingRefused(let reason) {
            throw Refusal(.cardRefused, reason, field: "card_number")
        } catch let error as ChannelError {
            throw Refusal(.paymentPending, "the bank did not answer (\(error)); try again", retryAfterSeconds: 5)
        }
        let id = ids.next("F")
        let ids = self.ids
        let channelName = channel.name
        return try await write { db, now in
            let existing = try FundingSourceRepository.list(person: personNumber, in: db)
            if existing.contains(where: { $0.token == bound.token }) { throw Refusal(.alreadyExists, "this card is already bound") }
            let source = FundingSource(
                id: id, personNumber: personNumber, channel: channelName, kind: bound.kind, token: bound.token, masked: bound.masked,
                bank: bound.bank, isDefault: existing.isEmpty
            )
            try FundingSourceRepository.insert(source, now: now, in: db)
            try AuditRepository.append(
                actor: "patient:" + personNumber, action: "funding.bind", subject: personNumber, value: ["source": id, "card": bound.masked],
                now: now, in: db
            )
            try Events.notice(
                person: personNumber, topic: "security.card_bound", title: "绑定银行卡", body: "已绑定 \(bound.bank) \(bound.masked)。", ids: ids, now: now,
                in: db
            )
            return source
        }
    }

    /// A person's funding sources.
    public func fundingSources(person: String) async throws -> [FundingSource] {
        try await read { db, _ in try FundingSourceRepository.list(person: person, in: db) }
    }

    /// Makes a source the person's default for the cash part.
    public func setDefaultFundingSource(id: String, person: String) async throws {
        let done = try await write { db, _ in try FundingSourceRepository.setDefault(id: id, person: person, in: db) }
        if !done { throw Refusal(.notFound, "no funding source \(id)") }
    }

    /// Removes a funding source.
    public func removeFundingSource(id: String, person: String) async throws {
        let done = try await write { db, now in
            if let line = try CreditRepository.find(fundingSource: id, lock: true, in: db), line.personNumber == person {
                let owed = try CreditBook.owed(line: line.id, in: db)
                if owed.isPositive {
                    throw Refusal(
                        .alreadyExists, "you owe \(owed) yuan on this credit line: repay it before removing it", references: ["line_id": line.id])
                }
            }
            let done = try FundingSourceRepository.remove(id: id, person: person, now: now, in: db)
            if done {
                try AuditRepository.append(
                    actor: "patient:" + person, action: "funding.remove", subject: person, value: ["source": id], now: now, in: db)
                if try CreditRepository.authorisation(person: person, in: db)?.fundingSourceId == id {
                    _ = try CreditRepository.revoke(person: person, now: now, in: db)
                    try AuditRepository.append(
                        actor: "patient:" + person, action: "frictionless.revoke", subject: person, value: ["reason": "source removed"], now: now,
                        in: db)
                }
            }
            return done
        }
        if !done { throw Refusal(.notFound, "no funding source \(id)") }
    }
}
