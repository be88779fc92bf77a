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
