import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer

/// 2205 费用明细撤销 by charge batch: `chrg_bchno` 0000 cancels every unsettled detail; another batch takes
/// that batch's details off the visit (all of them when it is the only batch).
@Suite("National interface gateway: fee detail cancellation by batch")
struct NationalFeeCancellationTests {
    typealias H = ServerHarness

    static func row(_ number: String, visit: String, batch: String, price: String = "10.00", count: Int = 1) -> String {
        #"{"feedetl_sn":"\#(number)","mdtrt_id":"\#(visit)","psn_no":"P440100000001","chrg_bchno":"\#(batch)","med_list_codg":"S000000000061","cnt":\#(count),"pric":"\#(price)"}"#
    }

    @Test("a batch comes off, an unknown batch is refused, the last batch forgets the visit, 0000 cancels all", arguments: ServerHarness.databases)
    func byBatch(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let his = NationalClient(client: client, clock: harness.clock)
            var n = 700
            func next() -> String {
                n += 1
                return NationalClient.msgid(H.hospital, n)
            }
            let visitID = try #require(
                try await his.send("2201", NationalVisitQueryTests.register("B0001"), msgid: next()).node("data")["mdtrt_id"] as? String)
            func cancel(_ batch: String?) async throws -> NationalClient.Answer {
                let field = batch.map { #","chrg_bchno":"\#($0)""# } ?? ""
                return try await his.send("2205", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(visitID)"\#(field)}}"#, msgid: next())
            }
            func total() async throws -> String {
                let answer = try await his.send(
                    "2206", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(visitID)","medfee_sumamt":"0","acct_used_flag":"1"}}"#, msgid: next())
                return answer.errorMessage
            }
            let uploaded = try await his.send(
                "2204",
                #"{"feedetail":[\#(Self.row("1", visit: visitID, batch: "B1")),\#(Self.row("2", visit: visitID, batch: "B1", count: 2)),\#(Self.row("3", visit: visitID, batch: "B2", price: "5.00"))]}"#,
                msgid: next())
            #expect(uploaded.infcode == 0, "\(uploaded.text)")
            #expect(try await total().contains("35.00"), "three details: 10 + 20 + 5")

            // B2 comes off; B9 does not exist; no chrg_bchno at all names the field.
            #expect(try await cancel("B2").infcode == 0)
            #expect(try await total().contains("30.00"))
            let unknown = try await cancel("B9")
            #expect(unknown.infcode == -1 && unknown.errorMessage.contains("B9"), "\(unknown.text)")
            let missing = try await cancel(nil)
            #expect(missing.infcode == -1 && missing.errorMessage.contains("chrg_bchno"), "\(missing.text)")

            // B1 is the only batch left: the visit is forgotten, the next 2204 opens a new one; 0000 cancels that too.
            #expect(try await cancel("B1").infcode == 0)
            #expect(try await total().contains("没有费用明细"))
            _ = try await his.send("2204", #"{"feedetail":[\#(Self.row("4", visit: visitID, batch: "B3"))]}"#, msgid: next())
            #expect(try await total().contains("10.00"))
            #expect(try await cancel("0000").infcode == 0)
            #expect(try await total().contains("没有费用明细"))
            // Both Yibao visits the details were cancelled from are cancelled, not left open: none waits at the counter.
            #expect(try await client.send(.get, "/v1/visits", token: H.hospitalToken).decode([Visit].self).isEmpty)
        }
    }

    @Test("2202 cancels the registration with its Yibao visit; a settled one is reversed first", arguments: ServerHarness.databases)
    func registrationCancelled(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let his = NationalClient(client: client, clock: harness.clock)
            var n = 750
            func next() -> String {
                n += 1
                return NationalClient.msgid(H.hospital, n)
            }
            func register(_ number: String) async throws -> String {
                let id = try #require(
                    try await his.send("2201", NationalVisitQueryTests.register(number), msgid: next()).node("data")["mdtrt_id"] as? String)
                let uploaded = try await his.send("2204", #"{"feedetail":[\#(Self.row("1", visit: id, batch: "B1"))]}"#, msgid: next())
                #expect(uploaded.infcode == 0, "\(uploaded.text)")
                return id
            }
            func waiting() async throws -> [Visit] {
                try await client.send(.get, "/v1/visits", token: H.hospitalToken).decode([Visit].self)
            }
            func cancel(_ id: String) async throws -> NationalClient.Answer {
                try await his.send("2202", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(id)"}}"#, msgid: next())
            }
            let first = try await register("C0001")
            let visit = try #require(try await waiting().first)
            #expect(try await cancel(first).infcode == 0)
            #expect(try await waiting().isEmpty)
            let cancelled = try await client.send(.get, "/v1/visits/\(visit.id)", token: H.hospitalToken).decode(Visit.self)
            #expect(cancelled.state == .cancelled)

            // Settled: refused until the settlement is reversed.
            let second = try await register("C0002")
            let settled = try await his.send(
                "2207", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(second)","med_type":"11","medfee_sumamt":"10.00","acct_used_flag":"1"}}"#,
                msgid: next())
            let settlement = try #require(settled.node("setlinfo")["setl_id"] as? String, "\(settled.text)")
            let refused = try await cancel(second)
            #expect(refused.infcode == -1 && refused.errorMessage.contains("2208"), "\(refused.text)")
            let reversed = try await his.send(
                "2208", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(second)","setl_id":"\#(settlement)"}}"#, msgid: next())
            #expect(reversed.infcode == 0, "\(reversed.text)")
            #expect(try await waiting().count == 1, "the reversal opens the visit again")
            #expect(try await cancel(second).infcode == 0)
            #expect(try await waiting().isEmpty)
        }
    }

    @Test("2301 refund rows give back part of a detail or all of it before settlement; bad ones are refused", arguments: ServerHarness.databases)
    func refundRows(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let his = NationalClient(client: client, clock: harness.clock)
            var n = 800
            func next() -> String {
                n += 1
                return NationalClient.msgid(H.hospital, n)
            }
            let admitted = try await his.send(
                "2401",
                #"{"mdtrtinfo":{"psn_no":"P440100000001","insutype":"310","begntime":"2026-03-02 08:00:00","mdtrt_cert_type":"02","mdtrt_cert_no":"440106198503121018","med_type":"21","ipt_no":"ZY-R1"}}"#,
                msgid: next())
            let visitID = try #require(admitted.node("result")["mdtrt_id"] as? String, "\(admitted.text)")
            func row(_ number: String, _ code: String, count: String, price: String, original: String? = nil) -> String {
                let back = original.map { #","init_feedetl_sn":"\#($0)""# } ?? ""
                return
                    #"{"feedetl_sn":"\#(number)","mdtrt_id":"\#(visitID)","psn_no":"P440100000001","med_list_codg":"\#(code)","cnt":"\#(count)","pric":"\#(price)"\#(back)}"#
            }
            func upload(_ rows: String...) async throws -> NationalClient.Answer {
                try await his.send("2301", #"{"feedetail":[\#(rows.joined(separator: ","))]}"#, msgid: next())
            }
            func total() async throws -> String {
                try await his.send(
                    "2303", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(visitID)","medfee_sumamt":"0","acct_used_flag":"1"}}"#, msgid: next()
                ).errorMessage
            }
            #expect(
                try await upload(row("Z1", "XD00000000003", count: "40", price: "28.50"), row("Z2", "S000000000061", count: "3", price: "10")).infcode
                    == 0)
            #expect(try await total().contains("1170.00"))

            // Ten of the forty come back: the detail is priced again at thirty, its row answered in result[].
            let partial = try await upload(row("Z3", "XD00000000003", count: "-10", price: "28.50", original: "Z1"))
            #expect(partial.infcode == 0, "\(partial.text)")
            let rows = partial.output["result"] as? [[String: Any]] ?? []
            #expect(
                rows.first?["feedetl_sn"] as? String == "Z1" && NationalGatewayTests.fen(rows.first?["det_item_fee_sumamt"]) == 85_500,
                "\(partial.text)")
            #expect(try await total().contains("885.00"))

            // Refused: more than is left, another price, a detail the visit does not have; nothing changes.
            let tooMany = try await upload(row("Z4", "XD00000000003", count: "-31", price: "28.50", original: "Z1"))
            #expect(tooMany.infcode == -1 && tooMany.errorMessage.contains("超过原数量"), "\(tooMany.text)")
            let otherPrice = try await upload(row("Z4", "XD00000000003", count: "-1", price: "20.00", original: "Z1"))
            #expect(otherPrice.infcode == -1 && otherPrice.errorMessage.contains("单价"), "\(otherPrice.text)")
            let unknown = try await upload(row("Z4", "XD00000000003", count: "-1", price: "28.50", original: "Z9"))
            #expect(unknown.infcode == -1 && unknown.errorMessage.contains("Z9"), "\(unknown.text)")
            let positive = try await upload(row("Z4", "XD00000000003", count: "1", price: "28.50", original: "Z1"))
            #expect(positive.infcode == -1 && positive.errorMessage.contains("负数"), "\(positive.text)")
            #expect(try await total().contains("885.00"))

            // All three of Z2 come back with a new detail in the same upload: Z2 is gone, Z5 is in.
            #expect(
                try await upload(
                    row("Z4", "S000000000061", count: "-3", price: "10.00", original: "Z2"), row("Z5", "S000000000061", count: "1", price: "10")
                ).infcode == 0)
            #expect(try await total().contains("865.00"))
            let settled = try await his.send(
                "2304", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(visitID)","medfee_sumamt":"865.00","acct_used_flag":"1"}}"#, msgid: next())
            #expect(settled.infcode == 0 && NationalGatewayTests.fen(settled.node("setlinfo")["medfee_sumamt"]) == 86_500, "\(settled.text)")
            #expect(NationalGatewayTests.identities(settled.node("setlinfo")).isEmpty)
        }
    }
}
