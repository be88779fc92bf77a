import Foundation
import HummingbirdBcrypt
import HummingbirdOTP
import NIOPosix
import YibaoCore
import YibaoStore

/// Passwords (bcrypt, off the request threads) and second factors (TOTP, RFC 6238, with the
/// authenticator-app defaults: SHA-1, 6 digits, 30 seconds).
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

    /// A new TOTP secret (32 characters; apps receive it base32-encoded in the otpauth URI).
    static func newTOTPSecret() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var rng = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    /// The otpauth URI for an authenticator app.
    static func otpauthURI(secret: String, label: String) -> String {
        TOTP(secret: secret).createAuthenticatorURL(label: label, issuer: "Yibao")
    }

    /// The TOTP step a code matches (the current one or the one before), or nil; never a step at or
    /// before `lastStep` (a TOTP code is accepted once).
    static func matchTOTP(secret: String, code: String, now: Instant, after lastStep: Int64) -> Int64? {
        guard code.count == 6, let value = Int(code) else { return nil }
        let step = now.secondsSinceEpoch / 30
        for candidate in [step, step - 1] where candidate > lastStep {
            if HOTP(secret: secret).compute(counter: UInt64(candidate)) == value { return candidate }
        }
        return nil
    }

    /// The current TOTP code of a secret (for tests, demos and the `yibao totp` helper).
    static func totp(secret: String, at instant: Instant) -> String {
        String(format: "%06d", HOTP(secret: secret).compute(counter: UInt64(instant.secondsSinceEpoch / 30)))
    }
}
