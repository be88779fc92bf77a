import Hummingbird
import Logging

/// Logs every request as its route pattern (never the raw path or query, which can carry phone or ID
/// numbers), the status and the duration, with the request id (`hb.request.id`) that every log line
/// of the request carries. Debug level: `--log-level debug` shows them.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.debug(
            "request",
            metadata: [
                "method": "\(request.method)", "route": "\(context.endpointPath ?? "unmatched")", "status": "\(response.status.code)",
                "ms": "\(Int(milliseconds.rounded()))",
            ]
        )
        return response
    }
}
