/// The kinds of ledger account. Balances are signed: the platform-held kinds (personal accounts,
/// funds, amounts owed to institutions) carry positive balances; the external kinds (payment
/// channels, contribution income, payouts) stand for the world outside and carry the opposite sign,
/// so that the balances of all accounts always sum to zero.
public enum AccountKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// 个人账户: a person's personal account. Never negative.
    case personal
    /// A fund of a region and insurance type (`owner` = `region-insutype-fund_pay_type`).
    case fund
    /// Owed by the bureau to an institution for fund and personal-account payments, until cleared.
    case institutionClearing = "institution_clearing"
    /// Owed by a payment channel to an institution for cash it collected.
    case institutionChannel = "institution_channel"
    /// A payment channel (bank, card network): cash that entered through it. External.
    case channel
    /// Contribution income of a region (premiums, account allocations). External.
    case contributions
    /// Money paid out of the platform to institutions by clearing. External.
    case payouts
    /// What a borrower owes a partner bank on a medical credit line (`owner` = the line id): principal,
    /// penalty interest and fees. Kept by Yibao for the partner, mirrored by `creditPartner`.
    case creditLine = "credit_line"
    /// A partner bank's side of the credit lines it granted (`owner` = the partner id). External.
    case creditPartner = "credit_partner"
    /// A commercial plan insurer's fund (`owner` = the insurer's code): plan premiums enter it, what the
    /// plan pays in settlements leaves it (owed to the institution until clearing, claimed from the
    /// insurer). Like a fund, it goes below zero when the plan has paid more than it collected here.
    case insurer

    /// Whether the balance may go below zero. Only personal accounts are guarded: a debit that would
    /// overdraw one is refused inside the transaction that writes it.
    public var mayGoNegative: Bool { self != .personal }
}

/// A ledger account's identity: its kind and owner, e.g. `personal:P44010000000001`.
public struct AccountID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The kind.
    public let kind: AccountKind
    /// The owner: a person number, an institution code, a channel name or a fund path.
    public let owner: String

    /// Creates an account id.
    public init(_ kind: AccountKind, _ owner: String) {
        self.kind = kind
        self.owner = owner
    }

    /// A person's personal account.
    public static func personal(_ personNumber: String) -> AccountID { AccountID(.personal, personNumber) }
    /// A region's fund of one type.
    public static func fund(_ region: RegionCode, _ insurance: InsuranceType, _ type: FundPayType) -> AccountID {
        AccountID(.fund, "\(region)-\(insurance.rawValue)-\(type.rawValue)")
    }
    /// What the bureau owes an institution.
    public static func institutionClearing(_ code: String) -> AccountID { AccountID(.institutionClearing, code) }
    /// What a channel owes an institution.
    public static func institutionChannel(_ code: String) -> AccountID { AccountID(.institutionChannel, code) }
    /// A payment channel.
    public static func channel(_ name: String) -> AccountID { AccountID(.channel, name) }
    /// A medical credit line's amount owed.
    public static func creditLine(_ id: String) -> AccountID { AccountID(.creditLine, id) }
    /// A partner bank's side of its credit lines.
    public static func creditPartner(_ partner: String) -> AccountID { AccountID(.creditPartner, partner) }
    /// A commercial plan insurer's fund.
    public static func insurer(_ code: String) -> AccountID { AccountID(.insurer, code) }
    /// What clearing paid out to an institution.
    public static func payouts(_ institution: String) -> AccountID { AccountID(.payouts, institution) }
    /// A region's contribution income.
    public static func contributions(_ region: RegionCode) -> AccountID { AccountID(.contributions, region.value) }

    /// The stored key, `kind:owner`.
    public var key: String { kind.rawValue + ":" + owner }

    /// Parses a stored key.
    public init?(key: String) {
        guard let colon = key.firstIndex(of: ":"), let kind = AccountKind(rawValue: String(key[..<colon])) else { return nil }
        self.kind = kind
        self.owner = String(key[key.index(after: colon)...])
    }

    public static func < (lhs: AccountID, rhs: AccountID) -> Bool { lhs.key < rhs.key }
    public var description: String { key }
}

/// One line of a journal entry: an amount added to (positive) or taken from (negative) an account.
public struct Posting: Sendable, Hashable, Codable {
    /// The account.
    public let account: AccountID
    /// The signed amount.
    public let amount: Money

    /// Creates a posting.
    public init(_ account: AccountID, _ amount: Money) {
        self.account = account
        self.amount = amount
    }
}

/// What a journal entry records.
public enum EntryKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A settlement's fund, account and channel-cash movements.
    case settlement
    /// The exact negation of a settlement.
    case reversal
    /// A partial refund of a settlement.
    case refund
    /// Money put into a personal account (enrolment opening balance, monthly allocation).
    case accountCredit = "account_credit"
    /// A premium (contribution) paid into a fund.
    case premium
    /// Fund money paid out to an institution (清算).
    case clearing
    /// Penalty interest or a fee charged on a medical credit line.
    case creditCharge = "credit_charge"
    /// A repayment of a medical credit line (from a card or the personal account).
    case creditRepayment = "credit_repayment"
}

/// A balanced journal entry: postings that sum to zero, written in the same database transaction as
/// the business record it belongs to. Entries are immutable; corrections are new entries.
public struct JournalEntry: Sendable, Hashable, Codable {
    /// The entry id.
    public let id: String
    /// What it records.
    public let kind: EntryKind
    /// The business record (settlement, refund, premium …) it belongs to.
    public let reference: String
    /// When it was written.
    public let at: Instant
    /// The postings, one per account, sorted by account; none is zero.
    public let postings: [Posting]

    /// The most postings one entry may have.
    public static let postingsMax = 16

    /// Creates an entry from movements, merging movements of the same account and dropping zeros.
    /// Returns nil when nothing moves. Traps unless the movements sum to zero: an unbalanced entry is
    /// a bug, never input.
    public init?(id: String, kind: EntryKind, reference: String, at: Instant, movements: [Posting]) {
        var byAccount: [AccountID: Money] = [:]
        for movement in movements { byAccount[movement.account, default: .zero] += movement.amount }
        let postings = byAccount.filter { $0.value != .zero }.map { Posting($0.key, $0.value) }.sorted { $0.account < $1.account }
        precondition(Money.sum(movements.map(\.amount)) == .zero, "journal entry \(kind) \(reference) does not balance")
        precondition(postings.count <= JournalEntry.postingsMax, "too many postings")
        guard !postings.isEmpty else { return nil }
        self.id = id
        self.kind = kind
        self.reference = reference
        self.at = at
        self.postings = postings
    }
}
