import Testing
import YibaoCore

/// Residents' catastrophic insurance (大病保险, `hifmi_pay`) is measured on the year's in-scope amount the
/// person bore after the basic fund, above its deductible, band by band, up to its annual cap. The
/// figures are the demo Guangzhou residents' policy (level 3: deductible 500, 70 %, cap 350,000;
/// catastrophic: deductible 18,000, 60 % up to 82,000 above it, 70 % beyond, at most 450,000 a year).
@Suite("Engine: residents' catastrophic insurance on the in-scope self-borne base")
struct CatastrophicInsuranceTests {
    typealias F = Fixtures

    static let policy = F.policy(
        type: .resident,
        inpatient: F.pool(
            deductible: .yuan(500), ratio: Ratio(percent: 70), cap: .yuan(350_000),
            tier: AboveCapTier(
                base: .selfBorneInScope, deductible: .yuan(18_000),
                bands: [.init(upTo: .yuan(82_000), ratio: Ratio(percent: 60)), .init(upTo: nil, ratio: Ratio(percent: 70))],
                annualCap: .yuan(450_000))))

    static func stay(_ yuan: Int64, _ accumulators: PoolAccumulators = .zero) throws -> SettlementCalculation {
        try SettlementEngine.calculate(
            F.input([F.line(F.item(.a), price: .yuan(yuan))], person: F.person(type: .resident), policy: policy, accumulators: accumulators))
    }

    @Test("a first stay of 60,000.00: the fund 41,650.00, the person bears 18,350.00 in scope, catastrophic 350.00 × 60 % = 210.00")
    func theWorkedExample() throws {
        let result = try Self.stay(60_000)
        let b = result.breakdown
        #expect(b.pooledFund == .yuan(41_650))
        #expect(b.catastrophicFund == .yuan(210))
        #expect(b.largeAmountFund == .zero)
        #expect(b.fundTotal == .yuan(41_860))
        #expect(b.personTotal == .yuan(18_140))
        #expect(result.details.last?.fundType == .residentCatastrophic && result.details.last?.inScope == .yuan(18_350))
        #expect(result.details.last?.amount == .yuan(210))
        #expect(result.trace.contains { $0.contains("in-scope amount borne after the basic fund") })
    }

    @Test("stays through a year: the deductible is crossed in the middle of the second stay; only the part above it is paid")
    func crossingTheDeductibleMidStay() throws {
        let first = try Self.stay(30_000)
        // (30,000 − 500) × 70 % = 20,650; borne 9,350: below the 18,000 deductible.
        #expect(first.breakdown.pooledFund == .yuan(20_650) && first.breakdown.catastrophicFund == .zero)
        let afterFirst = PoolAccumulators.zero.adding(first.accumulatorDelta)
        let second = try Self.stay(40_000, afterFirst)
        // (40,000 − 500) × 70 % = 27,650; borne 12,350: 9,350 → 21,700, of which 3,700 is above 18,000, at 60 %.
        #expect(second.breakdown.pooledFund == .yuan(27_650))
        #expect(second.breakdown.catastrophicFund == .yuan(2220))
        let afterSecond = afterFirst.adding(second.accumulatorDelta)
        #expect(afterSecond.inScopeTotal - afterSecond.basicFundPaid == .yuan(21_700))
        #expect(afterSecond.aboveCapFundPaid == .yuan(2220))
        // A third stay is all above the deductible: 0.3 × 10,000 + 350 = 3,350 borne, at 60 %.
        let third = try Self.stay(10_000, afterSecond)
        #expect(third.breakdown.catastrophicFund == .yuan(2010))
    }

    @Test(
        "each band boundary: the base crossing 18,000 + 82,000 is paid 60 % below and 70 % above",
        arguments: [
            // (self-borne before, stay in yuan, catastrophic paid in fen)
            (Int64(95_000), Int64(31_000), Int64(625_500)),  // borne 9,650: 5,000 × 60 % + 4,650 × 70 %
            (Int64(100_000), Int64(31_000), Int64(675_500)),  // all in the second band: 9,650 × 70 %
            (Int64(90_350), Int64(31_000), Int64(579_000)),  // 90,350 → 100,000: exactly to the boundary, 9,650 × 60 %
            (Int64(8_350), Int64(31_000), Int64(0)),  // 8,350 → 18,000: exactly to the deductible, nothing yet
        ])
    func bandBoundaries(before: Int64, stay: Int64, paid: Int64) throws {
        let accumulators = PoolAccumulators(basicFundPaid: .yuan(100_000), inScopeTotal: .yuan(100_000 + before), visits: 3)
        let result = try Self.stay(stay, accumulators)
        #expect(result.breakdown.pooledFund == .yuan(21_350))
        #expect(result.breakdown.catastrophicFund == Money(fen: paid))
    }

    @Test("the tier's annual cap is reached in the middle of a settlement: it pays what is left of 450,000")
    func annualCapReached() throws {
        let accumulators = PoolAccumulators(basicFundPaid: .yuan(100_000), aboveCapFundPaid: .yuan(449_000), inScopeTotal: .yuan(300_000))
        let result = try Self.stay(60_000, accumulators)
        #expect(result.breakdown.catastrophicFund == .yuan(1000))
        #expect(result.details.last?.remainingLimit == .yuan(1000))
        let spent = PoolAccumulators(basicFundPaid: .yuan(100_000), aboveCapFundPaid: .yuan(450_000), inScopeTotal: .yuan(300_000))
        #expect(try Self.stay(60_000, spent).breakdown.catastrophicFund == .zero)
    }

    @Test("a reversal restores the base: the same stay settled again pays the same catastrophic share")
    func reversalRestoresTheBase() throws {
        let first = try Self.stay(60_000)
        let after = PoolAccumulators.zero.adding(first.accumulatorDelta)
        let reversed = after.adding(first.accumulatorDelta.negated)
        #expect(reversed == .zero)
        #expect(try Self.stay(60_000, reversed).breakdown.catastrophicFund == .yuan(210))
    }

    @Test("a policy file without `base` keeps the tier on the above-cap amount (the employees' large-amount subsidy)")
    func baseDefaultsToAboveCap() throws {
        let json = #"{"deductible":0,"bands":[{"up_to":null,"ratio":9500}]}"#
        let tier = try YibaoJSON.decode(AboveCapTier.self, from: json)
        #expect(tier.base == .aboveCap)
        let selfBorne = try YibaoJSON.decode(AboveCapTier.self, from: #"{"base":"self_borne_in_scope","deductible":0,"bands":[{"ratio":9500}]}"#)
        #expect(selfBorne.base == .selfBorneInScope)
    }
}
