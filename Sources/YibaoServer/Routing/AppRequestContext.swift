import Foundation
import Hummingbird
import Logging
import YibaoCore
import YibaoStore

/// Who is calling, established by the route's access rule before the handler runs.
public enum Caller: Sendable, Hashable {
    /// No credentials (public routes).
    case anonymous
    /// A designated institution's system (HIS), by API key.
    case institution(Institution)
    /// An operator of the bureau, by bearer token.
    case `operator`(Operator)
    /// A signed-in patient, by session token.
    case patient(PatientSession)
}

/// The request context of every Yibao route: the caller, the raw body bytes once read, and
/// Yibao's JSON coders.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated caller.
    public var caller: Caller = .anonymous

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// Requests larger than 1 MiB are refused (catalogue imports send CSV in chunks).
    public var maxUploadSize: Int { 8 * 1024 * 1024 }

    public var requestDecoder: JSONDecoder { YibaoJSON.decoder() }
    public var responseEncoder: JSONEncoder { YibaoJSON.encoder() }

    /// The institution calling; a bug if the route did not require one.
    public var institution: Institution {
        guard case .institution(let institution) = caller else { preconditionFailure("route must require an institution") }
        return institution
    }

    /// The patient calling; a bug if the route did not require one.
    public var patient: PatientSession {
        guard case .patient(let session) = caller else { preconditionFailure("route must require a patient") }
        return session
    }

    /// The operator calling; a bug if the route did not require one.
    public var `operator`: Operator {
        guard case .operator(let found) = caller else { preconditionFailure("route must require an operator") }
        return found
    }
}
