import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOFoundationCompat
import Testing
import YibaoApp
import YibaoCore
import YibaoStore

@testable import YibaoServer

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
            // The refusal is counted where an operator watches (metrics are admitted at the limit too).
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.text.contains("yibao_requests_refused_overloaded_total 1"), "\(metrics.text)")
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

    @Test("on the national interface the refusal is an envelope with HTTP 200, infcode -1, a message saying when to retry, and Retry-After")
    func nationalRefusalIsAnEnvelope() async throws {
        try await H.withApp(maxInFlight: 0) { client, harness in
            let before = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            let response = try await client.execute(
                uri: "/fsi/api/2201", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"infno":"2201","msgid":"OVERLOAD1","fixmedins_code":"\#(H.hospital)","input":{}}"#)
            ) { $0 }
            #expect(response.status == .ok)
            #expect(response.headers[.retryAfter] == "1")
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            #expect(envelope["infcode"] as? Int == -1)
            #expect((envelope["err_msg"] as? String)?.contains("系统繁忙") == true, "\(envelope)")
            #expect((envelope["err_msg"] as? String)?.contains("1 秒后重试") == true)
            #expect(envelope["output"] as? [String: Any] != nil)
            let after = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            #expect(after == before)
        }
    }

    @Test("the refusal's document, encoded once, is what the encoder makes for the answer's request id")
    func refusalBodyIsTheEncodedDocument() async throws {
        try await H.withApp(maxInFlight: 0) { client, _ in
            let response = try await client.send(.get, "/v1/patient/wallet")
            let requestID = try #require(response.headers[.requestID])
            let expected = ProblemDocument(
                type: "https://yibao.dev/problems/overloaded", title: "Overloaded", status: 503,
                detail: "this instance is at capacity; retry after the time in Retry-After", code: "overloaded", number: 901, field: nil,
                references: nil, requestId: requestID)
            #expect(response.text == String(decoding: try YibaoJSON.encode(expected), as: UTF8.self))
        }
    }

    @Test(
        "Retry-After: 1 s at a brief peak; doubled (or refused ÷ finished) each second that refused more than it finished, at most 30 s; halved when it refused fewer; 1 s after a second with none or a gap"
    )
    func retryAfterFollowsTheLastSecond() {
        var wait = RetryAfter()
        let start = ContinuousClock.now
        func at(_ milliseconds: Int) -> ContinuousClock.Instant { start.advanced(by: .milliseconds(milliseconds)) }
        /// One second from `from` ms: `finished` requests finished and `refused` refused (the first refusal
        /// at `from`, whose answer is returned).
        func second(from: Int, finished: Int, refused: Int) -> Int {
            let first = wait.refused(at: at(from))
            for index in 0..<finished { wait.finished(at: at(from + 1 + index % 900)) }
            for index in 1..<max(refused, 1) { _ = wait.refused(at: at(from + 1 + index % 900)) }
            return first
        }
        // The first second: nothing known yet, 1 s for everyone.
        #expect(second(from: 0, finished: 100, refused: 150) == 1)
        // It refused more than it finished: doubled → 2 s.
        #expect(second(from: 1_000, finished: 100, refused: 700) == 2)
        // Refused 7 × finished: the ratio, longer than doubling → 7 s.
        #expect(second(from: 2_000, finished: 100, refused: 150) == 7)
        // 150 over 100 again: doubled → 14 s.
        #expect(second(from: 3_000, finished: 0, refused: 5_000) == 14)
        // Nothing finished and thousands refused (a stalled database): the longest wait, not more.
        #expect(second(from: 4_000, finished: 100, refused: 50) == RetryAfter.longest)
        // Fewer refused than finished: halved.
        #expect(second(from: 5_000, finished: 100, refused: 1) == RetryAfter.longest / 2)
        // A second with one refusal (the one counted here) out of 100: halved again.
        #expect(wait.refused(at: at(6_000)) == RetryAfter.longest / 4)
        // A quiet gap of more than a second: what came before says nothing, 1 s.
        for index in 0..<50 { _ = wait.refused(at: at(6_001 + index)) }
        #expect(wait.refused(at: at(9_000)) == 1)
        // Seconds with a refusal but more finished, from 1 s: it stays 1 s.
        for index in 0..<10 { wait.finished(at: at(9_001 + index)) }
        #expect(second(from: 10_000, finished: 10, refused: 1) == 1)
        #expect(wait.refused(at: at(11_000)) == 1)
    }

    @Test("under sustained refusals the answer's Retry-After grows past 1 s")
    func retryAfterGrowsUnderSustainedRefusals() async throws {
        try await H.withApp(maxInFlight: 0) { client, _ in
            var last = ""
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            // Refused requests over more than a second, none finished: the wait given grows.
            while ContinuousClock.now < deadline {
                let response = try await client.send(.get, "/v1/patient/wallet")
                #expect(response.status == .serviceUnavailable)
                last = response.headers[.retryAfter] ?? ""
                if last != "1" { break }
            }
            #expect(Int(last) ?? 0 > 1, "Retry-After stayed \(last)")
        }
    }
}
