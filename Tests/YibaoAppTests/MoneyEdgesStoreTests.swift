import Foundation
import Testing
import YibaoCore
import YibaoSandbox

@testable import YibaoApp
@testable import YibaoStore

/// Regression tests for the money edges found by trying sequences a counter sees every day: a refund
/// then a reversal, a reversal of a payment still waiting for the bank, refunds larger than what was
/// collected. Each failed (created money, or killed the process) before `SettlementMoney`.
@Suite("Platform contract: money edges — refunds, reversals and pending payments on the same settlement")
struct MoneyEdgesStoreTests {
    typealias S = AppFixtures

    static func key(_ value: String) -> IdempotencyRequest { IdempotencyRequest(key: value, fingerprint: value) }

    static func refusal(_ body: () async throws -> some Any) async -> Refusal? {
        do {
            _ = try await body()
            return nil
        } catch { return error as? Refusal }
    }

    /// The patient settles a 300-yuan visit with the phone's current code, and the bank does not answer
    /// the authorisation: the refusal (`payment_pending`, naming the settlement and its visit).
    static func pendingAtTheBank(_ platform: Platform, _ phone: Phone, key: String) async throws -> Refusal? {
        try #require(platform.sandbox).inject(SandboxBank.Faults(timeoutsBeforeProcessing: 1))
        return await refusal {
            try await platform.settle(
                code: OneCodeStoreTests.request(phone.code(at: platform.clock.now())), institution: S.hospital, idempotency: Self.key(key))
        }
    }

    @Test(
        "refund then reversal of the same settlement: the reversal is refused, nothing is credited twice, the rest is refunded by lines",
        arguments: BackendKind.available)
    func refundThenReversal(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // setup: P1 has 200 yuan; 300 yuan class A at a level-3 hospital → fund 120, account 180, cash 0.
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(200))
            let visit = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ1", lines: [S.line("1", "A001", yuan: 300)]),
                institution: S.hospital)
            let settled = try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: Self.key("s"))
            #expect(settled.breakdown.pooledFund == .yuan(120) && settled.breakdown.accountPaid == .yuan(180))

            // act: the cashier refunds the insurance part, then the HIS sends 冲正 for the whole settlement.
            let insurance = try await platform.refund(
                settlementID: settled.id, institution: S.hospital, request: RefundRequest(type: .insurance), idempotency: Self.key("r1"))
            let reversal = await Self.refusal {
                try await platform.reverse(settlementID: settled.id, institution: S.hospital, idempotency: Self.key("v1"))
            }

            // verify: refused with the reason; the account and the fund got their money back once.
            #expect(insurance.returned == PayerAmounts(pooledFund: .yuan(120), ownAccount: .yuan(180)))
            #expect(insurance.cashOwedChange == .yuan(300))
            #expect(reversal?.code == .settlementRefunded)
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(200))
            #expect(try await platform.balance(of: .fund(S.region, .employee, .employeePooled)) == .zero)
            #expect(try await platform.balance(of: .institutionClearing(S.hospital.code)) == .zero)
            // The year's figures are back to zero (not below): a new visit pays the whole deductible again.
            let next = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ2", lines: [S.line("1", "A001", yuan: 50)]),
                institution: S.hospital)
            #expect(try await platform.preSettle(visitID: next.id, institution: S.hospital, useAccount: false).breakdown.deductiblePaid == .yuan(50))
            #expect(try await platform.verifyLedger().passed)

            // act: the hospital refunds the rest instead — every line still charged.
            let rest = try await platform.refund(
                settlementID: settled.id, institution: S.hospital, request: RefundRequest(type: .lines, lineNumbers: ["1"]),
                idempotency: Self.key("r2"))
            // verify: nothing more moves (it was all given back); the cash the patient owed is forgiven.
            #expect(rest.returned == .zero)
            #expect(rest.cashOwedChange == .yuan(-300))
            #expect(rest.breakdown.totalAmount == .yuan(-300))
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(200))
            let again = await Self.refusal {
                try await platform.refund(
                    settlementID: settled.id, institution: S.hospital, request: RefundRequest(type: .lines, lineNumbers: ["1"]),
                    idempotency: Self.key("r3"))
            }
            #expect(again?.code == .invalidRequest && again?.field == "line_numbers[0]")
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a partial refund by lines, then every remaining line: each payer gets back exactly what it paid", arguments: BackendKind.available)
    func refundTheRest(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform, accountBalance: .yuan(50))
            let bank = try #require(platform.sandbox)
            var request = OneCodeStoreTests.request(phone.code(at: platform.clock.now()))
            request.lines = [S.line("1", "A001", yuan: 300), S.line("2", "C001", yuan: 40)]
            let original = try await platform.settle(code: request, institution: S.hospital, idempotency: Self.key("s"))
            // fund 120, account 50, card 170.
            #expect(original.breakdown.cashPaid == .yuan(170))
            _ = try await platform.refund(
                settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .lines, lineNumbers: ["2"]),
                idempotency: Self.key("r1"))
            let reversal = await Self.refusal { try await platform.reverse(settlementID: original.id, institution: S.hospital, idempotency: nil) }
            #expect(reversal?.code == .settlementRefunded)

            let rest = try await platform.refund(
                settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .lines, lineNumbers: ["1"]),
                idempotency: Self.key("r2"))
            #expect(rest.returned == PayerAmounts(pooledFund: .yuan(120), ownAccount: .yuan(50), cash: .yuan(130)))
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(1000))
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(50))
            #expect(try await platform.balance(of: .fund(S.region, .employee, .employeePooled)) == .zero)
            #expect(try await platform.balance(of: .channel("sandbox")) == .zero)
            #expect(try await platform.pendingChannelOperations() == 0)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a settlement waiting for the bank is not reversed; once the bank answers it completes and can be", arguments: BackendKind.available)
    func pendingIsNotReversed(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // setup: the patient's first settlement of the year, and the bank does not answer.
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let bank = try #require(platform.sandbox)
            let pay = try await Self.pendingAtTheBank(platform, phone, key: "p")
            #expect(pay?.code == .paymentPending)
            let pendingID = try #require(pay?.references["settlement_id"])

            // act: the HIS reverses the pending settlement.
            let reversal = await Self.refusal {
                try await platform.reverse(settlementID: pendingID, institution: S.hospital, idempotency: Self.key("v"))
            }
            let refund = await Self.refusal {
                try await platform.refund(
                    settlementID: pendingID, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(1)),
                    idempotency: Self.key("f"))
            }

            // verify: both refused; nothing moved; the visit still waits for the bank.
            #expect(reversal?.code == .settlementNotCompleted)
            #expect(refund?.code == .settlementNotCompleted)
            #expect(try await platform.verifyLedger().entries == 1)  // the opening balance only
            let visitID = try #require(pay?.references["visit_id"])
            #expect(try await platform.visit(id: visitID, institution: S.hospital)?.state == .paying)

            // The bank answers: the settlement completes once, and now a reversal gives everything back.
            let resolved = try await platform.resolvePending(id: pendingID)
            #expect(resolved.state == .completed)
            let reversed = try await platform.reverse(settlementID: pendingID, institution: S.hospital, idempotency: Self.key("v2"))
            #expect(reversed.returned == PayerAmounts(pooledFund: .yuan(120), ownAccount: .yuan(50), cash: .yuan(130)))
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(1000))
            #expect(try await platform.accountBalance(of: "P1") == (.yuan(50), .zero))
            #expect(try await platform.visit(id: visitID, institution: S.hospital)?.state == .open)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test(
        "a patient's pending settlement is their payment lock: the next waits, and goes through once the first ends",
        arguments: BackendKind.available)
    func pendingSettlementLocksThePatient(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: the bank does not answer the first settlement's authorisation.
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let bank = try #require(platform.sandbox)
            let first = try await Self.pendingAtTheBank(platform, phone, key: "a")
            let firstID = try #require(first?.references["settlement_id"])

            // act: a second visit settled while the first waits, then again once the bank has answered.
            clock.advance(seconds: 60)
            let waiting = await Self.refusal {
                try await platform.settle(
                    code: OneCodeStoreTests.request(phone.code(at: clock.now()), visit: "MZ2", yuan: 100), institution: S.hospital,
                    idempotency: Self.key("b"))
            }
            // The index is the guard behind the decision: a second pending record of the patient written
            // past it (as a race the account's lock prevents would) is refused the same way.
            var copy = try #require(
                try await platform.read { db, _ in try SettlementRepository.find(id: firstID, institution: nil, lock: false, in: db) })
            copy.id = "S-SECOND"
            let second = copy
            let racing = await Self.refusal {
                try await platform.write { db, now in
                    var writes = WriteSet()
                    writes.settlements = [second]
                    try WriteSetRepository.apply(writes, now: now, in: db)
                }
            }
            #expect(try await platform.resolvePending(id: firstID).state == .completed)
            clock.advance(seconds: 60)
            let settled = try await platform.settle(
                code: OneCodeStoreTests.request(phone.code(at: clock.now()), visit: "MZ2", yuan: 100), institution: S.hospital,
                idempotency: Self.key("c"))

            // verify: refused while the first was pending, naming it, and nothing of it written (its visit
            // number is free for the retry); then settled.
            #expect(first?.code == .paymentPending)
            #expect(waiting?.code == .settlementInProgress)
            #expect(waiting?.references["settlement_id"] == firstID)
            #expect(waiting?.retryAfterSeconds == 2)
            #expect(racing?.code == .settlementInProgress)
            #expect(settled.state == .completed)
            await platform.flushAfterCommit()  // the captures
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(1000) - .yuan(130) - settled.breakdown.cashPaid)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a declined credit-line payment is not reversed and writes no credit refund", arguments: BackendKind.available)
    func declinedCreditIsNotReversed(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await CreditStoreTests.load(platform)
            let borrower = try await Borrower.make(platform)
            try await platform.setDefaultFundingSource(id: borrower.lineSource, person: "P1")
            let device = try await platform.enrolDevice(person: "P1", name: "phone")
            let code = VoucherCode.make(secret: device.secret, deviceNumber: device.device.number, at: platform.clock.now())
            // 15,000 yuan of class C: more than the 10,000-yuan line, so the partner bank declines.
            let request = CodeVisitRequest(
                code: code, category: .ordinaryOutpatient, hospitalVisitNumber: "MZ-C", lines: [CreditStoreTests.selfPay("1", fen: 1_500_000)],
                useAccount: false)
            let pay = await Self.refusal { try await platform.settle(code: request, institution: S.hospital, idempotency: Self.key("c")) }
            #expect(pay?.code == .paymentDeclined)
            let declinedID = try #require(pay?.references["settlement_id"])

            let reversal = await Self.refusal { try await platform.reverse(settlementID: declinedID, institution: S.hospital, idempotency: nil) }
            #expect(reversal?.code == .settlementNotCompleted)
            #expect(try await platform.balance(of: .creditLine(borrower.lineID)) == .zero)
            #expect(try await platform.creditLine(id: borrower.lineID, person: "P1").used == .zero)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a refund and a reversal retried with the same key return the first record and give nothing back twice", arguments: BackendKind.available)
    func retriedRefundAndReversal(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: a one-code settlement: fund 120, account 50, card 130.
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let bank = try #require(platform.sandbox)
            let first = try await platform.settle(
                code: OneCodeStoreTests.request(phone.code(at: platform.clock.now())), institution: S.hospital, idempotency: Self.key("s1"))
            #expect(first.breakdown.cashPaid == .yuan(130))

            // act: a cash refund of 30 sent twice with one key (the answer was lost), then once with the key and another body.
            let cash = RefundRequest(type: .cash, amount: .yuan(30))
            let refund = try await platform.refund(settlementID: first.id, institution: S.hospital, request: cash, idempotency: Self.key("r"))
            let again = try await platform.refund(settlementID: first.id, institution: S.hospital, request: cash, idempotency: Self.key("r"))
            let otherBody = await Self.refusal {
                try await platform.refund(
                    settlementID: first.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(31)),
                    idempotency: IdempotencyRequest(key: "r", fingerprint: "another body"))
            }

            // verify: one refund, 30 back to the card once.
            #expect(again.id == refund.id)
            #expect(otherBody?.code == .idempotencyKeyReused)
            #expect(Money.sum(try await bank.operations().map(\.refunded)) == .yuan(30))
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(1000) - .yuan(130) + .yuan(30))

            // act: a second settlement (a minute later: a code is spent once) reversed twice with one key.
            clock.advance(seconds: 60)
            let second = try await platform.settle(
                code: OneCodeStoreTests.request(phone.code(at: clock.now()), visit: "MZ-R2"),
                institution: S.hospital, idempotency: Self.key("s2"))
            let accountBefore = try await platform.accountBalance(of: second.personNumber).balance
            let reversal = try await platform.reverse(settlementID: second.id, institution: S.hospital, idempotency: Self.key("v"))
            let reversalAgain = try await platform.reverse(settlementID: second.id, institution: S.hospital, idempotency: Self.key("v"))

            // verify: one reversal; the account and the card got the second settlement's money back once.
            #expect(reversalAgain.id == reversal.id)
            #expect(try await platform.accountBalance(of: second.personNumber).balance == accountBefore + second.breakdown.accountPaid)
            #expect(Money.sum(try await bank.operations().map(\.refunded)) == .yuan(30) + second.breakdown.cashPaid)
            #expect(try await platform.pendingChannelOperations() == 0)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("after an insurance refund the card is refunded at most what it paid, not the cash the patient now owes", arguments: BackendKind.available)
    func cashRefundIsCappedByWhatWasCollected(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // setup: fund 120, account 50, card 130.
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let bank = try #require(platform.sandbox)
            let original = try await platform.settle(
                code: OneCodeStoreTests.request(phone.code(at: platform.clock.now())), institution: S.hospital, idempotency: Self.key("s"))
            #expect(original.breakdown.cashPaid == .yuan(130))

            // act: the insurance part back (the patient now owes 170 at the counter), then cash refunds.
            let insurance = try await platform.refund(
                settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .insurance), idempotency: Self.key("i"))
            let tooMuch = await Self.refusal {
                try await platform.refund(
                    settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(200)),
                    idempotency: Self.key("c1"))
            }
            let cash = try await platform.refund(
                settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(130)),
                idempotency: Self.key("c2"))
            let more = await Self.refusal {
                try await platform.refund(
                    settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: Money(fen: 1)),
                    idempotency: Self.key("c3"))
            }

            // verify
            #expect(insurance.cashOwedChange == .yuan(170))
            #expect(tooMuch?.code == .refundExceedsSettlement)
            #expect(cash.returned == PayerAmounts(cash: .yuan(130)))
            #expect(more?.code == .refundExceedsSettlement)
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(1000))
            let refunded = Money.sum(try await bank.operations().map(\.refunded))
            #expect(refunded == .yuan(130))
            #expect(try await platform.balance(of: .channel("sandbox")) == .zero)
            #expect(try await platform.pendingChannelOperations() == 0)
            #expect(try await platform.verifyLedger().passed)
        }
    }
}
