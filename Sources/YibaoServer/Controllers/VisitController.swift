import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import YibaoCore
import YibaoStore

/// The hospital side of settlement by person number: open a visit with its fee lines, add lines,
/// pre-settle, settle, read, reverse (national 2201 / 2204 / 2206 / 2207 / 2208, and the inpatient
/// equivalents).
struct VisitController {
    let store: Store

    struct AddLinesRequest: Codable, Sendable {
        var lines: [FeeLine]
    }

    struct SettleRequest: Codable, Sendable {
        /// 个人账户使用标志 `acct_used_flag`; default true.
        var useAccount: Bool?
    }

    func addRoutes(to routes: RouteRegistry) {
        routes.add(.post, "/v1/visits", .institution, "Open a visit with its fee lines (2201 + 2204)") { request, context in
            var request = request
            let body = try await request.decodeJSON(OpenVisitRequest.self, context: context)
            return JSONResponse(try await store.openVisit(body, institution: context.institution), status: .created)
        }
        routes.add(.get, "/v1/visits/{visit_id}", .institution, "A visit with its priced lines") { _, context in
            let id = try context.parameters.require("visit_id")
            guard let visit = try await store.visit(id: id, institution: context.institution) else {
                throw Refusal(.notFound, "this institution has no visit \(id)")
            }
            return JSONResponse(visit)
        }
        routes.add(.post, "/v1/visits/{visit_id}/lines", .institution, "Add fee lines to an open visit (2204 / 2301)") { request, context in
            var request = request
            let body = try await request.decodeJSON(AddLinesRequest.self, context: context)
            return JSONResponse(
                try await store.addLines(body.lines, visitID: try context.parameters.require("visit_id"), institution: context.institution))
        }
        routes.add(
            .post, "/v1/visits/{visit_id}/pre-settlement", .institution, "Pre-settle: the split as it would be now; moves nothing (2206 / 2303)"
        ) {
            request, context in
            var request = request
            let body = try await VisitController.optionalBody(SettleRequest.self, &request, context)
            return JSONResponse(
                try await store.preSettle(
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
            let record = try await store.settle(
                visitID: try context.parameters.require("visit_id"), institution: context.institution, useAccount: body?.useAccount ?? true,
                idempotency: idempotency
            )
            return JSONResponse(record, status: .created)
        }
        routes.add(.get, "/v1/settlements/{settlement_id}", .institution, "A settlement of this institution (5203)") { _, context in
            let id = try context.parameters.require("settlement_id")
            guard let record = try await store.settlement(id: id, institution: context.institution) else {
                throw Refusal(.notFound, "this institution has no settlement \(id)")
            }
            return JSONResponse(record)
        }
        routes.add(.post, "/v1/settlements/{settlement_id}/reversal", .institution, "Reverse a settlement (2208 / 2305); needs an Idempotency-Key") {
            request, context in
            var request = request
            let bytes = try await request.bodyBytes(context: context)
            let record = try await store.reverse(
                settlementID: try context.parameters.require("settlement_id"), institution: context.institution,
                idempotency: try VisitController.idempotency(request, bytes)
            )
            return JSONResponse(record, status: .created)
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

    static func optionalBody<T: Decodable>(_ type: T.Type, _ request: inout Request, _ context: AppRequestContext) async throws -> T? {
        let bytes = try await request.bodyBytes(context: context)
        return bytes.readableBytes == 0 ? nil : try JSONBody.decode(type, from: bytes)
    }
}
