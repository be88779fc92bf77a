import Foundation
import NIOCore
import YibaoApp
import YibaoCore

/// A request body that can also be read by a strict reader of the one shape clients send it in, before
/// Foundation's `JSONDecoder` is asked (`JSONBody.decode`). The reader answers nil for anything outside
/// that shape — an unknown or repeated key, an escape in a string, a number written another way, a part
/// it does not read — and the body then goes to `JSONDecoder`, which decides it and words any refusal.
/// So the reader never refuses and never accepts what `JSONDecoder` would not: where it answers, the
/// answer is the value `JSONDecoder` gives for the same bytes (`CanonicalJSONTests` checks this on
/// random and mutated bodies).
protocol CanonicallyReadable {
    /// The value, or nil when the body is not in the shape this reader knows.
    static func read(canonical reader: inout CanonicalJSONReader) -> Self?
}

/// A strict pull reader over a JSON body's bytes, for `CanonicallyReadable`. Every method answers nil
/// (or false) at the first byte it does not expect, leaving the caller to give up.
struct CanonicalJSONReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// `T` read from the whole of `buffer` (nothing but whitespace may follow it), or nil.
    static func read<T: CanonicallyReadable>(_ type: T.Type, from buffer: ByteBuffer) -> T? {
        buffer.withUnsafeReadableBytes { bytes in
            var reader = CanonicalJSONReader(bytes)
            guard let value = T.read(canonical: &reader) else { return nil }
            reader.skipWhitespace()
            return reader.position == bytes.count ? value : nil
        }
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Consumes `byte` after any whitespace.
    private mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Consumes the literal `null` if it comes next.
    mutating func null() -> Bool {
        skipWhitespace()
        guard position + 4 <= bytes.count, bytes[position] == 0x6E, bytes[position + 1] == 0x75, bytes[position + 2] == 0x6C,
            bytes[position + 3] == 0x6C
        else { return false }
        position += 4
        return true
    }

    /// An object: `field` is called with each key's bytes and must read its value, answering false to
    /// give up. Answers false for anything but a well-formed object.
    mutating func object(_ field: (inout CanonicalJSONReader, UnsafeRawBufferPointer) -> Bool) -> Bool {
        guard take(0x7B) else { return false }
        if take(0x7D) { return true }
        repeat {
            skipWhitespace()
            guard let key = rawString(), take(0x3A), field(&self, key) else { return false }
        } while take(0x2C)
        return take(0x7D)
    }

    /// An array whose elements `element` reads, answering false to give up.
    mutating func array(_ element: (inout CanonicalJSONReader) -> Bool) -> Bool {
        guard take(0x5B) else { return false }
        if take(0x5D) { return true }
        repeat {
            guard element(&self) else { return false }
        } while take(0x2C)
        return take(0x5D)
    }

    /// A string without escapes or control characters, in valid UTF-8.
    mutating func string() -> String? {
        skipWhitespace()
        guard let raw = rawString() else { return nil }
        return String(validating: raw, as: UTF8.self)
    }

    /// The bytes between a string's quotes; nil for an escape, a control character or no closing quote.
    private mutating func rawString() -> UnsafeRawBufferPointer? {
        guard position < bytes.count, bytes[position] == 0x22 else { return nil }
        let start = position + 1
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == 0x22 {
                position = end + 1
                return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            }
            if byte == 0x5C || byte < 0x20 { return nil }
            end += 1
        }
        return nil
    }

    /// `true` or `false`.
    mutating func bool() -> Bool? {
        skipWhitespace()
        if matches("true") { return true }
        if matches("false") { return false }
        return nil
    }

    private mutating func matches(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[position + offset] != literal.utf8Start[offset] { return false }
        position += count
        return true
    }

    /// An integer written as JSON writes one (`-?(0|[1-9][0-9]*)`), of at most 18 digits.
    mutating func integer() -> Int64? {
        skipWhitespace()
        var cursor = position
        let negative = cursor < bytes.count && bytes[cursor] == 0x2D
        if negative { cursor += 1 }
        let first = cursor
        var value: Int64 = 0
        while cursor < bytes.count, (0x30...0x39).contains(bytes[cursor]), cursor - first < 18 {
            value = value * 10 + Int64(bytes[cursor] - 0x30)
            cursor += 1
        }
        guard cursor > first, !(bytes[first] == 0x30 && cursor - first > 1), !continuesNumber(at: cursor) else { return nil }
        position = cursor
        return negative ? -value : value
    }

    /// A number as JSON's grammar writes one (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`), read as
    /// the nearest `Double`, as `JSONDecoder` reads it.
    mutating func number() -> Double? {
        skipWhitespace()
        let start = position
        var cursor = position
        func digits() -> Int {
            let from = cursor
            while cursor < bytes.count, (0x30...0x39).contains(bytes[cursor]) { cursor += 1 }
            return cursor - from
        }
        if cursor < bytes.count, bytes[cursor] == 0x2D { cursor += 1 }
        let whole = cursor
        guard digits() > 0, !(bytes[whole] == 0x30 && cursor - whole > 1) else { return nil }
        if cursor < bytes.count, bytes[cursor] == 0x2E {
            cursor += 1
            guard digits() > 0 else { return nil }
        }
        if cursor < bytes.count, bytes[cursor] == 0x65 || bytes[cursor] == 0x45 {
            cursor += 1
            if cursor < bytes.count, bytes[cursor] == 0x2B || bytes[cursor] == 0x2D { cursor += 1 }
            guard digits() > 0 else { return nil }
        }
        guard cursor - start <= 40, !continuesNumber(at: cursor),
            let value = Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<cursor]), as: UTF8.self)), value.isFinite
        else { return nil }
        position = cursor
        return value
    }

    /// Whether the byte at `cursor` would continue a number (so what was read is not all of it).
    private func continuesNumber(at cursor: Int) -> Bool {
        guard cursor < bytes.count else { return false }
        switch bytes[cursor] {
        case 0x30...0x39, 0x2E, 0x65, 0x45, 0x2B, 0x2D: return true
        default: return false
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes are `key`'s UTF-8.
    func equals(_ key: StaticString) -> Bool {
        guard count == key.utf8CodeUnitCount else { return false }
        for offset in 0..<count where self[offset] != key.utf8Start[offset] { return false }
        return true
    }
}

extension CodeVisitRequest: CanonicallyReadable {
    /// `{"code": …, "category": …, "hospital_visit_number": …, "use_account": …, "for_person_number": …,
    /// "lines": [{"line_number": …, "item_code": …, "hospital_item_code": …, "unit_price": …,
    /// "quantity": …, "charge_batch": …}]}`, in any order, optional fields absent or null. A line with a
    /// dosage is left to `JSONDecoder`.
    static func read(canonical reader: inout CanonicalJSONReader) -> CodeVisitRequest? {
        var code: String?
        var category: MedicalCategory?
        var number: String?
        var lines: [FeeLine]?
        var linesSeen = false
        var useAccount: Bool?
        var useAccountSeen = false
        var forPerson: String?
        var forPersonSeen = false
        let read = reader.object { reader, key in
            if key.equals("code") {
                guard code == nil, let value = reader.string() else { return false }
                code = value
            } else if key.equals("category") {
                guard category == nil, let value = reader.string().flatMap(MedicalCategory.init(rawValue:)) else { return false }
                category = value
            } else if key.equals("hospital_visit_number") {
                guard number == nil, let value = reader.string() else { return false }
                number = value
            } else if key.equals("use_account") {
                guard !useAccountSeen else { return false }
                useAccountSeen = true
                if reader.null() { return true }
                guard let value = reader.bool() else { return false }
                useAccount = value
            } else if key.equals("for_person_number") {
                guard !forPersonSeen else { return false }
                forPersonSeen = true
                if reader.null() { return true }
                guard let value = reader.string() else { return false }
                forPerson = value
            } else if key.equals("lines") {
                guard !linesSeen else { return false }
                linesSeen = true
                if reader.null() { return true }
                var read: [FeeLine] = []
                guard
                    reader.array({ reader in
                        guard let line = FeeLine.read(canonical: &reader) else { return false }
                        read.append(line)
                        return true
                    })
                else { return false }
                lines = read
            } else {
                return false
            }
            return true
        }
        guard read, let code, let category, let number else { return nil }
        var request = CodeVisitRequest(code: code, category: category, hospitalVisitNumber: number, lines: lines, useAccount: useAccount)
        request.forPersonNumber = forPerson
        return request
    }
}

extension FeeLine {
    static func read(canonical reader: inout CanonicalJSONReader) -> FeeLine? {
        var number: String?
        var item: String?
        var hospitalItem: String?
        var hospitalItemSeen = false
        var price: Int64?
        var quantity: Quantity?
        var batch: String?
        var batchSeen = false
        var dosageSeen = false
        let read = reader.object { reader, key in
            if key.equals("line_number") {
                guard number == nil, let value = reader.string() else { return false }
                number = value
            } else if key.equals("item_code") {
                guard item == nil, let value = reader.string() else { return false }
                item = value
            } else if key.equals("unit_price") {
                guard price == nil, let value = reader.integer() else { return false }
                price = value
            } else if key.equals("quantity") {
                guard quantity == nil, let value = reader.number().flatMap(Quantity.init(decimal:)) else { return false }
                quantity = value
            } else if key.equals("hospital_item_code") {
                guard !hospitalItemSeen else { return false }
                hospitalItemSeen = true
                if reader.null() { return true }
                guard let value = reader.string() else { return false }
                hospitalItem = value
            } else if key.equals("charge_batch") {
                guard !batchSeen else { return false }
                batchSeen = true
                if reader.null() { return true }
                guard let value = reader.string() else { return false }
                batch = value
            } else if key.equals("dosage") {
                // Absent or null only; a dosage goes to JSONDecoder.
                guard !dosageSeen else { return false }
                dosageSeen = true
                return reader.null()
            } else {
                return false
            }
            return true
        }
        guard read, let number, let item, let price, let quantity else { return nil }
        return FeeLine(
            lineNumber: number, itemCode: item, hospitalItemCode: hospitalItem, unitPrice: Money(fen: price), quantity: quantity, chargeBatch: batch)
    }
}
