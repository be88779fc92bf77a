import HTTPTypes
import Hummingbird
import Synchronization
import YibaoCore
import YibaoStore

/// Establishes the caller of a request from its bearer token, per the route's access rule.
/// Institution keys (`keyID.secret`) and operator tokens (`op_…`) are checked against their stored
/// hashes; a successful check is remembered for `cacheSeconds` so a busy cashier's system does not
/// cost a database read per request (revocation takes effect within that time).
final class Authenticator: Sendable {
    /// How long a verified token is remembered.
    static let cacheSeconds: Int64 = 5
    /// The most tokens remembered.
    static let cacheEntriesMax = 10_000

    private let store: Store
    private let cache = Mutex<[String: (caller: Caller, until: Instant)]>([:])

    init(store: Store) { self.store = store }

    func authenticate(_ request: Request, access: Access) async throws -> Caller {
        if access == .anyone { return .anonymous }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "), header.count > 7 else {
            throw Refusal(.unauthenticated, "send Authorization: Bearer <token> (an institution API key, an operator or a patient session token)")
        }
        let token = String(header.dropFirst(7))
        if token.hasPrefix("ps_") {
            // Patient sessions are not cached: a revoked or signed-out session stops at once.
            guard let session = try await store.patientSession(token: token) else {
                throw Refusal(.unauthenticated, "the session has expired or was signed out; sign in again")
            }
            guard access == .patient else { throw Refusal(.forbidden, "this route is not for patients") }
            return .patient(session)
        }
        let caller = try await resolve(token)
        switch (access, caller) {
        case (.institution, .institution):
            return caller
        case (.patient, .patient):
            return caller
        case (.operator(let required), .operator(let found)):
            guard found.role.includes(required) else {
                throw Refusal(.forbidden, "this needs the \(required.rawValue) role; \(found.name) is \(found.role.rawValue)")
            }
            return caller
        case (.anyone, _):
            return caller
        default:
            throw Refusal(.forbidden, "this route is not for this kind of credential")
        }
    }

    private func resolve(_ token: String) async throws -> Caller {
        let now = store.clock.now()
        let key = Secrets.sha256Hex(token)
        if let hit = cache.withLock({ $0[key] }), hit.until > now { return hit.caller }
        let caller: Caller?
        if token.hasPrefix("op_") {
            caller = try await store.authenticateOperator(token: token).map(Caller.operator)
        } else if token.contains(".") {
            caller = try await store.authenticateInstitution(token: token).map(Caller.institution)
        } else {
            caller = nil
        }
        guard let caller else { throw Refusal(.unauthenticated, "the token is not valid, has expired or was revoked") }
        cache.withLock { cache in
            if cache.count >= Authenticator.cacheEntriesMax { cache.removeAll() }
            cache[key] = (caller, now.adding(seconds: Authenticator.cacheSeconds))
        }
        return caller
    }
}
