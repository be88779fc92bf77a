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
        return matches("null")
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

    /// An array whose elements `element` reads, or nil when `element` gives up on one.
    mutating func elements<Element>(_ element: (inout CanonicalJSONReader) -> Element?) -> [Element]? {
        guard take(0x5B) else { return nil }
        var elements: [Element] = []
        if take(0x5D) { return elements }
        repeat {
            guard let next = element(&self) else { return nil }
            elements.append(next)
        } while take(0x2C)
        return take(0x5D) ? elements : nil
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
        let end = position + literal.utf8CodeUnitCount
        guard end <= bytes.count, UnsafeRawBufferPointer(rebasing: bytes[position..<end]).equals(literal) else { return false }
        position = end
        return true
    }

    /// An integer written as JSON writes one (`-?(0|[1-9][0-9]*)`), of at most 18 digits.
    mutating func integer() -> Int64? {
        guard let (end, integral) = scanNumber(), integral, end - position <= (bytes[position] == 0x2D ? 19 : 18) else { return nil }
        let negative = bytes[position] == 0x2D
        var value: Int64 = 0
        for offset in (negative ? position + 1 : position)..<end { value = value * 10 + Int64(bytes[offset] - 0x30) }
        position = end
        return negative ? -value : value
    }

    /// A number as JSON's grammar writes one, read as the nearest `Double`, as `JSONDecoder` reads it.
    mutating func number() -> Double? {
        guard let (end, _) = scanNumber(), end - position <= 40,
            let value = Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)), value.isFinite
        else { return nil }
        position = end
        return value
    }

    /// Skips whitespace, then finds the end of the number that starts there in JSON's grammar
    /// (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`) and whether it is an integer; nil when what
    /// follows is not one, or runs on past the grammar (`01`, `1.`, `1e`).
    private mutating func scanNumber() -> (end: Int, integral: Bool)? {
        skipWhitespace()
        var cursor = position
        func digits() -> Int {
            let from = cursor
            while cursor < bytes.count, (0x30...0x39).contains(bytes[cursor]) { cursor += 1 }
            return cursor - from
        }
        func at(_ candidates: UInt8...) -> Bool { cursor < bytes.count && candidates.contains(bytes[cursor]) }
        if at(0x2D) { cursor += 1 }
        let whole = cursor
        guard digits() > 0, !(bytes[whole] == 0x30 && cursor - whole > 1) else { return nil }
        var integral = true
        if at(0x2E) {
            cursor += 1
            integral = false
            guard digits() > 0 else { return nil }
        }
        if at(0x65, 0x45) {
            cursor += 1
            integral = false
            if at(0x2B, 0x2D) { cursor += 1 }
            guard digits() > 0 else { return nil }
        }
        guard !at(0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x2E, 0x65, 0x45, 0x2B, 0x2D) else { return nil }
        return (cursor, integral)
    }
}

/// One field of a body being read: each key may come once, and an optional field may be `null` (read
/// as absent).
struct CanonicalField<Value> {
    private(set) var value: Value?
    private var seen = false

    /// Reads the field's value with `read`; false (give up) for a key seen before or a value `read` does
    /// not answer.
    mutating func read(
        _ reader: inout CanonicalJSONReader, nullable: Bool = false, _ read: (inout CanonicalJSONReader) -> Value?
    ) -> Bool {
        guard !seen else { return false }
        seen = true
        if nullable && reader.null() { return true }
        value = read(&reader)
        return value != nil
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
        var code = CanonicalField<String>()
        var category = CanonicalField<MedicalCategory>()
        var number = CanonicalField<String>()
        var lines = CanonicalField<[FeeLine]>()
        var useAccount = CanonicalField<Bool>()
        var forPerson = CanonicalField<String>()
        let read = reader.object { reader, key in
            if key.equals("code") { return code.read(&reader) { $0.string() } }
            if key.equals("category") { return category.read(&reader) { $0.string().flatMap(MedicalCategory.init(rawValue:)) } }
            if key.equals("hospital_visit_number") { return number.read(&reader) { $0.string() } }
            if key.equals("use_account") { return useAccount.read(&reader, nullable: true) { $0.bool() } }
            if key.equals("for_person_number") { return forPerson.read(&reader, nullable: true) { $0.string() } }
            if key.equals("lines") { return lines.read(&reader, nullable: true) { $0.elements(FeeLine.read(canonical:)) } }
            return false
        }
        guard read, let code = code.value, let category = category.value, let number = number.value else { return nil }
        var request = CodeVisitRequest(
            code: code, category: category, hospitalVisitNumber: number, lines: lines.value, useAccount: useAccount.value)
        request.forPersonNumber = forPerson.value
        return request
    }
}

extension FeeLine {
    static func read(canonical reader: inout CanonicalJSONReader) -> FeeLine? {
        var number = CanonicalField<String>()
        var item = CanonicalField<String>()
        var hospitalItem = CanonicalField<String>()
        var price = CanonicalField<Int64>()
        var quantity = CanonicalField<Quantity>()
        var batch = CanonicalField<String>()
        var dosage = CanonicalField<Never>()
        let read = reader.object { reader, key in
            if key.equals("line_number") { return number.read(&reader) { $0.string() } }
            if key.equals("item_code") { return item.read(&reader) { $0.string() } }
            if key.equals("unit_price") { return price.read(&reader) { $0.integer() } }
            if key.equals("quantity") { return quantity.read(&reader) { $0.number().flatMap(Quantity.init(decimal:)) } }
            if key.equals("hospital_item_code") { return hospitalItem.read(&reader, nullable: true) { $0.string() } }
            if key.equals("charge_batch") { return batch.read(&reader, nullable: true) { $0.string() } }
            // Absent or null only; a dosage goes to JSONDecoder.
            if key.equals("dosage") { return dosage.read(&reader, nullable: true) { _ in nil } }
            return false
        }
        guard read, let number = number.value, let item = item.value, let price = price.value, let quantity = quantity.value else { return nil }
        return FeeLine(
            lineNumber: number, itemCode: item, hospitalItemCode: hospitalItem.value, unitPrice: Money(fen: price), quantity: quantity,
            chargeBatch: batch.value)
    }
}
