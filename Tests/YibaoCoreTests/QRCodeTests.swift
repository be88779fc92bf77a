import Foundation
import Testing
import YibaoCore
import YibaoTestSupport

@Suite("QR code encoder")
struct QRCodeTests {
    @Test("versions grow with the text; format and timing patterns are in place")
    func structure() throws {
        #expect(try QRCode("A").version == 1)
        #expect(try QRCode(String(repeating: "9", count: 21)).version == 2)
        #expect(try QRCode(String(repeating: "x", count: 213)).version == 10)
        #expect(throws: QRCode.Failure.self) { try QRCode(String(repeating: "x", count: 214)) }
        let code = try QRCode("882026112200000000012345")
        #expect(code.size == 17 + 4 * code.version)
        // Timing pattern alternates on row 6 between the finders.
        for x in 8..<(code.size - 8) { #expect(code.modules[6][x] == (x % 2 == 0)) }
        // The dark module.
        #expect(code.modules[code.size - 8][8])
        #expect(code.svg().hasPrefix("<svg"))
    }

    @Test func reedSolomonMatchesTheStandardExample() {
        // ISO/IEC 18004 Annex I: "01234567" at 1-M gives EC codewords A5 24 D4 C1 ED 36 C7 87 2C 55.
        let data: [UInt8] = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11]
        let ec = QRCodeTestAccess.errorCorrection(data, degree: 10)
        #expect(ec == [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55])
    }

    /// A real decoder reads back exactly what was encoded. Requires `zbarimg` (Debian zbar-tools) when
    /// YIBAO_REQUIRE_ZBAR=1 (CI sets it); skipped otherwise.
    @Test(
        "zbarimg decodes every version",
        arguments: [
            "882000000000123456780", "A", "https://yibao.dev/v/882000000000123456780", "医保电子凭证 一码付",
            String(repeating: "0123456789", count: 10), String(repeating: "Yibao", count: 42),
        ])
    func decodesWithZbar(text: String) throws {
        guard let zbarimg = QRCodeTestAccess.zbarimg() else {
            #expect(ProcessInfo.processInfo.environment["YIBAO_REQUIRE_ZBAR"] != "1", "zbarimg is required but not installed")
            TestRecord.note("skipped", "QR decoding by zbarimg: not installed (apt install zbar-tools; CI requires it)")
            return
        }
        TestRecord.note("zbar", "decoded")
        let code = try QRCode(text)
        #expect(try QRCodeTestAccess.decode(svg: code.svg(), zbarimg: zbarimg) == text, "version \(code.version)")
    }
}

enum QRCodeTestAccess {
    static func errorCorrection(_ data: [UInt8], degree: Int) -> [UInt8] {
        // The encoder's interleave of a single block is data followed by its EC codewords.
        var version = 1
        while QRCodeTestAccess.capacity(version) != data.count { version += 1 }
        return Array(QRCodeTestAccess.interleaved(data, version: version).suffix(degree))
    }

    static func capacity(_ version: Int) -> Int { [16, 28, 44, 64, 86, 108, 124, 154, 182, 216][version - 1] }

    static func interleaved(_ data: [UInt8], version: Int) -> [UInt8] { QRCodeInternals.interleave(data, version: version) }

    static func zbarimg() -> String? {
        ["/usr/bin/zbarimg", "/usr/local/bin/zbarimg", "/opt/homebrew/bin/zbarimg"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func decode(svg: String, zbarimg: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("qr-\(UUID().uuidString).svg")
        try svg.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: zbarimg)
        process.arguments = ["-q", "--raw", "-Sbinary", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var text = String(decoding: output, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
