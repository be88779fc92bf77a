/// The state machine of one settlement's money. Every refund and every reversal is decided here, from
/// the settlement record and its earlier refunds, before anything is written:
///
/// ```
///   pending ──approved──▶ completed ──reverse (no refund yet)──▶ reversed
///      │                     │  ▲
///      ├─declined──▶ declined │  └── refund (each bucket at most what it paid, net of earlier refunds)
///      └─void/timeout──▶ cancelled
/// ```
///
/// - Only a completed settlement is refunded or reversed; a pending, declined or cancelled one is refused
///   (`settlement_not_completed`): nothing moved, or the bank's answer is still outstanding.
/// - A reversal undoes a settlement exactly, so it is allowed only before any refund
///   (`settlement_refunded` otherwise: refund the rest instead — every remaining line).
/// - A refund gives back, per payer bucket (the funds, the patient's own account, a relative's account
///   for mutual aid, and the cash part — card, credit line or counter), never more than that bucket paid
///   net of earlier refunds.
/// - An insurance refund gives the fund and account parts back and leaves the patient owing that much
///   cash at the counter (`cash_owed`); it does not enlarge the cash that can be refunded, which is only
///   ever the cash actually collected.
public struct SettlementMoney: Sendable, Hashable {
    /// Where a settlement stands.
    public enum Stage: String, Sendable, Hashable, Codable {
        /// The bank's answer on the cash part is outstanding: nothing is posted.
        case pending
        /// Money moved; refunds and (before any refund) a reversal are possible.
        case completed
        /// The bank refused the cash part: nothing moved.
        case declined
        /// Abandoned before the bank took anything: nothing moved.
        case cancelled
        /// Reversed: every amount went back.
        case reversed
    }

    /// Where the settlement stands.
    public private(set) var stage: Stage
    /// The settlement's id.
    public let settlementId: String
    /// How the cash part was collected.
    public let cashRoute: CashRoute
    /// What each payer paid at settlement.
    public let paid: PayerAmounts
    /// What has been given back to each payer by refunds so far.
    public private(set) var returned: PayerAmounts
    /// The settlement as it stands after its refunds (buckets, lines, accumulator delta).
    public private(set) var standing: SettlementStanding
    /// How many refunds were made.
    public private(set) var refundCount: Int

    /// The money state of a settlement record (kind `settlement`) after its refunds, in the order made.
    public init(_ original: SettlementRecord, refunds: [SettlementRecord]) {
        precondition(original.kind == .settlement, "the money state is a settlement's")
        settlementId = original.id
        cashRoute = CashRoute(original)
        paid = PayerAmounts(original.breakdown)
        switch original.state {
        case .pending: stage = .pending
        case .declined: stage = .declined
        case .cancelled: stage = .cancelled
        case .completed: stage = original.reversedBy == nil ? .completed : .reversed
        }
        returned = .zero
        standing = SettlementStanding(
            breakdown: original.breakdown, lines: original.lines, accumulatorDelta: original.accumulatorDelta, insuranceRefunded: false)
        refundCount = 0
        for refund in refunds { apply(refund) }
    }

    /// Adds a stored refund to the state.
    mutating func apply(_ refund: SettlementRecord) {
        standing = standing.applying(refund)
        returned = returned + (refund.returned ?? PayerAmounts.returnedByLegacyRefund(refund.breakdown))
        refundCount += 1
    }

    /// What each payer could still get back (paid − returned).
    public var remaining: PayerAmounts { paid - returned }

    /// Cash the patient owes the institution on top of what was collected: what an insurance refund
    /// turned from the fund and account parts into cash, less what later refunds forgave.
    public var cashOwed: Money { standing.breakdown.cashPaid - remaining.cash }

    /// True when nothing is left to give back.
    public var isFullyRefunded: Bool { refundCount > 0 && remaining == .zero && standing.liveLines.isEmpty }

    // MARK: Decisions

    /// Refuses unless the settlement's money may move back (completed, not reversed).
    func requireCompleted(for action: String) throws(Refusal) {
        switch stage {
        case .completed: return
        case .pending:
            throw Refusal(
                .settlementNotCompleted,
                "settlement \(settlementId) is still waiting for the bank's answer on its cash part; it cannot be \(action) until it completes (or is cancelled: then nothing moved)",
                retryAfterSeconds: 2, references: ["settlement_id": settlementId])
        case .declined, .cancelled:
            throw Refusal(
                .settlementNotCompleted,
                "settlement \(settlementId) was \(stage.rawValue): nothing was charged or posted, so there is nothing to be \(action); the visit is open again",
                references: ["settlement_id": settlementId])
        case .reversed:
            throw Refusal(.alreadyReversed, "settlement \(settlementId) was already reversed", references: ["settlement_id": settlementId])
        }
    }

    /// Decides a reversal: allowed only for a completed settlement with no refund. Returns what goes back
    /// to each payer (everything each paid).
    public func reversal() throws(Refusal) -> PayerAmounts {
        try requireCompleted(for: "reversed")
        guard refundCount == 0 else {
            throw Refusal(
                .settlementRefunded,
                "settlement \(settlementId) was already partly refunded (\(refundCount) refund\(refundCount == 1 ? "" : "s"), \(returned.total) yuan given back), so it cannot be reversed as a whole; refund the rest instead (by lines: every line still charged)",
                references: ["settlement_id": settlementId])
        }
        return paid
    }

    /// Decides a cash refund of `amount` (self-paid items returned, over-charging): at most the cash
    /// collected net of earlier cash refunds — never the cash an insurance refund left owed.
    public func refund(cash amount: Money) throws(Refusal) -> RefundDecision {
        try requireCompleted(for: "refunded")
        guard amount.isPositive else { throw Refusal.invalid("amount", "amount is in fen and must be above 0") }
        guard amount <= remaining.cash else {
            let owed =
                cashOwed.isPositive
                ? " (the patient owes \(cashOwed) yuan more at the counter after the insurance refund; that was never collected)" : ""
            throw Refusal(
                .refundExceedsSettlement, "at most \(remaining.cash) yuan of the cash collected remains refundable\(owed)", field: "amount")
        }
        let next = try Refunds.cash(amount, from: standing)
        var back = PayerAmounts.zero
        back.cash = amount
        return try decide(next: next, returned: back, cashOwedChange: .zero)
    }

    /// Decides an insurance refund: the funds and the accounts get back what they paid net of earlier
    /// refunds; the patient now owes that much cash at the counter.
    public func refundInsurance(accountBalanceAfter: Money) throws(Refusal) -> RefundDecision {
        try requireCompleted(for: "refunded")
        let next = try Refunds.insurance(from: standing, accountBalanceAfter: accountBalanceAfter)
        var back = PayerAmounts(standing.breakdown)
        back.cash = .zero
        return try decide(next: next, returned: back, cashOwedChange: back.total)
    }

    /// The lines that stay charged when `numbers` are taken off, checked: every number names a line still
    /// charged, and the refund by lines is possible in this state. An empty answer means every line still
    /// charged comes off (allowed only after an earlier refund: otherwise reverse the settlement).
    public func linesKept(takingOff numbers: [String]) throws(Refusal) -> [SettledLine] {
        try requireCompleted(for: "refunded")
        guard !numbers.isEmpty else { throw Refusal.invalid("line_numbers", "a refund by lines names the lines to take off") }
        let live = standing.liveLines
        for (index, number) in numbers.enumerated() where !live.contains(where: { $0.split.lineNumber == number }) {
            throw Refusal.invalid("line_numbers[\(index)]", "line \(number) is not a line of this settlement still charged")
        }
        let kept = live.filter { !numbers.contains($0.split.lineNumber) }
        if kept.isEmpty {
            guard refundCount > 0 else {
                throw Refusal(.refundNotAllowed, "that is every line: reverse the settlement instead", field: "line_numbers")
            }
            return []
        }
        guard !standing.insuranceRefunded else {
            throw Refusal(.refundNotAllowed, "the insurance part was already refunded; refund cash instead, or every remaining line")
        }
        guard standing.breakdown.cashPaid == paid.cash, returned.cash == .zero else {
            throw Refusal(.refundNotAllowed, "cash was already refunded from this settlement; refund the rest as cash, or every remaining line")
        }
        return kept
    }

    /// Decides a refund by lines. `recalculated` is the engine's settlement of the lines kept (nil when
    /// every line comes off); `accountBalanceAfter` the patient's own balance after the refund.
    public func refundLines(recalculated: SettlementCalculation?, accountBalanceAfter: Money) throws(Refusal) -> RefundDecision {
        try requireCompleted(for: "refunded")
        guard let recalculated else {
            // Everything still charged comes off: each payer gets back what remains of its part; cash the
            // patient still owed after an insurance refund is forgiven.
            var next = standing
            next.lines = standing.lines.map { $0.subtracting($0) }
            var zero = SettlementBreakdown.zero
            zero.accountBalanceAfter = accountBalanceAfter
            zero.fundRatio = standing.breakdown.fundRatio
            next.breakdown = zero
            next.accumulatorDelta = PoolAccumulators(
                visits: standing.accumulatorDelta.visits, visitsByLevel: standing.accumulatorDelta.visitsByLevel)
            return try decide(next: next, returned: remaining, cashOwedChange: -cashOwed)
        }
        var next = SettlementStanding(
            breakdown: recalculated.breakdown, lines: recalculated.lines, accumulatorDelta: recalculated.accumulatorDelta,
            insuranceRefunded: false)
        next.breakdown.accountBalanceAfter = accountBalanceAfter
        let now = PayerAmounts(standing.breakdown)
        let after = PayerAmounts(next.breakdown)
        guard after.isWithin(now) else {
            throw Refusal(
                .refundNotAllowed,
                "taking these lines off would make \(after.firstExceeding(now) ?? "a payer") pay more than before; reverse the settlement and settle again",
                field: "line_numbers")
        }
        return try decide(next: next, returned: now - after, cashOwedChange: .zero)
    }

    /// The common checks of every refund: each payer gets back at least nothing and at most what remains
    /// of its part; the standing after keeps the national identities and no negative bucket.
    func decide(next: SettlementStanding, returned back: PayerAmounts, cashOwedChange: Money) throws(Refusal) -> RefundDecision {
        if let bucket = back.firstNegative {
            throw Refusal(.refundNotAllowed, "this refund would take money from \(bucket) instead of giving it back")
        }
        if let bucket = back.firstExceeding(remaining) {
            throw Refusal(.refundExceedsSettlement, "this refund would give \(bucket) back more than it paid, net of earlier refunds")
        }
        guard back != .zero || cashOwedChange != .zero else {
            throw Refusal(.refundNotAllowed, "nothing remains to refund: settlement \(settlementId) is fully refunded")
        }
        precondition(next.breakdown.brokenIdentity() == nil, "a refund keeps the national identities")
        let difference = Refunds.difference(from: standing, to: next)
        return RefundDecision(
            next: next, breakdown: difference.breakdown, lines: difference.lines, accumulatorDelta: difference.accumulatorDelta, returned: back,
            cashOwedChange: cashOwedChange)
    }
}

/// A refund decided by `SettlementMoney`: the refund record's figures and what goes back to each payer.
public struct RefundDecision: Sendable, Hashable {
    /// The settlement as it will stand.
    public var next: SettlementStanding
    /// The refund record's buckets (the difference, negative where money goes back).
    public var breakdown: SettlementBreakdown
    /// The lines that change.
    public var lines: [SettledLine]
    /// What the accumulators change by (never positive).
    public var accumulatorDelta: PoolAccumulators
    /// What goes back to each payer; every amount ≥ 0.
    public var returned: PayerAmounts
    /// How the cash the patient owes the institution changes (+ after an insurance refund, − when forgiven).
    public var cashOwedChange: Money
}

/// How a settlement's cash part was collected.
public enum CashRoute: String, Sendable, Hashable, Codable {
    /// At the hospital's counter; it does not pass through Yibao.
    case counter
    /// From the patient's bank card through the payment channel.
    case card
    /// By the patient's medical credit line through the payment channel.
    case creditLine = "credit_line"

    /// The route of a settlement record.
    public init(_ record: SettlementRecord) {
        switch record.cashCollection {
        case .counter: self = .counter
        case .channel: self = record.fundingSource?.kind == .medicalCredit ? .creditLine : .card
        }
    }
}

/// Amounts per payer of a settlement: the pooled fund, the tier above the cap (large-amount or
/// catastrophic), a commercial plan, the patient's own personal account, a relative's account (mutual
/// aid), and cash.
public struct PayerAmounts: Sendable, Hashable, Codable {
    /// 统筹基金 `hifp_pay`.
    public var pooledFund: Money
    /// 大额 / 大病 `hifob_pay` + `hifmi_pay`.
    public var aboveCapFund: Money
    /// A commercial plan's fund (其他支出 `oth_pay`).
    public var plan: Money
    /// The patient's own personal account (`acct_pay − acct_mulaid_pay`).
    public var ownAccount: Money
    /// A relative's personal account (`acct_mulaid_pay`).
    public var mutualAid: Money
    /// Cash (card, credit line or counter, by the settlement's `CashRoute`).
    public var cash: Money

    /// Creates amounts.
    public init(
        pooledFund: Money = .zero, aboveCapFund: Money = .zero, plan: Money = .zero, ownAccount: Money = .zero, mutualAid: Money = .zero,
        cash: Money = .zero
    ) {
        self.pooledFund = pooledFund
        self.aboveCapFund = aboveCapFund
        self.plan = plan
        self.ownAccount = ownAccount
        self.mutualAid = mutualAid
        self.cash = cash
    }

    /// What each payer pays in a breakdown.
    public init(_ breakdown: SettlementBreakdown) {
        self.init(
            pooledFund: breakdown.pooledFund, aboveCapFund: breakdown.largeAmountFund + breakdown.catastrophicFund, plan: breakdown.otherFund,
            ownAccount: breakdown.accountPaid - breakdown.mutualAidPaid, mutualAid: breakdown.mutualAidPaid, cash: breakdown.cashPaid)
    }

    private enum CodingKeys: String, CodingKey { case pooledFund, aboveCapFund, plan, ownAccount, mutualAid, cash }

    /// Decodes amounts; a refund stored before commercial plans paid has no plan part.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            pooledFund: try container.decode(Money.self, forKey: .pooledFund), aboveCapFund: try container.decode(Money.self, forKey: .aboveCapFund),
            plan: try container.decodeIfPresent(Money.self, forKey: .plan) ?? .zero,
            ownAccount: try container.decode(Money.self, forKey: .ownAccount),
            mutualAid: try container.decode(Money.self, forKey: .mutualAid), cash: try container.decode(Money.self, forKey: .cash))
    }

    /// Nothing.
    public static let zero = PayerAmounts()

    /// The funds together (the basic insurance's and a commercial plan's: all owed to the institution).
    public var fund: Money { pooledFund + aboveCapFund + plan }
    /// Everything.
    public var total: Money { fund + ownAccount + mutualAid + cash }

    /// What a refund stored before payer amounts were recorded gave back: the negated difference of its
    /// buckets, with an increase of cash (an insurance refund's debt) giving nothing back.
    public static func returnedByLegacyRefund(_ difference: SettlementBreakdown) -> PayerAmounts {
        let change = PayerAmounts(difference)
        return PayerAmounts(
            pooledFund: -change.pooledFund, aboveCapFund: -change.aboveCapFund, plan: -change.plan, ownAccount: -change.ownAccount,
            mutualAid: -change.mutualAid,
            cash: (-change.cash).clampedAtZero)
    }

    var buckets: [(String, Money)] {
        [
            ("the pooled fund", pooledFund), ("the fund above the cap", aboveCapFund), ("the commercial plan", plan),
            ("the patient's account", ownAccount),
            ("the relative's account (mutual aid)", mutualAid), ("the cash part", cash),
        ]
    }

    /// The first bucket below zero, by name.
    public var firstNegative: String? { buckets.first { $0.1.isNegative }?.0 }

    /// The first bucket larger than the same bucket of `limit`, by name.
    public func firstExceeding(_ limit: PayerAmounts) -> String? {
        zip(buckets, limit.buckets).first { $0.0.1 > $0.1.1 }?.0.0
    }

    /// True when no bucket exceeds the same bucket of `limit`.
    public func isWithin(_ limit: PayerAmounts) -> Bool { firstExceeding(limit) == nil }

    public static func + (lhs: PayerAmounts, rhs: PayerAmounts) -> PayerAmounts {
        PayerAmounts(
            pooledFund: lhs.pooledFund + rhs.pooledFund, aboveCapFund: lhs.aboveCapFund + rhs.aboveCapFund, plan: lhs.plan + rhs.plan,
            ownAccount: lhs.ownAccount + rhs.ownAccount,
            mutualAid: lhs.mutualAid + rhs.mutualAid, cash: lhs.cash + rhs.cash)
    }

    public static func - (lhs: PayerAmounts, rhs: PayerAmounts) -> PayerAmounts {
        PayerAmounts(
            pooledFund: lhs.pooledFund - rhs.pooledFund, aboveCapFund: lhs.aboveCapFund - rhs.aboveCapFund, plan: lhs.plan - rhs.plan,
            ownAccount: lhs.ownAccount - rhs.ownAccount,
            mutualAid: lhs.mutualAid - rhs.mutualAid, cash: lhs.cash - rhs.cash)
    }

    /// Every amount negated.
    public var negated: PayerAmounts { .zero - self }
}

extension SettlementRecord {
    /// The refund record of `decision` on this settlement: the difference as its buckets and lines, what
    /// went back to each payer, and a trace that says so (and what the patient now owes at the counter).
    public func refundRecord(_ decision: RefundDecision, type: RefundType, route: CashRoute, id: String, at: Instant) -> SettlementRecord {
        precondition(kind == .settlement, "refunds are of settlements")
        let back = decision.returned
        var trace = [
            "退费 \(type.rawValue) refund of settlement \(self.id): back to the funds \(back.fund), the account \(back.ownAccount)"
                + (back.mutualAid.isPositive ? ", the relative's account \(back.mutualAid)" : "") + ", cash \(back.cash) (\(route.rawValue))"
        ]
        if decision.cashOwedChange.isPositive {
            trace.append("现金待补 the patient now owes \(decision.cashOwedChange) yuan at the counter: the insurance part became self-paid")
        } else if decision.cashOwedChange.isNegative {
            trace.append("现金待补 \(-decision.cashOwedChange) yuan the patient still owed at the counter is forgiven with the lines taken off")
        }
        var record = self
        record.id = id
        record.kind = .refund
        record.state = .completed
        record.originalId = self.id
        record.breakdown = decision.breakdown
        record.lines = decision.lines
        record.details = []
        record.trace = trace
        record.accumulatorDelta = decision.accumulatorDelta
        record.declineReason = nil
        record.refundType = type
        record.settledAt = at
        record.reversedBy = nil
        record.returned = back
        record.cashOwedChange = decision.cashOwedChange == .zero ? nil : decision.cashOwedChange
        return record
    }
}
