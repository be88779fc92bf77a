import Testing
import YibaoCore

/// The settlement decision without I/O: a snapshot in, the record and what to write out.
@Suite("Settlement decision: a snapshot in, the record and its writes out")
struct SettlementDecisionTests {
    static let now = Instant(iso8601: "2026-03-02T10:00:00+08:00")!
    static let drug = Fixtures.item(.a, code: "D1")

    static func visit(state: VisitState = .open, authority: PaymentAuthority = .counter, payer: String? = nil) -> Visit {
        Visit(
            id: "V1", institutionCode: "H0001", personNumber: "P0001", category: .ordinaryOutpatient, hospitalVisitNumber: "HV1",
            state: state, lines: [Fixtures.line(drug, price: .yuan(300))], settlementId: state == .open ? nil : "S0", openedAt: now,
            paymentAuthority: authority, payerNumber: payer)
    }

    static let card = FundingSource(
        id: "FS1", personNumber: "P0001", channel: "sandbox", kind: .debit, token: "tok", masked: "6222 **** 0001", bank: "测试银行", isDefault: true)

    static func snapshot(
        visit: Visit = visit(), account: Money = .yuan(50), source: FundingSource? = nil, policy: Policy? = Fixtures.policy(),
        paymentInProgress: String? = nil, bindingActive: Bool = true, channel: Bool = true, suspended: Set<String> = []
    ) -> SettlementSnapshot {
        SettlementSnapshot(
            visit: visit, institution: Fixtures.institution(level: .level3), person: Fixtures.person().insured,
            personNameMasked: Masking.name(Fixtures.person().name), policy: policy, year: 2026,
            accumulators: .zero, paymentInProgress: paymentInProgress, payerBindingActive: bindingActive, useAccount: true,
            accountAvailable: account, mutualAid: nil, frictionless: nil, authorisedSource: nil, defaultSource: source,
            suspendedCreditSources: suspended, channelConfigured: channel)
    }

    static func decide(_ snapshot: SettlementSnapshot) throws(Refusal) -> SettlementDecision {
        try SettlementDecision.decide(snapshot, settlementID: "S1", entryID: "J1", now: now)
    }

    @Test("cash at the counter: completed now, the visit settled, the accumulators moved, one balanced entry, nothing held")
    func completedNow() throws {
        let decision = try Self.decide(Self.snapshot())
        let record = decision.record
        #expect(record.state == .completed)
        #expect(decision.visitState == .settled)
        #expect(decision.holds.isEmpty && decision.collectFrom == nil)
        #expect(record.breakdown.accountPaid == .yuan(50))  // the whole account
        #expect(record.breakdown.fundTotal + record.breakdown.accountPaid + record.breakdown.cashPaid == record.breakdown.totalAmount)
        let entry = try #require(decision.entry)
        #expect(entry.id == "J1" && entry.reference == "S1")
        #expect(Money.sum(entry.postings.map(\.amount)) == .zero)
        #expect(entry.postings.contains { $0.account == .personal("P0001") && $0.amount == -.yuan(50) })
        #expect(decision.accumulators == PoolAccumulators.zero.adding(record.accumulatorDelta))
    }

    @Test("cash from the card: pending (the patient's payment lock), the account part held, nothing posted; completion posts it all")
    func pendingThenCompleted() throws {
        let decision = try Self.decide(Self.snapshot(visit: Self.visit(authority: .fundingSource), source: Self.card))
        #expect(decision.record.state == .pending)
        #expect(decision.visitState == .paying)
        #expect(decision.entry == nil && decision.accumulators == nil)
        #expect(decision.collectFrom?.id == "FS1")
        #expect(decision.holds == [Posting(.personal("P0001"), .yuan(50))])

        let completion = try PaymentCompletion.decide(
            decision.record, accumulators: .zero, channel: "sandbox", creditLine: nil, entryID: "J2", now: Self.now)
        #expect(completion.record.state == .completed)
        #expect(completion.releasedHolds == [Posting(.personal("P0001"), -.yuan(50))])
        #expect(completion.accumulators == PoolAccumulators.zero.adding(decision.record.accumulatorDelta))
        let entry = try #require(completion.entry)
        #expect(Money.sum(entry.postings.map(\.amount)) == .zero)
        #expect(entry.postings.contains { $0.amount == -decision.record.breakdown.cashPaid })
    }

    @Test(
        "every refusal comes before anything is decided",
        arguments: [
            ("being paid", snapshot(visit: visit(state: .paying)), RefusalCode.settlementInProgress),
            ("settled", snapshot(visit: visit(state: .settled)), .visitAlreadySettled),
            ("cancelled", snapshot(visit: visit(state: .cancelled)), .visitNotOpen),
            ("no policy", snapshot(policy: nil), .noPolicy),
            ("another payment in flight", snapshot(paymentInProgress: "S9"), .settlementInProgress),
            ("family binding ended", snapshot(visit: visit(payer: "P0002"), bindingActive: false), .forbidden),
            ("no bank adapter", snapshot(visit: visit(authority: .fundingSource), source: card, channel: false), .partyNotConfigured),
        ])
    func refusals(name: String, snapshot: SettlementSnapshot, expected: RefusalCode) {
        #expect(throws: Refusal.self, "\(name)") { try Self.decide(snapshot) }
        do {
            _ = try Self.decide(snapshot)
        } catch {
            #expect(error.code == expected, "\(name): \(error)")
        }
    }

    @Test("a visit is cancelled while open (again: the same answer); being paid it waits, settled it is reversed first")
    func cancelling() {
        #expect(Self.visit(state: .open).refusalToCancel == nil)
        #expect(Self.visit(state: .cancelled).refusalToCancel == nil)
        #expect(Self.visit(state: .paying).refusalToCancel?.code == .settlementInProgress)
        #expect(Self.visit(state: .paying).refusalToCancel?.retryAfterSeconds == 2)
        #expect(Self.visit(state: .settled).refusalToCancel?.code == .visitAlreadySettled)
        #expect(Self.visit(state: .settled).refusalToCancel?.references["settlement_id"] == "S0")
        #expect(Self.visit(state: .open).refusalToChangeLines == nil)
        #expect(Self.visit(state: .cancelled).refusalToChangeLines?.code == .visitNotOpen)
        #expect(Self.visit(state: .cancelled).refusalToChangeLines?.detail.contains("cancelled") == true)
        #expect(Self.visit(state: .settled).refusalToChangeLines?.code == .visitNotOpen)
    }

    @Test("a suspended medical credit line is refused, an active one collects")
    func suspendedCredit() throws {
        var line = Self.card
        line.kind = .medicalCredit
        let visit = Self.visit(authority: .fundingSource)
        do {
            _ = try Self.decide(Self.snapshot(visit: visit, source: line, suspended: ["FS1"]))
            Issue.record("a suspended line was not refused")
        } catch {
            #expect(error.code == .creditSuspended)
        }
        #expect(try Self.decide(Self.snapshot(visit: visit, source: line)).collectFrom?.kind == .medicalCredit)
    }
}
