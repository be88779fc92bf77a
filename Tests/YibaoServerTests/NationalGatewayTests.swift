import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer

/// A hospital system written for the national interface, as it would drive Yibao: the envelope, the
/// gateway headers, msgids, amounts in yuan (sometimes as strings), fields Yibao ignores.
struct NationalClient {
    let client: any TestClientProtocol
    let clock: ManualClock
    var code = ServerHarness.hospital
    var keyID = "Kdemo-\(ServerHarness.hospital)"
    var secret = DemoData.institutionSecret

    struct Answer {
        let text: String
        let object: [String: Any]
        var infcode: Int { (object["infcode"] as? Int) ?? Int(object["infcode"] as? String ?? "") ?? -99 }
        var errorMessage: String { object["err_msg"] as? String ?? "" }
        var output: [String: Any] { object["output"] as? [String: Any] ?? [:] }
        func node(_ key: String) -> [String: Any] { output[key] as? [String: Any] ?? [:] }
    }

    static func msgid(_ code: String, _ sequence: Int) -> String { code + "20261122103000" + String(format: "%04d", sequence) }

    /// Sends a transaction; `headers` replaces the gateway headers (tests of authentication).
    func send(
        _ infno: String, _ input: String, msgid: String, path: String = "/fsi/api", fixmedinsCode: String? = nil, timestamp: Int64? = nil,
        nonce: String? = nil, signature: String? = nil
    ) async throws -> Answer {
        let body = #"""
            {"infno":"\#(infno)","msgid":"\#(msgid)","mdtrtarea_admvs":"440100","insuplc_admdvs":"440100","recer_sys_code":"YBXT","dev_no":"","dev_safe_info":"","cainfo":"","signtype":"","infver":"V1.0","opter_type":"1","opter":"001","opter_name":"收费员","inf_time":"2026-11-22 10:30:00","fixmedins_code":"\#(fixmedinsCode ?? code)","fixmedins_name":"广州示例市第二人民医院","sign_no":"","fixmedins_soft_fcty":"acme","input":\#(input)}
            """#
        let ts = timestamp ?? clock.now().secondsSinceEpoch
        let nonce = nonce ?? UUID().uuidString
        var headers: HTTPFields = [.contentType: "text/plain"]
        headers[HTTPField.Name("x-tif-paasid")!] = keyID
        headers[HTTPField.Name("x-tif-timestamp")!] = String(ts)
        headers[HTTPField.Name("x-tif-nonce")!] = nonce
        headers[HTTPField.Name("x-tif-signature")!] = signature ?? Secrets.sha256Hex("\(ts)" + secret + nonce + "\(ts)")
        let response = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { $0 }
        #expect(response.status == .ok)
        let text = String(buffer: response.body)
        let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return Answer(text: text, object: object)
    }
}

@Suite("National interface gateway")
struct NationalGatewayTests {
    typealias H = ServerHarness

    static func fen(_ value: Any?) -> Int64? {
        switch value {
        case let number as NSNumber: return Int64((number.doubleValue * 100).rounded())
        case let text as String: return NationalFieldProbe.fen(text)
        default: return nil
        }
    }

    /// The §3.3 identities on a `setlinfo` as a national client reads it.
    static func identities(_ info: [String: Any]) -> [String] {
        func f(_ key: String) -> Int64 { fen(info[key]) ?? Int64.min }
        var broken: [String] = []
        if f("medfee_sumamt") != f("fulamt_ownpay_amt") + f("overlmt_selfpay") + f("preselfpay_amt") + f("inscp_scp_amt") { broken.append("I1") }
        if f("medfee_sumamt") != f("fund_pay_sumamt") + f("psn_part_amt") + f("hosp_part_amt") { broken.append("I2") }
        if f("psn_part_amt") != f("acct_pay") + f("psn_cash_pay") { broken.append("I3") }
        let funds = ["hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay"].map(f).reduce(0, +)
        if f("fund_pay_sumamt") != funds { broken.append("I4") }
        if abs(f("acct_mulaid_pay")) > abs(f("acct_pay")) { broken.append("I5") }
        return broken
    }

    static let amounts = [
        "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "hifp_pay", "fund_pay_sumamt", "psn_part_amt",
        "acct_pay", "psn_cash_pay", "hosp_part_amt",
    ]

    @Test(
        "an outpatient by ID number: 9001, 1101, 2201, 2203, 2204, 2206, 2207 (the same figures as the JSON API), 5203, 2208, 2601, 3201",
        arguments: ServerHarness.databases)
    func outpatientSequence(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            // setup: the same visit settled through the JSON API, then reversed (the accumulators are as before).
            let twin = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken,
                json: Body.visit(
                    number: "TWIN1",
                    lines: Body.line("1", code: "XD00000000003", price: 2850, quantity: "2") + ","
                        + Body.line("2", code: "S000000000061", price: 1000, quantity: "1"))
            ).decode(Visit.self)
            let twinRecord = try await client.send(
                .post, "/v1/visits/\(twin.id)/settlement", token: H.hospitalToken, json: #"{"use_account":true}"#,
                headers: [HTTPField.Name("Idempotency-Key")!: "twin"]
            ).decode(SettlementRecord.self)
            _ = try await client.send(
                .post, "/v1/settlements/\(twinRecord.id)/reversal", token: H.hospitalToken, headers: [HTTPField.Name("Idempotency-Key")!: "twin-r"])
            let his = NationalClient(client: client, clock: harness.clock)
            var n = 0
            func next() -> String {
                n += 1
                return NationalClient.msgid(H.hospital, n)
            }

            // act: sign in, read the person by ID number, register, upload the visit and the fees.
            let signIn = try await his.send("9001", #"{"signIn":{"opter_no":"001","mac":"00-00","ip":"10.0.0.1"}}"#, msgid: next())
            let person = try await his.send(
                "1101", #"{"data":{"mdtrt_cert_type":"02","mdtrt_cert_no":"440106198503121018","psn_cert_type":"01","psn_name":"张伟"}}"#, msgid: next()
            )
            let registered = try await his.send(
                "2201",
                #"{"data":{"psn_no":"P440100000001","insutype":"310","begntime":"2026-11-22 10:30:00","mdtrt_cert_type":"02","mdtrt_cert_no":"440106198503121018","ipt_otp_no":"NAT0001","atddr_no":"D01","dr_name":"李医生","dept_code":"A01","dept_name":"内科","caty":"A03","some_local_field":{"x":1}}}"#,
                msgid: next())
            let visit = try #require(registered.node("data")["mdtrt_id"] as? String, "\(registered.text)")
            let uploaded = try await his.send(
                "2203",
                #"{"mdtrtinfo":{"mdtrt_id":"\#(visit)","psn_no":"P440100000001","med_type":"11","begntime":"2026-11-22 10:30:00"},"diseinfo":[{"diag_type":"1","diag_srt_no":1,"diag_code":"J06.900","diag_name":"上呼吸道感染","diag_dept":"内科","dise_dor_no":"D01","dise_dor_name":"李医生","diag_time":"2026-11-22 10:35:00","vali_flag":"1"}]}"#,
                msgid: next())
            let fees = try await his.send(
                "2204",
                #"{"feedetail":[{"feedetl_sn":"1","mdtrt_id":"\#(visit)","psn_no":"P440100000001","chrg_bchno":"B1","rx_circ_flag":"0","fee_ocur_time":"2026-11-22 10:40:00","med_list_codg":"XD00000000003","medins_list_codg":"HIS-0003","det_item_fee_sumamt":57.00,"cnt":2,"pric":"28.500000","sin_dos_dscr":"1片","used_frqu_dscr":"tid","prd_days":"3.50","medc_way_dscr":"口服","bilg_dept_codg":"A01","bilg_dept_name":"内科","bilg_dr_codg":"D01","bilg_dr_name":"李医生","hosp_appr_flag":"1"},{"feedetl_sn":"2","mdtrt_id":"\#(visit)","psn_no":"P440100000001","chrg_bchno":"B1","rx_circ_flag":"0","fee_ocur_time":"2026-11-22 10:40:00","med_list_codg":"S000000000061","medins_list_codg":"HIS-0061","det_item_fee_sumamt":"10.00","cnt":"1.0000","pric":10,"bilg_dept_codg":"A01","bilg_dept_name":"内科","bilg_dr_codg":"D01","bilg_dr_name":"李医生","hosp_appr_flag":"1"}]}"#,
                msgid: next())
            let settleInput =
                #"{"data":{"psn_no":"P440100000001","mdtrt_cert_type":"02","mdtrt_cert_no":"440106198503121018","med_type":"11","medfee_sumamt":"67.00","psn_setlway":"01","mdtrt_id":"\#(visit)","chrg_bchno":"B1","acct_used_flag":"1","insutype":"310","invono":"","fulamt_ownpay_amt":0,"overlmt_selfpay":0,"preselfpay_amt":5.7,"inscp_scp_amt":61.3}}"#
            let preview = try await his.send("2206", settleInput, msgid: next())
            let settleID = next()
            let settled = try await his.send("2207", settleInput, msgid: settleID)
            let repeated = try await his.send("2207", settleInput, msgid: settleID)

            // verify: each answered; the split is the JSON API's to the fen and obeys the identities; a repeated msgid answers the same.
            #expect(signIn.infcode == 0 && signIn.node("signinoutb")["sign_no"] != nil)
            #expect(person.node("baseinfo")["psn_no"] as? String == "P440100000001")
            #expect(Self.fen((person.output["insuinfo"] as? [[String: Any]])?.first?["balc"]) == 320_000)
            #expect(uploaded.infcode == 0, "\(uploaded.text)")
            let diagnosed = try await his.send("5202", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(visit)"}}"#, msgid: next())
            let diagnosis = (diagnosed.output["diseinfo"] as? [[String: Any]])?.first
            #expect(diagnosis?["diag_code"] as? String == "J06.900" && diagnosis?["inout_diag_type"] == nil, "\(diagnosed.text)")
            let rows = fees.output["result"] as? [[String: Any]] ?? []
            #expect(rows.count == 2, "\(fees.text)")
            #expect(Self.fen(rows.first?["preselfpay_amt"]) == 570)
            #expect(rows.first?["chrgitm_lv"] as? String == "02")
            #expect(preview.infcode == 0 && preview.node("setlinfo")["setl_id"] == nil, "\(preview.text)")
            let info = settled.node("setlinfo")
            #expect(settled.infcode == 0, "\(settled.text)")
            #expect(Self.identities(info).isEmpty, "\(info)")
            let twinInfo: [String: Int64] = [
                "medfee_sumamt": twinRecord.breakdown.totalAmount.fen, "fulamt_ownpay_amt": twinRecord.breakdown.fullSelfPay.fen,
                "overlmt_selfpay": twinRecord.breakdown.overLimitSelfPay.fen, "preselfpay_amt": twinRecord.breakdown.firstSelfPay.fen,
                "inscp_scp_amt": twinRecord.breakdown.inScope.fen, "hifp_pay": twinRecord.breakdown.pooledFund.fen,
                "fund_pay_sumamt": twinRecord.breakdown.fundTotal.fen, "psn_part_amt": twinRecord.breakdown.personTotal.fen,
                "acct_pay": twinRecord.breakdown.accountPaid.fen, "psn_cash_pay": twinRecord.breakdown.cashPaid.fen,
                "hosp_part_amt": twinRecord.breakdown.hospitalBorne.fen,
            ]
            for key in Self.amounts { #expect(Self.fen(info[key]) == twinInfo[key], "\(key)") }
            #expect(Self.fen(info["hifp_pay"]) == 3985 && Self.fen(info["acct_pay"]) == 2715)
            #expect(info["medins_setl_id"] as? String == settleID)
            #expect(repeated.text == settled.text)
            let setlID = try #require(info["setl_id"] as? String)
            // The dosage fields of 2204 became the drug line's medication reminder (prd_days 3.50 → 4 whole days).
            let reminder = try #require(try await harness.platform.medicationReminders(person: "P440100000001").first { $0.settlementId == setlID })
            #expect(reminder.lineNumber == "1" && reminder.frequency == "tid" && reminder.days == 4 && reminder.route == "口服")
            #expect(reminder.singleDose == "1片" && reminder.times.map(\.description) == ["08:00", "12:00", "18:00"] && reminder.assumptions.isEmpty)

            // act: query it (5203), cancel it (2208), settle again and lose the answer: 2601 undoes it; 2601 of a msgid never sent.
            let queried = try await his.send(
                "5203", #"{"data":{"psn_no":"P440100000001","setl_id":"\#(setlID)","mdtrt_id":"\#(visit)"}}"#, msgid: next())
            let feeRows = try await his.send(
                "5204", #"{"data":{"psn_no":"P440100000001","setl_id":"\#(setlID)","mdtrt_id":"\#(visit)"}}"#, msgid: next())
            let cumulative = try await his.send("5206", #"{"data":{"psn_no":"P440100000001","cum_ym":"202603"}}"#, msgid: next())
            let cancelled = try await his.send(
                "2208", #"{"data":{"setl_id":"\#(setlID)","mdtrt_id":"\#(visit)","psn_no":"P440100000001","expContent":""}}"#, msgid: next())
            let lostID = next()
            let again = try await his.send("2207", settleInput, msgid: lostID)
            let undone = try await his.send(
                "2601", #"{"data":{"psn_no":"P440100000001","omsgid":"\#(lostID)","oinfno":"2207"}}"#, msgid: next())
            let nothing = try await his.send(
                "2601", #"{"data":{"psn_no":"P440100000001","omsgid":"\#(NationalClient.msgid(H.hospital, 9999))","oinfno":"2207"}}"#, msgid: next())

            // verify
            #expect(queried.node("setlinfo")["setl_id"] as? String == setlID)
            let listed = (feeRows.object["output"] as? [[String: Any]]) ?? []
            #expect(listed.map { $0["feedetl_sn"] as? String } == ["1", "2"], "\(feeRows.text)")
            #expect(listed.compactMap { Self.fen($0["preselfpay_amt"]) }.reduce(0, +) == Self.fen(info["preselfpay_amt"]))
            let accumulated = (cumulative.output["cuminfo"] as? [[String: Any]]) ?? []
            #expect(
                Self.fen(accumulated.first { $0["cum_type_code"] as? String == "11_hifp" }?["cum"]) == Self.fen(info["hifp_pay"]),
                "\(cumulative.text)")
            let negated = cancelled.node("setlinfo")
            #expect(cancelled.infcode == 0, "\(cancelled.text)")
            for key in Self.amounts { #expect(Self.fen(negated[key]) == Self.fen(info[key]).map { -$0 }, "\(key)") }
            #expect(again.infcode == 0, "\(again.text)")
            #expect(undone.node("data")["rslt"] as? String == "1", "\(undone.text)")
            let againID = try #require(again.node("setlinfo")["setl_id"] as? String)
            #expect(try await harness.platform.settlement(id: againID, institution: nil)?.reversedBy != nil)
            #expect(nothing.infcode == 0 && nothing.node("data")["rslt"] as? String == "0")

            // act + verify: the next day, 3201 for the day: three settlements and three cancellations net to nothing.
            harness.clock.advance(seconds: 86_400)
            let day = ChinaTime.date(harness.clock.now().adding(days: -1))
            func totals(_ count: Int) -> String {
                #"{"data":{"insutype":"310","clr_type":"11","setl_optins":"440100","stmt_begndate":"\#(day)","stmt_enddate":"\#(day)","medfee_sumamt":0,"fund_pay_sumamt":"0.00","acct_pay":0,"fixmedins_setl_cnt":\#(count),"refd_setl_flag":"1"}}"#
            }
            let balanced = try await his.send("3201", totals(6), msgid: next())
            let unbalanced = try await his.send("3201", totals(5), msgid: next())
            #expect(balanced.output["stmt_rslt"] as? String == "0", "\(balanced.text)")
            #expect(unbalanced.output["stmt_rslt"] as? String == "1")

            // act + verify: the detail file (9101, a deflated zip in the national column order), 3202, the result (9102).
            func row(_ info: [String: Any], negate: Bool = false, id: String? = nil, refund: Bool) -> String {
                func yuan(_ key: String) -> String {
                    let fen = (Self.fen(info[key]) ?? 0) * (negate ? -1 : 1)
                    return Money(fen: fen).description
                }
                return [
                    "P440100000001", visit, id ?? (info["setl_id"] as? String ?? ""), yuan("medfee_sumamt"), yuan("fund_pay_sumamt"),
                    yuan("acct_pay"),
                    refund ? "1" : "0",
                ].joined(separator: "\t")
            }
            let undoneID = try #require(undone.node("data")["setl_id"] as? String)
            let detail =
                [
                    row(info, refund: false), row(negated, refund: true), row(again.node("setlinfo"), refund: false),
                    row(again.node("setlinfo"), negate: true, id: undoneID, refund: true),
                ].joined(separator: "\n") + "\n"
            // Deflated and streamed (CRC and sizes after the data), as zip tools on a HIS write it.
            let zipped = InflateTests.deflatedZip(Array(detail.utf8), streamed: true)
            let uploaded9101 = try await his.send(
                "9101", #"{"fsUploadIn":{"in":"\#(Data(zipped).base64EncodedString())","filename":"detail.zip","fixmedins_code":"\#(H.hospital)"}}"#,
                msgid: next())
            let fileID = try #require(uploaded9101.output["file_qury_no"] as? String, "\(uploaded9101.text)")
            let compared = try await his.send(
                "3202",
                #"{"data":{"setl_optins":"440100","file_qury_no":"\#(fileID)","stmt_begndate":"\#(day)","stmt_enddate":"\#(day)","medfee_sumamt":0,"fund_pay_sumamt":0,"cash_payamt":0,"fixmedins_setl_cnt":4}}"#,
                msgid: next())
            let resultID = try #require(compared.output["file_qury_no"] as? String, "\(compared.text)")
            let body =
                #"{"infno":"9102","msgid":"\#(next())","fixmedins_code":"\#(H.hospital)","input":{"fsDownloadIn":{"file_qury_no":"\#(resultID)","filename":"x","fixmedins_code":"\#(H.hospital)"}}}"#
            let ts = harness.clock.now().secondsSinceEpoch
            let nonce = UUID().uuidString
            let download = try await client.execute(
                uri: "/fsi/api", method: .post,
                headers: [
                    HTTPField.Name("x-tif-paasid")!: his.keyID, HTTPField.Name("x-tif-timestamp")!: String(ts), HTTPField.Name("x-tif-nonce")!: nonce,
                    HTTPField.Name("x-tif-signature")!: Secrets.sha256Hex("\(ts)" + his.secret + nonce + "\(ts)"),
                ], body: ByteBuffer(string: body)
            ) { $0 }
            #expect(download.headers[.contentType] == "application/octet-stream")
            let result = try #require(
                try NationalZip.firstFile(Array(download.body.readableBytesView)).map { String(decoding: $0, as: UTF8.self) })
            #expect(compared.output["stmt_rslt"] as? String == "1")
            #expect(result.components(separatedBy: "\tmatch\t").count - 1 == 4, "\(result)")
            #expect(result.components(separatedBy: "\tonly_in_yibao\t").count - 1 == 2)
            #expect(try await harness.platform.verifyLedger().passed)
        }
    }

    @Test(
        "an inpatient stay: 2401 admission, 2301 fees, 2402 discharge, 2303, 2304 (the JSON API's figures), 2305, 2601 of a lost 2304, 2404; then 3203 and 3204",
        arguments: ServerHarness.databases)
    func inpatientSequence(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            // setup: the same stay settled and reversed through the JSON API.
            let lines =
                Body.line("1", code: "XD00000000003", price: 2850, quantity: "40") + ","
                + Body.line("2", code: "S000000000061", price: 1000, quantity: "3")
            let twin = try await client.send(
                .post, "/v1/visits", token: H.hospitalToken,
                json: #"{"person_number":"P440100000001","category":"21","hospital_visit_number":"ZY-TWIN","lines":[\#(lines)]}"#
            ).decode(Visit.self)
            let twinRecord = try await client.send(
                .post, "/v1/visits/\(twin.id)/settlement", token: H.hospitalToken, headers: [HTTPField.Name("Idempotency-Key")!: "zy-twin"]
            ).decode(SettlementRecord.self)
            _ = try await client.send(
                .post, "/v1/settlements/\(twinRecord.id)/reversal", token: H.hospitalToken, headers: [HTTPField.Name("Idempotency-Key")!: "zy-twin-r"]
            )
            let his = NationalClient(client: client, clock: harness.clock)
            var n = 100
            func next() -> String {
                n += 1
                return NationalClient.msgid(H.hospital, n)
            }

            // act: admission, fees (amounts as strings and numbers), discharge, pre-settlement, settlement.
            let admitted = try await his.send(
                "2401",
                #"{"mdtrtinfo":{"psn_no":"P440100000001","insutype":"310","coner_name":"张伟","tel":"13800100001","begntime":"2026-11-20 08:00:00","mdtrt_cert_type":"02","mdtrt_cert_no":"440106198503121018","med_type":"21","ipt_no":"ZY0001","medrcdno":"BA1","atddr_no":"D02","chfpdr_name":"王医生","adm_diag_dscr":"肺炎","adm_dept_codg":"B01","adm_dept_name":"呼吸科","adm_bed":"12","dscg_maindiag_code":"J18.900","dscg_maindiag_name":"肺炎"},"diseinfo":[{"psn_no":"P440100000001","diag_type":"1","maindiag_flag":"1","diag_srt_no":"1","diag_code":"J18.900","diag_name":"肺炎","adm_cond":"1","diag_dept":"呼吸科","dise_dor_no":"D02","dise_dor_name":"王医生","diag_time":"2026-11-20 08:10:00"}]}"#,
                msgid: next())
            let visit = try #require(admitted.node("result")["mdtrt_id"] as? String, "\(admitted.text)")
            let fees = try await his.send(
                "2301",
                #"{"feedetail":[{"feedetl_sn":"Z1","init_feedetl_sn":"","mdtrt_id":"\#(visit)","drord_no":"O1","psn_no":"P440100000001","med_type":"21","fee_ocur_time":"2026-11-20 09:00:00","med_list_codg":"XD00000000003","medins_list_codg":"HIS-0003","det_item_fee_sumamt":"1140.00","cnt":"40","pric":28.5,"bilg_dept_codg":"B01","bilg_dept_name":"呼吸科","bilg_dr_codg":"D02","bilg_dr_name":"王医生","hosp_appr_flag":"1"},{"feedetl_sn":"Z2","mdtrt_id":"\#(visit)","psn_no":"P440100000001","med_type":"21","fee_ocur_time":"2026-11-21 09:00:00","med_list_codg":"S000000000061","medins_list_codg":"HIS-0061","det_item_fee_sumamt":30,"cnt":3,"pric":"10.00","bilg_dept_codg":"B01","bilg_dept_name":"呼吸科","bilg_dr_codg":"D02","bilg_dr_name":"王医生","hosp_appr_flag":"1"}]}"#,
                msgid: next())
            let discharged = try await his.send(
                "2402",
                #"{"dscginfo":{"mdtrt_id":"\#(visit)","psn_no":"P440100000001","insutype":"310","endtime":"2026-11-22 10:00:00","dise_codg":"J18.900","dise_name":"肺炎","dscg_way":"1"},"diseinfo":[{"diag_type":"1","maindiag_flag":"1","diag_srt_no":1,"diag_code":"J18.900","diag_name":"肺炎","diag_dept":"呼吸科","dise_dor_no":"D02","dise_dor_name":"王医生","diag_time":"2026-11-22 09:30:00"},{"diag_type":"1","maindiag_flag":"0","diag_srt_no":2,"diag_code":"E11.900","diag_name":"2型糖尿病","diag_dept":"呼吸科","dise_dor_no":"D02","dise_dor_name":"王医生","diag_time":"2026-11-22 09:30:00"}]}"#,
                msgid: next())
            // 5202: what the hospital reported, admission (inout_diag_type 1) then discharge (2); another hospital cannot read it.
            let diagnosed = try await his.send("5202", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(visit)"}}"#, msgid: next())
            let rows = diagnosed.output["diseinfo"] as? [[String: Any]] ?? []
            #expect(
                rows.map { "\($0["inout_diag_type"] ?? "")/\($0["diag_code"] ?? "")/\($0["maindiag_flag"] ?? "")" }
                    == ["1/J18.900/1", "2/J18.900/1", "2/E11.900/0"], "\(diagnosed.text)")
            #expect(rows.first?["dise_dor_name"] as? String == "王医生" && rows.last?["diag_name"] as? String == "2型糖尿病")
            var otherHIS = NationalClient(client: client, clock: harness.clock)
            otherHIS.code = "H44010000005"
            otherHIS.keyID = "Kdemo-H44010000005"
            let notTheirs = try await otherHIS.send(
                "5202", #"{"data":{"psn_no":"P440100000001","mdtrt_id":"\#(visit)"}}"#, msgid: NationalClient.msgid("H44010000005", 1))
            #expect(notTheirs.infcode == -1, "\(notTheirs.text)")
            let settleInput =
                #"{"data":{"psn_no":"P440100000001","mdtrt_cert_type":"02","mdtrt_cert_no":"440106198503121018","medfee_sumamt":1170,"psn_setlway":"01","mdtrt_id":"\#(visit)","insutype":"310","acct_used_flag":"1","invono":"","mid_setl_flag":"0","fulamt_ownpay_amt":0,"overlmt_selfpay":0,"preselfpay_amt":"114.00","inscp_scp_amt":"1056.00"}}"#
            let preview = try await his.send("2303", settleInput, msgid: next())
            let settled = try await his.send("2304", settleInput, msgid: next())

            // verify: the JSON API's figures to the fen, the identities.
            #expect(fees.infcode == 0 && (fees.output["result"] as? [[String: Any]])?.count == 2, "\(fees.text)")
            #expect(discharged.infcode == 0)
            #expect(preview.infcode == 0, "\(preview.text)")
            let info = settled.node("setlinfo")
            #expect(settled.infcode == 0, "\(settled.text)")
            #expect(Self.identities(info).isEmpty)
            #expect(info["med_type"] as? String == "21" && info["clr_type"] as? String == "21")
            let b = twinRecord.breakdown
            let expected: [String: Int64] = [
                "medfee_sumamt": b.totalAmount.fen, "preselfpay_amt": b.firstSelfPay.fen, "inscp_scp_amt": b.inScope.fen,
                "act_pay_dedc": b.deductiblePaid.fen, "hifp_pay": b.pooledFund.fen, "fund_pay_sumamt": b.fundTotal.fen,
                "acct_pay": b.accountPaid.fen, "psn_cash_pay": b.cashPaid.fen,
            ]
            for (key, value) in expected { #expect(Self.fen(info[key]) == value, "\(key)") }
            let setlID = try #require(info["setl_id"] as? String)

            // act: cancel the settlement (2305), settle again and lose the answer (2601 undoes it), cancel the admission (2404).
            let cancelled = try await his.send(
                "2305", #"{"data":{"mdtrt_id":"\#(visit)","setl_id":"\#(setlID)","psn_no":"P440100000001"}}"#, msgid: next())
            let lost = next()
            let again = try await his.send("2304", settleInput, msgid: lost)
            let undone = try await his.send("2601", #"{"data":{"psn_no":"P440100000001","omsgid":"\#(lost)","oinfno":"2304"}}"#, msgid: next())
            let cancelAdmission = try await his.send("2404", #"{"data":{"mdtrt_id":"\#(visit)","psn_no":"P440100000001"}}"#, msgid: next())
            let afterCancel = try await his.send("2303", settleInput, msgid: next())

            // verify
            #expect(cancelled.infcode == 0 && Self.fen(cancelled.node("setlinfo")["fund_pay_sumamt"]) == -b.fundTotal.fen)
            #expect(again.infcode == 0 && undone.node("data")["rslt"] as? String == "1", "\(undone.text)")
            #expect(cancelAdmission.infcode == 0, "\(cancelAdmission.text)")
            #expect(afterCancel.infcode == -1 && afterCancel.errorMessage.contains("已撤销"))

            // act + verify: on 1 December the hospital applies for November's clearing (3203) and cancels it (3204).
            harness.clock.set(Instant(iso8601: "2026-12-01T09:00:00+08:00")!)
            let applied = try await his.send(
                "3203", #"{"data":{"insutype":"310","clr_type":"21","begndate":"2026-11-01","enddate":"2026-11-30"}}"#, msgid: next())
            let clearing = try #require(applied.node("data")["clr_appy_evt_id"] as? String, "\(applied.text)")
            #expect(Int(applied.node("data")["setl_cnt"] as? String ?? "") ?? (applied.node("data")["setl_cnt"] as? Int) ?? 0 >= 6)
            let withdrawn = try await his.send("3204", #"{"data":{"clr_appy_evt_id":"\#(clearing)"}}"#, msgid: next())
            let twice = try await his.send("3204", #"{"data":{"clr_appy_evt_id":"\#(clearing)"}}"#, msgid: next())
            #expect(withdrawn.infcode == 0)
            #expect(twice.infcode == -1 && twice.errorMessage.contains("清算"))
            #expect(try await harness.platform.verifyLedger().passed)
        }
    }

    @Test(
        "an outpatient by e-voucher code: 1101 and 2201 with the code, 2204, 2207 collects the cash part from the patient's card",
        arguments: ServerHarness.databases)
    func outpatientByCode(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            // setup: 张伟 registered on his phone with a bound card.
            let patient = try await PatientFlow.signUp(client, harness)
            let his = NationalClient(client: client, clock: harness.clock)
            let code = patient.code(harness)

            // act: the HIS reads the code (1101), registers with it (2201), uploads and settles without the account.
            let person = try await his.send(
                "1101", #"{"data":{"mdtrt_cert_type":"01","mdtrt_cert_no":"\#(code)","psn_cert_type":"01"}}"#, msgid: "EV1")
            let registered = try await his.send(
                "2201",
                #"{"data":{"psn_no":"\#(PatientFlow.person)","insutype":"310","begntime":"2026-03-02 10:00:00","mdtrt_cert_type":"01","mdtrt_cert_no":"\#(code)","ipt_otp_no":"EV0001","atddr_no":"D01","dr_name":"李医生","dept_code":"A01","dept_name":"内科","caty":"A03"}}"#,
                msgid: "EV2")
            let visit = try #require(registered.node("data")["mdtrt_id"] as? String, "\(registered.text)")
            let fees = try await his.send(
                "2204",
                #"{"feedetail":[{"feedetl_sn":"1","mdtrt_id":"\#(visit)","psn_no":"\#(PatientFlow.person)","chrg_bchno":"B1","med_list_codg":"XD00000000003","det_item_fee_sumamt":"57.00","cnt":"2","pric":"28.50"}]}"#,
                msgid: "EV3")
            let settled = try await his.send(
                "2207",
                #"{"data":{"psn_no":"\#(PatientFlow.person)","mdtrt_cert_type":"01","mdtrt_cert_no":"\#(code)","med_type":"11","medfee_sumamt":"57.00","psn_setlway":"01","mdtrt_id":"\#(visit)","chrg_bchno":"B1","acct_used_flag":"0","insutype":"310"}}"#,
                msgid: "EV4")
            let again = try await his.send(
                "2201",
                #"{"data":{"psn_no":"\#(PatientFlow.person)","insutype":"310","mdtrt_cert_type":"01","mdtrt_cert_no":"\#(code)","ipt_otp_no":"EV0002"}}"#,
                msgid: "EV5")

            // verify: the card paid the cash part; the code was spent once.
            #expect(person.node("baseinfo")["psn_no"] as? String == PatientFlow.person, "\(person.text)")
            #expect(fees.infcode == 0, "\(fees.text)")
            let info = settled.node("setlinfo")
            #expect(settled.infcode == 0 && Self.identities(info).isEmpty, "\(settled.text)")
            let cash = try #require(Self.fen(info["psn_cash_pay"]))
            #expect(cash > 0 && Self.fen(info["acct_pay"]) == 0)
            let setlID = try #require(info["setl_id"] as? String)
            await harness.platform.flushAfterCommit()  // the capture, sent after the answer
            let operations = try await #require(harness.platform.sandbox).operations()
            #expect(operations.contains { $0.reference == setlID && $0.captured == Money(fen: cash) }, "\(operations)")
            #expect(again.infcode == -1 && again.errorMessage.contains("已使用"), "\(again.text)")
        }
    }

    @Test("authentication, msgid, paths and malformed input each get the answer a national client expects")
    func refusals() async throws {
        try await H.withApp { client, harness in
            let his = NationalClient(client: client, clock: harness.clock)
            let signIn = #"{"signIn":{"opter_no":"001","mac":"00","ip":"10.0.0.1"}}"#
            let now = harness.clock.now().secondsSinceEpoch
            let wrong = try await his.send("9001", signIn, msgid: "M1", signature: String(repeating: "0", count: 64))
            let stale = try await his.send("9001", signIn, msgid: "M2", timestamp: now - 3600)
            let first = try await his.send("9001", signIn, msgid: "M3", nonce: "nonce-0000-0001")
            let replayed = try await his.send("9001", signIn, msgid: "M4", nonce: "nonce-0000-0001")
            let other = try await his.send("9001", signIn, msgid: "M5", fixmedinsCode: "H44010000005")
            let reused = try await his.send("1101", #"{"data":{"mdtrt_cert_type":"02","mdtrt_cert_no":"440106198503121018"}}"#, msgid: "M3")
            let missing = try await his.send("2201", #"{"data":{"psn_no":"P440100000001","insutype":"310"}}"#, msgid: "M6")
            let unknownPerson = try await his.send(
                "1101", #"{"data":{"mdtrt_cert_type":"02","mdtrt_cert_no":"110101199001011234"}}"#, msgid: "M7")
            let byPath = try await his.send("9001", signIn, msgid: "M8", path: "/fsi/api/signInSignOutService/signIn")
            let wrongPath = try await his.send("9001", signIn, msgid: "M9", path: "/fsi/api/2207")
            let unsupported = try await his.send("4101", "{}", msgid: "M10")
            let garbage = try await client.execute(uri: "/fsi/api", method: .post, headers: [:], body: ByteBuffer(string: "not json")) { $0 }
            let noHeaders = try await client.execute(
                uri: "/fsi/api", method: .post, headers: [:],
                body: ByteBuffer(string: #"{"infno":"9001","msgid":"X","fixmedins_code":"\#(H.hospital)","input":{}}"#)
            ) { $0 }

            #expect(wrong.infcode == -1 && wrong.errorMessage.contains("签名"), "\(wrong.text)")
            #expect(stale.infcode == -1 && stale.errorMessage.contains("时间戳"))
            #expect(first.infcode == 0)
            #expect(replayed.infcode == -1 && replayed.errorMessage.contains("重复"))
            #expect(other.infcode == -1 && other.errorMessage.contains("H44010000005"))
            #expect(reused.infcode == -1 && reused.errorMessage.contains("已用于交易 9001"))
            #expect(missing.infcode == -1 && missing.errorMessage.contains("data.ipt_otp_no"), "\(missing.text)")
            #expect(unknownPerson.infcode == -1)
            #expect(byPath.infcode == 0)
            #expect(wrongPath.infcode == -1 && wrongPath.errorMessage.contains("不一致"))
            #expect(unsupported.infcode == -1 && unsupported.errorMessage.contains("4101"))
            #expect(garbage.status == .ok && String(buffer: garbage.body).contains(#""infcode":-1"#))
            #expect(noHeaders.status == .ok && String(buffer: noHeaders.body).contains("x-tif-paasid"))
        }
    }

    @Test("the captured real setlinfo bodies of the reference obey the identities when read by the gateway's decoder")
    func capturedResponses() throws {
        // Reference §3.3: Chongqing inpatient 2304 and Hebei outpatient 2207, as national platforms sent them (numbers, no quotes).
        let inpatient = #"""
            {"setlinfo":{"medfee_sumamt":23442.46,"fulamt_ownpay_amt":2533.97,"overlmt_selfpay":1396.89,"preselfpay_amt":703.44,"inscp_scp_amt":18808.16,"act_pay_dedc":0,"hifp_pay":0,"cvlserv_pay":0,"hifes_pay":0,"hifmi_pay":0,"hifob_pay":18785.39,"maf_pay":0,"oth_pay":0,"fund_pay_sumamt":18785.39,"hosp_part_amt":505.01,"acct_pay":170.04,"acct_mulaid_pay":0,"psn_cash_pay":3982.02,"psn_part_amt":4152.06}}
            """#
        let outpatient = #"""
            {"setlinfo":{"medfee_sumamt":4.52,"fulamt_ownpay_amt":0,"overlmt_selfpay":0,"preselfpay_amt":0.23,"inscp_scp_amt":4.29,"act_pay_dedc":4.29,"hifp_pay":0,"cvlserv_pay":0,"hifes_pay":0,"hifmi_pay":0,"hifob_pay":0,"maf_pay":0,"oth_pay":0,"fund_pay_sumamt":0,"hosp_part_amt":0,"acct_pay":4.52,"acct_mulaid_pay":0,"psn_cash_pay":0,"psn_part_amt":4.52,"balc":1373.63}}
            """#
        for body in [inpatient, outpatient] {
            let info = try #require(NationalFieldProbe.setlinfo(body))
            #expect(Self.identities(info).isEmpty, "\(info)")
        }
    }
}

/// The gateway's decoder, reached through its public surface for the tests: the national JSON reader and
/// the yuan reader.
enum NationalFieldProbe {
    static func fen(_ text: String) -> Int64? { NationalDecoding.fen(text) }

    static func setlinfo(_ body: String) -> [String: Any]? { NationalDecoding.setlinfo(body) }
}
