import Foundation
import Synchronization
import Testing
import YibaoCore
import YibaoSandbox

@testable import YibaoApp
@testable import YibaoStore

@Suite("Platform contract: wallet, statements, premiums, receipts")
struct WalletStoreTests {
    typealias S = AppFixtures

    static func settle(_ platform: Platform, person: String, visit: String, yuan: Int64, code: String = "A001") async throws -> SettlementRecord {
        let opened = try await platform.openVisit(
            OpenVisitRequest(personNumber: person, category: .ordinaryOutpatient, hospitalVisitNumber: visit, lines: [S.line("1", code, yuan: yuan)]),
            institution: S.hospital
        )
        return try await platform.settle(visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: nil)
    }

    @Test("paging through history while 1,000 settlements are written returns every entry exactly once", arguments: BackendKind.available)
    func stablePaging(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(100_000))
            for index in 0..<60 { _ = try await Self.settle(platform, person: "P1", visit: "B\(index)", yuan: 10) }
            let existing = try await platform.historyCSV(person: "P1", query: HistoryQuery()).split(separator: "\n").dropFirst().map {
                $0.split(separator: ",", omittingEmptySubsequences: false)[10]
            }
            #expect(existing.count == 61)

            // act: a writer settles 1,000 more visits, eight at a time, while a reader pages ten at a time.
            async let writes: Int = withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in stride(from: worker, to: 1000, by: 8) {
                            _ = try await Self.settle(platform, person: "P1", visit: "C\(index)", yuan: 5)
                        }
                    }
                }
                try await group.waitForAll()
                return 1000
            }
            var seen: [String] = []
            var sequences: [Int64] = []
            var cursor: String?
            repeat {
                let page = try await platform.history(person: "P1", query: HistoryQuery(cursor: cursor, limit: 10))
                seen += page.events.map(\.reference)
                sequences += page.events.map(\.seq)
                cursor = page.nextCursor
                await Task.yield()
            } while cursor != nil
            _ = try await writes
            // The writers' work is in the database: 1,060 settlements of P1, each its own visit.
            let written = try await platform.backend.read { db in
                try db.queryOne(
                    "SELECT COUNT(*) AS n, COUNT(DISTINCT visit_id) AS visits FROM settlements WHERE person_number = 'P1' AND kind = 'settlement'", []
                )
            }
            #expect(try written?.int64("n") == 1060 && written?.int64("visits") == 1060)

            // verify: no entry twice, every entry that existed at the start present, newest first.
            #expect(Set(seen).count == seen.count)
            let missing = Set(existing.map(String.init)).subtracting(seen)
            #expect(missing.isEmpty, "missing \(missing.count) of \(existing.count), e.g. \(missing.first ?? ""); seen \(seen.count)")
            #expect(sequences == sequences.sorted(by: >))
            let all = try await platform.history(person: "P1", query: HistoryQuery(limit: 200))
            #expect(all.events.first?.seq == 1061)
        }
    }

    @Test("a month's statement reconciles with the ledger", arguments: BackendKind.available)
    func statementReconciles(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-31T23:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(500))
            _ = try await Self.settle(platform, person: "P1", visit: "M0", yuan: 120)  // March
            clock.set(Instant(iso8601: "2026-04-03T09:00:00+08:00")!)
            let april = try await Self.settle(platform, person: "P1", visit: "M1", yuan: 300)
            _ = try await Self.settle(platform, person: "P1", visit: "M2", yuan: 40, code: "C001")
            _ = try await platform.refund(settlementID: april.id, institution: S.hospital, request: RefundRequest(type: .insurance), idempotency: nil)
            let reversed = try await Self.settle(platform, person: "P1", visit: "M3", yuan: 80)
            _ = try await platform.reverse(settlementID: reversed.id, institution: S.hospital, idempotency: nil)
            clock.set(Instant(iso8601: "2026-05-01T00:30:00+08:00")!)
            _ = try await Self.settle(platform, person: "P1", visit: "M4", yuan: 60)  // May

            let statement = try await platform.statement(person: "P1", month: "2026-04")
            let ledger = try await platform.backend.read { db in
                try db.queryOne(
                    """
                    SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS total FROM postings p JOIN journal_entries e ON e.id = p.entry_id
                    WHERE p.account_id = 'personal:P1' AND e.created_at >= ? AND e.created_at < ?
                    """,
                    [.instant(CivilDate("2026-04-01")!.startInChina), .instant(CivilDate("2026-05-01")!.startInChina)]
                )?.money("total")
            }
            #expect(statement.closingBalance - statement.openingBalance == ledger)
            #expect(statement.accountIn - statement.accountOut == ledger)
            #expect(-Money.sum(statement.events.map(\.account)) == ledger)
            #expect(statement.settlementCount == 3 - 1)
            #expect(statement.events.count == 5)  // two settlements, a refund, a settlement and its reversal
            #expect(statement.careTotal == .yuan(300) + .yuan(40) + .yuan(80) - .yuan(80))
        }
    }

    @Test("20 concurrent payments of one period: one charge, 19 already paid", arguments: BackendKind.available)
    func premiumPaidOnce(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-11-22T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            let resident = S.person("R1", sequence: 31, type: .resident)
            try await platform.enrol(resident)
            let card = try await platform.sandbox!.issueCard(
                holderIDNumber: resident.idNumber, holderName: resident.name, kind: .debit, balance: .yuan(2000))
            _ = try await platform.bindCard(person: "R1", number: card.number)
            let request = PremiumRequest(personNumber: "R1", kind: .residentAnnual, period: "2027", amount: .yuan(400))
            let outcomes = await withTaskGroup(of: Result<PremiumPayment, any Error>.self) { group in
                for tap in 0..<20 {
                    group.addTask {
                        do {
                            return .success(
                                try await platform.payPremium(
                                    request, payer: "R1", idempotency: IdempotencyRequest(key: "tap-\(tap)", fingerprint: "tap-\(tap)")))
                        } catch { return .failure(error) }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let paid = outcomes.compactMap { try? $0.get() }
            let refusals = outcomes.compactMap { outcome -> RefusalCode? in
                if case .failure(let error) = outcome { return (error as? Refusal)?.code }
                return nil
            }
            #expect(paid.count == 1)
            #expect(refusals.count == 19 && refusals.allSatisfy { $0 == .premiumAlreadyPaid })
            #expect(try await platform.sandbox!.card(card.number)?.balance == .yuan(1600))
            #expect(try await platform.coverage(person: "R1").map(\.period) == ["2027"])
            #expect(try await platform.premiumOptions(person: "R1").first { $0.period == "2027" }?.status == "paid")
            #expect(try await platform.verifyLedger().passed)
            #expect(try await platform.balance(of: .fund(S.region, .resident, .residentPooled)) == .yuan(400))
        }
    }

    @Test("wrong data gets a clear refusal", arguments: BackendKind.available)
    func premiumRefusals(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-01-15T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("R1", sequence: 31, type: .resident))
            func refusal(_ request: PremiumRequest) async -> Refusal? {
                do {
                    _ = try await platform.payPremium(request, payer: "R1", idempotency: IdempotencyRequest(key: UUID().uuidString, fingerprint: "x"))
                    return nil
                } catch { return error as? Refusal }
            }
            #expect(
                await refusal(PremiumRequest(personNumber: "NOPE", kind: .residentAnnual, period: "2027", amount: .yuan(400)))?.code == .unknownPerson
            )
            #expect(
                await refusal(PremiumRequest(personNumber: "R1", kind: .residentAnnual, period: "2027", amount: .yuan(400)))?.code == .periodNotOpen)
            #expect(
                await refusal(PremiumRequest(personNumber: "R1", kind: .residentAnnual, period: "2031", amount: .yuan(400)))?.code
                    == .noPremiumSchedule)
            #expect(
                await refusal(PremiumRequest(personNumber: "R1", kind: .flexibleMonthly, period: "2026-03", amount: .yuan(400)))?.code
                    == .noPremiumSchedule)
            #expect(
                await refusal(PremiumRequest(personNumber: "R1", kind: .residentAnnual, period: "2026", amount: .yuan(350)))?.code == .amountMismatch)
            #expect(
                await refusal(PremiumRequest(personNumber: "R1", kind: .residentAnnual, period: "2026", amount: .yuan(400)))?.code == .noFundingSource
            )
            #expect(await refusal(PremiumRequest(personNumber: "R1", kind: .residentAnnual, period: "twenty", amount: .yuan(400)))?.field == "period")
        }
    }

    @Test("a genuine receipt verifies; an altered amount or period does not", arguments: BackendKind.available)
    func receipts(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-11-22T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            let resident = S.person("R1", sequence: 31, type: .resident)
            try await platform.enrol(resident)
            let card = try await platform.sandbox!.issueCard(
                holderIDNumber: resident.idNumber, holderName: resident.name, kind: .debit, balance: .yuan(2000))
            _ = try await platform.bindCard(person: "R1", number: card.number)
            let paid = try await platform.payPremium(
                PremiumRequest(personNumber: "R1", kind: .residentAnnual, period: "2027", amount: .yuan(400)), payer: "R1",
                idempotency: IdempotencyRequest(key: "k", fingerprint: "k")
            )
            let code = platform.premiumReceiptCode(paid)
            let genuine = try await platform.verifyReceipt(id: paid.id, code: code, claimedAmount: .yuan(400), claimedPeriod: "2027")
            #expect(genuine.authentic && genuine.amount == .yuan(400) && genuine.period == "2027")
            #expect(!(try await platform.verifyReceipt(id: paid.id, code: code, claimedAmount: .yuan(40))).authentic)
            #expect(!(try await platform.verifyReceipt(id: paid.id, code: code, claimedPeriod: "2028")).authentic)
            #expect(!(try await platform.verifyReceipt(id: paid.id, code: "0000-0000-0000-0000")).authentic)
            // Someone with database access changes the amount: the printed code no longer verifies.
            _ = try await platform.backend.write { db in
                try db.execute(
                    "UPDATE premium_payments SET document = REPLACE(document, '\"amount\":40000', '\"amount\":4000') WHERE id = ?", [.text(paid.id)])
            }
            #expect(!(try await platform.verifyReceipt(id: paid.id, code: code)).authentic)
            // Settlement receipts verify the same way.
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(10))
            let record = try await Self.settle(platform, person: "P1", visit: "RC1", yuan: 50)
            let receipt = platform.receipt(for: record)
            #expect(try await platform.verifyReceipt(id: record.id, code: receipt.verificationCode, claimedAmount: .yuan(50)).authentic)
            #expect(!(try await platform.verifyReceipt(id: record.id, code: receipt.verificationCode, claimedAmount: .yuan(5))).authentic)
        }
    }

    /// A webhook receiver that records every POST's `webhook-id` and answers 200.
    final class CountingTransport: WebhookTransport {
        let posted = Mutex<[String]>([])

        func post(url: String, headers: [(String, String)], body: String) async throws -> Int {
            posted.withLock { $0.append(headers.first { $0.0 == "webhook-id" }?.1 ?? "") }
            return 200
        }
    }

    /// A receiver per address: each answers its status (200 unless told otherwise).
    final class StatusTransport: WebhookTransport {
        let statuses = Mutex<[String: Int]>([:])

        func post(url: String, headers: [(String, String)], body: String) async throws -> Int {
            statuses.withLock { $0[url] ?? 200 }
        }
    }

    @Test(
        "a partner whose endpoint fails shows its waiting deliveries, their age and its answer in the list; once it answers, none wait",
        arguments: BackendKind.available)
    func webhookBacklog(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-02T09:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: two partners on every event; the first one's endpoint answers 503.
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(10_000))
            let down = try await platform.subscribeWebhook(owner: "partner:down", url: "http://127.0.0.1:9/down", events: ["*"], allowPrivate: true)
            let up = try await platform.subscribeWebhook(owner: "partner:up", url: "http://127.0.0.1:9/up", events: ["*"], allowPrivate: true)
            let transport = StatusTransport()
            transport.statuses.withLock { $0[down.url] = 503 }
            let first = clock.now()
            for index in 0..<3 {
                _ = try await Self.settle(platform, person: "P1", visit: "B\(index)", yuan: 10)
                clock.advance(seconds: 60)
            }

            // act: one delivery round.
            #expect(await platform.deliverWebhooks(transport: transport) == 3)
            let listed = try await platform.webhookSubscriptions(owner: nil)

            // verify: the failing partner has its three waiting, the oldest from the first settlement, each tried once, its answer kept.
            let waiting = try #require(listed.first { $0.id == down.id }?.backlog)
            #expect(waiting == WebhookBacklog(pending: 3, oldestPendingAt: first, attempts: 1, lastError: "HTTP 503"))
            #expect(listed.first { $0.id == up.id }?.backlog == WebhookBacklog(pending: 0, oldestPendingAt: nil, attempts: 0, lastError: nil))
            #expect(down.backlog == nil)

            // act + verify: the endpoint recovers; after the back-off the next round delivers them and nothing waits.
            transport.statuses.withLock { $0[down.url] = 204 }
            clock.advance(seconds: 3)
            #expect(await platform.deliverWebhooks(transport: transport) == 3)
            #expect(try await platform.webhookSubscriptions(owner: "partner:down").first?.backlog?.pending == 0)
        }
    }

    @Test("two instances delivering webhooks at once post each event once; a dead instance's lease runs out", arguments: BackendKind.available)
    func webhookLease(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-02T09:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(10_000))
            _ = try await platform.subscribeWebhook(
                owner: "institution:" + S.hospital.code, url: "http://127.0.0.1:9/hook", events: ["*"], allowPrivate: true)
            for index in 0..<12 { _ = try await Self.settle(platform, person: "P1", visit: "W\(index)", yuan: 10) }
            #expect(try await platform.pendingWebhookDeliveries() == 12)

            // act: two workers (two instances on one database) deliver at the same moment: their lease-taking
            // races in the database (however the two interleave, each event goes to one of them).
            let transport = CountingTransport()
            async let first = platform.deliverWebhooks(transport: transport)
            async let second = platform.deliverWebhooks(transport: transport)
            let delivered = await first + second

            // verify: every event posted exactly once, nothing left.
            let posted = transport.posted.withLock { $0 }
            #expect(delivered == 12)
            #expect(posted.count == 12)
            #expect(Set(posted).count == 12)
            #expect(try await platform.pendingWebhookDeliveries() == 0)

            // act: an instance takes the next event and dies before posting it.
            _ = try await Self.settle(platform, person: "P1", visit: "W-dead", yuan: 10)
            await platform.flushProjections()  // its webhook delivery is a projection, written after the commit
            let taken = try await platform.write { db, now in try WebhookRepository.take(now: now, limit: 10, in: db) }
            #expect(taken.count == 1)

            // verify: nobody else posts it while the lease holds; after it runs out another instance does.
            #expect(await platform.deliverWebhooks(transport: transport) == 0)
            clock.advance(seconds: OutboxLease.leaseSeconds + 1)
            #expect(await platform.deliverWebhooks(transport: transport) == 1)
            #expect(transport.posted.withLock { $0.last } == taken.first?.id)
        }
    }
}
