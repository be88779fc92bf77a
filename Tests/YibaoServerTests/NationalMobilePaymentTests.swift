import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer
import YibaoStore

/// 医保移动支付 through the national gateway: 6201 uploads the fees and creates the payment order, the
/// patient pays it in the Yibao app, 6202 / 6301 answer the result with setlinfo, 6203 refunds, 6401
/// cancels an unpaid order.
@Suite("National interface gateway: mobile payment")
struct NationalMobilePaymentTests {
    typealias H = ServerHarness

    static func upload(_ order: String, person: String = PatientFlow.person) -> String {
        #"""
        {"data":{"orgCodg":"H44010000004","psnNo":"\#(person)","insutype":"310","medOrgOrd":"\#(order)","medType":"11","feeType":"01","medfeeSumamt":"67.00","acctUsedFlag":"1",
         "feedetailList":[{"feedetlSn":"1","medListCodg":"XD00000000003","medinsListCodg":"H-XD3","pric":28.5,"cnt":2,"detItemFeeSumamt":57.00,"medListName":"头孢"},
                          {"feedetlSn":"2","medListCodg":"S000000000061","pric":"10.00","cnt":"1"}]}}
        """#
    }

    @Test(
        "6201 → paid in the app → 6202 and 6301 with setlinfo (ordStas 6) → 6203 cash refund; 6401 cancels an unpaid order",
        arguments: ServerHarness.databases)
    func sequence(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let patient = try await PatientFlow.signUp(client, harness)
            let his = NationalClient(client: client, clock: harness.clock)
            let uploaded = try await his.send("6201", Self.upload("WX-0001"), msgid: NationalClient.msgid("H44010000004", 61))
            #expect(uploaded.infcode == 0, "\(uploaded.text)")
            let data = uploaded.node("data")
            let order = try #require(data["payOrdId"] as? String)
            let preSetl = try #require((data["extData"] as? [String: Any])?["preSetl"] as? [String: Any])
            let preview = try #require(preSetl["setlinfo"] as? [String: Any])
            #expect(NationalGatewayTests.identities(preview).isEmpty)

            let early = try await his.send("6202", #"{"data":{"payOrdId":"\#(order)"}}"#, msgid: NationalClient.msgid("H44010000004", 62))
            #expect(early.infcode == -1 && early.errorMessage.contains("尚未在医保App中确认支付"))
            let waiting = try await his.send("6301", #"{"data":{"payOrdId":"\#(order)"}}"#, msgid: NationalClient.msgid("H44010000004", 63))
            #expect(waiting.node("data")["ordStas"] as? String == "1")

            let paid = try await client.send(
                .post, "/v1/patient/payment-orders/\(order)/payment", token: patient.token, json: #"{"use_account":false}"#,
                headers: OneCodeHTTPTests.key("wx-pay"))
            #expect(paid.status == .created, "\(paid.text)")
            for (infno, sequence) in [("6202", 64), ("6301", 65)] {
                let result = try await his.send(infno, #"{"data":{"payOrdId":"\#(order)"}}"#, msgid: NationalClient.msgid("H44010000004", sequence))
                let out = result.node("data")
                #expect(out["ordStas"] as? String == "6", "\(result.text)")
                let info = try #require((out["extData"] as? [String: Any])?["setlinfo"] as? [String: Any])
                #expect(NationalGatewayTests.identities(info).isEmpty)
                // The same figures as the pre-settlement the upload answered (nothing else moved in between).
                for key in ["medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "psn_part_amt"] {
                    #expect(NationalGatewayTests.fen(info[key]) == NationalGatewayTests.fen(preview[key]), "\(key)")
                }
                #expect(NationalGatewayTests.fen(out["ownPayAmt"]) == NationalGatewayTests.fen(info["psn_cash_pay"]))
            }
            let refund = try await his.send(
                "6203",
                #"{"data":{"payOrdId":"\#(order)","appRefdSn":"R-0001","appRefdTime":"20261122110000","refdType":"CASH","cashRefdAmt":"1.00"}}"#,
                msgid: NationalClient.msgid("H44010000004", 66))
            #expect(refund.node("data")["refStatus"] as? String == "SUCC", "\(refund.text)")
            #expect(NationalGatewayTests.fen(refund.node("data")["cashRefdAmt"]) == 100)

            let other = try await his.send("6201", Self.upload("WX-0002"), msgid: NationalClient.msgid("H44010000004", 67))
            let second = try #require(other.node("data")["payOrdId"] as? String)
            let cancelled = try await his.send("6401", #"{"data":{"payOrdId":"\#(second)"}}"#, msgid: NationalClient.msgid("H44010000004", 68))
            #expect(cancelled.node("data")["ordStas"] as? String == "12", "\(cancelled.text)")
            let paidLater = try await client.send(
                .post, "/v1/patient/payment-orders/\(second)/payment", token: patient.token, json: "{}", headers: OneCodeHTTPTests.key("wx-late"))
            #expect(paidLater.problem?.code == "payment_order_closed")
            let visitsBefore = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            let wrongTotal = try await his.send(
                "6201", Self.upload("WX-0003").replacingOccurrences(of: #""medfeeSumamt":"67.00""#, with: #""medfeeSumamt":"60.00""#),
                msgid: NationalClient.msgid("H44010000004", 69))
            #expect(wrongTotal.infcode == -1 && wrongTotal.errorMessage.contains("医疗费总额与费用明细不符"), "\(wrongTotal.text)")
            let visitsAfter = try await harness.platform.backend.read { try $0.queryOne("SELECT COUNT(*) AS n FROM visits", [])?.int64("n") }
            #expect(visitsAfter == visitsBefore, "a wrong medfeeSumamt writes nothing")
            let ledger = try await harness.platform.verifyLedger()
            #expect(ledger.passed, "\(ledger.problems)")
        }
    }
}
