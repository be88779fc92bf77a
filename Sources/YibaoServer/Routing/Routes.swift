import HTTPTypes
import Hummingbird
import Logging
import YibaoApp
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
    /// A staff member of an institution signed in to the cashier console (any role).
    case staff
    /// A staff member with the manager role (manages the institution's staff).
    case staffManager

    public var description: String {
        switch self {
        case .anyone: return "anyone"
        case .institution: return "institution"
        case .patient: return "patient"
        case .staff: return "staff"
        case .staffManager: return "staff(manager)"
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
            guard case .staff(let staff) = context.caller else {
                return try await handler(request, context).response(from: request, context: context)
            }
            // A staff member at the counter: what the request writes names them, and the audit log
            // records each change they make.
            let response = try await Platform.$actingStaff.withValue(staff) {
                try await handler(request, context).response(from: request, context: context)
            }
            if method != .get, method != .head {
                // After the change committed: a failure here must not turn a success into an error (the
                // journal entry of a money movement names the staff member in its own transaction).
                do {
                    try await authenticator.platform.auditStaffRequest(
                        staff, method: method.rawValue, path: request.uri.path, status: response.status.code)
                } catch {
                    context.logger.error("staff request not audited", metadata: ["staff": "\(staff.actor)", "error": "\(error)"])
                }
            }
            return response
        }
    }
}
