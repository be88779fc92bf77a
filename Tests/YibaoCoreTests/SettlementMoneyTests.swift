import Testing
import YibaoCore

/// The settlement money state machine, without I/O: which refunds and reversals each stage allows,
/// and, over random sequences of refunds, that no payer ever gets back more than it paid.
@Suite("Settlement money: refunds and reversals")
struct SettlementMoneyTests {
    static let t0 = Instant(iso8601: "2026-03-02T10:00:00+08:00")!

    /// A settlement of `lines` for an employee at a level-3 hospital: deductible 100, 60 %, with `balance`
    /// in the account (and `mutualAid` from a relative) and the cash part by `route`.
    static func settlement(
        _ lines: [LineSplit], balance: Money, mutualAid: Money = .zero, route: CashRoute = .card, state: SettlementState = .completed
    ) throws -> SettlementRecord {
        let pool = Fixtures.pool(scope: .perYear, deductible: .yuan(100), ratio: Ratio(percent: 60), cap: .yuan(8000))
        let input = Fixtures.input(
            lines, policy: Fixtures.policy(outpatient: pool, inpatient: pool), category: .ordinaryOutpatient, balance: balance, mutualAid: mutualAid)
        let calculation = try SettlementEngine.calculate(input)
        let institution = Fixtures.institution(level: .level3)
        let source = FundingSource(
            id: "F1", personNumber: "P0001", channel: "sandbox", kind: route == .creditLine ? .medicalCredit : .debit, token: "t",
            masked: "6228 **** 0007", bank: "sandbox", isDefault: true)
        return SettlementRecord(
            id: "S1", kind: .settlement, state: state, visitId: "V1", originalId: nil, institution: InstitutionSummary(institution),
            personNumber: "P0001", personNameMasked: "张*", insuranceRegion: Fixtures.guangzhou, insuranceType: .employee,
            category: .ordinaryOutpatient, year: 2026, pool: calculation.pool, policyTitle: "test", breakdown: calculation.breakdown,
            lines: calculation.lines, details: calculation.details, trace: calculation.trace, accumulatorDelta: calculation.accumulatorDelta,
            mutualAidPayer: mutualAid.isPositive ? "P0002" : nil, cashCollection: route == .counter ? .counter : .channel,
            fundingSource: route == .counter ? nil : FundingSourceSummary(source), settledAt: t0)
    }

    static let a300 = Fixtures.line(Fixtures.item(.a, code: "A"), price: .yuan(300), number: "1")
    static let c40 = Fixtures.line(Fixtures.item(.c, code: "C"), price: .yuan(40), number: "2")
    static let b80 = Fixtures.line(Fixtures.item(.b, code: "B", firstSelfPay: Ratio(percent: 10)), price: .yuan(80), number: "3")

    static func code(_ body: () throws -> some Any) -> RefusalCode? {
        do {
            _ = try body()
            return nil
        } catch { return (error as? Refusal)?.code }
    }

    @Test(
        "a settlement that is not completed moves nothing back",
        arguments: [
            (SettlementState.pending, RefusalCode.settlementNotCompleted), (.declined, .settlementNotCompleted),
            (.cancelled, .settlementNotCompleted),
        ])
    func notCompleted(state: SettlementState, expected: RefusalCode) throws {
        let money = SettlementMoney(try Self.settlement([Self.a300], balance: .yuan(50), state: state), refunds: [])
        #expect(Self.code { try money.reversal() } == expected)
        #expect(Self.code { try money.refund(cash: .yuan(1)) } == expected)
        #expect(Self.code { try money.refundInsurance(accountBalanceAfter: .zero) } == expected)
        #expect(Self.code { try money.linesKept(takingOff: ["1"]) } == expected)
    }

    @Test("a reversed settlement is refused everything; a refunded one is not reversed")
    func reversedAndRefunded() throws {
        var original = try Self.settlement([Self.a300, Self.c40], balance: .yuan(50))
        original.reversedBy = "S9"
        let reversed = SettlementMoney(original, refunds: [])
        #expect(Self.code { try reversed.reversal() } == .alreadyReversed)
        #expect(Self.code { try reversed.refund(cash: .yuan(1)) } == .alreadyReversed)

        original.reversedBy = nil
        let money = SettlementMoney(original, refunds: [])
        #expect(try money.reversal() == PayerAmounts(pooledFund: .yuan(120), ownAccount: .yuan(50), cash: .yuan(170)))
        let cash = try money.refund(cash: .yuan(10))
        let refunded = SettlementMoney(original, refunds: [original.refundRecord(cash, type: .cash, route: .card, id: "S2", at: Self.t0)])
        #expect(Self.code { try refunded.reversal() } == .settlementRefunded)
    }

    @Test("after an insurance refund, cash refunds stop at the cash collected; the rest by lines forgives what is owed")
    func insuranceThenCash() throws {
        let original = try Self.settlement([Self.a300], balance: .yuan(50))
        var refunds: [SettlementRecord] = []
        func money() -> SettlementMoney { SettlementMoney(original, refunds: refunds) }
        let insurance = try money().refundInsurance(accountBalanceAfter: .yuan(50))
        #expect(insurance.returned == PayerAmounts(pooledFund: .yuan(120), ownAccount: .yuan(50)))
        #expect(insurance.cashOwedChange == .yuan(170))
        refunds.append(original.refundRecord(insurance, type: .insurance, route: .card, id: "S2", at: Self.t0))
        #expect(money().cashOwed == .yuan(170) && money().remaining.cash == .yuan(130))
        #expect(Self.code { try money().refund(cash: .yuan(131)) } == .refundExceedsSettlement)
        #expect(Self.code { try money().refundInsurance(accountBalanceAfter: .zero) } == .refundNotAllowed)
        let cash = try money().refund(cash: .yuan(100))
        refunds.append(original.refundRecord(cash, type: .cash, route: .card, id: "S3", at: Self.t0))
        let rest = try money().refundLines(recalculated: nil, accountBalanceAfter: .yuan(50))
        #expect(try money().linesKept(takingOff: ["1"]).isEmpty)
        #expect(rest.returned == PayerAmounts(cash: .yuan(30)))
        #expect(rest.cashOwedChange == .yuan(-170))
        refunds.append(original.refundRecord(rest, type: .lines, route: .card, id: "S4", at: Self.t0))
        #expect(money().isFullyRefunded && money().remaining == .zero && money().cashOwed == .zero)
        #expect(Self.code { try money().refund(cash: Money(fen: 1)) } == .refundExceedsSettlement)
    }

    @Test("every line at once is a reversal, not a refund; lines after a cash refund are refused")
    func linesRules() throws {
        let original = try Self.settlement([Self.a300, Self.c40], balance: .yuan(50))
        let money = SettlementMoney(original, refunds: [])
        #expect(Self.code { try money.linesKept(takingOff: ["1", "2"]) } == .refundNotAllowed)
        #expect(Self.code { try money.linesKept(takingOff: ["9"]) } == .invalidRequest)
        #expect(Self.code { try money.linesKept(takingOff: []) } == .invalidRequest)
        let cash = try money.refund(cash: .yuan(5))
        let after = SettlementMoney(original, refunds: [original.refundRecord(cash, type: .cash, route: .card, id: "S2", at: Self.t0)])
        #expect(Self.code { try after.linesKept(takingOff: ["2"]) } == .refundNotAllowed)
        #expect(try after.linesKept(takingOff: ["1", "2"]).isEmpty)
    }

    /// Random sequences of cash, insurance and every-line refunds on random settlements: after every
    /// step no payer has got back more than it paid, nothing remaining is negative, the cash owed is never
    /// negative, and the standing keeps the identities. The seed is printed with any failure.
    @Test("random refund sequences never give a payer back more than it paid", arguments: Array(UInt64(1)...UInt64(300)))
    func randomSequences(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let all = [Self.a300, Self.c40, Self.b80]
        let lines = all.filter { _ in Bool.random(using: &rng) }
        let chosen = lines.isEmpty ? [Self.a300] : lines
        let route = [CashRoute.card, .creditLine, .counter].randomElement(using: &rng)!
        let original = try Self.settlement(
            chosen, balance: Money(fen: Int64.random(in: 0...30_000, using: &rng)), mutualAid: Money(fen: Int64.random(in: 0...10_000, using: &rng)),
            route: route)
        var refunds: [SettlementRecord] = []
        for step in 0..<8 {
            let money = SettlementMoney(original, refunds: refunds)
            let decision: RefundDecision?
            let type: RefundType
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                type = .cash
                decision = try? money.refund(cash: Money(fen: Int64.random(in: 1...20_000, using: &rng)))
            case 1:
                type = .insurance
                decision = try? money.refundInsurance(accountBalanceAfter: .zero)
            default:
                type = .lines
                decision = try? money.refundLines(recalculated: nil, accountBalanceAfter: .zero)
            }
            guard let decision else { continue }
            #expect(decision.returned.firstNegative == nil, "seed \(seed) step \(step)")
            #expect(decision.returned.isWithin(money.remaining), "seed \(seed) step \(step)")
            refunds.append(original.refundRecord(decision, type: type, route: route, id: "S\(step + 2)", at: Self.t0))
            let after = SettlementMoney(original, refunds: refunds)
            #expect(after.remaining.firstNegative == nil, "seed \(seed) step \(step): remaining \(after.remaining)")
            #expect(!after.cashOwed.isNegative, "seed \(seed) step \(step): cash owed \(after.cashOwed)")
            #expect(after.standing.breakdown.brokenIdentity() == nil, "seed \(seed) step \(step)")
            #expect(after.standing.breakdown.hasNoNegativeBucket, "seed \(seed) step \(step)")
            #expect(after.returned + after.remaining == after.paid, "seed \(seed) step \(step)")
        }
    }
}
