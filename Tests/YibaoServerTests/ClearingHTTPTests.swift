import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer

@Suite("HTTP: reconciliation, clearing, fund reports, metrics")
struct ClearingHTTPTests {
    typealias H = ServerHarness

    @Test("the sandbox's test clock moves forward only: a day settled today is cleared once the clock says it has ended")
    func sandboxClock() async throws {
        try await H.withApp { client, harness in
            harness.clock.set(Instant(iso8601: "2026-11-10T10:00:00+08:00")!)
            let settled = try await MoneyEdgesHTTPTests.settleByPersonNumber(client, visit: "CLOCK1")
            // Operators of this day (the demo's tokens were issued at t0 and have expired by November).
            let admin = try await harness.platform.createOperator(name: "clock-admin", role: .administrator).token
            let viewer = try await harness.platform.createOperator(name: "clock-viewer", role: .viewer).token
            let start = #"{"institution_code":"\#(H.hospital)","insurance_type":"310","from":"2026-11-10","through":"2026-11-10"}"#
            let early = try await client.send(.post, "/v1/admin/clearings", token: admin, json: start)
            #expect(early.status == .unprocessableContent && early.problem?.code == "period_not_ended", "\(early.text)")
            // Refused: back, nothing, more than 31 days; each leaves the clock where it was.
            for body in [#"{"days":-1}"#, #"{"seconds":-5}"#, "{}", #"{"days":32}"#, #"{"days":31,"seconds":2678400}"#] {
                let refused = try await client.send(.post, "/v1/sandbox/clock/advance", token: admin, json: body)
                #expect(refused.status == .badRequest, "\(body): \(refused.text)")
            }
            #expect(try await client.send(.get, "/v1/sandbox/clock", token: admin).object["offset_seconds"] as? Int == 0)
            let advanced = try await client.send(.post, "/v1/sandbox/clock/advance", token: admin, json: #"{"days":1}"#)
            #expect(advanced.status == .ok && advanced.object["offset_seconds"] as? Int == 86_400, "\(advanced.text)")
            #expect(advanced.object["now"] as? String == "2026-11-11T10:00:00.000+08:00")
            #expect(harness.platform.clock.now() == Instant(iso8601: "2026-11-11T10:00:00+08:00")!)
            // Tomorrow, by the sandbox's clock: the day has ended and its settlement is cleared.
            let applied = try await client.send(.post, "/v1/admin/clearings", token: admin, json: start)
            #expect(applied.status == .created, "\(applied.text)")
            let id = try #require(applied.object["id"] as? String)
            let detail = try await client.send(.get, "/v1/admin/clearings/\(id)", token: admin)
            let items = try #require(detail.object["items"] as? [[String: Any]])
            #expect(items.map { $0["settlement_id"] as? String } == [settled.id])
            #expect(try await client.send(.post, "/v1/sandbox/clock/advance", token: viewer, json: #"{"days":1}"#).status == .forbidden)
        }
    }

    @Test("a month through the API: totals and detail reconciliation, clearing applied, approved, run and paid; the fund report and /metrics")
    func month() async throws {
        try await H.withApp { client, harness in
            // setup: a settlement on 10 November at the demo hospital.
            harness.clock.set(Instant(iso8601: "2026-11-10T10:00:00+08:00")!)
            let opened = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "CL1", lines: Body.line(price: 5000, quantity: "3")))
            let visit = try opened.decode(Visit.self)
            let settled = try await client.send(
                .post, "/v1/visits/\(visit.id)/settlement", token: H.hospitalToken, headers: [HTTPField.Name("Idempotency-Key")!: "cl-1"])
            #expect(settled.status == .created)
            let record = try settled.decode(SettlementRecord.self)
            let b = record.breakdown
            harness.clock.set(Instant(iso8601: "2026-12-01T09:00:00+08:00")!)
            let admin = try await harness.platform.createOperator(name: "clearing-admin", role: .administrator).token

            // act: the hospital reconciles its totals and details for November as it booked them.
            let totals = try await client.send(
                .post, "/v1/reconciliation/totals", token: H.hospitalToken,
                json: #"""
                    {"from":"2026-11-01","through":"2026-11-30","include_refunds":true,"lines":[{"insurance_type":"310","clearing_type":"11","count":1,"total":\#(b.totalAmount.fen),"fund":\#(b.fundTotal.fen),"account":\#(b.accountPaid.fen)}]}
                    """#)
            let file =
                Reconciliation.detailColumns.joined(separator: "\t") + "\n"
                + [record.id, visit.id, record.personNumber, "\(b.totalAmount)", "\(b.fundTotal)", "\(b.accountPaid)", "0"].joined(separator: "\t")
                + "\n"
            let details = try await client.send(
                .post, "/v1/reconciliation/details?from=2026-11-01&through=2026-11-30", token: H.hospitalToken, json: file,
                headers: [.contentType: "text/tab-separated-values"])
            let badPeriod = try await client.send(
                .post, "/v1/reconciliation/totals", token: H.hospitalToken, json: #"{"from":"2026-11-30","through":"2026-11-01","lines":[]}"#)

            // verify: balanced both ways.
            #expect(totals.status == .ok && totals.object["statement_result"] as? String == "0", "\(totals.text)")
            #expect(details.status == .ok)
            #expect(details.headers[HTTPField.Name("Yibao-Statement-Result")!] == "0")
            #expect(details.text.contains("\n\(record.id)\tmatch\t"))
            #expect(badPeriod.status == .badRequest && badPeriod.problem?.field == "stmt_enddate")

            // act: the hospital applies; the bureau approves, runs and records the bank's confirmation.
            let applied = try await client.send(
                .post, "/v1/clearings", token: H.hospitalToken, json: #"{"insurance_type":"310","from":"2026-11-01","through":"2026-11-30"}"#)
            let id = try #require(applied.object["id"] as? String)
            let approval = try await client.send(.post, "/v1/admin/clearings/\(id)/approval", token: admin)
            let run = try await client.send(.post, "/v1/admin/clearings/\(id)/run", token: admin)
            let instructions = try await client.send(.get, "/v1/admin/payment-instructions.csv", token: admin)
            let paid = try await client.send(
                .post, "/v1/admin/clearings/\(id)/payout", token: admin, json: #"{"paid":true,"bank_reference":"BK-1"}"#)
            let rerun = try await client.send(.post, "/v1/admin/clearings/\(id)/run", token: admin)

            // verify
            #expect(applied.status == .created)
            #expect(applied.object["claimed"] as? Int == Int(b.fundTotal.fen + b.accountPaid.fen))
            #expect(approval.status == .ok && run.status == .ok, "\(run.text)")
            #expect(run.object["payout_account"] as? String == "DEMO-BANK-\(H.hospital)")
            #expect(instructions.text.contains(",\(id),"))
            #expect(paid.object["state"] as? String == "paid")
            #expect(rerun.status == .conflict && rerun.problem?.code == "clearing_state")

            // act + verify: the fund report and the metrics.
            let report = try await client.send(.get, "/v1/admin/fund-report?from=2026-11-01&through=2026-11-30&verify=true", token: admin)
            let figures = try #require((report.object["totals"] as? [String: Any]))
            #expect(figures["settlements"] as? Int == 1)
            #expect(figures["total"] as? Int == Int(b.totalAmount.fen))
            #expect((report.object["anchor"] as? [String: Any])?["ledger_verified"] as? Bool == true)
            let csv = try await client.send(.get, "/v1/admin/fund-report.csv?from=2026-11-01&through=2026-11-30", token: admin)
            #expect(csv.text.hasPrefix("view,region,insurance_type,pool,institution_code,level,"))
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.text.contains(#"yibao_settlements_total{kind="settlement",outcome="completed"} 1"#), "\(metrics.text)")
            #expect(metrics.text.contains(#"yibao_exceptions_open{kind="channel_missing_in_yibao"} 0"#))
            #expect(metrics.text.contains(#"yibao_institution_days_unreconciled{institution="\#(H.hospital)"} 0"#))
            #expect(metrics.text.contains("yibao_outbox_backlog "))
        }
    }
}
