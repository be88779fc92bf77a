import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoStore
import YibaoTestSupport

/// What a hospital and a load balancer see while PostgreSQL is there but answers nothing: requests
/// answered 503 with Retry-After within the database URL's `answer_timeout`, `/ready` failing within
/// its own short wait, `/metrics` still answered; and once it answers again, the settlement retried with
/// its Idempotency-Key is made once.
@Suite("HTTP: a database that does not answer")
struct DatabaseWaitHTTPTests {
    typealias H = ServerHarness

    @Test("while PostgreSQL answers nothing, a settlement is answered 503 with Retry-After in time; the retry after settles once")
    func frozenDatabase() async throws {
        guard let server = ProcessInfo.processInfo.environment["YIBAO_TEST_POSTGRES_URL"].flatMap({ $0.isEmpty ? nil : $0 }),
            let address = URLComponents(string: server)
        else {
            #expect(!TestRecord.postgresRequired, "YIBAO_REQUIRE_POSTGRES=1 but YIBAO_TEST_POSTGRES_URL is not set")
            TestRecord.note("skipped", "HTTP with a database that does not answer: YIBAO_TEST_POSTGRES_URL is not set")
            return
        }
        let relay = try FreezableProxy(host: address.host ?? "127.0.0.1", port: address.port ?? 5432)
        defer { relay.close() }
        let port = relay.port
        try await H.withApp(
            postgres: true,
            postgresURL: { url in
                var through = try #require(URLComponents(string: url))
                through.host = "127.0.0.1"
                through.port = port
                through.query = "answer_timeout=5"
                return try #require(through.string)
            }
        ) { client, harness in
            let opened = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "STUCK1", lines: Body.line()))
            #expect(opened.status == .created)
            let visit = try opened.decode(Visit.self)
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "settle-STUCK1"]

            relay.freeze(true)
            var started = ContinuousClock.now
            let refused = try await client.send(
                .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, json: #"{"use_account":true}"#, headers: key)
            let refusedAfter = ContinuousClock.now - started
            #expect(refused.status == .serviceUnavailable && refused.object["code"] as? String == "unavailable", "\(refused.status) \(refused.text)")
            #expect(refused.headers[.retryAfter] != nil)
            #expect(refusedAfter < .seconds(12), "the settlement was answered after \(refusedAfter)")
            started = ContinuousClock.now
            let ready = try await client.send(.get, "/ready")
            #expect(ready.status == .serviceUnavailable)
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.status == .ok)
            let probesAfter = ContinuousClock.now - started
            #expect(probesAfter < .seconds(12), "/ready and /metrics were answered after \(probesAfter)")
            relay.freeze(false)

            #expect(try await client.send(.get, "/ready").status == .ok)
            try await Self.settlesOnce(visit, key: key, client, harness)
        }
    }

    @Test("while SQLite's writer is stuck, a settlement is answered 503 with Retry-After in time and /ready fails; the retry after settles once")
    func stuckWriter() async throws {
        try await H.withApp(writeWait: .seconds(2)) { client, harness in
            let opened = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "STUCK2", lines: Body.line()))
            #expect(opened.status == .created)
            let visit = try opened.decode(Visit.self)
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "settle-STUCK2"]

            // A write that holds the writer, as a disk that stops answering would.
            let writer = WriterHold()
            let held = Task { try? await harness.backend.write { _ in writer.hold() } }
            #expect(try await writer.untilHeld())
            let holding = ContinuousClock.now

            let started = ContinuousClock.now
            let refused = try await client.send(
                .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, json: #"{"use_account":true}"#, headers: key)
            let refusedAfter = ContinuousClock.now - started
            #expect(refused.status == .serviceUnavailable && refused.object["code"] as? String == "unavailable", "\(refused.status) \(refused.text)")
            #expect(refused.headers[.retryAfter] != nil)
            #expect(refusedAfter < .seconds(8), "the settlement was answered after \(refusedAfter)")
            // Reads go on beside a stuck writer (an operator's; a hospital's signed request records its nonce,
            // a write, so it waits for the writer too); readiness says writes cannot.
            let read = try await client.send(.get, "/v1/admin/exceptions", token: H.adminToken)
            #expect(read.status == .ok, "\(read.status) \(read.text)")
            try await Task.sleep(until: holding + DatabaseWait.probeLimit + .milliseconds(300))
            #expect(try await client.send(.get, "/ready").status == .serviceUnavailable)

            writer.release()
            await held.value
            // Its caller was answered at the limit; the writer is free once a write goes through again.
            try await DatabaseWait.unbounded { try await harness.backend.write { _ in } }
            #expect(try await client.send(.get, "/ready").status == .ok)
            try await Self.settlesOnce(visit, key: key, client, harness)
        }
    }

    /// Once the database answers again, the settlement sent again with its key is made, its repeat answers
    /// the same bytes, and the ledger balances.
    static func settlesOnce(_ visit: Visit, key: HTTPFields, _ client: any TestClientProtocol, _ harness: ServerHarness) async throws {
        let settled = try await client.send(
            .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, json: #"{"use_account":true}"#, headers: key)
        #expect(settled.status == .created, "\(settled.text)")
        let again = try await client.send(
            .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, json: #"{"use_account":true}"#, headers: key)
        #expect(again.text == settled.text)
        let record = try settled.decode(SettlementRecord.self)
        #expect(record.breakdown.pooledFund + record.breakdown.accountPaid + record.breakdown.cashPaid == visit.total)
        #expect(try await harness.platform.verifyLedger().passed)
    }
}
