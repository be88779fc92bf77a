import Foundation
import Testing
import YibaoApp
import YibaoCore
import YibaoStore

@Suite("Platform contract: the daily close verifies the day's entries against the previous close")
struct LedgerVerificationTests {
    typealias S = AppFixtures

    /// Up to when the verified sums hold (nil: none).
    static func verifiedThrough(_ platform: Platform) async throws -> Instant? {
        try await platform.backend.read { db in try LedgerVerificationRepository.verifiedThrough(in: db) }
    }

    /// A day's settlements: two people paid from their accounts, and a person enrolled with an opening balance.
    static func day(_ platform: Platform, _ clock: ManualClock, _ date: String, person: Int) async throws {
        clock.set(Instant(iso8601: "\(date)T10:00:00+08:00")!)
        try await platform.enrol(S.person("P\(person)", sequence: person), openingBalance: .yuan(800))
        _ = try await ClearingStoreTests.settle(platform, person: "P\(person)", visit: "MZ-\(date)-1", yuan: 120)
        _ = try await ClearingStoreTests.settle(platform, person: "P1", visit: "MZ-\(date)-2", yuan: 60)
    }

    /// The fixtures, person 1 enrolled with 2,000 yuan and `date`'s settlements, person 2 among them.
    static func start(_ platform: Platform, _ clock: ManualClock, _ date: String) async throws {
        try await S.load(into: platform)
        try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(2000))
        try await day(platform, clock, date, person: 2)
    }

    static func close(_ platform: Platform, _ clock: ManualClock, _ date: String) async throws -> LedgerReport {
        clock.set(max(clock.now(), CivilDate(date)!.adding(days: 1).startInChina.adding(seconds: 3600)))
        return try #require(try await platform.closeDay(CivilDate(date)!).ledger)
    }

    @Test(
        "the first close verifies the whole ledger and keeps each balance's verified sum; the next day's close checks only that day's entries and every balance against those sums",
        arguments: BackendKind.available)
    func dayAfterDay(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-10T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: a person settling on the 10th and 11th, another enrolled and settling each day.
            try await Self.start(platform, clock, "2026-03-10")

            // act: the 10th closes (nothing verified yet: the whole ledger).
            let first = try await Self.close(platform, clock, "2026-03-10")

            // verify: the whole ledger, and the sums now hold up to the 10th's end.
            #expect(first.passed && first.day == nil)
            #expect(first.entries == 4)  // two opening balances, two settlements
            #expect(try await Self.verifiedThrough(platform) == CivilDate("2026-03-11")!.startInChina)

            // act: the 11th's settlements (and one on the 12th before the close), then the 11th closes.
            try await Self.day(platform, clock, "2026-03-11", person: 3)
            try await Self.day(platform, clock, "2026-03-12", person: 4)
            let second = try await Self.close(platform, clock, "2026-03-11")

            // verify: only the 11th's three entries (and its two settlements); the balances against the 10th's sums plus
            // every posting since, the 12th's too; the sums moved to the 11th's end.
            #expect(second.passed, "\(second.problems)")
            #expect(second.day?.from == CivilDate("2026-03-11")!.startInChina)
            #expect(second.day?.balancesFrom == CivilDate("2026-03-11")!.startInChina)
            #expect(second.entries == 3 && second.settlements == 2)
            #expect(try await Self.verifiedThrough(platform) == CivilDate("2026-03-12")!.startInChina)
            let whole = try await platform.verifyLedger()
            #expect(whole.passed && whole.entries == 10 && whole.day == nil)

            // act: the 11th closed again (an operator's rerun): checked against the sums at its end, nothing moves.
            let rerun = try await platform.closeDay(CivilDate("2026-03-11")!, again: true)
            #expect(rerun.ledger?.passed == true && rerun.ledger?.day?.balancesFrom == CivilDate("2026-03-12")!.startInChina)
            #expect(try await Self.verifiedThrough(platform) == CivilDate("2026-03-12")!.startInChina)
        }
    }

    @Test(
        "the rebuild's pages, two accounts each, give every account its postings before the instant — none counted twice or left out at a page's edge, the postings after it left out",
        arguments: BackendKind.available)
    func rebuildPages(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-10T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: two days of settlements and enrolments; the instant is the 10th's end.
            try await Self.start(platform, clock, "2026-03-10")
            try await Self.day(platform, clock, "2026-03-11", person: 3)
            let through = CivilDate("2026-03-11")!.startInChina

            // act: every page from the start, two accounts at a time.
            var paged: [String: Money] = [:]
            var after = ""
            var pages = 0
            while true {
                let start = after
                let page = try await platform.backend.read { db in
                    try LedgerVerificationRepository.sums(before: through, after: start, accounts: 2, in: db)
                }
                pages += 1
                for (account, amount) in page.sums {
                    #expect(paged[account] == nil, "\(account) in two pages")
                    paged[account] = amount
                }
                guard let last = page.last else { break }
                after = last
            }

            // verify: the same sums as each account's postings of entries made before the instant.
            let expected = try await platform.backend.read { db in
                try db.query(
                    """
                    SELECT p.account_id, CAST(SUM(p.amount) AS BIGINT) AS amount FROM postings p JOIN journal_entries e ON e.id = p.entry_id
                    WHERE e.created_at < ? GROUP BY p.account_id
                    """, [.instant(through)]
                ).map { (try $0.string("account_id"), try $0.money("amount")) }
            }
            let accounts = try await platform.backend.read { db in try db.queryOne("SELECT COUNT(*) AS n FROM accounts", [])?.int64("n") } ?? 0
            #expect(pages >= Int(accounts) / 2 && accounts >= 6, "\(pages) pages over \(accounts) accounts")
            #expect(!expected.isEmpty)
            for (account, amount) in expected { #expect(paged[account, default: .zero] == amount, "\(account)") }
            // The 11th's postings are left out: an account first paid on the 11th sums to nothing.
            let after11 = try await platform.backend.read { db in
                try db.query(
                    """
                    SELECT DISTINCT p.account_id FROM postings p JOIN journal_entries e ON e.id = p.entry_id
                    WHERE e.created_at >= ? AND p.account_id NOT IN
                        (SELECT q.account_id FROM postings q JOIN journal_entries f ON f.id = q.entry_id WHERE f.created_at < ?)
                    """, [.instant(through), .instant(through)]
                ).map { try $0.string("account_id") }
            }
            #expect(!after11.isEmpty)
            for account in after11 { #expect(paged[account, default: .zero] == .zero, "\(account)") }
        }
    }

    @Test(
        "a balance changed behind the ledger's back is found by the day's check and confirmed by the whole ledger; sums gone stale are rebuilt; a month's last day verifies the whole ledger and finds a rewritten old posting",
        arguments: BackendKind.available)
    func tampering(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-27T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: the 27th closed (the whole ledger), the 28th's settlements.
            try await Self.start(platform, clock, "2026-03-27")
            #expect(try await Self.close(platform, clock, "2026-03-27").passed)
            try await Self.day(platform, clock, "2026-03-28", person: 3)

            // act: a personal balance raised by one fen with no posting; the 28th closes.
            _ = try await platform.backend.write { db in try db.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 'personal:P2'", []) }
            let tampered = try await Self.close(platform, clock, "2026-03-28")

            // verify: found, confirmed on the whole ledger (the report is the whole ledger's), the sums forgotten.
            #expect(!tampered.passed && tampered.day == nil)
            #expect(tampered.problems.contains { $0.check == "balance differs from postings" && $0.location == "personal:P2" })
            #expect(try await Self.verifiedThrough(platform) == nil)

            // act: the fen put back; the 28th closed again: the whole ledger passes and the sums are rebuilt.
            _ = try await platform.backend.write { db in try db.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 'personal:P2'", []) }
            clock.set(Instant(iso8601: "2026-03-29T09:00:00+08:00")!)
            let repaired = try #require(try await platform.closeDay(CivilDate("2026-03-28")!, again: true).ledger)
            #expect(repaired.passed && repaired.day == nil)
            #expect(try await Self.verifiedThrough(platform) == CivilDate("2026-03-29")!.startInChina)

            // act: a verified sum gone stale (as a late write into a closed day would leave it); the 29th closes.
            try await Self.day(platform, clock, "2026-03-29", person: 4)
            _ = try await platform.backend.write { db in
                try db.execute("UPDATE verified_balances SET balance = balance + 5 WHERE account_id = 'personal:P1'", [])
            }
            let stale = try await Self.close(platform, clock, "2026-03-29")

            // verify: the day's check found it, the whole ledger passed: a pass, and the sums rebuilt right.
            #expect(stale.passed && stale.day == nil)
            #expect(try await Self.verifiedThrough(platform) == CivilDate("2026-03-30")!.startInChina)
            #expect(try await platform.verifyLedger(closing: CivilDate("2026-03-29")!).day != nil)

            // act: the 30th closes by the day's check; then an old posting of the 27th is rewritten (balances untouched, which the
            // day's check, reading only the day's postings, cannot see), and the 31st, a month's last day, closes.
            try await Self.day(platform, clock, "2026-03-30", person: 5)
            let ordinary = try await Self.close(platform, clock, "2026-03-30")
            #expect(ordinary.passed && ordinary.day != nil)
            _ = try await platform.backend.write { db in
                try db.execute(
                    """
                    UPDATE postings SET amount = amount + 7 WHERE account_id = 'personal:P2'
                    AND entry_id IN (SELECT id FROM journal_entries WHERE created_at < ?)
                    """, [.instant(CivilDate("2026-03-28")!.startInChina)])
            }
            try await Self.day(platform, clock, "2026-03-31", person: 6)
            let monthEnd = try await Self.close(platform, clock, "2026-03-31")

            // verify: the month's last day verified the whole ledger and found the rewritten entry and the balance it no longer makes.
            #expect(!monthEnd.passed && monthEnd.day == nil)
            #expect(monthEnd.problems.contains { $0.check == "entry does not sum to zero" })
            #expect(monthEnd.problems.contains { $0.check == "balance differs from postings" && $0.location == "personal:P2" })
        }
    }

    @Test(
        "the platform's accounts: SQLite posts every entry to slot 0 (one writer: nothing waits for a row), PostgreSQL spreads them over its slots; a balance is the sum of every slot, rows an older build left in another slot too",
        arguments: BackendKind.available)
    func slots(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-10T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: twelve settlements from one person's account.
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(2000))
            for index in 1...12 { _ = try await ClearingStoreTests.settle(platform, person: "P1", visit: "MZ-\(index)", yuan: 50) }

            // verify: the slots the platform's accounts were posted to.
            let rows = try await platform.backend.read { db in
                try db.query("SELECT id FROM accounts WHERE id LIKE '%#%' ORDER BY id", []).map { try $0.string("id") }
            }
            let slots = Set(rows.map { $0[$0.index(after: $0.firstIndex(of: "#")!)...] })
            switch kind {
            case .sqlite: #expect(slots == ["0"], "\(rows)")
            case .postgres, .postgresNIO: #expect(slots.count > 1, "\(rows)")
            }

            // setup: one entry's posting to the clearing account moved to slot 5 with its balance, as a
            // build that spread slots on SQLite left it.
            let clearing = try #require(rows.first { $0.hasPrefix("institution_clearing:") })
            let account = try #require(LedgerRepository.account(storageKey: clearing))
            let before = try await platform.balance(of: account)
            let moved = clearing.prefix { $0 != "#" } + (clearing.hasSuffix("#5") ? "#6" : "#5")
            try await platform.backend.write { db in
                let posting = try #require(
                    try db.query("SELECT entry_id, amount FROM postings WHERE account_id = ? ORDER BY entry_id LIMIT 1", [.text(clearing)]).first)
                let amount = try posting.int64("amount")
                try db.execute(
                    """
                    INSERT INTO accounts (id, kind, owner, balance, held, created_at, updated_at)
                    SELECT ?, kind, owner, ?, 0, created_at, updated_at FROM accounts WHERE id = ?
                    ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + excluded.balance
                    """,
                    [.text(String(moved)), .integer(amount), .text(clearing)])
                try db.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", [.integer(amount), .text(clearing)])
                try db.execute(
                    "UPDATE postings SET account_id = ? WHERE entry_id = ? AND account_id = ?",
                    [.text(String(moved)), .text(try posting.string("entry_id")), .text(clearing)])
            }

            // act: one settlement more.
            let last = try await ClearingStoreTests.settle(platform, person: "P1", visit: "MZ-13", yuan: 50)

            // verify: the balance is every posting to the account, in both slots, the new settlement's too;
            // the ledger still verifies.
            let posted = try await platform.backend.read { db in
                try db.query(
                    "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM postings WHERE account_id LIKE ?",
                    [.text(clearing.prefix { $0 != "#" } + "#%")]
                ).first?.int64("n")
            }
            let after = try await platform.balance(of: account)
            #expect(after.fen == posted && after > before && last.breakdown.fundTotal > .zero)
            let report = try await platform.verifyLedger()
            #expect(report.passed, "\(report.problems)")
        }
    }
}
