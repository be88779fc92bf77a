import Testing
import YibaoApp
import YibaoCore

@testable import YibaoStore

/// Statements PostgreSQL prepares once per connection (`PreparedStatements`): a statement run often
/// enough is sent by name, and must answer exactly what it answered unnamed — rows, counts, order
/// within a batch — including the use that carries its preparation on a connection, and a
/// preparation that fails.
@Suite("Store contract: statements prepared once per connection")
struct PreparedStatementStoreTests {
    static let create = "CREATE TABLE IF NOT EXISTS prepared_probe (id TEXT PRIMARY KEY, amount BIGINT NOT NULL, note TEXT)"
    static let insert = "INSERT INTO prepared_probe (id, amount, note) VALUES (?, ?, ?)"
    static let add = "UPDATE prepared_probe SET amount = amount + ? WHERE id = ?"
    static let read = "SELECT id, amount, note FROM prepared_probe WHERE id = ?"
    static let remove = "DELETE FROM prepared_probe WHERE amount >= ?"

    @Test(
        "named statements answer rows and counts as unnamed ones, in batch order, through every first use",
        arguments: BackendKind.everyClient)
    func sameAnswers(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            _ = try await platform.backend.write { db in try db.execute(Self.create, []) }
            // Enough rounds for every statement to pass the threshold and be first used on each of the
            // harness's connections while other statements are pending ahead of and behind it.
            for round in 0..<(PreparedStatements.threshold + 12) {
                let id = "probe-\(round)"
                let (counts, rows, added) = try await platform.backend.write { db in
                    // The update depends on the insert before it and the read on both: any reordering
                    // shows in the counts or the amount.
                    let counts = try db.executeBatch([
                        SQLStatement(Self.insert, [.text(id), .integer(Int64(round)), round.isMultiple(of: 2) ? .null : .text("odd")]),
                        SQLStatement(Self.add, [.integer(100), .text(id)]),
                        SQLStatement(Self.add, [.integer(1), .text("nobody")]),
                    ])
                    let rows = try db.queryBatch([SQLStatement(Self.read, [.text(id)]), SQLStatement(Self.read, [.text("nobody")])])
                    let added = try db.execute(Self.add, [.integer(1_000), .text(id)])
                    return (counts, rows, added)
                }
                #expect(counts == [1, 1, 0], "round \(round)")
                #expect(rows[1].isEmpty, "round \(round)")
                let row = try #require(rows[0].first, "round \(round)")
                #expect(rows[0].count == 1, "round \(round)")
                #expect(try row.string("id") == id, "round \(round)")
                #expect(try row.int64("amount") == Int64(round) + 100, "round \(round)")
                #expect(try row.optionalString("note") == (round.isMultiple(of: 2) ? nil : "odd"), "round \(round)")
                #expect(added == 1, "round \(round)")
            }
            let total = try await platform.backend.read { db in
                try db.queryOne("SELECT COUNT(*) AS n, CAST(SUM(amount) AS BIGINT) AS total FROM prepared_probe", [])
            }
            let rounds = Int64(PreparedStatements.threshold + 12)
            #expect(try total?.int64("n") == rounds)
            #expect(try total?.int64("total") == (0..<rounds).reduce(0) { $0 + $1 + 1_100 })
            let removed = try await platform.backend.write { db in try db.execute(Self.remove, [.integer(1_100 + rounds - 2)]) }
            #expect(removed == 2)
        }
    }

    @Test("on PostgreSQL a statement run often is prepared on the connection and then executed by name", arguments: BackendKind.everyClient)
    func preparedOnTheConnection(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            guard kind.isPostgres else { return }
            _ = try await platform.backend.write { db in try db.execute(Self.create, []) }
            let prepared = try await platform.backend.write { db in
                // postgres-nio: the threshold's use carries the preparation, the three after it are sent by
                // name. The pipelining connection: the first use is unnamed, the second carries the
                // preparation and runs by name, as do the four after it.
                for _ in 0..<(PreparedStatements.threshold + 3) { _ = try db.query(Self.read, [.text("nobody")]) }
                return try db.query(
                    "SELECT name, statement, generic_plans + custom_plans AS executions FROM pg_prepared_statements WHERE statement LIKE ?",
                    [.text("SELECT id, amount, note FROM prepared_probe WHERE id = $1%")])
            }
            #expect(prepared.count == 1)
            if kind == .postgresNIO {
                #expect(try prepared.first?.string("statement") == "SELECT id, amount, note FROM prepared_probe WHERE id = $1::text")
                #expect(try prepared.first?.int64("executions") == 3)
            } else {
                #expect(try prepared.first?.string("statement") == "SELECT id, amount, note FROM prepared_probe WHERE id = $1")
                #expect(try prepared.first?.int64("executions") == Int64(PreparedStatements.threshold + 2))
            }
        }
    }

    @Test("a statement is prepared with its arguments' types written as casts, and a counted write returns a row per row written")
    func namedSQL() {
        #expect(
            PreparedStatements.named(
                "UPDATE t SET a = ?, note = 'costs ?' WHERE id = ? AND b = ?", [.integer(1), .text("x"), .null], want: .count)
                == "UPDATE t SET a = $1::int8, note = 'costs ?' WHERE id = $2::text AND b = $3 RETURNING 1")
        #expect(
            PreparedStatements.named(
                "SELECT ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ?, ?", [.text("{}")] + Array(repeating: .integer(1), count: 9), want: .rows)
                == "SELECT $1::text::jsonb, $2::int8, $3::int8, $4::int8, $5::int8, $6::int8, $7::int8, $8::int8, $9::int8, $10::int8")
        let signatures = [
            [], [SQLValue.integer(1)], [.text("1")], [.null], [.integer(1), .null], [.null, .integer(1)], [.integer(1), .integer(1)],
        ].flatMap { arguments in [PreparedStatements.Want.rows, .count].map { PreparedStatements.signature(arguments, want: $0) } }
        #expect(Set(signatures).count == signatures.count, "every wish and list of argument kinds has its own signature")
        // Past 31 arguments (a write set as one statement): the kinds of every argument still count, and so does their number.
        let long = { (last: SQLValue, count: Int) in Array(repeating: SQLValue.integer(1), count: count - 1) + [last] }
        let longer = [
            long(.integer(1), 31), long(.integer(1), 32), long(.text("1"), 32), long(.null, 32), long(.integer(1), 62), long(.integer(1), 63),
        ]
        .flatMap { arguments in [PreparedStatements.Want.rows, .count].map { PreparedStatements.signature(arguments, want: $0) } }
        #expect(Set(longer).count == longer.count && longer.allSatisfy { $0 != nil })
        #expect(PreparedStatements.signature(Array(repeating: .null, count: PreparedStatements.argumentsMax + 1), want: .rows) == nil)
    }

    @Test("on PostgreSQL `?prepared=off` sends every statement unnamed", arguments: BackendKind.everyClient)
    func preparedOff(kind: BackendKind) async throws {
        guard kind.isPostgres, let url = BackendKind.postgresURL else { return }
        let name = "yibao_test_\(UInt32.random(in: 0...UInt32.max))"
        try await PostgresBackend.administer(url: url, statements: ["CREATE DATABASE \(name)"])
        let unnamed = BackendKind.adding("prepared=off", to: PostgresBackend.url(url, database: name))
        let backend = try PostgresBackend(url: kind == .postgresNIO ? BackendKind.adding("pipeline=off", to: unnamed) : unnamed, connections: 1)
        do {
            let prepared = try await backend.write { db in
                _ = try db.execute(Self.create, [])
                for _ in 0..<(PreparedStatements.threshold + 4) { _ = try db.query(Self.read, [.text("nobody")]) }
                return try db.query("SELECT name FROM pg_prepared_statements", []).count
            }
            #expect(prepared == 0)
        } catch {
            Issue.record(error)
        }
        await backend.close()
        try await PostgresBackend.administer(url: url, statements: ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }

    @Test(
        "a first use that fails (the transaction already aborted) rolls back, and the statement still answers afterwards",
        arguments: BackendKind.everyClient)
    func failedFirstUse(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await platform.backend.write { db in
                try db.execute(Self.create, [])
                try db.execute(Self.insert, [.text("a"), .integer(1), .null])
            }
            // Bring the read to the threshold's last unnamed use.
            for _ in 0..<(PreparedStatements.threshold - 1) {
                _ = try await platform.backend.write { db in try db.query(Self.read, [.text("a")]) }
            }
            for _ in 0..<4 {
                await #expect(throws: (any Error).self) {
                    try await platform.backend.write { db in
                        try db.execute(Self.add, [.integer(5), .text("a")])
                        // A duplicate key aborts the transaction; what runs after it fails on PostgreSQL
                        // (its preparation too, if this is its first use on the connection).
                        _ = try? db.execute(Self.insert, [.text("a"), .integer(2), .null])
                        _ = try db.query(Self.read, [.text("a")])
                        if kind == .sqlite { throw Refused() }
                    }
                }
            }
            for _ in 0..<8 {
                let row = try await platform.backend.write { db in try db.queryOne(Self.read, [.text("a")]) }
                #expect(try row?.int64("amount") == 1, "the failed transactions' update was rolled back")
            }
        }
    }

    @Test(
        "on PostgreSQL a statement whose result changes shape under it (a migration while serving) fails once per connection, then answers unnamed",
        arguments: BackendKind.everyClient)
    func migratedUnderneath(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            let everything = "SELECT * FROM prepared_probe WHERE id = ?"
            try await platform.backend.write { db in
                try db.execute(Self.create, [])
                try db.execute(Self.insert, [.text("a"), .integer(1), .null])
            }
            for _ in 0..<(PreparedStatements.threshold + 8) {
                _ = try await platform.backend.write { db in try db.query(everything, [.text("a")]) }
            }
            _ = try await platform.backend.write { db in
                try db.execute("ALTER TABLE prepared_probe ADD COLUMN extra TEXT", [])
                try db.execute("UPDATE prepared_probe SET extra = 'new' WHERE id = 'a'", [])
            }
            var failures = 0
            var answers: [String?] = []
            for _ in 0..<16 {
                do {
                    let extra = try await platform.backend.write { db in
                        try db.queryOne(everything, [.text("a")]).map { try $0.optionalString("extra") }
                    }
                    answers.append(extra ?? "no row")
                } catch {
                    failures += 1
                }
            }
            // The harness's backend has four connections: at most one failure on each.
            #expect(failures <= 4, "\(failures) failures")
            #expect(kind.isPostgres || failures == 0)
            #expect(answers.count == 16 - failures)
            #expect(answers.suffix(8).allSatisfy { $0 == "new" }, "the new column in every answer after the failures")
        }
    }
}

/// Rolls a SQLite transaction back where PostgreSQL's fails by itself.
private struct Refused: Error {}
