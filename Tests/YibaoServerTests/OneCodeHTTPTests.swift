import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore
import YibaoTestSupport

@Suite("HTTP: one-code payment")
struct OneCodeHTTPTests {
    typealias H = ServerHarness

    static func settlement(code: String, visit: String) -> String {
        #"{"code":"\#(code)","category":"11","hospital_visit_number":"\#(visit)","lines":[\#(Body.line("1", code: "XD00000000003", price: 2850, quantity: "2")),\#(Body.line("2", code: "S000000000061", price: 1000, quantity: "1"))]}"#
    }

    static func key(_ value: String) -> HTTPFields { [HTTPField.Name("Idempotency-Key")!: value] }

    @Test("register → sign in with the second factor → enrol a device → code made offline → the hospital settles → receipt")
    func endToEnd() async throws {
        try await H.withApp { client, harness in
            // setup: the patient's phone
            let phone = try await PatientFlow.signUp(client, harness)
            let cardBefore = try #require(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance)
            // act: the cashier scans the code the phone made offline; one call settles and collects
            let response = try await client.send(
                .post, "/v1/settlements", token: H.hospitalToken, json: Self.settlement(code: phone.code(harness), visit: "E2E1"),
                headers: Self.key("e2e-1")
            )
            // verify
            #expect(response.status == .created, "\(response.text)")
            let record = try response.decode(SettlementRecord.self)
            #expect(record.breakdown.brokenIdentity() == nil)
            #expect(record.personNumber == PatientFlow.person)
            // 张伟 uses his account (3,200 yuan) for the whole person part: no cash.
            #expect(record.breakdown.accountPaid == Money(fen: 2715) && record.breakdown.cashPaid == .zero)
            #expect(record.cashCollection == .counter)  // nothing to collect
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance == cardBefore)
            let receipt = try await client.send(.get, "/v1/patient/settlements/\(record.id)/receipt", token: phone.token)
            #expect(receipt.status == .ok && receipt.object["verification_code"] is String)
            let page = try await client.send(.get, "/v1/settlements/\(record.id)/receipt.html", token: H.hospitalToken)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true && page.text.contains("头孢克肟分散片"))
            let verification = try await client.send(.get, "/v1/admin/ledger/verification", token: H.adminToken)
            #expect(try verification.decode(LedgerReport.self).passed)
        }
    }

    @Test("the cash part is collected from the card when the account is not used")
    func cashFromCard() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness)
            var body = Self.settlement(code: phone.code(harness), visit: "CARD1")
            body.removeLast()
            body += #","use_account":false}"#
            let response = try await client.send(.post, "/v1/settlements", token: H.hospitalToken, json: body, headers: Self.key("card-1"))
            let record = try response.decode(SettlementRecord.self)
            #expect(record.breakdown.cashPaid == Money(fen: 2715))
            await harness.platform.flushAfterCommit()  // the capture, sent after the answer
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance == Money.yuan(5000) - Money(fen: 2715))
            #expect(record.fundingSource?.masked.hasSuffix(String(DemoData.cardNumber(0).suffix(4))) == true)
        }
    }

    @Test("the same Idempotency-Key sent 20 times at once: one settlement, 20 identical answers")
    func concurrentRetries() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness)
            let body = Self.settlement(code: phone.code(harness), visit: "IDEM1")
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let response = try await client.send(
                            .post, "/v1/settlements", token: H.hospitalToken, json: body, headers: Self.key("same-key"))
                        return (response.status.code, response.text)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(!answers.isEmpty && answers.allSatisfy { $0.0 == 201 })
            #expect(Set(answers.map(\.1)).count == 1)
            let ledger = try await harness.platform.verifyLedger()
            #expect(ledger.settlements == 1)
            #expect(ledger.passed)
        }
    }

    @Test("the served QR image decodes (zbarimg) to exactly the served code")
    func qrImage() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness, bindCard: false)
            let code = try await client.send(.get, "/v1/patient/devices/\(phone.deviceID)/code", token: phone.token)
            let text = try #require(code.object["code"] as? String)
            #expect(text == phone.code(harness))
            let svg = try await client.send(.get, "/v1/patient/devices/\(phone.deviceID)/code.svg", token: phone.token)
            #expect(svg.headers[.contentType] == "image/svg+xml")
            guard let zbarimg = ZbarForTests.path() else {
                #expect(ProcessInfo.processInfo.environment["YIBAO_REQUIRE_ZBAR"] != "1", "zbarimg is required but not installed")
                TestRecord.note("skipped", "QR decoding by zbarimg: not installed (apt install zbar-tools; CI requires it)")
                return
            }
            TestRecord.note("zbar", "decoded")
            #expect(try ZbarForTests.decode(svg: svg.text, zbarimg: zbarimg) == text)
        }
    }

    @Test("failed codes are rate-limited per device with 429 and Retry-After; a revoked device's code is refused")
    func rateLimitsAndRevocation() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness, bindCard: false)
            var statuses: [Int] = []
            for attempt in 0..<7 {
                let forged = "88" + phone.deviceNumber + String(format: "%08d", attempt)
                let body = forged + String(Luhn.checkDigit(forged))
                let response = try await client.send(
                    .post, "/v1/visits", token: H.hospitalToken,
                    json: #"{"code":"\#(body)","category":"11","hospital_visit_number":"RL\#(attempt)"}"#
                )
                statuses.append(response.status.code)
                if response.status.code == 429 { #expect(response.headers[.retryAfter] != nil) }
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == 422 })
            #expect(statuses.suffix(2).allSatisfy { $0 == 429 })
            harness.clock.advance(seconds: 61)
            let revoked = try await client.send(.delete, "/v1/patient/devices/\(phone.deviceID)", token: phone.token)
            #expect(revoked.status == .noContent)
            let refused = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken,
                json: #"{"code":"\#(phone.code(harness))","category":"11","hospital_visit_number":"RV1"}"#
            )
            #expect(refused.problem?.code == "code_revoked")
        }
    }

    @Test("expired codes from a slow queue count against their phone, not the hospital; guesses count against both")
    func expiredCodesDoNotLockTheHospital() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness, bindCard: false)
            func open(_ code: String, _ number: String) async throws -> Int {
                try await client.send(
                    .post, "/v1/visits", token: H.hospitalToken, json: #"{"code":"\#(code)","category":"11","hospital_visit_number":"\#(number)"}"#
                ).status.code
            }
            // act: four codes the patient showed five minutes ago, then 59 guesses at unknown phones.
            for attempt in 0..<4 {
                #expect(try await open(phone.code(harness, offsetSeconds: -300 - Int64(attempt) * 30), "EX\(attempt)") == 422)
            }
            for attempt in 0..<59 {
                let forged = "88" + String(format: "%010d", 9_000_000_000 + attempt) + "12345678"
                #expect(try await open(forged + String(Luhn.checkDigit(forged)), "GX\(attempt)") == 422)
            }

            // verify: 59 failures that look like guessing: the hospital is still served…
            #expect(try await open(phone.code(harness), "OK1") == 201)
            // …and one more guess reaches the limit of 60: the hospital's next code is refused with 429.
            let forged = "88" + "9100000000" + "12345678"
            #expect(try await open(forged + String(Luhn.checkDigit(forged)), "GX-last") == 422)
            #expect(try await open(phone.code(harness), "OK2") == 429)
        }
    }

    @Test("a patient sees only their own receipts; sign-out ends the session")
    func ownReceiptsOnly() async throws {
        try await H.withApp { client, harness in
            let first = try await PatientFlow.signUp(client, harness)
            let settled = try await client.send(
                .post, "/v1/settlements", token: H.hospitalToken, json: Self.settlement(code: first.code(harness), visit: "OWN1"),
                headers: Self.key("own-1")
            )
            let id = try settled.decode(SettlementRecord.self).id
            let second = try await PatientFlow.signUp(client, harness, person: "P440100000002", phone: "13800100002", cardIndex: 1)
            let theirs = try await client.send(.get, "/v1/patient/settlements/\(id)/receipt", token: second.token)
            #expect(theirs.status == .notFound)
            let me = try await client.send(.get, "/v1/patient/me", token: first.token)
            let session = try #require(me.object["session_id"] as? String)
            #expect(try await client.send(.delete, "/v1/patient/sessions/\(session)", token: first.token).status == .noContent)
            #expect(try await client.send(.get, "/v1/patient/me", token: first.token).status == .unauthorized)
        }
    }
}

enum ZbarForTests {
    static func path() -> String? {
        ["/usr/bin/zbarimg", "/usr/local/bin/zbarimg", "/opt/homebrew/bin/zbarimg"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func decode(svg: String, zbarimg: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("served-\(UUID().uuidString).svg")
        try svg.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: zbarimg)
        process.arguments = ["-q", "--raw", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

@Suite("HTTP: national sequence and cross-region")
struct NationalSequenceHTTPTests {
    typealias H = ServerHarness

    @Test("code → visit → lines → pre-settle → settle collects the cash part from the card (1101, 2201, 2204, 2206, 2207)")
    func nationalSequence() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness)
            let opened = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken,
                json: #"{"code":"\#(phone.code(harness))","category":"11","hospital_visit_number":"NS1"}"#
            )
            #expect(opened.status == .created)
            let visit = try opened.decode(Visit.self)
            #expect(visit.paymentAuthority == .fundingSource && visit.lines.isEmpty)
            let lines = try await client.send(
                .post, "/v1/visits/\(visit.id)/lines", token: H.hospitalToken,
                json: #"{"lines":[\#(Body.line("1", code: "XD00000000003", price: 2850, quantity: "2"))]}"#
            )
            #expect(lines.status == .ok)
            let preview = try await client.send(
                .post, "/v1/visits/\(visit.id)/pre-settlement", token: H.hospitalToken, json: #"{"use_account":false}"#)
            let previewCash = try #require((preview.object["breakdown"] as? [String: Any])?["psn_cash_pay"] as? Int)
            let settled = try await client.send(
                .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, json: #"{"use_account":false}"#,
                headers: OneCodeHTTPTests.key("ns-1")
            )
            let record = try settled.decode(SettlementRecord.self)
            #expect(record.cashCollection == .channel)
            #expect(record.breakdown.cashPaid == Money(fen: Int64(previewCash)))
            await harness.platform.flushAfterCommit()  // the capture, sent after the answer
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance == Money.yuan(5000) - record.breakdown.cashPaid)
        }
    }

    @Test("a Lanzhou employee treated in Guangzhou: Lanzhou's policy at the cross-region ratio, Guangzhou's catalogue")
    func crossRegion() async throws {
        try await H.withApp { client, _ in
            let body = Body.visit(
                person: "P620100000901", number: "XR1",
                lines: Body.line("1", code: "XD00000000003", price: 2850, quantity: "10") + ","
                    + Body.line("2", code: "S000000000061", price: 1000, quantity: "1")
            )
            let visit = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: body).decode(Visit.self)
            // Guangzhou's catalogue: class B with 10 % first self-pay.
            #expect(visit.lines[0].firstSelfPay == Money(fen: 2850))
            let preview = try await client.send(.post, "/v1/visits/\(visit.id)/pre-settlement", token: H.hospitalToken)
            let result = try preview.decode(SettlementPreview.self)
            #expect(result.policyTitle.hasPrefix("兰州市职工"))
            // Lanzhou employee outpatient, level 3: 200 a year deductible, 55 %; unfiled elsewhere × 70 % = 38.5 %.
            #expect(result.breakdown.deductiblePaid == .yuan(200))
            #expect(result.breakdown.fundRatio == Ratio(basisPoints: 3850))
            #expect(result.breakdown.pooledFund == Money(fen: 2560))
            #expect(result.trace.contains { $0.contains("异地就医") })
        }
    }
}
