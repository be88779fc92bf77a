import Foundation
import Testing
import YibaoApp
import YibaoCore

@testable import YibaoStore

/// What every backend's executor answers for the values the store binds and reads: text (empty, not
/// null; non-ASCII; quotes), integers at both ends, nulls; a statement's refusals, mapped; and a
/// statement that failed or was read is usable again at once. On SQLite every statement is bound,
/// stepped and read through SQLite's C interface (`SQLiteExecutor`).
@Suite("Store contract: what the executor binds and reads")
struct ExecutorStoreTests {
    static let create = "CREATE TABLE IF NOT EXISTS executor_probe (id TEXT PRIMARY KEY, amount BIGINT, note TEXT)"
    static let insert = "INSERT INTO executor_probe (id, amount, note) VALUES (?, ?, ?)"
    static let read = "SELECT id, amount, note FROM executor_probe WHERE id = ?"

    static let values: [(id: String, amount: SQLValue, note: SQLValue)] = [
        ("empty", .integer(0), .text("")),
        ("null", .null, .null),
        ("largest", .integer(Int64.max), .text("医保 个人账户 ¥ 'quoted' \"double\" \\ 🙂")),
        ("smallest", .integer(Int64.min), .text(String(repeating: "长", count: 5_000))),
        ("", .integer(-1), .text("an empty key")),
    ]

    @Test("values come back as they were bound, on the writer and on a reader", arguments: BackendKind.everyClient)
    func valuesRoundTrip(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // `/ready`'s question, answered by a read (`StoreBackend.ping`).
            #expect(await platform.backend.ping())
            _ = try await platform.backend.write { db in try db.execute(Self.create, []) }
            let written = try await platform.backend.write { db in
                try Self.values.map { try db.execute(Self.insert, [.text($0.id), $0.amount, $0.note]) }
            }
            #expect(written == Array(repeating: 1, count: Self.values.count))
            for value in Self.values {
                let fromWriter = try await platform.backend.write { db in try db.query(Self.read, [.text(value.id)]) }
                let fromReader = try await platform.backend.read { db in try db.query(Self.read, [.text(value.id)]) }
                for rows in [fromWriter, fromReader] {
                    #expect(rows.count == 1, "\(value.id)")
                    #expect(rows.first?.columns == ["id", "amount", "note"])
                    #expect(rows.first?.values == [.text(value.id), value.amount, value.note], "\(value.id)")
                }
            }
            // An empty string is not NULL: each is found by its own condition, once.
            let counts = try await platform.backend.read { db in
                try db.queryOne(
                    "SELECT CAST(SUM(CASE WHEN note = '' THEN 1 ELSE 0 END) AS BIGINT) AS empty, CAST(SUM(CASE WHEN note IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS nulls FROM executor_probe",
                    [])
            }
            #expect(try counts?.int64("empty") == 1)
            #expect(try counts?.int64("nulls") == 1)
            // Many rows, in order, each with its own values.
            let all = try await platform.backend.read { db in try db.query("SELECT id, amount FROM executor_probe ORDER BY id", []) }
            #expect(try all.map { try $0.string("id") } == Self.values.map(\.id).sorted())
        }
    }

    @Test("a refused statement is mapped, rolls back only its transaction, and runs again at once", arguments: BackendKind.everyClient)
    func refusalsAndReuse(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            _ = try await platform.backend.write { db in try db.execute(Self.create, []) }
            _ = try await platform.backend.write { db in try db.execute(Self.insert, [.text("once"), .integer(1), .null]) }
            for attempt in 0..<3 {
                await #expect(throws: StoreError.self, "attempt \(attempt)") {
                    _ = try await platform.backend.write { db in
                        try db.execute(Self.insert, [.text("kept back \(attempt)"), .integer(2), .null])
                        return try db.execute(Self.insert, [.text("once"), .integer(2), .null])
                    }
                }
                do {
                    _ = try await platform.backend.write { db in try db.execute(Self.insert, [.text("once"), .integer(3), .null]) }
                    Issue.record("a second row with the same key was written")
                } catch StoreError.uniqueViolation {
                } catch {
                    Issue.record("refused as \(error), not as a unique violation")
                }
            }
            // The statement that failed is used again, with other arguments, and nothing of the
            // refused transactions was kept.
            _ = try await platform.backend.write { db in try db.execute(Self.insert, [.text("after"), .integer(4), .null]) }
            let ids = try await platform.backend.read { db in try db.query("SELECT id FROM executor_probe ORDER BY id", []) }
            #expect(try ids.map { try $0.string("id") } == ["after", "once"])
            // A statement given fewer arguments than its placeholders is refused, not run with NULLs.
            await #expect(throws: (any Error).self) {
                _ = try await platform.backend.write { db in try db.execute(Self.insert, [.text("short"), .integer(5)]) }
            }
            let short = try await platform.backend.read { db in try db.query(Self.read, [.text("short")]) }
            #expect(short.isEmpty)
        }
    }

    /// PostgreSQL's protocol counts a statement's arguments in 16 bits (at most 65,535). Past that a
    /// statement is refused as an error, never a crash, and the next statement runs; within it a
    /// statement of more than 32,767 arguments runs (that count does not fit a signed 16-bit number,
    /// which once stopped the process). SQLite's limit is its build's (Debian's takes 250,000): there
    /// either answer is fine, as long as an answer is right and the next statement runs.
    @Test("a statement past its database's count of arguments is refused, and the next one runs", arguments: BackendKind.everyClient)
    func argumentsPastTheLimit(kind: BackendKind) async throws {
        func found(_ count: Int) -> SQLStatement {
            SQLStatement(
                "SELECT CASE WHEN ? IN (" + Array(repeating: "?", count: count - 1).joined(separator: ", ") + ") THEN 1 ELSE 0 END AS found",
                [.integer(Int64(count - 2))] + (0..<(count - 1)).map { SQLValue.integer(Int64($0)) })
        }
        try await PlatformHarness.withPlatform(kind) { platform in
            for (count, runs) in [(40_000, true), (70_000, false)] {
                let statement = found(count)
                for attempt in 0..<2 {
                    for onWriter in [true, false] {
                        let place = "\(count) arguments, attempt \(attempt), on the \(onWriter ? "writer" : "reader")"
                        do {
                            let row =
                                onWriter
                                ? try await platform.backend.write { db in try db.queryOne(statement.sql, statement.arguments) }
                                : try await platform.backend.read { db in try db.queryOne(statement.sql, statement.arguments) }
                            #expect(try row?.int64("found") == 1, "\(place)")
                            #expect(runs || !kind.isPostgres, "answered past PostgreSQL's limit: \(place)")
                        } catch {
                            #expect(!runs || !kind.isPostgres, "refused within PostgreSQL's limit: \(place): \(error)")
                        }
                        let one = try await platform.backend.write { db in try db.queryOne("SELECT 1 AS one", []) }
                        #expect(try one?.int64("one") == 1)
                        let two = try await platform.backend.read { db in try db.queryOne("SELECT 2 AS two", []) }
                        #expect(try two?.int64("two") == 2)
                    }
                }
            }
        }
    }

    /// A read is one snapshot: its second query does not see a write committed after its first, and
    /// the next read does. (On SQLite the reader's transaction is begun and committed by
    /// `SQLiteBackend.read` itself; without it each query would see the latest commit.)
    @Test("a read sees one moment: a write committed between its queries is not in the second", arguments: BackendKind.everyClient)
    func readIsOneSnapshot(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            _ = try await platform.backend.write { db in
                try db.execute(Self.create, [])
                return try db.execute(Self.insert, [.text("first"), .integer(1), .null])
            }
            let count = "SELECT COUNT(*) AS n FROM executor_probe"
            let firstQueried = DispatchSemaphore(value: 0)
            let written = DispatchSemaphore(value: 0)
            async let seen = platform.backend.read { db -> (Int64, Int64, Bool) in
                let first = try db.queryOne(count, [])?.int64("n") ?? -1
                firstQueried.signal()
                // The reader's thread waits here while the write commits.
                let waited = written.wait(timeout: .now() + 30) == .success
                return (first, try db.queryOne(count, [])?.int64("n") ?? -1, waited)
            }
            // Waited for on a thread of its own, never on Swift's cooperative pool: the three cases of this
            // test run at once, and on two cores their blocking waits there left no thread for the reads
            // they wait for (CI, 2026-12-07: `started` false after 30 s).
            let started = await withCheckedContinuation { done in
                DispatchQueue.global().async { done.resume(returning: firstQueried.wait(timeout: .now() + 30) == .success) }
            }
            #expect(started)
            _ = try await platform.backend.write { db in try db.execute(Self.insert, [.text("second"), .integer(2), .null]) }
            written.signal()
            let (first, second, waited) = try await seen
            #expect(waited)
            #expect(first == 1 && second == 1)
            let after = try await platform.backend.read { db in try db.queryOne(count, [])?.int64("n") }
            #expect(after == 2)
        }
    }

    @Test("on SQLite a cached statement left stale by a schema change answers with the new columns")
    func staleAfterSchemaChange() async throws {
        try await PlatformHarness.withPlatform(.sqlite) { platform in
            let all = "SELECT * FROM executor_probe WHERE id = ?"
            _ = try await platform.backend.write { db in
                try db.execute(Self.create, [])
                return try db.execute(Self.insert, [.text("row"), .integer(1), .null])
            }
            let before = try await platform.backend.write { db in try db.query(all, [.text("row")]) }
            #expect(before.first?.columns == ["id", "amount", "note"])
            let after = try await platform.backend.write { db in
                try db.execute("ALTER TABLE executor_probe ADD COLUMN kept TEXT NOT NULL DEFAULT 'yes'", [])
                return try db.query(all, [.text("row")])
            }
            #expect(after.first?.columns == ["id", "amount", "note", "kept"])
            #expect(after.first?.values == [.text("row"), .integer(1), .null, .text("yes")])
        }
    }
}

/// Writes sent together (`SQLExecutor.executeTogether`): on PostgreSQL one statement of `WITH` parts,
/// on SQLite a batch; the same counts and refusals either way.
@Suite("Store contract: writes sent together")
struct WritesTogetherStoreTests {
    static let create = ExecutorStoreTests.create

    static func insert(_ ids: [String], amount: Int64 = 1) -> SQLStatement {
        SQLStatement(
            "INSERT INTO executor_probe (id, amount, note) VALUES \(placeholders(ids.count, "(?, ?, ?)"))",
            ids.flatMap { [.text($0), .integer(amount), .text("together")] })
    }

    @Test(
        "each write's count, in order; the writes sent first are seen; past PostgreSQL's argument limit in several",
        arguments: BackendKind.everyClient)
    func counts(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            _ = try await platform.backend.write { db in try db.execute(Self.create, []) }
            let counts = try await platform.backend.write { db in
                try db.executeTogether(
                    [
                        Self.insert(["a", "b", "c"]),
                        SQLStatement("UPDATE executor_probe SET amount = amount + 10 WHERE id IN (?, ?)", [.text("first"), .text("second")]),
                        SQLStatement("DELETE FROM executor_probe WHERE id = ?", [.text("nobody")]),
                        SQLStatement(
                            "INSERT INTO executor_probe (id, amount, note) VALUES (?, 1, NULL) ON CONFLICT (id) DO NOTHING", [.text("first")]),
                    ], after: [Self.insert(["first", "second"])])
            }
            #expect(counts == [3, 2, 0, 0])
            let amounts = try await platform.backend.read { db in
                try db.query("SELECT id, amount FROM executor_probe ORDER BY id", []).map { "\(try $0.string("id"))=\(try $0.int64("amount"))" }
            }
            #expect(amounts == ["a=1", "b=1", "c=1", "first=11", "second=11"])
            // 100 inserts of 250 rows (75,000 arguments): more than one PostgreSQL statement takes.
            let many = (0..<100).map { batch in Self.insert((0..<250).map { "m\(batch)-\($0)" }) }
            let written = try await platform.backend.write { db in try db.executeTogether(many) }
            #expect(written == Array(repeating: 250, count: 100))
            let total = try await platform.backend.read { db in try db.queryOne("SELECT COUNT(*) AS n FROM executor_probe", [])?.int64("n") }
            #expect(total == 25_005)
        }
    }

    @Test("a write that breaks a constraint fails them all, and nothing is left", arguments: BackendKind.everyClient)
    func refused(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            _ = try await platform.backend.write { db in try db.execute(Self.create, []) }
            _ = try await platform.backend.write { db in try db.execute(ExecutorStoreTests.insert, [.text("taken"), .integer(1), .null]) }
            await #expect(throws: StoreError.self) {
                try await platform.backend.write { db in
                    try db.executeTogether([Self.insert(["new-1", "new-2"]), Self.insert(["taken"]), Self.insert(["new-3"])])
                }
            }
            let ids = try await platform.backend.read { db in
                try db.query("SELECT id FROM executor_probe ORDER BY id", []).map { try $0.string("id") }
            }
            #expect(ids == ["taken"])
        }
    }

    /// What `writeTogether`'s failure turns an error into in these tests.
    struct Told: Error, Equatable { let what: String }

    @Test(
        "writes the database checks: their refusal is told by their own failure wherever it is sent, and nothing is kept",
        arguments: BackendKind.everyClient)
    func heldRefused(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            _ = try await platform.backend.write { db in try db.execute(Self.create, []) }
            _ = try await platform.backend.write { db in try db.execute(ExecutorStoreTests.insert, [.text("taken"), .integer(1), .null]) }
            let told: @Sendable (any Error) -> any Error = { error in
                if case StoreError.uniqueViolation = error { return Told(what: "taken") }
                return error
            }
            // The last call of the transaction: on PostgreSQL's pipelining connection the writes go with
            // the COMMIT, and the refusal comes from there.
            await #expect(throws: Told(what: "taken")) {
                try await platform.backend.write { db in
                    try db.writeTogether(
                        [Self.insert(["new-1"]), Self.insert(["taken"])], after: [Self.insert(["first"])], expecting: [:], failure: told)
                }
            }
            // Followed by a read: it is sent with the read, which fails with the writes' refusal.
            await #expect(throws: Told(what: "taken")) {
                try await platform.backend.write { db in
                    try db.writeTogether([Self.insert(["new-2"]), Self.insert(["taken"])], after: [], expecting: [:], failure: told)
                    return try db.query("SELECT id FROM executor_probe", []).count
                }
            }
            // A count the writes must change, and do not: nothing of them is kept either.
            await #expect(throws: StoreError.self) {
                try await platform.backend.write { db in
                    try db.writeTogether(
                        [
                            Self.insert(["new-3"]),
                            SQLStatement("UPDATE executor_probe SET amount = 2 WHERE id IN (?, ?)", [.text("taken"), .text("nobody")]),
                        ],
                        after: [], expecting: [1: 2], failure: { $0 })
                }
            }
            let ids = try await platform.backend.read { db in
                try db.query("SELECT id, amount FROM executor_probe ORDER BY id", []).map { "\(try $0.string("id"))=\(try $0.int64("amount"))" }
            }
            #expect(ids == ["taken=1"])
            // The counts that match are written, with what comes after them in the transaction.
            let read = try await platform.backend.write { db in
                try db.writeTogether(
                    [
                        Self.insert(["new-4"]),
                        SQLStatement("UPDATE executor_probe SET amount = 2 WHERE id IN (?, ?)", [.text("taken"), .text("first")]),
                    ],
                    after: [Self.insert(["first"])], expecting: [0: 1, 1: 2], failure: { $0 })
                return try db.query("SELECT id FROM executor_probe ORDER BY id", []).map { try $0.string("id") }
            }
            #expect(read == ["first", "new-4", "taken"])
        }
    }

    @Test(
        "a transaction that ends with writes the database checks sends them with its COMMIT: one wait for both (two when they are all it does)"
    )
    func heldWithCommit() async throws {
        guard BackendKind.available.contains(.postgres) else { return }
        try await PlatformHarness.withPlatform(.postgres) { platform in
            _ = try await platform.backend.write { db in try db.execute(Self.create, []) }
            var before = platform.backend.roundTrips ?? 0
            let seen = try await platform.backend.write { db in
                let seen = try db.query("SELECT id FROM executor_probe", []).count
                try db.writeTogether([Self.insert(["a"]), Self.insert(["b", "c"])])
                return seen
            }
            #expect(seen == 0)
            #expect((platform.backend.roundTrips ?? 0) - before == 2)
            // Writes alone go before the COMMIT, so that a connection found closed can be retried.
            before = platform.backend.roundTrips ?? 0
            try await platform.backend.write { db in try db.writeTogether([Self.insert(["d"])]) }
            #expect((platform.backend.roundTrips ?? 0) - before == 2)
            let read = try await platform.backend.read { db in try db.query("SELECT id FROM executor_probe ORDER BY id", []).count }
            #expect(read == 4)
        }
    }

    @Test("a transaction whose failure a caller let pass is never reported committed")
    func failedNotCommitted() async throws {
        guard BackendKind.available.contains(.postgres) else { return }
        try await PlatformHarness.withPlatform(.postgres) { platform in
            _ = try await platform.backend.write { db in try db.execute(Self.create, []) }
            _ = try await platform.backend.write { db in try db.execute(ExecutorStoreTests.insert, [.text("taken"), .integer(1), .null]) }
            await #expect(throws: StoreError.self) {
                try await platform.backend.write { db in
                    _ = try? db.execute(ExecutorStoreTests.insert, [.text("taken"), .integer(2), .null])
                }
            }
            await #expect(throws: StoreError.self) {
                try await platform.backend.write { db in
                    _ = try db.execute(ExecutorStoreTests.insert, [.text("kept?"), .integer(2), .null])
                    try? db.writeTogether([Self.insert(["taken"])])
                    // The refused writes go with this query, whose failure is let pass too.
                    _ = try? db.query("SELECT 1 AS one", [])
                }
            }
            let ids = try await platform.backend.read { db in
                try db.query("SELECT id FROM executor_probe ORDER BY id", []).map { try $0.string("id") }
            }
            #expect(ids == ["taken"])
        }
    }
}
