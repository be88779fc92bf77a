import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer
import YibaoStore

/// Admission control: beyond the requests in flight an instance takes, a request is answered at once
/// with 503 `overloaded` and `Retry-After`, and nothing is done for it.
@Suite("HTTP: admission control")
struct AdmissionHTTPTests {
    typealias H = ServerHarness

    @Test("at the limit every request is refused with 503 overloaded and Retry-After; health is still answered")
    func refusedAtTheLimit() async throws {
        try await H.withApp(maxInFlight: 0) { client, harness in
            let visitsBefore = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            let opened = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "ADM1", lines: Body.line(code: "XD00000000001")))
            #expect(opened.status == .serviceUnavailable)
            #expect(opened.problem?.code == "overloaded")
            #expect(opened.headers[.retryAfter] == "1")
            #expect(try await client.send(.get, "/health").status == .ok)
            let visitsAfter = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            #expect(visitsAfter == visitsBefore)
        }
    }

    @Test("40 requests at once against a limit of 2: each is either answered or refused as overloaded, some of both, nothing else")
    func concurrentAgainstTheLimit() async throws {
        try await H.withApp(maxInFlight: 2) { client, _ in
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, String?).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let response = try await client.send(
                            .post, "/v1/visits", token: H.hospitalToken,
                            json: Body.visit(number: "ADM-C\(index)", lines: Body.line(code: "XD00000000001")))
                        return (response.status, response.problem?.code, response.headers[.retryAfter])
                    }
                }
                var all: [(HTTPResponse.Status, String?, String?)] = []
                for try await result in group { all.append(result) }
                return all
            }
            let created = statuses.filter { $0.0 == .created }
            let refused = statuses.filter { $0.0 == .serviceUnavailable }
            #expect(created.count + refused.count == 40, "\(statuses.map(\.0.code))")
            #expect(created.count >= 2)
            #expect(!refused.isEmpty)
            #expect(refused.allSatisfy { $0.1 == "overloaded" && $0.2 == "1" })
        }
    }
}
