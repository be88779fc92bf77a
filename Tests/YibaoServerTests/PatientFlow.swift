import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

/// A demo patient going through the phone flows over HTTP: register with the SMS code, sign in with
/// the authenticator code, enrol a device, bind the demo card.
struct PatientFlow {
    /// 张伟: Guangzhou employee, first row of the demo people.
    static let person = "P440100000001"
    static let phone = "13800100001"
    static let password = "correct horse 42"

    let token: String
    let totpSecret: String
    let deviceID: String
    let deviceNumber: String
    let deviceSecret: [UInt8]

    /// Runs the whole flow for a demo person and returns what the phone keeps.
    static func signUp(
        _ client: some TestClientProtocol, _ harness: ServerHarness, person: String = person, phone: String = phone, cardIndex: Int = 0,
        bindCard: Bool = true
    ) async throws -> PatientFlow {
        let idNumber = try #require(try await harness.platform.person(number: person)?.idNumber)
        let requested = try await client.send(
            .post, "/v1/patient/registration/sms", json: #"{"id_number":"\#(idNumber)","person_number":"\#(person)","phone":"\#(phone)"}"#
        )
        #expect(requested.status == .accepted, "\(requested.text)")
        let sms = try #require(harness.messages.messages(to: phone).last?.text)
        let code = String(sms.split(whereSeparator: { !$0.isASCIIDigit }).first { $0.count == 6 } ?? "")
        let registered = try await client.send(
            .post, "/v1/patient/registration",
            json: #"{"id_number":"\#(idNumber)","person_number":"\#(person)","phone":"\#(phone)","sms_code":"\#(code)","password":"\#(password)"}"#
        )
        #expect(registered.status == .created, "\(registered.text)")
        let secret = try #require(registered.object["totp_secret"] as? String)
        let signedIn = try await client.send(
            .post, "/v1/patient/sessions",
            json: #"{"phone":"\#(phone)","password":"\#(password)","totp_code":"\#(totp(secret, harness))"}"#
        )
        #expect(signedIn.status == .created, "\(signedIn.text)")
        let token = try #require(signedIn.object["token"] as? String)
        // A new device needs the second factor: the sign-in proved it a moment ago, so no new code (a code
        // is accepted once, and the sign-in used this step's).
        let device = try await client.send(.post, "/v1/patient/devices", token: token, json: #"{"name":"手机"}"#)
        #expect(device.status == .created, "\(device.text)")
        if bindCard {
            let card = try await client.send(
                .post, "/v1/patient/funding-sources", token: token,
                json: #"{"card_number":"\#(DemoData.cardNumber(cardIndex))"}"#
            )
            #expect(card.status == .created, "\(card.text)")
        }
        return PatientFlow(
            token: token, totpSecret: secret, deviceID: try #require(device.object["device_id"] as? String),
            deviceNumber: try #require(device.object["device_number"] as? String),
            deviceSecret: try #require(Base32.decode(device.object["secret"] as? String ?? ""))
        )
    }

    /// The authenticator app's current code for the base32 key the registration returned.
    static func totp(_ key: String, _ harness: ServerHarness, offsetSeconds: Int64 = 0) -> String {
        HOTPForTests.code(key: key, counter: UInt64((harness.clock.now().secondsSinceEpoch + offsetSeconds) / 30))
    }

    /// The code the phone shows now, computed offline from the provisioned secret.
    func code(_ harness: ServerHarness, offsetSeconds: Int64 = 0) -> String {
        VoucherCode.make(secret: deviceSecret, deviceNumber: deviceNumber, at: harness.clock.now().adding(seconds: offsetSeconds))
    }
}

/// RFC 4226 HOTP with SHA-1, as authenticator apps compute it (independent of the server's code).
enum HOTPForTests {
    /// The code of a base32 key, as an app that was given the key by hand computes it.
    static func code(key base32: String, counter: UInt64) -> String {
        let key = Base32.decode(base32) ?? []
        let mac = HMACSHA1.authenticate(message: withUnsafeBytes(of: counter.bigEndian) { Array($0) }, key: key)
        let offset = Int(mac[19] & 0x0F)
        let value = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16) | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        return String(format: "%06d", value % 1_000_000)
    }
}

/// A small SHA-1 HMAC for the test's independent authenticator (RFC 2104 / FIPS 180-4).
enum HMACSHA1 {
    static func authenticate(message: [UInt8], key: [UInt8]) -> [UInt8] {
        var key = key.count > 64 ? sha1(key) : key
        key += Array(repeating: 0, count: 64 - key.count)
        return sha1(key.map { $0 ^ 0x5C } + sha1(key.map { $0 ^ 0x36 } + message))
    }

    static func sha1(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var data = message + [0x80]
        while data.count % 64 != 56 { data.append(0) }
        data += withUnsafeBytes(of: (UInt64(message.count) * 8).bigEndian) { Array($0) }
        for chunk in stride(from: 0, to: data.count, by: 64) {
            var w = (0..<16).map { i in (0..<4).reduce(UInt32(0)) { ($0 << 8) | UInt32(data[chunk + i * 4 + $1]) } }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w.append((x << 1) | (x >> 31))
            }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32) =
                    i < 20
                    ? ((b & c) | (~b & d), 0x5A82_7999)
                    : i < 40
                        ? (b ^ c ^ d, 0x6ED9_EBA1)
                        : i < 60 ? ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC) : (b ^ c ^ d, 0xCA62_C1D6)
                let temp = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, (b << 30) | (b >> 2), a, temp)
            }
            h = [h[0] &+ a, h[1] &+ b, h[2] &+ c, h[3] &+ d, h[4] &+ e]
        }
        return h.flatMap { value in (0..<4).map { UInt8((value >> (24 - 8 * $0)) & 0xFF) } }
    }
}
