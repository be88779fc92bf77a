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
    /// The same, per hospital level: a repeat stay pays the lower deductible only at the same level
    /// (同级医疗机构多次住院).
    public var visitsByLevel: LevelCounts
    /// The commercial plan's deductible met this year in this pool (a plan's figures are kept per pool
    /// beside the basic fund's, so that refunds and reversals restore them by the same delta).
    public var planDeductibleMet: Money
    /// Paid by the commercial plan this year in this pool (其他支出 `oth_pay`).
    public var planPaid: Money

    /// Creates accumulators.
    public init(
        deductiblePaid: Money = .zero, basicFundPaid: Money = .zero, aboveCapAmount: Money = .zero,
        aboveCapFundPaid: Money = .zero, inScopeTotal: Money = .zero, visits: Int64 = 0, visitsByLevel: LevelCounts = LevelCounts(),
        planDeductibleMet: Money = .zero, planPaid: Money = .zero
    ) {
        self.deductiblePaid = deductiblePaid
        self.basicFundPaid = basicFundPaid
        self.aboveCapAmount = aboveCapAmount
        self.aboveCapFundPaid = aboveCapFundPaid
        self.inScopeTotal = inScopeTotal
        self.visits = visits
        self.visitsByLevel = visitsByLevel
        self.planDeductibleMet = planDeductibleMet
        self.planPaid = planPaid
    }

    private enum CodingKeys: String, CodingKey {
        case deductiblePaid, basicFundPaid, aboveCapAmount, aboveCapFundPaid, inScopeTotal, visits, visitsByLevel, planDeductibleMet, planPaid
    }

    /// Decodes accumulators; a delta stored before visits were counted per level (or before commercial
    /// plans paid) has none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        deductiblePaid = try container.decode(Money.self, forKey: .deductiblePaid)
        basicFundPaid = try container.decode(Money.self, forKey: .basicFundPaid)
        aboveCapAmount = try container.decode(Money.self, forKey: .aboveCapAmount)
        aboveCapFundPaid = try container.decode(Money.self, forKey: .aboveCapFundPaid)
        inScopeTotal = try container.decode(Money.self, forKey: .inScopeTotal)
        visits = try container.decode(Int64.self, forKey: .visits)
        visitsByLevel = try container.decodeIfPresent(LevelCounts.self, forKey: .visitsByLevel) ?? LevelCounts()
        planDeductibleMet = try container.decodeIfPresent(Money.self, forKey: .planDeductibleMet) ?? .zero
        planPaid = try container.decodeIfPresent(Money.self, forKey: .planPaid) ?? .zero
    }

    /// The commercial plan's year so far in this pool.
    public var plan: PlanAccumulators { PlanAccumulators(deductibleMet: planDeductibleMet, paid: planPaid) }

    /// All zero: the start of a year.
    public static let zero = PoolAccumulators()

    /// These accumulators with a delta added.
    public func adding(_ delta: PoolAccumulators) -> PoolAccumulators {
        PoolAccumulators(
            deductiblePaid: deductiblePaid + delta.deductiblePaid, basicFundPaid: basicFundPaid + delta.basicFundPaid,
            aboveCapAmount: aboveCapAmount + delta.aboveCapAmount, aboveCapFundPaid: aboveCapFundPaid + delta.aboveCapFundPaid,
            inScopeTotal: inScopeTotal + delta.inScopeTotal, visits: visits + delta.visits, visitsByLevel: visitsByLevel.adding(delta.visitsByLevel),
            planDeductibleMet: planDeductibleMet + delta.planDeductibleMet, planPaid: planPaid + delta.planPaid
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
            aboveCapFundPaid: -aboveCapFundPaid, inScopeTotal: -inScopeTotal, visits: -visits, visitsByLevel: visitsByLevel.negated,
            planDeductibleMet: -planDeductibleMet, planPaid: -planPaid
        )
    }

    /// True when no figure is negative (accumulators never go below zero).
    public var isNonNegative: Bool {
        !deductiblePaid.isNegative && !basicFundPaid.isNegative && !aboveCapAmount.isNegative && !aboveCapFundPaid.isNegative
            && !inScopeTotal.isNegative && visits >= 0 && visitsByLevel.isNonNegative && !planDeductibleMet.isNegative && !planPaid.isNegative
    }
}

/// Counts per hospital level (by `HospitalLevel` raw value; zero counts are not kept, so equal counts
/// compare equal). Stored as text, `1=2;3=1`.
public struct LevelCounts: Sendable, Hashable, Codable {
    /// The counts by level raw value.
    public private(set) var counts: [String: Int64]

    /// Counts; zeros dropped.
    public init(_ counts: [String: Int64] = [:]) {
        self.counts = counts.filter { $0.value != 0 }
    }

    /// One at a level.
    public static func one(_ level: HospitalLevel) -> LevelCounts { LevelCounts([level.rawValue: 1]) }

    /// The count at a level.
    public subscript(level: HospitalLevel) -> Int64 { counts[level.rawValue] ?? 0 }

    /// These counts plus others.
    public func adding(_ other: LevelCounts) -> LevelCounts { LevelCounts(counts.merging(other.counts, uniquingKeysWith: +)) }

    /// The counts negated.
    public var negated: LevelCounts { LevelCounts(counts.mapValues { -$0 }) }

    /// True when no count is negative.
    public var isNonNegative: Bool { counts.values.allSatisfy { $0 >= 0 } }

    /// The stored text: `level=count` pairs by level, `;`-separated; empty for none.
    public var encoded: String { counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";") }

    /// Counts from their stored text; nil when it is not that.
    public init?(encoded: String) {
        var counts: [String: Int64] = [:]
        for pair in encoded.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, HospitalLevel(rawValue: String(parts[0])) != nil, let count = Int64(parts[1]) else { return nil }
            counts[String(parts[0]), default: 0] += count
        }
        self.init(counts)
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: Int64].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(counts)
    }
}
