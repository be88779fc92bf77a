import Testing
import YibaoCore

/// The refund arithmetic itself (`Refunds`), which `SettlementMoney` decides with: where cash comes
/// from line by line, what an insurance refund turns into cash, and the difference a refund record is.
@Suite("Refunds: the arithmetic")
struct RefundsTests {
    /// 300 yuan class A and 40 yuan class C; fund 120, account 50, cash 170.
    static func standing() throws -> SettlementStanding {
        let original = try SettlementMoneyTests.settlement([SettlementMoneyTests.a300, SettlementMoneyTests.c40], balance: .yuan(50))
        return SettlementStanding.of(original, refunds: [])
    }

    @Test("cash comes back from the lines in proportion to their cash, from the self-paid buckets first")
    func cash() throws {
        let before = try Self.standing()
        #expect(before.breakdown.cashPaid == .yuan(170))
        let lineCash = before.lines.map(\.cashPaid)
        let after = try Refunds.cash(.yuan(17), from: before)
        // 17 of 170 is a tenth of each line's cash.
        #expect(zip(before.lines, after.lines).map { $0.cashPaid - $1.cashPaid } == lineCash.map { $0.portion(Ratio(percent: 10)) })
        // The class C line's cash is all full self-pay: its refund comes out of that bucket.
        let c = try #require(after.lines.first { $0.split.lineNumber == "2" })
        #expect(c.split.fullSelfPay == c.split.amount)
        #expect(after.breakdown.totalAmount == before.breakdown.totalAmount - .yuan(17))
        #expect(after.breakdown.fundTotal == before.breakdown.fundTotal && after.breakdown.accountPaid == before.breakdown.accountPaid)
        #expect(after.breakdown.brokenIdentity() == nil)
        #expect(throws: Refusal.self) { try Refunds.cash(.yuan(171), from: before) }
        #expect(throws: Refusal.self) { try Refunds.cash(.zero, from: before) }
    }

    @Test("an insurance refund makes the fund and account parts cash and takes the settlement off the year's figures, but not its visit")
    func insurance() throws {
        let before = try Self.standing()
        let after = try Refunds.insurance(from: before, accountBalanceAfter: .yuan(50))
        #expect(after.breakdown.fundTotal == .zero && after.breakdown.accountPaid == .zero && after.breakdown.deductiblePaid == .zero)
        #expect(after.breakdown.cashPaid == .yuan(340) && after.breakdown.totalAmount == .yuan(340))
        #expect(after.accumulatorDelta == PoolAccumulators(visits: 1, visitsByLevel: before.accumulatorDelta.visitsByLevel))
        #expect(after.accumulatorDelta.visitsByLevel.counts.values.reduce(0, +) == 1)
        #expect(after.lines.allSatisfy { $0.fundPaid == .zero && $0.accountPaid == .zero && $0.cashPaid == $0.split.amount })
        #expect(after.insuranceRefunded && after.breakdown.brokenIdentity() == nil)
        #expect(throws: Refusal.self) { try Refunds.insurance(from: after, accountBalanceAfter: .zero) }
    }

    @Test("a refund record is the difference: only the lines that change, every bucket negated where money goes back")
    func difference() throws {
        let before = try Self.standing()
        let after = try Refunds.cash(.yuan(17), from: before)
        let refund = Refunds.difference(from: before, to: after)
        #expect(refund.breakdown.cashPaid == .yuan(-17) && refund.breakdown.totalAmount == .yuan(-17))
        #expect(refund.breakdown.fundTotal == .zero && refund.breakdown.brokenIdentity() == nil)
        #expect(refund.lines.count == 2 && Money.sum(refund.lines.map(\.cashPaid)) == .yuan(-17))
        #expect(refund.accumulatorDelta == .zero)
        // Applying the difference to the standing gives the standing after.
        var record = try SettlementMoneyTests.settlement([SettlementMoneyTests.a300, SettlementMoneyTests.c40], balance: .yuan(50))
        record.kind = .refund
        record.breakdown = refund.breakdown
        record.lines = refund.lines
        record.accumulatorDelta = refund.accumulatorDelta
        #expect(before.applying(record).breakdown == after.breakdown)
        #expect(before.applying(record).lines == after.lines)
    }
}
