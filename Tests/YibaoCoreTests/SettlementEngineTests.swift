import Testing
import YibaoCore

@Suite("Settlement engine")
struct SettlementEngineTests {
    typealias F = Fixtures

    @Test("reference §6.3's worked example, to the fen")
    func workedExample() throws {
        // setup: employee, level-3 inpatient, deductible 1200 unused, 85 %, cap 300,000, account 500.
        let policy = F.policy(inpatient: F.pool(deductible: .yuan(1200), ratio: Ratio(percent: 85), cap: .yuan(300_000)))
        let lines = [
            F.line(F.item(.a, code: "A"), price: .yuan(6000), number: "1"),
            F.line(F.item(.b, code: "B1", firstSelfPay: Ratio(percent: 10)), price: .yuan(2000), number: "2"),
            F.line(F.item(.b, code: "B2", cap: .yuan(1200), firstSelfPay: Ratio(percent: 20)), price: .yuan(1500), number: "3"),
            F.line(F.item(.c, code: "C"), price: .yuan(800), number: "4"),
        ]
        // act
        let result = try SettlementEngine.calculate(F.input(lines, policy: policy, balance: .yuan(500)))
        // verify
        let b = result.breakdown
        #expect(b.totalAmount == .yuan(10_300))
        #expect(b.fullSelfPay == .yuan(800))
        #expect(b.overLimitSelfPay == .yuan(300))
        #expect(b.firstSelfPay == .yuan(440))
        #expect(b.inScope == .yuan(8760))
        #expect(b.deductiblePaid == .yuan(1200))
        #expect(b.pooledFund == .yuan(6426))
        #expect(b.fundTotal == .yuan(6426))
        #expect(b.personTotal == .yuan(3874))
        #expect(b.accountPaid == .yuan(500))
        #expect(b.cashPaid == .yuan(3374))
        #expect(b.accountBalanceAfter == .zero)
        #expect(b.fundRatio == Ratio(percent: 85))
        #expect(result.details.map(\.fundType) == [.employeePooled, .employeeAccount])
        #expect(result.details[0].amount == .yuan(6426) && result.details[0].inScope == .yuan(8760))
        #expect(result.details[1].amount == .yuan(500))
    }

    @Test("the 2204 captured class-B drug splits as the platform did")
    func capturedClassBLine() {
        let line = F.line(F.item(.b, firstSelfPay: Ratio(percent: 5)), price: Money(fen: 452))
        #expect(line.firstSelfPay == Money(fen: 23))
        #expect(line.inScope == Money(fen: 429))
    }

    @Test func lineClasses() {
        let c = F.line(F.item(.c), price: .yuan(100))
        #expect(c.fullSelfPay == .yuan(100) && c.inScope == .zero)
        let overLimit = F.line(F.item(.a, cap: .yuan(120)), price: .yuan(150), quantity: 2)
        #expect(overLimit.amount == .yuan(300))
        #expect(overLimit.overLimit == .yuan(60))
        #expect(overLimit.inScope == .yuan(240))
        let underCap = F.line(F.item(.a, cap: .yuan(120)), price: .yuan(100))
        #expect(underCap.overLimit == .zero && underCap.inScope == .yuan(100))
    }

    // Lanzhou-shaped employee outpatient: 200 a year deductible, 65 %, cap 2500.
    static let perYearOutpatient = F.policy(outpatient: F.pool(scope: .perYear, deductible: .yuan(200), ratio: Ratio(percent: 65), cap: .yuan(2500)))

    @Test(
        "a per-year deductible partly paid earlier",
        arguments: [
            (Int64(5_000), Int64(15_000), Int64(9_750)),  // 50 paid before: 150 due, (300 − 150) × 65 %
            (Int64(20_000), Int64(0), Int64(19_500)),  // fully paid: nothing due
            (Int64(0), Int64(20_000), Int64(6_500)),  // none paid: 200 due
        ])
    func perYearDeductible(paidBefore: Int64, deductible: Int64, fund: Int64) throws {
        let result = try SettlementEngine.calculate(
            F.input(
                [F.line(F.item(.a), price: .yuan(300))], level: .level1, policy: Self.perYearOutpatient, category: .ordinaryOutpatient,
                accumulators: PoolAccumulators(deductiblePaid: Money(fen: paidBefore))
            )
        )
        #expect(result.breakdown.deductiblePaid == Money(fen: deductible))
        #expect(result.breakdown.pooledFund == Money(fen: fund))
        #expect(result.accumulatorDelta.deductiblePaid == Money(fen: deductible))
        #expect(result.pool == .outpatient)
    }

    @Test func visitSmallerThanTheDeductible() throws {
        let result = try SettlementEngine.calculate(
            F.input([F.line(F.item(.a), price: .yuan(100))], level: .level1, policy: Self.perYearOutpatient, category: .ordinaryOutpatient)
        )
        #expect(result.breakdown.deductiblePaid == .yuan(100))
        #expect(result.breakdown.fundTotal == .zero)
        #expect(result.breakdown.cashPaid == .yuan(100))
    }

    @Test("the annual cap is reached in the middle of a settlement")
    func capReachedMidSettlement() throws {
        let result = try SettlementEngine.calculate(
            F.input(
                [F.line(F.item(.a), price: .yuan(300))], level: .level1, policy: Self.perYearOutpatient, category: .ordinaryOutpatient,
                accumulators: PoolAccumulators(deductiblePaid: .yuan(200), basicFundPaid: .yuan(2400))
            )
        )
        #expect(result.breakdown.pooledFund == .yuan(100))
        // 100 yuan of fund covers ⌈100 / 65 %⌉ = 153.85 yuan; the other 146.15 is above the cap.
        #expect(result.accumulatorDelta.aboveCapAmount == Money(fen: 14_615))
        #expect(result.breakdown.personTotal == .yuan(200))
        #expect(result.details[0].remainingLimit == .yuan(100))
        #expect(result.trace.contains { $0.contains("cap reached") })
    }

    @Test("the employees' large-amount subsidy pays above the cap")
    func largeAmountTier() throws {
        let policy = F.policy(
            inpatient: F.pool(
                deductible: .yuan(1000), ratio: Ratio(percent: 80), cap: .yuan(10_000),
                tier: AboveCapTier(deductible: .zero, bands: [.init(upTo: nil, ratio: Ratio(percent: 95))])
            )
        )
        let result = try SettlementEngine.calculate(
            F.input([F.line(F.item(.a), price: .yuan(5000))], policy: policy, accumulators: PoolAccumulators(basicFundPaid: .yuan(9900)))
        )
        let b = result.breakdown
        #expect(b.pooledFund == .yuan(100))
        #expect(result.accumulatorDelta.aboveCapAmount == .yuan(3875))
        #expect(b.largeAmountFund == Money(fen: 368_125))
        #expect(b.catastrophicFund == .zero)
        #expect(b.fundTotal == Money(fen: 378_125))
        #expect(b.personTotal == Money(fen: 121_875))
        #expect(result.details.map(\.fundType) == [.employeePooled, .employeeLargeAmount])
    }

    static let residentCatastrophic = F.policy(
        type: .resident,
        inpatient: F.pool(
            ratio: Ratio(percent: 70), cap: .yuan(350_000),
            tier: AboveCapTier(
                deductible: .yuan(1000), bands: [.init(upTo: .yuan(2000), ratio: Ratio(percent: 60)), .init(upTo: nil, ratio: Ratio(percent: 70))])
        )
    )

    @Test("the residents' catastrophic insurance pays band by band after its deductible")
    func catastrophicBands() throws {
        let result = try SettlementEngine.calculate(
            F.input(
                [F.line(F.item(.a), price: .yuan(4000))], person: F.person(type: .resident), policy: Self.residentCatastrophic,
                accumulators: PoolAccumulators(basicFundPaid: .yuan(350_000), aboveCapAmount: .yuan(500))
            )
        )
        // cumulative 500 → 4500; after the 1000 deductible: 0 → 3500; 2000 at 60 % + 1500 at 70 %.
        #expect(result.breakdown.pooledFund == .zero)
        #expect(result.breakdown.catastrophicFund == .yuan(2250))
        #expect(result.breakdown.personTotal == .yuan(1750))
        #expect(result.details.last?.fundType == .residentCatastrophic)
    }

    @Test func tierAnnualCapLimitsThePayment() throws {
        var policy = Self.residentCatastrophic
        policy.inpatient.aboveCap?.annualCap = .yuan(2000)
        let result = try SettlementEngine.calculate(
            F.input(
                [F.line(F.item(.a), price: .yuan(4000))], person: F.person(type: .resident), policy: policy,
                accumulators: PoolAccumulators(basicFundPaid: .yuan(350_000), aboveCapAmount: .yuan(500), aboveCapFundPaid: .yuan(1500))
            )
        )
        #expect(result.breakdown.catastrophicFund == .yuan(500))
    }

    @Test func retireeBonusAddsToTheRatio() throws {
        let policy = F.policy(outpatient: F.pool(ratio: Ratio(percent: 80), retireeBonus: Ratio(percent: 5)))
        let worker = try SettlementEngine.calculate(F.input([F.line(F.item(.a), price: .yuan(100))], policy: policy, category: .ordinaryOutpatient))
        let retiree = try SettlementEngine.calculate(
            F.input([F.line(F.item(.a), price: .yuan(100))], person: F.person(retired: true), policy: policy, category: .ordinaryOutpatient)
        )
        #expect(worker.breakdown.pooledFund == .yuan(80))
        #expect(retiree.breakdown.pooledFund == .yuan(85))
        #expect(retiree.breakdown.fundRatio == Ratio(percent: 85))
    }

    @Test(
        "each hospital level has its own ratio",
        arguments: [
            (HospitalLevel.community, Int64(90)), (.level1, 85), (.level2, 80), (.level3, 75), (.level3A, 70),
        ])
    func levels(level: HospitalLevel, percent: Int64) throws {
        var pool = F.pool()
        pool.levels = [
            LevelRule(level: .community, deductible: .zero, ratio: Ratio(percent: 90)),
            LevelRule(level: .level1, deductible: .zero, ratio: Ratio(percent: 85)),
            LevelRule(level: .level2, deductible: .zero, ratio: Ratio(percent: 80)),
            LevelRule(level: .level3, deductible: .zero, ratio: Ratio(percent: 75)),
            LevelRule(level: .level3A, deductible: .zero, ratio: Ratio(percent: 70)),
        ]
        let result = try SettlementEngine.calculate(F.input([F.line(F.item(.a), price: .yuan(100))], level: level, policy: F.policy(inpatient: pool)))
        #expect(result.breakdown.pooledFund == .yuan(percent))
    }

    @Test("a level the pool does not cover pays nothing from the fund")
    func notCovered() throws {
        let policy = F.policy(type: .resident, outpatient: F.pool(levels: [.community, .level1]))
        let result = try SettlementEngine.calculate(
            F.input(
                [F.line(F.item(.a), price: .yuan(100))], person: F.person(type: .resident), level: .level3, policy: policy,
                category: .ordinaryOutpatient)
        )
        #expect(result.breakdown.fundTotal == .zero)
        #expect(result.breakdown.personTotal == .yuan(100))
        #expect(result.trace.contains { $0.contains("not covered") })
    }

    @Test("care outside the home region uses the home policy at the cross-region factor")
    func crossRegion() throws {
        let lanzhouPerson = F.person(region: F.lanzhou)
        let policy = F.policy(region: F.lanzhou, outpatient: F.pool(ratio: Ratio(percent: 80)))
        let unfiled = try SettlementEngine.calculate(
            F.input(
                [F.line(F.item(.a), price: .yuan(100))], person: lanzhouPerson, treatedIn: F.guangzhou, policy: policy, category: .ordinaryOutpatient)
        )
        #expect(unfiled.breakdown.pooledFund == .yuan(56))
        var referred = lanzhouPerson
        referred.crossRegionFiling = .referral
        let filed = try SettlementEngine.calculate(
            F.input([F.line(F.item(.a), price: .yuan(100))], person: referred, treatedIn: F.guangzhou, policy: policy, category: .ordinaryOutpatient)
        )
        #expect(filed.breakdown.pooledFund == .yuan(72))
    }

    @Test("repeat stays pay a lower deductible at the same level only (同级医疗机构多次住院)")
    func repeatStaysPayALowerDeductible() throws {
        let policy = F.policy(inpatient: F.pool(deductible: .yuan(400), ratio: Ratio(percent: 90), repeatFactor: Ratio(percent: 50)))
        let stay = { (level: HospitalLevel, accumulators: PoolAccumulators) in
            try SettlementEngine.calculate(
                F.input([F.line(F.item(.a), price: .yuan(1000))], level: level, policy: policy, accumulators: accumulators))
        }
        let first = try stay(.level3, .zero)
        #expect(first.breakdown.deductiblePaid == .yuan(400))
        #expect(first.accumulatorDelta.visitsByLevel == .one(.level3))
        var year = PoolAccumulators.zero.adding(first.accumulatorDelta)
        // A second stay at another level pays the whole deductible.
        let elsewhere = try stay(.level2, year)
        #expect(elsewhere.breakdown.deductiblePaid == .yuan(400))
        year = year.adding(elsewhere.accumulatorDelta)
        #expect(year.visits == 2 && year.visitsByLevel[.level3] == 1 && year.visitsByLevel[.level2] == 1)
        // Back at level 3: half.
        let again = try stay(.level3, year)
        #expect(again.breakdown.deductiblePaid == .yuan(200))
        #expect(again.trace.contains { $0.contains("stay 2 this year at level 3") })
        // Reversing the first stay: the level's count goes back, so the next level-3 stay is a first one again.
        let reversed = year.adding(first.accumulatorDelta.negated)
        #expect(reversed.visitsByLevel[.level3] == 0 && reversed.visitsByLevel == .one(.level2))
        #expect(try stay(.level3, reversed).breakdown.deductiblePaid == .yuan(400))
    }

    @Test("level counts are stored as text and read back; anything else is refused")
    func levelCountsText() {
        let counts = LevelCounts(["3": 2, "1": 1, "2": 0])
        #expect(counts.encoded == "1=1;3=2")
        #expect(LevelCounts(encoded: counts.encoded) == counts)
        #expect(LevelCounts(encoded: "") == LevelCounts())
        #expect(LevelCounts(encoded: "9=1") == nil && LevelCounts(encoded: "3=x") == nil)
    }

    @Test func zeroLineVisitIsRefused() {
        #expect(throws: Refusal(.noFeeLines, "a visit needs at least one fee line to settle")) {
            try SettlementEngine.calculate(F.input([]))
        }
    }

    @Test func suspendedInsuranceIsRefused() {
        #expect {
            try SettlementEngine.calculate(F.input([F.line(F.item(.a), price: .yuan(1))], person: F.person(status: .suspended)))
        } throws: { ($0 as? Refusal)?.code == .personNotInsured }
    }

    @Test("the account pays first, then family mutual aid, then cash")
    func accountThenMutualAidThenCash() throws {
        let policy = F.policy(outpatient: F.pool(ratio: .zero))
        let lines = [F.line(F.item(.a), price: .yuan(100))]
        let both = try SettlementEngine.calculate(
            F.input(lines, policy: policy, category: .ordinaryOutpatient, balance: .yuan(30), mutualAid: .yuan(50)))
        #expect(both.breakdown.accountPaid == .yuan(80))
        #expect(both.breakdown.mutualAidPaid == .yuan(50))
        #expect(both.ownAccountPaid == .yuan(30))
        #expect(both.breakdown.cashPaid == .yuan(20))
        #expect(both.breakdown.accountBalanceAfter == .zero)
        let notUsed = try SettlementEngine.calculate(
            F.input(lines, policy: policy, category: .ordinaryOutpatient, useAccount: false, balance: .yuan(30)))
        #expect(notUsed.breakdown.accountPaid == .zero && notUsed.breakdown.cashPaid == .yuan(100))
        #expect(notUsed.breakdown.accountBalanceAfter == .yuan(30))
    }

    @Test("per-line payer shares add up to the breakdown")
    func lineShares() throws {
        let lines = [
            F.line(F.item(.a, code: "A"), price: .yuan(333), number: "1"), F.line(F.item(.c, code: "C"), price: .yuan(100), number: "2"),
            F.line(F.item(.b, code: "B", firstSelfPay: Ratio(percent: 10)), price: Money(fen: 12_345), number: "3"),
        ]
        let result = try SettlementEngine.calculate(F.input(lines, category: .ordinaryOutpatient, balance: .yuan(77)))
        #expect(Money.sum(result.lines.map(\.fundPaid)) == result.breakdown.fundTotal)
        #expect(Money.sum(result.lines.map(\.accountPaid)) == result.breakdown.accountPaid)
        #expect(Money.sum(result.lines.map(\.cashPaid)) == result.breakdown.cashPaid)
        #expect(result.lines[1].fundPaid == .zero)  // class C: nothing from the fund
    }
}
