import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

@Suite("HTTP: wallet, premiums, notifications")
struct WalletHTTPTests {
    typealias H = ServerHarness

    @Test("the outbox delivers every notification to a receiver that fails at first, with valid signatures")
    func webhooksAreDeliveredDespiteFailures() async throws {
        // setup: a receiver on loopback that answers 500 to each message's first two attempts.
        let received = Mutex<[(id: String, timestamp: String, signature: String, body: String)]>([])
        let attempts = Mutex<[String: Int]>([:])
        let receiverRouter = Router()
        receiverRouter.post("/hook") { request, _ -> Response in
            let id = request.headers[HTTPField.Name("webhook-id")!] ?? ""
            let attempt = attempts.withLock {
                $0[id, default: 0] += 1; return $0[id]!
            }
            guard attempt > 2 else { return Response(status: .internalServerError) }
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            received.withLock {
                $0.append(
                    (
                        id, request.headers[HTTPField.Name("webhook-timestamp")!] ?? "", request.headers[HTTPField.Name("webhook-signature")!] ?? "",
                        body
                    ))
            }
            return Response(status: .noContent)
        }
        let receiver = Application(router: receiverRouter, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await receiver.test(.live) { receiverClient in
            let port = try #require(receiverClient.port)
            try await H.withApp { client, harness in
                // The hospital subscribes; patients settle.
                let subscribed = try await client.send(
                    .post, "/v1/webhooks", token: H.hospitalToken,
                    json: #"{"url":"http://127.0.0.1:\#(port)/hook","events":["settlement.completed","settlement.reversed"]}"#
                )
                #expect(subscribed.status == .created)
                let secret = try #require(subscribed.object["secret"] as? String)
                var ids: [String] = []
                for index in 0..<3 {
                    let visit = try await client.send(
                        .post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "WH\(index)", lines: Body.line()))
                    let id = try visit.decode(Visit.self).id
                    let settled = try await client.send(
                        .post, "/v1/visits/\(id)/settlement", token: H.hospitalToken, headers: [HTTPField.Name("Idempotency-Key")!: "wh-\(index)"]
                    )
                    ids.append(try settled.decode(SettlementRecord.self).id)
                }
                _ = try await client.send(
                    .post, "/v1/settlements/\(ids[0])/reversal", token: H.hospitalToken, headers: [HTTPField.Name("Idempotency-Key")!: "wh-r"])
                #expect(try await harness.platform.pendingWebhookDeliveries() == 4)

                // act: the delivery worker runs; time passes for the back-off.
                for _ in 0..<10 {
                    _ = await harness.platform.deliverWebhooks(transport: HTTPWebhookTransport(allowPrivate: true))
                    harness.clock.advance(seconds: 10)
                }

                // verify: all four delivered once each, signatures valid, nothing pending.
                #expect(try await harness.platform.pendingWebhookDeliveries() == 0)
                let deliveries = received.withLock { $0 }
                #expect(deliveries.count == 4)
                #expect(Set(deliveries.map(\.id)).count == 4)
                for delivery in deliveries {
                    #expect(
                        StandardWebhooks.verify(
                            secret: secret, id: delivery.id, timestamp: Int64(delivery.timestamp) ?? 0, body: delivery.body,
                            header: delivery.signature)
                    )
                    #expect(
                        !StandardWebhooks.verify(
                            secret: secret, id: delivery.id, timestamp: Int64(delivery.timestamp) ?? 0, body: delivery.body + " ",
                            header: delivery.signature))
                }
                #expect(deliveries.filter { $0.body.contains("settlement.reversed") }.count == 1)
                #expect(attempts.withLock { $0.values.allSatisfy { $0 == 3 } })
            }
        }
    }

    @Test("wallet, history (CSV too), drug list, statement, inbox, and a reported movement resolved by an operator")
    func walletFlow() async throws {
        try await H.withApp { client, harness in
            let phone = try await PatientFlow.signUp(client, harness)
            let settled = try await client.send(
                .post, "/v1/settlements", token: H.hospitalToken, json: OneCodeHTTPTests.settlement(code: phone.code(harness), visit: "WL1"),
                headers: OneCodeHTTPTests.key("wl-1")
            )
            #expect(settled.status == .created)
            let wallet = try await client.send(.get, "/v1/patient/wallet", token: phone.token)
            #expect(wallet.object["account_balance"] as? Int == 320_000 - 2715)
            #expect((wallet.object["cards"] as? [[String: Any]])?.first?["available"] as? Int == 500_000)
            let history = try await client.send(.get, "/v1/patient/history?limit=1", token: phone.token)
            let page = try history.decode(HistoryPage.self)
            #expect(page.events.first?.kind == .settlement && page.nextCursor != nil)
            let older = try await client.send(.get, "/v1/patient/history?cursor=\(page.nextCursor!)", token: phone.token).decode(HistoryPage.self)
            #expect(older.events.first?.kind == .accountCredit)
            let csv = try await client.send(.get, "/v1/patient/history.csv?kind=settlement", token: phone.token)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true && csv.text.split(separator: "\n").count == 2)
            let bad = try await client.send(.get, "/v1/patient/history?kind=nonsense", token: phone.token)
            #expect(bad.status == .badRequest && bad.problem?.field == "kind")
            let items = try await client.send(.get, "/v1/patient/items", token: phone.token).decode(PurchasedItemsPage.self)
            #expect(items.items.map(\.name) == ["头孢克肟分散片", "普通门诊诊查费"])
            #expect(Money.sum(items.items.map { $0.fundPaid + $0.accountPaid + $0.cashPaid }) == Money(fen: 6700))
            let month = ChinaTime.date(harness.clock.now()).yearMonth
            let statement = try await client.send(.get, "/v1/patient/statements/\(month)", token: phone.token).decode(Statement.self)
            #expect(statement.closingBalance == Money(fen: 320_000 - 2715) && statement.settlementCount == 1)
            #expect(try await client.send(.get, "/v1/patient/statements/\(month)/page", token: phone.token).text.contains("医保月度账单"))
            let inbox = try await client.send(.get, "/v1/patient/inbox", token: phone.token)
            let topics = ((try JSONSerialization.jsonObject(with: Data(inbox.body.readableBytesView)) as? [[String: Any]]) ?? []).compactMap {
                $0["topic"] as? String
            }
            #expect(topics.contains("settlement.settlement") && topics.contains("security.signed_in") && topics.contains("security.device_enrolled"))

            // Report the settlement as unknown; an operator resolves it; the patient is told.
            let report = try await client.send(
                .post, "/v1/patient/reports", token: phone.token, json: #"{"event_id":"\#(page.events[0].id)","reason":"我没有去过这家医院"}"#
            )
            #expect(report.status == .created)
            let queue = try await client.send(.get, "/v1/admin/reports", token: H.adminToken)
            let reportID = try #require(
                ((try JSONSerialization.jsonObject(with: Data(queue.body.readableBytesView)) as? [[String: Any]])?.first?["id"]) as? String)
            let resolved = try await client.send(
                .put, "/v1/admin/reports/\(reportID)", token: H.adminToken, json: #"{"resolution":"confirmed_genuine","note":"门诊记录与签名核实无误"}"#
            )
            #expect(resolved.object["state"] as? String == "resolved")
            let after = try await client.send(.get, "/v1/patient/inbox?cursor=1000", token: phone.token)
            #expect(after.text.contains("report.resolved"))
        }
    }

    @Test("a resident pays next year's contribution from the phone: amount from policy, receipt verifiable by anyone")
    func premiumFromThePhone() async throws {
        try await H.withApp { client, harness in
            harness.clock.set(Instant(iso8601: "2026-11-22T10:00:00+08:00")!)
            // 周秀英 (P440100000009) is a Guangzhou resident; her demo card is the ninth.
            let phone = try await PatientFlow.signUp(client, harness, person: "P440100000009", phone: "13800100009", cardIndex: 8)
            let options = try await client.send(.get, "/v1/patient/premiums", token: phone.token)
            let list = (try JSONSerialization.jsonObject(with: Data(options.body.readableBytesView)) as? [[String: Any]]) ?? []
            let next = try #require(list.first { $0["period"] as? String == "2027" })
            #expect(next["amount"] as? Int == 42_000 && next["open"] as? Bool == true)
            let body = #"{"person_number":"P440100000009","kind":"resident_annual","period":"2027","amount":42000}"#
            let paid = try await client.send(.post, "/v1/patient/premiums", token: phone.token, json: body, headers: OneCodeHTTPTests.key("pp-1"))
            #expect(paid.status == .created, "\(paid.text)")
            let payment = try paid.decode(PremiumPayment.self)
            // The money: 420 yuan from her card into Guangzhou's resident fund, through the channel; the ledger balances.
            #expect(payment.amount == .yuan(420) && payment.state == .paid)
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(8))?.balance == .yuan(5000 - 420))
            let fund = AccountID.fund(RegionCode("440100")!, .resident, InsuranceType.resident.pooledFundType)
            #expect(try await harness.platform.balance(of: fund) == .yuan(420))
            #expect(try await harness.platform.balance(of: .channel("sandbox")) == .yuan(-420))
            #expect(try await harness.platform.verifyLedger().passed)
            let again = try await client.send(.post, "/v1/patient/premiums", token: phone.token, json: body, headers: OneCodeHTTPTests.key("pp-2"))
            #expect(again.status == .conflict && again.problem?.code == "premium_already_paid")
            let wrongAmount = try await client.send(
                .post, "/v1/patient/premiums", token: phone.token, json: body.replacingOccurrences(of: "42000", with: "40000"),
                headers: OneCodeHTTPTests.key("pp-3")
            )
            #expect(wrongAmount.problem?.code == "amount_mismatch" || wrongAmount.problem?.code == "premium_already_paid")
            let someoneElse = try await client.send(
                .post, "/v1/patient/premiums", token: phone.token, json: body.replacingOccurrences(of: "P440100000009", with: "P440100000010"),
                headers: OneCodeHTTPTests.key("pp-4")
            )
            #expect(someoneElse.status == .notFound)
            // None of the refused attempts moved anything.
            #expect(try await harness.platform.sandbox?.card(DemoData.cardNumber(8))?.balance == .yuan(5000 - 420))
            #expect(try await harness.platform.balance(of: fund) == .yuan(420))
            let receipt = try await client.send(.get, "/v1/patient/premiums/\(payment.id)/receipt", token: phone.token)
            let code = try #require(receipt.object["verification_code"] as? String)
            let verified = try await client.send(.get, "/v1/receipts/\(payment.id)/verification?code=\(code)&amount=42000&period=2027")
            #expect(verified.object["authentic"] as? Bool == true)
            #expect(!verified.text.contains("P440100000009") && !verified.text.contains("周"))
            let altered = try await client.send(.get, "/v1/receipts/\(payment.id)/verification?code=\(code)&amount=4200&period=2027")
            #expect(altered.object["authentic"] as? Bool == false)
            let coverage = try await client.send(.get, "/v1/patient/coverage", token: phone.token)
            #expect(coverage.text.contains("2027"))
            // Receipt checks are rate-limited per client.
            var last = 0
            for _ in 0..<30 { last = try await client.send(.get, "/v1/receipts/\(payment.id)/verification?code=nope").status.code }
            #expect(last == 429)
        }
    }
}
