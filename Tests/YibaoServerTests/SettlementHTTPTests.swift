import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

@Suite("HTTP: visits, settlement, reversal")
struct SettlementHTTPTests {
    typealias H = ServerHarness

    @Test("open → pre-settle → settle → retry → reverse, and the ledger verifies")
    func settlementLifecycle() async throws {
        try await H.withApp { client, harness in
            // setup: open a visit with a class B drug (10 % first self-pay) and a consultation.
            let opened = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken,
                json: Body.visit(
                    number: "MZ1",
                    lines: Body.line("1", code: "XD00000000003", price: 2850, quantity: "2") + ","
                        + Body.line("2", code: "S000000000061", price: 1000, quantity: "1"))
            )
            #expect(opened.status == .created)
            let visit = try opened.decode(Visit.self)
            #expect(visit.total == Money(fen: 6700))
            #expect(visit.lines[0].firstSelfPay == Money(fen: 570))

            // act: pre-settle, then settle
            let preview = try await client.send(.post, "/v1/visits/\(visit.id)/pre-settlement", token: H.hospitalToken)
            #expect(preview.status == .ok)
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "settle-MZ1"]
            let settled = try await client.send(
                .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, json: #"{"use_account":true}"#, headers: key)
            #expect(settled.status == .created)
            let record = try settled.decode(SettlementRecord.self)
            // Guangzhou employee outpatient at level 3: no deductible, 65 %.
            #expect(record.breakdown.pooledFund == Money(fen: 3985))
            #expect(record.breakdown.accountPaid == Money(fen: 2715))
            #expect(record.breakdown.cashPaid == .zero)
            #expect(settled.object["breakdown"].flatMap { ($0 as? [String: Any])?["medfee_sumamt"] } as? Int == 6700)

            // verify: a retry with the same key returns the same bytes; the same key with another body is refused
            let retried = try await client.send(
                .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, json: #"{"use_account":true}"#, headers: key)
            #expect(retried.status == .created)
            #expect(retried.text == settled.text)
            let reused = try await client.send(
                .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, json: #"{"use_account":false}"#, headers: key)
            #expect(reused.status == .conflict)
            #expect(reused.problem?.code == "idempotency_key_reused")

            let fetched = try await client.send(.get, "/v1/settlements/\(record.id)", token: H.hospitalToken)
            #expect(try fetched.decode(SettlementRecord.self).id == record.id)
            let otherHospital = try await client.send(.get, "/v1/settlements/\(record.id)", token: H.otherHospitalToken)
            #expect(otherHospital.status == .notFound)

            // act: reverse
            let reversal = try await client.send(
                .post, "/v1/settlements/\(record.id)/reversal", token: H.hospitalToken, headers: [HTTPField.Name("Idempotency-Key")!: "reverse-MZ1"]
            )
            #expect(reversal.status == .created)
            #expect(try reversal.decode(SettlementRecord.self).breakdown.totalAmount == Money(fen: -6700))
            let verification = try await client.send(.get, "/v1/admin/ledger/verification", token: H.adminToken)
            #expect(try verification.decode(LedgerReport.self).passed)
            let account = try await client.send(.get, "/v1/admin/accounts/personal:P440100000001", token: H.adminToken)
            #expect(account.object["balance"] as? Int == 320_000)
        }
    }

    /// Bad input of every kind: a 4xx problem document that names the field; never a 500.
    @Test(
        "bad input gets a clear 4xx problem naming the field",
        arguments: [
            ("malformed JSON", #"{"person_number": "P440100000001", "#, 400, "invalid_request", "body"),
            ("missing field", #"{"category":"11","hospital_visit_number":"X1"}"#, 400, "invalid_request", "person_number"),
            (
                "wrong type", Body.visit(number: "X2", lines: #"{"line_number":"1","item_code":"XD00000000001","unit_price":"12.80","quantity":1}"#),
                400, "invalid_request", "lines[0].unit_price"
            ),
            (
                "decimal fen",
                Body.visit(number: "X3", lines: Body.line(price: 0).replacingOccurrences(of: "\"unit_price\":0", with: "\"unit_price\":12.8")), 400,
                "invalid_request", "lines[0].unit_price"
            ),
            ("negative price", Body.visit(number: "X4", lines: Body.line(price: -100)), 400, "invalid_request", "lines[0].unit_price"),
            ("absurd price", Body.visit(number: "X5", lines: Body.line(price: 99_999_999_999)), 400, "invalid_request", "lines[0].unit_price"),
            ("zero quantity", Body.visit(number: "X6", lines: Body.line(quantity: "0")), 400, "invalid_request", "lines[0].quantity"),
            ("five decimals", Body.visit(number: "X7", lines: Body.line(quantity: "1.00001")), 400, "invalid_request", "lines[0].quantity"),
            ("absurd quantity", Body.visit(number: "X8", lines: Body.line(quantity: "1e30")), 400, "invalid_request", "lines[0].quantity"),
            (
                "unknown category", #"{"person_number":"P440100000001","category":"77","hospital_visit_number":"X9"}"#, 400, "invalid_request",
                "category"
            ),
            ("unknown item", Body.visit(number: "X10", lines: Body.line(code: "NOPE")), 422, "unknown_catalogue_item", "lines[0].item_code"),
            ("unknown person", Body.visit(person: "P000", number: "X11", lines: Body.line()), 422, "unknown_person", "person_number"),
            (
                "duplicate line", Body.visit(number: "X12", lines: Body.line("1") + "," + Body.line("1")), 400, "invalid_request",
                "lines[1].line_number"
            ),
            ("not an object", "[1,2,3]", 400, "invalid_request", "body"),
            ("empty body", "", 400, "invalid_request", "body"),
        ] as [(String, String, Int, String, String)])
    func badInput(name: String, body: String, status: Int, code: String, field: String) async throws {
        try await H.withApp { client, _ in
            let response = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: body)
            #expect(response.status.code == status, "\(name): \(response.text)")
            #expect(response.headers[.contentType] == "application/problem+json", "\(name)")
            let problem = try #require(response.problem, "\(name): \(response.text)")
            #expect(problem.code == code, "\(name)")
            #expect(problem.field == field, "\(name): \(problem.detail)")
            #expect(!problem.detail.isEmpty)
        }
    }

    @Test("the demo Guangzhou residents' policy: a first level-3 stay of 60,000.00 gets 210.00 of catastrophic insurance (hifmi_pay)")
    func residentCatastrophicOnTheDemoPolicy() async throws {
        try await H.withApp { client, _ in
            let body =
                #"{"person_number":"P440100000009","category":"21","hospital_visit_number":"ZY-CAT-1","lines":[\#(Body.line(price: 6_000_000, quantity: "1"))]}"#
            let visit = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: body)
            let id = try #require(visit.object["id"] as? String, "\(visit.text)")
            let settled = try await client.send(
                .post, "/v1/visits/\(id)/settlement", token: H.hospitalToken, json: #"{"use_account":false}"#, headers: OneCodeHTTPTests.key("cat-1"))
            let b = try settled.decode(SettlementRecord.self).breakdown
            #expect(b.pooledFund == .yuan(41_650) && b.catastrophicFund == .yuan(210) && b.personTotal == .yuan(18_140), "\(settled.text)")
        }
    }

    @Test("credentials: missing, wrong and of the wrong kind are refused")
    func credentials() async throws {
        try await H.withApp { client, _ in
            let body = Body.visit(number: "A1", lines: Body.line())
            let none = try await client.send(.post, "/v1/visits", json: body)
            #expect(none.status == .unauthorized && none.problem?.code == "unauthenticated")
            let wrong = try await client.send(.post, "/v1/visits", token: "Kdemo-\(H.hospital).wrong-secret", json: body)
            #expect(wrong.status == .unauthorized)
            let garbage = try await client.send(.post, "/v1/visits", token: "🙂", json: body)
            #expect(garbage.status == .unauthorized)
            let operatorOnHospitalRoute = try await client.send(.post, "/v1/visits", token: H.adminToken, json: body)
            #expect(operatorOnHospitalRoute.status == .forbidden)
            let hospitalOnAdminRoute = try await client.send(.get, "/v1/admin/institutions", token: H.hospitalToken)
            #expect(hospitalOnAdminRoute.status == .forbidden)
        }
    }

    @Test("money-moving requests need an Idempotency-Key; unknown routes are 404 problems")
    func idempotencyKeyAndRoutes() async throws {
        try await H.withApp { client, _ in
            let opened = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "K1", lines: Body.line()))
            let visit = try opened.decode(Visit.self)
            let noKey = try await client.send(.post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken)
            #expect(noKey.status == .badRequest && noKey.problem?.code == "idempotency_key_required")
            let missingVisit = try await client.send(.post, "/v1/visits/V0/pre-settlement", token: H.hospitalToken)
            #expect(missingVisit.status == .notFound)
            let noRoute = try await client.send(.get, "/v1/nothing-here")
            #expect(noRoute.status == .notFound && noRoute.problem?.code == "not_found")
            let emptyVisit = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken, json: #"{"person_number":"P440100000001","category":"11","hospital_visit_number":"K2"}"#)
            let empty = try emptyVisit.decode(Visit.self)
            let noLines = try await client.send(.post, "/v1/visits/\(empty.id)/pre-settlement", token: H.hospitalToken)
            #expect(noLines.status == .unprocessableContent && noLines.problem?.code == "no_fee_lines")
        }
    }
}
