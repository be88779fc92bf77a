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
}
