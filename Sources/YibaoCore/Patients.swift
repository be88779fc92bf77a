/// A patient's phone device enrolled for e-voucher codes. The secret never leaves the store except
/// once, at enrolment, to the phone.
public struct Device: Sendable, Hashable, Codable {
    /// The device's id.
    public var id: String
    /// The public 10-digit device number inside every code (random, not personal).
    public var number: String
    /// The person it belongs to.
    public var personNumber: String
    /// A name the patient chose ("张伟的手机").
    public var name: String
    /// When it was enrolled.
    public var enrolledAt: Instant
    /// When it was revoked, if it was.
    public var revokedAt: Instant?

    /// Creates a device.
    public init(id: String, number: String, personNumber: String, name: String, enrolledAt: Instant, revokedAt: Instant?) {
        self.id = id
        self.number = number
        self.personNumber = personNumber
        self.name = name
        self.enrolledAt = enrolledAt
        self.revokedAt = revokedAt
    }
}

/// A patient's signed-in session.
public struct PatientSession: Sendable, Hashable {
    /// The session id (not the token).
    public var id: String
    /// The person.
    public var personNumber: String
    /// When the session stops working.
    public var expiresAt: Instant
    /// When this session last proved the second factor (at sign-in, or a later authenticator code).
    public var secondFactorAt: Instant?

    /// Creates a session.
    public init(id: String, personNumber: String, expiresAt: Instant, secondFactorAt: Instant? = nil) {
        self.id = id
        self.personNumber = personNumber
        self.expiresAt = expiresAt
        self.secondFactorAt = secondFactorAt
    }
}

/// A funding source a patient bound: the channel's token and what to show.
public struct FundingSource: Sendable, Hashable, Codable {
    /// The source's id.
    public var id: String
    /// The person.
    public var personNumber: String
    /// The channel holding it.
    public var channel: String
    /// Debit, credit, or a medical credit line.
    public var kind: CardKind
    /// The channel's token.
    public var token: String
    /// What to show: `6222 **** **** 1234`.
    public var masked: String
    /// The bank.
    public var bank: String
    /// The patient's default source for the cash part.
    public var isDefault: Bool

    /// Creates a funding source.
    public init(id: String, personNumber: String, channel: String, kind: CardKind, token: String, masked: String, bank: String, isDefault: Bool) {
        self.id = id
        self.personNumber = personNumber
        self.channel = channel
        self.kind = kind
        self.token = token
        self.masked = masked
        self.bank = bank
        self.isDefault = isDefault
    }
}

/// Password rules for patients: at least 10 characters with a letter and a digit, not the phone
/// number or the ID number.
public enum PasswordPolicy {
    /// The shortest password accepted.
    public static let lengthMin = 10
    /// The longest (bcrypt reads 72 bytes).
    public static let lengthMax = 72

    /// Why a password is refused, or nil.
    public static func problem(_ password: String, phone: String, idNumber: String) -> String? {
        if let problem = shapeProblem(password) { return problem }
        if password.contains(phone) || password.uppercased().contains(idNumber.uppercased().suffix(8)) {
            return "a password must not contain the phone number or the ID number"
        }
        return nil
    }

    /// Why a staff member's password is refused (the same length and mix; not containing the login
    /// name), or nil.
    public static func problem(_ password: String, loginName: String) -> String? {
        if let problem = shapeProblem(password) { return problem }
        if password.lowercased().contains(loginName.lowercased()) { return "a password must not contain the login name" }
        return nil
    }

    private static func shapeProblem(_ password: String) -> String? {
        if password.utf8.count < lengthMin || password.utf8.count > lengthMax {
            return "a password has \(lengthMin) to \(lengthMax) characters"
        }
        if !password.contains(where: \.isLetter) || !password.contains(where: \.isNumber) {
            return "a password has at least one letter and one digit"
        }
        return nil
    }
}
