import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer

/// 5205 慢特病用药记录查询: a chronic-disease patient's drugs across institutions, for an institution
/// that is treating the patient.
@Suite("National interface gateway: chronic medication records")
struct NationalChronicMedicationTests {
    typealias H = ServerHarness

    @Test("the chronic visits' drugs as they stand, across institutions, only to one treating the patient", arguments: ServerHarness.databases)
    func records(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let his = NationalClient(client: client, clock: harness.clock)
            var other = NationalClient(client: client, clock: harness.clock)
            other.code = "H44010000005"
            other.keyID = "Kdemo-H44010000005"
            var n = 900
            func next(_ code: String = H.hospital) -> String {
                n += 1
                return NationalClient.msgid(code, n)
            }
            /// Registers, uploads a drug (with dosage) and a service, settles; returns the setl_id.
            func visit(_ number: String, category: String) async throws -> String {
                let id = try #require(
                    try await his.send("2201", NationalVisitQueryTests.register(number, category: category), msgid: next()).node("data")["mdtrt_id"]
                        as? String)
                let uploaded = try await his.send(
                    "2204",
                    #"{"feedetail":[{"feedetl_sn":"1","mdtrt_id":"\#(id)","psn_no":"P440100000001","med_list_codg":"XD00000000003","cnt":2,"pric":28.5,"sin_dos_dscr":"1片","used_frqu_dscr":"bid","prd_days":"30","medc_way_dscr":"口服"},{"feedetl_sn":"2","mdtrt_id":"\#(id)","psn_no":"P440100000001","med_list_codg":"S000000000061","cnt":1,"pric":10}]}"#,
                    msgid: next())
                #expect(uploaded.infcode == 0, "\(uploaded.text)")
                let settled = try await his.send(
                    "2207",
                    #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(id)","med_type":"\#(category)","medfee_sumamt":"67.00","acct_used_flag":"1"}}"#,
                    msgid: next())
                return try #require(settled.node("setlinfo")["setl_id"] as? String, "\(settled.text)")
            }
            let chronic = try await visit("C0001", category: "14")
            _ = try await visit("C0002", category: "11")
            let reversed = try await visit("C0003", category: "14")
            let cancelled = try await his.send("2208", #"{"data":{"setl_id":"\#(reversed)","psn_no":"P440100000001"}}"#, msgid: next())
            #expect(cancelled.infcode == 0, "\(cancelled.text)")

            let answer = try await his.send("5205", #"{"data":{"psn_no":"P440100000001"}}"#, msgid: next())
            let rows = answer.output["drugrcd"] as? [[String: Any]] ?? []
            #expect(rows.count == 1, "only the chronic visit's drug, not its service, not the ordinary visit, not the reversed one: \(answer.text)")
            #expect(rows.first?["setl_id"] as? String == chronic && rows.first?["med_list_codg"] as? String == "XD00000000003")
            #expect(rows.first?["used_frqu_dscr"] as? String == "bid" && rows.first?["fixmedins_code"] as? String == H.hospital)

            // Another hospital that has not registered the patient is refused; once it has, it sees the record too.
            let stranger = try await other.send("5205", #"{"data":{"psn_no":"P440100000001"}}"#, msgid: next("H44010000005"))
            #expect(stranger.infcode == -1, "\(stranger.text)")
            let registered = try await other.send("2201", NationalVisitQueryTests.register("X0001"), msgid: next("H44010000005"))
            #expect(registered.infcode == 0, "\(registered.text)")
            let treating = try await other.send("5205", #"{"data":{"psn_no":"P440100000001"}}"#, msgid: next("H44010000005"))
            #expect((treating.output["drugrcd"] as? [[String: Any]])?.count == 1, "\(treating.text)")
            let backwards = try await his.send(
                "5205", #"{"data":{"psn_no":"P440100000001","begndate":"2026-03-05","enddate":"2026-03-01"}}"#, msgid: next())
            #expect(backwards.infcode == -1 && backwards.errorMessage.contains("begndate"))
        }
    }
}
