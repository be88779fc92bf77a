import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import YibaoApp
import YibaoCore
import YibaoStore

/// The hospital side of settlement by person number: open a visit with its fee lines, add lines,
/// pre-settle, settle, read, reverse (national 2201 / 2204 / 2206 / 2207 / 2208, and the inpatient
/// equivalents).
struct VisitController {
    let platform: Platform
    let limiter: RateLimiter
    let metrics: BusinessMetrics

    /// A visit opened by person number (the hospital collects the cash part) or by the patient's
    /// e-voucher code (Yibao collects it from the patient's default funding source).
    struct OpenVisitBody: Codable, Sendable {
        var personNumber: String?
        var code: String?
        var category: MedicalCategory
        var hospitalVisitNumber: String
        var lines: [FeeLine]?
        /// With person_number: the patient registered choosing frictionless payment (无感支付).
        var frictionless: Bool?
    }

    struct AddLinesRequest: Codable, Sendable {
        var lines: [FeeLine]
    }

    struct RemoveLinesRequest: Codable, Sendable {
        /// The lines to take off (`feedetl_sn`).
        var lineNumbers: [String]
    }

    struct SettleRequest: Codable, Sendable {
        /// 个人账户使用标志 `acct_used_flag`; default true.
        var useAccount: Bool?
        /// `counter` collects the cash part at the counter even for a visit opened with a code (after a
        /// declined card); default: from the patient's funding source when the visit was opened with a code.
        var cashCollection: CashCollection?
    }

    func addRoutes(to routes: RouteRegistry) {
        addVisitRoutes(to: routes)
        addRefundAndReceiptRoutes(to: routes)
    }

    func addVisitRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/visits", .institution, "Open a visit by person number or e-voucher code, with its fee lines (1101 + 2201 + 2204)") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(OpenVisitBody.self, context: context)
            switch (body.personNumber, body.code) {
            case (let number?, nil):
                let open = OpenVisitRequest(
                    personNumber: number, category: body.category, hospitalVisitNumber: body.hospitalVisitNumber, lines: body.lines,
                    frictionless: body.frictionless)
                return JSONResponse(try await platform.openVisit(open, institution: context.institution), status: .created)
            case (nil, let code?):
                if body.frictionless == true {
                    throw Refusal.invalid("frictionless", "frictionless visits are registered by person_number: no code is shown")
                }
                let open = CodeVisitRequest(code: code, category: body.category, hospitalVisitNumber: body.hospitalVisitNumber, lines: body.lines)
                let visit = try await withCodeLimits(code, institution: context.institution) {
                    try await platform.openVisit(code: open, institution: context.institution)
                }
                return JSONResponse(visit, status: .created)
            default:
                throw Refusal.invalid("person_number", "send either person_number or the patient's e-voucher code, not both")
            }
        }
        routes.add(.post, "/v1/settlements", .institution, "One-code payment: the e-voucher code and the fee lines, settled and paid in one call") {
            request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let idempotency = try VisitController.idempotency(request, bytes)
            let body = try JSONBody.decode(CodeVisitRequest.self, from: bytes)
            let record = try await withCodeLimits(body.code, institution: context.institution) {
                try await metrics.count(.settlement) {
                    try await platform.settle(code: body, institution: context.institution, idempotency: idempotency)
                }
            }
            return JSONResponse(record, status: .created)
        }
        routes.add(.get, "/v1/visits/{visit_id}", .institution, "A visit with its priced lines") { _, context in
            let id = try context.parameters.require("visit_id")
            guard let visit = try await platform.visit(id: id, institution: context.institution) else {
                throw Refusal(.notFound, "this institution has no visit \(id)")
            }
            return JSONResponse(visit)
        }
        routes.add(.post, "/v1/visits/{visit_id}/lines", .institution, "Add fee lines to an open visit (2204 / 2301)") { request, context in
            var request = request
            let body = try await request.decodeJSON(AddLinesRequest.self, context: context)
            return JSONResponse(
                try await platform.addLines(body.lines, visitID: try context.parameters.require("visit_id"), institution: context.institution))
        }
        routes.add(.post, "/v1/visits/{visit_id}/lines/removal", .institution, "Take fee lines off an open visit (2302, some details)") {
            request, context in
            var request = request
            let body = try await request.decodeJSON(RemoveLinesRequest.self, context: context)
            return JSONResponse(
                try await platform.removeLines(
                    body.lineNumbers, visitID: try context.parameters.require("visit_id"), institution: context.institution))
        }
        routes.add(
            .post, "/v1/visits/{visit_id}/pre-settlement", .institution, "Pre-settle: the split as it would be now; moves nothing (2206 / 2303)"
        ) {
            request, context in
            var request = request
            let body = try await VisitController.optionalBody(SettleRequest.self, &request, context)
            return JSONResponse(
                try await platform.preSettle(
                    visitID: try context.parameters.require("visit_id"), institution: context.institution, useAccount: body?.useAccount ?? true
                )
            )
        }
        routes.add(.post, "/v1/visits/{visit_id}/settlement", .institution, "Settle the visit (2207 / 2304); needs an Idempotency-Key") {
            request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let idempotency = try VisitController.idempotency(request, bytes)
            let body = bytes.readableBytes == 0 ? nil : try JSONBody.decode(SettleRequest.self, from: bytes)
            let visitID = try context.parameters.require("visit_id")
            let record = try await metrics.count(.settlement) {
                try await platform.settle(
                    visitID: visitID, institution: context.institution, useAccount: body?.useAccount ?? true, idempotency: idempotency,
                    cashAtCounter: body?.cashCollection == .counter)
            }
            return JSONResponse(record, status: .created)
        }
        routes.add(.post, "/v1/visits/{visit_id}/cancellation", .institution, "Cancel an open visit (2202 / 2404); a paid one is reversed first") {
            _, context in
            JSONResponse(try await platform.cancelVisit(id: try context.parameters.require("visit_id"), institution: context.institution))
        }
        routes.add(.get, "/v1/settlements/{settlement_id}", .institution, "A settlement of this institution (5203)") { _, context in
            let id = try context.parameters.require("settlement_id")
            guard let record = try await platform.settlement(id: id, institution: context.institution) else {
                throw Refusal(.notFound, "this institution has no settlement \(id)")
            }
            return JSONResponse(record)
        }
        routes.add(.post, "/v1/settlements/{settlement_id}/reversal", .institution, "Reverse a settlement (2208 / 2305); needs an Idempotency-Key") {
            request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let settlementID = try context.parameters.require("settlement_id")
            let idempotency = try VisitController.idempotency(request, bytes)
            let record = try await metrics.count(.reversal) {
                try await platform.reverse(settlementID: settlementID, institution: context.institution, idempotency: idempotency)
            }
            return JSONResponse(record, status: .created)
        }
    }

    /// Runs an operation that verifies an e-voucher code under the rate limits: refused with 429 while a
    /// device or the institution has had too many failed codes recently; each failure is counted.
    ///
    /// Every failure counts against the device. Against the institution count only the codes that do
    /// not verify (garbage, an unknown or removed phone, a wrong password): that is what guessing looks
    /// like. An expired or already used code is a genuine code shown late or twice — a busy counter
    /// produces them by the dozen when the queue is slow, and they tell a guesser nothing — so they must
    /// not lock a whole hospital out.
    func withCodeLimits<T>(_ code: String, institution: Institution, _ operation: () async throws -> T) async throws -> T {
        let device = VoucherCode.parse(code)?.deviceNumber ?? "malformed"
        if let wait = limiter.retryAfter("code-device:" + device, Limits.codeFailuresPerDevice)
            ?? limiter.retryAfter("code-institution:" + institution.code, Limits.codeFailuresPerInstitution)
        {
            throw Refusal(.rateLimited, "too many codes failed verification; try again in \(wait) seconds", retryAfterSeconds: wait)
        }
        do {
            return try await operation()
        } catch let refusal as Refusal where [.codeMalformed, .codeInvalid, .codeExpired, .codeUsed, .codeRevoked].contains(refusal.code) {
            limiter.record("code-device:" + device, Limits.codeFailuresPerDevice)
            if ![.codeExpired, .codeUsed].contains(refusal.code) {
                limiter.record("code-institution:" + institution.code, Limits.codeFailuresPerInstitution)
            }
            throw refusal
        }
    }

    /// The Idempotency-Key of a money-moving request, with the request's fingerprint.
    static func idempotency(_ request: Request, _ body: ByteBuffer) throws -> IdempotencyRequest {
        guard let key = request.headers[.idempotencyKey], !key.isEmpty else {
            throw Refusal(.idempotencyKeyRequired, "send an Idempotency-Key header (a new random value per operation; the same value on retries)")
        }
        guard key.utf8.count <= IdempotencyRequest.keyLengthMax, key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw Refusal.invalid("Idempotency-Key", "the Idempotency-Key must be 1 to 200 printable ASCII characters")
        }
        var digest = Data("\(request.method) \(request.uri.path)\n".utf8)
        digest.append(contentsOf: body.readableBytesView)
        return IdempotencyRequest(key: key, fingerprint: Secrets.sha256Hex(digest))
    }

    func addRefundAndReceiptRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/settlements/{settlement_id}/refunds", .institution, "Refund part of a settlement (6203): lines, cash or insurance") {
            request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let idempotency = try VisitController.idempotency(request, bytes)
            let body = try JSONBody.decode(RefundRequest.self, from: bytes)
            let settlementID = try context.parameters.require("settlement_id")
            let record = try await metrics.count(.refund) {
                try await platform.refund(settlementID: settlementID, institution: context.institution, request: body, idempotency: idempotency)
            }
            return JSONResponse(record, status: .created)
        }
        routes.add(.get, "/v1/settlements/{settlement_id}/receipt", .institution, "The electronic receipt of a settlement") { _, context in
            JSONResponse(
                platform.receipt(for: try await completed(try context.parameters.require("settlement_id"), institution: context.institution)))
        }
        routes.add(.get, "/v1/settlements/{settlement_id}/receipt.html", .institution, "The receipt as a printable page") { _, context in
            ReceiptPage.response(
                platform.receipt(for: try await completed(try context.parameters.require("settlement_id"), institution: context.institution)))
        }
    }

    func completed(_ id: String, institution: Institution) async throws -> SettlementRecord {
        guard let record = try await platform.settlement(id: id, institution: institution) else {
            throw Refusal(.notFound, "this institution has no settlement \(id)")
        }
        guard record.state == .completed else { throw Refusal(.notFound, "settlement \(id) is \(record.state.rawValue): there is no receipt") }
        return record
    }

    static func optionalBody<T: Decodable>(_ type: T.Type, _ request: inout Request, _ context: AppRequestContext) async throws -> T? {
        let bytes = try await request.bodyBytes(context: context)
        return bytes.readableBytes == 0 ? nil : try JSONBody.decode(type, from: bytes)
    }
}
