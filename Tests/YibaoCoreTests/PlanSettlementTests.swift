import Testing
import YibaoCore

/// A commercial plan paying in the settlement itself (医保+商保 一站式): after the basic fund, before the
/// personal account, reported as `oth_pay` inside `fund_pay_sumamt`, and given back exactly by reversals
/// and each kind of refund.
///
/// Figures: an employee's inpatient stay at level 3 (deductible 500, 70 %, cap 350,000); the plan has a
/// 1,000 deductible, pays 80 % of the in-scope self-borne part and of class B first self-pay, 50 % of
/// class C, nothing above a price cap, at most 10,000 a year, never for item X999.
@Suite("Engine: a commercial plan in the settlement")
struct PlanSettlementTests {
    typealias F = Fixtures

    static let pool = F.pool(scope: .perVisit, deductible: .yuan(500), ratio: Ratio(percent: 70), cap: .yuan(350_000))
    static let policy = F.policy(outpatient: pool, inpatient: pool)
    static let plan = CommercialPlan(
        id: "test-2026", region: F.guangzhou, year: 2026, name: "测试惠民保", insurer: .init(code: "INS1", name: "测试保险"), sources: ["test figures"],
        premium: .yuan(190), deductible: .yuan(1000),
        ratios: .init(inScopeSelfBorne: Ratio(percent: 80), firstSelfPay: Ratio(percent: 80), overLimit: .zero, fullSelfPay: Ratio(percent: 50)),
        annualCap: .yuan(10_000), excludedItems: ["X999"], pools: [.inpatient])

    static let a20000 = F.line(F.item(.a, code: "A"), price: .yuan(20_000), number: "1")
    static let c2000 = F.line(F.item(.c, code: "C"), price: .yuan(2_000), number: "2")
    static let excluded2000 = F.line(F.item(.c, code: "X999"), price: .yuan(2_000), number: "2")

    static func settle(
        _ lines: [LineSplit], covered: Bool = true, year: PoolAccumulators = .zero, balance: Money = .yuan(1_000),
        category: MedicalCategory = .ordinaryInpatient, plan: CommercialPlan = plan
    ) throws -> SettlementCalculation {
        let input = F.input(
            lines, policy: policy, category: category, accumulators: year, balance: balance, plan: PlanCover(plan: plan, covered: covered))
        let result = try SettlementEngine.evaluate(input)
        #expect(SettlementEngine.violations(result, of: input) == [])
        return result
    }

    @Test("the plan pays after the basic fund and before the account: 5,280.00 of a 22,000.00 stay, in oth_pay and fund_pay_sumamt")
    func paysInTheSettlement() throws {
        let result = try Self.settle([Self.a20000, Self.c2000])
        let b = result.breakdown
        // Basic fund (20,000 − 500) × 70 % = 13,650; line 1 leaves 6,350: the plan's 1,000 deductible,
        // then 5,350 × 80 % = 4,280; class C 2,000 × 50 % = 1,000.
        #expect(b.pooledFund == .yuan(13_650) && b.otherFund == .yuan(5_280) && b.fundTotal == .yuan(18_930))
        #expect(b.personTotal == .yuan(3_070) && b.accountPaid == .yuan(1_000) && b.cashPaid == .yuan(2_070))
        #expect(result.lines.map(\.fundPaid) == [.yuan(17_930), .yuan(1_000)])
        #expect(result.accumulatorDelta.planDeductibleMet == .yuan(1_000) && result.accumulatorDelta.planPaid == .yuan(5_280))
        let detail = result.details.first { $0.fundType == .otherFund }
        #expect(detail?.amount == .yuan(5_280) && detail?.remainingLimit == .yuan(10_000))
        #expect(result.trace.contains { $0.contains("oth_pay") })
        // Without a plan the patient bears 8,350.
        let alone = try SettlementEngine.calculate(F.input([Self.a20000, Self.c2000], policy: Self.policy, balance: .yuan(1_000)))
        #expect(alone.breakdown.personTotal == .yuan(8_350) && alone.breakdown.otherFund == .zero)
    }

    @Test("a deductible partly met earlier in the year: 400.00 left, then 80 % of the rest")
    func deductiblePartlyMet() throws {
        let result = try Self.settle([Self.a20000, Self.c2000], year: PoolAccumulators(planDeductibleMet: .yuan(600)))
        #expect(result.breakdown.otherFund == .yuan(4_760 + 1_000))
        #expect(result.accumulatorDelta.planDeductibleMet == .yuan(400))
    }

    @Test("the annual cap reached in the middle of the stay: 1,000.00 left is shared by the lines")
    func capReachedMidSettlement() throws {
        let result = try Self.settle([Self.a20000, Self.c2000], year: PoolAccumulators(planDeductibleMet: .yuan(1_000), planPaid: .yuan(9_000)))
        #expect(result.breakdown.otherFund == .yuan(1_000))
        // Wanted 5,080 (6,350 × 80 %) and 1,000: 1,000 in that proportion, each line keeping its basic share.
        #expect(result.lines.map(\.fundPaid) == [.yuan(13_650) + Money(fen: 83_553), Money(fen: 16_447)])
        #expect(result.details.first { $0.fundType == .otherFund }?.remainingLimit == .yuan(1_000))
    }

    @Test("an excluded item gets nothing from the plan and does not meet its deductible")
    func excludedLine() throws {
        let result = try Self.settle([Self.a20000, Self.excluded2000])
        #expect(result.breakdown.otherFund == .yuan(4_280))
        #expect(result.lines[1].fundPaid == .zero)
    }

    @Test("a person not in the plan, and care the plan does not cover, pay as without it")
    func notCovered() throws {
        let alone = try SettlementEngine.calculate(F.input([Self.a20000, Self.c2000], policy: Self.policy, balance: .yuan(1_000)))
        let notIn = try Self.settle([Self.a20000, Self.c2000], covered: false)
        #expect(notIn.breakdown == alone.breakdown && notIn.lines == alone.lines)
        #expect(!notIn.details.contains { $0.fundType == .otherFund })
        let outpatient = try Self.settle([Self.a20000, Self.c2000], category: .ordinaryOutpatient)
        #expect(outpatient.breakdown.otherFund == .zero)
        #expect(outpatient.accumulatorDelta.planPaid == .zero && outpatient.accumulatorDelta.planDeductibleMet == .zero)
    }

    // MARK: The money moving and coming back

    static let t0 = Instant(iso8601: "2026-03-02T10:00:00+08:00")!

    /// The settlement record of `calculation`, cash from a card.
    static func record(_ calculation: SettlementCalculation) -> SettlementRecord {
        var record = SettlementRecord(
            id: "S1", kind: .settlement, state: .completed, visitId: "V1", originalId: nil,
            institution: InstitutionSummary(F.institution(level: .level3)), personNumber: "P0001", personNameMasked: "张*",
            insuranceRegion: F.guangzhou, insuranceType: .employee, category: .ordinaryInpatient, year: 2026, pool: calculation.pool,
            policyTitle: "test", breakdown: calculation.breakdown, lines: calculation.lines, details: calculation.details, trace: calculation.trace,
            accumulatorDelta: calculation.accumulatorDelta, mutualAidPayer: nil, cashCollection: .channel,
            fundingSource: FundingSourceSummary(
                FundingSource(
                    id: "F1", personNumber: "P0001", channel: "sandbox", kind: .debit, token: "t", masked: "6228 **** 0007", bank: "sandbox",
                    isDefault: true)), settledAt: t0)
        record.plan = PlanReference(plan)
        return record
    }

    static func postings(_ amounts: PayerAmounts, _ record: SettlementRecord) -> [Posting] {
        SettlementPostings.movements(amounts, SettlementParties(record, channel: "sandbox", creditLine: nil))
    }

    @Test("the insurer's fund pays the plan's part to the institution; a reversal gives it back exactly and restores the accumulators")
    func postingsAndReversal() throws {
        let original = Self.record(try Self.settle([Self.a20000, Self.c2000]))
        let paid = Self.postings(PayerAmounts(original.breakdown), original)
        #expect(paid.contains(Posting(.insurer("INS1"), -.yuan(5_280))))
        #expect(paid.contains(Posting(.institutionClearing("H0001"), .yuan(18_930 + 1_000))))
        #expect(Money.sum(paid.map(\.amount)) == .zero)

        let back = try SettlementMoney(original, refunds: []).reversal()
        #expect(back.plan == .yuan(5_280))
        let reversal = original.reversal(id: "S2", at: Self.t0, balanceAfter: .zero)
        #expect(reversal.plan == original.plan && reversal.returned?.plan == .yuan(5_280))
        let returned = Self.postings(back.negated, reversal)
        #expect(returned.contains(Posting(.insurer("INS1"), .yuan(5_280))) && Money.sum(returned.map(\.amount)) == .zero)
        #expect(original.accumulatorDelta.adding(reversal.accumulatorDelta).plan == .zero)
    }

    @Test("each refund type returns the plan's share exactly: lines (the kept line re-settled), cash (none), insurance (all)")
    func refunds() throws {
        let before = PoolAccumulators.zero
        let original = Self.record(try Self.settle([Self.a20000, Self.c2000], year: before))
        // By lines: class C comes off; line 1 re-settled alone keeps its 4,280, so 1,000 goes back to the insurer.
        let money = SettlementMoney(original, refunds: [])
        let kept = try money.linesKept(takingOff: ["2"])
        let recalculated = try Self.settle(kept.map(\.split), year: before)
        let byLines = try money.refundLines(recalculated: recalculated, accountBalanceAfter: .zero)
        #expect(byLines.returned.plan == .yuan(1_000))
        #expect(byLines.accumulatorDelta.planPaid == -.yuan(1_000) && byLines.accumulatorDelta.planDeductibleMet == .zero)
        let refund = original.refundRecord(byLines, type: .lines, route: .card, id: "S2", at: Self.t0)
        #expect(Self.postings(byLines.returned.negated, refund).contains(Posting(.insurer("INS1"), .yuan(1_000))))

        // Cash: nothing of the plan's.
        let cash = try money.refund(cash: .yuan(500))
        #expect(cash.returned.plan == .zero && cash.accumulatorDelta.planPaid == .zero)

        // Insurance after the line refund: the remaining 4,280 goes back, the plan's year returns to zero.
        let afterLines = SettlementMoney(original, refunds: [refund])
        let insurance = try afterLines.refundInsurance(accountBalanceAfter: .zero)
        #expect(insurance.returned.plan == .yuan(4_280))
        #expect(insurance.next.breakdown.otherFund == .zero && insurance.next.breakdown.brokenIdentity() == nil)
        let second = original.refundRecord(insurance, type: .insurance, route: .card, id: "S3", at: Self.t0)
        let standing = SettlementMoney(original, refunds: [refund, second])
        #expect(standing.standing.accumulatorDelta.plan == .zero)
        #expect(standing.returned.plan == original.breakdown.otherFund)
    }
}
