import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import YibaoApp
import YibaoCore
import YibaoStore

/// The national medical-insurance platform's interface (reference §1-§3), so that a hospital system
/// written for it settles with Yibao unchanged: the JSON envelope on one URL (`POST /fsi/api`) and on the
/// per-transaction paths (`/fsi/api/{infno}`, `/fsi/api/{service}/{method}` — the body's `infno` decides),
/// the gateway headers national clients send, `msgid` idempotency, amounts in yuan. Every transaction is
/// mapped onto the same `Platform` operation its JSON-API twin calls; the gateway adds no settlement logic.
///
/// Every answer is an envelope with HTTP 200, as national clients expect — failures too (`infcode -1`
/// and a Chinese `err_msg`), including authentication failures.
struct NationalGateway: Sendable {
    let platform: Platform
    let authenticator: Authenticator
    let metrics: BusinessMetrics
    let logger = Logger(label: "yibao.national")

    /// The transactions this gateway answers.
    static let transactions: Set<String> = [
        "9001", "9002", "1101", "2201", "2202", "2203", "2203A", "2204", "2205", "2206", "2207", "2208", "2301", "2302", "2303", "2304", "2305",
        "1901", "2401", "2402", "2403", "2404", "2405", "2601", "5201", "5202", "5203", "5204", "5205", "5206", "3201", "3202", "3203", "3204",
        "9101",
        "9102",
        "6201",
        "6202",
        "6203", "6301", "6401",
    ]

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/fsi/api", .anyone, "National interface: every transaction on one URL (the body's infno)") { request, context in
            try await answer(request, context, pathInfno: nil)
        }
        routes.add(.post, "/fsi/api/{service}", .anyone, "National interface: one transaction per path (…/2207) or service") {
            request, context in
            // A transaction number in the path (`2207`, `2203A`) must be the body's; any other name routes by the body.
            let segment = context.parameters.get("service") ?? ""
            let isInfno = (4...6).contains(segment.count) && segment.prefix(4).allSatisfy(\.isNumber)
            return try await answer(request, context, pathInfno: isInfno ? segment : nil)
        }
        routes.add(
            .post, "/fsi/api/{service}/{method}", .anyone,
            "National interface: the national per-service paths (…/outpatientSettleService/saveSettletmentV2); the body's infno decides"
        ) { request, context in
            try await answer(request, context, pathInfno: nil)
        }
    }

    /// What one request carries that the transactions need.
    struct Message: Sendable {
        let infno: String
        let msgid: String
        let institution: Institution
        let input: NationalJSON
        /// 参保地医保区划 `insuplc_admdvs`.
        let insuredRegion: String?
    }

    func answer(_ request: Request, _ context: AppRequestContext, pathInfno: String?) async throws -> Response {
        var request = request
        let received = platform.clock.now()
        let bytes = try await request.bodyBytes(context: context)
        let envelope = Envelope(received: received)
        do {
            guard let body = NationalJSON.parse(Array(bytes.readableBytesView)), case .object = body else {
                throw NationalFailure("报文不是合法的JSON对象")
            }
            let infno = try NationalField.text(body, "infno")
            let msgid = try NationalField.text(body, "msgid")
            let code = try NationalField.text(body, "fixmedins_code")
            guard msgid.count <= 40 else { throw NationalFailure("msgid 长度不能超过40") }
            if let pathInfno, pathInfno != infno { throw NationalFailure("路径中的交易编号 \(pathInfno) 与报文 infno \(infno) 不一致") }
            guard NationalGateway.transactions.contains(infno) else { throw NationalFailure("暂不支持交易 \(infno)") }
            let institution = try await authenticate(request)
            guard institution.code == code else { throw NationalFailure("fixmedins_code \(code) 不是认证机构 \(institution.code)") }
            let input = body["input"] ?? .object([])
            let message = Message(
                infno: infno, msgid: msgid, institution: institution, input: input, insuredRegion: try? NationalField.text(body, "insuplc_admdvs"))
            if infno == "9102" { return try await download(input, institution: institution, envelope: envelope) }
            if let earlier = try await platform.claimNationalMessage(
                institution: institution.code, msgid: msgid, infno: infno, reference: NationalGateway.reference(of: message))
            {
                guard earlier.infno == infno else { throw NationalFailure("报文ID \(msgid) 已用于交易 \(earlier.infno)") }
                if let response = earlier.response { return Envelope.response(response) }
            }
            do {
                let output = try await perform(message)
                let text = envelope.success(output, region: institution.region.value)
                try await platform.answerNationalMessage(institution: institution.code, msgid: msgid, response: text)
                return Envelope.response(text)
            } catch let refusal as Refusal {
                let text = envelope.failure(NationalMessages.message(refusal), region: institution.region.value)
                if !NationalGateway.retryable(refusal) {
                    try? await platform.answerNationalMessage(institution: institution.code, msgid: msgid, response: text)
                }
                return Envelope.response(text)
            } catch let failure as NationalFailure {
                let text = envelope.failure(failure.message, region: institution.region.value)
                try? await platform.answerNationalMessage(institution: institution.code, msgid: msgid, response: text)
                return Envelope.response(text)
            }
        } catch let failure as NationalFailure {
            return Envelope.response(envelope.failure(failure.message, region: "000000"))
        } catch let refusal as Refusal {
            return Envelope.response(envelope.failure(NationalMessages.message(refusal), region: "000000"))
        } catch {
            logger.error("national transaction failed", metadata: ["error": "\(error)", "request_id": "\(context.id)"])
            return Envelope.response(envelope.failure("系统内部错误，请稍后重试（请求 \(context.id)）", region: "000000"))
        }
    }

    /// 文件下载: the file itself (a stored zip, `application/octet-stream`), as national clients expect;
    /// a failure is an envelope. Read-only, so its `msgid` is not kept.
    func download(_ input: NationalJSON, institution: Institution, envelope: Envelope) async throws -> Response {
        guard let request = input["fsDownloadIn"] ?? input["data"] else { throw NationalFailure("缺少必填节点 fsDownloadIn") }
        let id = try NationalField.text(request, "file_qury_no", path: "fsDownloadIn.")
        let file: (filename: String, content: String)
        do {
            file = try await platform.nationalFile(id: id, institution: institution.code)
        } catch let refusal as Refusal {
            return Envelope.response(envelope.failure(NationalMessages.message(refusal), region: institution.region.value))
        }
        let zip = NationalZip.archive(filename: file.filename, content: Array(file.content.utf8))
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", .contentDisposition: "attachment; filename=\"\(id).zip\""],
            body: .init(byteBuffer: ByteBuffer(bytes: zip)))
    }

    /// Failures a client may retry with the same `msgid` (their answer is not kept).
    static func retryable(_ refusal: Refusal) -> Bool {
        [.paymentPending, .settlementInProgress, .rateLimited, .partyNotConfigured].contains(refusal.code)
    }

    /// What a message concerns, kept with its `msgid` for 2601: the visit of a registration, fee upload,
    /// pre-settlement or settlement; the settlement of a cancellation.
    static func reference(of message: Message) -> String? {
        let data = message.input["data"] ?? message.input["mdtrtinfo"] ?? message.input["adminfo"] ?? message.input["dscginfo"]
        if message.infno == "2208" || message.infno == "2305" { return data.flatMap { try? NationalField.text($0, "setl_id") } }
        if let id = data.flatMap({ try? NationalField.text($0, "mdtrt_id") }) { return id }
        if let file = data.flatMap({ try? NationalField.text($0, "file_qury_no") }) { return file }
        if case .array(let rows)? = message.input["feedetail"], let first = rows.first { return try? NationalField.text(first, "mdtrt_id") }
        return nil
    }

    /// The gateway headers of reference §1.1: `x-tif-paasid` (the institution's key id), `x-tif-timestamp`
    /// (epoch seconds), `x-tif-nonce`, `x-tif-signature` = SHA-256 hex of timestamp + secret + nonce +
    /// timestamp; within the same window and nonce store as signed requests.
    func authenticate(_ request: Request) async throws -> Institution {
        func header(_ name: String) throws -> String {
            guard let field = HTTPField.Name(name), let value = request.headers[field], !value.isEmpty else {
                throw NationalFailure("缺少网关认证头 \(name)")
            }
            return value
        }
        let keyID = try header("x-tif-paasid")
        guard let timestamp = Int64(try header("x-tif-timestamp")) else { throw NationalFailure("x-tif-timestamp 应为秒级时间戳") }
        return try await authenticator.verifyNational(
            keyID: keyID, timestamp: timestamp, nonce: try header("x-tif-nonce"), signature: try header("x-tif-signature"))
    }
}

/// The answer envelope (reference §1.4).
struct Envelope {
    let received: Instant
    /// A per-process sequence for `inf_refmsgid`.
    static let sequence = Mutex<UInt64>(0)

    static func nextSequence() -> UInt64 {
        sequence.withLock { value in
            value &+= 1
            return value
        }
    }

    static func compact(_ instant: Instant) -> String {
        let t = ChinaTime.localDateTime(instant)
        func pad(_ value: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(value).count)) + String(value) }
        return pad(t.date.year, 4) + pad(t.date.month, 2) + pad(t.date.day, 2) + pad(t.hour, 2) + pad(t.minute, 2) + pad(t.second, 2)
            + pad(t.millisecond, 3)
    }

    func envelope(infcode: Int, errorMessage: String?, output: NationalJSON, region: String) -> String {
        let now = Instant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
        let sequence = String(Envelope.nextSequence() % 10_000_000_000)
        let refmsgid = region + String(Envelope.compact(received).prefix(14)) + String(repeating: "0", count: 10 - sequence.count) + sequence
        return NationalJSON.object([
            ("infcode", .number(String(infcode))), ("inf_refmsgid", .string(refmsgid)), ("refmsg_time", .string(Envelope.compact(received))),
            ("respond_time", .string(Envelope.compact(max(now, received)))), ("enctype", .string("")), ("signtype", .string("")),
            ("cainfo", .string("")), ("err_msg", errorMessage.map(NationalJSON.string) ?? .null), ("warn_msg", .null), ("output", output),
        ]).text
    }

    func success(_ output: NationalJSON, region: String) -> String { envelope(infcode: 0, errorMessage: nil, output: output, region: region) }

    func failure(_ message: String, region: String) -> String {
        envelope(infcode: -1, errorMessage: String(message.prefix(200)), output: .object([]), region: region)
    }

    static func response(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Reading the national fields: text, amounts in yuan (numbers or strings), prices, quantities, codes.
enum NationalField {
    /// The highest unit price accepted (as the JSON API's fee lines).
    static let priceMax = FeeLine.unitPriceMax

    /// A field's text (a string, or a number's text), required.
    static func text(_ node: NationalJSON, _ key: String, path: String = "") throws -> String {
        guard let value = optionalText(node, key) else { throw NationalFailure("缺少必填字段 \(path)\(key)") }
        return value
    }

    /// A field's text, or nil when absent, null or empty.
    static func optionalText(_ node: NationalJSON, _ key: String) -> String? {
        switch node[key] {
        case .string(let text)?: return text.isEmpty ? nil : text
        case .number(let text)?: return text
        default: return nil
        }
    }

    /// The date of the first of `keys` sent in `data` (a date, or a date-time whose date is taken); nil
    /// when none is sent.
    static func date(_ node: NationalJSON, _ keys: [String]) throws -> CivilDate? {
        guard let key = keys.first(where: { optionalText(node, $0) != nil }), let text = optionalText(node, key) else { return nil }
        guard let date = CivilDate(String(text.prefix(10))) else { throw NationalFailure("data.\(key) 应为日期 yyyy-MM-dd") }
        return date
    }

    /// An amount in yuan with at most two significant decimals (`39.85`, `"39.85"`, `39.850000`).
    static func amount(_ node: NationalJSON, _ key: String, path: String = "") throws -> Money {
        let text = try self.text(node, key, path: path)
        guard let money = decimal(text, places: 2) else { throw NationalFailure("\(path)\(key) 应为金额（元，最多两位小数）：\(text)") }
        return Money(fen: money)
    }

    /// A price in yuan (up to six decimals on the wire), which must be a whole number of fen.
    static func price(_ node: NationalJSON, _ key: String, path: String) throws -> Money {
        let text = try self.text(node, key, path: path)
        guard let fen = decimal(text, places: 2), fen >= 0, fen <= NationalField.priceMax.fen else {
            throw NationalFailure("\(path)\(key) 应为精确到分的单价（不超过 \(NationalField.priceMax) 元）：\(text)")
        }
        return Money(fen: fen)
    }

    /// A quantity with at most four decimals.
    static func quantity(_ node: NationalJSON, _ key: String, path: String) throws -> Quantity {
        let text = try self.text(node, key, path: path)
        guard let scaled = decimal(text, places: 4), scaled > 0, scaled <= Quantity.max.scaled else {
            throw NationalFailure("\(path)\(key) 应为正数，最多四位小数：\(text)")
        }
        return Quantity(scaled: scaled)
    }

    /// A decimal number as an integer of `places` decimals; nil when it has more significant decimals,
    /// an exponent, or is out of range.
    static func decimal(_ text: String, places: Int) -> Int64? {
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        let negative = digits.first == "-"
        if negative || digits.first == "+" { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 12, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return nil
        }
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.allSatisfy({ $0.isASCII && $0.isNumber }), fraction.count <= 8 else { return nil }
        while fraction.count > places, fraction.last == "0" { fraction.removeLast() }
        guard fraction.count <= places, let whole = Int64(parts[0]) else { return nil }
        fraction += String(repeating: "0", count: places - fraction.count)
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let value = whole * scale + (Int64(fraction) ?? 0)
        return negative ? -value : value
    }

    /// A national date-time (`yyyy-MM-dd HH:mm:ss`) of an instant, China time.
    static func dateTime(_ instant: Instant) -> String {
        let t = ChinaTime.localDateTime(instant)
        func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(t.date) \(pad(t.hour)):\(pad(t.minute)):\(pad(t.second))"
    }
}
