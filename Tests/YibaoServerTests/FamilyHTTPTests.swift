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

@Suite("HTTP: family accounts")
struct FamilyHTTPTests {
    typealias H = ServerHarness

    /// 张伟 (binder) binds his father 李强 (P440100000003, 68): 李强 confirms with face verification.
    static func bindFather(
        _ client: some TestClientProtocol, _ harness: ServerHarness
    ) async throws -> (binder: PatientFlow, member: PatientFlow, binding: String) {
        let binder = try await PatientFlow.signUp(client, harness)
        let member = try await PatientFlow.signUp(client, harness, person: "P440100000003", phone: "13800100003", cardIndex: 2, bindCard: false)
        let idNumber = try #require(try await harness.platform.person(number: "P440100000003")?.idNumber)
        let requested = try await client.send(
            .post, "/v1/patient/family/bindings", token: binder.token,
            json:
                #"{"member_number":"P440100000003","member_id_number":"\#(idNumber)","relationship":"parent"}"#
        )
        #expect(requested.status == .created, "\(requested.text)")
        let binding = try #require(requested.object["id"] as? String)
        let wrongFace = try await client.send(
            .post, "/v1/patient/family/bindings/\(binding)/confirm", token: member.token,
            json: #"{"face_evidence":"sandbox-face:P440100000001"}"#
        )
        #expect(wrongFace.problem?.code == "identity_not_verified")
        let confirmed = try await client.send(
            .post, "/v1/patient/family/bindings/\(binding)/confirm", token: member.token,
            json: #"{"face_evidence":"sandbox-face:P440100000003"}"#
        )
        #expect(confirmed.object["state"] as? String == "approved", "\(confirmed.text)")
        return (binder, member, binding)
    }

    @Test("binding, acting for the member (seen in the member's activity), paying with the binder's code, unbinding")
    func bindActUnbind() async throws {
        try await H.withApp { client, harness in
            let (binder, member, binding) = try await Self.bindFather(client, harness)
            let wallet = try await client.send(.get, "/v1/patient/family/members/P440100000003/wallet", token: binder.token)
            #expect(wallet.status == .ok && wallet.object["person_number"] as? String == "P440100000003")
            let activity = try await client.send(.get, "/v1/patient/family/activity", token: member.token)
            #expect(activity.text.contains("family.view_wallet") && activity.text.contains("family:P440100000001"))
            // The binder's code pays for his father.
            let body =
                #"{"code":"\#(binder.code(harness))","for_person_number":"P440100000003","category":"11","hospital_visit_number":"FAM1","lines":[\#(Body.line("1", code: "XD00000000003", price: 2850, quantity: "2"))]}"#
            let binderBefore = try await harness.platform.accountBalance(of: "P440100000001").balance
            let memberBefore = try await harness.platform.accountBalance(of: "P440100000003").balance
            let paid = try await client.send(.post, "/v1/settlements", token: H.hospitalToken, json: body, headers: OneCodeHTTPTests.key("fam-1"))
            let record = try paid.decode(SettlementRecord.self)
            #expect(record.personNumber == "P440100000003" && record.payerNumber == "P440100000001")
            // The money: the father's own account pays first (5,600 yuan covers his 57 yuan bill's person part), no
            // mutual aid is needed, nothing is charged to a card; every account moved by exactly its part.
            #expect(record.breakdown.mutualAidPaid == .zero && record.breakdown.cashPaid == .zero)
            #expect(try await harness.platform.accountBalance(of: "P440100000003").balance == memberBefore - record.ownAccountPaid)
            #expect(try await harness.platform.accountBalance(of: "P440100000001").balance == binderBefore)
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance == .yuan(5000))
            #expect(try await harness.platform.verifyLedger().passed)
            // Maternity is not for family payment.
            harness.clock.advance(seconds: 30)
            let maternity = body.replacingOccurrences(of: "\"11\"", with: "\"51\"").replacingOccurrences(
                of: binder.code(harness, offsetSeconds: -30), with: binder.code(harness))
            let refused = try await client.send(
                .post, "/v1/settlements", token: H.hospitalToken, json: maternity, headers: OneCodeHTTPTests.key("fam-2"))
            #expect(refused.problem?.code == "family_payment_not_allowed")
            // Either side unbinds; the binder's view stops at once.
            let unbound = try await client.send(.delete, "/v1/patient/family/bindings/\(binding)", token: member.token)
            #expect(unbound.object["state"] as? String == "unbound")
            #expect(try await client.send(.get, "/v1/patient/family/members/P440100000003/wallet", token: binder.token).status == .notFound)
        }
    }

    @Test("someone not bound gets 404 on every family endpoint for that person")
    func strangersAreRefused() async throws {
        try await H.withApp { client, harness in
            let (binder, _, binding) = try await Self.bindFather(client, harness)
            let stranger = try await PatientFlow.signUp(client, harness, person: "P440100000002", phone: "13800100002", cardIndex: 1)
            let attempts: [(HTTPRequest.Method, String, String?)] = [
                (.get, "/v1/patient/family/members/P440100000003/wallet", nil),
                (.get, "/v1/patient/family/members/P440100000003/history", nil),
                (.get, "/v1/patient/family/members/P440100000003/items", nil),
                (.get, "/v1/patient/family/members/P440100000001/wallet", nil),
                (.post, "/v1/patient/family/bindings/\(binding)/confirm", #"{"face_evidence":"sandbox-face:P440100000002"}"#),
                (.post, "/v1/patient/family/bindings/\(binding)/decline", nil),
                (.post, "/v1/patient/family/bindings/\(binding)/cancel", nil),
                (.delete, "/v1/patient/family/bindings/\(binding)", nil),
                (.get, "/v1/patient/premiums?person_number=P440100000003", nil),
                (
                    .post, "/v1/patient/premiums",
                    #"{"person_number":"P440100000003","kind":"flexible_monthly","period":"2026-03","amount":58000}"#
                ),
            ]
            for (method, path, body) in attempts {
                let response = try await client.send(
                    method, path, token: stranger.token, json: body, headers: OneCodeHTTPTests.key("s-\(path.hashValue)"))
                #expect([403, 404].contains(response.status.code), "\(method) \(path): \(response.status.code) \(response.text)")
            }
            // The stranger's own code cannot pay for the member either.
            let body =
                #"{"code":"\#(stranger.code(harness))","for_person_number":"P440100000003","category":"11","hospital_visit_number":"S1","lines":[\#(Body.line())]}"#
            let paid = try await client.send(.post, "/v1/settlements", token: H.hospitalToken, json: body, headers: OneCodeHTTPTests.key("s-pay"))
            #expect(paid.status == .forbidden)
            // The binding is untouched.
            let mine = try await client.send(.get, "/v1/patient/family/bindings", token: binder.token)
            #expect(mine.text.contains("\"state\":\"approved\""))
        }
    }

    @Test("a binder pays a member's contribution (second factor required)")
    func familyPremium() async throws {
        try await H.withApp { client, harness in
            harness.clock.set(Instant(iso8601: "2026-11-22T10:00:00+08:00")!)
            let binder = try await PatientFlow.signUp(client, harness)
            let member = try await PatientFlow.signUp(client, harness, person: "P440100000009", phone: "13800100009", cardIndex: 8, bindCard: false)
            let idNumber = try #require(try await harness.platform.person(number: "P440100000009")?.idNumber)
            let binding = try await client.send(
                .post, "/v1/patient/family/bindings", token: binder.token,
                json:
                    #"{"member_number":"P440100000009","member_id_number":"\#(idNumber)","relationship":"parent"}"#
            )
            let id = try #require(binding.object["id"] as? String)
            _ = try await client.send(
                .post, "/v1/patient/family/bindings/\(id)/confirm", token: member.token,
                json: #"{"face_evidence":"sandbox-face:P440100000009"}"#
            )
            // Six minutes after signing in, the second factor is no longer recent: paying for a member needs the code.
            harness.clock.advance(seconds: 360)
            let noFactor = #"{"person_number":"P440100000009","kind":"resident_annual","period":"2027","amount":42000}"#
            let refused = try await client.send(
                .post, "/v1/patient/premiums", token: binder.token, json: noFactor, headers: OneCodeHTTPTests.key("fp-1"))
            #expect(refused.status == .forbidden && refused.problem?.code == "second_factor_required", "\(refused.text)")
            let withFactor =
                #"{"person_number":"P440100000009","kind":"resident_annual","period":"2027","amount":42000,"totp_code":"\#(PatientFlow.totp(binder.totpSecret, harness))"}"#
            let paid = try await client.send(
                .post, "/v1/patient/premiums", token: binder.token, json: withFactor, headers: OneCodeHTTPTests.key("fp-2"))
            #expect(paid.status == .created, "\(paid.text)")
            #expect(paid.object["payer_number"] as? String == "P440100000001")
            // The binder's card paid the member's 420 yuan into the resident fund; the member's card is untouched.
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance == .yuan(5000 - 420))
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(8))?.balance == .yuan(5000))
            #expect(
                try await harness.platform.balance(of: .fund(RegionCode("440100")!, .resident, InsuranceType.resident.pooledFundType)) == .yuan(420))
            #expect(try await harness.platform.verifyLedger().passed)
            #expect(try await client.send(.get, "/v1/patient/coverage", token: member.token).text.contains("2027"))
        }
    }
}
