import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer
import YibaoStore

/// Payment orders (医保移动支付, national 6201): the institution creates an order for a visit's fee
/// lines; the patient, or a binder for a bound member, pays it on the phone; it settles exactly as a
/// scanned code would and the institution queries, cancels or refunds it.
@Suite("HTTP: payment orders paid on the phone")
struct PaymentOrderHTTPTests {
    typealias H = ServerHarness

    static let lines =
        Body.line("1", code: "XD00000000003", price: 2850, quantity: "2") + "," + Body.line("2", code: "S000000000061", price: 1000, quantity: "1")

    static func order(person: String = PatientFlow.person, number: String, minutes: Int? = nil, lines: String = lines) -> String {
        let expiry = minutes.map { #","expires_in_minutes":\#($0)"# } ?? ""
        return #"{"person_number":"\#(person)","category":"11","hospital_visit_number":"\#(number)","lines":[\#(lines)]\#(expiry)}"#
    }

    static func buckets(_ breakdown: SettlementBreakdown) -> [Int64] {
        [breakdown.totalAmount, breakdown.fundTotal, breakdown.accountPaid, breakdown.mutualAidPaid, breakdown.cashPaid].map(\.fen)
    }

    @Test(
        "paid by the patient: the figures of a counter settlement of the same lines, the cash from the card, once; queried, not cancellable, refunded",
        arguments: ServerHarness.databases)
    func paidByThePatient(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let patient = try await PatientFlow.signUp(client, harness)
            let stranger = try await PatientFlow.signUp(client, harness, person: "P440100000002", phone: "13800100002", cardIndex: 1)
            // The counter's figures for the same lines and the same state: a pre-settlement (nothing moves).
            let twin = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "PO-TWIN", lines: Self.lines))
            let twinID = try #require(twin.object["id"] as? String)
            let counter = try await client.send(.post, "/v1/visits/\(twinID)/pre-settlement", token: H.hospitalToken, json: "{}")
                .decode(SettlementPreview.self)

            let created = try await client.send(.post, "/v1/payment-orders", token: H.hospitalToken, json: Self.order(number: "PO-1"))
            #expect(created.status == .created, "\(created.text)")
            let order = try created.decode(PaymentOrderView.self)
            #expect(order.state == .awaitingPayment && order.total == Money(fen: 6700))
            #expect(order.preview.map { Self.buckets($0.breakdown) } == Self.buckets(counter.breakdown))
            let listed = try await client.send(.get, "/v1/patient/payment-orders", token: patient.token).decode([PaymentOrderView].self)
            #expect(listed.map(\.id) == [order.id])
            #expect(try await client.send(.get, "/v1/patient/payment-orders", token: stranger.token).decode([PaymentOrderView].self).isEmpty)

            let path = "/v1/patient/payment-orders/\(order.id)/payment"
            let notYours = try await client.send(.post, path, token: stranger.token, json: "{}", headers: OneCodeHTTPTests.key("po-x"))
            #expect(notYours.status == .notFound)
            let noKey = try await client.send(.post, path, token: patient.token, json: "{}")
            #expect(noKey.problem?.code == "idempotency_key_required")
            let paid = try await client.send(.post, path, token: patient.token, json: #"{"use_account":true}"#, headers: OneCodeHTTPTests.key("po-1"))
            #expect(paid.status == .created, "\(paid.text)")
            let record = try paid.decode(SettlementRecord.self)
            #expect(record.state == .completed)
            #expect(Self.buckets(record.breakdown) == Self.buckets(counter.breakdown))
            #expect(record.fundingSource != nil || record.breakdown.cashPaid == .zero)
            // The same key again: the first answer, nothing moved twice; another key: the order is paid.
            let retried = try await client.send(
                .post, path, token: patient.token, json: #"{"use_account":true}"#, headers: OneCodeHTTPTests.key("po-1"))
            #expect(retried.status == .created && retried.text == paid.text)
            let again = try await client.send(
                .post, path, token: patient.token, json: #"{"use_account":true}"#, headers: OneCodeHTTPTests.key("po-2"))
            #expect(again.status == .conflict && again.problem?.code == "payment_order_closed")

            let queried = try await client.send(.get, "/v1/payment-orders/\(order.id)", token: H.hospitalToken).decode(PaymentOrderView.self)
            #expect(queried.state == .paid && queried.settlement?.id == record.id && queried.payerNumber == nil)
            #expect(try await client.send(.get, "/v1/payment-orders/\(order.id)", token: H.otherHospitalToken).status == .notFound)
            let cancel = try await client.send(.delete, "/v1/payment-orders/\(order.id)", token: H.hospitalToken)
            #expect(cancel.problem?.code == "payment_order_closed")
            let refund = try await client.send(
                .post, "/v1/payment-orders/\(order.id)/refunds", token: H.hospitalToken, json: #"{"type":"lines","line_numbers":["2"]}"#,
                headers: OneCodeHTTPTests.key("po-r"))
            #expect(refund.status == .created, "\(refund.text)")
            let ledger = try await harness.platform.verifyLedger()
            #expect(ledger.passed, "\(ledger.problems)")
        }
    }

    @Test("a binder pays a bound member's order from the binder's card; a member cannot pay the binder's", arguments: ServerHarness.databases)
    func paidByABinder(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let (binder, member, _) = try await FamilyHTTPTests.bindFather(client, harness)
            let created = try await client.send(
                .post, "/v1/payment-orders", token: H.hospitalToken, json: Self.order(person: "P440100000003", number: "PO-F"))
            let order = try created.decode(PaymentOrderView.self)
            let seen = try await client.send(.get, "/v1/patient/payment-orders", token: binder.token).decode([PaymentOrderView].self)
            #expect(seen.map(\.id) == [order.id])
            for token in [binder.token, member.token] {
                let inbox = try await client.send(.get, "/v1/patient/inbox", token: token).decode([InboxMessage].self)
                #expect(inbox.contains { $0.topic == "payment_order" && $0.reference == order.id }, "both are told of the bill")
            }
            let own = try await client.send(.post, "/v1/payment-orders", token: H.hospitalToken, json: Self.order(number: "PO-B"))
            let binderOrder = try own.decode(PaymentOrderView.self)
            let reversed = try await client.send(
                .post, "/v1/patient/payment-orders/\(binderOrder.id)/payment", token: member.token, json: "{}", headers: OneCodeHTTPTests.key("po-m"))
            #expect(reversed.status == .notFound, "a member may not pay the binder's order")

            let paid = try await client.send(
                .post, "/v1/patient/payment-orders/\(order.id)/payment", token: binder.token, json: #"{"use_account":false}"#,
                headers: OneCodeHTTPTests.key("po-f"))
            #expect(paid.status == .created, "\(paid.text)")
            let record = try paid.decode(SettlementRecord.self)
            #expect(record.personNumber == "P440100000003" && record.breakdown.cashPaid.isPositive)
            #expect(record.fundingSource?.masked.hasSuffix(String(DemoData.cardNumber(0).suffix(4))) == true, "the binder's card paid")
            let queried = try await client.send(.get, "/v1/payment-orders/\(order.id)", token: H.hospitalToken).decode(PaymentOrderView.self)
            #expect(queried.state == .paid && queried.payerNumber == PatientFlow.person)
        }
    }

    @Test("an order expires: it cannot be paid, it can be cancelled; malformed orders are refused before anything is written")
    func expiryAndRefusals() async throws {
        try await H.withApp { client, harness in
            let patient = try await PatientFlow.signUp(client, harness)
            let order = try await client.send(.post, "/v1/payment-orders", token: H.hospitalToken, json: Self.order(number: "PO-E", minutes: 5))
                .decode(PaymentOrderView.self)
            harness.clock.advance(seconds: 301)
            // The session's second factor is older than five minutes now: the code goes with the payment.
            let code = PatientFlow.totp(patient.totpSecret, harness)
            let late = try await client.send(
                .post, "/v1/patient/payment-orders/\(order.id)/payment", token: patient.token, json: #"{"totp_code":"\#(code)"}"#,
                headers: OneCodeHTTPTests.key("po-e"))
            #expect(late.status == .conflict && late.problem?.code == "payment_order_closed", "\(late.text)")
            let queried = try await client.send(.get, "/v1/payment-orders/\(order.id)", token: H.hospitalToken).decode(PaymentOrderView.self)
            #expect(queried.state == .expired)
            let cancelled = try await client.send(.delete, "/v1/payment-orders/\(order.id)", token: H.hospitalToken).decode(PaymentOrderView.self)
            #expect(cancelled.state == .cancelled)

            let before = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            for (body, code) in [
                (Self.order(number: "PO-X1", minutes: 2), "invalid_request"), (Self.order(number: "PO-X2", lines: ""), "no_fee_lines"),
                (Self.order(person: "P999", number: "PO-X3"), "unknown_person"),
                (Self.order(number: "PO-X4", lines: Body.line(code: "NOPE")), "unknown_catalogue_item"),
            ] {
                let refused = try await client.send(.post, "/v1/payment-orders", token: H.hospitalToken, json: body)
                #expect(refused.problem?.code == code, "\(body): \(refused.text)")
            }
            let after = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            #expect(after == before)
        }
    }
}
