import Testing
import YibaoCore

@Suite("Settlement engine properties")
struct SettlementPropertyTests {
    /// Seeds that once failed, kept as regressions (none yet: add the seed and what it found).
    static let regressionSeeds: [UInt64] = []

    /// Random visits under random policies: every identity holds, no bucket is negative, the cap and
    /// the deductible are respected, the per-line shares add up. The engine's checks are read on a path
    /// that reports (`SettlementEngine.evaluate` and `violations`, which `calculate` asserts), so a
    /// failure prints its seed instead of ending the process.
    @Test("identities over random fee lists", arguments: Array(UInt64(1)...UInt64(400)) + regressionSeeds)
    func identitiesHold(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        func amount(_ maxYuan: Int64) -> Money { Money(fen: Int64.random(in: 0...(maxYuan * 100), using: &rng)) }
        func ratio() -> Ratio { Ratio(basisPoints: Int64.random(in: 0...10_000, using: &rng)) }

        let lineCount = Int.random(in: 1...20, using: &rng)
        var lines: [LineSplit] = []
        for index in 0..<lineCount {
            let itemClass = CatalogueClass.allCases.randomElement(using: &rng)!
            let item = Fixtures.item(
                itemClass, code: "I\(index)", cap: Bool.random(using: &rng) ? amount(500) : nil,
                firstSelfPay: itemClass == .b ? ratio() : .zero
            )
            let line = FeeLine(
                lineNumber: "\(index)", itemCode: item.code, unitPrice: amount(2000),
                quantity: Quantity(scaled: Int64.random(in: 1...200_000, using: &rng))
            )
            lines.append(LineSplit.split(line, item: item))
        }
        let tier: AboveCapTier? =
            Bool.random(using: &rng)
            ? AboveCapTier(
                base: Bool.random(using: &rng) ? .aboveCap : .selfBorneInScope, deductible: amount(5000),
                bands: [.init(upTo: .yuan(Int64.random(in: 1...50_000, using: &rng)), ratio: ratio()), .init(upTo: nil, ratio: ratio())],
                annualCap: Bool.random(using: &rng) ? amount(100_000) : nil
            ) : nil
        let cap = amount(20_000)
        let pool = Fixtures.pool(
            scope: Bool.random(using: &rng) ? .perYear : .perVisit, deductible: amount(2000), ratio: ratio(), retireeBonus: ratio(),
            cap: cap, tier: tier
        )
        let type: InsuranceType = Bool.random(using: &rng) ? .employee : .resident
        let person = Fixtures.person(type: type, retired: Bool.random(using: &rng))
        let personRegion = person.region
        let planCap = amount(20_000) + .yuan(1)
        let accumulators = PoolAccumulators(
            deductiblePaid: amount(2000), basicFundPaid: Money(fen: Int64.random(in: 0...cap.fen, using: &rng)), aboveCapAmount: amount(50_000),
            aboveCapFundPaid: amount(50_000), inScopeTotal: Money(fen: cap.fen + Int64.random(in: 0...5_000_000, using: &rng)),
            planDeductibleMet: amount(2000), planPaid: Money(fen: Int64.random(in: 0...planCap.fen, using: &rng))
        )
        // Half the visits with a commercial plan (covered or not, random ratios, a random excluded item).
        let plan: PlanCover? =
            Bool.random(using: &rng)
            ? PlanCover(
                plan: CommercialPlan(
                    id: "p", region: personRegion, year: 2026, name: "plan", insurer: .init(code: "INS", name: "insurer"), sources: ["test"],
                    premium: .yuan(100), deductible: amount(2000),
                    ratios: .init(inScopeSelfBorne: ratio(), firstSelfPay: ratio(), overLimit: ratio(), fullSelfPay: ratio()),
                    annualCap: planCap, excludedItems: ["I\(Int.random(in: 0..<lineCount, using: &rng))"],
                    pools: Bool.random(using: &rng) ? BenefitPoolKind.allCases : [.inpatient]),
                covered: Int.random(in: 0..<4, using: &rng) > 0) : nil
        let input = Fixtures.input(
            lines, person: person, level: HospitalLevel.allCases.randomElement(using: &rng)!,
            policy: Fixtures.policy(type: type, outpatient: pool, inpatient: pool),
            category: Bool.random(using: &rng) ? .ordinaryOutpatient : .ordinaryInpatient, accumulators: accumulators,
            useAccount: Bool.random(using: &rng), balance: amount(5000), mutualAid: amount(5000), plan: plan
        )

        let result = try SettlementEngine.evaluate(input)
        let b = result.breakdown
        #expect(SettlementEngine.violations(result, of: input) == [], "seed \(seed)")
        #expect(accumulators.basicFundPaid + b.pooledFund <= cap, "seed \(seed): the cap holds")
        #expect(accumulators.planPaid + b.otherFund <= planCap, "seed \(seed): the plan's cap holds")
        if plan?.covered != true { #expect(b.otherFund == .zero, "seed \(seed): a person not in a plan gets nothing from it") }
        if let excluded = plan?.plan.excludedItems.first, let line = result.lines.first(where: { $0.split.itemCode == excluded }) {
            let basic = Allocation.proportional(b.basicFundTotal, weights: result.lines.map(\.split.inScope))
            let index = result.lines.firstIndex(of: line)!
            #expect(line.fundPaid == basic[index], "seed \(seed): the excluded item gets nothing from the plan")
        }
        let negated = b.negated(balanceAfter: .zero)
        #expect(negated.totalAmount == -b.totalAmount && negated.brokenIdentity() == nil, "seed \(seed)")
        let movements = SettlementPostings.movements(
            PayerAmounts(b),
            SettlementParties(
                personNumber: person.number, region: person.region, insuranceType: person.insuranceType, institutionCode: input.institution.code,
                mutualAidPayer: "P9", cashRoute: .card, channel: "sandbox", insurerCode: "INS"))
        #expect(Money.sum(movements.map(\.amount)) == .zero, "seed \(seed): postings balance")
    }
}
