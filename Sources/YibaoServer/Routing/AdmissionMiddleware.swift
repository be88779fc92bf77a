import Foundation
import Hummingbird
import Synchronization
import YibaoCore

/// Admission control: at most `limit` requests in flight in this instance. Beyond it a request is
/// answered at once with 503 `overloaded` and `Retry-After: 1`, before any work is done for it, so that
/// past capacity the instance keeps settling at capacity instead of queueing work whose callers have
/// already given up (and will retry, doubling it). Health and metrics are always admitted, so a load
/// balancer still sees an overloaded instance as alive.
///
/// The limit is a count, not a rate: what the machine can do per second is found by the requests
/// themselves (a request admitted finishes at the speed the database allows). `yibao serve
/// --max-in-flight` sets it; the default, 256, is eight times the 32 clients the benches use and keeps a
/// request's queueing time under about a quarter of a second at the embedded database's rate.
final class AdmissionMiddleware: RouterMiddleware, Sendable {
    typealias Context = AppRequestContext

    private let limit: Int
    private let inFlight = Atomic<Int>(0)
    /// Requests refused since start (the `yibao_requests_refused_overloaded_total` metric reads it).
    let refused = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/health") || path == "/metrics" { return try await next(request, context) }
        let admitted = inFlight.wrappingAdd(1, ordering: .relaxed).newValue <= limit
        defer { inFlight.wrappingSubtract(1, ordering: .relaxed) }
        guard admitted else {
            refused.wrappingAdd(1, ordering: .relaxed)
            return AdmissionMiddleware.overloaded(requestID: context.id)
        }
        return try await next(request, context)
    }

    /// The answer beyond the limit: a problem document with `Retry-After`, built without touching the
    /// database or the request body.
    static func overloaded(requestID: String) -> Response {
        let document = ProblemDocument(
            type: "https://yibao.dev/problems/overloaded", title: "Overloaded", status: 503,
            detail: "this instance is at capacity; retry after the time in Retry-After", code: "overloaded", number: 901, field: nil,
            references: nil, requestId: requestID)
        let body = (try? YibaoJSON.encode(document)) ?? Data()
        return Response(
            status: .serviceUnavailable,
            headers: [.contentType: "application/problem+json", .requestID: requestID, .retryAfter: "1"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
