/// A value whose JSON is written by hand, field by field, instead of through `Codable` and Foundation's
/// `JSONEncoder`: the settlement record, which every settlement encodes twice (its stored document and
/// the HTTP answer) and which Foundation's encoder made about a fifth of the server's CPU time per
/// settlement (docs/performance.md). The bytes are the same as `YibaoJSON.encode` (the API form:
/// snake_case keys, sorted) and as `YibaoJSON.storageString` (the stored form: Swift's key names) —
/// `JSONWriterTests` compares them with Foundation's for records with every optional field set, so a
/// field added to a type and not to its `write(to:)` fails a test.
public protocol JSONWritable {
    /// Writes the value. Objects write their fields in the order of their API keys (sorted).
    func write(to json: inout JSONWriter)
}

/// Writes JSON into bytes, in one of Yibao's two key styles.
public struct JSONWriter {
    /// Which names keys get.
    public enum Keys: Sendable {
        /// The API form: snake_case (what `JSONEncoder.KeyEncodingStrategy.convertToSnakeCase` makes).
        case api
        /// The stored form: Swift's property names (or the type's own coding keys).
        case storage
    }

    /// The key style.
    public let keys: Keys
    /// What has been written.
    public private(set) var bytes: [UInt8] = []
    private var first = true

    /// A writer for a key style.
    public init(keys: Keys, capacity: Int = 4096) {
        self.keys = keys
        bytes.reserveCapacity(capacity)
    }

    /// The bytes of a value.
    public static func bytes(_ value: some JSONWritable, keys: Keys) -> [UInt8] {
        var writer = JSONWriter(keys: keys)
        value.write(to: &writer)
        return writer.bytes
    }

    // MARK: Structure

    /// Writes an object whose fields `body` writes.
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        let outer = first
        first = true
        body(&self)
        first = outer
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes an array of values.
    public mutating func array<Element: JSONWritable>(_ elements: [Element]) {
        bytes.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            element.write(to: &self)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes a key (its API or its stored name) and the colon after it.
    public mutating func key(_ api: StaticString, _ storage: StaticString) {
        if first { first = false } else { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        let name = keys == .api ? api : storage
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes a key that is data (a dictionary's key), the same in both styles, and the colon after it.
    public mutating func dynamicKey(_ name: String) {
        if first { first = false } else { bytes.append(UInt8(ascii: ",")) }
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes a field whose API and stored names are the same (one word).
    public mutating func field(_ name: StaticString, _ value: some JSONWritable) {
        key(name, name)
        value.write(to: &self)
    }

    /// Writes a field.
    public mutating func field(_ api: StaticString, _ storage: StaticString, _ value: some JSONWritable) {
        key(api, storage)
        value.write(to: &self)
    }

    /// Writes a field unless the value is nil (as `Codable`'s `encodeIfPresent` leaves the key out).
    public mutating func field(_ name: StaticString, _ value: (some JSONWritable)?) {
        guard let value else { return }
        field(name, name, value)
    }

    /// Writes a field unless the value is nil (as `Codable`'s `encodeIfPresent` leaves the key out).
    public mutating func field(_ api: StaticString, _ storage: StaticString, _ value: (some JSONWritable)?) {
        guard let value else { return }
        field(api, storage, value)
    }

    // MARK: Scalars

    /// Writes an integer.
    public mutating func integer(_ value: Int64) {
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = bytes.count
        while magnitude > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        bytes[start...].reverse()
    }

    /// Writes a string, escaped as Foundation's `JSONEncoder` escapes it with `.withoutEscapingSlashes`.
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [
                        UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), JSONWriter.hex(byte >> 4), JSONWriter.hex(byte & 0xF),
                    ])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func hex(_ digit: UInt8) -> UInt8 { digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10 }

    /// Writes a number as Foundation writes a `Double` (the shortest form that reads back the same; no
    /// `.0` on a whole number).
    public mutating func double(_ value: Double) {
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
    }
}

// MARK: Scalars and containers

extension String: JSONWritable {
    public func write(to json: inout JSONWriter) { json.string(self) }
}

extension Int: JSONWritable {
    public func write(to json: inout JSONWriter) { json.integer(Int64(self)) }
}

extension Int64: JSONWritable {
    public func write(to json: inout JSONWriter) { json.integer(self) }
}

extension Array: JSONWritable where Element: JSONWritable {
    public func write(to json: inout JSONWriter) { json.array(self) }
}

extension JSONWritable where Self: RawRepresentable, RawValue == String {
    /// An enumeration is its raw value.
    public func write(to json: inout JSONWriter) { json.string(rawValue) }
}
