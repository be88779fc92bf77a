import Testing
import YibaoCore
import YibaoSandbox

@testable import YibaoApp
@testable import YibaoStore

/// Neither the money path's statements nor the reads people make of their money may do more work as
/// history grows: a statement that visits every completed settlement is fast in a test's small database
/// and slows each settlement, wallet page or cashier's day in proportion to a province's history. SQLite
/// counts each statement's virtual-machine steps, which grow with the rows it visits; this counts them on
/// every connection (`StatementWork`) for the same round of work — a one-code card settlement with the
/// personal account, a settlement at the counter, a refund, a reversal, a family member's settlement
/// drawing on a relative's account, a resident's contribution, what follows their commits, and the
/// patients' and the cashier's reads — on a day with almost no history and again on a later day
/// after a few hundred settlements of other people, and compares them statement by statement.
@Suite("Platform contract: the work per statement does not grow with history")
struct HistoryGrowthStoreTests {
    typealias S = AppFixtures

    /// One round of the money path and its reads for five new people (`round` numbers them).
    static func round(_ platform: Platform, _ round: Int) async throws {
        let phone = try await Phone.make(platform, number: "R\(round)A", sequence: 1000 + 2 * round)
        let byCode = try await platform.settle(
            code: OneCodeStoreTests.request(phone.code(at: platform.clock.now()), visit: "R\(round)-1"), institution: S.hospital,
            idempotency: OneCodeStoreTests.key("r\(round)-1"))
        let person = "R\(round)B"
        try await platform.enrol(S.person(person, sequence: 1001 + 2 * round), openingBalance: .yuan(500))
        let opened = try await platform.openVisit(
            OpenVisitRequest(
                personNumber: person, category: .ordinaryOutpatient, hospitalVisitNumber: "R\(round)-2", lines: [S.line("1", "A001", yuan: 200)]),
            institution: S.hospital)
        let atCounter = try await platform.settle(visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: nil)
        await platform.flushAfterCommit()
        _ = try await platform.refund(
            settlementID: byCode.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(10)),
            idempotency: OneCodeStoreTests.key("r\(round)-3"))
        _ = try await platform.reverse(settlementID: atCounter.id, institution: S.hospital, idempotency: OneCodeStoreTests.key("r\(round)-4"))
        await platform.flushAfterCommit()
        // A member short of money drawing on a relative's account, and a resident's contribution paid
        // from the phone's card.
        try await platform.enrol(S.person("R\(round)F", sequence: 1500 + 3 * round), openingBalance: .yuan(500))
        try await platform.enrol(S.person("R\(round)M", sequence: 1501 + 3 * round), openingBalance: .yuan(20))
        _ = try await FamilyStoreTests.bind(platform, binder: "R\(round)F", member: "R\(round)M")
        let aided = try await WalletStoreTests.settle(platform, person: "R\(round)M", visit: "R\(round)-5", yuan: 300)
        #expect(aided.mutualAidPayer == "R\(round)F")
        let resident = S.person("R\(round)P", sequence: 1502 + 3 * round, type: .resident)
        try await platform.enrol(resident)
        let card = try await #require(platform.sandbox).issueCard(
            holderIDNumber: resident.idNumber, holderName: resident.name, kind: .debit, balance: .yuan(2000))
        _ = try await platform.bindCard(person: resident.number, number: card.number)
        _ = try await platform.payPremium(
            PremiumRequest(personNumber: resident.number, kind: .residentAnnual, period: "2027", amount: .yuan(400)), payer: resident.number,
            idempotency: OneCodeStoreTests.key("r\(round)-6"))
        await platform.flushAfterCommit()
        // What the patient and the cashier read.
        for number in [phone.person.number, person, "R\(round)F", "R\(round)M", resident.number] {
            _ = try await platform.wallet(person: number)
            _ = try await platform.history(person: number, query: HistoryQuery(limit: 20))
            _ = try await platform.purchasedItems(person: number, from: nil, until: nil, institution: nil, cursor: nil)
            _ = try await platform.inbox(person: number, cursor: nil)
        }
        _ = try await platform.settlement(id: byCode.id, institution: S.hospital)
        _ = try await platform.counterDay(institution: S.hospital, day: ChinaTime.localDateTime(platform.clock.now()).date)
        _ = try await platform.openVisits(institution: S.hospital)
    }

    /// Settlements of `people` other people, `each` apiece, a third of them reversed and settled again.
    static func history(_ platform: Platform, people: Int, each: Int) async throws {
        for person in 0..<people {
            let number = "H\(person)"
            try await platform.enrol(S.person(number, sequence: 2000 + person), openingBalance: .yuan(10_000))
            for visit in 0..<each {
                let opened = try await platform.openVisit(
                    OpenVisitRequest(
                        personNumber: number, category: .ordinaryOutpatient, hospitalVisitNumber: "H\(person)-\(visit)",
                        lines: [S.line("1", "A001", yuan: 150)]),
                    institution: S.hospital)
                let record = try await platform.settle(visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: nil)
                if visit % 3 == 0 {
                    // Reversed and settled again, as a cashier corrects a settlement: the visit does not
                    // stay open (the cashier's open visits are not history).
                    _ = try await platform.reverse(settlementID: record.id, institution: S.hospital, idempotency: nil)
                    _ = try await platform.settle(visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: nil)
                }
            }
        }
        await platform.flushAfterCommit()
    }

    @Test("a round of settlements and reads takes as many steps per statement after 432 settlements and 112 reversals of other people")
    func flatAgainstHistory() async throws {
        let work = StatementWork()
        // November: next year's resident contributions are being collected.
        let clock = ManualClock(Instant(iso8601: "2026-11-20T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(.sqlite, clock: clock, statementWork: work) { platform in
            try await S.load(into: platform)
            // The first round prepares the statements; the second is measured on a small history.
            try await Self.round(platform, 0)
            _ = work.take()
            try await Self.round(platform, 1)
            let before = work.take()

            // History on the next day; the round measured again the day after, so that the day's reads
            // (the cashier's day) see a day as small as before.
            clock.advance(seconds: 86_400)
            try await Self.history(platform, people: 16, each: 20)
            clock.advance(seconds: 86_400)
            _ = work.take()
            try await Self.round(platform, 2)
            let after = work.take()

            let compared = before.keys.filter { after[$0] != nil }
            #expect(compared.count >= 60, "the round ran \(compared.count) statements in both measurements")
            for sql in compared.sorted() {
                let small = before[sql]!.perRun
                let large = after[sql]!.perRun
                #expect(large <= 2 * small + 50, "\(Int(small)) → \(Int(large)) steps per run: \(sql)")
            }
        }
    }
}
