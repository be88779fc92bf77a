import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

/// The money edges reproduced against a running server (issue: money edges and account security),
/// each as a hospital or a patient would send it. Before the settlement money state machine, the first
/// two killed the process (a precondition on the year-to-date figures) and the third refunded a card
/// more than it paid.
@Suite("HTTP: money edges")
struct MoneyEdgesHTTPTests {
    typealias H = ServerHarness

    static func key(_ value: String) -> HTTPFields { [HTTPField.Name("Idempotency-Key")!: value] }

    /// Opens and settles a visit of 张伟 by person number (his personal account pays the person part).
    static func settleByPersonNumber(_ client: some TestClientProtocol, visit: String) async throws -> SettlementRecord {
        let opened = try await client.send(
            .post, "/v1/visits", token: H.hospitalToken,
            json: Body.visit(number: visit, lines: Body.line("1", code: "XD00000000003", price: 2850, quantity: "2")))
        #expect(opened.status == .created, "\(opened.text)")
        let visitID = try #require(opened.object["id"] as? String)
        let settled = try await client.send(.post, "/v1/visits/\(visitID)/settlement", token: H.hospitalToken, headers: key(visit + "-s"))
        #expect(settled.status == .created, "\(settled.text)")
        return try settled.decode(SettlementRecord.self)
    }

    static func ledgerPasses(_ client: some TestClientProtocol) async throws -> Bool {
        try await client.send(.get, "/v1/admin/ledger/verification", token: H.adminToken).decode(LedgerReport.self).passed
    }

    @Test("1. an insurance refund, then 冲正 of the same settlement: 409 settlement_refunded, the server stays up, nothing credited twice")
    func refundThenReversal() async throws {
        try await H.withApp { client, harness in
            let before = try await harness.platform.accountBalance(of: PatientFlow.person).balance
            let settled = try await Self.settleByPersonNumber(client, visit: "EDGE1")
            let refund = try await client.send(
                .post, "/v1/settlements/\(settled.id)/refunds", token: H.hospitalToken, json: #"{"type":"insurance"}"#, headers: Self.key("edge1-r"))
            #expect(refund.status == .created, "\(refund.text)")

            let reversal = try await client.send(
                .post, "/v1/settlements/\(settled.id)/reversal", token: H.hospitalToken, headers: Self.key("edge1-v"))

            #expect(reversal.status == .conflict, "\(reversal.text)")
            #expect(reversal.problem?.code == "settlement_refunded")
            #expect(try await harness.platform.accountBalance(of: PatientFlow.person).balance == before)
            #expect(try await Self.ledgerPasses(client))
            // Still serving.
            #expect(try await client.send(.get, "/health").status == .ok)
        }
    }

    @Test("2. 冲正 of a one-code settlement whose card authorisation timed out: 409 settlement_not_completed, then it completes once")
    func reversalOfPending() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness)
            let faults = try await client.send(.put, "/v1/sandbox/faults", token: H.adminToken, json: #"{"timeouts_before_processing":1}"#)
            #expect(faults.status == .noContent, "\(faults.text)")
            var body = OneCodeHTTPTests.settlement(code: phone.code(harness), visit: "EDGE2")
            body.removeLast()
            body += #","use_account":false}"#
            let pay = try await client.send(.post, "/v1/settlements", token: H.hospitalToken, json: body, headers: Self.key("edge2"))
            #expect(pay.status == .serviceUnavailable && pay.problem?.code == "payment_pending", "\(pay.text)")
            let pendingID = try #require(pay.problem?.references?["settlement_id"])

            let reversal = try await client.send(.post, "/v1/settlements/\(pendingID)/reversal", token: H.hospitalToken, headers: Self.key("edge2-v"))

            #expect(reversal.status == .conflict, "\(reversal.text)")
            #expect(reversal.problem?.code == "settlement_not_completed")
            // The retry with the same key completes it, charging the card once.
            let retry = try await client.send(.post, "/v1/settlements", token: H.hospitalToken, json: body, headers: Self.key("edge2"))
            #expect(retry.status == .created, "\(retry.text)")
            let record = try retry.decode(SettlementRecord.self)
            #expect(record.id == pendingID && record.state == .completed)
            await harness.platform.flushAfterCommit()  // the capture, sent after the answer
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance == Money.yuan(5000) - record.breakdown.cashPaid)
            #expect(try await Self.ledgerPasses(client))
            #expect(try await client.send(.get, "/health").status == .ok)
        }
    }

    @Test("3. after an insurance refund, a cash refund larger than what the card paid is refused: 422 refund_exceeds_settlement")
    func cashRefundAboveCollected() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness)
            var body = OneCodeHTTPTests.settlement(code: phone.code(harness), visit: "EDGE3")
            body.removeLast()
            body += #","use_account":false}"#
            let pay = try await client.send(.post, "/v1/settlements", token: H.hospitalToken, json: body, headers: Self.key("edge3"))
            #expect(pay.status == .created, "\(pay.text)")
            let record = try pay.decode(SettlementRecord.self)
            let card = record.breakdown.cashPaid
            let insurance = try await client.send(
                .post, "/v1/settlements/\(record.id)/refunds", token: H.hospitalToken, json: #"{"type":"insurance"}"#, headers: Self.key("edge3-i"))
            #expect(insurance.status == .created, "\(insurance.text)")

            let tooMuch = try await client.send(
                .post, "/v1/settlements/\(record.id)/refunds", token: H.hospitalToken, json: #"{"type":"cash","amount":\#(card.fen + 100)}"#,
                headers: Self.key("edge3-c1"))
            let exact = try await client.send(
                .post, "/v1/settlements/\(record.id)/refunds", token: H.hospitalToken, json: #"{"type":"cash","amount":\#(card.fen)}"#,
                headers: Self.key("edge3-c2"))

            #expect(tooMuch.status == .unprocessableContent, "\(tooMuch.text)")
            #expect(tooMuch.problem?.code == "refund_exceeds_settlement")
            #expect(exact.status == .created, "\(exact.text)")
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance == Money.yuan(5000))
            #expect(try await harness.platform.pendingChannelOperations() == 0)
            #expect(try await Self.ledgerPasses(client))
        }
    }
}
