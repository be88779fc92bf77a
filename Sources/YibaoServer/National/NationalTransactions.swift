import Foundation
import YibaoApp
import YibaoCore
import YibaoStore

/// Each transaction: read its input, call the `Platform` operation its JSON-API twin calls, write the
/// national output.
extension NationalGateway {
    func perform(_ message: Message) async throws -> NationalJSON {
        let institution = message.institution
        switch message.infno {
        case "9001":
            let now = platform.clock.now()
            return .object([
                (
                    "signinoutb",
                    .object([("sign_no", .string(String(Envelope.compact(now).suffix(12)))), ("sign_time", .string(NationalField.dateTime(now)))])
                )
            ])
        case "9002":
            return .object([("signoutoutb", .object([("sign_time", .string(NationalField.dateTime(platform.clock.now())))]))])
        case "1101":
            return try await personInformation(try data(message))
        case "1901":
            // 字典表查询 (camelCase input, as the platform's): the code tables Yibao's own codes come from.
            let input = try data(message)
            let type = try NationalField.text(input, "type", path: "data.")
            return .array(NationalDictionary.rows(type: type, parentValue: NationalField.optionalText(input, "parentValue")))
        case "2201", "2401":
            // 2401 (admission) is registration with the inpatient wrapper and numbers.
            let inpatient = message.infno == "2401"
            guard let input = inpatient ? (message.input["mdtrtinfo"] ?? message.input["data"]) : message.input["data"] else {
                throw NationalFailure(inpatient ? "缺少必填节点 mdtrtinfo" : "缺少必填节点 input.data")
            }
            let path = inpatient ? "mdtrtinfo." : "data."
            let category =
                try NationalField.optionalText(input, "med_type").map(medicalCategory) ?? (inpatient ? .ordinaryInpatient : .ordinaryOutpatient)
            let number = try NationalField.text(input, inpatient ? "ipt_no" : "ipt_otp_no", path: path)
            // By e-voucher (mdtrt_cert_type 01) the Yibao visit opens now, spending the code: its cash part is then
            // collected from the patient's card at settlement, as in one-code payment.
            var codeVisit: Visit?
            if NationalField.optionalText(input, "mdtrt_cert_type") == "01" {
                let code = try NationalField.text(input, "mdtrt_cert_no", path: path)
                codeVisit = try await platform.openVisit(
                    code: CodeVisitRequest(code: code, category: category, hospitalVisitNumber: number, lines: nil), institution: institution)
            }
            let person = try await enrolled(codeVisit?.personNumber ?? NationalField.text(input, "psn_no", path: path))
            if let named = NationalField.optionalText(input, "psn_no"), named != person.number {
                throw NationalFailure("人员编号 \(named) 不是医保电子凭证的持有人")
            }
            if let type = NationalField.optionalText(input, "insutype"), type != person.insuranceType.rawValue {
                throw NationalFailure("险种类型 \(type) 与参保信息 \(person.insuranceType.rawValue) 不符")
            }
            let diagnoses = try NationalGateway.diagnoses(message, stage: .admission)
            let registration = try await platform.registerNationalVisit(
                institution: institution, personNumber: person.number, hospitalVisitNumber: number, category: category, visitID: codeVisit?.id)
            if inpatient, let diagnoses {
                try await platform.recordNationalDiagnoses(diagnoses, stage: .admission, registration: registration.id, institution: institution.code)
            }
            if inpatient { return .object([("result", .object([("mdtrt_id", .string(registration.id))]))]) }
            return .object([
                (
                    "data",
                    .object([
                        ("mdtrt_id", .string(registration.id)), ("psn_no", .string(person.number)),
                        ("ipt_otp_no", .string(registration.hospitalVisitNumber)), ("exp_content", .null),
                    ])
                )
            ])
        case "2402", "2405":
            // Discharge and its cancellation are recorded by the hospital; Yibao settles an inpatient stay with or
            // without them (mid-stay settlement included), so it only checks the visit is this institution's.
            // The discharge's diagnoses are kept (5202); cancelling the discharge drops them.
            guard let input = message.input["dscginfo"] ?? message.input["data"] else { throw NationalFailure("缺少必填节点 dscginfo") }
            let registration = try await registered(input, institution)
            if message.infno == "2405" {
                try await platform.recordNationalDiagnoses([], stage: .discharge, registration: registration.id, institution: institution.code)
            } else if let diagnoses = try NationalGateway.diagnoses(message, stage: .discharge) {
                try await platform.recordNationalDiagnoses(diagnoses, stage: .discharge, registration: registration.id, institution: institution.code)
            }
            return .object([])
        case "2202", "2404":
            // The registration is cancelled with Yibao's visit for its details (a settled one is reversed first).
            var registration = try await registered(try data(message), institution)
            try await cancelDetails(of: registration, institution)
            registration.state = "cancelled"
            try await platform.updateNationalRegistration(registration)
            return .object([])
        case "2203", "2203A", "2403":
            guard let info = message.input["mdtrtinfo"] ?? message.input["adminfo"] ?? message.input["data"] else {
                throw NationalFailure("缺少必填节点 mdtrtinfo")
            }
            var registration = try await registered(info, institution)
            let stage: Diagnosis.Stage = message.infno == "2403" ? .admission : .visit
            if let diagnoses = try NationalGateway.diagnoses(message, stage: stage) {
                try await platform.recordNationalDiagnoses(diagnoses, stage: stage, registration: registration.id, institution: institution.code)
            }
            if let type = NationalField.optionalText(info, "med_type") {
                let category = try medicalCategory(type)
                if category != registration.category {
                    guard registration.visitId == nil else { throw NationalFailure("费用明细已上传，不能变更医疗类别；请先撤销明细(2205)") }
                    registration.category = category
                    try await platform.updateNationalRegistration(registration)
                }
            }
            return .object([])
        case "2204", "2301":
            return try await uploadFees(message)
        case "2302":
            // Cancelling every detail forgets the visit (the next 2301 opens a new one); some of them are taken off the visit
            // (the JSON API's POST /v1/visits/{id}/lines/removal).
            var rows: [NationalJSON] = []
            switch message.input["data"] ?? message.input["feeinfo"] {
            case .array(let list)?: rows = list
            case let single?: rows = [single]
            case nil: throw NationalFailure("缺少必填节点 data")
            }
            guard let first = rows.first else { throw NationalFailure("缺少要撤销的明细") }
            var registration = try await registered(first, institution)
            guard let visitID = registration.visitId, let visit = try await platform.visit(id: visitID, institution: institution) else {
                throw NationalFailure("该就诊没有可撤销的费用明细")
            }
            guard visit.state == .open else {
                throw NationalFailure(visit.state == .cancelled ? "该就诊的费用明细已撤销" : "该就诊已结算，请先撤销结算(2305)")
            }
            let listed = rows.compactMap { NationalField.optionalText($0, "feedetl_sn") }
            if let missing = listed.first(where: { number in !visit.lines.contains { $0.lineNumber == number } }) {
                throw NationalFailure("该就诊没有费用明细 \(missing)（feedetl_sn）")
            }
            if !listed.isEmpty && Set(listed) != Set(visit.lines.map(\.lineNumber)) {
                _ = try await platform.removeLines(listed, visitID: visitID, institution: institution)
                return .object([])
            }
            try await cancelDetails(of: registration, institution)
            registration.visitId = nil
            try await platform.updateNationalRegistration(registration)
            return .object([])
        case "2205":
            let input = try data(message)
            // chrg_bchno 0000 cancels every unsettled detail (the next 2204 opens a new Yibao visit); another batch
            // number takes that batch's details off the visit (POST /v1/visits/{id}/lines/removal), or all of them when
            // the visit holds only that batch.
            var registration = try await registered(input, institution)
            let batch = try NationalField.text(input, "chrg_bchno", path: "data.")
            var visit: Visit?
            if let visitID = registration.visitId { visit = try await platform.visit(id: visitID, institution: institution) }
            if let visit, visit.state == .paying || visit.state == .settled { throw NationalFailure("该就诊已结算，请先撤销结算(2208)") }
            if batch != "0000" {
                let lines = visit?.lines.filter { $0.chargeBatch == batch }.map(\.lineNumber) ?? []
                guard let visit, !lines.isEmpty else { throw NationalFailure("该就诊没有收费批次 \(batch) 的未结算明细（chrg_bchno）") }
                if lines.count < visit.lines.count {
                    _ = try await platform.removeLines(lines, visitID: visit.id, institution: institution)
                    return .object([])
                }
            }
            try await cancelDetails(of: registration, institution)
            registration.visitId = nil
            try await platform.updateNationalRegistration(registration)
            return .object([])
        case "2206", "2207", "2303", "2304":
            let input = try data(message)
            let registration = try await registered(input, institution)
            guard let visitID = registration.visitId, let visit = try await platform.visit(id: visitID, institution: institution) else {
                throw NationalFailure("该就诊没有费用明细，请先上传(2204/2301)")
            }
            let claimed = try NationalField.amount(input, "medfee_sumamt", path: "data.")
            guard claimed == visit.total else { throw NationalFailure("医疗费总额 \(claimed) 与费用明细合计 \(visit.total) 不符") }
            let useAccount = NationalField.optionalText(input, "acct_used_flag") != "0"
            let person = try await enrolled(registration.personNumber)
            if message.infno == "2206" || message.infno == "2303" {
                let preview = try await platform.preSettle(visitID: visitID, institution: institution, useAccount: useAccount)
                return settlementOutput(
                    id: nil, visitID: registration.id, breakdown: preview.breakdown, details: preview.details, person: person,
                    category: registration.category, at: platform.clock.now(), msgid: message.msgid, institution: institution)
            }
            let record = try await metrics.count(.settlement) {
                try await platform.settle(
                    visitID: visitID, institution: institution, useAccount: useAccount,
                    idempotency: IdempotencyRequest(key: "national:" + message.msgid, fingerprint: message.infno + "|" + registration.id))
            }
            return settlementOutput(record, registration: registration.id, person: person, msgid: message.msgid, institution: institution)
        case "2208", "2305":
            let input = try data(message)
            let settlementID = try NationalField.text(input, "setl_id", path: "data.")
            let record = try await metrics.count(.reversal) {
                try await platform.reverse(
                    settlementID: settlementID, institution: institution,
                    idempotency: IdempotencyRequest(key: "national:" + message.msgid, fingerprint: message.infno + "|" + settlementID))
            }
            return settlementOutput(
                record, registration: try await nationalVisitID(input, record, institution),
                person: try await enrolled(record.personNumber),
                msgid: message.msgid, institution: institution)
        case "2601":
            return try await reversal(message)
        case "5201":
            return try await visitQuery(try data(message), institution)
        case "5202":
            // 诊断信息查询: the diagnoses this institution reported for the visit (2203, 2401/2403, 2402).
            let input = try data(message)
            let id = try NationalField.text(input, "mdtrt_id", path: "data.")
            let registration = try await platform.nationalRegistration(id: id, institution: institution.code)
            if let person = NationalField.optionalText(input, "psn_no"), person != registration.personNumber {
                throw NationalFailure("人员编号 \(person) 与就诊 \(id) 不符")
            }
            let diagnoses = try await platform.nationalDiagnoses(registration: id, institution: institution.code)
            return .object([("diseinfo", .array(diagnoses.map { NationalGateway.diagnosisRow($0, registration: registration) }))])
        case "5205":
            return try await chronicMedicationQuery(try data(message), institution)
        case "5203":
            let input = try data(message)
            let settlementID = try NationalField.text(input, "setl_id", path: "data.")
            guard let record = try await platform.settlement(id: settlementID, institution: institution) else {
                throw NationalFailure("未找到结算记录 \(settlementID)")
            }
            return settlementOutput(
                record, registration: try await nationalVisitID(input, record, institution),
                person: try await enrolled(record.personNumber),
                msgid: message.msgid, institution: institution)
        case "5204":
            // 费用明细查询: the settled lines of a settlement, with each line's split.
            let input = try data(message)
            let settlementID = try NationalField.text(input, "setl_id", path: "data.")
            guard let record = try await platform.settlement(id: settlementID, institution: institution) else {
                throw NationalFailure("未找到结算记录 \(settlementID)")
            }
            return .array(record.lines.map { line in NationalGateway.feeRow(line.split, extra: [("fund_pay", .amount(line.fundPaid))]) })
        case "5206":
            // 人员累计信息查询: the person's year-to-date figures of the year of `cum_ym` (Yibao's cumulative types).
            let input = try data(message)
            let person = try await enrolled(try NationalField.text(input, "psn_no", path: "data."))
            let month = NationalField.optionalText(input, "cum_ym") ?? String(ChinaTime.date(platform.clock.now()).yearMonth.filter(\.isNumber))
            guard month.count == 6, let year = Int(month.prefix(4)), (1900...9999).contains(year) else {
                throw NationalFailure("data.cum_ym 应为年月 yyyyMM")
            }
            var rows: [NationalJSON] = []
            for (pool, figures) in try await platform.yearToDate(person: person.number, year: year) {
                for (code, amount) in [
                    ("\(pool.clearingType)_dedc", figures.deductiblePaid), ("\(pool.clearingType)_hifp", figures.basicFundPaid),
                    ("\(pool.clearingType)_inscp", figures.inScopeTotal), ("\(pool.clearingType)_above_cap", figures.aboveCapAmount),
                    ("\(pool.clearingType)_above_cap_fund", figures.aboveCapFundPaid),
                ] {
                    rows.append(
                        .object([
                            ("insutype", .string(person.insuranceType.rawValue)), ("year", .number(String(year))), ("cum_ym", .string(month)),
                            ("cum_type_code", .string(code)), ("cum", .amount(amount)),
                        ]))
                }
            }
            return .object([("cuminfo", .array(rows))])
        case "3201":
            return try await totalsReconciliation(try data(message), institution)
        case "9101":
            // 文件上传: the file is kept for the institution (a detail file for 3202).
            guard let upload = message.input["fsUploadIn"] ?? message.input["data"] else { throw NationalFailure("缺少必填节点 fsUploadIn") }
            let filename = try NationalField.text(upload, "filename", path: "fsUploadIn.")
            let text = try NationalGateway.uploadedText(upload["in"])
            let id = try await platform.keepNationalFile(institution: institution.code, filename: filename, content: text)
            return .object([
                ("file_qury_no", .string(id)), ("filename", .string(filename)), ("fixmedins_code", .string(institution.code)),
                ("dld_endtime", .string(NationalField.dateTime(platform.clock.now().adding(days: 7)))),
            ])
        case "3202":
            // 对明细账: the uploaded detail file against Yibao's records of the period; the result file waits for 9102.
            let input = try data(message)
            let file = try await platform.nationalFile(
                id: try NationalField.text(input, "file_qury_no", path: "data."), institution: institution.code)
            let period = try StatementPeriod(from: try date(input, "stmt_begndate", "begndate"), through: try date(input, "stmt_enddate", "enddate"))
            // The hospital knows its visits by the registration's mdtrt_id; Yibao's rows carry the visit its fees opened.
            var rows = try NationalGateway.detailFile(file.content).split(separator: "\n", omittingEmptySubsequences: true).map {
                $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            }
            var visits: [String: String] = [:]
            for index in rows.indices.dropFirst() where rows[index].count > 1 {
                let id = rows[index][1]
                if visits[id] == nil {
                    visits[id] = (try? await platform.nationalRegistration(id: id, institution: institution.code))?.visitId ?? id
                }
                rows[index][1] = visits[id] ?? id
            }
            let answer = try await platform.reconcileDetails(
                institution: institution.code, period: period, file: rows.map { $0.joined(separator: "\t") }.joined(separator: "\n") + "\n")
            let filename = "stmt_result_\(period.from)_\(period.through).txt"
            let id = try await platform.keepNationalFile(institution: institution.code, filename: filename, content: answer.file)
            let balanced = answer.results.allSatisfy { $0.outcome == .match }
            return .object([
                ("file_qury_no", .string(id)), ("filename", .string(filename)),
                ("dld_endtime", .string(NationalField.dateTime(platform.clock.now().adding(days: 7)))),
                ("stmt_rslt", .string(balanced ? "0" : "1")),
            ])
        case "3203":
            // 清算申请: what the institution is owed for the insurance type up to the period's end (docs/clearing.md).
            let input = try data(message)
            guard let type = InsuranceType(rawValue: try NationalField.text(input, "insutype", path: "data.")) else {
                throw NationalFailure("不支持的险种类型")
            }
            let period = try StatementPeriod(from: try date(input, "begndate", "stmt_begndate"), through: try date(input, "enddate", "stmt_enddate"))
            let applied = try await platform.applyForClearing(
                institution: institution.code, insuranceType: type, period: period, startedBy: "institution:" + institution.code)
            return .object([
                (
                    "data",
                    .object([
                        ("clr_appy_evt_id", .string(applied.clearing.id)), ("setl_cnt", .number(String(applied.clearing.itemCount))),
                        ("medfee_sumamt", .amount(applied.clearing.total)), ("fund_appy_sum", .amount(applied.clearing.claimed)),
                        ("clr_appy_stas", .string(applied.clearing.state.rawValue)),
                    ])
                )
            ])
        case "3204":
            let input = try data(message)
            let id = try NationalField.text(input, "clr_appy_evt_id", path: "data.")
            _ = try await platform.cancelClearing(id: id, institution: institution.code, actor: "institution:" + institution.code)
            return .object([])
        case "6201", "6202", "6203", "6301", "6401":
            return try await mobilePayment(message)
        default:
            throw NationalFailure("暂不支持交易 \(message.infno)")
        }
    }

    func data(_ message: Message) throws -> NationalJSON {
        guard let data = message.input["data"], case .object = data else { throw NationalFailure("缺少必填节点 input.data") }
        return data
    }

    /// The text of an uploaded file: `in` as base64 or as an array of bytes; a zip (stored or deflated) is opened.
    static func uploadedText(_ node: NationalJSON?) throws -> String {
        var bytes: [UInt8]
        switch node {
        case .string(let text)?:
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                throw NationalFailure("fsUploadIn.in 应为文件内容（base64 或字节数组）")
            }
            bytes = Array(data)
        case .array(let items)?:
            bytes = try items.map { item in
                guard case .number(let text) = item, let byte = UInt8(text) else { throw NationalFailure("fsUploadIn.in 应为字节数组") }
                return byte
            }
        default: throw NationalFailure("缺少必填字段 fsUploadIn.in")
        }
        do {
            if let inner = try NationalZip.firstFile(bytes) { bytes = inner }
        } catch let error as NationalZipError {
            throw NationalFailure(error.message)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw NationalFailure("文件应为UTF-8文本") }
        return text
    }

    /// A detail file as `Reconciliation.parseDetailFile` reads it: Yibao's own (with its header) as sent;
    /// a national one (no header; `psn_no`, `mdtrt_id`, `setl_id`, `medfee_sumamt`, `fund_pay_sumamt`,
    /// `acct_pay`, `refd_setl_flag`, tab-separated) reordered under Yibao's header.
    static func detailFile(_ text: String) throws -> String {
        let header = Reconciliation.detailColumns.joined(separator: "\t")
        let lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        if lines.first == header { return text }
        var rows = [header]
        for (index, line) in lines.enumerated() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 7 else {
                throw NationalFailure("明细文件第 \(index + 1) 行应有7列（psn_no mdtrt_id setl_id medfee_sumamt fund_pay_sumamt acct_pay refd_setl_flag）")
            }
            rows.append([fields[2], fields[1], fields[0], fields[3], fields[4], fields[5], fields[6]].joined(separator: "\t"))
        }
        return rows.joined(separator: "\n") + "\n"
    }

    /// A date field under either of its national names (`yyyy-MM-dd`, a time after it ignored).
    func date(_ input: NationalJSON, _ key: String, _ alternative: String) throws -> CivilDate {
        guard let text = NationalField.optionalText(input, key) ?? NationalField.optionalText(input, alternative) else {
            throw NationalFailure("缺少必填字段 data.\(key)")
        }
        guard let date = CivilDate(String(text.prefix(10))) else { throw NationalFailure("data.\(key) 应为日期 yyyy-MM-dd") }
        return date
    }

    /// 5201 就诊信息查询: this institution's visits of a person registered in `[begntime, endtime]` (the last
    /// 365 days when not given), filtered by `med_type` and `mdtrt_id` when sent.
    func visitQuery(_ input: NationalJSON, _ institution: Institution) async throws -> NationalJSON {
        let person = try await enrolled(try NationalField.text(input, "psn_no", path: "data."))
        let today = ChinaTime.date(platform.clock.now())
        let through = try NationalField.date(input, ["endtime"]) ?? today
        let from = try NationalField.date(input, ["begntime"]) ?? through.adding(days: -365)
        guard from <= through else { throw NationalFailure("data.begntime 晚于 data.endtime") }
        let category = NationalField.optionalText(input, "med_type")
        let only = NationalField.optionalText(input, "mdtrt_id")
        let found = try await platform.nationalRegistrations(
            person: person.number, institution: institution.code, from: from.startInChina, until: through.adding(days: 1).startInChina)
        let rows = found.filter { category == nil || $0.registration.category.rawValue == category }.filter {
            only == nil || $0.registration.id == only
        }
        .map { row -> NationalJSON in
            .object([
                ("mdtrt_id", .string(row.registration.id)), ("psn_no", .string(person.number)),
                ("ipt_otp_no", .string(row.registration.hospitalVisitNumber)), ("med_type", .string(row.registration.category.rawValue)),
                ("insutype", .string(person.insuranceType.rawValue)), ("begntime", .string(NationalField.dateTime(row.openedAt))),
                ("fixmedins_code", .string(institution.code)), ("fixmedins_name", .string(institution.name)),
                // A visit cancelled through the JSON API (or its payment order withdrawn) is no longer valid
                // either, though its registration row was never told.
                ("vali_flag", .string(row.registration.state == "cancelled" || row.visitState == .cancelled ? "0" : "1")),
                ("setl_id", row.settlementID.map(NationalJSON.string) ?? .null),
            ])
        }
        return .object([("mdtrtinfo", .array(rows))])
    }

    /// 5205 慢特病用药记录查询: the person's chronic and special-disease drugs between `begndate` and
    /// `enddate` (the last 90 days when not sent), one row per drug line as it stands after refunds.
    func chronicMedicationQuery(_ input: NationalJSON, _ institution: Institution) async throws -> NationalJSON {
        let person = try await enrolled(try NationalField.text(input, "psn_no", path: "data."))
        let today = ChinaTime.date(platform.clock.now())
        let through = try NationalField.date(input, ["enddate", "endtime"]) ?? today
        let from = try NationalField.date(input, ["begndate", "begntime"]) ?? through.adding(days: -90)
        guard from <= through else { throw NationalFailure("data.begndate 晚于 data.enddate") }
        guard through.daysSinceEpoch - from.daysSinceEpoch <= 366 else { throw NationalFailure("查询期间最长一年") }
        let found = try await platform.chronicMedication(
            person: person.number, institution: institution.code, from: from.startInChina, until: through.adding(days: 1).startInChina)
        var rows: [NationalJSON] = []
        for (record, lines) in found {
            for line in lines {
                let split = line.split
                rows.append(
                    .object([
                        ("psn_no", .string(person.number)), ("setl_id", .string(record.id)), ("fixmedins_code", .string(record.institution.code)),
                        ("fixmedins_name", .string(record.institution.name)), ("setl_time", .string(NationalField.dateTime(record.settledAt))),
                        ("med_type", .string(record.category.rawValue)), ("feedetl_sn", .string(split.lineNumber)),
                        ("med_list_codg", .string(split.itemCode)), ("med_list_name", .string(split.itemName)),
                        ("spec", .string(split.specification)),
                        ("cnt", .number(split.quantity.description)), ("pric", .amount(split.unitPrice)),
                        ("det_item_fee_sumamt", .amount(split.amount)),
                        ("sin_dos_dscr", split.dosage?.singleDose.map(NationalJSON.string) ?? .null),
                        ("used_frqu_dscr", split.dosage?.frequency.map(NationalJSON.string) ?? .null),
                        ("prd_days", split.dosage?.days.map { .number(String($0)) } ?? .null),
                        ("medc_way_dscr", split.dosage?.route.map(NationalJSON.string) ?? .null),
                    ]))
            }
        }
        return .object([("drugrcd", .array(rows))])
    }

    /// The `mdtrt_id` a settlement answer names: the one the request sent, else the registration of the record's visit.
    func nationalVisitID(_ input: NationalJSON, _ record: SettlementRecord, _ institution: Institution) async throws -> String {
        if let sent = NationalField.optionalText(input, "mdtrt_id") { return sent }
        return try await platform.nationalVisitID(of: record.visitId, institution: institution.code)
    }

    func enrolled(_ number: String) async throws -> Person {
        guard let person = try await platform.person(number: number) else { throw NationalFailure("未查询到人员 \(number) 的参保信息") }
        return person
    }

    func medicalCategory(_ code: String) throws -> MedicalCategory {
        guard let category = MedicalCategory(rawValue: code) else { throw NationalFailure("不支持的医疗类别 med_type \(code)") }
        return category
    }

    func registered(_ input: NationalJSON, _ institution: Institution) async throws -> NationalRegistration {
        let id = try NationalField.text(input, "mdtrt_id")
        let registration = try await platform.nationalRegistration(id: id, institution: institution.code)
        if let person = NationalField.optionalText(input, "psn_no"), person != registration.personNumber {
            throw NationalFailure("人员编号 \(person) 与就诊 \(id) 不符")
        }
        guard registration.state == "registered" else { throw NationalFailure("就诊 \(id) 已撤销挂号") }
        return registration
    }

    // MARK: 1101

    func personInformation(_ input: NationalJSON) async throws -> NationalJSON {
        let certificate = try NationalField.text(input, "mdtrt_cert_type", path: "data.")
        let number = try NationalField.text(input, "mdtrt_cert_no", path: "data.")
        let found: Person?
        switch certificate {
        case "02": found = try await platform.person(idNumber: number)
        case "99": found = try await platform.person(number: number)
        case "01": found = try await platform.person(number: try await platform.personOfCode(number))
        default: throw NationalFailure("不支持的就诊凭证类型 \(certificate)")
        }
        guard let person = found else { throw NationalFailure("未查询到该凭证的参保信息") }
        let balance = try await platform.accountBalance(of: person.number)
        let today = ChinaTime.date(platform.clock.now())
        let genderDigit = person.idNumber.count == 18 ? Int(String(Array(person.idNumber)[16])) ?? 1 : 1
        return .object([
            (
                "baseinfo",
                .object([
                    ("psn_no", .string(person.number)), ("psn_cert_type", .string("01")), ("certno", .string(person.idNumber)),
                    ("psn_name", .string(person.name)), ("gend", .string(genderDigit % 2 == 1 ? "1" : "2")), ("naty", .string("01")),
                    ("brdy", .string(person.birthDate.description)), ("age", .number(String(person.birthDate.age(on: today)))),
                    ("exp_content", .null),
                ])
            ),
            (
                "insuinfo",
                .array([
                    .object([
                        ("balc", .amount(balance.balance - balance.held)), ("insutype", .string(person.insuranceType.rawValue)),
                        ("psn_type", .string(person.personType)), ("psn_insu_stas", .string(person.status == .active ? "1" : "2")),
                        ("psn_insu_date", .null), ("paus_insu_date", .null), ("cvlserv_flag", .string("0")),
                        ("insuplc_admdvs", .string(person.region.value)), ("emp_name", .string("")),
                    ])
                ])
            ),
            ("idetinfo", .array([])),
        ])
    }

    // MARK: 2204

    /// Cancels Yibao's visit holding a registration's details, when it has one (2202 / 2404, and 2205 /
    /// 2302 cancelling every detail, after which the next upload opens a new visit): it then takes no
    /// lines and cannot be settled. A settled visit is refused in the national words; a cancelled one
    /// answers the same.
    func cancelDetails(of registration: NationalRegistration, _ institution: Institution) async throws {
        guard let visitID = registration.visitId else { return }
        do {
            _ = try await platform.cancelVisit(id: visitID, institution: institution)
        } catch let refusal as Refusal where refusal.code == .visitAlreadySettled || refusal.code == .settlementInProgress {
            throw NationalFailure(refusal.code == .settlementInProgress ? "该就诊正在支付，请稍后再试" : "该就诊已结算，请先撤销结算(2208)")
        }
    }

    func uploadFees(_ message: Message) async throws -> NationalJSON {
        guard case .array(let rows)? = message.input["feedetail"], !rows.isEmpty else { throw NationalFailure("缺少必填节点 feedetail") }
        guard rows.count <= 500 else { throw NationalFailure("一次最多上传500条费用明细") }
        let first = try NationalField.text(rows[0], "mdtrt_id", path: "feedetail[0].")
        var registration = try await registered(.object([("mdtrt_id", .string(first))]), message.institution)
        var lines: [FeeLine] = []
        var returns: [LineReturn] = []
        for (index, row) in rows.enumerated() {
            let path = "feedetail[\(index)]."
            guard try NationalField.text(row, "mdtrt_id", path: path) == first else { throw NationalFailure("\(path)mdtrt_id 与同批明细不一致") }
            // A refund row (2301): a negative cnt naming the detail it gives back in init_feedetl_sn.
            if message.infno == "2301", let original = NationalField.optionalText(row, "init_feedetl_sn") {
                returns.append(try NationalGateway.lineReturn(row, original: original, path: path))
                continue
            }
            let line = FeeLine(
                lineNumber: try NationalField.text(row, "feedetl_sn", path: path), itemCode: try NationalField.text(row, "med_list_codg", path: path),
                hospitalItemCode: NationalField.optionalText(row, "medins_list_codg"), unitPrice: try NationalField.price(row, "pric", path: path),
                quantity: try NationalField.quantity(row, "cnt", path: path), dosage: NationalGateway.dosage(row),
                chargeBatch: NationalField.optionalText(row, "chrg_bchno").flatMap { $0.utf8.count <= 30 ? $0 : nil })
            if let sent = NationalField.optionalText(row, "det_item_fee_sumamt"), let fen = NationalField.decimal(sent, places: 2),
                fen != line.unitPrice.fen * line.quantity.scaled / Quantity.scale
            {
                throw NationalFailure("\(path)det_item_fee_sumamt \(sent) 不等于 单价×数量")
            }
            lines.append(line)
        }
        let visit: Visit
        if let visitID = registration.visitId {
            if !returns.isEmpty, let open = try await platform.visit(id: visitID, institution: message.institution) {
                // The platform refuses the same; checked here to answer in the national fields.
                for back in returns {
                    guard let line = open.lines.first(where: { $0.lineNumber == back.lineNumber }) else {
                        throw NationalFailure("init_feedetl_sn \(back.lineNumber) 不是该就诊的费用明细")
                    }
                    guard back.quantity <= line.quantity else {
                        throw NationalFailure("明细 \(back.lineNumber) 退费数量 \(back.quantity) 超过原数量 \(line.quantity)")
                    }
                    guard back.unitPrice == nil || back.unitPrice == line.unitPrice else { throw NationalFailure("明细 \(back.lineNumber) 退费单价与原明细不符") }
                }
            }
            visit = try await platform.changeLines(adding: lines, returning: returns, visitID: visitID, institution: message.institution)
        } else {
            guard returns.isEmpty else { throw NationalFailure("退费明细（init_feedetl_sn）所指的原明细不存在：该就诊还没有费用明细") }
            let number =
                registration.uploads == 0 ? registration.hospitalVisitNumber : "\(registration.hospitalVisitNumber)-\(registration.uploads + 1)"
            visit = try await platform.openVisit(
                OpenVisitRequest(personNumber: registration.personNumber, category: registration.category, hospitalVisitNumber: number, lines: lines),
                institution: message.institution)
            registration.visitId = visit.id
            registration.uploads += 1
            try await platform.updateNationalRegistration(registration)
        }
        let sent = Set(lines.map(\.lineNumber) + returns.map(\.lineNumber))
        let result = visit.lines.filter { sent.contains($0.lineNumber) }.map { NationalGateway.feeRow($0) }
        return .object([("result", .array(result))])
    }

    /// One fee line's split as 2204 / 2301 answer it (and 5204 lists it).
    /// The `diseinfo[]` of a 2203 / 2401 / 2402 / 2403 as diagnoses of `stage`; nil when the message
    /// carries none. `diag_code` and `diag_name` are required; `diag_srt_no` defaults to the row's place.
    static func diagnoses(_ message: Message, stage: Diagnosis.Stage) throws -> [Diagnosis]? {
        let rows: [NationalJSON]
        switch message.input["diseinfo"] {
        case nil, .null?: return nil
        case .array(let list)?: rows = list
        case let single?: rows = [single]
        }
        guard rows.count <= Diagnosis.perVisitMax else { throw NationalFailure("diseinfo 最多 \(Diagnosis.perVisitMax) 条") }
        return try rows.enumerated().map { index, row in
            let path = "diseinfo[\(index)]."
            let code = try NationalField.text(row, "diag_code", path: path)
            let name = try NationalField.text(row, "diag_name", path: path)
            guard code.count <= 20 else { throw NationalFailure("\(path)diag_code 最长20位") }
            guard name.count <= 100 else { throw NationalFailure("\(path)diag_name 最长100字") }
            func text(_ key: String) -> String? { NationalField.optionalText(row, key).flatMap { $0.count <= 100 ? $0 : nil } }
            let rank = text("diag_srt_no").flatMap { Int($0) } ?? index + 1
            return Diagnosis(
                stage: stage, kind: text("diag_type") ?? "1", rank: rank, code: code, name: name, department: text("diag_dept"),
                doctorCode: text("dise_dor_no"), doctorName: text("dise_dor_name"), time: text("diag_time"),
                main: text("maindiag_flag").map { $0 == "1" } ?? (rank == 1), valid: text("vali_flag") != "0")
        }
    }

    /// A 5202 row: the diagnosis in the national fields, `inout_diag_type` 1 / 2 for admission / discharge.
    static func diagnosisRow(_ diagnosis: Diagnosis, registration: NationalRegistration) -> NationalJSON {
        var fields: [(String, NationalJSON)] = [
            ("mdtrt_id", .string(registration.id)), ("psn_no", .string(registration.personNumber)), ("diag_type", .string(diagnosis.kind)),
            ("diag_srt_no", .number(String(diagnosis.rank))), ("diag_code", .string(diagnosis.code)), ("diag_name", .string(diagnosis.name)),
            ("diag_dept", diagnosis.department.map(NationalJSON.string) ?? .null),
            ("dise_dor_no", diagnosis.doctorCode.map(NationalJSON.string) ?? .null),
            ("dise_dor_name", diagnosis.doctorName.map(NationalJSON.string) ?? .null),
            ("diag_time", diagnosis.time.map(NationalJSON.string) ?? .null), ("maindiag_flag", .string(diagnosis.main ? "1" : "0")),
            ("vali_flag", .string(diagnosis.valid ? "1" : "0")),
        ]
        switch diagnosis.stage {
        case .visit: break
        case .admission: fields.append(("inout_diag_type", .string("1")))
        case .discharge: fields.append(("inout_diag_type", .string("2")))
        }
        return .object(fields)
    }

    /// A 2301 refund row: `cnt` negative, `pric` the original's (the platform checks it against the line
    /// it names), `det_item_fee_sumamt` = pric × cnt when sent.
    static func lineReturn(_ row: NationalJSON, original: String, path: String) throws -> LineReturn {
        let text = try NationalField.text(row, "cnt", path: path)
        guard let scaled = NationalField.decimal(text, places: 4), scaled < 0, -scaled <= Quantity.max.scaled else {
            throw NationalFailure("\(path)cnt 退费明细的数量应为负数，最多四位小数：\(text)")
        }
        let price = try NationalField.price(row, "pric", path: path)
        if let sent = NationalField.optionalText(row, "det_item_fee_sumamt"), let fen = NationalField.decimal(sent, places: 2) {
            guard fen == price.fen * scaled / Quantity.scale else { throw NationalFailure("\(path)det_item_fee_sumamt \(sent) 不等于 单价×数量") }
        }
        return LineReturn(lineNumber: original, quantity: Quantity(scaled: -scaled), unitPrice: price)
    }

    /// The dosage fields of a 2204 row (`sin_dos_dscr`, `used_frqu_dscr`, `prd_days`, `medc_way_dscr`), for
    /// the medication reminder. They are hints, not money: a value out of range is left out rather than
    /// refusing the upload, and `prd_days` (num(4,2)) is rounded up to whole days.
    static func dosage(_ row: NationalJSON) -> Dosage? {
        func text(_ key: String, _ limit: Int) -> String? {
            NationalField.optionalText(row, key).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty || $0.count > limit ? nil : $0 }
        }
        let days = NationalField.optionalText(row, "prd_days").flatMap { NationalField.decimal($0, places: 2) }.map { Int(($0 + 99) / 100) }
            .flatMap { (1...Dosage.daysMax).contains($0) ? $0 : nil }
        let dosage = Dosage(singleDose: text("sin_dos_dscr", 50), frequency: text("used_frqu_dscr", 30), days: days, route: text("medc_way_dscr", 30))
        return dosage == Dosage() ? nil : dosage
    }

    static func feeRow(_ split: LineSplit, extra: [(String, NationalJSON)] = []) -> NationalJSON {
        .object(
            [
                ("feedetl_sn", .string(split.lineNumber)), ("med_list_codg", .string(split.itemCode)),
                ("det_item_fee_sumamt", .amount(split.amount)), ("cnt", .number(split.quantity.description)), ("pric", .amount(split.unitPrice)),
                ("pric_uplmt_amt", split.priceCap.map(NationalJSON.amount) ?? .null),
                ("selfpay_prop", .number(NationalGateway.ratio(split.firstSelfPayRatio))), ("fulamt_ownpay_amt", .amount(split.fullSelfPay)),
                ("overlmt_amt", .amount(split.overLimit)), ("preselfpay_amt", .amount(split.firstSelfPay)), ("inscp_scp_amt", .amount(split.inScope)),
                ("chrgitm_lv", .string(["A": "01", "B": "02", "C": "03"][split.itemClass.rawValue.uppercased()] ?? "03")),
                ("med_chrgitm_type", .string(split.category.rawValue)), ("lmt_used_flag", .string("0")), ("memo", .null),
            ] + extra)
    }

    /// A ratio as national clients write it, four decimals (`0.6500`).
    static func ratio(_ ratio: Ratio) -> String {
        let magnitude = ratio.basisPoints.magnitude
        let fraction = String(magnitude % UInt64(Ratio.one))
        return (ratio.basisPoints < 0 ? "-" : "") + "\(magnitude / UInt64(Ratio.one))." + String(repeating: "0", count: max(0, 4 - fraction.count))
            + fraction
    }

    // MARK: setlinfo

    func settlementOutput(_ record: SettlementRecord, registration: String, person: Person, msgid: String, institution: Institution) -> NationalJSON {
        settlementOutput(
            id: record.id, visitID: registration, breakdown: record.breakdown, details: record.details, person: person, category: record.category,
            at: record.settledAt, msgid: msgid, institution: institution)
    }

    /// `setlinfo` and `setldetail[]` (reference §3) of a breakdown: amounts in yuan, the identities of
    /// §3.3 holding because they hold for every breakdown Yibao makes.
    func settlementOutput(
        id: String?, visitID: String, breakdown b: SettlementBreakdown, details: [FundDetail], person: Person, category: MedicalCategory,
        at: Instant, msgid: String, institution: Institution
    ) -> NationalJSON {
        var info: [(String, NationalJSON)] = [("mdtrt_id", .string(visitID))]
        if let id { info.append(("setl_id", .string(id))) }
        info += [
            ("psn_no", .string(person.number)), ("psn_name", .string(person.name)), ("psn_cert_type", .string("01")),
            ("certno", .string(person.idNumber)), ("brdy", .string(person.birthDate.description)),
            ("insutype", .string(person.insuranceType.rawValue)), ("psn_type", .string(person.personType)), ("cvlserv_flag", .string("0")),
            ("setl_time", .string(NationalField.dateTime(at))), ("med_type", .string(category.rawValue)),
            ("medfee_sumamt", .amount(b.totalAmount)), ("fulamt_ownpay_amt", .amount(b.fullSelfPay)),
            ("overlmt_selfpay", .amount(b.overLimitSelfPay)),
            ("preselfpay_amt", .amount(b.firstSelfPay)), ("inscp_scp_amt", .amount(b.inScope)), ("act_pay_dedc", .amount(b.deductiblePaid)),
            ("hifp_pay", .amount(b.pooledFund)), ("pool_prop_selfpay", .number(NationalGateway.ratio(b.fundRatio))),
            ("cvlserv_pay", .amount(b.civilServantFund)), ("hifes_pay", .amount(.zero)), ("hifmi_pay", .amount(b.catastrophicFund)),
            ("hifob_pay", .amount(b.largeAmountFund)), ("maf_pay", .amount(b.medicalAssistanceFund)), ("oth_pay", .amount(b.otherFund)),
            ("fund_pay_sumamt", .amount(b.fundTotal)), ("psn_part_amt", .amount(b.personTotal)), ("acct_pay", .amount(b.accountPaid)),
            ("psn_cash_pay", .amount(b.cashPaid)), ("hosp_part_amt", .amount(b.hospitalBorne)), ("balc", .amount(b.accountBalanceAfter)),
            ("acct_mulaid_pay", .amount(b.mutualAidPaid)), ("medins_setl_id", .string(msgid)), ("clr_optins", .string(person.region.value)),
            ("clr_way", .string("1")), ("clr_type", .string(ClearingType(category).rawValue)),
        ]
        let detail = details.map { row -> NationalJSON in
            .object([
                ("fund_pay_type", .string(row.fundType.rawValue)), ("inscp_scp_amt", .amount(row.inScope)),
                ("crt_payb_lmt_amt", row.remainingLimit.map(NationalJSON.amount) ?? .null), ("fund_payamt", .amount(row.amount)),
                ("fund_pay_type_name", .string(row.fundTypeName)), ("setl_proc_info", .string(String(row.trace.prefix(4000)))),
            ])
        }
        return .object([("setlinfo", .object(info)), ("setldetail", .array(detail))])
    }

    // MARK: 2601

    /// Undoes the transaction of `omsgid` if it happened; says so if it did not.
    func reversal(_ message: Message) async throws -> NationalJSON {
        let input = try data(message)
        let original = try NationalField.text(input, "omsgid", path: "data.")
        let originalInfno = try NationalField.text(input, "oinfno", path: "data.")
        func answer(_ result: String, _ description: String, _ settlement: String? = nil) -> NationalJSON {
            var fields: [(String, NationalJSON)] = [
                ("omsgid", .string(original)), ("oinfno", .string(originalInfno)), ("rslt", .string(result)), ("rslt_dscr", .string(description)),
            ]
            if let settlement { fields.append(("setl_id", .string(settlement))) }
            return .object([("data", .object(fields))])
        }
        guard let sent = try await platform.nationalMessage(institution: message.institution.code, msgid: original) else {
            return answer("0", "原交易未到达医保平台，无需冲正")
        }
        guard sent.infno == originalInfno else { throw NationalFailure("原报文 \(original) 的交易编号是 \(sent.infno)，不是 \(originalInfno)") }
        switch originalInfno {
        case "2207", "2304":
            guard let visitReference = sent.reference,
                let registration = try? await platform.nationalRegistration(id: visitReference, institution: message.institution.code),
                let visitID = registration.visitId, let visit = try await platform.visit(id: visitID, institution: message.institution),
                let settlementID = visit.settlementId
            else { return answer("0", "原结算未完成，无需冲正") }
            let reversed = try await metrics.count(.reversal) {
                try await platform.reverse(
                    settlementID: settlementID, institution: message.institution,
                    idempotency: IdempotencyRequest(key: "national-2601:" + original, fingerprint: "2601|" + settlementID))
            }
            return answer("1", "已冲正：结算 \(settlementID) 已撤销", reversed.id)
        case "2201", "2401":
            guard let visitReference = sent.reference ?? sent.response.flatMap({ NationalGateway.registrationID(in: $0) }),
                var registration = try? await platform.nationalRegistration(id: visitReference, institution: message.institution.code)
            else { return answer("0", "原挂号未完成，无需冲正") }
            if let visitID = registration.visitId, let visit = try await platform.visit(id: visitID, institution: message.institution),
                visit.state != .open
            {
                throw NationalFailure("该就诊已结算，请先冲正结算")
            }
            registration.state = "cancelled"
            try await platform.updateNationalRegistration(registration)
            return answer("1", "已冲正：挂号 \(registration.id) 已撤销")
        default:
            throw NationalFailure("交易 \(originalInfno) 不支持冲正（支持 2201、2207、2401、2304）")
        }
    }

    /// The `mdtrt_id` in a kept 2201 answer.
    static func registrationID(in response: String) -> String? {
        guard let parsed = NationalJSON.parse(Array(response.utf8)), let output = parsed["output"], let data = output["data"] ?? output["result"]
        else { return nil }
        return NationalField.optionalText(data, "mdtrt_id")
    }

    // MARK: 3201

    func totalsReconciliation(_ input: NationalJSON, _ institution: Institution) async throws -> NationalJSON {
        guard let type = InsuranceType(rawValue: try NationalField.text(input, "insutype", path: "data.")) else {
            throw NationalFailure("不支持的险种类型")
        }
        guard let clearing = ClearingType(rawValue: try NationalField.text(input, "clr_type", path: "data.")) else {
            throw NationalFailure("不支持的清算类别（11、21、41、99）")
        }
        func date(_ key: String) throws -> CivilDate {
            let text = try NationalField.text(input, key, path: "data.")
            guard let date = CivilDate(String(text.prefix(10))) else { throw NationalFailure("data.\(key) 应为日期 yyyy-MM-dd") }
            return date
        }
        let period = try StatementPeriod(from: try date("stmt_begndate"), through: try date("stmt_enddate"))
        guard let count = Int(try NationalField.text(input, "fixmedins_setl_cnt", path: "data.")) else {
            throw NationalFailure("data.fixmedins_setl_cnt 应为整数")
        }
        let total = try NationalField.amount(input, "medfee_sumamt", path: "data.")
        let fund = try NationalField.amount(input, "fund_pay_sumamt", path: "data.")
        let account = try NationalField.amount(input, "acct_pay", path: "data.")
        let key = StatementKey(insuranceType: type, clearingType: clearing)
        let bound = Money.requestAmountMax.fen * 100
        guard [total, fund, account].allSatisfy({ $0.fen.magnitude <= UInt64(bound) }) else { throw NationalFailure("金额超出范围") }
        let result = try await platform.reconcileTotals(
            institution: institution.code, period: period, includeRefunds: NationalField.optionalText(input, "refd_setl_flag") != "0",
            lines: [(key, StatementTotals(count: count, total: total, fund: fund, account: account, cash: total - fund - account))])
        let line = result.lines.first { $0.insuranceType == type && $0.clearingType == clearing }
        let balanced = line?.balanced ?? true
        let description =
            balanced
            ? "对账平衡" : "对账不平：医保 \(line?.yibao.count ?? 0) 笔、\(line?.yibao.total ?? .zero) 元，机构 \(count) 笔、\(total) 元"
        return .object([
            ("setl_optins", .string(NationalField.optionalText(input, "setl_optins") ?? institution.region.value)),
            ("stmt_rslt", .string(balanced ? "0" : "1")), ("stmt_rslt_dscr", .string(description)),
        ])
    }
}
