import Testing
import YibaoCore

@Suite("Core: credit rules")
struct CreditRulesTests {
    static func date(_ text: String) -> CivilDate { CivilDate(text)! }

    @Test("a purchase belongs to the cycle that ends on the next billing day; the due date is grace days later")
    func calendar() {
        let terms = CreditTerms.sandbox  // billing day 5, grace 20
        #expect(terms.statementDate(after: Self.date("2026-01-04")) == Self.date("2026-01-05"))
        #expect(terms.statementDate(after: Self.date("2026-01-05")) == Self.date("2026-02-05"))
        #expect(terms.statementDate(after: Self.date("2026-12-31")) == Self.date("2027-01-05"))
        #expect(terms.dueDate(statement: Self.date("2026-02-05")) == Self.date("2026-02-25"))
        #expect(terms.dueDate(statement: Self.date("2026-12-05")) == Self.date("2026-12-25"))
        var bad = terms
        bad.billingDay = 31
        bad.penaltyBasisPointsPerDay = -1
        #expect(bad.problems.map(\.field) == ["billing_day", "penalty_basis_points_per_day"])
        #expect(terms.problems.isEmpty)
    }

    @Test("penalty interest: whole fen charged, the fraction carried; over any run, the floor of the exact sum", arguments: [1, 5, 7, 33])
    func interest(basisPoints: Int) {
        var carry: Int64 = 0
        var charged = Money.zero
        var exact: Int64 = 0
        let principals: [Int64] = [123_457, 123_457, 99_999, 1, 54_974, 54_974, 8_888]
        for principal in principals {
            let day = PenaltyInterest.day(principal: Money(fen: principal), basisPoints: basisPoints, carry: carry)
            charged += day.interest
            carry = day.carry
            exact += principal * Int64(basisPoints)
            #expect(charged == Money(fen: exact / 10_000) && carry == exact % 10_000)
        }
        // The worked example of docs/credit.md: 103,457 fen at 5 ‱ for 10 days is 517 fen.
        var tenDays = (Money.zero, Int64(0))
        for _ in 0..<10 {
            let day = PenaltyInterest.day(principal: Money(fen: 103_457), basisPoints: 5, carry: tenDays.1)
            tenDays = (tenDays.0 + day.interest, day.carry)
        }
        #expect(tenDays.0 == Money(fen: 517) && tenDays.1 == 2_850)
    }

    static func bill(_ id: String, _ statement: String, principal: Int64, interest: Int64 = 0, fees: Int64 = 0) -> CreditBill {
        let date = Self.date(statement)
        return CreditBill(
            id: id, lineId: "L", cycleStart: date, statementDate: date, dueDate: date.adding(days: 20), principalBilled: Money(fen: principal),
            principalDue: Money(fen: principal), interestDue: Money(fen: interest), feesDue: Money(fen: fees))
    }

    @Test("a repayment pays the oldest bill first, fees then interest then principal, then this cycle")
    func repaymentAllocation() {
        let bills = [
            Self.bill("B2", "2026-03-05", principal: 8_888, interest: 39, fees: 1_000),
            Self.bill("B1", "2026-02-05", principal: 54_974, interest: 742),
        ]
        let partial = CreditAllocation.repayment(Money(fen: 1_000), bills: bills, unbilled: .yuan(50))
        #expect(partial.shares.count == 1 && partial.shares[0].billId == "B1")
        #expect(
            partial.shares[0].interest == Money(fen: 742) && partial.shares[0].principal == Money(fen: 258) && partial.principal == Money(fen: 258))
        let full = CreditAllocation.repayment(Money(fen: 55_716 + 9_927 + 5_000), bills: bills, unbilled: .yuan(50))
        #expect(full.shares.map(\.billId) == ["B1", "B2"] && full.shares[1].fees == Money(fen: 1_000) && full.unbilled == .yuan(50))
        #expect(full.remainder == .zero && full.principal == Money(fen: 54_974 + 8_888 + 5_000))
    }

    @Test("a refund reduces this cycle first, then bills' principal oldest first, never interest or fees; the rest is a credit balance")
    func refundAllocation() {
        let bills = [Self.bill("B1", "2026-02-05", principal: 10_000, interest: 500, fees: 1_000)]
        let small = CreditAllocation.refund(Money(fen: 3_000), bills: bills, unbilled: Money(fen: 5_000))
        #expect(small.unbilled == Money(fen: 3_000) && small.shares.isEmpty && small.remainder == .zero)
        let large = CreditAllocation.refund(Money(fen: 20_000), bills: bills, unbilled: Money(fen: 5_000))
        #expect(large.unbilled == Money(fen: 5_000) && large.shares.first?.principal == Money(fen: 10_000) && large.shares.first?.interest == .zero)
        #expect(large.remainder == Money(fen: 5_000))
    }
}
