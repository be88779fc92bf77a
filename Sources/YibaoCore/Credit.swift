/// "Treat first, pay later" (信用就医 / 信用无感支付): a partner bank's dedicated medical credit line,
/// the patient's signed authorisation for frictionless settlement, bills, repayment, penalty interest
/// and suspension. The rules here are pure; docs/credit.md explains them with examples.

/// A partner bank's contract terms for medical credit lines.
public struct CreditTerms: Sendable, Hashable, Codable {
    /// The partner's id (`sandbox` for the built-in sandbox bank); the ledger's `credit_partner:<id>`.
    public var partner: String
    /// The partner's name, shown to patients.
    public var partnerName: String
    /// The day of the month a bill is drawn up (1–28): a cycle runs from the previous billing day (00:00
    /// China time) up to this one, exclusive.
    public var billingDay: Int
    /// Days from the billing day to the due date (免息期); nothing accrues until the due date has passed.
    public var graceDays: Int
    /// Penalty interest per overdue day, in basis points of the bill's unpaid principal (5 = 0.05 % a day).
    public var penaltyBasisPointsPerDay: Int
    /// A fee charged once on a bill's first overdue day (滞纳金), 0 for none.
    public var lateFee: Money
    /// The credit function is suspended when a bill is this many days overdue (and a credit-report
    /// record is written); it is reinstated when nothing is overdue any more.
    public var suspendAfterOverdueDays: Int

    /// Creates terms.
    public init(
        partner: String, partnerName: String, billingDay: Int, graceDays: Int, penaltyBasisPointsPerDay: Int, lateFee: Money,
        suspendAfterOverdueDays: Int
    ) {
        self.partner = partner
        self.partnerName = partnerName
        self.billingDay = billingDay
        self.graceDays = graceDays
        self.penaltyBasisPointsPerDay = penaltyBasisPointsPerDay
        self.lateFee = lateFee
        self.suspendAfterOverdueDays = suspendAfterOverdueDays
    }

    /// The built-in sandbox bank's terms (the demo and tests; an administrator can change them).
    public static let sandbox = CreditTerms(
        partner: "sandbox", partnerName: "沙箱银行 Sandbox Bank", billingDay: 5, graceDays: 20, penaltyBasisPointsPerDay: 5, lateFee: .yuan(10),
        suspendAfterOverdueDays: 30
    )

    /// What is wrong with these terms, as (field, message); empty when they are usable.
    public var problems: [(field: String, message: String)] {
        var problems: [(String, String)] = []
        if partner.isEmpty || partner.utf8.count > 30 || !partner.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) {
            problems.append(("partner", "partner is 1 to 30 letters, digits or dashes"))
        }
        if partnerName.isEmpty || partnerName.count > 100 { problems.append(("partner_name", "partner_name is 1 to 100 characters")) }
        if !(1...28).contains(billingDay) { problems.append(("billing_day", "billing_day is 1 to 28, so that every month has it")) }
        if !(0...60).contains(graceDays) { problems.append(("grace_days", "grace_days is 0 to 60")) }
        if !(0...100).contains(penaltyBasisPointsPerDay) {
            problems.append(("penalty_basis_points_per_day", "penalty_basis_points_per_day is 0 to 100 (1 % a day)"))
        }
        if lateFee.isNegative || lateFee > .yuan(1_000) { problems.append(("late_fee", "late_fee is 0 to 100,000 fen")) }
        if !(1...365).contains(suspendAfterOverdueDays) { problems.append(("suspend_after_overdue_days", "suspend_after_overdue_days is 1 to 365")) }
        return problems
    }

    /// The statement date of a cycle that contains `date`: the first billing day after it.
    public func statementDate(after date: CivilDate) -> CivilDate {
        let thisMonth = CivilDate(year: date.year, month: date.month, day: billingDay)!
        if date < thisMonth { return thisMonth }
        let next = date.firstOfNextMonth
        return CivilDate(year: next.year, month: next.month, day: billingDay)!
    }

    /// The due date of a bill drawn up on a statement date.
    public func dueDate(statement: CivilDate) -> CivilDate { statement.adding(days: Int64(graceDays)) }
}

/// Where a credit line stands.
public enum CreditLineState: String, Sendable, Hashable, Codable, CaseIterable {
    /// In use.
    case active
    /// Suspended for an overdue bill: no new frictionless visits or payments until repaid.
    case suspended
}

/// A patient's medical credit line at a partner bank, as Yibao keeps it.
public struct CreditLine: Sendable, Hashable, Codable {
    /// The line's id.
    public var id: String
    /// The borrower.
    public var personNumber: String
    /// The partner bank.
    public var partner: String
    /// The funding source that pays with the line.
    public var fundingSourceId: String
    /// The line as shown: `医疗信用 **** 1234`.
    public var masked: String
    /// The limit the bank granted.
    public var creditLimit: Money
    /// Active or suspended.
    public var state: CreditLineState
    /// The contract terms when the line was opened.
    public var terms: CreditTerms
    /// When opened.
    public var openedAt: Instant
    /// When suspended, while suspended.
    public var suspendedAt: Instant?
    /// The next statement date.
    public var nextStatement: CivilDate
    /// The last day the daily job (or a repayment) brought the line up to date.
    public var processedThrough: CivilDate?

    /// Creates a line.
    public init(
        id: String, personNumber: String, partner: String, fundingSourceId: String, masked: String, creditLimit: Money, state: CreditLineState,
        terms: CreditTerms, openedAt: Instant, suspendedAt: Instant? = nil, nextStatement: CivilDate, processedThrough: CivilDate? = nil
    ) {
        self.id = id
        self.personNumber = personNumber
        self.partner = partner
        self.fundingSourceId = fundingSourceId
        self.masked = masked
        self.creditLimit = creditLimit
        self.state = state
        self.terms = terms
        self.openedAt = openedAt
        self.suspendedAt = suspendedAt
        self.nextStatement = nextStatement
        self.processedThrough = processedThrough
    }
}

/// A bill (账单): what a cycle's purchases and refunds came to, and what is still owed on it.
public struct CreditBill: Sendable, Hashable, Codable {
    /// The bill's id.
    public var id: String
    /// The line.
    public var lineId: String
    /// The first day of the cycle.
    public var cycleStart: CivilDate
    /// The statement date (the cycle ends before it).
    public var statementDate: CivilDate
    /// The last day to pay without penalty.
    public var dueDate: CivilDate
    /// The cycle's purchases less its refunds (本期账单金额).
    public var principalBilled: Money
    /// Principal still owed.
    public var principalDue: Money
    /// Penalty interest still owed.
    public var interestDue: Money
    /// Fees still owed.
    public var feesDue: Money
    /// Penalty interest charged so far.
    public var interestCharged: Money
    /// Fees charged so far.
    public var feesCharged: Money
    /// The fraction of a fen of penalty interest carried to the next day, in 1/10,000 fen.
    public var interestCarry: Int64
    /// The last day penalty interest was charged for.
    public var accruedThrough: CivilDate?
    /// When everything on it was paid.
    public var paidAt: Instant?

    /// Creates a bill.
    public init(
        id: String, lineId: String, cycleStart: CivilDate, statementDate: CivilDate, dueDate: CivilDate, principalBilled: Money,
        principalDue: Money, interestDue: Money = .zero, feesDue: Money = .zero, interestCharged: Money = .zero, feesCharged: Money = .zero,
        interestCarry: Int64 = 0, accruedThrough: CivilDate? = nil, paidAt: Instant? = nil
    ) {
        self.id = id
        self.lineId = lineId
        self.cycleStart = cycleStart
        self.statementDate = statementDate
        self.dueDate = dueDate
        self.principalBilled = principalBilled
        self.principalDue = principalDue
        self.interestDue = interestDue
        self.feesDue = feesDue
        self.interestCharged = interestCharged
        self.feesCharged = feesCharged
        self.interestCarry = interestCarry
        self.accruedThrough = accruedThrough
        self.paidAt = paidAt
    }

    /// Everything still owed on the bill.
    public var amountDue: Money { principalDue + interestDue + feesDue }

    /// Days past the due date on a date (0 when not overdue or nothing is owed).
    public func overdueDays(on date: CivilDate) -> Int {
        guard amountDue.isPositive, date > dueDate else { return 0 }
        return Int(date.daysSinceEpoch - dueDate.daysSinceEpoch)
    }

    /// `paid`, `overdue` or `open` on a date.
    public func status(on date: CivilDate) -> String {
        amountDue == .zero ? "paid" : overdueDays(on: date) > 0 ? "overdue" : "open"
    }
}

/// What an entry on a credit line records. Amounts are signed from the borrower's side: positive adds
/// to what is owed, negative takes from it. The entries of a line sum to what the borrower owes.
public enum CreditEntryKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The line paid a cash part (a settlement).
    case purchase
    /// A refund or reversal of such a payment, back to the line.
    case refund
    /// A repayment (from a card or the personal account).
    case repayment
    /// Penalty interest for overdue days.
    case interest
    /// A late fee.
    case fee
    /// A credit moved between bills, or carried to the next cycle (the pair sums to zero).
    case transfer
}

/// One entry on a credit line.
public struct CreditEntry: Sendable, Hashable, Codable {
    /// The entry's id.
    public var id: String
    /// The line.
    public var lineId: String
    /// What it is.
    public var kind: CreditEntryKind
    /// Signed: positive adds to what is owed.
    public var amount: Money
    /// The settlement, refund or repayment it comes from (nil for interest and fees).
    public var reference: String?
    /// The bill it is on; nil while in the current cycle.
    public var billId: String?
    /// When.
    public var at: Instant
    /// A human explanation ("penalty interest 2026-06-26…2026-06-30, 5 days on 1,234.57").
    public var note: String

    /// Creates an entry.
    public init(id: String, lineId: String, kind: CreditEntryKind, amount: Money, reference: String?, billId: String?, at: Instant, note: String) {
        self.id = id
        self.lineId = lineId
        self.kind = kind
        self.amount = amount
        self.reference = reference
        self.billId = billId
        self.at = at
        self.note = note
    }
}

/// How a credit (a repayment or a refund) is split over what is owed.
public struct CreditAllocation: Sendable, Hashable, Codable {
    /// One bill's share.
    public struct Share: Sendable, Hashable, Codable {
        /// The bill.
        public var billId: String
        /// To fees.
        public var fees: Money
        /// To penalty interest.
        public var interest: Money
        /// To principal.
        public var principal: Money
        /// The share's total.
        public var total: Money { fees + interest + principal }
    }

    /// The bills' shares, oldest bill first.
    public var shares: [Share]
    /// To the current cycle's unbilled purchases.
    public var unbilled: Money
    /// What is left over (a credit balance for refunds; never for repayments).
    public var remainder: Money

    /// The principal part of the whole allocation (what restores the limit at the bank).
    public var principal: Money { Money.sum(shares.map(\.principal)) + unbilled }

    /// A repayment: bills oldest first, within each bill fees, then interest, then principal; then the
    /// current cycle's unbilled purchases. The caller refuses a repayment larger than what is owed.
    public static func repayment(_ amount: Money, bills: [CreditBill], unbilled: Money) -> CreditAllocation {
        var left = amount
        var shares: [Share] = []
        for bill in bills.sorted(by: { ($0.statementDate, $0.id) < ($1.statementDate, $1.id) }) where bill.amountDue.isPositive && left.isPositive {
            let fees = min(left, bill.feesDue)
            left -= fees
            let interest = min(left, bill.interestDue)
            left -= interest
            let principal = min(left, bill.principalDue)
            left -= principal
            shares.append(Share(billId: bill.id, fees: fees, interest: interest, principal: principal))
        }
        let toUnbilled = min(left, max(unbilled, .zero))
        return CreditAllocation(shares: shares, unbilled: toUnbilled, remainder: left - toUnbilled)
    }

    /// A refund back to the line: first the current cycle's unbilled purchases (the refunded purchase is
    /// most often there), then the principal of bills oldest first; whatever is left is a credit balance
    /// that the next bill nets against. Refunds never pay interest or fees.
    public static func refund(_ amount: Money, bills: [CreditBill], unbilled: Money) -> CreditAllocation {
        var left = amount
        let toUnbilled = min(left, max(unbilled, .zero))
        left -= toUnbilled
        var shares: [Share] = []
        for bill in bills.sorted(by: { ($0.statementDate, $0.id) < ($1.statementDate, $1.id) }) where bill.principalDue.isPositive && left.isPositive
        {
            let principal = min(left, bill.principalDue)
            left -= principal
            shares.append(Share(billId: bill.id, fees: .zero, interest: .zero, principal: principal))
        }
        return CreditAllocation(shares: shares, unbilled: toUnbilled, remainder: left)
    }
}

/// Penalty interest in integer arithmetic.
///
/// One overdue day's interest on a bill is `principal × rate / 10,000` fen, where principal is the bill's
/// unpaid principal (in fen) and rate is in basis points per day. The fraction of a fen is not rounded
/// away: it is carried to the next day in the bill's carry (in 1/10,000 fen), and whole fen are charged.
/// So over any run of days the interest charged is ⌊Σ principalᵈ × rate / 10,000⌋ fen exactly, never more.
public enum PenaltyInterest {
    /// One day's interest and the new carry.
    public static func day(principal: Money, basisPoints: Int, carry: Int64) -> (interest: Money, carry: Int64) {
        let (product, overflow) = principal.fen.multipliedReportingOverflow(by: Int64(basisPoints))
        precondition(!overflow, "interest overflow")
        let total = product + carry
        return (Money(fen: total / 10_000), total % 10_000)
    }
}

/// The order in which a frictionless settlement pays the patient's part.
public enum PaymentPriority: String, Sendable, Hashable, Codable, CaseIterable {
    /// The personal account pays what it may; the card or credit line the rest.
    case accountFirst = "account_first"
    /// The card or credit line pays all of it; the personal account is kept.
    case sourceFirst = "source_first"
    /// The personal account must pay all of it; otherwise the frictionless payment fails.
    case accountOnly = "account_only"
}

/// A patient's signed, revocable authorisation to settle visits registered as frictionless without a
/// code (无感支付授权): which source pays and in which order.
public struct FrictionlessAuthorisation: Sendable, Hashable, Codable {
    /// The authorisation's id.
    public var id: String
    /// The patient.
    public var personNumber: String
    /// The card or credit line that pays (nil for account only).
    public var fundingSourceId: String?
    /// The order.
    public var priority: PaymentPriority
    /// The version of the consent text signed.
    public var consentVersion: String
    /// SHA-256 of the consent text and the choices, as signed.
    public var consentDigest: String
    /// When signed (with the patient's second factor).
    public var signedAt: Instant
    /// When revoked.
    public var revokedAt: Instant?

    /// Creates an authorisation.
    public init(
        id: String, personNumber: String, fundingSourceId: String?, priority: PaymentPriority, consentVersion: String, consentDigest: String,
        signedAt: Instant, revokedAt: Instant? = nil
    ) {
        self.id = id
        self.personNumber = personNumber
        self.fundingSourceId = fundingSourceId
        self.priority = priority
        self.consentVersion = consentVersion
        self.consentDigest = consentDigest
        self.signedAt = signedAt
        self.revokedAt = revokedAt
    }

    /// The consent text the patient signs (version 1).
    public static let consentVersion1 = "2026-1"
    /// The words of the consent.
    public static func consentText(priority: PaymentPriority, source: String?) -> String {
        let order: String
        switch priority {
        case .accountFirst: order = "先由个人账户支付，不足部分由\(source ?? "所选支付方式")支付"
        case .sourceFirst: order = "由\(source ?? "所选支付方式")支付个人负担部分，不使用个人账户"
        case .accountOnly: order = "仅由个人账户支付；个人账户不足时本次无感支付失败"
        }
        return "本人授权定点医药机构在本人登记无感支付的就诊结束后，无需出示医保码即为本人办理医保结算；个人负担部分\(order)。本人可随时撤销本授权，撤销后不再办理无感支付。"
    }
}

/// The boundary to a partner bank's medical credit-line service: applications, repayments of
/// principal, suspension, and credit-report records. The built-in sandbox bank implements it
/// (docs/credit.md describes its credit standing model); a real adapter calls the partner's API.
/// Payments *with* a line go through `PaymentChannel` like any card (the line is a funding source).
public protocol CreditProvider: Sendable {
    /// The partner's id (its terms are `CreditTerms` with this `partner`).
    var partner: String { get }
    /// Decides an application. Idempotent per person: a second application returns the line already granted.
    func apply(_ application: CreditApplication) async throws -> CreditDecision
    /// Tells the bank that principal was repaid (restores the available limit). Idempotent on `reference`.
    func repay(token: String, reference: String, principal: Money) async throws
    /// Suspends or reinstates a line at the bank.
    func setSuspended(token: String, suspended: Bool) async throws
    /// Delivers a credit-report record (征信报送) about a line. Idempotent on the record's id.
    func report(_ record: CreditReport) async throws

    /// False for `UnconfiguredParty`: no partner bank is wired in.
    var isConfigured: Bool { get }
}

extension CreditProvider {
    /// A real adapter (and the sandbox) is configured.
    public var isConfigured: Bool { true }
}

/// What Yibao sends the bank with an application (the bank's own checks use its credit bureau).
public struct CreditApplication: Sendable, Hashable, Codable {
    /// Yibao's application id.
    public var reference: String
    /// The applicant's ID number (the bank's key at the credit bureau).
    public var idNumber: String
    /// The applicant's name.
    public var name: String
    /// Date of birth.
    public var birthDate: CivilDate
    /// 险种: employee or resident.
    public var insuranceType: InsuranceType
    /// Whether the insurance is active now.
    public var insured: Bool

    /// Creates an application.
    public init(reference: String, idNumber: String, name: String, birthDate: CivilDate, insuranceType: InsuranceType, insured: Bool) {
        self.reference = reference
        self.idNumber = idNumber
        self.name = name
        self.birthDate = birthDate
        self.insuranceType = insuranceType
        self.insured = insured
    }
}

/// The bank's decision.
public enum CreditDecision: Sendable, Hashable {
    /// Granted: the line (to pay with, as a funding source) and its limit.
    case approved(BoundCard, limit: Money)
    /// Refused, with the bank's reason for the patient.
    case refused(String)
}

/// A record for credit reporting (征信): a line went overdue and was suspended, or the overdue amount
/// was repaid.
public struct CreditReport: Sendable, Hashable, Codable {
    /// The record's id.
    public var id: String
    /// The line.
    public var lineId: String
    /// The bank's token of the line.
    public var token: String
    /// The borrower's person number.
    public var personNumber: String
    /// `overdue` (suspended) or `repaid`.
    public var kind: String
    /// The amount overdue (for `overdue`) or repaid (for `repaid`).
    public var amount: Money
    /// Days overdue when written.
    public var overdueDays: Int
    /// When written.
    public var at: Instant

    /// Creates a record.
    public init(id: String, lineId: String, token: String, personNumber: String, kind: String, amount: Money, overdueDays: Int, at: Instant) {
        self.id = id
        self.lineId = lineId
        self.token = token
        self.personNumber = personNumber
        self.kind = kind
        self.amount = amount
        self.overdueDays = overdueDays
        self.at = at
    }
}

/// A repayment of a credit line.
public struct CreditRepayment: Sendable, Hashable, Codable {
    /// Where the money comes from.
    public enum Source: String, Sendable, Hashable, Codable {
        /// The borrower's personal account (where the region's policy allows).
        case account
        /// A bound card.
        case fundingSource = "funding_source"
    }

    /// Where it stands.
    public enum State: String, Sendable, Hashable, Codable {
        /// Waiting for the card's bank.
        case pending
        /// Done and allocated.
        case completed
        /// The card's bank refused it; nothing moved.
        case declined
        /// Never taken; nothing moved.
        case cancelled
    }

    /// The repayment's id.
    public var id: String
    /// The line repaid.
    public var lineId: String
    /// The borrower.
    public var personNumber: String
    /// Account or card.
    public var source: Source
    /// The card, for a card repayment.
    public var fundingSourceId: String?
    /// The amount.
    public var amount: Money
    /// Where it stands.
    public var state: State
    /// How it was applied (fees, interest, principal per bill), once completed.
    public var allocation: CreditAllocation?
    /// Why the card's bank refused.
    public var declineReason: DeclineReason?
    /// When asked.
    public var createdAt: Instant
    /// When completed.
    public var completedAt: Instant?

    /// Creates a repayment.
    public init(
        id: String, lineId: String, personNumber: String, source: Source, fundingSourceId: String?, amount: Money, state: State,
        allocation: CreditAllocation?, declineReason: DeclineReason?, createdAt: Instant, completedAt: Instant?
    ) {
        self.id = id
        self.lineId = lineId
        self.personNumber = personNumber
        self.source = source
        self.fundingSourceId = fundingSourceId
        self.amount = amount
        self.state = state
        self.allocation = allocation
        self.declineReason = declineReason
        self.createdAt = createdAt
        self.completedAt = completedAt
    }
}

/// A credit line the bureau watches (逾期、暂停): suspended, or with bills past their due date.
public struct CreditDelinquency: Sendable, Hashable, Codable {
    /// The line.
    public var lineId: String
    /// The borrower.
    public var personNumber: String
    /// The partner bank.
    public var partner: String
    /// Active or suspended.
    public var state: CreditLineState
    /// When it was suspended.
    public var suspendedAt: Instant?
    /// Unpaid bills past their due date on `asOf`.
    public var overdueBills: Int
    /// What those bills still owe: principal, interest and fees.
    public var overdueOwed: Money
    /// The oldest due date missed.
    public var oldestDue: CivilDate?
    /// Days since the oldest due date missed.
    public var overdueDays: Int64
    /// The day it is measured on.
    public var asOf: CivilDate

    /// The delinquency of a line on a day from its unpaid bills; nil when it is neither suspended nor overdue.
    public static func of(_ line: CreditLine, unpaid: [CreditBill], on day: CivilDate) -> CreditDelinquency? {
        let overdue = unpaid.filter { $0.dueDate < day }
        guard line.state == .suspended || !overdue.isEmpty else { return nil }
        let oldest = overdue.map(\.dueDate).min()
        return CreditDelinquency(
            lineId: line.id, personNumber: line.personNumber, partner: line.partner, state: line.state, suspendedAt: line.suspendedAt,
            overdueBills: overdue.count, overdueOwed: Money.sum(overdue.map { $0.principalDue + $0.interestDue + $0.feesDue }), oldestDue: oldest,
            overdueDays: oldest.map { day.daysSinceEpoch - $0.daysSinceEpoch } ?? 0, asOf: day)
    }
}
