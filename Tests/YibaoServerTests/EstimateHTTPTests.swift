import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer

/// The reimbursement estimate (报销测算): the settlement engine on the year's figures as they stand,
/// nothing locked or written; equal to the later settlement of the same items when nothing changed.
@Suite("HTTP: reimbursement estimates")
struct EstimateHTTPTests {
    typealias H = ServerHarness

    static let lines = Body.line("1", code: "XD00000000003", price: 2850, quantity: "2") + "," + Body.line("2", code: "XD00000000001", price: 1280)

    @Test("the patient's estimate equals the settlement of the same items to the fen; it moves nothing", arguments: H.databases)
    func estimateEqualsSettlement(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let patient = try await PatientFlow.signUp(client, harness)
            let body = #"{"institution_code":"\#(H.hospital)","category":"11","lines":[\#(Self.lines)]}"#
            let first = try await client.send(.post, "/v1/patient/estimate", token: patient.token, json: body)
            #expect(first.status == .ok, "\(first.text)")
            let estimate = try first.decode(Estimate.self)
            // Nothing was written: the same question gets the same answer.
            let again = try await client.send(.post, "/v1/patient/estimate", token: patient.token, json: body).decode(Estimate.self)
            #expect(again.breakdown == estimate.breakdown)
            #expect(estimate.assumptions.map(\.code) == ["year_figures_now", "prices_as_sent", "commercial_plan_not_enrolled"])
            // The hospital's estimate by person number says the same.
            let hospital = try await client.send(
                .post, "/v1/estimates", token: H.hospitalToken,
                json: #"{"person_number":"\#(PatientFlow.person)","category":"11","lines":[\#(Self.lines)]}"#
            ).decode(Estimate.self)
            #expect(hospital.breakdown == estimate.breakdown)

            let settled = try await Self.settleAsEstimated(client, visit: Body.visit(number: "EST-1", lines: Self.lines), key: "est-1", estimate)
            #expect(settled.lines.map(\.fundPaid) == estimate.lines.map(\.fundPaid))
            #expect(settled.lines.map(\.cashPaid) == estimate.lines.map(\.cashPaid))

            // After the settlement the year's figures changed: a per-year deductible or the cap would show here.
            let later = try await client.send(.post, "/v1/patient/estimate", token: patient.token, json: body).decode(Estimate.self)
            #expect(later.breakdown.accountBalanceAfter == estimate.breakdown.accountBalanceAfter - settled.ownAccountPaid)
        }
    }

    @Test("with the inclusive plan joined from the phone: the estimate shows oth_pay and equals the stay's settlement", arguments: H.databases)
    func estimateWithPlan(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let patient = try await PatientFlow.signUp(client, harness)
            let stay =
                Body.line("1", code: "S000000000068", price: 12000, quantity: "10") + ","
                + Body.line("2", code: "XD00000000003", price: 2850, quantity: "20")
            let ask = #"{"institution_code":"\#(H.hospital)","category":"21","lines":[\#(stay)]}"#
            let before = try await client.send(.post, "/v1/patient/estimate", token: patient.token, json: ask).decode(Estimate.self)
            #expect(before.breakdown.otherFund == .zero && before.assumptions.contains { $0.code == "commercial_plan_not_enrolled" })
            let joined = try await client.send(
                .post, "/v1/patient/premiums", token: patient.token,
                json: #"{"person_number":"\#(PatientFlow.person)","kind":"commercial_plan","period":"2026","amount":18000}"#,
                headers: OneCodeHTTPTests.key("join-plan"))
            #expect(joined.status == .ok || joined.status == .created, "\(joined.text)")
            #expect(try await harness.platform.balance(of: .insurer("DEMO-SSK")) == .yuan(180))
            let estimate = try await client.send(.post, "/v1/patient/estimate", token: patient.token, json: ask).decode(Estimate.self)
            // 1,770.00: the fund (1,713.00 − 1,000.00) × 80 % = 570.40; the plan 70 % of 1,142.60 and of 57.00.
            #expect(estimate.breakdown.pooledFund == Money(fen: 57_040) && estimate.breakdown.otherFund == Money(fen: 83_972))
            #expect(estimate.details.contains { $0.fundType == .otherFund })
            #expect(estimate.assumptions.contains { $0.code == "commercial_plan_enrolled" })
            let settled = try await Self.settleAsEstimated(
                client, visit: #"{"person_number":"\#(PatientFlow.person)","category":"21","hospital_visit_number":"ZY-EST-1","lines":[\#(stay)]}"#,
                key: "zy-est-1", estimate)
            #expect(settled.lines.map(\.planPaid) == estimate.lines.map(\.planPaid) && settled.plan?.insurerCode == "DEMO-SSK")
            #expect(try await harness.platform.balance(of: .insurer("DEMO-SSK")) == .yuan(180) - Money(fen: 83_972))
        }
    }

    /// Opens the visit, settles it with the account, and expects the settlement's buckets to be the
    /// estimate's (the balance after aside: the estimate's is the balance it read).
    static func settleAsEstimated(
        _ client: some TestClientProtocol, visit: String, key: String, _ estimate: Estimate
    ) async throws -> SettlementRecord {
        let opened = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: visit)
        let visitID = try #require(opened.object["id"] as? String)
        let settled = try await client.send(
            .post, "/v1/visits/\(visitID)/settlement", token: H.hospitalToken, json: #"{"use_account":true}"#, headers: OneCodeHTTPTests.key(key)
        ).decode(SettlementRecord.self)
        var paid = settled.breakdown
        paid.accountBalanceAfter = estimate.breakdown.accountBalanceAfter
        #expect(paid == estimate.breakdown, "estimate \(estimate.breakdown) settled \(settled.breakdown)")
        return settled
    }

    @Test("amounts per class: class A as a no-cap class A item, class C wholly self-paid, the assumptions said")
    func amountsPerClass() async throws {
        try await H.withApp { client, harness in
            let patient = try await PatientFlow.signUp(client, harness)
            let byAmount = try await client.send(
                .post, "/v1/patient/estimate", token: patient.token,
                json:
                    #"{"institution_code":"\#(H.hospital)","category":"11","amounts":[{"item_class":"A","amount":12800},{"item_class":"C","amount":5000}]}"#
            ).decode(Estimate.self)
            let byItem = try await client.send(
                .post, "/v1/patient/estimate", token: patient.token,
                json:
                    #"{"institution_code":"\#(H.hospital)","category":"11","lines":[\#(Body.line("1", code: "XD00000000001", price: 12800, quantity: "1"))]}"#
            ).decode(Estimate.self)
            #expect(byAmount.breakdown.fundTotal == byItem.breakdown.fundTotal)
            #expect(byAmount.breakdown.fullSelfPay == .yuan(50))
            #expect(
                byAmount.assumptions.map(\.code) == ["year_figures_now", "class_a_in_scope", "class_c_self_paid", "commercial_plan_not_enrolled"])
            let withB = try await client.send(
                .post, "/v1/patient/estimate", token: patient.token,
                json: #"{"institution_code":"\#(H.hospital)","category":"11","amounts":[{"item_class":"B","amount":10000}]}"#
            ).decode(Estimate.self)
            let assumedB = try #require(withB.assumptions.first { $0.code == "class_b_first_self_pay" }?.ratio)
            #expect(assumedB > .zero && withB.breakdown.firstSelfPay == Money.yuan(100).portion(assumedB))
        }
    }

    @Test("refused before anything: nothing asked, a class twice, a zero amount, an unknown institution or item, an unknown person")
    func refusals() async throws {
        try await H.withApp { client, harness in
            let patient = try await PatientFlow.signUp(client, harness)
            let ask = { (json: String) in try await client.send(.post, "/v1/patient/estimate", token: patient.token, json: json) }
            #expect(try await ask(#"{"institution_code":"\#(H.hospital)","category":"11"}"#).problem?.field == "lines")
            let twice = try await ask(
                #"{"institution_code":"\#(H.hospital)","category":"11","amounts":[{"item_class":"A","amount":1},{"item_class":"A","amount":2}]}"#)
            #expect(twice.problem?.field == "amounts")
            let zero = try await ask(#"{"institution_code":"\#(H.hospital)","category":"11","amounts":[{"item_class":"A","amount":0}]}"#)
            #expect(zero.problem?.field == "amounts[0].amount")
            let nowhere = try await ask(#"{"institution_code":"H00000000000","category":"11","amounts":[{"item_class":"A","amount":100}]}"#)
            #expect(nowhere.problem?.code == "unknown_institution")
            let unknownItem = try await ask(
                #"{"institution_code":"\#(H.hospital)","category":"11","lines":[\#(Body.line("1", code: "NOPE", price: 100, quantity: "1"))]}"#)
            #expect(unknownItem.problem?.code == "unknown_catalogue_item")
            let stranger = try await client.send(
                .post, "/v1/estimates", token: H.hospitalToken, json: #"{"person_number":"P000","category":"11","lines":[\#(Self.lines)]}"#)
            #expect(stranger.problem?.code == "unknown_person" && stranger.status.code < 500)
        }
    }
}
