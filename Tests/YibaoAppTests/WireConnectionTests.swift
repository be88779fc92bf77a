import Testing
import YibaoApp
import YibaoCore

@testable import YibaoStore

/// The pipelining PostgreSQL connection's own parts: SCRAM's arithmetic (the vectors of RFC 7677),
/// cells read by their type, command tags, and a connection that dies under a transaction.
@Suite("PostgreSQL's pipelining connection")
struct WireConnectionTests {
    @Test("SCRAM-SHA-256 answers RFC 7677's example and checks the server's signature")
    func scram() throws {
        var client = SCRAM(user: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(client.clientFirst == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let final = try client.clientFinal(serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        #expect(final == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        #expect(client.verify(serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
        #expect(!client.verify(serverFinal: "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
        // A challenge whose nonce is not the client's own is refused.
        var other = SCRAM(password: "pencil", nonce: "abc")
        #expect(throws: (any Error).self) { try other.clientFinal(serverFirst: "r=xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096") }
    }

    @Test("cells are read by their column's type: integers to their limits, booleans, text")
    func cells() throws {
        func cell(_ text: String, _ type: UInt32) throws -> SQLValue { try WireConnection.value(ArraySlice(Array(text.utf8)), type: type) }
        #expect(try cell("-9223372036854775808", 20) == .integer(.min))
        #expect(try cell("9223372036854775807", 20) == .integer(.max))
        #expect(try cell("0", 23) == .integer(0))
        #expect(try cell("-12", 21) == .integer(-12))
        #expect(throws: (any Error).self) { try cell("9223372036854775808", 20) }
        #expect(throws: (any Error).self) { try cell("-", 20) }
        #expect(throws: (any Error).self) { try cell("1.5", 20) }
        #expect(try cell("t", 16) == .integer(1))
        #expect(try cell("f", 16) == .integer(0))
        #expect(try cell("医保 ok", 25) == .text("医保 ok"))
        #expect(try cell("12.50", 1700) == .text("12.50"))
    }

    @Test("a command's count comes from its tag")
    func tags() {
        #expect(WireConnection.count(tag: "INSERT 0 3", rows: 0) == 3)
        #expect(WireConnection.count(tag: "UPDATE 2", rows: 0) == 2)
        #expect(WireConnection.count(tag: "SELECT 5", rows: 5) == 5)
        #expect(WireConnection.count(tag: "COMMIT", rows: 0) == 0)
    }

    @Test(
        "a connection that dies under a transaction fails it as unavailable, and the next one gets a new connection",
        arguments: BackendKind.available)
    func deadConnection(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            guard kind == .postgres else { return }
            _ = try await platform.backend.write { db in try db.execute("CREATE TABLE wire_probe (id BIGINT PRIMARY KEY)", []) }
            for round in 0..<6 {
                await #expect(throws: StoreError.self) {
                    try await platform.backend.write { db in
                        try db.execute("INSERT INTO wire_probe (id) VALUES (?)", [.integer(Int64(round))])
                        _ = try db.query("SELECT pg_terminate_backend(pg_backend_pid())", [])
                    }
                }
            }
            // Nothing of the killed transactions was kept, and every connection works again.
            for _ in 0..<8 {
                let count = try await platform.backend.read { db in try db.queryOne("SELECT COUNT(*) AS n FROM wire_probe", [])?.int64("n") }
                #expect(count == 0)
            }
        }
    }

    @Test("connections PostgreSQL closed while idle are replaced without failing the transactions that meet them", arguments: BackendKind.available)
    func idleConnectionsClosed(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            guard kind == .postgres else { return }
            let backend = platform.backend
            _ = try await backend.write { db in try db.execute("CREATE TABLE wire_probe (id BIGINT PRIMARY KEY)", []) }
            // Four connections open and idle (the harness's backend has four).
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { _ = try await backend.read { db in try db.query("SELECT pg_sleep(0.2)", []) } } }
                try await group.waitForAll()
            }
            // PostgreSQL closes every other connection of this database (a restart, an idle timeout).
            let closed = try await backend.read { db in
                try db.query(
                    "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    []
                ).count
            }
            #expect(closed >= 1)
            // Eight at once, so that the idle connections are all met; every other one is writes held for
            // its COMMIT alone (`writeTogether`).
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<8 {
                    group.addTask {
                        let insert = SQLStatement("INSERT INTO wire_probe (id) VALUES (?)", [.integer(Int64(round))])
                        if round.isMultiple(of: 2) {
                            _ = try await backend.write { db in try db.execute(insert.sql, insert.arguments) }
                        } else {
                            try await backend.write { db in try db.writeTogether([insert]) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let count = try await backend.read { db in try db.queryOne("SELECT COUNT(*) AS n FROM wire_probe", [])?.int64("n") }
            #expect(count == 8)
        }
    }
}
