/// DEFLATE decompression (RFC 1951): stored, fixed-Huffman and dynamic-Huffman blocks, as the deflated
/// zip archives national clients upload (9101) carry. Written here because no package available to
/// Yibao exposes inflate; it follows the structure of zlib's reference decoder `puff.c` (canonical
/// Huffman decoding one bit at a time), which favours being easy to check over speed — the files are
/// reconciliation details of a few megabytes at most. Every malformed input throws; the output is capped
/// so a small archive cannot expand without bound.
enum Inflate {
    /// What is wrong with a compressed stream.
    struct Failure: Error, Equatable {
        let reason: String
    }

    /// Decompresses the raw DEFLATE stream that starts at `start` of `input` (the stream ends itself);
    /// refuses output beyond `limit` bytes.
    static func decompress(_ input: [UInt8], from start: Int = 0, limit: Int) throws(Failure) -> [UInt8] {
        var state = State(input: input, position: start, limit: limit)
        var last = false
        repeat {
            last = try state.bits(1) == 1
            switch try state.bits(2) {
            case 0: try state.stored()
            case 1: try state.codes(literal: Tables.fixedLiteral, distance: Tables.fixedDistance)
            case 2:
                let (literal, distance) = try state.dynamicTables()
                try state.codes(literal: literal, distance: distance)
            default: throw Failure(reason: "invalid block type")
            }
        } while !last
        return state.output
    }

    /// A canonical Huffman code: how many codes of each length, and the symbols in code order.
    struct Huffman {
        var counts: [Int]
        var symbols: [Int]

        /// Builds the code from each symbol's length (0 to 15; 0: unused). Over-subscribed lengths are
        /// refused; an incomplete code is allowed (a lone distance code is legal) and fails only if a
        /// missing code is read.
        init(lengths: [Int]) throws(Failure) {
            self.init(checked: lengths)
            var left = 1
            for length in 1...15 {
                left <<= 1
                left -= counts[length]
                if left < 0 { throw Failure(reason: "over-subscribed code lengths") }
            }
        }

        /// Builds a code whose lengths are known to be valid (the fixed codes of RFC 1951 §3.2.6).
        init(checked lengths: [Int]) {
            counts = Array(repeating: 0, count: 16)
            for length in lengths { counts[length] += 1 }
            var offsets = Array(repeating: 0, count: 16)
            for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
            symbols = Array(repeating: 0, count: lengths.count)
            for (symbol, length) in lengths.enumerated() where length != 0 {
                symbols[offsets[length]] = symbol
                offsets[length] += 1
            }
        }
    }

    enum Tables {
        static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
        static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
        static let distanceBase = [
            1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385,
            24577,
        ]
        static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
        /// The order code-length code lengths are sent in.
        static let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        static let fixedLiteral = Huffman(
            checked: Array(repeating: 8, count: 144) + Array(repeating: 9, count: 112) + Array(repeating: 7, count: 24)
                + Array(repeating: 8, count: 8))
        static let fixedDistance = Huffman(checked: Array(repeating: 5, count: 30))
    }

    struct State {
        let input: [UInt8]
        var position: Int
        let limit: Int
        var output: [UInt8] = []
        var bitBuffer = 0
        var bitCount = 0

        init(input: [UInt8], position: Int, limit: Int) {
            self.input = input
            self.position = position
            self.limit = limit
        }

        /// The next `count` bits, least significant first.
        mutating func bits(_ count: Int) throws(Failure) -> Int {
            while bitCount < count {
                guard position < input.count else { throw Failure(reason: "the stream ends early") }
                bitBuffer |= Int(input[position]) << bitCount
                position += 1
                bitCount += 8
            }
            let value = bitBuffer & ((1 << count) - 1)
            bitBuffer >>= count
            bitCount -= count
            return value
        }

        mutating func decode(_ code: Huffman) throws(Failure) -> Int {
            var value = 0
            var first = 0
            var index = 0
            for length in 1...15 {
                value |= try bits(1)
                let count = code.counts[length]
                if value - count < first { return code.symbols[index + (value - first)] }
                index += count
                first += count
                first <<= 1
                value <<= 1
            }
            throw Failure(reason: "invalid Huffman code")
        }

        mutating func append(_ byte: UInt8) throws(Failure) {
            guard output.count < limit else { throw Failure(reason: "the file expands beyond \(limit) bytes") }
            output.append(byte)
        }

        /// A stored block: the rest of the current byte is skipped, then LEN, NLEN and LEN bytes.
        mutating func stored() throws(Failure) {
            bitBuffer = 0
            bitCount = 0
            guard position + 4 <= input.count else { throw Failure(reason: "the stream ends early") }
            let length = Int(input[position]) | Int(input[position + 1]) << 8
            let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
            guard length == ~complement & 0xFFFF else { throw Failure(reason: "stored block length does not match its complement") }
            position += 4
            guard position + length <= input.count else { throw Failure(reason: "the stream ends early") }
            for byte in input[position..<position + length] { try append(byte) }
            position += length
        }

        /// The literal/length and distance codes of a dynamic block.
        mutating func dynamicTables() throws(Failure) -> (Huffman, Huffman) {
            let literalCount = try bits(5) + 257
            let distanceCount = try bits(5) + 1
            let codeLengthCount = try bits(4) + 4
            guard literalCount <= 286, distanceCount <= 30 else { throw Failure(reason: "too many codes") }
            var codeLengths = Array(repeating: 0, count: 19)
            for index in 0..<codeLengthCount { codeLengths[Tables.order[index]] = try bits(3) }
            let lengthCode = try Huffman(lengths: codeLengths)
            var lengths: [Int] = []
            while lengths.count < literalCount + distanceCount {
                let symbol = try decode(lengthCode)
                switch symbol {
                case 0..<16: lengths.append(symbol)
                case 16:
                    guard let previous = lengths.last else { throw Failure(reason: "a repeat with no length before it") }
                    lengths += Array(repeating: previous, count: 3 + (try bits(2)))
                case 17: lengths += Array(repeating: 0, count: 3 + (try bits(3)))
                default: lengths += Array(repeating: 0, count: 11 + (try bits(7)))
                }
            }
            guard lengths.count == literalCount + distanceCount else { throw Failure(reason: "code lengths overrun the table") }
            guard lengths[256] != 0 else { throw Failure(reason: "no end-of-block code") }
            return (try Huffman(lengths: Array(lengths[0..<literalCount])), try Huffman(lengths: Array(lengths[literalCount...])))
        }

        /// Literals and length/distance pairs until the end-of-block code.
        mutating func codes(literal: Huffman, distance: Huffman) throws(Failure) {
            while true {
                let symbol = try decode(literal)
                if symbol < 256 {
                    try append(UInt8(symbol))
                } else if symbol == 256 {
                    return
                } else {
                    let index = symbol - 257
                    guard index < 29 else { throw Failure(reason: "invalid length code") }
                    let length = Tables.lengthBase[index] + (try bits(Tables.lengthExtra[index]))
                    let distanceSymbol = try decode(distance)
                    guard distanceSymbol < 30 else { throw Failure(reason: "invalid distance code") }
                    let back = Tables.distanceBase[distanceSymbol] + (try bits(Tables.distanceExtra[distanceSymbol]))
                    guard back <= output.count else { throw Failure(reason: "a distance before the start of the file") }
                    for _ in 0..<length { try append(output[output.count - back]) }
                }
            }
        }
    }
}
