import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOEmbedded
import NIOFoundationCompat
import NIOHTTPTypes
import Prometheus
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
            // Refused requests over more than a second, none finished: the wait given grows. The time
            // allowed is generous (CI runs every suite at once on two cores, so one request may wait
            // seconds for a core); the wait grows at the first refusal a second after the first one.
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
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

/// The admission door (`AdmissionDoor`): the same refusal given in the connection's pipeline, before the
/// request becomes a task.
@Suite("HTTP: admission at the door")
struct AdmissionDoorTests {
    typealias H = ServerHarness

    /// A channel with only the door in it, in front of an instance whose count is `inFlight` of `limit`.
    static func door(limit: Int, inFlight: Int = 0) throws -> (EmbeddedChannel, Admission) {
        let admission = Admission(limit: limit, metrics: PrometheusCollectorRegistry())
        for _ in 0..<inFlight { _ = admission.enter() }
        let channel = EmbeddedChannel(handler: AdmissionDoor(admission: admission))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return (channel, admission)
    }

    static func request(_ path: String, method: HTTPRequest.Method = .post, headers: HTTPFields = [:]) -> HTTPRequestPart {
        .head(HTTPRequest(method: method, scheme: "http", authority: "localhost", path: path, headerFields: headers))
    }

    /// The parts the door wrote back, in order.
    static func written(_ channel: EmbeddedChannel) throws -> [HTTPResponsePart] {
        var parts: [HTTPResponsePart] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) { parts.append(part) }
        return parts
    }

    /// The parts the door passed on to the application, in order.
    static func passed(_ channel: EmbeddedChannel) throws -> [HTTPRequestPart] {
        var parts: [HTTPRequestPart] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) { parts.append(part) }
        return parts
    }

    @Test(
        "while the instance is full a request is answered at the door — 503 overloaded, Retry-After, its length — its body dropped, and the next request on the connection read as usual"
    )
    func fullInstanceRefusesAtTheDoor() throws {
        let (channel, admission) = try Self.door(limit: 2, inFlight: 2)
        try channel.writeInbound(Self.request("/v1/settlements"))
        let answer = try Self.written(channel)
        #expect(answer.count == 3)
        guard case .head(let head) = answer.first, case .body(let body) = answer.dropFirst().first, case .end = answer.last else {
            Issue.record("not a whole answer: \(answer)")
            return
        }
        #expect(head.status == .serviceUnavailable)
        #expect(head.headerFields[.retryAfter] == "1")
        #expect(head.headerFields[.contentLength] == String(body.readableBytes))
        let requestID = try #require(head.headerFields[.requestID])
        let document = try YibaoJSON.decoder().decode(ProblemDocument.self, from: Data(buffer: body))
        #expect(document.code == "overloaded" && document.status == 503 && document.requestId == requestID)
        // The refused request's body and end go nowhere; the connection stays open.
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: #"{"code":"x"}"#)))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        #expect(try Self.passed(channel).isEmpty)
        #expect(channel.isActive)
        // Once there is room, the next request on the same connection goes to the application whole.
        admission.leave(admitted: true)
        try channel.writeInbound(Self.request("/v1/settlements"))
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "{}")))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        let passed = try Self.passed(channel)
        #expect(passed.count == 3)
        if case .head(let request) = passed.first { #expect(request.path == "/v1/settlements") } else { Issue.record("\(passed)") }
        #expect(try Self.written(channel).isEmpty)
        _ = try channel.finish()
    }

    @Test("with room, health and metrics always, and a request pipelined behind one still in the application: passed on, not answered at the door")
    func passesWhatItMust() throws {
        let (open, _) = try Self.door(limit: 2, inFlight: 1)
        try open.writeInbound(Self.request("/v1/settlements"))
        #expect(try Self.passed(open).count == 1)
        #expect(try Self.written(open).isEmpty)
        _ = try open.finish()

        let (full, _) = try Self.door(limit: 0)
        for path in ["/health", "/health/ready", "/metrics"] {
            try full.writeInbound(Self.request(path, method: .get))
            #expect(try Self.passed(full).count == 1, "\(path)")
            try full.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try full.writeOutbound(HTTPResponsePart.end(nil))
            _ = try Self.written(full)
        }
        // A request passed on (health) is still in the application: one pipelined behind it is passed
        // on too, whatever the count (its answer must follow the first one's); once the first is
        // answered, the next is refused at the door.
        try full.writeInbound(Self.request("/health", method: .get))
        try full.writeInbound(Self.request("/v1/settlements"))
        #expect(try Self.passed(full).count == 2)
        try full.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try full.writeOutbound(HTTPResponsePart.end(nil))
        try full.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .created)))
        try full.writeOutbound(HTTPResponsePart.end(nil))
        _ = try Self.written(full)
        try full.writeInbound(Self.request("/v1/settlements"))
        #expect(try Self.passed(full).isEmpty)
        guard case .head(let refused) = try Self.written(full).first else {
            Issue.record("not refused at the door")
            return
        }
        #expect(refused.status == .serviceUnavailable)
        _ = try full.finish()
    }

    @Test("at the door the national interface gets its envelope, and Connection: close is honoured")
    func nationalEnvelopeAndClose() throws {
        let (channel, _) = try Self.door(limit: 0)
        #expect(channel.isActive)
        try channel.writeInbound(Self.request("/fsi/api/2201", headers: [.connection: "close"]))
        let answer = try Self.written(channel)
        guard case .head(let head) = answer.first, case .body(let body) = answer.dropFirst().first else {
            Issue.record("\(answer)")
            return
        }
        #expect(head.status == .ok)
        #expect(head.headerFields[.connection] == "close")
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])
        #expect(envelope["infcode"] as? Int == -1)
        #expect((envelope["err_msg"] as? String)?.contains("系统繁忙") == true)
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }

    @Test("at the door HEAD gets the head without a body, and a request that expects 100-continue is answered and its connection closed")
    func headAndExpectContinue() throws {
        let (head, _) = try Self.door(limit: 0)
        try head.writeInbound(Self.request("/v1/patient/wallet", method: .head))
        let answer = try Self.written(head)
        #expect(answer.count == 2, "\(answer)")
        guard case .head(let response) = answer.first, case .end = answer.last else {
            Issue.record("\(answer)")
            return
        }
        #expect(response.status == .serviceUnavailable && Int(response.headerFields[.contentLength] ?? "0") ?? 0 > 0)
        #expect(head.isActive)
        _ = try head.finish()

        let (expecting, _) = try Self.door(limit: 0)
        try expecting.writeInbound(Self.request("/v1/settlements", headers: [.expect: "100-continue", .contentLength: "20"]))
        guard case .head(let refused) = try Self.written(expecting).first else {
            Issue.record("not refused")
            return
        }
        #expect(refused.status == .serviceUnavailable && refused.headerFields[.connection] == "close")
        expecting.embeddedEventLoop.run()
        #expect(!expecting.isActive)
    }

    @Test("over a socket at the limit: refused at the door (the server's pipeline), the document whole, the connection kept, nothing written")
    func refusedOverASocket() async throws {
        try await H.withApp(maxInFlight: 0, live: true) { client, harness in
            let before = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            for index in 0..<3 {
                let response = try await client.send(
                    .post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "DOOR\(index)", lines: Body.line(code: "XD00000000001")))
                #expect(response.status == .serviceUnavailable)
                #expect(response.problem?.code == "overloaded")
                #expect(response.headers[.retryAfter] != nil)
                // Only the door names the server: the test application has no server name.
                #expect(response.headers[.server] == "yibao")
            }
            #expect(try await client.send(.get, "/health").status == .ok)
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.text.contains("yibao_requests_refused_overloaded_total 3"), "\(metrics.text)")
            let after = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            #expect(after == before)
        }
    }
}
