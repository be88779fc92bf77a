import Foundation

/// A small RFC 4180 CSV reader that keeps the line number where each record starts, so an import can
/// say "line 17: …" about a rejected row. Quoted fields may hold commas, quotes ("") and newlines.
public enum CSV {
    /// One record and the line it starts on (1-based, counting the header as line 1).
    public struct Record: Sendable, Hashable {
        /// The line number in the file.
        public let line: Int
        /// The fields.
        public let fields: [String]
    }

    /// A malformed file.
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        /// Where.
        public let line: Int
        /// What.
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// Parses text into records (blank lines are skipped).
    public static func parse(_ text: String) throws(Malformed) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var recordLine = 1
        var inQuotes = false
        var fieldWasQuoted = false
        let bytes = Array(text.utf8)
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldWasQuoted = false
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
        }

        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""):
                    guard field.isEmpty && !fieldWasQuoted else { throw Malformed(line: line, reason: "a quote inside an unquoted field") }
                    inQuotes = true
                    fieldWasQuoted = true
                case UInt8(ascii: ","):
                    endField()
                case UInt8(ascii: "\r"):
                    break
                case UInt8(ascii: "\n"):
                    endRecord()
                    line += 1
                    recordLine = line
                default:
                    guard !fieldWasQuoted else { throw Malformed(line: line, reason: "text after a closing quote") }
                    field.append(byte)
                }
            }
            index += 1
        }
        if inQuotes { throw Malformed(line: recordLine, reason: "a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty || fieldWasQuoted { endRecord() }
        return records
    }

    /// Quotes a field when it needs it.
    public static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One CSV line from fields.
    public static func line(_ fields: [String]) -> String { fields.map(escape).joined(separator: ",") + "\n" }
}

extension Money {
    /// Parses a yuan amount written as text, e.g. `"12"`, `"12.5"`, `"-0.23"`, exactly (no floating
    /// point); nil for anything else or more than two decimals.
    public init?(yuan text: String) {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        var negative = false
        if body.hasPrefix("-") {
            negative = true
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let wholeText = parts.first, !wholeText.isEmpty, wholeText.count <= 13, wholeText.allSatisfy(\.isASCII),
            let whole = Int64(wholeText)
        else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 2, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits) else { return nil }
            fraction = digits.count == 1 ? value * 10 : value
        }
        self.init(fen: (whole * 100 + fraction) * (negative ? -1 : 1))
    }
}

extension Ratio {
    /// Parses a percentage written as text, e.g. `"10"` or `"4.5"` or `"0.25"` (two decimals at most).
    public init?(percentText text: String) {
        guard let asMoney = Money(yuan: text), !asMoney.isNegative else { return nil }
        self.init(basisPoints: asMoney.fen)
    }
}
