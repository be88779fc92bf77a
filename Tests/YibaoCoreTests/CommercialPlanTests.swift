import Testing

@testable import YibaoCore

/// The inclusive commercial plan's decision on its own (not yet in settlement): the parts the patient
/// bears after the basic fund, the plan's deductible, ratios per part, annual cap and exclusions.
@Suite("Commercial plan: what it pays of a settlement")
struct CommercialPlanTests {
    static let region = RegionCode("440100")!
    /// A test plan: 1,000 yuan deductible; 80 % of in-scope self-borne and class B first self-pay, 50 % of
    /// class C, nothing above a price cap; 10,000 yuan a year; item X999 excluded.
    static let plan = CommercialPlan(
        id: "test-2026", region: region, year: 2026, name: "测试惠民保", insurer: .init(code: "INS1", name: "测试保险"), sources: ["test figures"],
        premium: .yuan(190), deductible: .yuan(1000),
        ratios: .init(inScopeSelfBorne: Ratio(percent: 80), firstSelfPay: Ratio(percent: 80), overLimit: .zero, fullSelfPay: Ratio(percent: 50)),
        annualCap: .yuan(10_000), excludedItems: ["X999"])

    /// A settled line with its buckets and what the basic fund paid of it.
    static func line(
        _ number: String, code: String = "A1", inScope: Int64 = 0, fund: Int64 = 0, firstSelfPay: Int64 = 0, overLimit: Int64 = 0,
        fullSelfPay: Int64 = 0
    ) -> SettledLine {
        let total = inScope + firstSelfPay + overLimit + fullSelfPay
        var split = LineSplit.split(
            FeeLine(lineNumber: number, itemCode: code, unitPrice: .yuan(total), quantity: Quantity(units: 1)),
            item: CatalogueItem(region: region, code: code, name: "项目\(number)", category: .drug, itemClass: .a))
        split.inScope = .yuan(inScope)
        split.firstSelfPay = .yuan(firstSelfPay)
        split.overLimit = .yuan(overLimit)
        split.fullSelfPay = .yuan(fullSelfPay)
        return SettledLine(split: split, fundPaid: .yuan(fund), accountPaid: .zero, cashPaid: .yuan(total - fund))
    }

    static func pay(_ lines: [SettledLine], year: PlanAccumulators = .zero, covered: Bool = true, plan: CommercialPlan = plan) -> PlanCalculation {
        let result = PlanDecision.calculate(plan: plan, covered: covered, lines: lines, year: year)
        let broken = PlanDecision.violations(result, plan: plan, lines: lines, year: year)
        #expect(broken.isEmpty, "\(broken)")
        return result
    }

    @Test("each part at its ratio once the deductible is met: in-scope self-borne and class B 80 %, class C 50 %, over-limit nothing")
    func ratiosPerPart() {
        let result = Self.pay(
            [Self.line("1", inScope: 1000, fund: 700), Self.line("2", firstSelfPay: 50, overLimit: 30, fullSelfPay: 200)],
            year: PlanAccumulators(deductibleMet: .yuan(1000)))
        // 300 × 80 % = 240; 50 × 80 % + 30 × 0 + 200 × 50 % = 140.
        #expect(result.lines == [.yuan(240), .yuan(140)] && result.total == .yuan(380))
        #expect(result.delta == PlanAccumulators(deductibleMet: .zero, paid: .yuan(380)))
    }

    @Test("a deductible partly met absorbs the first parts, in order; over-limit amounts (ratio 0) do not meet it")
    func deductiblePartlyMet() {
        // 200 of the 1,000 left: line 1's 300 in-scope self-borne meets 200, 100 paid at 80 %.
        let result = Self.pay(
            [Self.line("1", overLimit: 500), Self.line("2", inScope: 1000, fund: 700), Self.line("3", fullSelfPay: 100)],
            year: PlanAccumulators(deductibleMet: .yuan(800)))
        #expect(result.lines == [.zero, .yuan(80), .yuan(50)])
        #expect(result.delta.deductibleMet == .yuan(200) && result.total == .yuan(130))
        // The first settlement of the year meets 1,000 before paying anything.
        let first = Self.pay([Self.line("1", inScope: 3000, fund: 1500)])
        #expect(first.delta.deductibleMet == .yuan(1000) && first.total == .yuan(400))
    }

    @Test("the annual cap reached in the middle of a settlement: what is left is shared by the lines")
    func capReached() {
        let result = Self.pay(
            [Self.line("1", fullSelfPay: 600), Self.line("2", fullSelfPay: 200)],
            year: PlanAccumulators(deductibleMet: .yuan(1000), paid: .yuan(9_900)))
        // 300 + 100 wanted, 100 left: shared 3 : 1.
        #expect(result.total == .yuan(100) && result.lines == [.yuan(75), .yuan(25)])
        #expect(result.trace.contains { $0.contains("年度限额") })
        let spent = Self.pay([Self.line("1", fullSelfPay: 600)], year: PlanAccumulators(deductibleMet: .yuan(1000), paid: .yuan(10_000)))
        #expect(spent.total == .zero)
    }

    @Test("an excluded item and a person not covered get nothing; an excluded item does not meet the deductible")
    func excludedAndNotCovered() {
        let result = Self.pay(
            [Self.line("1", code: "X999", fullSelfPay: 5000), Self.line("2", fullSelfPay: 1200)], year: PlanAccumulators(deductibleMet: .zero))
        #expect(result.lines == [.zero, .yuan(100)] && result.delta.deductibleMet == .yuan(1000))
        let outside = Self.pay([Self.line("1", inScope: 5000, fund: 1000)], covered: false)
        #expect(outside.total == .zero && outside.delta == .zero && outside.lines == [.zero])
    }

    @Test("property: random settlements and years keep every rule (seeded)", arguments: [UInt64(19), 2026, 440_100])
    func property(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for _ in 0..<500 {
            let lines = (0..<Int.random(in: 1...6, using: &random)).map { index in
                let inScope = Int64.random(in: 0...5000, using: &random)
                return Self.line(
                    "\(index)", code: Bool.random(using: &random) && index == 0 ? "X999" : "A\(index)", inScope: inScope,
                    fund: Int64.random(in: 0...inScope, using: &random), firstSelfPay: Int64.random(in: 0...300, using: &random),
                    overLimit: Int64.random(in: 0...300, using: &random), fullSelfPay: Int64.random(in: 0...3000, using: &random))
            }
            let year = PlanAccumulators(
                deductibleMet: .yuan(Int64.random(in: 0...1000, using: &random)), paid: .yuan(Int64.random(in: 0...10_000, using: &random)))
            let result = PlanDecision.calculate(plan: Self.plan, covered: true, lines: lines, year: year)
            let broken = PlanDecision.violations(result, plan: Self.plan, lines: lines, year: year)
            #expect(broken.isEmpty, "seed \(seed): \(broken)")
        }
    }

    @Test("a plan file's problems are named")
    func problems() {
        #expect(Self.plan.problems().isEmpty)
        var bad = Self.plan
        bad.sources = []
        bad.ratios.fullSelfPay = Ratio(percent: 120)
        #expect(bad.problems().count == 2)
    }
}
