import ArgumentParser
import Foundation
import YibaoCore
import YibaoServer

/// `yibao totp SECRET`: what an authenticator app shows for a secret (demos, support).
struct TOTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "totp", abstract: "Print the current authenticator (TOTP) code of a secret.")

    @Argument(help: "The totp_secret returned at registration.")
    var secret: String

    func run() {
        print(PhoneSimulator.totp(secret: secret, at: SystemClock().now()))
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
