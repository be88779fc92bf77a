import Crypto
import Foundation

/// The dynamic medical-insurance e-voucher code (医保电子凭证动态码) a patient's phone shows at the counter.
///
/// It carries no personal data: a random device number and a time-based one-time password derived from
/// the device's secret (provisioned once at enrolment), so a phone produces it **offline**. Only the
/// platform, which holds the secret, can verify it. docs/e-voucher-code.md specifies it for app teams:
///
///     code   = "88" ‖ device number (10 digits) ‖ OTP (8 digits) ‖ Luhn check digit  — 21 digits
///     step   = ⌊unix seconds / 30⌋
///     mac    = HMAC-SHA256(secret, "YIBAO-EVC-1|" ‖ device number ‖ "|" ‖ step as 8 bytes big-endian)
///     OTP    = (RFC 4226 dynamic truncation of mac) mod 10⁸, zero-padded to 8 digits
///
/// The platform accepts the current step and the one before (one step of clock skew), so a code lives
/// at most 60 seconds; each (device, step) is accepted once.
public enum VoucherCode {
    /// The prefix of every Yibao e-voucher code.
    public static let prefix = "88"
    /// Seconds per step.
    public static let stepSeconds: Int64 = 30
    /// Digits of a device number.
    public static let deviceNumberDigits = 10
    /// Digits of the one-time password.
    public static let otpDigits = 8
    /// The code's length.
    public static let length = 2 + deviceNumberDigits + otpDigits + 1
    /// Steps before the current one that are still accepted.
    public static let stepsAccepted: Int64 = 1
    /// How far back an old code is recognised as expired (rather than invalid): ten minutes.
    public static let expiredLookbackSteps: Int64 = 20

    /// A syntactically valid code split into its parts.
    public struct Parsed: Sendable, Hashable {
        /// The device number.
        public let deviceNumber: String
        /// The one-time password.
        public let otp: String
    }

    /// The step of an instant.
    public static func step(at instant: Instant) -> Int64 {
        let seconds = instant.millisecondsSinceEpoch / 1000
        return seconds >= 0 ? seconds / stepSeconds : (seconds - stepSeconds + 1) / stepSeconds
    }

    /// When a step's code stops being accepted.
    public static func expiry(ofStep step: Int64) -> Instant {
        Instant(secondsSinceEpoch: (step + stepsAccepted + 1) * stepSeconds)
    }

    /// The one-time password of a device for a step.
    public static func otp(secret: [UInt8], deviceNumber: String, step: Int64) -> String {
        otp(key: SymmetricKey(data: secret), deviceNumber: deviceNumber, step: step)
    }

    static func otp(key: SymmetricKey, deviceNumber: String, step: Int64) -> String {
        var message = Data("YIBAO-EVC-1|\(deviceNumber)|".utf8)
        withUnsafeBytes(of: UInt64(bitPattern: step).bigEndian) { message.append(contentsOf: $0) }
        let mac = Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let truncated =
            (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var text = String(truncated % 100_000_000)
        while text.count < otpDigits { text = "0" + text }
        return text
    }

    /// The code a device shows at an instant (what a phone computes offline).
    public static func make(secret: [UInt8], deviceNumber: String, at instant: Instant) -> String {
        precondition(deviceNumber.count == deviceNumberDigits && deviceNumber.allSatisfy(\.isASCIIDigit), "device number")
        let body = prefix + deviceNumber + otp(secret: secret, deviceNumber: deviceNumber, step: step(at: instant))
        return body + String(Luhn.checkDigit(body))
    }

    /// Splits a scanned code; nil when it is not a well-formed Yibao code (wrong length, prefix,
    /// characters or check digit) — a scanning error or a forgery.
    public static func parse(_ code: String) -> Parsed? {
        guard code.utf8.count == length, code.hasPrefix(prefix), code.allSatisfy(\.isASCIIDigit), Luhn.isValid(code) else { return nil }
        let digits = Array(code)
        return Parsed(
            deviceNumber: String(digits[2..<(2 + deviceNumberDigits)]),
            otp: String(digits[(2 + deviceNumberDigits)..<(2 + deviceNumberDigits + otpDigits)])
        )
    }

    /// What a code's password matches, checked in constant time per step.
    public enum Match: Sendable, Hashable {
        /// A current step (accept once).
        case current(step: Int64)
        /// An older step: the code has expired.
        case expired
        /// No step matches: forged or mistyped.
        case none
    }

    /// Matches a password against the device's secret at `now`. The accepted steps are tried first
    /// (two MACs: what almost every genuine code needs); only a password none of them matches is tried
    /// against the older steps, to tell an expired code from a wrong one. Within each group every step
    /// is computed and compared in constant time, so the time taken tells only what the answer tells.
    public static func match(_ parsed: Parsed, secret: [UInt8], now: Instant) -> Match {
        let current = step(at: now)
        let key = SymmetricKey(data: secret)
        func first(_ steps: StrideThrough<Int64>) -> Int64? {
            var found: Int64?
            for candidate in steps {
                let expected = otp(key: key, deviceNumber: parsed.deviceNumber, step: candidate)
                if Secrets.constantTimeEquals(expected, parsed.otp), found == nil { found = candidate }
            }
            return found
        }
        if let step = first(stride(from: current, through: current - stepsAccepted, by: -1)) { return .current(step: step) }
        return first(stride(from: current - stepsAccepted - 1, through: current - expiredLookbackSteps, by: -1)) == nil ? .none : .expired
    }
}

/// The Luhn (mod 10) check digit, which catches every single-digit scanning error.
public enum Luhn {
    /// The check digit for a string of digits.
    public static func checkDigit(_ digits: String) -> Int {
        var sum = 0
        for (index, character) in digits.reversed().enumerated() {
            var value = character.wholeNumberValue ?? 0
            if index % 2 == 0 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return (10 - sum % 10) % 10
    }

    /// True when the last digit is the check digit of the others.
    public static func isValid(_ digits: String) -> Bool {
        guard let last = digits.last?.wholeNumberValue, digits.count > 1 else { return false }
        return checkDigit(String(digits.dropLast())) == last
    }
}

/// RFC 4648 base 32 without padding: how device and TOTP secrets are handed to phones.
public enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// Encodes bytes.
    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes text (case-insensitive, padding ignored); nil on a character outside the alphabet.
    public static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var buffer = 0
        var bits = 0
        for character in text.uppercased().utf8 where character != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | value
            bits += 5
            if bits >= 8 {
                output.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return output
    }
}

extension Character {
    /// True for 0-9.
    public var isASCIIDigit: Bool { isASCII && isNumber }
}
