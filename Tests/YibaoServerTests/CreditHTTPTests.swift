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

@Suite("HTTP: credit — treat first, pay later")
struct CreditHTTPTests {
    typealias H = ServerHarness

    @Test("apply, authorise, a frictionless visit the hospital settles alone, the bill, repayment from the account, the daily job")
    func frictionlessOverHTTP() async throws {
        try await H.withApp { client, harness in
            harness.clock.set(Instant(iso8601: "2026-10-12T09:00:00+08:00")!)
            let patient = try await PatientFlow.signUp(client, harness)
            // The patient applies for a medical credit line (10,000 yuan at the default standing) and authorises frictionless payment.
            let applied = try await client.send(
                .post, "/v1/patient/credit/lines", token: patient.token, json: #"{}"#)
            #expect(applied.status == .created, "\(applied.text)")
            let line = try applied.decode(CreditLineView.self)
            #expect(line.line.creditLimit == .yuan(10_000) && line.line.terms.billingDay == 5)
            let signed = try await client.send(
                .put, "/v1/patient/frictionless", token: patient.token,
                json:
                    #"{"funding_source_id":"\#(line.line.fundingSourceId)","priority":"source_first"}"#
            )
            #expect(signed.status == .ok, "\(signed.text)")
            #expect((signed.object["consent_text"] as? String)?.contains("撤销") == true)
            // The hospital registers the visit as frictionless, uploads the lines after treatment and settles: no code.
            let visit = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken,
                json:
                    #"{"person_number":"P440100000001","category":"11","hospital_visit_number":"WG1","frictionless":true,"lines":[\#(Body.line())]}"#
            ).decode(Visit.self)
            #expect(visit.paymentAuthority == .frictionless)
            let settled = try await client.send(
                .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, headers: OneCodeHTTPTests.key("wg-1"))
            #expect(settled.status == .created, "\(settled.text)")
            let record = try settled.decode(SettlementRecord.self)
            // Two boxes at 12.80 yuan, class A, level 3: the fund pays 65 % (16.64); the line pays the rest, 8.96
            // (source first: the account is kept); the line now owes the partner bank exactly that.
            #expect(record.fundingSource?.kind == .medicalCredit)
            #expect(record.breakdown.totalAmount == Money(fen: 2560) && record.breakdown.fundTotal == Money(fen: 1664))
            #expect(record.breakdown.accountPaid == .zero && record.breakdown.cashPaid == Money(fen: 896))
            #expect(try await harness.platform.balance(of: .creditLine(line.line.id)) == Money(fen: 896))
            #expect(try await harness.platform.accountBalance(of: PatientFlow.person).balance == .yuan(3200))
            #expect(try await harness.platform.verifyLedger().passed)
            // The patient is told, with the receipt's verification code.
            let receipt = try await client.send(.get, "/v1/patient/settlements/\(record.id)/receipt", token: patient.token).decode(Receipt.self)
            let inbox = try await client.send(.get, "/v1/patient/inbox", token: patient.token).decode([InboxMessage].self)
            #expect(inbox.contains { $0.reference == record.id && $0.body.contains(receipt.verificationCode) })
            // The line shows it; on 5 November the bill is drawn up (the operator runs the job; running it twice changes nothing).
            let lines = try await client.send(.get, "/v1/patient/credit/lines", token: patient.token).decode([CreditLineView].self)
            #expect(lines.first?.used == record.breakdown.cashPaid && lines.first?.unbilled == record.breakdown.cashPaid)
            harness.clock.set(Instant(iso8601: "2026-11-05T08:00:00+08:00")!)
            let administrator = try await harness.platform.createOperator(name: "credit-ops", role: .operator)
            let run = try await client.send(.post, "/v1/admin/credit/daily-run", token: administrator.token).decode(CreditDayReport.self)
            let again = try await client.send(.post, "/v1/admin/credit/daily-run", token: administrator.token).decode(CreditDayReport.self)
            #expect(run.bills == 1 && again.lines == 0)
            let future = try await client.send(.post, "/v1/admin/credit/daily-run", token: administrator.token, json: #"{"date":"2026-11-06"}"#)
            #expect(future.status == .badRequest && future.problem?.field == "date")
            // Signing in again (sessions are short), the patient reads the bill and repays it from the personal account.
            let session = try await client.send(
                .post, "/v1/patient/sessions",
                json:
                    #"{"phone":"\#(PatientFlow.phone)","password":"\#(PatientFlow.password)","totp_code":"\#(PatientFlow.totp(patient.totpSecret, harness))"}"#
            )
            let token = try #require(session.object["token"] as? String)
            let current = try await client.send(.get, "/v1/patient/credit/lines/\(line.line.id)", token: token).decode(CreditLineView.self)
            let bill = try #require(current.bills.first)
            #expect(bill.bill.principalDue == record.breakdown.cashPaid && bill.bill.dueDate == CivilDate("2026-11-25") && bill.status == "open")
            let detail = try await client.send(.get, "/v1/patient/credit/bills/\(bill.bill.id)", token: token).decode(CreditBillView.self)
            #expect(detail.entries.count == 1 && detail.entries[0].reference == record.id)
            // The bureau's watch list: nothing past due today (5 November); on 27 November this line, 2 days past its due date.
            let today = try await client.send(.get, "/v1/admin/credit/delinquency", token: administrator.token).decode([CreditDelinquency].self)
            #expect(today.isEmpty)
            let later = try await client.send(.get, "/v1/admin/credit/delinquency?date=2026-11-27", token: administrator.token)
                .decode([CreditDelinquency].self)
            #expect(later.map(\.lineId) == [line.line.id] && later.first?.overdueDays == 2 && later.first?.overdueBills == 1)
            #expect(later.first?.overdueOwed == bill.bill.principalDue && later.first?.state == .active)
            #expect(try await client.send(.get, "/v1/admin/credit/delinquency?date=soon", token: administrator.token).problem?.field == "date")
            let amount = bill.bill.principalDue.fen
            let unknownSource = try await client.send(
                .post, "/v1/patient/credit/lines/\(line.line.id)/repayments", token: token, json: #"{"amount":\#(amount),"source":"cheque"}"#,
                headers: OneCodeHTTPTests.key("r0"))
            #expect(unknownSource.status == .badRequest)
            let repaid = try await client.send(
                .post, "/v1/patient/credit/lines/\(line.line.id)/repayments", token: token, json: #"{"amount":\#(amount),"source":"account"}"#,
                headers: OneCodeHTTPTests.key("r1"))
            #expect(repaid.status == .created, "\(repaid.text)")
            #expect(try repaid.decode(CreditRepayment.self).state == .completed)
            let after = try await client.send(.get, "/v1/patient/credit/lines/\(line.line.id)", token: token).decode(CreditLineView.self)
            #expect(after.owed == .zero && after.bills.first?.status == "paid")
            let repaidLater = try await client.send(.get, "/v1/admin/credit/delinquency?date=2026-11-27", token: administrator.token)
            #expect(try repaidLater.decode([CreditDelinquency].self).isEmpty, "a repaid line is off the watch list")
            // The account paid the partner bank: 8.96 out of the account, the line owes nothing.
            #expect(try await harness.platform.accountBalance(of: PatientFlow.person).balance == .yuan(3200) - Money(fen: 896))
            #expect(try await harness.platform.balance(of: .creditLine(line.line.id)) == .zero)
            let history = try await client.send(.get, "/v1/patient/history?kind=credit_repayment", token: token).decode(HistoryPage.self)
            #expect(history.events.count == 1 && history.events[0].account == Money(fen: amount))
            #expect(try await harness.platform.verifyLedger().passed)
            // Revoked: the next frictionless registration is refused with a clear problem.
            #expect(try await client.send(.delete, "/v1/patient/frictionless", token: token).status == .noContent)
            let refused = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken,
                json: #"{"person_number":"P440100000001","category":"11","hospital_visit_number":"WG2","frictionless":true}"#)
            #expect(refused.status == .unprocessableContent && refused.problem?.code == "no_frictionless_authorisation")
        }
    }

    @Test("a low credit score is refused with the bank's reason")
    func refusal() async throws {
        try await H.withApp { client, harness in
            let patient = try await PatientFlow.signUp(client, harness)
            let operatorToken = try await harness.platform.createOperator(name: "sandbox-ops", role: .operator).token
            let set = try await client.send(
                .put, "/v1/sandbox/credit-standing", token: operatorToken, json: #"{"person_number":"P440100000001","score":520}"#)
            #expect(set.status == .noContent, "\(set.text)")
            let applied = try await client.send(
                .post, "/v1/patient/credit/lines", token: patient.token, json: #"{}"#)
            #expect(applied.status == .unprocessableContent && applied.problem?.code == "credit_refused")
            #expect(applied.problem?.detail.contains("520") == true)
        }
    }
}
