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

/// Every route × every kind of caller, generated from the route table: a new route whose access rule
/// or path parameters this test does not know fails it.
@Suite("HTTP: authorisation matrix")
struct AuthorizationMatrixTests {
    typealias H = ServerHarness
    /// The institution of the staff callers: a third one, so their writes are their own institution's.
    static let staffInstitution = "H44010000003"

    enum CallerKind: String, CaseIterable, CustomStringConvertible {
        case anonymous, patientB, institutionB, viewer, `operator`, administrator, institutionA, familyMember, patientA, cashierC, managerC
        var description: String { rawValue }
    }

    enum Expectation: Equatable {
        case allowed
        case denied(Int)
    }

    /// Parameters owned by institution A / patient A: another institution or patient gets 404.
    static let institutionOwned: Set<String> = ["visit_id", "settlement_id", "subscription_id", "clearing_id", "order_id"]
    static let patientOwned: Set<String> = [
        "device_id", "source_id", "session_id", "settlement_id", "premium_id", "binding_id", "member_number", "line_id", "bill_id", "order_id",
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
        "GET /v1/patient/family/members/{member_number}/medication-reminders": [.patientA, .familyMember],
        "PATCH /v1/patient/family/members/{member_number}/medication-reminders/{reminder_id}": [.patientA, .familyMember],
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
            case .institutionB, .cashierC, .managerC: return parameters.isDisjoint(with: institutionOwned) ? .allowed : .denied(404)
            case .anonymous: return .denied(401)
            default: return .denied(403)
            }
        case .operator(let required):
            let roles: [CallerKind: OperatorRole] = [.viewer: .viewer, .operator: .operator, .administrator: .administrator]
            if let role = roles[caller] { return role.includes(required) ? .allowed : .denied(403) }
            return caller == .anonymous ? .denied(401) : .denied(403)
        case .staff, .staffManager:
            switch caller {
            case .managerC: return .allowed
            case .cashierC: return route.access == .staff ? .allowed : .denied(403)
            case .anonymous: return .denied(401)
            default: return .denied(403)
            }
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
        if path.hasPrefix("/v1/patient/registration") || path.hasPrefix("/v1/patient/password-reset") || path.hasPrefix("/v1/patient/authenticator")
            || (path == "/v1/patient/sessions" && route.method == .post)
        {
            return "anyone"
        }
        if path.hasPrefix("/v1/patient/") { return "patient" }
        if path == "/v1/staff/sessions" && route.method == .post { return "anyone" }
        if path.hasPrefix("/v1/staff/") { return "staff" }
        if path.hasPrefix("/v1/admin/") || path.hasPrefix("/v1/sandbox/") { return "operator" }
        if path.hasPrefix("/v1/visits") || path.hasPrefix("/v1/settlements") || path.hasPrefix("/v1/webhooks")
            || path.hasPrefix("/v1/reconciliation/")
            || path.hasPrefix("/v1/clearings") || path.hasPrefix("/v1/payment-orders") || path == "/v1/catalogue" || path == "/v1/estimates"
        {
            return "institution"
        }
        if path.hasPrefix("/v1/receipts/") { return "anyone" }
        // The national gateway authenticates inside its envelope (its failures are envelopes, not problem documents).
        if path.hasPrefix("/fsi/api") { return "anyone" }
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
                case .staff, .staffManager: declared = "staff"
                }
                #expect(
                    Self.area(route) == declared,
                    "\(route.method) \(route.path) declares \(route.access); its area needs \(Self.area(route) ?? "a rule in this test")")
            }
        }
    }

    /// What a route is sent and what each caller gets back: `first` for the first caller the access rule
    /// admits, `again` for every later one (a second enrolment of the same person is a conflict, a read is
    /// the same read), and `override` where a body names someone else's data (another patient's person
    /// number, card or event): the exact status that caller must get.
    struct Probe {
        var body: String? = nil
        var query: String = ""
        var first: Int
        var again: Int? = nil
        var override: [CallerKind: Int] = [:]
    }

    @Test("every route refuses or admits every kind of caller as its rule says, with real bodies, and the exact status")
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
            let administrator = try await harness.platform.createOperator(name: "matrix-setup", role: .administrator)
            _ = try await harness.platform.createOperator(name: "matrix-victim", role: .viewer)
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
            let leakedKey = try await harness.platform.issueInstitutionKey(code: H.hospital)
            let adjustment = try await harness.platform.requestAdjustment(
                person: "P440100000005", amount: .yuan(20_000), reason: "matrix", actor: "operator:matrix-setup", threshold: .yuan(10_000),
                idempotency: IdempotencyRequest(key: "matrix-adjustment-1", fingerprint: "1"))
            let rejectable = try await harness.platform.requestAdjustment(
                person: "P440100000006", amount: .yuan(20_000), reason: "matrix", actor: "operator:matrix-setup", threshold: .yuan(10_000),
                idempotency: IdempotencyRequest(key: "matrix-adjustment-2", fingerprint: "2"))
            // Patient A's medical credit line with one bill (drawn up on 5 November), made in the past.
            let setupTime = harness.clock.now()
            harness.clock.set(Instant(iso8601: "2026-10-20T10:00:00+08:00")!)
            try await #require(harness.platform.sandbox).injectStrayCapture(reference: "MATRIX-STRAY", amount: .yuan(1))
            let line = try await harness.platform.applyForCredit(person: PatientFlow.person)
            _ = try await harness.platform.signFrictionless(
                person: PatientFlow.person, fundingSourceID: line.line.fundingSourceId, priority: .sourceFirst)
            let hospital = try #require(try await harness.platform.institution(code: H.hospital))
            let credited = try await harness.platform.openVisit(
                OpenVisitRequest(
                    personNumber: PatientFlow.person, category: .ordinaryOutpatient, hospitalVisitNumber: "MX-CREDIT",
                    lines: [FeeLine(lineNumber: "1", itemCode: "XD00000000003", unitPrice: Money(fen: 2850), quantity: Quantity(units: 2))],
                    frictionless: true),
                institution: hospital)
            let creditSettlement = try await harness.platform.settle(visitID: credited.id, institution: hospital, useAccount: false, idempotency: nil)
            // The father's drug at the same hospital: his reminder, which A (his binder) may look after.
            let fatherVisit = try await harness.platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P440100000003", category: .ordinaryOutpatient, hospitalVisitNumber: "MX-FATHER",
                    lines: [FeeLine(lineNumber: "1", itemCode: "XD00000000003", unitPrice: Money(fen: 2850), quantity: Quantity(units: 1))]),
                institution: hospital)
            let fatherSettlement = try await harness.platform.settle(
                visitID: fatherVisit.id, institution: hospital, useAccount: false, idempotency: nil)
            let fatherReminder = try #require(
                try await harness.platform.medicationReminders(person: "P440100000003").first { $0.settlementId == fatherSettlement.id })
            // Its drug line's medication reminder (no route reverses or refunds this settlement).
            let reminder = try #require(
                try await harness.platform.medicationReminders(person: PatientFlow.person).first { $0.settlementId == creditSettlement.id })
            harness.clock.set(Instant(iso8601: "2026-11-06T01:00:00+08:00")!)
            // Institution A's October clearing, applied for.
            let october = StatementPeriod.month(of: CivilDate("2026-10-01")!)
            let clearing = try await harness.platform.applyForClearing(
                institution: H.hospital, insuranceType: .employee, period: october, startedBy: "institution"
            ).clearing
            // A stray capture at the bank on 20 October: an item in the exception queue.
            _ = try await harness.platform.reconcileChannel(day: CivilDate("2026-10-20")!)
            let exception = try #require(try await harness.platform.exceptions(state: "open").first { $0.reference == "MATRIX-STRAY" })
            _ = try await harness.platform.runCreditDay()
            harness.clock.set(setupTime)
            // A payment order of institution A for patient A, to be paid on the phone.
            let order = try await harness.platform.createPaymentOrder(
                PaymentOrderRequest(
                    personNumber: PatientFlow.person, category: .ordinaryOutpatient, hospitalVisitNumber: "MX-ORDER",
                    lines: [FeeLine(lineNumber: "1", itemCode: "XD00000000003", unitPrice: Money(fen: 2850), quantity: Quantity(units: 2))]),
                institution: hospital)
            let bill = try #require(try await harness.platform.creditLine(id: line.line.id, person: PatientFlow.person).bills.first?.bill.id)
            var tokens: [CallerKind: String] = [
                .patientA: patientA.token, .patientB: patientB.token, .familyMember: family.member.token, .institutionA: H.hospitalToken,
                .institutionB: H.otherHospitalToken,
            ]
            for role in OperatorRole.allCases {
                let credential = try await harness.platform.createOperator(name: "matrix-\(role.rawValue)", role: role)
                tokens[CallerKind(rawValue: role.rawValue)!] = credential.token
            }
            // Staff of a third institution (sessions opened directly: the sign-in route is probed anonymously), and
            // a member of each institution to disable.
            for (institution, name, role) in [
                (Self.staffInstitution, "matrix-cashier", StaffRole.cashier), (Self.staffInstitution, "matrix-manager", .manager),
                (Self.staffInstitution, "matrix-victim", .cashier), (H.hospital, "matrix-victim", .cashier),
            ] {
                _ = try await harness.platform.createStaff(
                    institution: institution, name: name, displayName: name, role: role, passwordHash: "unused", totpSecret: "matrix-key",
                    actor: "test")
            }
            tokens[.cashierC] = try await harness.platform.openStaffSession(institution: Self.staffInstitution, name: "matrix-cashier", totpStep: 1)
                .token
            tokens[.managerC] = try await harness.platform.openStaffSession(institution: Self.staffInstitution, name: "matrix-manager", totpStep: 1)
                .token
            let fatherID = try #require(try await harness.platform.person(number: "P440100000003")?.idNumber)
            let ledgerBefore = try await harness.platform.verifyLedger()
            #expect(ledgerBefore.passed, "\(ledgerBefore.problems)")
            let fixtures: [String: String] = [
                "visit_id": visit.id, "settlement_id": settlement.id, "device_id": patientA.deviceID, "source_id": source,
                "session_id": secondSession,
                "card_number": DemoData.cardNumber(0), "number": PatientFlow.person, "region": "440100", "year": "2026", "insurance_type": "310",
                "account_id": "personal:P440100000001", "month": "2026-11", "premium_id": premium.id, "report_id": reportID,
                "subscription_id": subscriptionID, "receipt_id": premium.id, "webhook_id": partnerID,
                "binding_id": family.binding, "member_number": "P440100000003", "line_id": line.line.id, "bill_id": bill, "partner": "sandbox",
                "name": "matrix-victim", "key_id": leakedKey.keyId, "adjustment_id": adjustment.id, "clearing_id": clearing.id,
                "service": "signInSignOutService", "method": "signIn",
                "exception_id": exception.id, "order_id": order.id, "reminder_id": reminder.id,
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
                        name == "code"
                        ? (route.path.contains("catalogue") ? "XD00000000001" : ServerHarness.hospital)
                        : route.path.hasSuffix("token-revocation")
                            ? "matrix-setup"
                            : name == "reminder_id" && route.path.contains("/family/") ? fatherReminder.id : fixtures[name]
                    guard let value else { return nil }
                    parts.append(value)
                }
                return parts.joined(separator: "/")
            }
            let personOf = { (number: String, sequence: Int) -> String in
                let idNumber = IDNumber.make(region: "440106", birthDate: CivilDate(year: 1988, month: 8, day: 8)!, sequence: 700 + sequence)
                return #"{"number":"\#(number)","name":"矩阵","id_number":"\#(idNumber)","region":"440100","insurance_type":"310"}"#
            }
            let terms =
                #"{"partner_name":"沙箱银行","billing_day":5,"grace_days":20,"penalty_basis_points_per_day":5,"late_fee":0,"suspend_after_overdue_days":30}"#
            let policyFile = try DemoData.file("policies/440100-2026.json")
            let planFile = try DemoData.file("plans/440100.json")

            // The probes: every route, the body and query an owner would send, the exact answers.
            let probes: [String: Probe] = [
                "GET /health": Probe(first: 200),
                "GET /ready": Probe(first: 200),
                "GET /metrics": Probe(first: 200),
                "GET /openapi.json": Probe(first: 200),
                // Institutions.
                "POST /v1/visits": Probe(body: Body.visit(number: "MXV", lines: Body.line()), first: 201, override: [.managerC: 409]),
                "POST /v1/settlements": Probe(body: OneCodeHTTPTests.settlement(code: "881234567890123456789", visit: "MXS"), first: 422, again: 422),
                "GET /v1/visits/{visit_id}": Probe(first: 200),
                "POST /v1/visits/{visit_id}/lines": Probe(body: #"{"lines":[\#(Body.line("9"))]}"#, first: 200),
                "POST /v1/visits/{visit_id}/pre-settlement": Probe(first: 200),
                // Line 9 (added by the probe above) comes off once; the next callers find it gone.
                "POST /v1/visits/{visit_id}/lines/removal": Probe(body: #"{"line_numbers":["9"]}"#, first: 200, again: 400),
                "POST /v1/visits/{visit_id}/settlement": Probe(first: 201),
                // (Settled by the probe above: a settled visit is reversed before it is cancelled.)
                "POST /v1/visits/{visit_id}/cancellation": Probe(first: 409),
                "GET /v1/settlements/{settlement_id}": Probe(first: 200),
                // (Its reversal ran first: a reversed settlement is not refunded.)
                "POST /v1/settlements/{settlement_id}/refunds": Probe(body: #"{"type":"cash","amount":1}"#, first: 409),
                "POST /v1/settlements/{settlement_id}/reversal": Probe(first: 201),
                "GET /v1/settlements/{settlement_id}/receipt": Probe(first: 200),
                "GET /v1/settlements/{settlement_id}/receipt.html": Probe(first: 200),
                "POST /v1/webhooks": Probe(body: #"{"url":"https://hooks.example.com/mx","events":["*"]}"#, first: 201),
                "GET /v1/webhooks": Probe(first: 200),
                // Payment orders: created, queried, not refundable before it is paid, paid by patient A, then not cancellable.
                "POST /v1/payment-orders": Probe(
                    body: #"{"person_number":"P440100000001","category":"11","hospital_visit_number":"MXPO","lines":[\#(Body.line())]}"#, first: 201,
                    override: [.managerC: 409]),
                "GET /v1/payment-orders/{order_id}": Probe(first: 200),
                "POST /v1/payment-orders/{order_id}/refunds": Probe(body: #"{"type":"cash","amount":1}"#, first: 409),
                "GET /v1/patient/payment-orders": Probe(first: 200),
                "POST /v1/patient/payment-orders/{order_id}/payment": Probe(body: #"{"use_account":true}"#, first: 201),
                "DELETE /v1/payment-orders/{order_id}": Probe(first: 409),
                "DELETE /v1/webhooks/{subscription_id}": Probe(first: 204),
                "GET /v1/visits": Probe(first: 200),
                "POST /v1/estimates": Probe(body: #"{"person_number":"P440100000001","category":"11","lines":[\#(Body.line())]}"#, first: 200),
                "GET /v1/patient/institutions": Probe(first: 200),
                "POST /v1/patient/estimate": Probe(
                    body: #"{"institution_code":"\#(H.hospital)","category":"11","amounts":[{"item_class":"A","amount":10000}]}"#, first: 200),
                "GET /v1/catalogue": Probe(query: "?q=XD0000&limit=5", first: 200),
                "GET /v1/settlements": Probe(query: "?day=2026-11-22", first: 200),
                // Staff: sign-in (an unknown name: the answer is a wrong password's; the eleventh try in a minute is
                // too many), who am I, the institution's staff (managers), sign out last.
                "POST /v1/staff/sessions": Probe(
                    body: #"{"institution_code":"\#(Self.staffInstitution)","name":"matrix-nobody","password":"wrong pass 1","totp_code":"000000"}"#,
                    first: 401, override: [.managerC: 429]),
                "GET /v1/staff/me": Probe(first: 200),
                "GET /v1/staff/members": Probe(first: 200),
                "POST /v1/staff/members": Probe(
                    body: #"{"name":"matrix-new","display_name":"新员工","role":"cashier","password":"Counter-pass-2026"}"#, first: 201),
                "POST /v1/staff/members/{name}/disable": Probe(first: 204),
                // Run last, after the patients signed out everywhere: their tokens are no longer sessions.
                "DELETE /v1/staff/sessions/current": Probe(first: 204, override: [.patientA: 401, .patientB: 401, .familyMember: 401]),
                "GET /v1/admin/institutions/{code}/staff": Probe(first: 200),
                "POST /v1/admin/institutions/{code}/staff": Probe(
                    body: #"{"name":"matrix-new","display_name":"新主管","role":"manager","password":"Counter-pass-2026"}"#, first: 201, again: 409),
                "POST /v1/admin/institutions/{code}/staff/{name}/disable": Probe(first: 204),
                // Anyone: registration, sign-in and recovery (limited per phone and per address).
                "POST /v1/patient/registration/sms": Probe(
                    body: #"{"id_number":"440106199511301056","person_number":"P440100000005","phone":"13800100005"}"#, first: 202, again: 429),
                "POST /v1/patient/registration": Probe(
                    body:
                        #"{"id_number":"440106199511301056","person_number":"P440100000005","phone":"13800100005","sms_code":"000000","password":"matrix pass 1"}"#,
                    first: 422, override: [.managerC: 429]),
                // (The eleventh sign-in of a phone in a minute is too many.)
                "POST /v1/patient/sessions": Probe(
                    body: #"{"phone":"13900009999","password":"matrix pass 1","totp_code":"000000"}"#, first: 401, override: [.managerC: 429]),
                "POST /v1/patient/password-reset/sms": Probe(body: #"{"phone":"\#(PatientFlow.phone)"}"#, first: 202, again: 429),
                "POST /v1/patient/password-reset": Probe(
                    body: #"{"phone":"\#(PatientFlow.phone)","sms_code":"000000","totp_code":"000000","new_password":"matrix pass 2"}"#, first: 422),
                "POST /v1/patient/authenticator/sms": Probe(body: #"{"phone":"13800100002"}"#, first: 202, again: 429),
                "POST /v1/patient/authenticator": Probe(
                    body: #"{"phone":"13800100002","password":"\#(PatientFlow.password)","sms_code":"000000"}"#, first: 422,
                    override: [.managerC: 429]),
                "GET /v1/receipts/{receipt_id}/verification": Probe(query: "?code=WRONG", first: 200),
                // Patients.
                "GET /v1/patient/me": Probe(first: 200),
                "GET /v1/patient/sessions": Probe(first: 200),
                "DELETE /v1/patient/sessions": Probe(first: 204),
                "DELETE /v1/patient/sessions/{session_id}": Probe(first: 204),
                "POST /v1/patient/sessions/current/second-factor": Probe(body: #"{"totp_code":"000000"}"#, first: 422),
                "GET /v1/patient/devices": Probe(first: 200),
                "POST /v1/patient/devices": Probe(body: #"{"name":"矩阵手机"}"#, first: 201),
                "DELETE /v1/patient/devices/{device_id}": Probe(first: 204),
                "GET /v1/patient/devices/{device_id}/code": Probe(first: 200),
                "GET /v1/patient/devices/{device_id}/code.svg": Probe(first: 200),
                "GET /v1/patient/settlements/{settlement_id}/receipt": Probe(first: 200),
                "GET /v1/patient/settlements/{settlement_id}/receipt.html": Probe(first: 200),
                "GET /v1/patient/funding-sources": Probe(first: 200),
                // Someone else's card: the bank refuses to bind it to B or to the father; A has it already.
                "POST /v1/patient/funding-sources": Probe(
                    body: #"{"card_number":"\#(DemoData.cardNumber(0))"}"#, first: 422, override: [.patientA: 409]),
                "PUT /v1/patient/funding-sources/{source_id}/default": Probe(first: 200),
                "DELETE /v1/patient/funding-sources/{source_id}": Probe(first: 204),
                "GET /v1/patient/wallet": Probe(first: 200),
                "GET /v1/patient/history": Probe(query: "?limit=5&kind=settlement", first: 200),
                "GET /v1/patient/history.csv": Probe(query: "?kind=settlement", first: 200),
                "GET /v1/patient/items": Probe(query: "?institution=\(H.hospital)", first: 200),
                "GET /v1/patient/statements/{month}": Probe(first: 200),
                "GET /v1/patient/statements/{month}/page": Probe(first: 200),
                "GET /v1/patient/inbox": Probe(first: 200),
                "POST /v1/patient/inbox/read": Probe(body: #"{"through_seq":1}"#, first: 204),
                "GET /v1/patient/medication-reminders": Probe(first: 200),
                // A's reminder: only A may turn it off.
                "PATCH /v1/patient/medication-reminders/{reminder_id}": Probe(body: #"{"state":"off"}"#, first: 404, override: [.patientA: 200]),
                // Reporting A's movement: only A may.
                "POST /v1/patient/reports": Probe(
                    body: #"{"event_id":"\#(event.events[0].id)","reason":"not mine"}"#, first: 404, override: [.patientA: 201]),
                "GET /v1/patient/reports": Probe(first: 200),
                // The father's contributions: A (his binder) and he may see them; B may not.
                "GET /v1/patient/premiums": Probe(query: "?person_number=P440100000003", first: 200, override: [.patientB: 404]),
                // A's own contribution: B and the father may not pay it.
                "POST /v1/patient/premiums": Probe(
                    body: #"{"person_number":"P440100000001","kind":"flexible_monthly","period":"2026-12","amount":58000}"#, first: 404,
                    override: [.patientA: 201]),
                "GET /v1/patient/premiums/{premium_id}/receipt": Probe(first: 200),
                "GET /v1/patient/coverage": Probe(first: 200),
                // Binding A's father: B may ask (the father is told, and declines or the one-family rule refuses it at
                // confirmation), the father cannot bind himself, A has him already.
                "POST /v1/patient/family/bindings": Probe(
                    body: #"{"member_number":"P440100000003","member_id_number":"\#(fatherID)","relationship":"parent"}"#, first: 201,
                    override: [.familyMember: 400, .patientA: 409]),
                "GET /v1/patient/family/bindings": Probe(first: 200),
                "POST /v1/patient/family/bindings/{binding_id}/confirm": Probe(
                    body: #"{"face_evidence":"sandbox-face:P440100000003"}"#, first: 409),
                "POST /v1/patient/family/bindings/{binding_id}/decline": Probe(first: 409),
                "POST /v1/patient/family/bindings/{binding_id}/cancel": Probe(first: 409),
                "DELETE /v1/patient/family/bindings/{binding_id}": Probe(first: 200, again: 409),
                "GET /v1/patient/family/members/{member_number}/wallet": Probe(first: 200),
                "GET /v1/patient/family/members/{member_number}/history": Probe(first: 200),
                "GET /v1/patient/family/members/{member_number}/items": Probe(first: 200),
                "GET /v1/patient/family/members/{member_number}/medication-reminders": Probe(first: 200),
                "PATCH /v1/patient/family/members/{member_number}/medication-reminders/{reminder_id}": Probe(body: #"{"state":"off"}"#, first: 200),
                "GET /v1/patient/family/activity": Probe(first: 200),
                "GET /v1/patient/face-verification": Probe(first: 200),
                "POST /v1/patient/credit/lines": Probe(body: "{}", first: 201, override: [.patientA: 409]),
                "GET /v1/patient/credit/lines": Probe(first: 200),
                "GET /v1/patient/credit/lines/{line_id}": Probe(first: 200),
                "GET /v1/patient/credit/lines/{line_id}/entries": Probe(first: 200),
                "GET /v1/patient/credit/bills/{bill_id}": Probe(first: 200),
                "GET /v1/patient/credit/lines/{line_id}/repayments": Probe(first: 200),
                "POST /v1/patient/credit/lines/{line_id}/repayments": Probe(body: #"{"amount":100,"source":"account"}"#, first: 201),
                "GET /v1/patient/frictionless": Probe(first: 200),
                // A's funding source in someone else's authorisation: not theirs.
                "PUT /v1/patient/frictionless": Probe(
                    body: #"{"funding_source_id":"\#(source)","priority":"source_first"}"#, first: 404, override: [.patientA: 200]),
                "DELETE /v1/patient/frictionless": Probe(first: 204),
                // Operators.
                "GET /v1/admin/institutions": Probe(first: 200),
                "PUT /v1/admin/institutions/{code}": Probe(body: #"{"name":"广州示例市第二人民医院","region":"440100","level":"3"}"#, first: 200),
                "POST /v1/admin/institutions/{code}/keys": Probe(first: 201),
                "GET /v1/admin/institutions/{code}/keys": Probe(first: 200),
                "DELETE /v1/admin/institutions/{code}/keys/{key_id}": Probe(first: 204),
                "GET /v1/admin/operators": Probe(first: 200),
                "GET /v1/admin/me": Probe(first: 200),
                // Each admitted caller moves the sandbox's clock a second forward.
                "GET /v1/sandbox/clock": Probe(first: 200),
                "POST /v1/sandbox/clock/advance": Probe(body: #"{"seconds":1}"#, first: 200),
                "POST /v1/admin/operators": Probe(body: #"{"name":"matrix-new-operator","role":"viewer"}"#, first: 201, again: 409),
                "POST /v1/admin/operators/{name}/tokens": Probe(first: 201),
                "POST /v1/admin/operators/{name}/disable": Probe(first: 204),
                "PUT /v1/admin/operators/{name}/role": Probe(body: #"{"role":"operator"}"#, first: 204),
                "POST /v1/admin/operators/{name}/token-revocation": Probe(first: 204),
                "GET /v1/admin/policies": Probe(first: 200),
                "PUT /v1/admin/policies/{region}/{year}": Probe(body: policyFile, first: 200),
                "GET /v1/admin/policies/{region}/{year}/{insurance_type}": Probe(first: 200),
                "GET /v1/admin/plans": Probe(first: 200),
                "PUT /v1/admin/plans/{region}/{year}": Probe(body: planFile, first: 200),
                "GET /v1/admin/plans/{region}/{year}": Probe(first: 200),
                "GET /v1/admin/plans/{region}/{year}/claims": Probe(query: "?from=2026-11-01&through=2026-11-30", first: 200),
                "POST /v1/admin/catalogue": Probe(
                    body: "region,code,name,specification,category,class,price_cap_yuan,first_self_pay_percent\n440100,MX0001,矩阵药,1盒,drug,A,,\n",
                    first: 200),
                "GET /v1/admin/catalogue/{region}/{code}": Probe(first: 200),
                "POST /v1/admin/people": Probe(body: personOf("PMX000001", 1), first: 201, again: 409),
                "GET /v1/admin/people/{number}": Probe(first: 200),
                "POST /v1/admin/people/{number}/authenticator-reset": Probe(
                    body: #"{"id_number":"440106199001010000","reason":"matrix"}"#, first: 422),
                "POST /v1/admin/people/{number}/adjustments": Probe(body: #"{"amount":100,"reason":"matrix"}"#, first: 201),
                "GET /v1/admin/adjustments": Probe(query: "?state=pending", first: 200),
                "POST /v1/admin/adjustments/{adjustment_id}/approval": Probe(first: 200),
                "POST /v1/admin/adjustments/{adjustment_id}/rejection": Probe(first: 409),
                "GET /v1/admin/ledger/verification": Probe(first: 200),
                "GET /v1/admin/audit/verification": Probe(first: 200),
                "GET /v1/admin/accounts/{account_id}": Probe(first: 200),
                "GET /v1/admin/family/reviews": Probe(first: 200),
                // A binding the member confirmed is not waiting for review.
                "PUT /v1/admin/family/reviews/{binding_id}": Probe(body: #"{"decision":"approve"}"#, first: 404),
                "GET /v1/admin/credit/partners": Probe(first: 200),
                "PUT /v1/admin/credit/partners/{partner}": Probe(body: terms, first: 200),
                "POST /v1/admin/credit/daily-run": Probe(first: 200),
                "GET /v1/admin/credit/reports": Probe(first: 200),
                "GET /v1/admin/credit/delinquency": Probe(query: "?date=2026-12-31", first: 200),
                "POST /v1/admin/webhooks": Probe(
                    body: #"{"url":"https://partner.example.com/h","events":["premium.paid"],"partner":"insurer"}"#, first: 201),
                "GET /v1/admin/webhooks": Probe(first: 200),
                "DELETE /v1/admin/webhooks/{webhook_id}": Probe(first: 204),
                "GET /v1/admin/reports": Probe(query: "?state=open", first: 200),
                "PUT /v1/admin/reports/{report_id}": Probe(body: #"{"resolution":"recognised","note":"matrix"}"#, first: 200, again: 409),
                // Reconciliation and clearing: institution B has nothing to clear; A's application is open already.
                "POST /v1/reconciliation/totals": Probe(body: #"{"from":"2026-11-01","through":"2026-11-21","lines":[]}"#, first: 200),
                "POST /v1/reconciliation/details": Probe(
                    body: Reconciliation.detailColumns.joined(separator: "\t") + "\n", query: "?from=2026-11-01&through=2026-11-21", first: 200),
                "POST /v1/clearings": Probe(
                    body: #"{"insurance_type":"310","from":"2026-10-01","through":"2026-10-31"}"#, first: 422, override: [.institutionA: 200]),
                "GET /v1/clearings": Probe(first: 200),
                "GET /v1/clearings/{clearing_id}": Probe(first: 200),
                "DELETE /v1/clearings/{clearing_id}": Probe(first: 409),
                "GET /v1/admin/reconciliations": Probe(first: 200),
                "POST /v1/admin/clearings": Probe(
                    body: #"{"institution_code":"\#(H.hospital)","insurance_type":"310","from":"2026-10-01","through":"2026-10-31"}"#, first: 200),
                "GET /v1/admin/clearings": Probe(query: "?state=applied", first: 200),
                "GET /v1/admin/clearings/{clearing_id}": Probe(first: 200),
                "POST /v1/admin/clearings/{clearing_id}/deductions": Probe(body: #"{"amount":1,"reason":"matrix"}"#, first: 200),
                "POST /v1/admin/clearings/{clearing_id}/approval": Probe(first: 200),
                // The institution's PUT above replaced it without a payout account.
                "POST /v1/admin/clearings/{clearing_id}/run": Probe(first: 422),
                "POST /v1/admin/clearings/{clearing_id}/payout": Probe(body: #"{"paid":true,"bank_reference":"MX"}"#, first: 409),
                "DELETE /v1/admin/clearings/{clearing_id}": Probe(first: 409),
                "GET /v1/admin/payment-instructions.csv": Probe(first: 200),
                "GET /v1/admin/exceptions": Probe(first: 200),
                // The national gateway answers every caller with an envelope (here infcode -1: no gateway headers).
                "POST /fsi/api": Probe(body: "{}", first: 200),
                "POST /fsi/api/{service}": Probe(body: "{}", first: 200),
                "POST /fsi/api/{service}/{method}": Probe(body: "{}", first: 200),
                "POST /v1/admin/exceptions/{exception_id}/resolution": Probe(body: #"{"resolution":"matrix"}"#, first: 200, again: 409),
                "POST /v1/admin/channel-reconciliation": Probe(body: #"{"day":"2026-11-20"}"#, first: 200),
                "POST /v1/admin/daily-close": Probe(body: #"{"day":"2026-11-20"}"#, first: 200),
                "GET /v1/admin/daily-closes": Probe(query: "?from=2026-11-01&through=2026-11-30", first: 200),
                "GET /v1/admin/calendar": Probe(first: 200),
                "GET /v1/admin/fund-report": Probe(query: "?from=2026-11-01&through=2026-11-30", first: 200),
                "GET /v1/admin/fund-report.csv": Probe(query: "?from=2026-11-01&through=2026-11-30&verify=true", first: 200),
                "POST /v1/sandbox/cards": Probe(body: #"{"person_number":"P440100000005","kind":"debit","balance":100}"#, first: 201),
                "GET /v1/sandbox/cards/{card_number}": Probe(first: 200),
                "PUT /v1/sandbox/faults": Probe(body: "{}", first: 204),
                "GET /v1/sandbox/messages": Probe(query: "?phone=13800100005", first: 200),
                "PUT /v1/sandbox/credit-standing": Probe(body: #"{"person_number":"P440100000005","score":700}"#, first: 204),
            ]
            _ = rejectable

            // A minute later: the phones' one-SMS-a-minute limits of the setup have passed.
            harness.clock.advance(seconds: 61)
            // act and verify: every route (deletions last, signing out everywhere at the very end), every caller (the owner last;
            // the staff after: their eleventh tries of an anonymous route in a minute are too many).
            let last = ["DELETE /v1/patient/sessions", "DELETE /v1/staff/sessions/current"]
            let routes = harness.routes.sorted {
                let rank = { (r: RouteDescription) -> Int in
                    last.firstIndex(of: "\(r.method) \(r.path)").map { 2 + $0 } ?? (r.method == .delete ? 1 : 0)
                }
                return rank($0) < rank($1)
            }
            #expect(routes.count >= 115)
            var mismatches: [String] = []
            for route in routes {
                let key = "\(route.method) \(route.path)"
                guard let probe = probes[key] else {
                    Issue.record("no probe for \(key): add one to this test")
                    continue
                }
                guard let path = fill(route) else {
                    Issue.record("no fixture for a parameter of \(key): add one to this test")
                    continue
                }
                var admitted = 0
                for (index, caller) in CallerKind.allCases.enumerated() {
                    let response = try await client.send(
                        route.method, path + probe.query, token: tokens[caller], json: probe.body,
                        headers: [HTTPField.Name("Idempotency-Key")!: "matrix-\(key.hashValue)-\(index)"]
                    )
                    let status = Int(response.status.code)
                    #expect(status < 500, "\(key) as \(caller): \(status) \(response.text)")
                    let expected: Int
                    switch Self.expectation(route, caller) {
                    case .denied(let code):
                        expected = probe.override[caller] ?? code
                    case .allowed:
                        expected = probe.override[caller] ?? (admitted == 0 ? probe.first : probe.again ?? probe.first)
                        admitted += 1
                    }
                    if status != expected {
                        mismatches.append("\(key) as \(caller): expected \(expected), got \(status) \(response.problem?.code ?? "")")
                    }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) mismatches:\n\(mismatches.joined(separator: "\n"))")
            // Everything the matrix moved is still one balanced ledger.
            let ledger = try await harness.platform.verifyLedger()
            #expect(ledger.passed, "\(ledger.problems)")
        }
    }
}
