import ArgumentParser
import Foundation
import YibaoCore
import YibaoServer

/// `yibao totp KEY`: what an authenticator app shows for a key (demos, support).
struct TOTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "totp", abstract: "Print the current authenticator (TOTP) code of a key.")

    @Argument(help: "The totp_secret returned at registration: the base32 key an authenticator app takes by hand.")
    var key: String

    @Flag(help: "Wait for the next 30-second step first (a code is accepted once, so a second action needs the next one).")
    var next = false

    func run() throws {
        guard let bytes = Base32.decode(key), !bytes.isEmpty, let secret = String(bytes: bytes, encoding: .utf8) else {
            throw ValidationError("the key is base32, as the registration answer's totp_secret")
        }
        var now = SystemClock().now()
        if next {
            let wait = AuthenticatorCode.stepSeconds - now.secondsSinceEpoch % AuthenticatorCode.stepSeconds
            Thread.sleep(forTimeInterval: Double(wait) + 0.2)
            now = SystemClock().now()
        }
        print(AuthenticatorCode.code(secret: secret, step: AuthenticatorCode.step(at: now)))
    }
}

/// `yibao code`: the e-voucher code a phone shows, computed offline exactly as the phone does.
struct CodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "code", abstract: "Print the e-voucher code a phone shows now, computed offline from its device number and secret."
    )

    @Option(help: "The device_number returned at device enrolment.")
    var deviceNumber: String

    @Option(help: "The secret (base32) returned at device enrolment.")
    var secret: String

    func run() throws {
        guard let bytes = Base32.decode(secret), deviceNumber.count == VoucherCode.deviceNumberDigits, deviceNumber.allSatisfy(\.isASCIIDigit) else {
            throw ValidationError("the device number has 10 digits and the secret is base32")
        }
        print(VoucherCode.make(secret: bytes, deviceNumber: deviceNumber, at: SystemClock().now()))
    }
}
