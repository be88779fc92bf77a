import HTTPTypes
import Hummingbird
import YibaoCore

/// Who may call a route. Every route declares one; the authorisation matrix test is generated from
/// the route table, so a route without a rule cannot be added.
public enum Access: Sendable, Hashable, CustomStringConvertible {
    /// Anyone, without credentials.
    case anyone
    /// A designated institution's system, with its API key.
    case institution
    /// An operator of the bureau with at least this role.
    case `operator`(OperatorRole)
    /// A signed-in patient (acting for themselves; family routes check the binding too).
    case patient

    public var description: String {
        switch self {
        case .anyone: return "anyone"
        case .institution: return "institution"
        case .patient: return "patient"
        case .operator(let role): return "operator(\(role.rawValue))"
        }
    }
}

/// One route: method, OpenAPI-style path, access rule, summary.
public struct RouteDescription: Sendable, Hashable {
    /// The HTTP method.
    public let method: HTTPRequest.Method
    /// The path with `{parameters}`.
    public let path: String
    /// Who may call it.
    public let access: Access
    /// What it does.
    public let summary: String
}

/// Registers routes with the router and records them in the route table; wraps each handler with its
/// access rule.
final class RouteRegistry {
    let router: Router<AppRequestContext>
    let authenticator: Authenticator
    private(set) var table: [RouteDescription] = []

    init(router: Router<AppRequestContext>, authenticator: Authenticator) {
        self.router = router
        self.authenticator = authenticator
    }

    func add<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method, _ path: String, _ access: Access, _ summary: String,
        _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Output
    ) {
        precondition(!table.contains { $0.method == method && $0.path == path }, "route \(method) \(path) registered twice")
        table.append(RouteDescription(method: method, path: path, access: access, summary: summary))
        let authenticator = self.authenticator
        router.on(RouterPath(path), method: method) { request, context -> Response in
            var request = request
            var context = context
            // Institution signatures cover the body: read it first (the handler reads the same bytes) — on
            // every route, so that a correctly signed request to a route not for institutions is told 403,
            // not that its signature is wrong.
            let body =
                access != .anyone && request.headers[.authorization]?.hasPrefix(RequestSignature.scheme) == true
                ? try await request.bodyBytes(context: context) : nil
            context.caller = try await authenticator.authenticate(request, body: body, access: access)
            return try await handler(request, context).response(from: request, context: context)
        }
    }
}
