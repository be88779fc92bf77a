import Foundation
import Synchronization
import Testing
import YibaoTestSupport

@testable import YibaoStore

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL that is alive but does not answer — its kernel takes the bytes, its process is stopped
/// or runs a statement for longer than the work may wait — fails the work as unavailable within the
/// database URL's `answer_timeout`, cancels the statement and gives the thread back, on the store's own
/// pipelining connections, plain and over TLS. Long work (`DatabaseWait.unbounded`) waits as long as it
/// takes; a readiness check waits less.
@Suite("Store contract: PostgreSQL that does not answer")
struct PostgresAnswerWaitStoreTests {
    /// The private cluster's address without the run's own parameters, or nil (and the test skipped).
    static func server(_ test: String) -> String? {
        guard let url = BackendKind.postgresURL ?? (TestRecord.postgresRequired ? "" : nil) else {
            TestRecord.note("skipped", "\(test): YIBAO_TEST_POSTGRES_URL is not set")
            return nil
        }
        return String(url.prefix { $0 != "?" })
    }

    /// The address's variants to run on: plain, and TLS when the cluster's authority is known.
    static func variants(_ server: String) -> [String] {
        let authority = ProcessInfo.processInfo.environment["YIBAO_TEST_POSTGRES_CA"].flatMap { $0.isEmpty ? nil : $0 }
        return [server + "?"] + (authority.map { [server + "?sslmode=verify-full&sslrootcert=\($0)&"] } ?? [])
    }

    static let pid = "SELECT CAST(pg_backend_pid() AS BIGINT) AS pid"

    /// Whether `backend` is ready within a few checks (a new connection on a busy machine takes its time).
    static func eventuallyReady(_ backend: PostgresBackend) async -> Bool {
        for _ in 0..<10 {
            if await backend.ping() { return true }
            try? await Task.sleep(for: .milliseconds(300))
        }
        return false
    }

    @Test("answer_timeout is a number of seconds, 0 for no limit; the task's wait is the backend's, none, or the shorter")
    func settings() throws {
        #expect(try PostgresBackend(url: "postgres://u@127.0.0.1:1/d", connections: 1).answerTimeout == PostgresBackend.answerTimeoutDefault)
        #expect(try PostgresBackend(url: "postgres://u@127.0.0.1:1/d?answer_timeout=2.5", connections: 1).answerTimeout == .milliseconds(2500))
        #expect(try PostgresBackend(url: "postgres://u@127.0.0.1:1/d?prepared=off&answer_timeout=0", connections: 1).answerTimeout == nil)
        for refused in ["?answer_timeout=soon", "?answer_timeout=-1", "?answer_timeout="] {
            #expect(throws: StoreError.self, "\(refused)") { try PostgresBackend(url: "postgres://u@127.0.0.1:1/d" + refused, connections: 1) }
        }
        #expect(DatabaseWait.standard.limit(standard: .seconds(20)) == .seconds(20))
        #expect(DatabaseWait.unbounded.limit(standard: .seconds(20)) == nil)
        #expect(DatabaseWait.atMost(.seconds(3)).limit(standard: .seconds(20)) == .seconds(3))
        #expect(DatabaseWait.atMost(.seconds(3)).limit(standard: .seconds(1)) == .seconds(1))
        #expect(DatabaseWait.atMost(.seconds(3)).limit(standard: nil) == .seconds(3))
    }

    @Test("a server that accepts the connection and says nothing is given up after the connect timeout")
    func silentServer() throws {
        // A listener that never accepts: the kernel completes the handshake and takes the startup
        // message, and nothing answers it.
        let (listener, port) = try loopbackSocket()
        defer { close(listener) }
        try #require(listen(listener, 8) == 0)
        let started = ContinuousClock.now
        do {
            _ = try WireConnection.connect(
                host: "127.0.0.1", port: port, user: "yibao", password: nil, database: nil, prepare: false, connectTimeout: 400)
            Issue.record("connected to a server that said nothing")
        } catch let error as WireConnection.ConnectionError {
            #expect(error.timedOut, "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(5), "the silent server was waited for: \(ContinuousClock.now - started)")
    }

    @Test("a server process that is stopped fails the transaction as unavailable within answer_timeout; the next gets a new connection")
    func stoppedServer() async throws {
        guard let server = Self.server("a stopped server") else { return }
        for base in Self.variants(server) {
            let backend = try PostgresBackend(url: base + "answer_timeout=2", connections: 1)
            let first = try #require(
                try await DatabaseWait.unbounded { try await backend.write { db in try db.queryOne(Self.pid, [])?.int64("pid") } })
            try #require(kill(pid_t(first), SIGSTOP) == 0, "cannot stop PostgreSQL's process \(first)")
            let started = ContinuousClock.now
            do {
                try await backend.write { db in _ = try db.execute("SELECT 1", []) }
                Issue.record("\(base): a stopped server answered")
            } catch StoreError.unavailable(let detail) {
                #expect(detail.contains("did not answer within 2.0 s"), "\(base): \(detail)")
            } catch {
                Issue.record("\(base): \(error)")
            }
            let waited = ContinuousClock.now - started
            kill(pid_t(first), SIGCONT)
            #expect(waited >= .milliseconds(1900) && waited < .seconds(8), "\(base): waited \(waited)")
            let next = try await DatabaseWait.unbounded { try await backend.write { db in try db.queryOne(Self.pid, [])?.int64("pid") } }
            #expect(next != nil && next != first, "\(base): the stuck connection was used again")
            await backend.close()

            // A readiness check on a backend with no limit still waits at most `DatabaseWait.probeLimit`.
            let patient = try PostgresBackend(url: base + "answer_timeout=0", connections: 1)
            let idle = try #require(try await patient.read { db in try db.queryOne(Self.pid, [])?.int64("pid") })
            try #require(kill(pid_t(idle), SIGSTOP) == 0)
            let pinged = ContinuousClock.now
            let ready = await patient.ping()
            let pingWaited = ContinuousClock.now - pinged
            kill(pid_t(idle), SIGCONT)
            #expect(!ready, "\(base): a stopped server was reported ready")
            #expect(pingWaited < DatabaseWait.probeLimit + .seconds(3), "\(base): the readiness check waited \(pingWaited)")
            #expect(await Self.eventuallyReady(patient), "\(base): not ready once the server moved again")
            await patient.close()
        }
    }

    @Test("a server stopped before it answered COMMIT is reported as a transaction that may have committed, and it did")
    func stoppedAtCommit() async throws {
        guard let server = Self.server("a server stopped at COMMIT") else { return }
        let backend = try PostgresBackend(url: server + "?answer_timeout=2", connections: 1)
        let table = "answer_wait_\(UInt32.random(in: 0...UInt32.max))"
        try await DatabaseWait.unbounded { try await backend.write { db in _ = try db.execute("CREATE TABLE \(table) (id TEXT PRIMARY KEY)", []) } }
        let stopped = Mutex<pid_t?>(nil)
        do {
            try await backend.write { db in
                let pid = try #require(try db.queryOne(Self.pid, [])?.int64("pid"))
                _ = try db.execute("INSERT INTO \(table) (id) VALUES (?)", [.text("written")])
                // The insert is answered; the process stops before the COMMIT that follows is read.
                guard kill(pid_t(pid), SIGSTOP) == 0 else { throw StoreError.configuration("cannot stop PostgreSQL's process \(pid)") }
                stopped.withLock { $0 = pid_t(pid) }
            }
            Issue.record("a stopped server answered COMMIT")
        } catch StoreError.unavailable(let detail) {
            #expect(detail.contains("may have committed"), "\(detail)")
        }
        let pid = try #require(stopped.withLock { $0 })
        kill(pid, SIGCONT)
        // PostgreSQL reads the COMMIT it was sent (a cancel is not taken while it waits for a command).
        var rows: Int64 = 0
        for _ in 0..<50 {
            rows =
                try await DatabaseWait.unbounded {
                    try await backend.read { db in try db.queryOne("SELECT COUNT(*) AS n FROM \(table)", [])?.int64("n") }
                } ?? 0
            if rows == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(rows == 1, "the transaction reported as possibly committed did not commit")
        try await DatabaseWait.unbounded { try await backend.write { db in _ = try db.execute("DROP TABLE \(table)", []) } }
        await backend.close()
    }

    @Test("while PostgreSQL answers nothing at all, the work queued behind the sessions waiting for it fails as it reaches a thread")
    func frozenServer() async throws {
        guard let server = Self.server("a frozen server"), var through = URLComponents(string: server) else { return }
        // Everything between Yibao and PostgreSQL goes through a relay that can stop passing bytes on:
        // the connections open, the new ones the kernel accepts, and nothing answers.
        let proxy = try FreezableProxy(host: through.host ?? "127.0.0.1", port: through.port ?? 5432)
        defer { proxy.close() }
        through.host = "127.0.0.1"
        through.port = proxy.port
        let backend = try PostgresBackend(url: try #require(through.string) + "?answer_timeout=2", connections: 1)
        #expect(
            try await DatabaseWait.unbounded {
                try await backend.write { db in try db.queryOne("SELECT CAST(1 AS BIGINT) AS one", [])?.int64("one") }
            } == 1)
        proxy.freeze(true)
        let started = ContinuousClock.now
        let outcomes = await withTaskGroup(of: (unavailable: Bool, after: Duration).self) { group in
            for _ in 0..<12 {
                group.addTask {
                    do {
                        try await backend.write { db in _ = try db.execute("SELECT 1", []) }
                        return (false, ContinuousClock.now - started)
                    } catch StoreError.unavailable {
                        return (true, ContinuousClock.now - started)
                    } catch {
                        return (false, ContinuousClock.now - started)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        proxy.freeze(false)
        #expect(outcomes.count == 12 && outcomes.allSatisfy(\.unavailable), "\(outcomes)")
        // One session waits its two seconds, and its cancel a second more; the rest fail as they reach a
        // thread, not each after its turn and a connection's ten seconds.
        let last = outcomes.map(\.after).max() ?? .zero
        #expect(last < .seconds(8), "the last of the queued work failed after \(last)")
        #expect(
            try await DatabaseWait.unbounded {
                try await backend.write { db in try db.queryOne("SELECT CAST(1 AS BIGINT) AS one", [])?.int64("one") }
            } == 1)
        await backend.close()
    }

    @Test("a statement longer than answer_timeout is cancelled on the server, not left running; long work waits for its answer")
    func longStatement() async throws {
        guard let server = Self.server("a long statement") else { return }
        let backend = try PostgresBackend(url: server + "?answer_timeout=2", connections: 1)
        let observer = try PostgresBackend(url: server, connections: 1)
        let marker = "yibao_wait_\(UInt32.random(in: 0...UInt32.max))"
        // The connection is made first, with no limit (connecting on a busy machine takes its time).
        _ = try await DatabaseWait.unbounded { try await backend.write { db in try db.execute("SELECT 1", []) } }
        let started = ContinuousClock.now
        await #expect(throws: StoreError.self) {
            try await backend.write { db in _ = try db.execute("SELECT pg_sleep(30) AS \(marker)", []) }
        }
        #expect(ContinuousClock.now - started >= .milliseconds(1900), "the statement failed before its wait ran out")
        #expect(ContinuousClock.now - started < .seconds(8))
        // Cancelled, the statement ends within moments; PostgreSQL alone would notice the closed
        // connection only when its 30 s were over.
        var running: Int64 = -1
        for _ in 0..<50 {
            running =
                try await observer.read { db in
                    try db.queryOne(
                        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE query LIKE ? AND pid <> pg_backend_pid()", [.text("%\(marker)%")])?
                        .int64("n")
                } ?? -1
            if running == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(running == 0, "the statement still runs on the server after its wait ran out")
        // Long work has no limit: a statement longer than the wait answers.
        let slept = try await DatabaseWait.unbounded {
            try await backend.write { db in try db.queryOne("SELECT CAST(1 AS BIGINT) AS one FROM pg_sleep(2.5)", [])?.int64("one") }
        }
        #expect(slept == 1)
        await backend.close()
        await observer.close()
    }
}
