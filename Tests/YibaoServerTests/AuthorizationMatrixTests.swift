import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import YibaoCore
import YibaoServer
import YibaoStore

/// Every route × every kind of caller, generated from the route table: a new route whose access rule
/// or path parameters this test does not know fails it.
@Suite("HTTP: authorisation matrix")
struct AuthorizationMatrixTests {
    typealias H = ServerHarness

    enum CallerKind: String, CaseIterable, CustomStringConvertible {
        case anonymous, patientB, institutionB, viewer, `operator`, administrator, institutionA, familyMember, patientA
        var description: String { rawValue }
    }

    enum Expectation: Equatable {
        case allowed
        case denied(Int)
    }

    /// Parameters owned by institution A / patient A: another institution or patient gets 404.
    static let institutionOwned: Set<String> = ["visit_id", "settlement_id", "subscription_id"]
    static let patientOwned: Set<String> = [
        "device_id", "source_id", "session_id", "settlement_id", "premium_id", "binding_id", "member_number", "line_id", "bill_id",
    ]

    /// Routes about the family binding of patient A (binder) and the family member: who of the two may
    /// act, and who is told the binding does not exist.
    static let familyRoutes: [String: Set<CallerKind>] = [
        "POST /v1/patient/family/bindings/{binding_id}/confirm": [.familyMember],
        "POST /v1/patient/family/bindings/{binding_id}/decline": [.familyMember],
        "POST /v1/patient/family/bindings/{binding_id}/cancel": [.patientA],
        "DELETE /v1/patient/family/bindings/{binding_id}": [.patientA, .familyMember],
        "GET /v1/patient/family/members/{member_number}/wallet": [.patientA, .familyMember],
        "GET /v1/patient/family/members/{member_number}/history": [.patientA, .familyMember],
        "GET /v1/patient/family/members/{member_number}/items": [.patientA, .familyMember],
    ]

    static func expectation(_ route: RouteDescription, _ caller: CallerKind) -> Expectation {
        let parameters = Set(route.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) })
        if let parties = familyRoutes["\(route.method) \(route.path)"], [.patientA, .patientB, .familyMember].contains(caller) {
            return parties.contains(caller) ? .allowed : .denied(404)
        }
        switch route.access {
        case .anyone:
            return .allowed
        case .institution:
            switch caller {
            case .institutionA: return .allowed
            case .institutionB: return parameters.isDisjoint(with: institutionOwned) ? .allowed : .denied(404)
            case .anonymous: return .denied(401)
            default: return .denied(403)
            }
        case .operator(let required):
            let roles: [CallerKind: OperatorRole] = [.viewer: .viewer, .operator: .operator, .administrator: .administrator]
            if let role = roles[caller] { return role.includes(required) ? .allowed : .denied(403) }
            return caller == .anonymous ? .denied(401) : .denied(403)
        case .patient:
            switch caller {
            case .patientA: return .allowed
            case .patientB, .familyMember: return parameters.isDisjoint(with: patientOwned) ? .allowed : .denied(404)
            case .anonymous: return .denied(401)
            default: return .denied(403)
            }
        }
    }

    /// The independent rule each route must declare: who the area is for. A route outside every area,
    /// or declaring another kind of access than its area's, fails.
    static func area(_ route: RouteDescription) -> String? {
        let path = route.path
        if ["/health", "/ready", "/metrics", "/openapi.json"].contains(path) { return "anyone" }
        if path.hasPrefix("/v1/patient/registration") || (path == "/v1/patient/sessions" && route.method == .post) { return "anyone" }
        if path.hasPrefix("/v1/patient/") { return "patient" }
        if path.hasPrefix("/v1/admin/") || path.hasPrefix("/v1/sandbox/") { return "operator" }
        if path.hasPrefix("/v1/visits") || path.hasPrefix("/v1/settlements") || path.hasPrefix("/v1/webhooks") { return "institution" }
        if path.hasPrefix("/v1/receipts/") { return "anyone" }
        return nil
    }

    @Test("every route declares the access of its area")
    func declaredAccess() async throws {
        try await H.withApp { _, harness in
            for route in harness.routes {
                let declared: String
                switch route.access {
                case .anyone: declared = "anyone"
                case .institution: declared = "institution"
                case .operator: declared = "operator"
                case .patient: declared = "patient"
                }
                #expect(
                    Self.area(route) == declared,
                    "\(route.method) \(route.path) declares \(route.access); its area needs \(Self.area(route) ?? "a rule in this test")")
            }
        }
    }

    @Test("every route refuses or admits every kind of caller as its rule says")
    func matrix() async throws {
        try await H.withApp { client, harness in
            // setup: patient A with a device, a card, a second session, a visit and a settlement at institution A, and a father
            // bound to A's family account; patient B; a resident's contribution; a report; a webhook subscription; operators.
            // (In November: contributions for 2027 are open.)
            harness.clock.set(Instant(iso8601: "2026-11-22T10:00:00+08:00")!)
            let family = try await FamilyHTTPTests.bindFather(client, harness)
            let patientA = family.binder
            let patientB = try await PatientFlow.signUp(client, harness, person: "P440100000002", phone: "13800100002", cardIndex: 1)
            harness.clock.advance(seconds: 30)
            let second = try await client.send(
                .post, "/v1/patient/sessions",
                json:
                    #"{"phone":"\#(PatientFlow.phone)","password":"\#(PatientFlow.password)","totp_code":"\#(PatientFlow.totp(patientA.totpSecret, harness))"}"#
            )
            let secondSession = try #require(second.object["session_id"] as? String)
            let sources = try await client.send(.get, "/v1/patient/funding-sources", token: patientA.token)
            let source = try #require(
                (try JSONSerialization.jsonObject(with: Data(sources.body.readableBytesView)) as? [[String: Any]])?.first?["id"] as? String)
            let visit = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "MX1", lines: Body.line()))
                .decode(Visit.self)
            let settlement = try await client.send(
                .post, "/v1/settlements", token: H.hospitalToken, json: OneCodeHTTPTests.settlement(code: patientA.code(harness), visit: "MX2"),
                headers: OneCodeHTTPTests.key("mx-2")
            ).decode(SettlementRecord.self)
            let subscription = try await client.send(
                .post, "/v1/webhooks", token: H.hospitalToken, json: #"{"url":"http://127.0.0.1:9/hook","events":["settlement.completed"]}"#
            )
            let subscriptionID = try #require(subscription.object["id"] as? String)
            let administrator = try await harness.store.createOperator(name: "matrix-setup", role: .administrator)
            let partner = try await client.send(
                .post, "/v1/admin/webhooks", token: administrator.token,
                json: #"{"url":"http://127.0.0.1:9/hook","events":["premium.paid"],"partner":"bank"}"#
            )
            let partnerID = try #require(partner.object["id"] as? String, "\(partner.text)")
            let premium = try await client.send(
                .post, "/v1/patient/premiums", token: patientA.token,
                json: #"{"person_number":"P440100000001","kind":"flexible_monthly","period":"2026-11","amount":58000}"#,
                headers: OneCodeHTTPTests.key("mx-p")
            ).decode(PremiumPayment.self)
            let event = try await client.send(.get, "/v1/patient/history?limit=1", token: patientA.token).decode(HistoryPage.self)
            let report = try await client.send(
                .post, "/v1/patient/reports", token: patientA.token, json: #"{"event_id":"\#(event.events[0].id)","reason":"matrix"}"#
            )
            let reportID = try #require(report.object["id"] as? String)
            // Patient A's medical credit line with one bill (drawn up on 5 November), made in the past.
            let setupTime = harness.clock.now()
            harness.clock.set(Instant(iso8601: "2026-10-20T10:00:00+08:00")!)
            let line = try await harness.store.applyForCredit(person: PatientFlow.person)
            _ = try await harness.store.signFrictionless(
                person: PatientFlow.person, fundingSourceID: line.line.fundingSourceId, priority: .sourceFirst)
            let hospital = try #require(try await harness.store.institution(code: H.hospital))
            let credited = try await harness.store.openVisit(
                OpenVisitRequest(
                    personNumber: PatientFlow.person, category: .ordinaryOutpatient, hospitalVisitNumber: "MX-CREDIT",
                    lines: [FeeLine(lineNumber: "1", itemCode: "XD00000000003", unitPrice: Money(fen: 2850), quantity: Quantity(units: 2))],
                    frictionless: true),
                institution: hospital)
            _ = try await harness.store.settle(visitID: credited.id, institution: hospital, useAccount: false, idempotency: nil)
            harness.clock.set(Instant(iso8601: "2026-11-06T01:00:00+08:00")!)
            _ = try await harness.store.runCreditDay()
            harness.clock.set(setupTime)
            let bill = try #require(try await harness.store.creditLine(id: line.line.id, person: PatientFlow.person).bills.first?.bill.id)
            var tokens: [CallerKind: String] = [
                .patientA: patientA.token, .patientB: patientB.token, .familyMember: family.member.token, .institutionA: H.hospitalToken,
                .institutionB: H.otherHospitalToken,
            ]
            for role in OperatorRole.allCases {
                let credential = try await harness.store.createOperator(name: "matrix-\(role.rawValue)", role: role)
                tokens[CallerKind(rawValue: role.rawValue)!] = credential.token
            }
            let fixtures: [String: String] = [
                "visit_id": visit.id, "settlement_id": settlement.id, "device_id": patientA.deviceID, "source_id": source,
                "session_id": secondSession,
                "card_number": DemoData.cardNumber(0), "number": PatientFlow.person, "region": "440100", "year": "2026", "insurance_type": "310",
                "account_id": "personal:P440100000001", "month": "2026-11", "premium_id": premium.id, "report_id": reportID,
                "subscription_id": subscriptionID, "receipt_id": premium.id, "webhook_id": partnerID,
                "binding_id": family.binding, "member_number": "P440100000003", "line_id": line.line.id, "bill_id": bill, "partner": "sandbox",
            ]
            func fill(_ route: RouteDescription) -> String? {
                var parts: [String] = []
                for part in route.path.split(separator: "/", omittingEmptySubsequences: false) {
                    guard part.hasPrefix("{") else {
                        parts.append(String(part))
                        continue
                    }
                    let name = String(part.dropFirst().dropLast())
                    let value: String? =
                        name == "code" ? (route.path.contains("catalogue") ? "XD00000000001" : ServerHarness.hospital) : fixtures[name]
                    guard let value else { return nil }
                    parts.append(value)
                }
                return parts.joined(separator: "/")
            }

            // Bodies that pass validation, so that ownership (404) is what refuses another institution.
            let bodies: [String: String] = [
                "POST /v1/visits/{visit_id}/lines": #"{"lines":[\#(Body.line("9"))]}"#,
                "POST /v1/settlements/{settlement_id}/refunds": #"{"type":"cash","amount":1}"#,
            ]

            // act and verify: every route (deletions last), every caller (the owner last).
            let routes = harness.routes.sorted { ($0.method == .delete ? 1 : 0) < ($1.method == .delete ? 1 : 0) }
            #expect(routes.count >= 48)
            for route in routes {
                guard let path = fill(route) else {
                    Issue.record("no fixture for a parameter of \(route.method) \(route.path): add one to this test")
                    continue
                }
                for (index, caller) in CallerKind.allCases.enumerated() {
                    let response = try await client.send(
                        route.method, path, token: tokens[caller], json: bodies["\(route.method) \(route.path)"],
                        headers: [HTTPField.Name("Idempotency-Key")!: "matrix-\(route.path.hashValue)-\(index)"]
                    )
                    let status = response.status.code
                    #expect(status < 500, "\(route.method) \(route.path) as \(caller): \(status) \(response.text)")
                    switch Self.expectation(route, caller) {
                    case .allowed:
                        #expect(
                            ![401, 403, 404].contains(status),
                            "\(route.method) \(route.path) as \(caller) should be allowed: \(status) \(response.text)")
                    case .denied(let expected):
                        #expect(status == expected, "\(route.method) \(route.path) as \(caller) should be \(expected): \(status) \(response.text)")
                    }
                }
            }
        }
    }
}
