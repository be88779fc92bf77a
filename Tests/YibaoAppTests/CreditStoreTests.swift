import Foundation
import Testing
import YibaoCore
import YibaoSandbox

@testable import YibaoApp
@testable import YibaoStore

/// A borrower for credit tests: an employee with a personal account, a debit card and (after applying)
/// a medical credit line.
struct Borrower {
    let person: Person
    let card: FundingSource
    var line: CreditLineView?

    static let policy2026: Policy = {
        var policy = AppFixtures.policy
        policy.family = FamilyRule(singleFamilyOnly: true, accountMayRepayCredit: true)
        return policy
    }()

    static func make(
        _ platform: Platform, number: String = "P1", sequence: Int = 1, account: Money = .yuan(2000), cardBalance: Money = .yuan(5000),
        applying: Bool = true
    ) async throws -> Borrower {
        let person = AppFixtures.person(number, sequence: sequence)
        try await platform.enrol(person, openingBalance: account)
        let issued = try await #require(platform.sandbox).issueCard(
            holderIDNumber: person.idNumber, holderName: person.name, kind: .debit, balance: cardBalance)
        let card = try await platform.bindCard(person: number, number: issued.number)
        var borrower = Borrower(person: person, card: card, line: nil)
        if applying { borrower.line = try await platform.applyForCredit(person: number) }
        return borrower
    }

    var lineSource: String { line!.line.fundingSourceId }
    var lineID: String { line!.line.id }
}

@Suite("Platform contract: credit — treat first, pay later")
struct CreditStoreTests {
    typealias S = AppFixtures

    static func key(_ value: String) -> IdempotencyRequest { IdempotencyRequest(key: value, fingerprint: value) }

    /// Loads the reference data with a policy that lets the personal account repay credit.
    static func load(_ platform: Platform) async throws {
        try await S.load(into: platform)
        try await platform.savePolicy(Borrower.policy2026)
    }

    /// A class C line (全自费): the whole amount is the patient's, so the line pays exactly `fen`.
    static func selfPay(_ number: String, fen: Int64) -> FeeLine {
        FeeLine(lineNumber: number, itemCode: "C001", unitPrice: Money(fen: fen), quantity: Quantity(units: 1))
    }

    /// Registers a frictionless visit, uploads its lines and settles it with no patient action.
    static func frictionlessVisit(
        _ platform: Platform, person: String, visit: String, lines: [FeeLine], category: MedicalCategory = .ordinaryOutpatient
    ) async throws -> SettlementRecord {
        let opened = try await platform.openVisit(
            OpenVisitRequest(personNumber: person, category: category, hospitalVisitNumber: visit, frictionless: true), institution: S.hospital)
        #expect(opened.paymentAuthority == .frictionless)
        _ = try await platform.addLines(lines, visitID: opened.id, institution: S.hospital)
        return try await platform.settle(visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: key("settle-" + visit))
    }

    // MARK: Sign-up

    @Test("the sandbox bank grants a line from the credit standing, or refuses with a reason", arguments: BackendKind.available)
    func application(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.load(platform)
            let bank = try #require(platform.sandbox)
            // The model, pure: limits by score, and each refusal.
            #expect(try SandboxBank.decide(score: 600, delinquent: false, age: 30, insured: true).get() == .yuan(5_000))
            #expect(try SandboxBank.decide(score: 700, delinquent: false, age: 30, insured: true).get() == .yuan(10_000))
            #expect(try SandboxBank.decide(score: 750, delinquent: false, age: 30, insured: true).get() == .yuan(20_000))
            for (score, delinquent, age, insured) in [(599, false, 30, true), (800, true, 30, true), (800, false, 17, true), (800, false, 30, false)]
            {
                #expect(throws: SandboxBank.CreditRefusal.self) {
                    try SandboxBank.decide(score: score, delinquent: delinquent, age: age, insured: insured).get()
                }
            }
            // Granted: a line of at least 5,000 yuan, a funding source, the terms of the contract.
            let granted = try await Borrower.make(platform)
            let view = try #require(granted.line)
            #expect(view.line.creditLimit == .yuan(10_000) && view.available == .yuan(10_000) && view.used == .zero)
            #expect(view.line.terms == CreditTerms.sandbox && view.line.nextStatement == CivilDate(year: 2026, month: 3, day: 5))
            #expect(try await platform.fundingSources(person: "P1").contains { $0.id == view.line.fundingSourceId && $0.kind == .medicalCredit })
            await #expect { _ = try await platform.applyForCredit(person: "P1") } throws: { ($0 as? Refusal)?.code == .alreadyExists }
            // Refused: a low score, with the bank's reason; nothing is opened.
            let low = S.person("P2", sequence: 2)
            try await platform.enrol(low)
            try await bank.setCreditScore(idNumber: low.idNumber, score: 560)
            await #expect {
                _ = try await platform.applyForCredit(person: "P2")
            } throws: { ($0 as? Refusal)?.code == .creditRefused && ($0 as? Refusal)?.detail.contains("below 600") == true }
            #expect(try await platform.creditLines(person: "P2").isEmpty)
        }
    }

    // MARK: Priority order

    struct PriorityCase: Sendable, CustomTestStringConvertible {
        let name: String
        let priority: PaymentPriority
        let source: String  // "card" or "line"
        let account: Money
        let cardBalance: Money
        /// Expected: account paid, cash paid from the source, or the refusal.
        let accountPaid: Money?
        let cashPaid: Money?
        let refusal: RefusalCode?
        var testDescription: String { name }
    }

    /// 300 yuan of class A at the level-3 hospital: deductible 100, fund 60 % of 200 = 120, the patient's
    /// part 180.
    static let priorityCases: [PriorityCase] = [
        PriorityCase(
            name: "account covers all", priority: .accountFirst, source: "card", account: .yuan(500), cardBalance: .yuan(1000),
            accountPaid: .yuan(180),
            cashPaid: .zero, refusal: nil),
        PriorityCase(
            name: "account part, card the rest", priority: .accountFirst, source: "card", account: .yuan(50), cardBalance: .yuan(1000),
            accountPaid: .yuan(50), cashPaid: .yuan(130), refusal: nil),
        PriorityCase(
            name: "account part, credit line the rest", priority: .accountFirst, source: "line", account: .yuan(50), cardBalance: .yuan(1000),
            accountPaid: .yuan(50), cashPaid: .yuan(130), refusal: nil),
        PriorityCase(
            name: "card first: the card pays all, the account is kept", priority: .sourceFirst, source: "card", account: .yuan(500),
            cardBalance: .yuan(1000), accountPaid: .zero, cashPaid: .yuan(180), refusal: nil),
        PriorityCase(
            name: "debit card short: clean failure", priority: .sourceFirst, source: "card", account: .yuan(500), cardBalance: .yuan(100),
            accountPaid: nil, cashPaid: nil, refusal: .paymentDeclined),
        PriorityCase(
            name: "account first, debit card short for the rest: clean failure", priority: .accountFirst, source: "card", account: .yuan(50),
            cardBalance: .yuan(100), accountPaid: nil, cashPaid: nil, refusal: .paymentDeclined),
        PriorityCase(
            name: "account only, account short: clean failure", priority: .accountOnly, source: "card", account: .yuan(50), cardBalance: .yuan(1000),
            accountPaid: nil, cashPaid: nil, refusal: .accountInsufficient),
    ]

    @Test("priority order: who pays the patient's part, and clean failures with nothing posted", arguments: BackendKind.available, priorityCases)
    func priorityOrder(kind: BackendKind, example: PriorityCase) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.load(platform)
            let borrower = try await Borrower.make(platform, account: example.account, cardBalance: example.cardBalance)
            _ = try await platform.signFrictionless(
                person: "P1", fundingSourceID: example.source == "card" ? borrower.card.id : borrower.lineSource, priority: example.priority)
            let entriesBefore = try await platform.verifyLedger().entries
            let opened = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ1", lines: [S.line("1", "A001", yuan: 300)],
                    frictionless: true),
                institution: S.hospital)
            do {
                let record = try await platform.settle(visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: Self.key("p"))
                #expect(example.refusal == nil, "expected \(String(describing: example.refusal))")
                #expect(record.state == .completed)
                #expect(record.breakdown.accountPaid == example.accountPaid && record.breakdown.cashPaid == example.cashPaid)
                #expect(try await platform.balance(of: .personal("P1")) == example.account - (example.accountPaid ?? .zero))
                let cash = example.cashPaid ?? .zero
                if example.source == "line" {
                    #expect(try await platform.balance(of: .creditLine(borrower.lineID)) == cash)
                    let line = try await platform.creditLine(id: borrower.lineID, person: "P1")
                    #expect(line.used == cash && line.available == .yuan(10_000) - cash && line.unbilled == cash)
                } else {
                    await platform.flushAfterCommit()  // the capture, sent after the answer
                    #expect(try await platform.sandbox!.card(borrower.card.token)?.balance == example.cardBalance - cash)
                }
            } catch let refusal as Refusal {
                #expect(refusal.code == example.refusal, "\(refusal)")
                // Nothing posted: no new journal entry, the account and the card untouched, the visit open to pay another way.
                #expect(try await platform.verifyLedger().entries == entriesBefore)
                #expect(try await platform.balance(of: .personal("P1")) == example.account)
                let card = try #require(try await platform.sandbox!.card(borrower.card.token))
                #expect(card.balance == example.cardBalance && card.held == .zero)
                #expect(try await platform.visit(id: opened.id, institution: S.hospital)?.state == .open)
                let told = try await platform.inbox(person: "P1", cursor: nil)
                #expect(told.contains { $0.topic == "frictionless.failed" || $0.topic == "payment.declined" })
                // The fallback: the hospital collects at the counter.
                let counter = try await platform.settle(
                    visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: Self.key("counter"), cashAtCounter: true)
                #expect(counter.state == .completed && counter.cashCollection == .counter)
            }
            #expect(try await platform.verifyLedger().passed)
        }
    }

    // MARK: Frictionless

    @Test(
        "a frictionless outpatient visit and inpatient stay settle with no patient action; the message carries the receipt; revoking stops it",
        arguments: BackendKind.available)
    func frictionless(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await Self.load(platform)
            let borrower = try await Borrower.make(platform, account: .yuan(100))
            // Registration without an authorisation is refused.
            await #expect {
                _ = try await platform.openVisit(
                    OpenVisitRequest(personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "X", frictionless: true),
                    institution: S.hospital)
            } throws: { ($0 as? Refusal)?.code == .noFrictionlessAuthorisation }
            let signed = try await platform.signFrictionless(person: "P1", fundingSourceID: borrower.lineSource, priority: .accountFirst)
            #expect(signed.consentDigest.count == 64)
            // Outpatient: registration marks it, the hospital settles after treatment.
            let outpatient = try await Self.frictionlessVisit(platform, person: "P1", visit: "MZ1", lines: [S.line("1", "A001", yuan: 300)])
            #expect(outpatient.state == .completed && outpatient.breakdown.accountPaid == .yuan(100) && outpatient.breakdown.cashPaid == .yuan(80))
            #expect(outpatient.fundingSource?.kind == .medicalCredit)
            let message = try #require(try await platform.inbox(person: "P1", cursor: nil).first { $0.reference == outpatient.id })
            #expect(message.title.hasPrefix("无感支付"))
            #expect(message.body.contains(platform.receipt(for: outpatient).verificationCode))
            // Inpatient: admission marks it, lines arrive during the stay, discharge settles.
            clock.advance(seconds: 3600)
            let admitted = try await platform.openVisit(
                OpenVisitRequest(personNumber: "P1", category: .ordinaryInpatient, hospitalVisitNumber: "ZY1", frictionless: true),
                institution: S.hospital)
            for day in 1...3 {
                clock.advance(seconds: 86_400)
                _ = try await platform.addLines([S.line("\(day)", "A001", yuan: 1000)], visitID: admitted.id, institution: S.hospital)
            }
            let discharge = try await platform.settle(visitID: admitted.id, institution: S.hospital, useAccount: true, idempotency: Self.key("zy"))
            // 3,000 yuan inpatient: deductible 1,000, 80 % of 2,000 = 1,600 fund; 1,400 the patient's, all on the line (account empty).
            #expect(discharge.state == .completed && discharge.breakdown.fundTotal == .yuan(1600) && discharge.breakdown.cashPaid == .yuan(1400))
            let stayMessage = try #require(try await platform.inbox(person: "P1", cursor: nil).first { $0.reference == discharge.id })
            #expect(stayMessage.body.contains(platform.receipt(for: discharge).verificationCode))
            let line = try await platform.creditLine(id: borrower.lineID, person: "P1")
            #expect(line.used == .yuan(1480) && line.unbilled == .yuan(1480))
            // Revoked: a registered visit can no longer be settled without the patient; nothing is written.
            let pending = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ2", lines: [S.line("1", "A001", yuan: 50)],
                    frictionless: true),
                institution: S.hospital)
            try await platform.revokeFrictionless(person: "P1")
            await #expect {
                _ = try await platform.settle(visitID: pending.id, institution: S.hospital, useAccount: true, idempotency: Self.key("mz2"))
            } throws: { ($0 as? Refusal)?.code == .noFrictionlessAuthorisation }
            #expect(try await platform.visit(id: pending.id, institution: S.hospital)?.state == .open)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    // MARK: A year

    @Test(
        "a year of bills: purchases, refunds, partial repayments, penalty interest to the fen, suspension on day 30, reinstatement; the job twice a day",
        arguments: BackendKind.available)
    func yearOfBills(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-01-09T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await Self.load(platform)
            let bank = try #require(platform.sandbox)
            let borrower = try await Borrower.make(platform, account: .yuan(2000), cardBalance: .yuan(5000))
            let lineID = borrower.lineID
            _ = try await platform.signFrictionless(person: "P1", fundingSourceID: borrower.lineSource, priority: .sourceFirst)
            var settlements: [String: SettlementRecord] = [:]
            var repaymentKeys = 0
            func repay(_ fen: Int64, fromAccount: Bool) async throws -> CreditRepayment {
                repaymentKeys += 1
                return try await platform.repayCredit(
                    person: "P1", line: lineID,
                    RepaymentRequest(
                        amount: Money(fen: fen), source: fromAccount ? .account : .fundingSource,
                        fundingSourceId: fromAccount ? nil : borrower.card.id),
                    idempotency: Self.key("repay-\(repaymentKeys)"))
            }
            func bills() async throws -> [CreditBillView] { try await platform.creditLine(id: lineID, person: "P1").bills.reversed() }
            func state() async throws -> CreditLineState { try await platform.creditLine(id: lineID, person: "P1").line.state }

            // What happens, day by day (China time, 10:00; the daily job runs at 00:05 and again at 00:06).
            let events: [String: () async throws -> Void] = [
                "2026-01-10": {
                    settlements["a"] = try await Self.frictionlessVisit(platform, person: "P1", visit: "A", lines: [Self.selfPay("1", fen: 123_457)])
                },
                "2026-01-20": {
                    settlements["b"] = try await Self.frictionlessVisit(platform, person: "P1", visit: "B", lines: [Self.selfPay("1", fen: 30_000)])
                },
                // B is reversed: back to the line, within the cycle.
                "2026-01-25": {
                    _ = try await platform.reverse(settlementID: settlements["b"]!.id, institution: S.hospital, idempotency: Self.key("rev-b"))
                },
                "2026-02-06": {
                    // Bill 1 (statement 5 Feb): 1,234.57, due 25 Feb.
                    let first = try await bills()
                    #expect(
                        first.count == 1 && first[0].bill.principalBilled == Money(fen: 123_457) && first[0].bill.dueDate == CivilDate("2026-02-25"))
                },
                "2026-02-10": { _ = try await repay(20_000, fromAccount: false) },  // principal 103,457 left
                "2026-02-15": {
                    settlements["c"] = try await Self.frictionlessVisit(platform, person: "P1", visit: "C", lines: [Self.selfPay("1", fen: 8_888)])
                },
                "2026-02-26": {
                    // Day 1 overdue: the late fee and the first day's interest, 103,457 × 5 ‱ = 51.7285 → 51 fen (carry 0.7285).
                    let first = try await bills()[0].bill
                    #expect(first.feesCharged == .yuan(10) && first.interestCharged == Money(fen: 51))
                },
                "2026-03-07": {
                    // Day 10: interest ⌊10 × 517,285 / 10,000⌋ = 517 fen. 500 yuan from the account: fee 1,000, interest 517, principal 48,483.
                    #expect(try await bills()[0].bill.interestCharged == Money(fen: 517))
                    let paid = try await repay(50_000, fromAccount: true)
                    let share = try #require(paid.allocation?.shares.first)
                    #expect(share.fees == Money(fen: 1_000) && share.interest == Money(fen: 517) && share.principal == Money(fen: 48_483))
                    #expect(try await bills()[0].bill.principalDue == Money(fen: 54_974))
                },
                "2026-03-26": {
                    let now = try await state()
                    #expect(now == .active)  // day 29
                },
                "2026-03-27": {
                    // Day 30: suspended, a credit-report record written and delivered; no new frictionless visits.
                    #expect(try await state() == .suspended)
                    let reports = try await platform.creditReports()
                    #expect(reports.count == 1 && reports[0].kind == "overdue" && reports[0].overdueDays == 30)
                    #expect(try await bank.creditStanding(idNumber: borrower.person.idNumber).delinquent)
                    await #expect {
                        _ = try await platform.openVisit(
                            OpenVisitRequest(personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "D", frictionless: true),
                            institution: S.hospital)
                    } throws: { ($0 as? Refusal)?.code == .creditSuspended }
                },
                "2026-04-03": {
                    // Bill 1: principal 54,974 from day 11 (8 Mar) to day 37 (3 Apr), 27 days × 274,870 plus the carry 2,850:
                    // ⌊(27 × 274,870 + 2,850) / 10,000⌋ = ⌊7,424,340 / 10,000⌋ = 742 fen. Owed: 54,974 + 742 = 55,716.
                    // Bill 2 (statement 5 Mar, 88.88, due 25 Mar): fee 1,000; interest 26 Mar – 3 Apr, 9 days × 44,440 = 399,960 → 39 fen.
                    // Owed: 8,888 + 1,000 + 39 = 9,927. Everything: 65,643.
                    let now = try await bills()
                    #expect(now[0].bill.interestCharged == Money(fen: 517 + 742) && now[0].bill.amountDue == Money(fen: 55_716))
                    #expect(now[1].bill.principalBilled == Money(fen: 8_888) && now[1].bill.feesCharged == .yuan(10))
                    #expect(now[1].bill.interestCharged == Money(fen: 39) && now[1].bill.amountDue == Money(fen: 9_927))
                    #expect(try await platform.creditLine(id: lineID, person: "P1").owed == Money(fen: 65_643))
                    await #expect { _ = try await repay(65_644, fromAccount: false) } throws: { ($0 as? Refusal)?.code == .repaymentExceedsOwed }
                    _ = try await repay(65_643, fromAccount: false)
                    // Reinstated at once, the repayment reported, the bureau clear again.
                    #expect(try await state() == .active)
                    #expect(try await platform.creditReports().first?.kind == "repaid")
                    #expect(try await bank.creditStanding(idNumber: borrower.person.idNumber).delinquent == false)
                    #expect(try await platform.creditLine(id: lineID, person: "P1").owed == .zero)
                },
                // A purchase, part of it refunded in the same cycle; the bill is paid on time from the account.
                "2026-05-12": {
                    settlements["e"] = try await Self.frictionlessVisit(platform, person: "P1", visit: "E", lines: [Self.selfPay("1", fen: 50_000)])
                },
                "2026-05-20": {
                    _ = try await platform.refund(
                        settlementID: settlements["e"]!.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(200)),
                        idempotency: Self.key("ref-e"))
                },
                "2026-06-10": {
                    let june = try #require(try await bills().last)
                    #expect(june.bill.statementDate == CivilDate("2026-06-05") && june.bill.principalBilled == .yuan(300))
                    _ = try await repay(30_000, fromAccount: true)
                },
                // A refund after its bill was paid becomes a credit balance that the next bill nets against.
                "2026-07-10": {
                    settlements["f"] = try await Self.frictionlessVisit(platform, person: "P1", visit: "F", lines: [Self.selfPay("1", fen: 40_000)])
                },
                "2026-08-10": { _ = try await repay(40_000, fromAccount: false) },
                "2026-08-20": {
                    _ = try await platform.refund(
                        settlementID: settlements["f"]!.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(100)),
                        idempotency: Self.key("ref-f"))
                    let view = try await platform.creditLine(id: lineID, person: "P1")
                    #expect(view.creditBalance == .yuan(100) && view.owed == .zero && view.available == .yuan(10_100))
                },
                "2026-08-25": {
                    settlements["g"] = try await Self.frictionlessVisit(platform, person: "P1", visit: "G", lines: [Self.selfPay("1", fen: 25_000)])
                },
                "2026-09-10": {
                    let september = try #require(try await bills().last)
                    #expect(september.bill.statementDate == CivilDate("2026-09-05") && september.bill.principalBilled == .yuan(150))
                    _ = try await repay(15_000, fromAccount: false)
                },
            ]

            var day = CivilDate(year: 2026, month: 1, day: 10)!
            let last = CivilDate(year: 2026, month: 12, day: 31)!
            while day <= last {
                clock.set(day.startInChina.adding(seconds: 300))
                let first = try await platform.runCreditDay()
                clock.advance(seconds: 60)
                let second = try await platform.runCreditDay()
                #expect(second.lines == 0 && second.interest == .zero && second.bills == 0, "the second run of \(day) changed something")
                #expect(first.lines == 1)
                clock.set(day.startInChina.adding(seconds: 36_000))
                if let event = events[day.description] { try await event() }
                day = day.adding(days: 1)
            }

            // The year: bills of Feb, Mar, Jun, Aug and Sep (cycles without entries draw no bill), all paid;
            // interest and fees exactly as computed; the bank and Yibao agree on what is used; the ledger balances.
            let all = try await bills()
            #expect(all.map(\.bill.statementDate.description) == ["2026-02-05", "2026-03-05", "2026-06-05", "2026-08-05", "2026-09-05"])
            #expect(all.allSatisfy { $0.status == "paid" })
            #expect(Money.sum(all.map(\.bill.interestCharged)) == Money(fen: 517 + 742 + 39))
            #expect(Money.sum(all.map(\.bill.feesCharged)) == .yuan(20))
            let view = try await platform.creditLine(id: lineID, person: "P1")
            #expect(view.owed == .zero && view.used == .zero && view.line.state == .active)
            await platform.processChannelOperations()
            let token = try #require(try await platform.fundingSources(person: "P1").first { $0.kind == .medicalCredit }?.token)
            #expect(try await bank.available(token: token) == view.available)
            #expect(try await platform.balance(of: .creditLine(lineID)) == .zero)
            // Account repayments: 500 (March) and 300 (June) left the account for the bank.
            #expect(try await platform.balance(of: .personal("P1")) == .yuan(2000 - 500 - 300))
            #expect(try await platform.verifyLedger().passed)
            let history = try await platform.history(person: "P1", query: HistoryQuery(kinds: [.creditRepayment]))
            #expect(history.events.count == 6)
        }
    }

    @Test("a card repayment whose answer is lost is taken once: resolved in the background, and a retry returns it", arguments: BackendKind.available)
    func lostRepaymentAnswer(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-01-10T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await Self.load(platform)
            let borrower = try await Borrower.make(platform, cardBalance: .yuan(1000))
            _ = try await platform.signFrictionless(person: "P1", fundingSourceID: borrower.lineSource, priority: .sourceFirst)
            _ = try await Self.frictionlessVisit(platform, person: "P1", visit: "A", lines: [Self.selfPay("1", fen: 30_000)])
            let request = RepaymentRequest(amount: .yuan(300), source: .fundingSource, fundingSourceId: borrower.card.id)
            await platform.flushAfterCommit()  // the visit's capture goes before the fault is set
            platform.sandbox!.inject(SandboxBank.Faults(timeoutsAfterProcessing: 1))
            await #expect {
                _ = try await platform.repayCredit(person: "P1", line: borrower.lineID, request, idempotency: Self.key("lost"))
            } throws: { ($0 as? Refusal)?.code == .paymentPending }
            #expect(try await platform.creditLine(id: borrower.lineID, person: "P1").owed == .yuan(300))
            clock.advance(seconds: 20)
            #expect(await platform.resolvePendingRepayments() == 1)
            let retried = try await platform.repayCredit(person: "P1", line: borrower.lineID, request, idempotency: Self.key("lost"))
            #expect(retried.state == .completed)
            await platform.processChannelOperations()
            #expect(try await platform.sandbox!.card(borrower.card.token)?.balance == .yuan(700))
            #expect(try await platform.creditLine(id: borrower.lineID, person: "P1").owed == .zero)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("repayment from the personal account moves money account → bank, balanced, and verify-ledger passes", arguments: BackendKind.available)
    func repaymentFromAccount(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-01-10T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await Self.load(platform)
            let borrower = try await Borrower.make(platform, account: .yuan(300))
            _ = try await platform.signFrictionless(person: "P1", fundingSourceID: borrower.lineSource, priority: .sourceFirst)
            _ = try await Self.frictionlessVisit(platform, person: "P1", visit: "A", lines: [Self.selfPay("1", fen: 45_600)])
            let channelBefore = try await platform.balance(of: .channel("sandbox"))
            // act: repay 200 of the 456 yuan from the account (before the bill: early repayment of this cycle).
            let repayment = try await platform.repayCredit(
                person: "P1", line: borrower.lineID, RepaymentRequest(amount: .yuan(200), source: .account), idempotency: Self.key("r1"))
            let replay = try await platform.repayCredit(
                person: "P1", line: borrower.lineID, RepaymentRequest(amount: .yuan(200), source: .account), idempotency: Self.key("r1"))
            // verify: once, account −200, the bank +200 (out through the channel), the debt −200; the bank's limit restored.
            #expect(replay.id == repayment.id && repayment.state == .completed && repayment.allocation?.unbilled == .yuan(200))
            #expect(try await platform.balance(of: .personal("P1")) == .yuan(100))
            #expect(try await platform.balance(of: .channel("sandbox")) == channelBefore + .yuan(200))
            #expect(try await platform.balance(of: .creditLine(borrower.lineID)) == .yuan(256))
            #expect(try await platform.balance(of: .creditPartner("sandbox")) == .yuan(-256))
            await platform.processChannelOperations()
            let view = try await platform.creditLine(id: borrower.lineID, person: "P1")
            let token = try #require(try await platform.fundingSources(person: "P1").first { $0.kind == .medicalCredit }?.token)
            let bankAvailable = try await platform.sandbox!.available(token: token)
            #expect(view.used == .yuan(256) && bankAvailable == view.available)
            // More than the account holds, or than is owed, is refused; nothing moves.
            await #expect {
                _ = try await platform.repayCredit(
                    person: "P1", line: borrower.lineID, RepaymentRequest(amount: .yuan(150), source: .account), idempotency: Self.key("r2"))
            } throws: { ($0 as? Refusal)?.code == .accountInsufficient }
            await #expect {
                _ = try await platform.repayCredit(
                    person: "P1", line: borrower.lineID,
                    RepaymentRequest(amount: .yuan(257), source: .fundingSource, fundingSourceId: borrower.card.id),
                    idempotency: Self.key("r3"))
            } throws: { ($0 as? Refusal)?.code == .repaymentExceedsOwed }
            #expect(try await platform.balance(of: .personal("P1")) == .yuan(100))
            let report = try await platform.verifyLedger()
            #expect(report.passed, "\(report.problems)")
        }
    }
}
