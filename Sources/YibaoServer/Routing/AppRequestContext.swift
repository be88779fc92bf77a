import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import YibaoApp
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
    /// A member of an institution's staff signed in to the cashier console, by session token; acts for
    /// their institution on its routes.
    case staff(StaffSession)
}

/// The request context of every Yibao route: the caller, the raw body bytes once read, and
/// Yibao's JSON coders.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated caller.
    public var caller: Caller = .anonymous
    /// The address of the socket peer (the client, or a reverse proxy in front of Yibao).
    public var peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The client's address: the socket peer's, or — only when the peer is one of `trustedProxies` — the
    /// nearest address in `X-Forwarded-For` that is not itself a trusted proxy. A client cannot choose
    /// its own address by sending the header.
    public func clientAddress(_ request: Request, trustedProxies: [String]) -> String {
        let peer = peerAddress ?? "unknown"
        guard trustedProxies.contains(peer), let header = request.headers[HTTPField.Name("X-Forwarded-For")!] else { return peer }
        let hops = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return hops.reversed().first { !trustedProxies.contains($0) } ?? peer
    }

    /// Requests larger than 1 MiB are refused (catalogue imports send CSV in chunks).
    public var maxUploadSize: Int { 8 * 1024 * 1024 }

    public var requestDecoder: JSONDecoder { YibaoJSON.decoder() }
    public var responseEncoder: JSONEncoder { YibaoJSON.encoder() }

    /// The institution calling (its system, or a staff member for it); a bug if the route did not
    /// require one.
    public var institution: Institution {
        switch caller {
        case .institution(let institution): return institution
        case .staff(let session): return session.institution
        default: preconditionFailure("route must require an institution")
        }
    }

    /// The staff member calling; a bug if the route did not require one.
    public var staff: StaffSession {
        guard case .staff(let session) = caller else { preconditionFailure("route must require a staff member") }
        return session
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
