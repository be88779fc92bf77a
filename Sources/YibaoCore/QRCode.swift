/// A compact QR Code encoder (ISO/IEC 18004): byte mode, error-correction level M, versions 1 to 10
/// (up to 213 bytes) — what an e-voucher code needs. No Swift QR package is available here, and the
/// image must be produced without network or system libraries. Decoded by `zbarimg` in CI.
public struct QRCode: Sendable, Hashable {
    /// The version (1 ... 10); the symbol is `17 + 4 × version` modules wide.
    public let version: Int
    /// Modules, row-major: true is dark.
    public let modules: [[Bool]]
    /// The mask pattern chosen (0 ... 7).
    public let mask: Int

    /// The width in modules.
    public var size: Int { modules.count }

    /// Why a text cannot be encoded.
    public enum Failure: Error, Sendable {
        /// More than 213 bytes (the capacity of version 10-M).
        case tooLong
    }

    // Error-correction level M: (EC codewords per block, [(block count, data codewords per block)]).
    private static let blocks: [(ecPerBlock: Int, groups: [(count: Int, data: Int)])] = [
        (10, [(1, 16)]), (16, [(1, 28)]), (26, [(1, 44)]), (18, [(2, 32)]), (24, [(2, 43)]),
        (16, [(4, 27)]), (18, [(4, 31)]), (22, [(2, 38), (2, 39)]), (22, [(3, 36), (2, 37)]), (26, [(4, 43), (1, 44)]),
    ]
    private static let alignment: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
    ]
    private static let remainderBits = [0, 7, 7, 7, 7, 7, 0, 0, 0, 0]

    /// Encodes text (as UTF-8 bytes) in the smallest version that holds it.
    public init(_ text: String) throws(Failure) {
        let bytes = Array(text.utf8)
        guard let version = (1...10).first(where: { QRCode.dataCapacity($0) * 8 >= 4 + (($0 < 10) ? 8 : 16) + bytes.count * 8 }) else {
            throw .tooLong
        }
        self.version = version
        let codewords = QRCode.interleave(QRCode.dataCodewords(bytes, version: version), version: version)
        var bestPenalty = Int.max
        var best: (modules: [[Bool]], mask: Int) = ([], 0)
        let base = QRCode.template(version: version)
        let placed = QRCode.place(codewords, version: version, template: base)
        for mask in 0..<8 {
            var matrix = placed
            QRCode.applyMask(mask, to: &matrix, function: base.function)
            QRCode.drawFormat(mask: mask, into: &matrix)
            let penalty = QRCode.penalty(matrix)
            if penalty < bestPenalty {
                bestPenalty = penalty
                best = (matrix, mask)
            }
        }
        self.modules = best.modules
        self.mask = best.mask
        precondition(modules.count == 17 + 4 * version, "QR size")
    }

    /// An SVG image with a four-module quiet zone, `moduleSize` pixels per module. Coordinates are in
    /// pixels (viewBox equal to the size): some renderers, ImageMagick's among them, misread scaled
    /// viewBoxes, and a scanner's decoder must read it exactly.
    public func svg(moduleSize: Int = 8) -> String {
        let border = 4
        let width = (size + 2 * border) * moduleSize
        var path = ""
        for (y, row) in modules.enumerated() {
            var x = 0
            while x < size {
                guard row[x] else {
                    x += 1
                    continue
                }
                var run = 1
                while x + run < size && row[x + run] { run += 1 }
                let left = (x + border) * moduleSize
                let top = (y + border) * moduleSize
                path += "M\(left),\(top)H\(left + run * moduleSize)V\(top + moduleSize)H\(left)Z"
                x += run
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(width)" height="\(width)" viewBox="0 0 \(width) \(width)" \
            shape-rendering="crispEdges"><rect width="\(width)" height="\(width)" fill="#ffffff"/><path fill="#000000" d="\(path)"/></svg>
            """
    }

    // MARK: Data

    static func dataCapacity(_ version: Int) -> Int {
        blocks[version - 1].groups.reduce(0) { $0 + $1.count * $1.data }
    }

    static func dataCodewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, version < 10 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        let capacityBits = dataCapacity(version) * 8
        append(0, min(4, capacityBits - bits.count))
        while bits.count % 8 != 0 { bits.append(false) }
        var codewords: [UInt8] = stride(from: 0, to: bits.count, by: 8).map { start in
            (0..<8).reduce(UInt8(0)) { ($0 << 1) | (bits[start + $1] ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while codewords.count < dataCapacity(version) {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    static func interleave(_ data: [UInt8], version: Int) -> [UInt8] {
        let layout = blocks[version - 1]
        var dataBlocks: [[UInt8]] = []
        var offset = 0
        for group in layout.groups {
            for _ in 0..<group.count {
                dataBlocks.append(Array(data[offset..<offset + group.data]))
                offset += group.data
            }
        }
        let generator = ReedSolomon.generator(degree: layout.ecPerBlock)
        let ecBlocks = dataBlocks.map { ReedSolomon.remainder($0, generator: generator) }
        var result: [UInt8] = []
        let longest = dataBlocks.map(\.count).max() ?? 0
        for index in 0..<longest {
            for block in dataBlocks where index < block.count { result.append(block[index]) }
        }
        for index in 0..<layout.ecPerBlock {
            for block in ecBlocks { result.append(block[index]) }
        }
        return result
    }

    // MARK: Matrix

    struct Template {
        var matrix: [[Bool]]
        var function: [[Bool]]
    }

    static func template(version: Int) -> Template {
        let size = 17 + 4 * version
        var t = Template(
            matrix: Array(repeating: Array(repeating: false, count: size), count: size),
            function: Array(repeating: Array(repeating: false, count: size), count: size))
        func set(_ x: Int, _ y: Int, _ dark: Bool) {
            t.matrix[y][x] = dark
            t.function[y][x] = true
        }
        // Timing patterns.
        for i in 0..<size {
            set(6, i, i % 2 == 0)
            set(i, 6, i % 2 == 0)
        }
        // Finder patterns with separators.
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 {
                for dx in -4...4 {
                    let x = cx + dx
                    let y = cy + dy
                    guard x >= 0, x < size, y >= 0, y < size else { continue }
                    let distance = max(abs(dx), abs(dy))
                    set(x, y, distance != 2 && distance != 4)
                }
            }
        }
        // Alignment patterns.
        let positions = alignment[version - 1]
        for (i, ay) in positions.enumerated() {
            for (j, ax) in positions.enumerated() {
                let last = positions.count - 1
                if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                for dy in -2...2 {
                    for dx in -2...2 { set(ax + dx, ay + dy, max(abs(dx), abs(dy)) != 1) }
                }
            }
        }
        // Format areas (reserved; drawn per mask) and the dark module.
        for i in 0..<9 {
            t.function[8][i] = true
            t.function[i][8] = true
        }
        for i in 0..<8 {
            t.function[8][size - 1 - i] = true
            t.function[size - 1 - i][8] = true
        }
        set(8, size - 8, true)
        // Version information (version 7 and up).
        if version >= 7 {
            var remainder = version
            for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
            let bits = version << 12 | remainder
            for i in 0..<18 {
                let dark = (bits >> i) & 1 == 1
                let a = size - 11 + i % 3
                let b = i / 3
                set(a, b, dark)
                set(b, a, dark)
            }
        }
        return t
    }

    static func place(_ codewords: [UInt8], version: Int, template: Template) -> [[Bool]] {
        var matrix = template.matrix
        let size = matrix.count
        let totalBits = codewords.count * 8 + remainderBits[version - 1]
        var bitIndex = 0
        var right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            for vertical in 0..<size {
                for j in 0..<2 {
                    let x = right - j
                    let upward = ((right + 1) & 2) == 0
                    let y = upward ? size - 1 - vertical : vertical
                    guard !template.function[y][x], bitIndex < totalBits else { continue }
                    if bitIndex < codewords.count * 8 {
                        matrix[y][x] = (codewords[bitIndex >> 3] >> (7 - (bitIndex & 7))) & 1 == 1
                    }
                    bitIndex += 1
                }
            }
            right -= 2
        }
        precondition(bitIndex == totalBits, "every data bit placed")
        return matrix
    }

    static func applyMask(_ mask: Int, to matrix: inout [[Bool]], function: [[Bool]]) {
        let size = matrix.count
        for y in 0..<size {
            for x in 0..<size where !function[y][x] {
                let invert: Bool
                switch mask {
                case 0: invert = (x + y) % 2 == 0
                case 1: invert = y % 2 == 0
                case 2: invert = x % 3 == 0
                case 3: invert = (x + y) % 3 == 0
                case 4: invert = (x / 3 + y / 2) % 2 == 0
                case 5: invert = x * y % 2 + x * y % 3 == 0
                case 6: invert = (x * y % 2 + x * y % 3) % 2 == 0
                default: invert = ((x + y) % 2 + x * y % 3) % 2 == 0
                }
                if invert { matrix[y][x].toggle() }
            }
        }
    }

    static func drawFormat(mask: Int, into matrix: inout [[Bool]]) {
        let size = matrix.count
        let data = 0b00 << 3 | mask  // level M is 00
        var remainder = data
        for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
        let bits = (data << 10 | remainder) ^ 0x5412
        func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
        for i in 0...5 { matrix[i][8] = bit(i) }
        matrix[7][8] = bit(6)
        matrix[8][8] = bit(7)
        matrix[8][7] = bit(8)
        for i in 9..<15 { matrix[8][14 - i] = bit(i) }
        for i in 0..<8 { matrix[8][size - 1 - i] = bit(i) }
        for i in 8..<15 { matrix[size - 15 + i][8] = bit(i) }
        matrix[size - 8][8] = true
    }

    static func penalty(_ matrix: [[Bool]]) -> Int {
        let size = matrix.count
        var total = 0
        func lines(_ get: (Int, Int) -> Bool) {
            for a in 0..<size {
                var run = 1
                for b in 1..<size {
                    if get(a, b) == get(a, b - 1) {
                        run += 1
                    } else {
                        if run >= 5 { total += run - 2 }
                        run = 1
                    }
                }
                if run >= 5 { total += run - 2 }
                // Finder-like 1:1:3:1:1 patterns with four light modules on either side.
                if size >= 11 {
                    for b in 0...(size - 11) {
                        let pattern = (0..<11).map { get(a, b + $0) }
                        if pattern == [true, false, true, true, true, false, true, false, false, false, false]
                            || pattern == [false, false, false, false, true, false, true, true, true, false, true]
                        {
                            total += 40
                        }
                    }
                }
            }
        }
        lines { matrix[$0][$1] }
        lines { matrix[$1][$0] }
        for y in 0..<(size - 1) {
            for x in 0..<(size - 1) {
                let c = matrix[y][x]
                if c == matrix[y][x + 1] && c == matrix[y + 1][x] && c == matrix[y + 1][x + 1] { total += 3 }
            }
        }
        let dark = matrix.reduce(0) { $0 + $1.filter { $0 }.count }
        let percent = dark * 100 / (size * size)
        total += abs(percent - 50) / 5 * 10
        return total
    }
}

/// Reed-Solomon error correction over GF(256) with the QR polynomial x⁸ + x⁴ + x³ + x² + 1.
enum ReedSolomon {
    static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        var result: UInt16 = 0
        var a = UInt16(x)
        var b = y
        while b > 0 {
            if b & 1 == 1 { result ^= a }
            a <<= 1
            if a & 0x100 != 0 { a ^= 0x11D }
            b >>= 1
        }
        return UInt8(result)
    }

    /// The generator polynomial of a degree, highest coefficient first (the leading 1 omitted).
    static func generator(degree: Int) -> [UInt8] {
        var coefficients = [UInt8](repeating: 0, count: degree)
        coefficients[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for index in 0..<degree {
                coefficients[index] = multiply(coefficients[index], root)
                if index + 1 < degree { coefficients[index] ^= coefficients[index + 1] }
            }
            root = multiply(root, 0x02)
        }
        return coefficients
    }

    static func remainder(_ data: [UInt8], generator: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: generator.count)
        for byte in data {
            let factor = byte ^ result[0]
            result.removeFirst()
            result.append(0)
            for index in 0..<generator.count { result[index] ^= multiply(generator[index], factor) }
        }
        return result
    }
}

/// Internals exposed for tests (error-correction codewords against the standard's example).
public enum QRCodeInternals {
    /// Data and error-correction codewords of a version, interleaved.
    public static func interleave(_ data: [UInt8], version: Int) -> [UInt8] { QRCode.interleave(data, version: version) }
}
