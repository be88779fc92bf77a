/// One movement in a person's wallet history (医保数字钱包): a settlement, a reversal or refund, a
/// premium, a family member's account paying for someone, an account credit, a credit repayment.
/// Written in the same transaction as the business record; numbered per person so that paging by
/// number stays stable while new movements arrive.
public struct WalletEvent: Sendable, Hashable, Codable {
    /// The person whose wallet it is.
    public var personNumber: String
    /// The person's running number of movements (1, 2, 3 …).
    public var seq: Int64
    /// The movement's id.
    public var id: String
    /// What happened.
    public var kind: WalletEventKind
    /// The business record (settlement, premium …).
    public var reference: String
    /// When.
    public var at: Instant
    /// The institution, for care.
    public var institutionCode: String?
    /// Who the money went to or came from (an institution's name, "广州市医保基金", a family member masked).
    public var counterparty: String
    /// The total of the bill or payment (negative for money coming back).
    public var total: Money
    /// What the funds paid.
    public var fund: Money
    /// What this person's own personal account paid (negative when credited).
    public var account: Money
    /// What a family member's account paid for this person (or, on the family member's own history,
    /// what their account paid for someone else).
    public var mutualAid: Money
    /// What was paid in cash or from a card or credit line.
    public var cash: Money
    /// Who did it (an institution, the person, a family member acting for them, an operator).
    public var actor: String

    /// Creates an event.
    public init(
        personNumber: String, seq: Int64, id: String, kind: WalletEventKind, reference: String, at: Instant, institutionCode: String?,
        counterparty: String, total: Money, fund: Money, account: Money, mutualAid: Money, cash: Money, actor: String
    ) {
        self.personNumber = personNumber
        self.seq = seq
        self.id = id
        self.kind = kind
        self.reference = reference
        self.at = at
        self.institutionCode = institutionCode
        self.counterparty = counterparty
        self.total = total
        self.fund = fund
        self.account = account
        self.mutualAid = mutualAid
        self.cash = cash
        self.actor = actor
    }
}

/// Kinds of wallet movement.
public enum WalletEventKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// 医疗费用结算.
    case settlement
    /// 结算撤销.
    case reversal
    /// 退费.
    case refund
    /// 缴费.
    case premium
    /// 共济支付: this person's account paid for a family member.
    case mutualAidGiven = "mutual_aid_given"
    /// 账户划入: money put into the personal account.
    case accountCredit = "account_credit"
    /// 信用还款.
    case creditRepayment = "credit_repayment"
    /// 为家人支付: this person's card paid a family member's cash part.
    case familyPayment = "family_payment"
}

/// A message in a person's inbox: every movement, binding event and security event.
public struct InboxMessage: Sendable, Hashable, Codable {
    /// The person.
    public var personNumber: String
    /// Running number per person.
    public var seq: Int64
    /// The message id.
    public var id: String
    /// What it is about: `settlement.completed`, `device.enrolled`, `signed_in` …
    public var topic: String
    /// A short title.
    public var title: String
    /// The text.
    public var body: String
    /// The record it is about.
    public var reference: String?
    /// When.
    public var at: Instant
    /// When the person read it.
    public var readAt: Instant?

    /// Creates a message.
    public init(
        personNumber: String, seq: Int64, id: String, topic: String, title: String, body: String, reference: String?, at: Instant, readAt: Instant?
    ) {
        self.personNumber = personNumber
        self.seq = seq
        self.id = id
        self.topic = topic
        self.title = title
        self.body = body
        self.reference = reference
        self.at = at
        self.readAt = readAt
    }
}

/// A contribution kind a policy charges for (缴费险种).
public enum PremiumKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// 城乡居民基本医疗保险 individual contribution for a year (period `YYYY`).
    case residentAnnual = "resident_annual"
    /// 灵活就业人员 monthly contribution (period `YYYY-MM`).
    case flexibleMonthly = "flexible_monthly"
    /// A city's inclusive commercial plan (惠民保) for a year (period `YYYY`): paying it enrols the person
    /// in the plan of their region for that year. Its money goes to the insurer, not a fund.
    case commercialPlan = "commercial_plan"

    /// The insurance type the contribution is for; nil for a commercial plan (anyone insured may join).
    public var insuranceType: InsuranceType? {
        switch self {
        case .residentAnnual: return .resident
        case .flexibleMonthly: return .employee
        case .commercialPlan: return nil
        }
    }

    /// How a receipt or a message names it.
    public var chineseName: String {
        switch self {
        case .residentAnnual: return "城乡居民医保"
        case .flexibleMonthly: return "灵活就业医保"
        case .commercialPlan: return "惠民保"
        }
    }
}

/// What a policy charges for a contribution kind, and when payment is open.
public struct PremiumSchedule: Sendable, Hashable, Codable {
    /// The kind.
    public var kind: PremiumKind
    /// The amount per period (a year, or a month).
    public var amount: Money
    /// For annual contributions: the first and last day payment is accepted (China Standard Time).
    public var opens: CivilDate?
    /// See `opens`.
    public var closes: CivilDate?

    /// Creates a schedule.
    public init(kind: PremiumKind, amount: Money, opens: CivilDate? = nil, closes: CivilDate? = nil) {
        self.kind = kind
        self.amount = amount
        self.opens = opens
        self.closes = closes
    }

    /// Whether a period may be paid on `date`: an annual period between `opens` and `closes`; a
    /// month from the first day of the month before to the last day of the month after.
    public func isOpen(period: String, on date: CivilDate) -> Bool {
        switch kind {
        case .residentAnnual, .commercialPlan:
            guard let opens, let closes else { return false }
            return date >= opens && date <= closes
        case .flexibleMonthly:
            guard let month = PremiumSchedule.month(period) else { return false }
            let previous =
                month.month == 1 ? CivilDate(year: month.year - 1, month: 12, day: 1)! : CivilDate(year: month.year, month: month.month - 1, day: 1)!
            let after = month.firstOfNextMonth.firstOfNextMonth.adding(days: -1)
            return date >= previous && date <= after
        }
    }

    /// The first day of a `YYYY-MM` period.
    public static func month(_ period: String) -> CivilDate? {
        CivilDate(period + "-01").flatMap { period.count == 7 ? $0 : nil }
    }
}

/// A contribution payment (缴费记录).
public struct PremiumPayment: Sendable, Hashable, Codable {
    /// The payment's id (the receipt number).
    public var id: String
    /// The insured person the contribution is for.
    public var personNumber: String
    /// Who paid (the person, or a bound family member acting for them).
    public var payerNumber: String
    /// The insured person's region.
    public var region: RegionCode
    /// What kind.
    public var kind: PremiumKind
    /// The period: `YYYY` or `YYYY-MM`.
    public var period: String
    /// The amount, from the policy.
    public var amount: Money
    /// Where it stands.
    public var state: PremiumState
    /// The card or credit line charged.
    public var fundingSource: FundingSourceSummary?
    /// Why the bank declined, when it did.
    public var declineReason: DeclineReason?
    /// When it was asked for.
    public var createdAt: Instant
    /// When it was paid.
    public var paidAt: Instant?

    /// Creates a payment record.
    public init(
        id: String, personNumber: String, payerNumber: String, region: RegionCode, kind: PremiumKind, period: String, amount: Money,
        state: PremiumState, fundingSource: FundingSourceSummary?, declineReason: DeclineReason?, createdAt: Instant, paidAt: Instant?
    ) {
        self.id = id
        self.personNumber = personNumber
        self.payerNumber = payerNumber
        self.region = region
        self.kind = kind
        self.period = period
        self.amount = amount
        self.state = state
        self.fundingSource = fundingSource
        self.declineReason = declineReason
        self.createdAt = createdAt
        self.paidAt = paidAt
    }
}

/// Where a contribution payment stands.
public enum PremiumState: String, Sendable, Hashable, Codable {
    /// The bank is being asked.
    case pending
    /// Paid: coverage for the period is active.
    case paid
    /// The bank refused; nothing was charged.
    case declined
    /// Abandoned before the bank took anything.
    case cancelled
}
