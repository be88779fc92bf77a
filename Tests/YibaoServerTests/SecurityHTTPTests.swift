import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

@Suite("HTTP: security")
struct SecurityHTTPTests {
    typealias H = ServerHarness
    static let keyID = "Kdemo-H44010000004"
    static let secret = DemoData.institutionSecret

    @Test("signed institution requests: valid accepted; tampered, replayed, stale and wrongly-keyed refused; bearer refused")
    func signedRequests() async throws {
        try await H.withApp(allowBearer: false) { client, harness in
            let now = harness.clock.now().secondsSinceEpoch
            let body = Body.visit(number: "SIG1", lines: Body.line())
            let valid = try await client.sendSigned(
                .post, "/v1/visits", keyID: Self.keyID, secret: Self.secret, json: body, timestamp: now, nonce: "nonce-0000000000001")
            #expect(valid.status == .created, "\(valid.text)")
            // The same request again: its nonce was seen.
            let replayed = try await client.sendSigned(
                .post, "/v1/visits", keyID: Self.keyID, secret: Self.secret, json: body, timestamp: now, nonce: "nonce-0000000000001")
            #expect(replayed.problem?.code == "signature_replayed")
            // Tampered: signed one body, sent another.
            let tampered = try await client.sendSigned(
                .post, "/v1/visits", keyID: Self.keyID, secret: Self.secret, json: body, timestamp: now, nonce: "nonce-0000000000002",
                bodyOverride: body.replacingOccurrences(of: "1280", with: "1")
            )
            #expect(tampered.problem?.code == "signature_invalid" && tampered.status == .unauthorized)
            // Stale: six minutes old.
            let stale = try await client.sendSigned(
                .post, "/v1/visits", keyID: Self.keyID, secret: Self.secret, json: body, timestamp: now - 360, nonce: "nonce-0000000000003")
            #expect(stale.problem?.code == "signature_stale")
            // Wrong key: another institution's secret under this key id, and an unknown key id.
            let wrong = try await client.sendSigned(
                .post, "/v1/visits", keyID: Self.keyID, secret: "not-the-secret", json: body, timestamp: now, nonce: "nonce-0000000000004")
            #expect(wrong.problem?.code == "signature_invalid")
            let unknown = try await client.sendSigned(
                .post, "/v1/visits", keyID: "K-nobody", secret: Self.secret, json: body, timestamp: now, nonce: "nonce-0000000000005")
            #expect(unknown.problem?.code == "signature_invalid")
            // Correctly signed for its own path: authenticated, then no such visit.
            let own = try await client.sendSigned(
                .get, "/v1/visits/V1", keyID: Self.keyID, secret: Self.secret, timestamp: now, nonce: "nonce-0000000000006",
                extra: [:])
            #expect(own.status == .notFound)
            // A signature made for one path, sent to another: refused, not authenticated.
            let signedFor = RequestSignature.authorization(
                keyID: Self.keyID, secret: Self.secret, method: "GET", pathAndQuery: "/v1/visits/V1", timestamp: now, nonce: "nonce-0000000000007",
                body: Data())
            let moved = try await client.execute(uri: "/v1/webhooks", method: .get, headers: [.authorization: signedFor]) { $0 }
            #expect(moved.status == .unauthorized && moved.problem?.code == "signature_invalid", "\(moved.text)")
            // Bearer keys are refused in this deployment.
            let bearer = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: body, bearer: true)
            #expect(bearer.status == .unauthorized)
            // The nonces of refused requests were not burned: a valid request may use nonce 2.
            let later = try await client.sendSigned(
                .post, "/v1/visits", keyID: Self.keyID, secret: Self.secret, json: Body.visit(number: "SIG2", lines: Body.line()), timestamp: now,
                nonce: "nonce-0000000000002"
            )
            #expect(later.status == .created)
        }
    }

    @Test("sign-in: wrong passwords lock the account with back-off; 429 with Retry-After")
    func signInLockout() async throws {
        try await H.withApp { client, harness in
            _ = try await PatientFlow.signUp(client, harness, bindCard: false)
            var statuses: [Int] = []
            var retryAfter: String?
            for _ in 0..<6 {
                let response = try await client.send(
                    .post, "/v1/patient/sessions", json: #"{"phone":"\#(PatientFlow.phone)","password":"wrong-password-1","totp_code":"000000"}"#
                )
                statuses.append(response.status.code)
                retryAfter = response.headers[.retryAfter] ?? retryAfter
            }
            #expect(statuses.prefix(4).allSatisfy { $0 == 401 })
            #expect(statuses[4] == 429 && statuses[5] == 429)
            #expect(retryAfter.flatMap(Int.init) ?? 0 >= 59)
            // Even the right password waits for the lock to end.
            harness.clock.advance(seconds: 30)
            let locked = try await client.send(
                .post, "/v1/patient/sessions",
                json: #"{"phone":"\#(PatientFlow.phone)","password":"\#(PatientFlow.password)","totp_code":"\#(PatientFlow.totp("x", harness))"}"#
            )
            #expect(locked.status == .tooManyRequests)
        }
    }

    @Test("after a whole scenario, the logs hold no demo ID number, phone number or name; the database holds none in plaintext")
    func noPersonalDataInLogsOrDatabase() async throws {
        let captured = LogCapture()
        var logger = Logger(label: "yibao-test") { _ in captured }
        logger.logLevel = .trace
        try await H.withApp(logger: logger) { client, harness in
            // A scenario touching every area: registration, sign-in, devices, cards, one-code settlement, refusals, admin reads.
            let phone = try await PatientFlow.signUp(client, harness)
            let settled = try await client.send(
                .post, "/v1/settlements", token: H.hospitalToken, json: OneCodeHTTPTests.settlement(code: phone.code(harness), visit: "LOG1"),
                headers: OneCodeHTTPTests.key("log-1")
            )
            #expect(settled.status == .created)
            _ = try await client.send(
                .post, "/v1/settlements", token: H.hospitalToken, json: OneCodeHTTPTests.settlement(code: phone.code(harness), visit: "LOG2"),
                headers: OneCodeHTTPTests.key("log-2"))
            _ = try await client.send(.get, "/v1/admin/people/P440100000001", token: H.adminToken)
            _ = try await client.send(.get, "/v1/sandbox/messages?phone=13800100001", token: H.adminToken)
            _ = try await client.send(.post, "/v1/patient/sessions", json: #"{"phone":"13800100002","password":"nope-nope-1","totp_code":"1"}"#)
            _ = try await client.send(
                .post, "/v1/patient/registration/sms", json: #"{"id_number":"440106199007251029","person_number":"P0","phone":"13800100002"}"#)
            _ = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken, json: Body.visit(person: "P440100000002", number: "LOG3", lines: Body.line(code: "NOPE"))
            )

            let people = try ReferenceFiles.people(try DemoData.file("people.csv")).items.map(\.person)
            let secrets = people.flatMap { [$0.idNumber, $0.phone ?? "-", $0.name] }
            let lines = captured.lines()
            #expect(lines.count >= 12, "every request is logged")
            for secret in secrets {
                #expect(!lines.contains { $0.contains(secret) }, "a log line contains personal data")
            }
            // Every table, every row: no plaintext ID number, phone or name.
            let tables = try await harness.platform.backend.read { db in
                try db.query("SELECT name FROM sqlite_master WHERE type = 'table'", []).map { try $0.string("name") }
            }
            var dump = ""
            for table in tables {
                let rows = try await harness.platform.backend.read { db in try db.query("SELECT * FROM \(table)", []) }
                for row in rows { dump += row.values.map { "\($0)" }.joined(separator: "|") + "\n" }
            }
            #expect(dump.count > 10_000)
            for secret in secrets {
                #expect(!dump.contains(secret), "the database holds personal data in plaintext")
            }
        }
    }
}

/// Collects every log line of a scenario (message and metadata).
final class LogCapture: LogHandler, @unchecked Sendable {
    private let storage = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        storage.withLock { $0.append("\(event.level) \(event.message) \(all)") }
    }

    func lines() -> [String] { storage.withLock { $0 } }
}
