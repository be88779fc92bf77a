import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import YibaoApp
import YibaoCore
import YibaoStore

/// An RFC 9457 problem document. Every error Yibao returns is one, with a stable `code`.
public struct ProblemDocument: Codable, Sendable, Hashable {
    /// A URI naming the problem type.
    public var type: String
    /// A short summary.
    public var title: String
    /// The HTTP status.
    public var status: Int
    /// What is wrong, for this request.
    public var detail: String
    /// The stable code.
    public var code: String
    /// The stable number of the code.
    public var number: Int
    /// The request field at fault.
    public var field: String?
    /// Ids the caller needs to follow up.
    public var references: [String: String]?
    /// The request id, to quote to support.
    public var requestId: String

    /// The problem of a refusal.
    public init(_ refusal: Refusal, requestID: String) {
        self.type = "https://yibao.dev/problems/" + refusal.code.rawValue
        self.title = refusal.code.title
        self.status = Int(ProblemDocument.status(refusal.code.kind).code)
        self.detail = refusal.detail
        self.code = refusal.code.rawValue
        self.number = refusal.code.number
        self.field = refusal.field
        self.references = refusal.references.isEmpty ? nil : refusal.references
        self.requestId = requestID
    }

    /// The one mapping from refusal kinds to HTTP statuses.
    public static func status(_ kind: RefusalKind) -> HTTPResponse.Status {
        switch kind {
        case .invalid: return .badRequest
        case .unauthenticated: return .unauthorized
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .refused: return .unprocessableContent
        case .rateLimited: return .tooManyRequests
        case .pending: return .serviceUnavailable
        }
    }
}

/// Turns every error into a problem document, in one place. Refusals keep their code; a malformed body
/// names the field; an unknown route is `not_found`; an unavailable database is 503; anything else is
/// a 500 whose details go to the log (with the request id), never to the caller.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = context.id
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = requestID
            return response
        } catch let refusal as Refusal {
            return ProblemMiddleware.response(refusal, requestID: requestID)
        } catch let error as HTTPError {
            let refusal: Refusal
            switch error.status {
            case .notFound: refusal = Refusal(.notFound, "no route for \(request.method) \(request.uri.path)")
            case .methodNotAllowed: refusal = Refusal(.notFound, "\(request.method) is not allowed on \(request.uri.path)")
            case .contentTooLarge: refusal = Refusal(.bodyTooLarge, "the request body is larger than \(context.maxUploadSize) bytes")
            case .unauthorized: refusal = Refusal(.unauthenticated, error.body ?? "authentication required")
            default: refusal = Refusal(.invalidRequest, error.body ?? "the request is not valid")
            }
            return ProblemMiddleware.response(refusal, requestID: requestID, status: error.status == .contentTooLarge ? .contentTooLarge : nil)
        } catch let error as StoreError {
            if case .unavailable = error {
                context.logger.error("database unavailable", metadata: ["error": "\(error)"])
                return ProblemMiddleware.internalProblem(
                    status: .serviceUnavailable, detail: "the database is unavailable; retry shortly", requestID: requestID)
            }
            context.logger.error("store failure", metadata: ["error": "\(error)"])
            return ProblemMiddleware.internalProblem(status: .internalServerError, detail: "an internal error occurred", requestID: requestID)
        } catch {
            context.logger.error("unexpected failure", metadata: ["error": "\(String(describing: type(of: error)))", "message": "\(error)"])
            return ProblemMiddleware.internalProblem(status: .internalServerError, detail: "an internal error occurred", requestID: requestID)
        }
    }

    static func response(_ refusal: Refusal, requestID: String, status: HTTPResponse.Status? = nil) -> Response {
        var document = ProblemDocument(refusal, requestID: requestID)
        if let status { document.status = status.code }
        var headers: HTTPFields = [.contentType: "application/problem+json", .requestID: requestID]
        if let seconds = refusal.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        let body = (try? YibaoJSON.encode(document)) ?? Data()
        return Response(status: HTTPResponse.Status(code: document.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func internalProblem(status: HTTPResponse.Status, detail: String, requestID: String) -> Response {
        let document = ProblemDocument(
            type: "https://yibao.dev/problems/" + (status == .serviceUnavailable ? "unavailable" : "internal"),
            title: status == .serviceUnavailable ? "Service unavailable" : "Internal error", status: status.code, detail: detail,
            code: status == .serviceUnavailable ? "unavailable" : "internal", number: status == .serviceUnavailable ? 900 : 999, field: nil,
            references: nil, requestId: requestID
        )
        let body = (try? YibaoJSON.encode(document)) ?? Data()
        var headers: HTTPFields = [.contentType: "application/problem+json", .requestID: requestID]
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension ProblemDocument {
    init(
        type: String, title: String, status: Int, detail: String, code: String, number: Int, field: String?, references: [String: String]?,
        requestId: String
    ) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
        self.number = number
        self.field = field
        self.references = references
        self.requestId = requestId
    }
}

extension HTTPField.Name {
    /// `X-Request-Id`: echoed on every response.
    static let requestID = HTTPField.Name("X-Request-Id")!
    /// `Idempotency-Key`: makes a money-moving request safe to retry.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
}
