import Foundation

/// The roles of an institution's staff at the counter. A manager may do what a cashier does and also
/// manages the institution's staff.
public enum StaffRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// Settles, refunds and reverses at the counter; reads the day's settlements.
    case cashier
    /// Also creates and disables the institution's staff accounts.
    case manager
}

/// A member of an institution's staff who signs in to the cashier console (password and authenticator).
public struct StaffMember: Sendable, Hashable, Codable {
    /// 定点医药机构编号 `fixmedins_code` of the employer.
    public var institutionCode: String
    /// The login name, unique within the institution (3–32 of a–z, 0–9, `.`, `_`, `-`).
    public var name: String
    /// The name shown on screens and in the audit log (收款员姓名).
    public var displayName: String
    /// The role.
    public var role: StaffRole
    /// When the account was created.
    public var createdAt: Instant
    /// When it was disabled (every session ends), if it was.
    public var disabledAt: Instant?

    /// Creates a staff member.
    public init(institutionCode: String, name: String, displayName: String, role: StaffRole, createdAt: Instant, disabledAt: Instant? = nil) {
        self.institutionCode = institutionCode
        self.name = name
        self.displayName = displayName
        self.role = role
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }

    /// Whether `name` is a valid login name; a refusal saying why otherwise.
    public static func validateName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        guard (3...32).contains(name.count), name.allSatisfy(allowed.contains) else {
            throw Refusal.invalid("name", "a login name is 3 to 32 of a-z, 0-9, '.', '_' and '-'")
        }
    }

    /// Whether `displayName` is usable on a receipt; a refusal saying why otherwise.
    public static func validateDisplayName(_ displayName: String) throws {
        let trimmed = displayName.trimmingCharacters(in: .whitespaces)
        guard (1...40).contains(trimmed.count), !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Refusal.invalid("display_name", "the display name is 1 to 40 printable characters")
        }
    }
}

/// A signed-in staff member's session: the institution they act for and who they are.
public struct StaffSession: Sendable, Hashable, Codable {
    /// The session's id.
    public var id: String
    /// The institution the staff member acts for.
    public var institution: Institution
    /// The login name.
    public var name: String
    /// The display name.
    public var displayName: String
    /// The role.
    public var role: StaffRole
    /// When the session ends.
    public var expiresAt: Instant

    /// Creates a session.
    public init(id: String, institution: Institution, name: String, displayName: String, role: StaffRole, expiresAt: Instant) {
        self.id = id
        self.institution = institution
        self.name = name
        self.displayName = displayName
        self.role = role
        self.expiresAt = expiresAt
    }

    /// How the audit log and the journal name this staff member: `institution:<code>/staff:<name>`.
    public var actor: String { "institution:\(institution.code)/staff:\(name)" }
}

/// An institution's counter on one day (China time): its settlements, refunds and reversals, newest
/// first, and the net of those completed.
public struct CounterDay: Sendable, Hashable, Codable {
    /// The net of a day's completed records: refunds and reversals count negative.
    public struct Totals: Sendable, Hashable, Codable {
        /// Completed settlements (not counting refunds and reversals).
        public var settlements: Int
        /// Completed refunds and reversals.
        public var givenBack: Int
        /// 医疗费总额 `medfee_sumamt`, net.
        public var total: Money
        /// 基金支付 `fund_pay_sumamt`, net.
        public var fund: Money
        /// 个人账户支付 `acct_pay` (with family mutual aid), net.
        public var account: Money
        /// 现金支付 `psn_cash_pay`, net.
        public var cash: Money
    }

    /// The day.
    public var day: CivilDate
    /// The records, newest first.
    public var records: [SettlementRecord]
    /// The net of the completed records.
    public var totals: Totals

    /// The day's records and their net.
    public init(day: CivilDate, records: [SettlementRecord]) {
        self.day = day
        self.records = records
        var totals = Totals(settlements: 0, givenBack: 0, total: .zero, fund: .zero, account: .zero, cash: .zero)
        for record in records where record.state == .completed {
            if record.kind == .settlement { totals.settlements += 1 } else { totals.givenBack += 1 }
            totals.total += record.breakdown.totalAmount
            totals.fund += record.breakdown.fundTotal
            totals.account += record.breakdown.accountPaid
            totals.cash += record.breakdown.cashPaid
        }
        self.totals = totals
    }
}
