import Testing
import YibaoCore
import YibaoSandbox

@testable import YibaoApp
@testable import YibaoStore

/// The settlement path's statements must not read more as history grows: a statement that visits every
/// completed settlement is fast in a test's small database and slows each settlement in proportion to a
/// province's history. SQLite counts each statement's virtual-machine steps, which grow with the rows it
/// visits; this measures them for the same round of work (a one-code card settlement with the personal
/// account, a settlement at the counter, a refund, a reversal, and what follows each commit) before and
/// after a few hundred settlements of other people, and compares them statement by statement.
@Suite("Platform contract: the work per statement does not grow with history")
struct HistoryGrowthStoreTests {
    typealias S = AppFixtures

    /// One round of the money path for two new people (`round` numbers them).
    static func round(_ platform: Platform, _ round: Int) async throws {
        let phone = try await Phone.make(platform, number: "R\(round)A", sequence: 1000 + 2 * round)
        let byCode = try await platform.settle(
            code: OneCodeStoreTests.request(phone.code(at: platform.clock.now()), visit: "R\(round)-1"), institution: S.hospital,
            idempotency: OneCodeStoreTests.key("r\(round)-1"))
        try await platform.enrol(S.person("R\(round)B", sequence: 1001 + 2 * round), openingBalance: .yuan(500))
        let opened = try await platform.openVisit(
            OpenVisitRequest(
                personNumber: "R\(round)B", category: .ordinaryOutpatient, hospitalVisitNumber: "R\(round)-2", lines: [S.line("1", "A001", yuan: 200)]
            ),
            institution: S.hospital)
        let atCounter = try await platform.settle(visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: nil)
        await platform.flushAfterCommit()
        _ = try await platform.refund(
            settlementID: byCode.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(10)),
            idempotency: OneCodeStoreTests.key("r\(round)-3"))
        _ = try await platform.reverse(settlementID: atCounter.id, institution: S.hospital, idempotency: OneCodeStoreTests.key("r\(round)-4"))
        await platform.flushAfterCommit()
    }

    /// Settlements of `people` other people, `each` apiece, a third of them reversed.
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
                if visit % 3 == 0 { _ = try await platform.reverse(settlementID: record.id, institution: S.hospital, idempotency: nil) }
            }
        }
        await platform.flushAfterCommit()
    }

    @Test("a round of settlements takes as many steps per statement after 320 settlements of history as before")
    func flatAgainstHistory() async throws {
        try await PlatformHarness.withPlatform(.sqlite) { platform in
            try await S.load(into: platform)
            let backend = try #require(platform.backend as? SQLiteBackend)
            // The first round prepares the statements; the second is measured on a small history.
            try await Self.round(platform, 0)
            _ = try backend.writerStatementWork()
            try await Self.round(platform, 1)
            let before = try backend.writerStatementWork()

            try await Self.history(platform, people: 16, each: 20)
            _ = try backend.writerStatementWork()
            try await Self.round(platform, 2)
            let after = try backend.writerStatementWork()

            let compared = before.keys.filter { after[$0] != nil }
            #expect(compared.count >= 30, "the round ran \(compared.count) statements in both measurements")
            for sql in compared.sorted() {
                let small = Double(before[sql]!.steps) / Double(before[sql]!.runs)
                let large = Double(after[sql]!.steps) / Double(after[sql]!.runs)
                #expect(large <= 2 * small + 50, "\(Int(small)) → \(Int(large)) steps per run: \(sql)")
            }
        }
    }
}
