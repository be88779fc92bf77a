/// A person's year-to-date figures for one benefit pool (人员累计信息, national 5206 `cum`). They drive
/// the next settlement: how much deductible is still due, how much of the cap remains, where in the
/// above-cap bands the year stands. A settlement adds its delta; a reversal subtracts the same delta.
public struct PoolAccumulators: Sendable, Hashable, Codable {
    /// 起付线累计: deductible paid this year.
    public var deductiblePaid: Money
    /// 统筹基金累计支付: basic fund paid this year.
    public var basicFundPaid: Money
    /// In-scope amount above the basic cap this year (enters the above-cap tier).
    public var aboveCapAmount: Money
    /// Paid by the above-cap tier this year.
    public var aboveCapFundPaid: Money
    /// 符合政策范围累计: in-scope amount this year.
    public var inScopeTotal: Money
    /// Settled visits (outpatient) or stays (inpatient) this year.
    public var visits: Int64

    /// Creates accumulators.
    public init(
        deductiblePaid: Money = .zero, basicFundPaid: Money = .zero, aboveCapAmount: Money = .zero,
        aboveCapFundPaid: Money = .zero, inScopeTotal: Money = .zero, visits: Int64 = 0
    ) {
        self.deductiblePaid = deductiblePaid
        self.basicFundPaid = basicFundPaid
        self.aboveCapAmount = aboveCapAmount
        self.aboveCapFundPaid = aboveCapFundPaid
        self.inScopeTotal = inScopeTotal
        self.visits = visits
    }

    /// All zero: the start of a year.
    public static let zero = PoolAccumulators()

    /// These accumulators with a delta added.
    public func adding(_ delta: PoolAccumulators) -> PoolAccumulators {
        PoolAccumulators(
            deductiblePaid: deductiblePaid + delta.deductiblePaid, basicFundPaid: basicFundPaid + delta.basicFundPaid,
            aboveCapAmount: aboveCapAmount + delta.aboveCapAmount, aboveCapFundPaid: aboveCapFundPaid + delta.aboveCapFundPaid,
            inScopeTotal: inScopeTotal + delta.inScopeTotal, visits: visits + delta.visits
        )
    }

    /// These accumulators with a delta added, refused (never trapped) when a figure would go below zero:
    /// the year-to-date figures of a person only ever carry what their live settlements added.
    public func applying(_ delta: PoolAccumulators) throws(Refusal) -> PoolAccumulators {
        let result = adding(delta)
        guard result.isNonNegative else {
            throw Refusal(
                .wouldGoNegative,
                "this would take the patient's year-to-date figures below zero (they no longer match the settlement being undone); nothing was written"
            )
        }
        return result
    }

    /// The negated delta, to undo a settlement.
    public var negated: PoolAccumulators {
        PoolAccumulators(
            deductiblePaid: -deductiblePaid, basicFundPaid: -basicFundPaid, aboveCapAmount: -aboveCapAmount,
            aboveCapFundPaid: -aboveCapFundPaid, inScopeTotal: -inScopeTotal, visits: -visits
        )
    }

    /// True when no figure is negative (accumulators never go below zero).
    public var isNonNegative: Bool {
        !deductiblePaid.isNegative && !basicFundPaid.isNegative && !aboveCapAmount.isNegative && !aboveCapFundPaid.isNegative
            && !inScopeTotal.isNegative && visits >= 0
    }
}
