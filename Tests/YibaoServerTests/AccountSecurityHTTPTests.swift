import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

/// The account-takeover holes and the other security reproductions of the money-edges issue, each as an
/// attacker or an operator would meet it over HTTP.
@Suite("HTTP: account security")
struct AccountSecurityHTTPTests {
    typealias H = ServerHarness

    static func registration(_ idNumber: String, code: String) -> String {
        #"{"id_number":"\#(idNumber)","person_number":"\#(PatientFlow.person)","phone":"\#(PatientFlow.phone)","sms_code":"\#(code)","password":"\#(PatientFlow.password)"}"#
    }

    @Test("4. a registration code cannot be guessed: the fifth wrong code kills it, even the right one is then refused")
    func smsCodeGuessing() async throws {
        try await H.withApp { client, harness in
            // setup: the attacker knows the ID number, the insurance number and the phone, and asks for a code.
            let idNumber = try #require(try await harness.platform.person(number: PatientFlow.person)?.idNumber)
            let asked = try await client.send(
                .post, "/v1/patient/registration/sms",
                json: #"{"id_number":"\#(idNumber)","person_number":"\#(PatientFlow.person)","phone":"\#(PatientFlow.phone)"}"#)
            #expect(asked.status == .accepted)
            let sms = try #require(harness.messages.messages(to: PatientFlow.phone).last?.text)
            let right = String(sms.split(whereSeparator: { !$0.isASCIIDigit }).first { $0.count == 6 } ?? "")
            let wrong = String(format: "%06d", (Int(right)! + 1) % 1_000_000)

            // act: five wrong guesses, then the right code.
            var statuses: [Int] = []
            for _ in 0..<5 {
                statuses.append(try await client.send(.post, "/v1/patient/registration", json: Self.registration(idNumber, code: wrong)).status.code)
            }
            let last = try await client.send(.post, "/v1/patient/registration", json: Self.registration(idNumber, code: right))

            // verify: every attempt refused; nobody registered; the real person asks for a new code and registers.
            #expect(statuses == [422, 422, 422, 422, 422])
            #expect(last.status == .unprocessableContent && last.problem?.code == "sms_code_invalid", "\(last.text)")
            #expect(try await harness.platform.patientCredentials(phone: PatientFlow.phone) == nil)
            harness.clock.advance(seconds: 61)
            let flow = try await PatientFlow.signUp(client, harness)
            #expect(flow.token.hasPrefix("ps_"))
        }
    }

    @Test("4. registration attempts are limited per phone and per client address")
    func registrationRateLimit() async throws {
        try await H.withApp { client, harness in
            let idNumber = try #require(try await harness.platform.person(number: PatientFlow.person)?.idNumber)
            var statuses: [Int] = []
            for _ in 0..<11 {
                statuses.append(
                    try await client.send(.post, "/v1/patient/registration", json: Self.registration(idNumber, code: "000000")).status.code)
            }
            #expect(statuses.prefix(10).allSatisfy { $0 == 422 } && statuses.last == 429, "\(statuses)")
            // SMS codes: one a minute per phone.
            let body = #"{"id_number":"\#(idNumber)","person_number":"\#(PatientFlow.person)","phone":"\#(PatientFlow.phone)"}"#
            #expect(try await client.send(.post, "/v1/patient/registration/sms", json: body).status == .accepted)
            #expect(try await client.send(.post, "/v1/patient/registration/sms", json: body).status == .tooManyRequests)
        }
    }

    @Test("5. step-up: a code is accepted once, five wrong codes lock it, live codes need a recent second factor")
    func stepUp() async throws {
        try await H.withApp { client, harness in
            let flow = try await PatientFlow.signUp(client, harness, bindCard: false)
            // Right after sign-in the second factor is recent: the live code is readable.
            #expect(try await client.send(.get, "/v1/patient/devices/\(flow.deviceID)/code", token: flow.token).status == .ok)
            // Six minutes later a stolen session cannot read it, nor bind a card, without the authenticator.
            harness.clock.advance(seconds: 360)
            let code = try await client.send(.get, "/v1/patient/devices/\(flow.deviceID)/code", token: flow.token)
            #expect(code.status == .forbidden && code.problem?.code == "second_factor_required", "\(code.text)")
            let svg = try await client.send(.get, "/v1/patient/devices/\(flow.deviceID)/code.svg", token: flow.token)
            #expect(svg.status == .forbidden)
            let card = #"{"card_number":"\#(DemoData.cardNumber(0))"}"#
            #expect(try await client.send(.post, "/v1/patient/funding-sources", token: flow.token, json: card).status == .forbidden)

            // Brute force: four wrong codes are refused, the fifth locks step-up (even the right code then).
            let right = PatientFlow.totp(flow.totpSecret, harness)
            let wrong = String(format: "%06d", (Int(right)! + 1) % 1_000_000)
            var statuses: [Int] = []
            for _ in 0..<5 {
                statuses.append(
                    try await client.send(.post, "/v1/patient/sessions/current/second-factor", token: flow.token, json: #"{"totp_code":"\#(wrong)"}"#)
                        .status.code)
            }
            let locked = try await client.send(
                .post, "/v1/patient/sessions/current/second-factor", token: flow.token, json: #"{"totp_code":"\#(right)"}"#)
            #expect(statuses == [422, 422, 422, 422, 429], "\(statuses)")
            #expect(locked.status == .tooManyRequests && locked.problem?.code == "account_locked")
            #expect(try await client.send(.get, "/v1/patient/inbox", token: flow.token).text.contains("验证码错误次数过多"))

            // After the lock: the right code once; the same code again is a replay.
            harness.clock.advance(seconds: 901)
            let fresh = PatientFlow.totp(flow.totpSecret, harness)
            let bound = try await client.send(
                .post, "/v1/patient/funding-sources", token: flow.token,
                json: #"{"card_number":"\#(DemoData.cardNumber(0))","totp_code":"\#(fresh)"}"#)
            #expect(bound.status == .created, "\(bound.text)")
            let replay = try await client.send(
                .post, "/v1/patient/sessions/current/second-factor", token: flow.token, json: #"{"totp_code":"\#(fresh)"}"#)
            #expect(replay.status == .unprocessableContent && replay.problem?.code == "second_factor_invalid", "\(replay.text)")
            // The card binding proved the factor: the live code is readable again for five minutes.
            #expect(try await client.send(.get, "/v1/patient/devices/\(flow.deviceID)/code", token: flow.token).status == .ok)
        }
    }

    @Test("6. without --demo or --sandbox there is no sandbox route and no sandbox party")
    func noSandbox() async throws {
        try await H.withApp(sandbox: false) { client, harness in
            #expect(harness.platform.sandbox == nil)
            #expect(!harness.routes.contains { $0.path.hasPrefix("/v1/sandbox") })
            for (method, path) in [
                (HTTPRequest.Method.get, "/v1/sandbox/messages?phone=13800100001"), (.post, "/v1/sandbox/cards"), (.put, "/v1/sandbox/faults"),
                (.get, "/v1/sandbox/clock"), (.post, "/v1/sandbox/clock/advance"),
            ] {
                let response = try await client.send(method, path, token: H.adminToken, json: method == .get ? nil : "{}")
                #expect(response.status == .notFound, "\(path): \(response.status)")
            }
            let idNumber = try #require(try await harness.platform.person(number: PatientFlow.person)?.idNumber)
            let sms = try await client.send(
                .post, "/v1/patient/registration/sms",
                json: #"{"id_number":"\#(idNumber)","person_number":"\#(PatientFlow.person)","phone":"\#(PatientFlow.phone)"}"#)
            #expect(sms.status == .serviceUnavailable && sms.problem?.code == "party_not_configured", "\(sms.text)")
            #expect(sms.problem?.detail.contains("SMS") == true)
            #expect(harness.messages.messages(to: PatientFlow.phone).isEmpty)
            // A counter settlement needs no outside party and still works.
            let settled = try await MoneyEdgesHTTPTests.settleByPersonNumber(client, visit: "NOSANDBOX1")
            #expect(settled.state == .completed)
        }
    }

    @Test("7. operators disabled, tokens and institution keys revoked: refused once the credential cache expires")
    func revocation() async throws {
        try await H.withApp { client, harness in
            let clerk = try await harness.platform.createOperator(name: "clerk", role: .operator)
            #expect(try await client.send(.get, "/v1/admin/family/reviews", token: clerk.token).status == .ok)
            #expect(try await client.send(.post, "/v1/admin/operators/clerk/disable", token: H.adminToken).status == .noContent)
            harness.clock.advance(seconds: 6)
            #expect(try await client.send(.get, "/v1/admin/family/reviews", token: clerk.token).status == .unauthorized)
            #expect(try await client.send(.post, "/v1/admin/operators/demo-admin/disable", token: H.adminToken).status == .forbidden)

            // An institution key leaks: the administrator revokes it at once (not the 7-day rotation overlap).
            let issued = try await client.send(.post, "/v1/admin/institutions/\(H.hospital)/keys", token: H.adminToken)
            let keyID = try #require(issued.object["key_id"] as? String)
            let secret = try #require(issued.object["secret"] as? String)
            let token = keyID + "." + secret
            #expect(try await client.send(.get, "/v1/webhooks", token: token).status == .ok)
            #expect(try await client.send(.delete, "/v1/admin/institutions/\(H.hospital)/keys/\(keyID)", token: H.adminToken).status == .noContent)
            harness.clock.advance(seconds: 6)
            #expect(try await client.send(.get, "/v1/webhooks", token: token).status == .unauthorized)
            let keys = try await client.send(.get, "/v1/admin/institutions/\(H.hospital)/keys", token: H.adminToken)
            #expect(keys.text.contains("\"revoked_at\"") && !keys.text.contains(secret))
        }
    }

    @Test("7. an administrator creates an operator and issues a new token after a revocation; the token is shown once, names are checked")
    func operatorsCreated() async throws {
        try await H.withApp { client, harness in
            let created = try await client.send(.post, "/v1/admin/operators", token: H.adminToken, json: #"{"name":"new-clerk","role":"operator"}"#)
            #expect(created.status == .created && created.object["role"] as? String == "operator", "\(created.text)")
            #expect(created.headers[.cacheControl] == "no-store")
            let first = try #require(created.object["token"] as? String)
            let me = try await client.send(.get, "/v1/admin/me", token: first)
            #expect(me.status == .ok && me.object["name"] as? String == "new-clerk" && me.object["role"] as? String == "operator", "\(me.text)")
            // The same name again, a name that would not fit in a path, a role that does not exist; and
            // an operator who is not an administrator: refused, and nothing created.
            let again = try await client.send(.post, "/v1/admin/operators", token: H.adminToken, json: #"{"name":"new-clerk","role":"viewer"}"#)
            #expect(again.status == .conflict && again.problem?.code == "already_exists", "\(again.text)")
            for body in [
                #"{"name":"a/b","role":"viewer"}"#, #"{"name":"","role":"viewer"}"#, #"{"name":"-x","role":"viewer"}"#,
                #"{"name":"x","role":"root"}"#,
            ] {
                let refused = try await client.send(.post, "/v1/admin/operators", token: H.adminToken, json: body)
                #expect(refused.status == .badRequest, "\(body): \(refused.text)")
            }
            #expect(
                try await client.send(.post, "/v1/admin/operators", token: first, json: #"{"name":"by-clerk","role":"administrator"}"#).status
                    == .forbidden)
            let names = try await client.send(.get, "/v1/admin/operators", token: H.adminToken).text
            #expect(names.contains("new-clerk") && !names.contains("by-clerk") && !names.contains("a/b"))
            // A leak: every token revoked, then a new one issued; the old one stays refused.
            #expect(try await client.send(.post, "/v1/admin/operators/new-clerk/token-revocation", token: H.adminToken).status == .noContent)
            harness.clock.advance(seconds: 6)
            #expect(try await client.send(.get, "/v1/admin/me", token: first).status == .unauthorized)
            let issued = try await client.send(.post, "/v1/admin/operators/new-clerk/tokens", token: H.adminToken)
            let second = try #require(issued.object["token"] as? String)
            #expect(issued.status == .created && second != first && issued.headers[.cacheControl] == "no-store")
            #expect(try await client.send(.get, "/v1/admin/me", token: second).status == .ok)
            #expect(try await client.send(.get, "/v1/admin/me", token: first).status == .unauthorized)
            // A disabled operator gets no new token; a name nobody has neither.
            #expect(try await client.send(.post, "/v1/admin/operators/new-clerk/disable", token: H.adminToken).status == .noContent)
            #expect(try await client.send(.post, "/v1/admin/operators/new-clerk/tokens", token: H.adminToken).status == .notFound)
            #expect(try await client.send(.post, "/v1/admin/operators/nobody/tokens", token: H.adminToken).status == .notFound)
            // Each is in the audit log with the administrator's name.
            let audit = try await harness.platform.auditTrail(subject: "operator:new-clerk")
            #expect(
                audit.map(\.action) == ["operator.create", "operator.token", "operator.tokens_revoked", "operator.token", "operator.disable"],
                "\(audit.map(\.action))")
            #expect(audit.allSatisfy { $0.actor == "operator:demo-admin" })
        }
    }

    @Test("7. a patient lists sessions and signs out everywhere; resets a forgotten password with SMS and authenticator")
    func sessionsAndPasswordReset() async throws {
        try await H.withApp { client, harness in
            let flow = try await PatientFlow.signUp(client, harness, bindCard: false)
            harness.clock.advance(seconds: 30)
            let second = try await client.send(
                .post, "/v1/patient/sessions",
                json:
                    #"{"phone":"\#(PatientFlow.phone)","password":"\#(PatientFlow.password)","totp_code":"\#(PatientFlow.totp(flow.totpSecret, harness))"}"#
            )
            let secondToken = try #require(second.object["token"] as? String)
            let sessions = try await client.send(.get, "/v1/patient/sessions", token: flow.token).decode([SessionView].self)
            #expect(sessions.count == 2 && sessions.filter(\.current).count == 1)
            #expect(try await client.send(.delete, "/v1/patient/sessions", token: secondToken).status == .noContent)
            #expect(try await client.send(.get, "/v1/patient/me", token: flow.token).status == .unauthorized)
            #expect(try await client.send(.get, "/v1/patient/me", token: secondToken).status == .unauthorized)

            // Password reset: SMS to the registered phone and the authenticator code.
            harness.clock.advance(seconds: 61)
            #expect(try await client.send(.post, "/v1/patient/password-reset/sms", json: #"{"phone":"\#(PatientFlow.phone)"}"#).status == .accepted)
            let sms = try #require(harness.messages.messages(to: PatientFlow.phone).last?.text)
            let code = String(sms.split(whereSeparator: { !$0.isASCIIDigit }).first { $0.count == 6 } ?? "")
            harness.clock.advance(seconds: 30)
            let reset = try await client.send(
                .post, "/v1/patient/password-reset",
                json:
                    #"{"phone":"\#(PatientFlow.phone)","sms_code":"\#(code)","totp_code":"\#(PatientFlow.totp(flow.totpSecret, harness))","new_password":"another-pass-2026"}"#
            )
            #expect(reset.status == .noContent, "\(reset.text)")
            harness.clock.advance(seconds: 30)
            let old = try await client.send(
                .post, "/v1/patient/sessions",
                json:
                    #"{"phone":"\#(PatientFlow.phone)","password":"\#(PatientFlow.password)","totp_code":"\#(PatientFlow.totp(flow.totpSecret, harness))"}"#
            )
            #expect(old.status == .unauthorized)
            harness.clock.advance(seconds: 30)
            let new = try await client.send(
                .post, "/v1/patient/sessions",
                json:
                    #"{"phone":"\#(PatientFlow.phone)","password":"another-pass-2026","totp_code":"\#(PatientFlow.totp(flow.totpSecret, harness))"}"#)
            #expect(new.status == .created, "\(new.text)")
            // An unregistered phone gets the same answer and no message.
            #expect(try await client.send(.post, "/v1/patient/password-reset/sms", json: #"{"phone":"13900000000"}"#).status == .accepted)
            #expect(harness.messages.messages(to: "13900000000").isEmpty)
        }
    }

    @Test("7. an operator resets a lost authenticator after checking the ID document; the patient sets up a new one")
    func authenticatorReset() async throws {
        try await H.withApp { client, harness in
            let flow = try await PatientFlow.signUp(client, harness, bindCard: false)
            let idNumber = try #require(try await harness.platform.person(number: PatientFlow.person)?.idNumber)
            let clerk = try await harness.platform.createOperator(name: "counter-clerk", role: .operator)
            let wrongID = try await client.send(
                .post, "/v1/admin/people/\(PatientFlow.person)/authenticator-reset", token: clerk.token,
                json: #"{"id_number":"440106199001010000","reason":"phone lost"}"#)
            #expect(wrongID.status == .unprocessableContent && wrongID.problem?.code == "identity_not_verified", "\(wrongID.text)")
            let done = try await client.send(
                .post, "/v1/admin/people/\(PatientFlow.person)/authenticator-reset", token: clerk.token,
                json: #"{"id_number":"\#(idNumber)","reason":"phone lost"}"#)
            #expect(done.status == .noContent, "\(done.text)")
            #expect(try await client.send(.get, "/v1/patient/me", token: flow.token).status == .unauthorized)
            // The old authenticator no longer signs in.
            harness.clock.advance(seconds: 30)
            let old = try await client.send(
                .post, "/v1/patient/sessions",
                json:
                    #"{"phone":"\#(PatientFlow.phone)","password":"\#(PatientFlow.password)","totp_code":"\#(PatientFlow.totp(flow.totpSecret, harness))"}"#
            )
            #expect(old.status == .unauthorized)
            // Password and an SMS code set up the new one.
            harness.clock.advance(seconds: 61)
            #expect(try await client.send(.post, "/v1/patient/authenticator/sms", json: #"{"phone":"\#(PatientFlow.phone)"}"#).status == .accepted)
            let sms = try #require(harness.messages.messages(to: PatientFlow.phone).last?.text)
            let code = String(sms.split(whereSeparator: { !$0.isASCIIDigit }).first { $0.count == 6 } ?? "")
            let enrolled = try await client.send(
                .post, "/v1/patient/authenticator",
                json: #"{"phone":"\#(PatientFlow.phone)","password":"\#(PatientFlow.password)","sms_code":"\#(code)"}"#)
            #expect(enrolled.status == .created, "\(enrolled.text)")
            let key = try #require(enrolled.object["totp_secret"] as? String)
            #expect(key != flow.totpSecret)
            let signedIn = try await client.send(
                .post, "/v1/patient/sessions",
                json: #"{"phone":"\#(PatientFlow.phone)","password":"\#(PatientFlow.password)","totp_code":"\#(PatientFlow.totp(key, harness))"}"#)
            #expect(signedIn.status == .created, "\(signedIn.text)")
            let audit = try await client.send(.get, "/v1/admin/audit/verification", token: H.adminToken)
            #expect(audit.status == .ok)
        }
    }

    @Test("7. a signed-in person with no authenticator is asked to set one up (403 second_factor_required), not told they do not exist")
    func stepUpWithoutAuthenticator() async throws {
        try await H.withApp { client, harness in
            // A load-test population's people have sessions but never registered an authenticator.
            let seeded = try await harness.platform.seedPopulation(
                PopulationSpec(prefix: "NA", range: 0..<1, region: RegionCode("440100")!, devices: false, cardBalance: nil, sessions: 1))
            let token = try #require(seeded.first?.sessionToken)
            let added = try await client.send(.post, "/v1/patient/devices", token: token, json: #"{"name":"phone","totp_code":"123456"}"#)
            #expect(added.status == .forbidden, "\(added.text)")
            #expect(added.problem?.code == "second_factor_required")
        }
    }

    @Test("8. a receipt verifies with what became of it: valid, partly refunded (how much), reversed")
    func receiptStatus() async throws {
        try await H.withApp { client, harness in
            let settled = try await MoneyEdgesHTTPTests.settleByPersonNumber(client, visit: "RCPT1")
            let receipt = try await client.send(.get, "/v1/settlements/\(settled.id)/receipt", token: H.hospitalToken).decode(Receipt.self)
            func verify() async throws -> ReceiptVerification {
                try await client.send(.get, "/v1/receipts/\(settled.id)/verification?code=\(receipt.verificationCode)").decode(
                    ReceiptVerification.self)
            }
            #expect(try await verify().status == "valid")
            let refund = try await client.send(
                .post, "/v1/settlements/\(settled.id)/refunds", token: H.hospitalToken, json: #"{"type":"insurance"}"#,
                headers: MoneyEdgesHTTPTests.key("rcpt-r"))
            #expect(refund.status == .created)
            let partly = try await verify()
            #expect(partly.authentic && partly.status == "partly_refunded")
            #expect(partly.refundedAmount == settled.breakdown.fundTotal + settled.breakdown.accountPaid)

            let other = try await MoneyEdgesHTTPTests.settleByPersonNumber(client, visit: "RCPT2")
            let otherReceipt = try await client.send(.get, "/v1/settlements/\(other.id)/receipt", token: H.hospitalToken).decode(Receipt.self)
            let reversal = try await client.send(
                .post, "/v1/settlements/\(other.id)/reversal", token: H.hospitalToken, headers: MoneyEdgesHTTPTests.key("rcpt-v"))
            let reversed = try await client.send(.get, "/v1/receipts/\(other.id)/verification?code=\(otherReceipt.verificationCode)")
                .decode(ReceiptVerification.self)
            #expect(reversed.authentic && reversed.status == "reversed")
            #expect(reversed.reversalId == (try reversal.decode(SettlementRecord.self)).id)
        }
    }

    @Test("9. webhooks only to public https; X-Forwarded-For only from a trusted proxy")
    func webhooksAndForwardedFor() async throws {
        try await H.withApp(allowPrivateWebhooks: false) { client, _ in
            for url in [
                "http://hooks.example.com/yibao", "https://127.0.0.1/hook", "https://localhost/hook", "https://169.254.169.254/latest",
                "https://10.1.2.3/hook", "https://[::1]/hook", "https://[fd00::1]/hook", "https://intranet/hook",
            ] {
                let response = try await client.send(.post, "/v1/webhooks", token: H.hospitalToken, json: #"{"url":"\#(url)","events":["*"]}"#)
                #expect(response.status == .badRequest && response.problem?.field == "url", "\(url): \(response.text)")
            }
            let ok = try await client.send(
                .post, "/v1/webhooks", token: H.hospitalToken, json: #"{"url":"https://hooks.example.com/yibao","events":["*"]}"#)
            #expect(ok.status == .created, "\(ok.text)")
            // Receipt checks: 30 a minute per client; a client sending a new X-Forwarded-For each time is still one client.
            var statuses: [Int] = []
            for index in 0..<31 {
                statuses.append(
                    try await client.send(
                        .get, "/v1/receipts/S1/verification?code=X", headers: [HTTPField.Name("X-Forwarded-For")!: "203.0.113.\(index)"]
                    ).status.code)
            }
            #expect(statuses.prefix(30).allSatisfy { $0 == 200 } && statuses.last == 429, "\(statuses)")
        }
    }

    @Test("9. a contribution is never charged to a removed card")
    func premiumRemovedCard() async throws {
        try await H.withApp { client, harness in
            harness.clock.set(Instant(iso8601: "2026-11-22T10:00:00+08:00")!)
            let flow = try await PatientFlow.signUp(client, harness)
            let sources = try await client.send(.get, "/v1/patient/funding-sources", token: flow.token)
            let card = try #require(
                (try JSONSerialization.jsonObject(with: Data(sources.body.readableBytesView)) as? [[String: Any]])?.first?["id"] as? String)
            #expect(try await client.send(.delete, "/v1/patient/funding-sources/\(card)", token: flow.token).status == .noContent)
            let paid = try await client.send(
                .post, "/v1/patient/premiums", token: flow.token,
                json:
                    #"{"person_number":"P440100000001","kind":"flexible_monthly","period":"2026-11","amount":58000,"funding_source_id":"\#(card)"}"#,
                headers: MoneyEdgesHTTPTests.key("removed-card"))
            #expect(paid.status == .unprocessableContent && paid.problem?.code == "no_funding_source", "\(paid.text)")
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance == .yuan(5000))
        }
    }

    @Test("9. money the bureau creates by hand: administrators only, audited by name, a second administrator above the threshold")
    func adjustments() async throws {
        try await H.withApp(adjustmentApprovalThreshold: .yuan(1000)) { client, harness in
            let clerk = try await harness.platform.createOperator(name: "enrol-clerk", role: .operator)
            let second = try await harness.platform.createOperator(name: "second-admin", role: .administrator)
            func person(_ number: String, _ sequence: Int, opening: Int) -> String {
                let idNumber = IDNumber.make(region: "440106", birthDate: CivilDate(year: 1980, month: 1, day: 2)!, sequence: 500 + sequence)
                return
                    #"{"number":"\#(number)","name":"测试人","id_number":"\#(idNumber)","region":"440100","insurance_type":"310","opening_balance":\#(opening)}"#
            }
            // An operator may enrol, but not with money.
            let byClerk = try await client.send(.post, "/v1/admin/people", token: clerk.token, json: person("PADJ1", 1, opening: 10_000_000_00))
            #expect(byClerk.status == .forbidden && byClerk.problem?.field == "opening_balance", "\(byClerk.text)")
            #expect(try await client.send(.post, "/v1/admin/people", token: clerk.token, json: person("PADJ1", 1, opening: 0)).status == .created)
            // An administrator: at or below the threshold it is posted at once.
            let small = try await client.send(.post, "/v1/admin/people", token: H.adminToken, json: person("PADJ2", 2, opening: 50_000))
            #expect(small.status == .created && (small.object["account_balance"] as? Int) == 50_000, "\(small.text)")
            // Above: enrolled with nothing until a second administrator approves.
            let large = try await client.send(.post, "/v1/admin/people", token: H.adminToken, json: person("PADJ3", 3, opening: 2_000_000))
            #expect(large.status == .created && (large.object["account_balance"] as? Int) == 0, "\(large.text)")
            let adjustment = try #require((large.object["opening_balance_adjustment"] as? [String: Any])?["id"] as? String)
            #expect(try await client.send(.post, "/v1/admin/adjustments/\(adjustment)/approval", token: H.adminToken).status == .forbidden)
            let approved = try await client.send(.post, "/v1/admin/adjustments/\(adjustment)/approval", token: second.token)
            #expect(approved.status == .ok && approved.object["state"] as? String == "posted", "\(approved.text)")
            #expect(try await harness.platform.accountBalance(of: "PADJ3").balance == .yuan(20_000))
            #expect(try await client.send(.post, "/v1/admin/adjustments/\(adjustment)/approval", token: second.token).status == .conflict)
            // A correction needs an Idempotency-Key; sent again with the same key (an answer lost), it is the
            // first adjustment, and the balance moves once.
            let correction = #"{"amount":1234,"reason":"correction"}"#
            let keyless = try await client.send(.post, "/v1/admin/people/PADJ2/adjustments", token: H.adminToken, json: correction)
            #expect(keyless.status == .badRequest && keyless.problem?.code == "idempotency_key_required", "\(keyless.text)")
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "adjust-PADJ2-1"]
            let first = try await client.send(.post, "/v1/admin/people/PADJ2/adjustments", token: H.adminToken, json: correction, headers: key)
            let retried = try await client.send(.post, "/v1/admin/people/PADJ2/adjustments", token: H.adminToken, json: correction, headers: key)
            #expect(first.status == .created && retried.status == .created, "\(first.text) \(retried.text)")
            #expect(first.object["id"] as? String == retried.object["id"] as? String)
            #expect(try await harness.platform.accountBalance(of: "PADJ2").balance == Money(fen: 50_000 + 1234))
            let reused = try await client.send(
                .post, "/v1/admin/people/PADJ2/adjustments", token: H.adminToken, json: #"{"amount":99,"reason":"correction"}"#, headers: key)
            #expect(reused.problem?.code == "idempotency_key_reused", "\(reused.text)")
            #expect(try await harness.platform.accountBalance(of: "PADJ2").balance == Money(fen: 50_000 + 1234))
            // A correction taking money back cannot overdraw.
            let overdraw = try await client.send(
                .post, "/v1/admin/people/PADJ2/adjustments", token: H.adminToken, json: #"{"amount":-60000,"reason":"duplicate credit"}"#,
                headers: [HTTPField.Name("Idempotency-Key")!: "adjust-PADJ2-2"])
            #expect(overdraw.status == .unprocessableContent && overdraw.problem?.code == "account_insufficient", "\(overdraw.text)")
            let ledger = try await client.send(.get, "/v1/admin/ledger/verification", token: H.adminToken).decode(LedgerReport.self)
            #expect(ledger.passed)
            // Credit terms changes name the administrator in the audit log.
            let terms =
                #"{"partner_name":"沙箱银行","billing_day":5,"grace_days":20,"penalty_basis_points_per_day":5,"late_fee":0,"suspend_after_overdue_days":30}"#
            #expect(try await client.send(.put, "/v1/admin/credit/partners/sandbox", token: second.token, json: terms).status == .ok)
            #expect(try await harness.platform.auditTrail(subject: "sandbox").last { $0.action == "credit.terms" }?.actor == "operator:second-admin")
        }
    }

    @Test("9. the authenticator key is base32: an app given it by hand computes the codes the server accepts")
    func base32Key() async throws {
        try await H.withApp { client, harness in
            let flow = try await PatientFlow.signUp(client, harness, bindCard: false)
            #expect(Base32.decode(flow.totpSecret) != nil && flow.totpSecret.allSatisfy { $0.isUppercase || ("2"..."7").contains($0) })
            let registered = harness.messages.messages(to: PatientFlow.phone)
            #expect(!registered.isEmpty)
        }
    }
}
