import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer

/// 5201 就诊信息查询: the visits an institution registered for a person, with their settlement.
@Suite("National interface gateway: visit query")
struct NationalVisitQueryTests {
    typealias H = ServerHarness

    static func register(_ number: String, category: String = "11") -> String {
        #"{"data":{"psn_no":"P440100000001","insutype":"310","med_type":"\#(category)","begntime":"2026-03-02 10:00:00","mdtrt_cert_type":"02","mdtrt_cert_no":"440106198503121018","ipt_otp_no":"\#(number)"}}"#
    }

    @Test(
        "a settled visit with its setl_id, one cancelled by 2202 or through the JSON API with vali_flag 0, filters by med_type, mdtrt_id and dates",
        arguments: ServerHarness.databases)
    func visits(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let his = NationalClient(client: client, clock: harness.clock)
            var n = 500
            func next() -> String {
                n += 1
                return NationalClient.msgid(H.hospital, n)
            }
            let first = try #require(try await his.send("2201", Self.register("Q0001"), msgid: next()).node("data")["mdtrt_id"] as? String)
            _ = try await his.send(
                "2204",
                #"{"feedetail":[{"feedetl_sn":"1","mdtrt_id":"\#(first)","psn_no":"P440100000001","med_list_codg":"XD00000000003","cnt":2,"pric":28.5}]}"#,
                msgid: next())
            let settled = try await his.send(
                "2207", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(first)","med_type":"11","medfee_sumamt":"57.00","acct_used_flag":"1"}}"#,
                msgid: next())
            let settlement = try #require(settled.node("setlinfo")["setl_id"] as? String, "\(settled.text)")
            harness.clock.advance(seconds: 60)
            let second = try #require(try await his.send("2201", Self.register("Q0002"), msgid: next()).node("data")["mdtrt_id"] as? String)
            let cancelled = try await his.send(
                "2202", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(second)","ipt_otp_no":"Q0002"}}"#, msgid: next())
            #expect(cancelled.infcode == 0, "\(cancelled.text)")
            // The third's visit is cancelled by the cashier through the JSON API; its registration row is not told.
            harness.clock.advance(seconds: 60)
            let third = try #require(try await his.send("2201", Self.register("Q0003"), msgid: next()).node("data")["mdtrt_id"] as? String)
            let fees = try await his.send(
                "2204",
                #"{"feedetail":[{"feedetl_sn":"1","mdtrt_id":"\#(third)","psn_no":"P440100000001","med_list_codg":"XD00000000003","cnt":1,"pric":28.5}]}"#,
                msgid: next())
            #expect(fees.infcode == 0, "\(fees.text)")
            let visit = try #require(try await client.send(.get, "/v1/visits", token: H.hospitalToken).decode([Visit].self).first)
            let withdrawn = try await client.send(.post, "/v1/visits/\(visit.id)/cancellation", token: H.hospitalToken)
            #expect(withdrawn.status == .ok, "\(withdrawn.text)")

            func query(_ extra: String = "") async throws -> [[String: Any]] {
                let answer = try await his.send("5201", #"{"data":{"psn_no":"P440100000001"\#(extra)}}"#, msgid: next())
                #expect(answer.infcode == 0, "\(answer.text)")
                return answer.output["mdtrtinfo"] as? [[String: Any]] ?? []
            }
            let all = try await query()
            #expect(all.map { $0["mdtrt_id"] as? String } == [first, second, third])
            #expect(all.first?["setl_id"] as? String == settlement && all.first?["vali_flag"] as? String == "1")
            #expect(all.map { $0["vali_flag"] as? String } == ["1", "0", "0"] && all[1]["ipt_otp_no"] as? String == "Q0002")
            #expect(try await query(#","mdtrt_id":"\#(second)""#).count == 1)
            #expect(try await query(#","med_type":"21""#).isEmpty)
            #expect(try await query(#","begntime":"2026-03-03","endtime":"2026-03-31""#).isEmpty)
            #expect(try await query(#","begntime":"2026-03-02","endtime":"2026-03-02""#).count == 3)
            let backwards = try await his.send(
                "5201", #"{"data":{"psn_no":"P440100000001","begntime":"2026-03-05","endtime":"2026-03-01"}}"#, msgid: next())
            #expect(backwards.infcode == -1 && backwards.errorMessage.contains("begntime"))
            // Another institution does not see them.
            var other = NationalClient(client: client, clock: harness.clock)
            other.code = "H44010000005"
            other.keyID = "Kdemo-H44010000005"
            let theirs = try await other.send("5201", #"{"data":{"psn_no":"P440100000001"}}"#, msgid: NationalClient.msgid("H44010000005", 1))
            #expect((theirs.output["mdtrtinfo"] as? [[String: Any]])?.isEmpty == true, "\(theirs.text)")
        }
    }

    @Test("1901: the code tables from Yibao's own codes (camelCase input); an unknown type is an empty list; the type is required")
    func dictionary() async throws {
        try await H.withApp { client, harness in
            let his = NationalClient(client: client, clock: harness.clock)
            let answer = try await his.send(
                "1901", #"{"data":{"type":"MED_TYPE","parentValue":"0","admdvs":"440100","date":"2026-03-02","valiFlag":"1"}}"#,
                msgid: NationalClient.msgid(H.hospital, 801))
            #expect(answer.infcode == 0, "\(answer.text)")
            let rows = answer.object["output"] as? [[String: Any]] ?? []
            #expect(rows.map { $0["value"] as? String } == MedicalCategory.allCases.map(\.rawValue))
            #expect(rows.first?["label"] as? String == "普通门诊" && rows.first?["type"] as? String == "MED_TYPE")
            let fund = try await his.send("1901", #"{"data":{"type":"fund_pay_type"}}"#, msgid: NationalClient.msgid(H.hospital, 802))
            let labels = (fund.object["output"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String }
            #expect(labels.contains("城乡居民大病医疗保险基金"))
            let unknown = try await his.send("1901", #"{"data":{"type":"NOT_A_TABLE"}}"#, msgid: NationalClient.msgid(H.hospital, 803))
            #expect(unknown.infcode == 0 && (unknown.object["output"] as? [Any])?.isEmpty == true)
            let missing = try await his.send("1901", #"{"data":{}}"#, msgid: NationalClient.msgid(H.hospital, 804))
            #expect(missing.infcode == -1 && missing.errorMessage.contains("type"))
        }
    }

    @Test("2302 with some feedetl_sn takes those details off the stay (the JSON API's lines removal); an unknown one is refused")
    func cancelSomeDetails() async throws {
        try await H.withApp { client, harness in
            let his = NationalClient(client: client, clock: harness.clock)
            var n = 900
            func next() -> String {
                n += 1
                return NationalClient.msgid(H.hospital, n)
            }
            let admitted = try await his.send(
                "2401",
                #"{"mdtrtinfo":{"psn_no":"P440100000001","insutype":"310","begntime":"2026-03-02 08:00:00","mdtrt_cert_type":"02","mdtrt_cert_no":"440106198503121018","med_type":"21","ipt_no":"ZY0901"}}"#,
                msgid: next())
            let visit = try #require(admitted.node("result")["mdtrt_id"] as? String, "\(admitted.text)")
            let fees = try await his.send(
                "2301",
                #"{"feedetail":[{"feedetl_sn":"Z1","mdtrt_id":"\#(visit)","psn_no":"P440100000001","med_list_codg":"XD00000000003","cnt":"40","pric":28.5},{"feedetl_sn":"Z2","mdtrt_id":"\#(visit)","psn_no":"P440100000001","med_list_codg":"S000000000061","cnt":3,"pric":"10.00"}]}"#,
                msgid: next())
            #expect(fees.infcode == 0, "\(fees.text)")
            let unknown = try await his.send(
                "2302", #"{"data":[{"feedetl_sn":"Z9","mdtrt_id":"\#(visit)","psn_no":"P440100000001"}]}"#, msgid: next())
            #expect(unknown.infcode == -1 && unknown.errorMessage.contains("Z9"), "\(unknown.text)")
            let some = try await his.send(
                "2302", #"{"data":[{"feedetl_sn":"Z2","mdtrt_id":"\#(visit)","psn_no":"P440100000001"}]}"#, msgid: next())
            #expect(some.infcode == 0, "\(some.text)")
            // The stay now holds Z1 only: 1,140.00.
            let preview = try await his.send(
                "2303", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(visit)","medfee_sumamt":"1140.00","acct_used_flag":"1"}}"#, msgid: next())
            #expect(preview.infcode == 0, "\(preview.text)")

            // The JSON twin, on a visit of the JSON API.
            let lines = Body.line("1") + "," + Body.line("2", code: "XD00000000002")
            let opened = try await client.send(.post, "/v1/visits", token: H.hospitalToken, json: Body.visit(number: "RM-1", lines: lines))
                .decode(Visit.self)
            let removed = try await client.send(
                .post, "/v1/visits/\(opened.id)/lines/removal", token: H.hospitalToken, json: #"{"line_numbers":["2"]}"#)
            #expect(try removed.decode(Visit.self).lines.map(\.lineNumber) == ["1"], "\(removed.text)")
            let every = try await client.send(
                .post, "/v1/visits/\(opened.id)/lines/removal", token: H.hospitalToken, json: #"{"line_numbers":["1"]}"#)
            #expect(every.status == .badRequest && every.problem?.field == "line_numbers")
        }
    }
}
