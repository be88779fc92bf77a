/// Partial refunds (退费), national 6203 `refdType`: by lines (the lines are taken off and the rest is
/// settled again, so the deductible and ratios stay right), the cash part only (`CASH`), or the
/// insurance part only (`HI`, the visit becomes self-paid). A full refund is a reversal.
///
/// Every refund is computed the same way: the settlement as it stands now (the original plus earlier
/// refunds) and the settlement as it should stand after; the refund record is the difference, line by
/// line and bucket by bucket, so each refund keeps the national identities and the ledger posts only
/// the difference.
public enum RefundType: String, Sendable, Hashable, Codable, CaseIterable {
    /// Take some lines off (their fund, account and cash parts come back; the rest is re-split).
    case lines
    /// Give back part of the cash the patient paid (self-paid items returned, over-charging).
    case cash
    /// Give back the fund and account parts (the visit becomes self-paid; the patient owes the cash).
    case insurance
}

/// A settlement as it stands (its standing): its buckets, its lines with each payer's share, and what it has added
/// to the year-to-date accumulators.
public struct SettlementStanding: Sendable, Hashable {
    /// The national buckets.
    public var breakdown: SettlementBreakdown
    /// The lines by line number.
    public var lines: [SettledLine]
    /// The accumulator delta in force.
    public var accumulatorDelta: PoolAccumulators
    /// Whether the insurance part was already given back.
    public var insuranceRefunded: Bool

    /// Creates a standing.
    public init(breakdown: SettlementBreakdown, lines: [SettledLine], accumulatorDelta: PoolAccumulators, insuranceRefunded: Bool) {
        self.breakdown = breakdown
        self.lines = lines
        self.accumulatorDelta = accumulatorDelta
        self.insuranceRefunded = insuranceRefunded
    }

    /// The state of an original settlement after its refunds.
    public static func of(_ original: SettlementRecord, refunds: [SettlementRecord]) -> SettlementStanding {
        refunds.reduce(
            SettlementStanding(
                breakdown: original.breakdown, lines: original.lines, accumulatorDelta: original.accumulatorDelta, insuranceRefunded: false)
        ) { $0.applying($1) }
    }

    /// This standing after one more refund.
    public func applying(_ refund: SettlementRecord) -> SettlementStanding {
        var state = self
        state.breakdown = state.breakdown.adding(refund.breakdown)
        state.accumulatorDelta = state.accumulatorDelta.adding(refund.accumulatorDelta)
        state.insuranceRefunded = state.insuranceRefunded || refund.refundType == .insurance
        for change in refund.lines {
            if let index = state.lines.firstIndex(where: { $0.split.lineNumber == change.split.lineNumber }) {
                state.lines[index] = state.lines[index].adding(change)
            }
        }
        return state
    }

    /// Lines still charged.
    public var liveLines: [SettledLine] { lines.filter { $0.split.amount != .zero } }
}

extension SettlementBreakdown {
    /// Bucket-by-bucket sum (the ratio and balance of `other` win: they are the later figures).
    public func adding(_ other: SettlementBreakdown) -> SettlementBreakdown {
        SettlementBreakdown(
            totalAmount: totalAmount + other.totalAmount, fullSelfPay: fullSelfPay + other.fullSelfPay,
            overLimitSelfPay: overLimitSelfPay + other.overLimitSelfPay, firstSelfPay: firstSelfPay + other.firstSelfPay,
            inScope: inScope + other.inScope,
            deductiblePaid: deductiblePaid + other.deductiblePaid, pooledFund: pooledFund + other.pooledFund,
            largeAmountFund: largeAmountFund + other.largeAmountFund, catastrophicFund: catastrophicFund + other.catastrophicFund,
            civilServantFund: civilServantFund + other.civilServantFund, medicalAssistanceFund: medicalAssistanceFund + other.medicalAssistanceFund,
            otherFund: otherFund + other.otherFund, fundTotal: fundTotal + other.fundTotal, personTotal: personTotal + other.personTotal,
            accountPaid: accountPaid + other.accountPaid, mutualAidPaid: mutualAidPaid + other.mutualAidPaid, cashPaid: cashPaid + other.cashPaid,
            hospitalBorne: hospitalBorne + other.hospitalBorne, accountBalanceAfter: other.accountBalanceAfter, fundRatio: other.fundRatio
        )
    }

    /// `self − other`, bucket by bucket.
    public func subtracting(_ other: SettlementBreakdown) -> SettlementBreakdown {
        adding(other.negated(balanceAfter: accountBalanceAfter))
    }
}

extension SettledLine {
    /// Line plus a change (amounts, quantity and shares added).
    public func adding(_ change: SettledLine) -> SettledLine {
        var split = self.split
        split.quantity = Quantity(scaled: split.quantity.scaled + change.split.quantity.scaled)
        split.amount += change.split.amount
        split.fullSelfPay += change.split.fullSelfPay
        split.overLimit += change.split.overLimit
        split.firstSelfPay += change.split.firstSelfPay
        split.inScope += change.split.inScope
        return SettledLine(
            split: split, fundPaid: fundPaid + change.fundPaid, accountPaid: accountPaid + change.accountPaid, cashPaid: cashPaid + change.cashPaid,
            planPaid: planPaid + change.planPaid
        )
    }

    /// `self − other` (both the same line).
    public func subtracting(_ other: SettledLine) -> SettledLine {
        var negative = other
        negative.split = other.split.negated()
        negative.fundPaid = -other.fundPaid
        negative.accountPaid = -other.accountPaid
        negative.cashPaid = -other.cashPaid
        negative.planPaid = -other.planPaid
        return adding(negative)
    }

    /// True when nothing changes.
    public var isZero: Bool {
        split.amount == .zero && split.quantity.scaled == 0 && fundPaid == .zero && accountPaid == .zero && cashPaid == .zero && planPaid == .zero
            && split.fullSelfPay == .zero && split.overLimit == .zero && split.firstSelfPay == .zero && split.inScope == .zero
    }
}

/// The pure parts of refunds.
public enum Refunds {
    /// The state after giving back `amount` of cash: taken from lines in proportion to their cash
    /// shares, from each line's self-paid buckets first (全自费, 超限价, 先行自付, then in scope).
    public static func cash(_ amount: Money, from state: SettlementStanding) throws(Refusal) -> SettlementStanding {
        guard amount.isPositive else { throw Refusal.invalid("amount", "amount is in fen and must be above 0") }
        guard amount <= state.breakdown.cashPaid else {
            throw Refusal(.refundExceedsSettlement, "at most \(state.breakdown.cashPaid) yuan of cash remains refundable", field: "amount")
        }
        var next = state
        let shares = Allocation.proportional(amount, weights: state.lines.map { $0.cashPaid.clampedAtZero })
        var byBucket = (full: Money.zero, over: Money.zero, first: Money.zero, scope: Money.zero)
        for index in next.lines.indices where shares[index].isPositive {
            var left = shares[index]
            var split = next.lines[index].split
            func take(_ value: inout Money) -> Money {
                let taken = min(value, left)
                value -= taken
                left -= taken
                return taken
            }
            byBucket.full += take(&split.fullSelfPay)
            byBucket.over += take(&split.overLimit)
            byBucket.first += take(&split.firstSelfPay)
            byBucket.scope += take(&split.inScope)
            precondition(left == .zero, "a line's cash share is within its amount")
            split.amount -= shares[index]
            next.lines[index].split = split
            next.lines[index].cashPaid -= shares[index]
        }
        var b = state.breakdown
        b.totalAmount -= amount
        b.fullSelfPay -= byBucket.full
        b.overLimitSelfPay -= byBucket.over
        b.firstSelfPay -= byBucket.first
        b.inScope -= byBucket.scope
        b.personTotal -= amount
        b.cashPaid -= amount
        next.breakdown = b
        next.breakdown.checkIdentities()
        return next
    }

    /// The state after giving back the fund and account parts: the fund pays nothing, the person
    /// bears everything in cash, the accumulators lose the settlement's delta.
    public static func insurance(from state: SettlementStanding, accountBalanceAfter: Money) throws(Refusal) -> SettlementStanding {
        guard !state.insuranceRefunded, state.breakdown.fundTotal.isPositive || state.breakdown.accountPaid.isPositive else {
            throw Refusal(.refundNotAllowed, "the insurance part was already refunded (or was zero)")
        }
        var next = state
        for index in next.lines.indices {
            next.lines[index].cashPaid += next.lines[index].fundPaid + next.lines[index].accountPaid
            next.lines[index].fundPaid = .zero
            next.lines[index].planPaid = .zero
            next.lines[index].accountPaid = .zero
        }
        var b = state.breakdown
        b.cashPaid += b.fundTotal + b.accountPaid
        b.personTotal += b.fundTotal
        b.deductiblePaid = .zero
        b.pooledFund = .zero
        b.largeAmountFund = .zero
        b.catastrophicFund = .zero
        b.otherFund = .zero
        b.fundTotal = .zero
        b.accountPaid = .zero
        b.mutualAidPaid = .zero
        b.accountBalanceAfter = accountBalanceAfter
        next.breakdown = b
        next.breakdown.checkIdentities()
        next.accumulatorDelta = PoolAccumulators(visits: state.accumulatorDelta.visits, visitsByLevel: state.accumulatorDelta.visitsByLevel)
        next.insuranceRefunded = true
        return next
    }

    /// The refund that takes a settlement from `current` to `next`: per-line and per-bucket differences
    /// (only lines that change) and the accumulator difference.
    public static func difference(
        from current: SettlementStanding, to next: SettlementStanding
    ) -> (
        breakdown: SettlementBreakdown, lines: [SettledLine], accumulatorDelta: PoolAccumulators
    ) {
        var lines: [SettledLine] = []
        for line in current.lines {
            let after = next.lines.first { $0.split.lineNumber == line.split.lineNumber } ?? line.subtracting(line)
            let change = after.subtracting(line)
            if !change.isZero { lines.append(change) }
        }
        var breakdown = next.breakdown.subtracting(current.breakdown)
        breakdown.accountBalanceAfter = next.breakdown.accountBalanceAfter
        breakdown.fundRatio = next.breakdown.fundRatio
        breakdown.checkIdentities()
        let delta = next.accumulatorDelta.adding(current.accumulatorDelta.negated)
        return (breakdown, lines, delta)
    }
}
