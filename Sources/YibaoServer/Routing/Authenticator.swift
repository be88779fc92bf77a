import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import YibaoApp
import YibaoCore
import YibaoStore

/// Establishes the caller of a request per the route's access rule.
///
/// - Institutions sign each request (`YIBAO-HMAC-SHA256`, see `RequestSignature`): the signature covers
///   the method, path, body digest, timestamp and nonce; stale timestamps and reused nonces are refused.
///   A deployment may also accept the key as a plain bearer token (`keyID.secret`) — the demo does, so
///   its README works with curl; production does not (`--allow-bearer-institution-keys`).
/// - Operators send `Bearer op_…`; patients `Bearer ps_…` and institution staff `Bearer sf_…` (sessions
///   are never cached: sign-out is immediate). A staff session acts for its institution on institution
///   routes.
/// Verified institution and operator credentials are remembered for `cacheSeconds`.
final class Authenticator: Sendable {
    /// How long a verified credential is remembered.
    static let cacheSeconds: Int64 = 5
    /// The most credentials remembered.
    static let cacheEntriesMax = 10_000

    let platform: Platform
    private let allowBearerInstitutionKeys: Bool
    private let cache = Mutex<[String: (caller: Caller, until: Instant)]>([:])
    private let signingKeys = Mutex<[String: (institution: Institution, secret: String, until: Instant)]>([:])

    init(platform: Platform, allowBearerInstitutionKeys: Bool) {
        self.platform = platform
        self.allowBearerInstitutionKeys = allowBearerInstitutionKeys
    }

    func authenticate(_ request: Request, body: ByteBuffer?, access: Access) async throws -> Caller {
        if access == .anyone { return .anonymous }
        guard let header = request.headers[.authorization], !header.isEmpty else {
            throw Refusal(.unauthenticated, "send Authorization: a signed institution request, or Bearer <operator or patient session token>")
        }
        if header.hasPrefix(RequestSignature.scheme + " ") {
            let institution = try await verifySignature(header, request: request, body: body ?? ByteBuffer())
            guard access == .institution else { throw Refusal(.forbidden, "this route is not for institutions") }
            return .institution(institution)
        }
        guard header.hasPrefix("Bearer "), header.count > 7 else {
            throw Refusal(.unauthenticated, "unknown Authorization scheme; use \(RequestSignature.scheme) or Bearer")
        }
        let token = String(header.dropFirst(7))
        if token.hasPrefix("sf_") {
            guard let session = try await platform.staffSession(token: token) else {
                throw Refusal(.unauthenticated, "the session has expired, was signed out or the account was disabled; sign in again")
            }
            switch access {
            case .institution, .staff: return .staff(session)
            case .staffManager:
                guard session.role == .manager else {
                    throw Refusal(.forbidden, "this needs the manager role; \(session.name) is a \(session.role.rawValue)")
                }
                return .staff(session)
            default: throw Refusal(.forbidden, "this route is not for staff sessions")
            }
        }
        if token.hasPrefix("ps_") {
            guard let session = try await platform.patientSession(token: token) else {
                throw Refusal(.unauthenticated, "the session has expired or was signed out; sign in again")
            }
            guard access == .patient else { throw Refusal(.forbidden, "this route is not for patients") }
            return .patient(session)
        }
        let caller = try await resolve(token)
        switch (access, caller) {
        case (.institution, .institution):
            return caller
        case (.operator(let required), .operator(let found)):
            guard found.role.includes(required) else {
                throw Refusal(.forbidden, "this needs the \(required.rawValue) role; \(found.name) is \(found.role.rawValue)")
            }
            return caller
        default:
            throw Refusal(.forbidden, "this route is not for this kind of credential")
        }
    }

    private func verifySignature(_ header: String, request: Request, body: ByteBuffer) async throws -> Institution {
        guard let signed = RequestSignature.parse(header) else {
            throw Refusal(.unauthenticated, "the \(RequestSignature.scheme) header is malformed (Credential, Timestamp, Nonce, Signature)")
        }
        let now = platform.clock.now()
        guard abs(now.secondsSinceEpoch - signed.timestamp) <= RequestSignature.windowSeconds else {
            throw Refusal(.signatureStale, "the request's timestamp is more than \(RequestSignature.windowSeconds) seconds from the platform's clock")
        }
        guard let key = try await signingKey(signed.keyID, now: now) else {
            throw Refusal(.signatureInvalid, "the key is unknown, expired or revoked")
        }
        let expected = RequestSignature.signature(
            secret: key.secret, method: request.method.rawValue, pathAndQuery: request.head.path ?? request.uri.description,
            timestamp: signed.timestamp, nonce: signed.nonce, body: body.readableBytesView
        )
        guard Secrets.constantTimeEquals(expected, signed.signature) else {
            throw Refusal(.signatureInvalid, "the signature does not match the request (method, path, body, timestamp, nonce) under this key")
        }
        let expires = Instant(secondsSinceEpoch: signed.timestamp + RequestSignature.windowSeconds + 60)
        guard try await platform.claimNonce(keyID: signed.keyID, nonce: signed.nonce, expires: expires) else {
            throw Refusal(.signatureReplayed, "this nonce was already used with this key; sign every request with a new nonce")
        }
        return key.institution
    }

    /// Verifies the national gateway headers (reference §1.1): the signature is SHA-256 hex of timestamp +
    /// the key's secret + nonce + timestamp; the timestamp within the signed-request window; the nonce
    /// used once per key.
    func verifyNational(keyID: String, timestamp: Int64, nonce: String, signature: String) async throws -> Institution {
        let now = platform.clock.now()
        guard abs(now.secondsSinceEpoch - timestamp) <= RequestSignature.windowSeconds else {
            throw Refusal(.signatureStale, "the request's timestamp is more than \(RequestSignature.windowSeconds) seconds from the platform's clock")
        }
        guard (8...64).contains(nonce.count) else { throw Refusal.invalid("x-tif-nonce", "the nonce is 8 to 64 characters") }
        guard let key = try await signingKey(keyID, now: now) else { throw Refusal(.signatureInvalid, "the key is unknown, expired or revoked") }
        let expected = Secrets.sha256Hex("\(timestamp)" + key.secret + nonce + "\(timestamp)")
        guard Secrets.constantTimeEquals(expected, signature.lowercased()) else {
            throw Refusal(.signatureInvalid, "x-tif-signature does not match")
        }
        let expires = Instant(secondsSinceEpoch: timestamp + RequestSignature.windowSeconds + 60)
        guard try await platform.claimNonce(keyID: "tif:" + keyID, nonce: nonce, expires: expires) else {
            throw Refusal(.signatureReplayed, "this nonce was already used with this key")
        }
        return key.institution
    }

    private func signingKey(_ keyID: String, now: Instant) async throws -> (institution: Institution, secret: String)? {
        if let hit = signingKeys.withLock({ $0[keyID] }), hit.until > now { return (hit.institution, hit.secret) }
        guard let found = try await platform.institutionSigningKey(keyID: keyID) else { return nil }
        signingKeys.withLock { keys in
            if keys.count >= Authenticator.cacheEntriesMax { keys.removeAll() }
            keys[keyID] = (found.institution, found.secret, now.adding(seconds: Authenticator.cacheSeconds))
        }
        return found
    }

    private func resolve(_ token: String) async throws -> Caller {
        let now = platform.clock.now()
        let key = Secrets.sha256Hex(token)
        if let hit = cache.withLock({ $0[key] }), hit.until > now { return hit.caller }
        let caller: Caller?
        if token.hasPrefix("op_") {
            caller = try await platform.authenticateOperator(token: token).map(Caller.operator)
        } else if token.contains(".") {
            guard allowBearerInstitutionKeys else {
                throw Refusal(.unauthenticated, "institutions must sign requests (\(RequestSignature.scheme)); bearer keys are not accepted here")
            }
            caller = try await platform.authenticateInstitution(token: token).map(Caller.institution)
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
