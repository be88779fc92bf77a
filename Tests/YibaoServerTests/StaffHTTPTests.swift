import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer

/// Institution staff at the counter: sign-in with password and authenticator, what a session may do
/// (its institution's routes; a manager also its staff), what the journal and the audit log record about
/// them, and the two reads the cashier console adds (catalogue search, the day's settlements).
@Suite("HTTP: institution staff and the cashier console's reads")
struct StaffHTTPTests {
    typealias H = ServerHarness

    static let cashierKey = AuthenticatorCode.manualKey("yibao-demo-cashier-key")
    static let managerKey = AuthenticatorCode.manualKey("yibao-demo-manager-key")

    static func signIn(
        _ client: any TestClientProtocol, _ harness: ServerHarness, name: String = "demo-cashier", key: String = cashierKey,
        password: String = DemoData.staffPassword, code: String? = nil
    ) async throws -> TestResponse {
        try await client.send(
            .post, "/v1/staff/sessions",
            json:
                #"{"institution_code":"\#(H.hospital)","name":"\#(name)","password":"\#(password)","totp_code":"\#(code ?? PatientFlow.totp(key, harness))"}"#
        )
    }

    @Test("a cashier signs in, settles, refunds and reads the day; the journal and the audit log name them", arguments: H.databases)
    func cashierSettles(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let signedIn = try await Self.signIn(client, harness)
            #expect(signedIn.status == .created, "\(signedIn.text)")
            let token = try #require(signedIn.object["token"] as? String)
            #expect(token.hasPrefix("sf_"))
            #expect((signedIn.object["staff"] as? [String: Any])?["display_name"] as? String == "李收款")
            // The same code again is refused: a code is accepted once.
            harness.clock.advance(seconds: 1)
            let replay = try await Self.signIn(client, harness)
            #expect(replay.status == .unauthorized && replay.problem?.code == "sign_in_failed")

            let visit = try await client.send(
                .post, "/v1/visits", token: token, json: Body.visit(number: "ST1", lines: Body.line() + "," + Body.line("2", code: "XD00000000002")))
            #expect(visit.status == .created, "\(visit.text)")
            let visitID = try #require(visit.object["id"] as? String)
            let settled = try await client.send(
                .post, "/v1/visits/\(visitID)/settlement", token: token, json: #"{"use_account":true}"#, headers: OneCodeHTTPTests.key("st-1"))
            #expect(settled.status == .created, "\(settled.text)")
            let record = try settled.decode(SettlementRecord.self)
            // A retry of the cashier's settlement with the same key answers the same record and moves nothing again.
            let retried = try await client.send(
                .post, "/v1/visits/\(visitID)/settlement", token: token, json: #"{"use_account":true}"#, headers: OneCodeHTTPTests.key("st-1"))
            #expect(try retried.decode(SettlementRecord.self).id == record.id)
            let refund = try await client.send(
                .post, "/v1/settlements/\(record.id)/refunds", token: token, json: #"{"type":"lines","line_numbers":["1"]}"#,
                headers: OneCodeHTTPTests.key("st-2"))
            #expect(refund.status == .created, "\(refund.text)")

            // Visits waiting: a visit left open is listed, the settled one is not.
            let waiting = try await client.send(
                .post, "/v1/visits", token: token, json: Body.visit(person: "P440100000002", number: "ST2", lines: Body.line()))
            let open = try await client.send(.get, "/v1/visits", token: token).decode([Visit].self)
            #expect(open.map(\.id) == [try #require(waiting.object["id"] as? String)], "\(open.map(\.id))")

            // The journal entries of the settlement and the refund name the cashier, and so does the audit log.
            let trail = try await harness.platform.auditTrail(subject: record.id)
            #expect(trail.contains { $0.actor == "institution:\(H.hospital)/staff:demo-cashier" && $0.action.hasPrefix("ledger.") }, "\(trail)")
            let requests = try await harness.platform.auditTrail(subject: "institution:\(H.hospital)")
            #expect(requests.filter { $0.action == "staff.request" && $0.actor.hasSuffix("staff:demo-cashier") }.count == 5)

            // The day: both records, the net of the completed ones.
            let day = try await client.send(.get, "/v1/settlements", token: token).decode(CounterDay.self)
            #expect(day.records.map(\.id).contains(record.id) && day.records.count == 2)
            #expect(day.totals.settlements == 1 && day.totals.givenBack == 1)
            #expect(day.totals.total == record.breakdown.totalAmount + (try refund.decode(SettlementRecord.self)).breakdown.totalAmount)
            let yesterday = try await client.send(.get, "/v1/settlements?day=2026-03-01", token: token).decode(CounterDay.self)
            #expect(yesterday.records.isEmpty && yesterday.totals.total == .zero)
            #expect(try await client.send(.get, "/v1/settlements?day=yesterday", token: token).problem?.field == "day")

            // The catalogue: by code prefix and by name, in the institution's region.
            let byCode = try await client.send(.get, "/v1/catalogue?q=XD0000000000&limit=3", token: token).decode([CatalogueItem].self)
            #expect(byCode.map(\.code) == ["XD00000000001", "XD00000000002", "XD00000000003"])
            let byName = try await client.send(.get, "/v1/catalogue?q=%E5%A4%B4%E5%AD%A2", token: token)
                .decode([CatalogueItem].self)
            #expect(!byName.isEmpty && byName.allSatisfy { $0.name.contains("头孢") && $0.region.value == "440100" })
            #expect(try await client.send(.get, "/v1/catalogue?q=XD&limit=500", token: token).problem?.field == "limit")

            // A cashier is not a manager; staff are not operators; another institution's settlement is not theirs.
            #expect(try await client.send(.get, "/v1/staff/members", token: token).status == .forbidden)
            #expect(try await client.send(.get, "/v1/admin/fund-report?from=2026-03-01&through=2026-03-02", token: token).status == .forbidden)
            let other = try await client.send(
                .post, "/v1/visits", token: H.otherHospitalToken, json: Body.visit(person: "P440100000002", number: "ST-O", lines: Body.line()))
            #expect(try await client.send(.get, "/v1/visits/\(try #require(other.object["id"] as? String))", token: token).status == .notFound)

            #expect(try await harness.platform.verifyLedger().passed, "the ledger balances after the cashier's settlement, retry and refund")
            // Signing out ends the session at once.
            #expect(try await client.send(.delete, "/v1/staff/sessions/current", token: token).status == .noContent)
            #expect(try await client.send(.get, "/v1/staff/me", token: token).status == .unauthorized)
        }
    }

    @Test("a manager creates and disables staff; a disabled member's session ends and they cannot sign in; wrong passwords lock")
    func managerAndLockout() async throws {
        try await H.withApp { client, harness in
            let manager = try #require(try await Self.signIn(client, harness, name: "demo-manager", key: Self.managerKey).object["token"] as? String)
            let weak = try await client.send(
                .post, "/v1/staff/members", token: manager, json: #"{"name":"trainee","display_name":"实习","role":"cashier","password":"short1"}"#)
            #expect(weak.status == .badRequest && weak.problem?.code == "weak_password", "\(weak.text)")
            let named = try await client.send(
                .post, "/v1/staff/members", token: manager,
                json: #"{"name":"trainee","display_name":"实习","role":"cashier","password":"Trainee-pass-1"}"#)
            #expect(named.problem?.code == "weak_password", "a password containing the login name is refused: \(named.text)")
            let badName = try await client.send(
                .post, "/v1/staff/members", token: manager, json: #"{"name":"A B","display_name":"实习","role":"cashier","password":"Trainee-pass-1"}"#)
            #expect(badName.problem?.field == "name")
            let created = try await client.send(
                .post, "/v1/staff/members", token: manager,
                json: #"{"name":"trainee","display_name":"王实习","role":"cashier","password":"Counter-pass-1"}"#)
            #expect(created.status == .created, "\(created.text)")
            let key = try #require(created.object["totp_secret"] as? String)
            let again = try await client.send(
                .post, "/v1/staff/members", token: manager,
                json: #"{"name":"trainee","display_name":"王实习","role":"cashier","password":"Counter-pass-1"}"#)
            #expect(again.status == .conflict)
            let trainee = try await Self.signIn(client, harness, name: "trainee", key: key, password: "Counter-pass-1")
            let traineeToken = try #require(trainee.object["token"] as? String, "\(trainee.text)")
            #expect(try await client.send(.post, "/v1/staff/members/demo-manager/disable", token: manager).status == .forbidden)
            #expect(try await client.send(.post, "/v1/staff/members/trainee/disable", token: manager).status == .noContent)
            #expect(try await client.send(.get, "/v1/staff/me", token: traineeToken).status == .unauthorized)
            harness.clock.advance(seconds: 30)
            let disabled = try await Self.signIn(client, harness, name: "trainee", key: key, password: "Counter-pass-1")
            #expect(disabled.status == .unauthorized && disabled.problem?.code == "sign_in_failed")
            let members = try await client.send(.get, "/v1/staff/members", token: manager).decode([StaffMember].self)
            #expect(members.first { $0.name == "trainee" }?.disabledAt != nil)

            // Five wrong passwords lock the cashier; the right one is then refused too, saying how long.
            for attempt in 1...5 {
                let wrong = try await Self.signIn(client, harness, password: "Wrong-pass-\(attempt)")
                #expect(wrong.status.code == (attempt < 5 ? 401 : 429), "attempt \(attempt): \(wrong.text)")
            }
            harness.clock.advance(seconds: 30)
            let locked = try await Self.signIn(client, harness)
            #expect(locked.status.code == 429 && locked.problem?.code == "account_locked")
            harness.clock.advance(seconds: 120)
            #expect(try await Self.signIn(client, harness).status == .created)
            // An unknown name answers exactly as a wrong password does.
            let unknown = try await Self.signIn(client, harness, name: "nobody")
            #expect(unknown.status == .unauthorized && unknown.problem?.code == "sign_in_failed")
        }
    }

    @Test("an administrator creates an institution's first manager; an unknown institution is a 404")
    func administratorCreates() async throws {
        try await H.withApp { client, harness in
            let created = try await client.send(
                .post, "/v1/admin/institutions/H44010000002/staff", token: H.adminToken,
                json: #"{"name":"first-manager","display_name":"赵主管","role":"manager","password":"Manager-pass-1"}"#)
            #expect(created.status == .created, "\(created.text)")
            #expect((created.object["otpauth_uri"] as? String)?.hasPrefix("otpauth://totp/") == true)
            let missing = try await client.send(
                .post, "/v1/admin/institutions/H00000000000/staff", token: H.adminToken,
                json: #"{"name":"first-manager","display_name":"赵主管","role":"manager","password":"Manager-pass-1"}"#)
            #expect(missing.status == .notFound)
            let listed = try await client.send(.get, "/v1/admin/institutions/H44010000002/staff", token: H.adminToken).decode([StaffMember].self)
            #expect(listed.map(\.name) == ["first-manager"] && listed[0].role == .manager)
            let trail = try await harness.platform.auditTrail(subject: "staff:H44010000002/first-manager")
            #expect(trail.map(\.action) == ["staff.create"] && trail[0].actor == "operator:demo-admin")
        }
    }
}
