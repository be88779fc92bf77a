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

/// Operations the authorisation matrix reached only for their status, each tested for what it does.
@Suite("HTTP: the patient's and the bureau's smaller operations, for what they do")
struct PatientOperationsHTTPTests {
    typealias H = ServerHarness

    static func sources(_ client: some TestClientProtocol, _ token: String) async throws -> [[String: Any]] {
        let response = try await client.send(.get, "/v1/patient/funding-sources", token: token)
        return (try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]]) ?? []
    }

    @Test("the default funding source pays the next code's cash part; a removed source is gone and pays nothing")
    func defaultAndRemovedSources() async throws {
        try await H.withApp { client, harness in
            // setup: two cards, the first bound is the default.
            let phone = try await PatientFlow.signUp(client, harness)
            let idNumber = try #require(try await harness.platform.person(number: PatientFlow.person)?.idNumber)
            let second = try #require(
                try await harness.platform.sandbox?.issueCard(holderIDNumber: idNumber, holderName: "张伟", kind: .debit, balance: .yuan(800)))
            #expect(
                try await client.send(.post, "/v1/patient/funding-sources", token: phone.token, json: #"{"card_number":"\#(second.number)"}"#).status
                    == .created)
            let bound = try await Self.sources(client, phone.token)
            #expect(bound.count == 2 && bound.filter { $0["is_default"] as? Bool == true }.count == 1)
            let secondID = try #require(
                bound.first { ($0["masked"] as? String)?.hasSuffix(String(second.number.suffix(4))) == true }?["id"] as? String)
            // act: the second card becomes the default; a code settlement's cash part comes from it.
            let made = try await client.send(.put, "/v1/patient/funding-sources/\(secondID)/default", token: phone.token)
            #expect(made.status == .ok)
            var body = OneCodeHTTPTests.settlement(code: phone.code(harness), visit: "DEF1")
            body.removeLast()
            body += #","use_account":false}"#
            let paid = try await client.send(.post, "/v1/settlements", token: H.hospitalToken, json: body, headers: OneCodeHTTPTests.key("def-1"))
            let record = try paid.decode(SettlementRecord.self)
            #expect(record.fundingSource?.id == secondID)
            await harness.platform.flushAfterCommit()  // the capture, sent after the answer
            #expect(try await harness.platform.sandbox?.card(second.number)?.balance == .yuan(800) - record.breakdown.cashPaid)
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(0))?.balance == .yuan(5000))
            // The second card removed: it is no longer listed, and the next cash part has no default to come from.
            #expect(try await client.send(.delete, "/v1/patient/funding-sources/\(secondID)", token: phone.token).status == .noContent)
            let left = try await Self.sources(client, phone.token)
            #expect(left.count == 1 && left[0]["id"] as? String != secondID)
            harness.clock.advance(seconds: 30)
            var next = OneCodeHTTPTests.settlement(code: phone.code(harness), visit: "DEF2")
            next.removeLast()
            next += #","use_account":false}"#
            let counter = try await client.send(.post, "/v1/settlements", token: H.hospitalToken, json: next, headers: OneCodeHTTPTests.key("def-2"))
            let counterRecord = try counter.decode(SettlementRecord.self)
            #expect(counterRecord.cashCollection == .counter && counterRecord.fundingSource == nil)
            #expect(try await harness.platform.sandbox?.card(second.number)?.balance == .yuan(800) - record.breakdown.cashPaid)
            #expect(try await harness.platform.verifyLedger().passed)
        }
    }

    @Test("marking messages read keeps them and records when; later ones stay unread")
    func inboxRead() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness, bindCard: false)
            let inbox = try await client.send(.get, "/v1/patient/inbox", token: phone.token).decode([InboxMessage].self)
            #expect(inbox.count >= 2 && inbox.allSatisfy { $0.readAt == nil })
            let newest = try #require(inbox.first?.seq)
            let through = newest - 1
            #expect(
                try await client.send(.post, "/v1/patient/inbox/read", token: phone.token, json: #"{"through_seq":\#(through)}"#).status == .noContent
            )
            let after = try await client.send(.get, "/v1/patient/inbox", token: phone.token).decode([InboxMessage].self)
            #expect(after.count == inbox.count)
            #expect(after.filter { $0.seq <= through }.allSatisfy { $0.readAt != nil })
            #expect(after.first { $0.seq == newest }?.readAt == nil)
        }
    }

    @Test("webhook subscriptions are listed to their owner only, and a cancelled one receives nothing more")
    func webhookListing() async throws {
        try await H.withApp { client, harness in
            let made = try await client.send(
                .post, "/v1/webhooks", token: H.hospitalToken, json: #"{"url":"https://hooks.example.com/a","events":["settlement.completed"]}"#)
            let id = try #require(made.object["id"] as? String)
            let mine = try await client.send(.get, "/v1/webhooks", token: H.hospitalToken)
            #expect(mine.text.contains(id) && !mine.text.contains("\"secret\""))
            #expect(try await !client.send(.get, "/v1/webhooks", token: H.otherHospitalToken).text.contains(id))
            #expect(try await client.send(.delete, "/v1/webhooks/\(id)", token: H.otherHospitalToken).status == .notFound)
            #expect(try await client.send(.delete, "/v1/webhooks/\(id)", token: H.hospitalToken).status == .noContent)
            #expect(try await !client.send(.get, "/v1/webhooks", token: H.hospitalToken).text.contains(id))
            // A settlement now queues no delivery for it.
            _ = try await MoneyEdgesHTTPTests.settleByPersonNumber(client, visit: "WH1")
            #expect(try await harness.platform.pendingWebhookDeliveries() == 0)
        }
    }

    @Test("a line's unbilled purchases and its repayments are listed with their amounts; revoking frictionless shows nothing in force")
    func creditListings() async throws {
        try await H.withApp { client, harness in
            harness.clock.set(Instant(iso8601: "2026-10-12T09:00:00+08:00")!)
            let patient = try await PatientFlow.signUp(client, harness)
            let line = try await client.send(.post, "/v1/patient/credit/lines", token: patient.token, json: "{}").decode(CreditLineView.self)
            _ = try await client.send(
                .put, "/v1/patient/frictionless", token: patient.token,
                json: #"{"funding_source_id":"\#(line.line.fundingSourceId)","priority":"source_first"}"#)
            let status = try await client.send(.get, "/v1/patient/frictionless", token: patient.token)
            #expect(status.text.contains("source_first") && status.text.contains(line.line.fundingSourceId))
            let visit = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken,
                json:
                    #"{"person_number":"P440100000001","category":"11","hospital_visit_number":"CL1","frictionless":true,"lines":[\#(Body.line())]}"#
            ).decode(Visit.self)
            let record = try await client.send(
                .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, headers: OneCodeHTTPTests.key("cl-1")
            )
            .decode(SettlementRecord.self)
            let entries = try await client.send(.get, "/v1/patient/credit/lines/\(line.line.id)/entries", token: patient.token).decode(
                [CreditEntry].self)
            #expect(
                entries.count == 1 && entries[0].kind == .purchase && entries[0].amount == record.breakdown.cashPaid
                    && entries[0].reference == record.id)
            let repaid = try await client.send(
                .post, "/v1/patient/credit/lines/\(line.line.id)/repayments", token: patient.token, json: #"{"amount":500,"source":"account"}"#,
                headers: OneCodeHTTPTests.key("cl-r"))
            #expect(repaid.status == .created, "\(repaid.text)")
            let repayments = try await client.send(.get, "/v1/patient/credit/lines/\(line.line.id)/repayments", token: patient.token)
                .decode([CreditRepayment].self)
            #expect(repayments.count == 1 && repayments[0].amount == Money(fen: 500) && repayments[0].state == .completed)
            let after = try await client.send(.get, "/v1/patient/credit/lines/\(line.line.id)", token: patient.token).decode(CreditLineView.self)
            #expect(after.owed == record.breakdown.cashPaid - Money(fen: 500))
            #expect(try await client.send(.delete, "/v1/patient/frictionless", token: patient.token).status == .noContent)
            let revoked = try await client.send(.get, "/v1/patient/frictionless", token: patient.token)
            #expect(revoked.status == .ok && revoked.object["authorisation"] == nil && !revoked.text.contains("source_first"))
            #expect(try await harness.platform.verifyLedger().passed)
        }
    }

    @Test("new credit terms apply to lines opened from then on; open lines keep theirs")
    func creditTerms() async throws {
        try await H.withApp { client, harness in
            harness.clock.set(Instant(iso8601: "2026-10-12T09:00:00+08:00")!)
            let first = try await PatientFlow.signUp(client, harness)
            let before = try await client.send(.post, "/v1/patient/credit/lines", token: first.token, json: "{}").decode(CreditLineView.self)
            let terms =
                #"{"partner_name":"沙箱银行","billing_day":20,"grace_days":10,"penalty_basis_points_per_day":3,"late_fee":500,"suspend_after_overdue_days":15}"#
            // (The demo administrator's published token lived 90 days from March: a new administrator acts.)
            let admin = try await harness.platform.createOperator(name: "terms-admin", role: .administrator).token
            #expect(try await client.send(.put, "/v1/admin/credit/partners/sandbox", token: admin, json: terms).status == .ok)
            let listed = try await client.send(.get, "/v1/admin/credit/partners", token: admin)
            #expect(listed.text.contains("\"billing_day\":20"))
            let second = try await PatientFlow.signUp(client, harness, person: "P440100000002", phone: "13800100002", cardIndex: 1)
            let after = try await client.send(.post, "/v1/patient/credit/lines", token: second.token, json: "{}").decode(CreditLineView.self)
            #expect(before.line.terms.billingDay == 5 && after.line.terms.billingDay == 20 && after.line.terms.lateFee == .yuan(5))
            #expect(after.line.nextStatement == CivilDate("2026-10-20"))
            let unchanged = try await client.send(.get, "/v1/patient/credit/lines/\(before.line.id)", token: first.token).decode(CreditLineView.self)
            #expect(unchanged.line.terms.billingDay == 5)
        }
    }
}
