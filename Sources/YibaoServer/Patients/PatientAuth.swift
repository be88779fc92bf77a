import Foundation
import HummingbirdBcrypt
import NIOPosix
import YibaoApp
import YibaoCore
import YibaoStore

/// Passwords: bcrypt, off the request threads. (The second factor is `AuthenticatorCode` in Core.)
struct PatientAuth: Sendable {
    /// bcrypt cost (12 in production; tests use less).
    let passwordCost: UInt8

    func hash(_ password: String) async throws -> String {
        let cost = passwordCost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}

extension PatientAuth {
    /// The one sign-in check of patients and staff: a locked account is refused with the wait; the
    /// password and the authenticator code are both checked; a failure is counted (`recordFailure`
    /// answers the lock's end when this failure locks the account). Returns the accepted code's step.
    func checkSignIn(
        password: String, hash: String, totpSecret: String, code: String?, lastStep: Int64, lockedUntil: Instant?, now: Instant,
        wrong: String, recordFailure: () async throws -> Instant?
    ) async throws -> Int64 {
        if let until = lockedUntil, until > now {
            let wait = Int((until.millisecondsSinceEpoch - now.millisecondsSinceEpoch) / 1000) + 1
            throw Refusal(.accountLocked, "too many failed sign-ins; try again in \(wait) seconds", retryAfterSeconds: wait)
        }
        let passwordOK = try await verify(password, hash: hash)
        guard passwordOK, let step = AuthenticatorCode.match(secret: totpSecret, code: code ?? "", at: now, after: lastStep) else {
            if let until = try await recordFailure() {
                let wait = Int((until.millisecondsSinceEpoch - now.millisecondsSinceEpoch) / 1000)
                throw Refusal(.accountLocked, "too many failed sign-ins; try again in \(wait) seconds", retryAfterSeconds: wait)
            }
            throw Refusal(.signInFailed, wrong)
        }
        return step
    }
}
