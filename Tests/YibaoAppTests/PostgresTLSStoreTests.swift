import Foundation
import Testing
import YibaoTestSupport

@testable import YibaoStore

#if canImport(Glibc)
import Glibc
#endif

/// Connections to PostgreSQL encrypted as the database URL's `sslmode` and `sslrootcert` say (libpq's
/// names): on the store's own pipelining connections and on postgres-nio's (`?pipeline=off`), against
/// the private cluster `scripts/postgres` starts with TLS (`YIBAO_TEST_POSTGRES_CA` names its
/// authority), and against a stand-in server that declines TLS.
@Suite("Store contract: TLS to PostgreSQL")
struct PostgresTLSStoreTests {
    /// 1 when this connection is encrypted.
    static let onTLS = "SELECT CAST(CASE WHEN ssl THEN 1 ELSE 0 END AS BIGINT) AS on_tls FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

    @Test("sslmode and sslrootcert are read as libpq reads them; an unknown mode or an unreadable file is refused")
    func parsing() throws {
        func tls(_ query: String) throws -> PostgresTLS {
            try PostgresTLS(query: URLComponents(string: "postgres://u@h/d" + query)!.queryItems ?? [])
        }
        #expect(try tls("").mode == .disable)
        #expect(try tls("?prepared=off").asks == false)
        #expect(try tls("?sslmode=prefer").asks && !tls("?sslmode=prefer").insists)
        for mode in ["require", "verify-ca", "verify-full"] { #expect(try tls("?sslmode=\(mode)").insists, "\(mode)") }
        #expect(try tls("?sslmode=require").checks == (false, false))
        #expect(try tls("?sslmode=verify-full").checks == (true, true))
        #expect(try tls("?sslmode=verify-ca").checks == (true, false))
        // As in libpq, `require` with an authority named checks the certificate against it.
        let authority = FileManager.default.temporaryDirectory.appendingPathComponent("yibao-tls-\(UInt32.random(in: 0...UInt32.max)).crt")
        try Data("not read here".utf8).write(to: authority)
        defer { try? FileManager.default.removeItem(at: authority) }
        #expect(try tls("?sslmode=require&sslrootcert=\(authority.path)").checks == (true, false))
        #expect(PostgresTLS.serverName("db.example.org") == "db.example.org")
        #expect(PostgresTLS.serverName("127.0.0.1") == nil && PostgresTLS.serverName("::1") == nil)

        for refused in ["?sslmode=on", "?sslmode=VERIFY-FULL", "?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt"] {
            #expect(throws: StoreError.self, "\(refused)") { try tls(refused) }
            #expect(throws: StoreError.self, "\(refused)") { try PostgresBackend(url: "postgres://u:p@127.0.0.1:1/d" + refused, connections: 1) }
        }
    }

    @Test("a server that declines TLS is refused under require, and spoken to in plain under prefer")
    func declined() throws {
        for (mode, refusedForTLS) in [("require", true), ("verify-full", true), ("prefer", false)] {
            let server = try DecliningServer()
            let tls = try PostgresTLS(query: [URLQueryItem(name: "sslmode", value: mode)])
            do {
                _ = try WireConnection.connect(
                    host: "127.0.0.1", port: server.port, user: "u", password: nil, database: nil, prepare: true, tls: tls)
                Issue.record("\(mode): connected to a server that speaks no PostgreSQL")
            } catch let error as WireConnection.ConnectionError {
                #expect(error.description.contains("does not offer TLS") == refusedForTLS, "\(mode): \(error)")
            }
            // Under prefer the startup message came next, in plain: its protocol version is 3.0.
            #expect(server.finish() == (refusedForTLS ? nil : 196_608), "\(mode)")
        }
    }

    @Test("verify-full against the cluster's authority encrypts every connection; an untrusted certificate is refused")
    func encrypted() async throws {
        // The server's address without the run's own parameters (a run may itself be on TLS).
        guard let url = (BackendKind.postgresURL ?? (TestRecord.postgresRequired ? "" : nil)).map({ String($0.prefix { $0 != "?" }) }) else {
            TestRecord.note("skipped", "TLS to PostgreSQL: YIBAO_TEST_POSTGRES_URL is not set")
            return
        }
        guard let authority = ProcessInfo.processInfo.environment["YIBAO_TEST_POSTGRES_CA"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            if ProcessInfo.processInfo.environment["YIBAO_REQUIRE_POSTGRES_TLS"] == "1" {
                Issue.record("YIBAO_TEST_POSTGRES_CA is not set: scripts/postgres starts the cluster with TLS when openssl is installed")
            } else {
                TestRecord.note("skipped", "TLS to PostgreSQL: YIBAO_TEST_POSTGRES_CA is not set (openssl not installed)")
            }
            return
        }
        let verified = "?sslmode=verify-full&sslrootcert=" + authority
        for (suffix, encrypted) in [(verified, 1), (verified + "&pipeline=off", 1), ("", 0), ("?pipeline=off", 0), ("?sslmode=require", 1)] {
            let backend = try PostgresBackend(url: url + suffix, connections: 2)
            do {
                let written = try await backend.write { db in try db.queryOne(Self.onTLS, [])?.int64("on_tls") }
                let read = try await backend.read { db in try db.queryOne(Self.onTLS, [])?.int64("on_tls") }
                #expect(written == Int64(encrypted) && read == Int64(encrypted), "\(suffix)")
            } catch {
                Issue.record("\(suffix): \(error)")
            }
            await backend.close()
        }
        // A TLS connection PostgreSQL ends under a transaction fails it as unavailable, and the next
        // transaction gets a new encrypted connection (the pipelining client; the end comes through NIO).
        let killed = try PostgresBackend(url: url + verified, connections: 1)
        do {
            await #expect(throws: StoreError.self) {
                try await killed.write { db in _ = try db.query("SELECT pg_terminate_backend(pg_backend_pid())", []) }
            }
            let again = try await killed.write { db in try db.queryOne(Self.onTLS, [])?.int64("on_tls") }
            #expect(again == 1)
        } catch {
            Issue.record("a connection ended under TLS: \(error)")
        }
        await killed.close()
        // The cluster's certificate is signed by an authority the system does not trust.
        let untrusted = try PostgresBackend(url: url + "?sslmode=verify-full", connections: 1)
        do {
            _ = try await untrusted.write { db in try db.execute("SELECT 1", []) }
            Issue.record("verify-full trusted a certificate no trusted authority signed")
        } catch StoreError.unavailable(let detail) {
            #expect(detail.contains("CERTIFICATE_VERIFY_FAILED"), "\(detail)")
        }
        await untrusted.close()
        // postgres-nio's pool goes on retrying a connection it cannot make; a transaction waits for it at
        // most the lease timeout and fails as unavailable (an instance hung at start before).
        let patient = try PostgresBackend(url: url + "?sslmode=verify-full&pipeline=off", connections: 1, leaseTimeout: .milliseconds(600))
        let started = ContinuousClock.now
        await #expect(throws: StoreError.unavailable("no connection to PostgreSQL within 0.6 seconds (see the log for why)")) {
            try await patient.write { db in try db.execute("SELECT 1", []) }
        }
        #expect(ContinuousClock.now - started < .seconds(30), "the lease timeout did not end the wait")
        await patient.close()
    }

    @Test("on the store's own connections, a host that does not answer is given up after the connect timeout, not TCP's two minutes")
    func silentHost() throws {
        // A listener whose queue is full and that never accepts: the kernel drops the next handshakes,
        // as a host that is down or cut off does.
        let (listener, port) = try loopbackSocket()
        defer { close(listener) }
        try #require(listen(listener, 0) == 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let fillers = (0..<4).map { _ in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            return fd
        }
        defer { for filler in fillers { close(filler) } }
        Thread.sleep(forTimeInterval: 0.2)
        let started = ContinuousClock.now
        #expect(throws: WireConnection.ConnectionError.self) {
            _ = try WireConnection.connect(
                host: "127.0.0.1", port: port, user: "yibao", password: nil, database: nil, prepare: false, connectTimeout: 400)
        }
        #expect(ContinuousClock.now - started < .seconds(10), "the connection attempt was not given up: \(ContinuousClock.now - started)")
    }

    @Test("on postgres-nio's connections, a database nobody answers for fails the transaction as unavailable instead of waiting for ever")
    func unreachable() async throws {
        // A port nothing listens on: one the kernel gave a socket that is closed again.
        let (probe, port) = try loopbackSocket()
        close(probe)
        let backend = try PostgresBackend(
            url: "postgres://yibao:yibao@127.0.0.1:\(port)/yibao?pipeline=off", connections: 2, leaseTimeout: .milliseconds(300))
        for _ in 0..<2 {
            await #expect(throws: StoreError.self) { try await backend.read { db in try db.execute("SELECT 1", []) } }
            await #expect(throws: StoreError.self) { try await backend.write { db in try db.execute("SELECT 1", []) } }
        }
        await backend.close()
    }
}

/// A stand-in PostgreSQL on 127.0.0.1 that answers the TLS request with `N`, then reads the startup
/// message that may follow and closes.
private final class DecliningServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)
    private var startupVersion: Int32?

    init() throws {
        let (listener, port) = try loopbackSocket()
        guard listen(listener, 1) == 0 else { throw WireConnection.ConnectionError(description: "the stand-in server did not start") }
        self.listener = listener
        self.port = port
        Thread.detachNewThread { self.serve() }
    }

    private func serve() {
        defer { done.signal() }
        let client = accept(listener, nil, nil)
        guard client >= 0 else { return }
        defer { close(client) }
        var request = [UInt8](repeating: 0, count: 8)
        guard recv(client, &request, 8, Int32(MSG_WAITALL)) == 8, request[4...] == [4, 210, 22, 47] else { return }
        var no = UInt8(ascii: "N")
        _ = send(client, &no, 1, Int32(MSG_NOSIGNAL))
        var startup = [UInt8](repeating: 0, count: 8)
        if recv(client, &startup, 8, Int32(MSG_WAITALL)) == 8 {
            startupVersion = Int32(startup[4]) << 24 | Int32(startup[5]) << 16 | Int32(startup[6]) << 8 | Int32(startup[7])
        }
    }

    /// The startup message's protocol version, if one came; the server is closed.
    func finish() -> Int32? {
        done.wait()
        close(listener)
        return startupVersion
    }
}
