import Crypto
import Foundation

/// How an institution's system signs each request (docs/api.md#signed-requests):
///
///     Authorization: YIBAO-HMAC-SHA256 Credential=<key id>, Timestamp=<unix seconds>, Nonce=<16-64 chars>, Signature=<hex>
///
///     string to sign = "YIBAO-HMAC-SHA256\n" + METHOD + "\n" + path-and-query as sent + "\n" + timestamp + "\n"
///                      + nonce + "\n" + hex(SHA-256(body))
///     signature      = hex(HMAC-SHA256(key secret, string to sign))
///
/// The platform refuses a signature that does not verify, a timestamp more than five minutes away
/// from its clock, and a nonce it has seen from the same key.
public enum RequestSignature {
    /// The scheme name.
    public static let scheme = "YIBAO-HMAC-SHA256"
    /// How far a timestamp may be from the platform's clock.
    public static let windowSeconds: Int64 = 300

    /// A parsed `Authorization` header.
    public struct Header: Sendable, Hashable {
        /// The key id.
        public var keyID: String
        /// Unix seconds.
        public var timestamp: Int64
        /// A random value used once.
        public var nonce: String
        /// Lower-case hex.
        public var signature: String
    }

    /// The string a signature covers.
    public static func stringToSign(method: String, pathAndQuery: String, timestamp: Int64, nonce: String, body: some DataProtocol) -> String {
        [scheme, method.uppercased(), pathAndQuery, String(timestamp), nonce, Secrets.sha256Hex(body)].joined(separator: "\n")
    }

    /// The signature of a request.
    public static func signature(
        secret: String, method: String, pathAndQuery: String, timestamp: Int64, nonce: String, body: some DataProtocol
    ) -> String {
        let text = stringToSign(method: method, pathAndQuery: pathAndQuery, timestamp: timestamp, nonce: nonce, body: body)
        return Secrets.hex(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: Data(secret.utf8))))
    }

    /// The `Authorization` header value for a request (what a client sends).
    public static func authorization(
        keyID: String, secret: String, method: String, pathAndQuery: String, timestamp: Int64, nonce: String, body: some DataProtocol
    ) -> String {
        let signature = signature(secret: secret, method: method, pathAndQuery: pathAndQuery, timestamp: timestamp, nonce: nonce, body: body)
        return "\(scheme) Credential=\(keyID), Timestamp=\(timestamp), Nonce=\(nonce), Signature=\(signature)"
    }

    /// Parses an `Authorization` header of this scheme; nil when malformed.
    public static func parse(_ header: String) -> Header? {
        guard header.hasPrefix(scheme + " ") else { return nil }
        var fields: [String: String] = [:]
        for part in header.dropFirst(scheme.count + 1).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return nil }
            fields[String(pair[0])] = String(pair[1])
        }
        guard let keyID = fields["Credential"], !keyID.isEmpty, keyID.count < 100, let timestampText = fields["Timestamp"],
            let timestamp = Int64(timestampText), let nonce = fields["Nonce"], (16...64).contains(nonce.count),
            nonce.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }), let signature = fields["Signature"],
            signature.count == 64, signature.allSatisfy(\.isHexDigit)
        else { return nil }
        return Header(keyID: keyID, timestamp: timestamp, nonce: nonce, signature: signature.lowercased())
    }
}
