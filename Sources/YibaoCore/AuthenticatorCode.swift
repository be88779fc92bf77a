import Crypto
import Foundation

/// The patient's authenticator app (TOTP, RFC 6238 with the apps' defaults: HMAC-SHA-1, 6 digits, 30
/// seconds). The key is the UTF-8 bytes of the stored secret; apps receive it base32-encoded, both in the
/// otpauth URI and as the key a user types in (`AuthenticatorCode.manualKey`).
public enum AuthenticatorCode {
    /// Seconds per step.
    public static let stepSeconds: Int64 = 30
    /// Digits of a code.
    public static let digits = 6

    /// A new secret: 32 characters from an alphabet without look-alikes.
    public static func newSecret() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var rng = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    /// The key as an authenticator app takes it by hand: base32 of the secret's bytes, no padding.
    public static func manualKey(_ secret: String) -> String { Base32.encode(Array(secret.utf8)) }

    /// The otpauth URI an app scans (its `secret` is `manualKey`).
    public static func otpauthURI(secret: String, label: String, issuer: String = "Yibao") -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let path = label.addingPercentEncoding(withAllowedCharacters: allowed.union(CharacterSet(charactersIn: ":"))) ?? label
        let issuerQuery = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? issuer
        return "otpauth://totp/\(path)?secret=\(manualKey(secret))&issuer=\(issuerQuery)&algorithm=SHA1&digits=\(digits)&period=\(stepSeconds)"
    }

    /// The step an instant falls in.
    public static func step(at instant: Instant) -> Int64 { instant.secondsSinceEpoch / stepSeconds }

    /// The code of a step.
    public static func code(secret: String, step: Int64) -> String {
        let mac = Array(
            HMAC<Insecure.SHA1>.authenticationCode(
                for: withUnsafeBytes(of: UInt64(step).bigEndian) { Array($0) }, using: SymmetricKey(data: Array(secret.utf8))))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let value = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        let code = String(value % 1_000_000)
        return String(repeating: "0", count: digits - code.count) + code
    }

    /// The step a code matches — the current one or the one before (a phone's clock may lag) — never a
    /// step at or before `lastStep`: a code is accepted once. Nil otherwise.
    public static func match(secret: String, code: String, at instant: Instant, after lastStep: Int64) -> Int64? {
        guard code.count == digits, code.allSatisfy(\.isASCIIDigit) else { return nil }
        let current = step(at: instant)
        for candidate in [current, current - 1] where candidate > lastStep {
            if Secrets.constantTimeEquals(Self.code(secret: secret, step: candidate), code) { return candidate }
        }
        return nil
    }
}
