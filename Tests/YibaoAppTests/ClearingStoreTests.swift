import Foundation
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoStore

@Suite("Platform contract: reconciliation and clearing")
struct ClearingStoreTests {
    typealias S = AppFixtures

    /// The hospital's own books: a detail row per record it was answered.
    static func row(_ record: SettlementRecord) -> DetailRow {
        DetailRow(
            settlementId: record.id, visitId: record.visitId, personNumber: record.personNumber, total: record.breakdown.totalAmount,
            fund: record.breakdown.fundTotal, account: record.breakdown.accountPaid, refund: record.kind != .settlement)
    }

    /// The hospital's totals of its rows (one insurance type and clearing type: employees, outpatient).
    static func totals(_ rows: [DetailRow]) -> StatementTotals {
        rows.reduce(StatementTotals.zero) { sum, row in
            StatementTotals(
                count: sum.count + 1, total: sum.total + row.total, fund: sum.fund + row.fund, account: sum.account + row.account,
                cash: sum.cash + row.total - row.fund - row.account)
        }
    }

    static func settle(_ platform: Platform, person: String, visit: String, yuan: Int64) async throws -> SettlementRecord {
        let opened = try await platform.openVisit(
            OpenVisitRequest(
                personNumber: person, category: .ordinaryOutpatient, hospitalVisitNumber: visit, lines: [S.line("1", "A001", yuan: yuan)]),
            institution: S.hospital)
        return try await platform.settle(visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: nil)
    }

    static func key(_ value: String) -> IdempotencyRequest { OneCodeStoreTests.key(value) }

    static func refusal(_ work: () async throws -> some Any) async -> Refusal? { await MoneyEdgesStoreTests.refusal(work) }

    static let key = StatementKey(insuranceType: .employee, clearingType: .outpatient)

    @Test(
        "a day with settlements, a partial refund, a reversal and a late answer reconciles; missing, unknown and different rows are each reported",
        arguments: BackendKind.available)
    func dailyReconciliation(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: on 2 March a one-code settlement with a partial cash refund, a person-number settlement, one reversed;
            // at 23:59 a one-code settlement whose bank answer is lost, completed at 00:00:30 on 3 March.
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            try await platform.enrol(S.person("P2", sequence: 2), openingBalance: .yuan(500))
            let bank = try #require(platform.sandbox)
            let oneCode = try await platform.settle(
                code: OneCodeStoreTests.request(phone.code(at: clock.now())), institution: S.hospital, idempotency: Self.key("s1"))
            let refund = try await platform.refund(
                settlementID: oneCode.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(30)),
                idempotency: Self.key("r1"))
            let byNumber = try await Self.settle(platform, person: "P2", visit: "MZ-2", yuan: 200)
            let reversed = try await Self.settle(platform, person: "P2", visit: "MZ-3", yuan: 80)
            let reversal = try await platform.reverse(settlementID: reversed.id, institution: S.hospital, idempotency: Self.key("v1"))
            clock.set(Instant(iso8601: "2026-03-02T23:59:30+08:00")!)
            await platform.flushAfterCommit()  // earlier captures go before the fault is set
            bank.inject(SandboxBank.Faults(timeoutsAfterProcessing: 1))
            let pending = await Self.refusal {
                try await platform.settle(
                    code: OneCodeStoreTests.request(phone.code(at: clock.now()), visit: "MZ-LATE", yuan: 100), institution: S.hospital,
                    idempotency: Self.key("late"))
            }
            #expect(pending?.code == .paymentPending)
            let lateID = try #require(pending?.references["settlement_id"])
            clock.set(Instant(iso8601: "2026-03-03T00:00:30+08:00")!)
            let late = try #require(try await platform.settlement(id: lateID, institution: nil))
            #expect(late.state == .completed)
            let day = try StatementPeriod(from: CivilDate("2026-03-02")!, through: CivilDate("2026-03-02")!)
            let nextDay = try StatementPeriod(from: CivilDate("2026-03-03")!, through: CivilDate("2026-03-03")!)

            // act: a period not yet over is refused; then, on 4 March, both days' totals as the hospital booked them.
            let early = await Self.refusal {
                try await platform.reconcileTotals(institution: S.hospital.code, period: nextDay, includeRefunds: true, lines: [])
            }
            #expect(early?.code == .periodNotEnded)
            clock.set(Instant(iso8601: "2026-03-04T09:00:00+08:00")!)
            let books = [oneCode, refund, byNumber, reversed, reversal].map(Self.row)
            let balanced = try await platform.reconcileTotals(
                institution: S.hospital.code, period: day, includeRefunds: true, lines: [(Self.key, Self.totals(books))])
            let withoutRefunds = try await platform.reconcileTotals(
                institution: S.hospital.code, period: day, includeRefunds: false,
                lines: [(Self.key, Self.totals(books.filter { !$0.refund }))])
            let lateDay = try await platform.reconcileTotals(
                institution: S.hospital.code, period: nextDay, includeRefunds: true, lines: [(Self.key, Self.totals([Self.row(late)]))])
            var short = Self.totals(books)
            short.count -= 1
            short.fund -= Money(fen: 1)
            let unbalanced = try await platform.reconcileTotals(
                institution: S.hospital.code, period: day, includeRefunds: true, lines: [(Self.key, short)])

            // verify: balanced (stmt_rslt 0) on both days, the late settlement on the day it completed; a short count is 1 with the difference.
            #expect(balanced.statementResult == "0", "\(balanced)")
            #expect(balanced.lines.first?.yibao.count == 5)
            #expect(balanced.lines.first?.yibao.total == .yuan(300) - .yuan(30) + .yuan(200))
            #expect(withoutRefunds.balanced && withoutRefunds.lines.first?.yibao.count == 3)
            #expect(lateDay.balanced && lateDay.lines.first?.yibao.count == 1)
            #expect(unbalanced.statementResult == "1")
            #expect(unbalanced.lines.first?.difference == StatementTotals(count: 1, total: .zero, fund: Money(fen: 1), account: .zero, cash: .zero))

            // act: the detail file without the person-number settlement, with a settlement Yibao never completed, and the reversed
            // settlement's fund part mistyped.
            var mistyped = Self.row(reversed)
            mistyped.fund += Money(fen: 10)
            let header = Reconciliation.detailColumns.joined(separator: "\t")
            let lines =
                [Self.row(oneCode), Self.row(refund), mistyped, Self.row(reversal)].map(Self.line) + [
                    "S-NEVER\tV-NEVER\tP2\t12.00\t6.00\t0.00\t0"
                ]
            let answer = try await platform.reconcileDetails(
                institution: S.hospital.code, period: day, file: ([header] + lines).joined(separator: "\n") + "\n")

            // verify: each break exactly once, with its kind; the rest match.
            let outcomes = Dictionary(uniqueKeysWithValues: answer.results.map { ($0.settlementId, $0) })
            #expect(answer.results.count == 6)
            #expect(outcomes[oneCode.id]?.outcome == .match)
            #expect(outcomes[refund.id]?.outcome == .match)
            #expect(outcomes[reversal.id]?.outcome == .match)
            #expect(outcomes[reversed.id]?.outcome == .amountsDiffer)
            #expect(outcomes[reversed.id]?.differing == ["fund_pay_sumamt"])
            #expect(outcomes[byNumber.id]?.outcome == .onlyInYibao)
            #expect(outcomes["S-NEVER"]?.outcome == .onlyAtInstitution)
            #expect(answer.file.contains("\n\(byNumber.id)\tonly_in_yibao\t\t\(byNumber.breakdown.totalAmount)\t\t"))
            #expect(answer.file.contains("\nS-NEVER\tonly_at_institution\t\t\t12.00\t"))
            #expect(
                answer.file.contains(
                    "\n\(reversed.id)\tamounts_differ\tfund_pay_sumamt\t\(reversed.breakdown.totalAmount)\t\(reversed.breakdown.totalAmount)\t\(reversed.breakdown.fundTotal)\t\(mistyped.fund)\t"
                ))
            let log = try await platform.reconciliations(institution: S.hospital.code)
            #expect(log.count == 5)
            #expect(log.filter(\.balanced).count == 3)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    static func line(_ row: DetailRow) -> String {
        [
            row.settlementId, row.visitId, row.personNumber, row.total.description, row.fund.description, row.account.description,
            row.refund ? "1" : "0",
        ]
        .joined(separator: "\t")
    }

    @Test(
        "a clearing month end to end: application, deductions, approval, run, a failed and a confirmed payout; paid once; a later reversal is netted next month",
        arguments: BackendKind.available)
    func clearingMonth(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: two settlements in March at a hospital with a payout account.
            try await S.load(into: platform)
            var hospital = S.hospital
            hospital.payoutAccount = "6222000011112222"
            try await platform.saveInstitution(hospital)
            try await platform.enrol(S.person("P2", sequence: 2), openingBalance: .yuan(500))
            let first = try await Self.settle(platform, person: "P2", visit: "MZ-1", yuan: 300)
            clock.advance(seconds: 3600)
            let second = try await Self.settle(platform, person: "P2", visit: "MZ-2", yuan: 200)
            let clearingAccount = AccountID.institutionClearing(S.hospital.code)
            let owedMarch = first.breakdown.fundTotal + first.breakdown.accountPaid + second.breakdown.fundTotal + second.breakdown.accountPaid
            #expect(try await platform.balance(of: clearingAccount) == owedMarch)
            let march = StatementPeriod.month(of: CivilDate("2026-03-15")!)

            // act: applying before the month is over is refused; on 1 April the hospital applies (twice: a retry).
            let early = await Self.refusal {
                try await platform.applyForClearing(institution: S.hospital.code, insuranceType: .employee, period: march, startedBy: "institution")
            }
            #expect(early?.code == .periodNotEnded)
            clock.set(Instant(iso8601: "2026-04-01T09:00:00+08:00")!)
            let applied = try await platform.applyForClearing(
                institution: S.hospital.code, insuranceType: .employee, period: march, startedBy: "institution")
            let retried = try await platform.applyForClearing(
                institution: S.hospital.code, insuranceType: .employee, period: march, startedBy: "institution")
            #expect(applied.created && !retried.created && retried.clearing.id == applied.clearing.id)
            #expect(applied.clearing.itemCount == 2 && applied.clearing.claimed == owedMarch)
            let id = applied.clearing.id

            // act: the review deducts 10 yuan on the first settlement and 5 from the whole; too much is refused; approval, run.
            let tooMuch = await Self.refusal {
                try await platform.deduct(
                    clearingID: id, settlementID: first.id, amount: first.breakdown.fundTotal + first.breakdown.accountPaid + Money(fen: 1),
                    reason: "x", operatorName: "reviewer")
            }
            #expect(tooMuch?.code == .refundExceedsSettlement)
            _ = try await platform.deduct(clearingID: id, settlementID: first.id, amount: .yuan(10), reason: "超量用药", operatorName: "reviewer")
            _ = try await platform.deduct(clearingID: id, settlementID: nil, amount: .yuan(5), reason: "病历不全", operatorName: "reviewer")
            let notYet = await Self.refusal { try await platform.runClearing(id: id, administrator: "boss") }
            #expect(notYet?.code == .clearingState)
            let fund = AccountID.fund(S.region, .employee, InsuranceType.employee.pooledFundType)
            let fundBefore = try await platform.balance(of: fund)
            let approved = try await platform.approveClearing(id: id, administrator: "boss")
            #expect(approved.payable == owedMarch - .yuan(15))
            #expect(try await platform.balance(of: clearingAccount) == owedMarch - .yuan(15))
            #expect(try await platform.balance(of: fund) == fundBefore + .yuan(15))
            let run = try await platform.runClearing(id: id, administrator: "boss")
            #expect(run.state == .paying && run.payoutAccount == "6222000011112222")
            #expect(try await platform.balance(of: clearingAccount) == .zero)
            let instructions = try await platform.paymentInstructions()
            #expect(instructions.contains("\(S.hospital.code),\(S.hospital.name),6222000011112222,\(approved.payable),\(id),"))

            // act: the bank fails the payout (the run is undone), the clearing runs again and the bank confirms; a third run is refused.
            let failed = try await platform.recordPayout(id: id, paid: false, bankReference: nil, failure: "账户冻结", operatorName: "clerk")
            #expect(failed.state == .approved && failed.lastFailure == "账户冻结")
            #expect(try await platform.balance(of: clearingAccount) == approved.payable)
            // The run sent twice at once (a double click, a retried request): one runs, the other is refused.
            async let firstRun = Self.refusal { try await platform.runClearing(id: id, administrator: "boss") }
            async let secondRun = Self.refusal { try await platform.runClearing(id: id, administrator: "boss") }
            let runs = await [firstRun, secondRun]
            #expect(runs.filter { $0 == nil }.count == 1 && runs.contains { $0?.code == .clearingState })
            let paid = try await platform.recordPayout(id: id, paid: true, bankReference: "BANK-0001", failure: nil, operatorName: "clerk")
            let paidAgain = await Self.refusal {
                try await platform.recordPayout(id: id, paid: true, bankReference: "BANK-0001", failure: nil, operatorName: "clerk")
            }
            #expect(paidAgain?.code == .clearingState)
            let again = await Self.refusal { try await platform.runClearing(id: id, administrator: "boss") }
            let reapplied = await Self.refusal {
                try await platform.applyForClearing(institution: S.hospital.code, insuranceType: .employee, period: march, startedBy: "institution")
            }

            // verify: paid once — the clearing account fell by exactly the payable amount, the payouts hold it once.
            #expect(paid.state == .paid && paid.bankReference == "BANK-0001")
            #expect(again?.code == .clearingState)
            #expect(reapplied?.code == .nothingToClear)
            #expect(try await platform.balance(of: clearingAccount) == .zero)
            #expect(try await platform.balance(of: .payouts(S.hospital.code)) == approved.payable)

            // act: on 2 April the second settlement is reversed and a third settled; the hospital applies for April, cancels, applies again.
            clock.set(Instant(iso8601: "2026-04-02T10:00:00+08:00")!)
            let reversal = try await platform.reverse(settlementID: second.id, institution: S.hospital, idempotency: Self.key("v"))
            let third = try await Self.settle(platform, person: "P2", visit: "MZ-4", yuan: 600)
            clock.set(Instant(iso8601: "2026-05-01T08:00:00+08:00")!)
            let april = StatementPeriod.month(of: CivilDate("2026-04-10")!)
            let cancelled = try await platform.applyForClearing(
                institution: S.hospital.code, insuranceType: .employee, period: april, startedBy: "institution")
            _ = try await platform.cancelClearing(id: cancelled.clearing.id, institution: S.hospital.code, actor: "institution")
            let cancelAgain = await Self.refusal {
                try await platform.cancelClearing(id: cancelled.clearing.id, institution: S.hospital.code, actor: "institution")
            }
            let aprilClearing = try await platform.applyForClearing(
                institution: S.hospital.code, insuranceType: .employee, period: april, startedBy: "operator:clerk")
            let detail = try await platform.clearing(id: aprilClearing.clearing.id, institution: S.hospital.code)

            // verify: the reversal is carried into April as a negative item, netted against the new settlement, and paid.
            #expect(cancelAgain?.code == .clearingState)
            #expect(Set(detail.items.map(\.settlementId)) == [reversal.id, third.id])
            let reversalItem = try #require(detail.items.first { $0.settlementId == reversal.id })
            #expect(reversalItem.owed == -(second.breakdown.fundTotal + second.breakdown.accountPaid))
            let aprilOwed = third.breakdown.fundTotal + third.breakdown.accountPaid + reversalItem.owed
            #expect(aprilClearing.clearing.claimed == aprilOwed)
            _ = try await platform.approveClearing(id: aprilClearing.clearing.id, administrator: "boss")
            _ = try await platform.runClearing(id: aprilClearing.clearing.id, administrator: "boss")
            _ = try await platform.recordPayout(
                id: aprilClearing.clearing.id, paid: true, bankReference: "BANK-0002", failure: nil, operatorName: "clerk")
            #expect(try await platform.balance(of: clearingAccount) == .zero)
            #expect(try await platform.balance(of: .payouts(S.hospital.code)) == approved.payable + aprilOwed)
            let report = try await platform.verifyLedger()
            #expect(report.passed, "\(report.problems)")
            #expect(try await platform.verifyAudit().passed)
        }
    }

    @Test(
        "a clearing that pays nothing is refused approval; a hospital without a payout account is refused the run", arguments: BackendKind.available)
    func clearingRefusals(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: a March settlement at a hospital without a payout account, fully deducted.
            try await S.load(into: platform)
            try await platform.enrol(S.person("P2", sequence: 2), openingBalance: .yuan(500))
            let settled = try await Self.settle(platform, person: "P2", visit: "MZ-1", yuan: 300)
            clock.set(Instant(iso8601: "2026-04-01T09:00:00+08:00")!)
            let march = StatementPeriod.month(of: CivilDate("2026-03-01")!)
            let applied = try await platform.applyForClearing(
                institution: S.hospital.code, insuranceType: .employee, period: march, startedBy: "operator:clerk")
            let owed = settled.breakdown.fundTotal + settled.breakdown.accountPaid
            _ = try await platform.deduct(clearingID: applied.clearing.id, settlementID: nil, amount: owed, reason: "欺诈骗保", operatorName: "clerk")

            // act + verify: approval refused (nothing to pay); with half deducted instead (new application), the run wants a payout account.
            let nothing = await Self.refusal { try await platform.approveClearing(id: applied.clearing.id, administrator: "boss") }
            #expect(nothing?.code == .nothingToClear)
            _ = try await platform.cancelClearing(id: applied.clearing.id, institution: nil, actor: "operator:clerk")
            let second = try await platform.applyForClearing(
                institution: S.hospital.code, insuranceType: .employee, period: march, startedBy: "operator:clerk")
            _ = try await platform.approveClearing(id: second.clearing.id, administrator: "boss")
            let noAccount = await Self.refusal { try await platform.runClearing(id: second.clearing.id, administrator: "boss") }
            #expect(noAccount?.code == .payoutAccountMissing)
            #expect(try await platform.balance(of: .institutionClearing(S.hospital.code)) == owed)
            let unknown = await Self.refusal {
                try await platform.applyForClearing(institution: "HNOPE", insuranceType: .employee, period: march, startedBy: "operator:clerk")
            }
            #expect(unknown?.code == .unknownInstitution)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("the fund report of a seeded month equals the sums of the ledger and of the records, computed here", arguments: BackendKind.available)
    func fundReportMonth(kind: BackendKind) async throws {
        let seed = UInt64.random(in: 1...UInt64(UInt32.max))
        print("[fund report] seed \(seed)")
        var generator = SplitMix64(seed: seed)
        func draw(_ bound: Int64) -> Int64 { Int64.random(in: 0..<bound, using: &generator) }
        let clock = ManualClock(Instant(iso8601: "2026-03-01T08:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: three people; settlements on random March days, some partly refunded, some reversed; one on 1 April.
            try await S.load(into: platform)
            let people = ["P2", "P3", "P4"]
            var opening: Money = .zero
            for (index, number) in people.enumerated() {
                let balance = Money.yuan(draw(400))
                opening += balance
                try await platform.enrol(S.person(number, sequence: 2 + index), openingBalance: balance)
            }
            var records: [SettlementRecord] = []
            for index in 0..<12 {
                clock.advance(seconds: draw(2 * 86_400) + 60)
                let record = try await Self.settle(
                    platform, person: people[Int(draw(3))], visit: "F\(index)", yuan: draw(900) + 20)
                records.append(record)
                switch draw(4) {
                case 0 where record.breakdown.cashPaid.isPositive:
                    records.append(
                        try await platform.refund(
                            settlementID: record.id, institution: S.hospital,
                            request: RefundRequest(type: .cash, amount: Money(fen: draw(record.breakdown.cashPaid.fen) + 1)),
                            idempotency: nil))
                case 1: records.append(try await platform.reverse(settlementID: record.id, institution: S.hospital, idempotency: nil))
                default: break
                }
            }
            let pooled = AccountID.fund(S.region, .employee, .employeePooled)
            let aboveCap = AccountID.fund(S.region, .employee, .employeeLargeAmount)
            let marchPooled = try await platform.balance(of: pooled)
            let marchAboveCap = try await platform.balance(of: aboveCap)
            var accounts: Money = .zero
            for number in people { accounts += try await platform.accountBalance(of: number).balance }
            clock.set(Instant(iso8601: "2026-04-01T00:00:10+08:00")!)
            _ = try await Self.settle(platform, person: "P2", visit: "APRIL", yuan: 500)

            // act
            let report = try await platform.fundReport(period: StatementPeriod.month(of: CivilDate("2026-03-01")!), verifyLedger: true)

            // verify: against the ledger's balances and the records' own figures.
            let march = records.filter { $0.settledAt < Instant(iso8601: "2026-04-01T00:00:00+08:00")! }
            #expect(march.count == records.count)
            #expect(report.totals.pooledFund == -marchPooled)
            #expect(report.totals.aboveCapFund == -marchAboveCap)
            #expect(report.totals.ownAccount + report.totals.mutualAid == opening - accounts)
            #expect(report.totals.ownAccount + report.totals.mutualAid == Money.sum(march.map(\.breakdown.accountPaid)))
            #expect(report.totals.total == Money.sum(march.map(\.breakdown.totalAmount)))
            #expect(report.totals.cash == Money.sum(march.map(\.breakdown.cashPaid)))
            #expect(report.totals.settlements == march.filter { $0.kind == .settlement }.count)
            #expect(report.totals.refundsAndReversals == march.filter { $0.kind != .settlement }.count)
            #expect(report.byFund.count == 1 && report.byFund.first?.figures == report.totals)
            #expect(report.byLevel.first?.level == .level3)
            #expect(
                report.owedToInstitutions == [
                    OwnerAmount(owner: S.hospital.code, amount: try await platform.balance(of: .institutionClearing(S.hospital.code)))
                ])
            #expect(report.anchor.ledgerVerified == true && report.anchor.auditHeads.count > 0)
            #expect(report.csv.contains("total,,,,,,\(report.totals.settlements),"))
        }
    }

    @Test(
        "three-way: a capture the bank has and Yibao does not, and a refund Yibao has and the bank does not, are breaks in the exception queue; a late refund resolves on a rerun",
        arguments: BackendKind.available)
    func channelReconciliation(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: on 2 March a one-code settlement (card 130), a stray capture injected at the bank, and a cash refund of 30 while
            // the bank is down (its refund stays queued).
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let bank = try #require(platform.sandbox)
            let settled = try await platform.settle(
                code: OneCodeStoreTests.request(phone.code(at: clock.now())), institution: S.hospital, idempotency: Self.key("s1"))
            #expect(try await platform.pendingChannelOperations() == 0)
            try await bank.injectStrayCapture(reference: "STRAY-1", amount: .yuan(88))
            bank.inject(SandboxBank.Faults(unavailable: 20))
            let refund = try await platform.refund(
                settlementID: settled.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(30)), idempotency: Self.key("r"))
            #expect(try await platform.pendingChannelOperations() == 1)
            bank.inject(SandboxBank.Faults())
            let day = CivilDate("2026-03-02")!

            // act: the day is not over yet; on 3 March at 09:00 the day is reconciled.
            let early = await Self.refusal { try await platform.reconcileChannel(day: day) }
            #expect(early?.code == .periodNotEnded)
            clock.set(Instant(iso8601: "2026-03-03T09:00:00+08:00")!)
            let first = try await platform.reconcileChannel(day: day)

            // verify: exactly the two breaks, in the exception queue and its gauges.
            #expect(first.captured == .yuan(130) + .yuan(88))
            #expect(first.fees == Money.yuan(130).portion(SandboxBank.feeRate) + Money.yuan(88).portion(SandboxBank.feeRate))
            #expect(
                Set(first.breaks.map { "\($0.kind.rawValue) \($0.movement.rawValue) \($0.key)" }) == [
                    "missing_in_yibao capture STRAY-1", "missing_at_channel refund \(refund.id)",
                ])
            let open = try await platform.exceptions(state: "open")
            #expect(Set(open.map(\.reference)) == ["STRAY-1", refund.id])
            let gauges = try await platform.operationalGauges()
            #expect(gauges.exceptions.map(\.count).reduce(0, +) == 2)
            #expect(gauges.channelOperations.pending == 1)

            // act: the queued refund goes through on 3 March; on 4 March the day is reconciled again.
            _ = await platform.processChannelOperations(takeOverLeases: true)
            #expect(try await platform.pendingChannelOperations() == 0)
            clock.set(Instant(iso8601: "2026-03-04T09:00:00+08:00")!)
            let second = try await platform.reconcileChannel(day: day)
            let stray = try #require(try await platform.exceptions(state: "open").first)
            let resolved = try await platform.resolveException(id: stray.id, resolution: "the bank reverses the stray charge", operatorName: "clerk")
            let again = await Self.refusal { try await platform.resolveException(id: stray.id, resolution: "x", operatorName: "clerk") }

            // verify: the refund found on the next day's statement is resolved by the rerun; the stray capture by the operator.
            #expect(second.breaks.map(\.key) == ["STRAY-1"])
            #expect(stray.reference == "STRAY-1")
            #expect(resolved.state == "resolved" && resolved.resolvedBy == "operator:clerk")
            #expect(again?.code == .alreadyExists)
            let done = try await platform.exceptions(state: "resolved")
            #expect(done.first { $0.reference == refund.id }?.resolvedBy == "system")
            #expect(try await platform.exceptions(state: "open").isEmpty)

            // act + verify: closing the day keeps its result; closing it again returns what was kept.
            let close = try await platform.closeDay(day)
            #expect(close.channel?.breaks.map(\.key) == ["STRAY-1"])
            #expect(close.fundReport.anchor.ledgerVerified == true)
            #expect(close.fundReport.totals.settlements == 1 && close.fundReport.totals.refundsAndReversals == 1)
            #expect(try await platform.isClosed(day))
            let kept = try await platform.closeDay(day)
            #expect(kept.fundReport.generatedAt == close.fundReport.generatedAt)
            // The closes of a period are the kept answers, the latest day first; a day not closed is absent.
            let closedBefore = try await platform.closeDay(CivilDate("2026-03-01")!)
            let listed = try await platform.dailyCloses(
                period: try StatementPeriod(from: CivilDate("2026-02-27")!, through: CivilDate("2026-03-03")!))
            #expect(listed.map(\.day) == [day, CivilDate("2026-03-01")!])
            #expect(listed.first == kept && listed.last?.fundReport.generatedAt == closedBefore.fundReport.generatedAt)
            #expect(
                try await platform.dailyCloses(period: try StatementPeriod(from: CivilDate("2026-02-01")!, through: CivilDate("2026-02-28")!)).isEmpty
            )
            let today = await Self.refusal { try await platform.closeDay(CivilDate("2026-03-04")!) }
            #expect(today?.code == .periodNotEnded)
            #expect(try await platform.verifyLedger().passed)
            // The close's calendar: today by the platform's clock, and the day the database was created (at t0, 2 March).
            let calendar = try await platform.serviceDays()
            #expect(calendar.today == CivilDate("2026-03-04")! && calendar.inServiceSince == day)
            // The server's own close on 4 March: yesterday (3 March), once; 2 March was closed above.
            let due = try await platform.closeYesterdayIfDue()
            #expect(due?.day == CivilDate("2026-03-03")!)
            #expect(try await platform.closeYesterdayIfDue() == nil)
        }
    }

    @Test(
        "the server's own close waits for 01:00, closes yesterday once, and never a day before the database was created",
        arguments: BackendKind.available)
    func closeWhenDue(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: the database is created at t0, 10:00 on 2 March.
            try await S.load(into: platform)

            // act + verify: on 2 March, yesterday (1 March) was before Yibao ran: nothing is closed.
            #expect(try await platform.closeYesterdayIfDue() == nil)
            #expect(try await !platform.isClosed(CivilDate("2026-03-01")!))
            // act + verify: at 00:30 on 3 March it is not yet due; at 01:00 it closes 2 March, once.
            clock.set(Instant(iso8601: "2026-03-03T00:30:00+08:00")!)
            #expect(try await platform.closeYesterdayIfDue() == nil)
            clock.set(Instant(iso8601: "2026-03-03T01:00:00+08:00")!)
            #expect(try await platform.closeYesterdayIfDue()?.day == CivilDate("2026-03-02")!)
            #expect(try await platform.closeYesterdayIfDue() == nil)
            #expect(try await platform.isClosed(CivilDate("2026-03-02")!))
        }
    }

    @Test("a backup taken while settlements run restores into a new directory with every settlement acknowledged before it, verified")
    func restoreDrill() async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(.sqlite, clock: clock) { platform in
            // setup: people and a stream of settlements running while the backup is taken.
            try await S.load(into: platform)
            for index in 0..<4 { try await platform.enrol(S.person("P\(index + 2)", sequence: index + 2), openingBalance: .yuan(5000)) }
            let sqlite = try #require(platform.backend as? SQLiteBackend)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("yibao-drill-\(UInt32.random(in: 0...UInt32.max))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var acknowledged: [String] = []
            for index in 0..<20 { acknowledged.append(try await Self.settle(platform, person: "P\(index % 4 + 2)", visit: "B\(index)", yuan: 50).id) }

            // act: settlements keep running while the backup is taken.
            let running = Task {
                var ids: [String] = []
                for index in 20..<120 {
                    if let record = try? await Self.settle(platform, person: "P\(index % 4 + 2)", visit: "B\(index)", yuan: 40) {
                        ids.append(record.id)
                    }
                }
                return ids
            }
            try await Task.sleep(for: .milliseconds(20))
            let before = acknowledged
            try await sqlite.backup(to: directory + "/backup.sqlite")
            let later = await running.value
            let copy = try SQLiteBackend(path: directory + "/backup.sqlite")
            let restored = Platform(
                backend: copy, clock: clock, ids: SeededIDGenerator(seed: 9, clock: clock), cipher: platform.cipher)
            defer { Task { await restored.close() } }

            // verify: the copy is a consistent ledger and audit chain, holding every settlement acknowledged before the backup began.
            let ledger = try await restored.verifyLedger()
            #expect(ledger.passed, "\(ledger.problems)")
            #expect(try await restored.verifyAudit().passed)
            for id in before { #expect(try await restored.settlement(id: id, institution: nil) != nil, "\(id)") }
            #expect(ledger.settlements >= Int64(before.count))
            #expect(ledger.settlements <= Int64(before.count + later.count))
            #expect(later.count == 100)
            await restored.close()
        }
    }
}
