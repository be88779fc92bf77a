import Crypto
import Foundation
import Synchronization
import YibaoCore

#if canImport(Glibc)
import Glibc
#endif

/// Encrypts personal data (names, ID numbers, phone numbers, document references) at rest with
/// AES-256-GCM, and makes keyed lookup hashes so that exact-match queries still work without the
/// plaintext in the database.
///
/// Sealed values are `keyID:base64(nonce ‖ ciphertext ‖ tag)`, bound by the GCM additional data to
/// the table, column and row they belong to, so a ciphertext moved to another row does not open.
/// Old keys stay readable until `rotate-key` has re-encrypted every row under the current key.
public final class PersonalDataCipher: Sendable {
    /// The key material: data keys by id, which one encrypts new values, and the lookup key.
    public struct Keys: Sendable, Codable {
        /// Data keys (32 bytes, base64) by id.
        public var dataKeys: [String: String]
        /// The id of the data key new values are sealed with.
        public var current: String
        /// The key (32 bytes, base64) of the HMAC-SHA256 lookup hashes. It does not rotate with the
        /// data keys (rotating it would mean re-hashing every lookup column).
        public var lookupKey: String

        /// Fresh random keys with one data key.
        public static func generate(keyID: String = "k1") -> Keys {
            Keys(dataKeys: [keyID: PersonalDataCipher.randomKey()], current: keyID, lookupKey: PersonalDataCipher.randomKey())
        }

        /// These keys with a new current data key added.
        public func rotated() -> Keys {
            var next = 1
            while dataKeys["k\(next)"] != nil { next += 1 }
            var keys = self
            keys.dataKeys["k\(next)"] = PersonalDataCipher.randomKey()
            keys.current = "k\(next)"
            return keys
        }
    }

    /// Why a sealed value did not open. The message never contains the value.
    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// The value was sealed under a key this process does not have.
        case unknownKey(String)
        /// The value is damaged, or was moved from another row.
        case unreadable

        public var description: String {
            switch self {
            case .unknownKey(let id): return "personal data sealed under unknown key \(id)"
            case .unreadable: return "personal data unreadable (damaged, or moved from another row)"
            }
        }
    }

    private let state: Mutex<(keys: [String: SymmetricKey], current: String)>
    private let lookupKey: SymmetricKey
    private let reload: (@Sendable () -> Keys?)?

    /// Creates a cipher. `reload` is asked for fresh keys when a value sealed under an unknown key
    /// shows up (another instance rotated the key).
    public init(keys: Keys, reload: (@Sendable () -> Keys?)? = nil) throws {
        self.state = Mutex((try PersonalDataCipher.decode(keys), keys.current))
        guard let lookup = Data(base64Encoded: keys.lookupKey), lookup.count == 32 else {
            throw StoreError.configuration("the lookup key must be 32 bytes of base64")
        }
        self.lookupKey = SymmetricKey(data: lookup)
        self.reload = reload
    }

    /// The id of the key new values are sealed with.
    public var currentKeyID: String { state.withLock { $0.current } }

    /// Seals a value for one field of one row.
    public func seal(_ plaintext: String, field: String, row: String) -> String {
        let (id, key) = state.withLock { ($0.current, $0.keys[$0.current]!) }
        let box = try! AES.GCM.seal(Data(plaintext.utf8), using: key, authenticating: Data("\(field)|\(row)".utf8))
        return id + ":" + box.combined!.base64EncodedString()
    }

    /// Opens a sealed value of one field of one row.
    public func open(_ sealed: String, field: String, row: String) throws -> String {
        guard let colon = sealed.firstIndex(of: ":"), let data = Data(base64Encoded: String(sealed[sealed.index(after: colon)...])) else {
            throw Failure.unreadable
        }
        let id = String(sealed[..<colon])
        guard let key = key(id) else { throw Failure.unknownKey(id) }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plain = try AES.GCM.open(box, using: key, authenticating: Data("\(field)|\(row)".utf8))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw Failure.unreadable
        }
    }

    /// The key id a sealed value was sealed under.
    public static func keyID(of sealed: String) -> String? {
        sealed.firstIndex(of: ":").map { String(sealed[..<$0]) }
    }

    /// The lookup hash of a value for a purpose (`id_number`, `phone` …): hex HMAC-SHA256.
    public func lookup(_ value: String, purpose: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data((purpose + "|" + value).utf8), using: lookupKey)
        return Secrets.hex(mac)
    }

    /// Re-reads the keys (another process rotated them): new values are sealed under the new current key.
    public func refresh() {
        guard let fresh = reload?(), let decoded = try? PersonalDataCipher.decode(fresh) else { return }
        state.withLock { $0 = (decoded, fresh.current) }
    }

    /// The ids of the data keys this process holds.
    public var keyIDs: [String] { state.withLock { $0.keys.keys.sorted() } }

    private func key(_ id: String) -> SymmetricKey? {
        if let key = state.withLock({ $0.keys[id] }) { return key }
        guard let fresh = reload?(), let decoded = try? PersonalDataCipher.decode(fresh) else { return nil }
        state.withLock { $0 = (decoded, fresh.current) }
        return decoded[id]
    }

    private static func decode(_ keys: Keys) throws -> [String: SymmetricKey] {
        guard keys.dataKeys[keys.current] != nil else { throw StoreError.configuration("the current data key \(keys.current) is missing") }
        var decoded: [String: SymmetricKey] = [:]
        for (id, text) in keys.dataKeys {
            guard let data = Data(base64Encoded: text), data.count == 32 else {
                throw StoreError.configuration("data key \(id) must be 32 bytes of base64")
            }
            decoded[id] = SymmetricKey(data: data)
        }
        return decoded
    }

    static func randomKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Loads keys from a JSON file, creating the file with fresh keys (mode 0600) when `create` is set
    /// and it does not exist.
    public static func loadKeys(file: String, create: Bool) throws -> Keys {
        if !FileManager.default.fileExists(atPath: file) {
            guard create else { throw StoreError.configuration("no key file at \(file)") }
            let keys = Keys.generate()
            try writeKeys(keys, to: file)
            return keys
        }
        do {
            return try JSONDecoder().decode(Keys.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        } catch {
            throw StoreError.configuration("the key file \(file) is not readable: \(error)")
        }
    }

    /// Writes keys to a file with owner-only permissions, replacing it atomically.
    public static func writeKeys(_ keys: Keys, to file: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(keys)
        let temporary = file + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]),
            rename(temporary, file) == 0
        else { throw StoreError.configuration("cannot write the key file \(file)") }
    }
}
