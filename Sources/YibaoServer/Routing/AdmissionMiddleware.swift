import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes
import Prometheus
import Synchronization
import YibaoCore

/// Admission control: at most `limit` requests in flight in this instance. Beyond it a request is
/// answered at once with 503 `overloaded` and `Retry-After`, before any work is done for it, so that
/// past capacity the instance keeps settling at capacity instead of queueing work whose callers have
/// already given up (and will retry, doubling it). Health and metrics are always admitted, so a load
/// balancer still sees an overloaded instance as alive.
///
/// The limit is a count, not a rate: what the machine can do per second is found by the requests
/// themselves (a request admitted finishes at the speed the database allows). `yibao serve
/// --max-in-flight` sets it; the default, 256, is eight times the 32 clients the benches use and keeps a
/// request's queueing time under about a quarter of a second at the embedded database's rate.
///
/// One count, kept where the work is: `AdmissionMiddleware` counts each request from the moment the
/// application takes it until its answer is built, and refuses one that would pass the limit.
/// `AdmissionDoor` reads the same count in the connection's channel pipeline and refuses there while the
/// instance is full — before the request becomes a task, so a refusal costs the event loop a read and a
/// write instead of a whole HTTP request (docs/performance.md, "Overload").
///
/// `Retry-After` (`RetryAfter`) is one second at a brief peak and grows while refusals outnumber what
/// the instance finishes, so that callers who honour it do not all retry every second (a retry storm
/// that takes the CPU the admitted requests need).
final class Admission: Sendable {
    /// Requests in flight at most.
    let limit: Int
    private let inFlight = Atomic<Int>(0)
    private let retryAfter = Mutex(RetryAfter())
    /// Requests refused since start: `yibao_requests_refused_overloaded_total` on `/metrics`.
    private let refused: Counter

    init(limit: Int, metrics: PrometheusCollectorRegistry) {
        self.limit = limit
        self.refused = metrics.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "yibao", metricName: "requests_refused_overloaded", unitName: "total",
                helpText: "Requests answered 503 overloaded by admission control"))
    }

    /// Health and metrics are admitted whatever the count.
    static func isExempt(path: some StringProtocol) -> Bool {
        path.hasPrefix("/health") || path == "/metrics"
    }

    /// Whether a request arriving now would be refused (the door's question; the count may change before
    /// the request reaches the application, where `enter()` decides for good).
    var isFull: Bool { inFlight.load(ordering: .relaxed) >= limit }

    /// Counts a request in; whether it is within the limit. Every `enter()` is followed by one `leave(admitted:)`.
    func enter() -> Bool {
        inFlight.wrappingAdd(1, ordering: .relaxed).newValue <= limit
    }

    /// Counts a request out (an admitted one has finished).
    func leave(admitted: Bool) {
        inFlight.wrappingSubtract(1, ordering: .relaxed)
        if admitted { retryAfter.withLock { $0.finished(at: .now) } }
    }

    /// Counts a refusal; the `Retry-After` to give it, in seconds.
    func refuse() -> Int {
        refused.increment()
        return retryAfter.withLock { $0.refused(at: .now) }
    }

    /// The answer to a refused request: the national interface's envelope for `/fsi/` paths, the
    /// `overloaded` problem document for every other.
    static func answer(path: some StringProtocol, requestID: String, retryAfter: Int) -> Answer {
        path.hasPrefix("/fsi/")
            ? nationalOverloaded(requestID: requestID, retryAfter: retryAfter) : overloaded(requestID: requestID, retryAfter: retryAfter)
    }

    /// A refusal as sent: status, headers and the body's bytes (the door writes them to the channel, the
    /// middleware returns them as a `Response`).
    struct Answer {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer

        var response: Response { Response(status: status, headers: headers, body: .init(byteBuffer: body)) }
    }

    /// The answer beyond the limit: a problem document with `Retry-After`, built without touching the
    /// database or the request body. The document is encoded once (`Body`); each answer only puts its
    /// request id in (a profile of an overloaded instance showed the JSON encoder taking 5.6 % of the
    /// server's CPU when it encoded the same document for every refusal).
    static func overloaded(requestID: String, retryAfter: Int) -> Answer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Body.shared.before.count + requestID.utf8.count + Body.shared.after.count)
        buffer.writeBytes(Body.shared.before)
        buffer.writeString(requestID)
        buffer.writeBytes(Body.shared.after)
        return Answer(
            status: .serviceUnavailable,
            headers: [.contentType: "application/problem+json", .requestID: requestID, .retryAfter: String(retryAfter)], body: buffer)
    }

    /// The answer beyond the limit on the national interface, which answers everything with an envelope
    /// and HTTP 200 (a hospital system written for the national platform reads `infcode`, not a status):
    /// `infcode -1` and a Chinese message saying when to retry, `Retry-After` beside it. The region is not
    /// known before the body is read (it is not read), so it is 000000, as for a request not signed in.
    static func nationalOverloaded(requestID: String, retryAfter: Int) -> Answer {
        let text = Envelope(received: SystemClock().now()).failure(
            "系统繁忙，已达处理上限，请 \(retryAfter) 秒后重试（请求 \(requestID)）", region: "000000")
        return Answer(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .requestID: requestID, .retryAfter: String(retryAfter)],
            body: ByteBuffer(string: text))
    }

    /// The `overloaded` problem document as encoded, split where its request id goes (request ids are
    /// hexadecimal, so they need no escaping).
    struct Body: Sendable {
        let before: [UInt8]
        let after: [UInt8]

        static let shared = Body()

        init() {
            let marker = "REQUEST-ID-GOES-HERE"
            let document = ProblemDocument(
                type: "https://yibao.dev/problems/overloaded", title: "Overloaded", status: 503,
                detail: "this instance is at capacity; retry after the time in Retry-After", code: "overloaded", number: 901, field: nil,
                references: nil, requestId: marker)
            let encoded = Array((try? YibaoJSON.encode(document)) ?? Data())
            let text = Array(marker.utf8)
            let at = encoded.indices.first { encoded[$0...].starts(with: text) } ?? encoded.endIndex
            before = Array(encoded[..<at])
            after = at < encoded.endIndex ? Array(encoded[(at + text.count)...]) : []
        }
    }
}

/// Counts every request the application takes (`Admission`) and refuses one beyond the limit — one that
/// passed the door just before the instance filled up, or any request when the router runs without a
/// socket (tests).
struct AdmissionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let admission: Admission
    /// How long an admitted request's body may take to arrive (`RequestBodyWait`).
    let bodyWait: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Admission.isExempt(path: path) { return try await next(request, context) }
        let admitted = admission.enter()
        defer { admission.leave(admitted: admitted) }
        guard admitted else {
            return Admission.answer(path: path, requestID: context.id, retryAfter: admission.refuse()).response
        }
        return try await RequestBodyWait.$limit.withValue(bodyWait) { try await next(request, context) }
    }
}

/// Admission control at the door: a handler in each connection's channel pipeline, after HTTP decoding
/// and before the request becomes a task. While the instance is full (`Admission.isFull`) it answers a
/// new request itself — the same 503 `overloaded` or national envelope as `AdmissionMiddleware`, in the
/// same event-loop turn that read it — and drops the rest of that request (its body, if any, is read and
/// discarded; the connection stays open for the next one).
///
/// A request is refused at the door only when none of the connection's earlier requests is still in the
/// application: answers on a connection go out in order, and the application serves a connection's
/// requests one at a time, so a pipelined request waiting behind another adds no work in flight; it
/// goes on to the application, whose middleware decides.
final class AdmissionDoor: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let admission: Admission
    /// This connection's requests passed to the application and not yet answered.
    private var inApplication = 0
    /// Whether the parts being read belong to a request refused at the door.
    private var discarding = false

    init(admission: Admission) {
        self.admission = admission
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            // The path is looked at only while the instance is full: an admitted request costs one load.
            let path = inApplication == 0 && admission.isFull ? request.path.map { $0.prefix { $0 != "?" } } : nil
            guard let path, !Admission.isExempt(path: path) else {
                inApplication += 1
                context.fireChannelRead(data)
                return
            }
            discarding = true
            let answer = Admission.answer(path: path, requestID: RequestID().description, retryAfter: admission.refuse())
            var headers = answer.headers
            headers[.contentLength] = String(answer.body.readableBytes)
            headers[.server] = "yibao"
            // A client that sent `Expect: 100-continue` may or may not send its body after a final answer,
            // so the connection cannot be read on: it is closed, as when the client asked for that.
            let closing =
                request.headerFields[.connection]?.lowercased().contains("close") == true
                || request.headerFields[.expect]?.lowercased().contains("100-continue") == true
            if closing { headers[.connection] = "close" }
            context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: headers))), promise: nil)
            // The answer to HEAD has the length of the body it would have had, and no body.
            if request.method != .head { context.write(wrapOutboundOut(.body(answer.body)), promise: nil) }
            let sent = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if closing { sent.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) } }
        case .body, .end:
            if discarding {
                if case .end = unwrapInboundIn(data) { discarding = false }
                return
            }
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // `max`: an answer the door did not see the request of (one to a request that failed to decode)
        // does not make the count negative.
        if case .end = unwrapOutboundIn(data) { inApplication = max(0, inApplication - 1) }
        context.write(data, promise: promise)
    }
}

/// The `Retry-After` an overloaded instance gives, in whole seconds, decided once a second from the
/// second before. A second that refused more requests than it finished doubles the wait (or makes it
/// refused ÷ finished, if that is longer), up to `longest`; a second that refused fewer halves it; a
/// second that refused none, or a gap of more than a second, sets it back to 1.
///
/// Refused requests come back, and at a sustained overload they come back to be refused again: a
/// client that retries for 20 s after a 1 s wait is refused about 26 times, and each refusal costs the
/// instance a read and a write on a socket even at the door (22–27 µs of CPU flat out, 78–95 µs at
/// 2,000 a second on these machines: `bench/refusal`). Doubling while the overload lasts tells those clients to wait until it is over or their
/// patience is, so the instance spends its CPU settling; a brief peak still gets 1 s. Measured with
/// `bench/overload --pin` (one core each for the server and the load generator, 2 × capacity offered):
/// refusals 139,000–159,000 → 31,000–41,000 a run, answered at p99 4 s → 6–10 ms as the client saw
/// them, goodput 0.52 → 0.61–0.76 × capacity (docs/performance.md, "Overload").
struct RetryAfter: Sendable {
    /// The longest wait given, in seconds.
    static let longest = 30

    private var windowStart: ContinuousClock.Instant?
    private var refusedInWindow = 0
    private var finishedInWindow = 0
    private var seconds = 1

    /// A request refused now: counts it and returns the wait to give it.
    mutating func refused(at now: ContinuousClock.Instant) -> Int {
        roll(to: now)
        refusedInWindow += 1
        return seconds
    }

    /// An admitted request finished now.
    mutating func finished(at now: ContinuousClock.Instant) {
        roll(to: now)
        finishedInWindow += 1
    }

    /// Starts a new one-second window once the current one is over, deciding the wait from it (a window
    /// that ended more than a second ago says nothing about the last second: the wait is back to 1 s).
    private mutating func roll(to now: ContinuousClock.Instant) {
        guard let start = windowStart else {
            windowStart = now
            return
        }
        let elapsed = now - start
        guard elapsed >= .seconds(1) else { return }
        if elapsed >= .seconds(2) || refusedInWindow == 0 {
            seconds = 1
        } else if refusedInWindow > finishedInWindow {
            let ratio = (refusedInWindow + max(finishedInWindow, 1) - 1) / max(finishedInWindow, 1)
            seconds = min(Self.longest, max(2 * seconds, ratio))
        } else {
            seconds = max(1, seconds / 2)
        }
        windowStart = now
        refusedInWindow = 0
        finishedInWindow = 0
    }
}
