import Foundation
import Testing

@testable import YibaoServer

/// DEFLATE as national clients' zip archives carry it: streams made by zlib (Python's, level 9 and 0)
/// decode to their text with the right CRC; a literal-only stream written here for any bytes; malformed
/// streams, another method and a wrong CRC are refused with a message.
@Suite("National files: inflate and zip")
struct InflateTests {
    /// A raw DEFLATE stream of one fixed-Huffman block holding every byte as a literal (RFC 1951 §3.2.6).
    static func literalDeflate(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = 0
        var count = 0
        func put(_ value: Int, _ bits: Int) {
            buffer |= value << count
            count += bits
            while count >= 8 {
                out.append(UInt8(buffer & 0xFF))
                buffer >>= 8
                count -= 8
            }
        }
        /// A Huffman code goes most significant bit first.
        func code(_ value: Int, _ bits: Int) {
            for index in stride(from: bits - 1, through: 0, by: -1) { put((value >> index) & 1, 1) }
        }
        put(1, 1)
        put(1, 2)
        for byte in bytes { byte < 144 ? code(0x30 + Int(byte), 8) : code(0x190 + Int(byte) - 144, 9) }
        code(0, 7)
        if count > 0 { out.append(UInt8(buffer & 0xFF)) }
        return out
    }

    /// A zip of one deflated file; with `streamed` its CRC and sizes come after the data (flag 8).
    static func deflatedZip(_ content: [UInt8], name: String = "detail.txt", streamed: Bool = false, crc: UInt32? = nil) -> [UInt8] {
        let compressed = literalDeflate(content)
        let crc = crc ?? NationalZip.crc32(content)
        func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
        func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * UInt32($0))) & 0xFF) } }
        let nameBytes = Array(name.utf8)
        let flags = streamed ? 0x0808 : 0x0800
        let sizes = le32(UInt32(compressed.count)) + le32(UInt32(content.count))
        var local = le32(0x0403_4B50) + le16(20) + le16(flags) + le16(8) + le16(0) + le16(0x21)
        local += (streamed ? le32(0) + le32(0) + le32(0) : le32(crc) + sizes) + le16(nameBytes.count) + le16(0) + nameBytes + compressed
        if streamed { local += le32(0x0807_4B50) + le32(crc) + sizes }
        var central = le32(0x0201_4B50) + le16(20) + le16(20) + le16(flags) + le16(8) + le16(0) + le16(0x21)
        central += le32(crc) + sizes + le16(nameBytes.count) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(0) + nameBytes
        let end = le32(0x0605_4B50) + le16(0) + le16(0) + le16(1) + le16(1) + le32(UInt32(central.count)) + le32(UInt32(local.count)) + le16(0)
        return local + central + end
    }

    static func bytes(_ base64: String) -> [UInt8] { Array(Data(base64Encoded: base64)!) }

    @Test("zlib's fixed-Huffman, stored and dynamic-Huffman streams decode to their text")
    func zlibStreams() throws {
        let short = "对明细账 hello hello hello"
        #expect(try Inflate.decompress(Self.bytes("e7p+57MZfc93t73YskwhIzUnJx+ZBAA="), limit: 1000) == Array(short.utf8))
        #expect(try Inflate.decompress(Self.bytes("AR4A4f/lr7nmmI7nu4botKYgaGVsbG8gaGVsbG8gaGVsbG8="), limit: 1000) == Array(short.utf8))
        // 60 reconciliation rows with varied numbers: zlib chose a dynamic block.
        let dynamic = Self.bytes(
            "XVY7bl1HDK3Hixnw/1mEAQO385qyhbRp06QJUmQzMZBl5HDkAHMFwTIEUXzk+XG+mRETkYuZr6/f1ZLX42xEssptc6/azYu+fPtZym1tKO3MXg93JUqtaCuvjm1112bgl6hV1vWoOEsup8222DfdpRGlhdIsxwScKuikjIantuKqLRGJqW131AaG4JUmm30Jb7n7aksQaoVmhCRnjZVRM2j47r7HDcPPX79biKCvVQGUVNqhS2TXDYPhw/vMG7me2SxkJfWOWkJb7r5lpTNDkNt6otIS6LYNsNP97ivqlDMDZa3HmqxysdROWk077Z4XQMwM3BnYDcX4G0na7atkq1613Yz5hzYehjERljKWnVgx35hhJZ95ywTzYlO2WNo68xrPJBe+6jEUA7mRQ3lBB+mopcP0jUPWB8fNM4MFAMdSnpsa9G3XF75phzeeviJaRCtS9vzX218zcMjsFkE2XLSCk8Ckhb403S/MIICZQWSU3pAoEziW0QMYqRsHZxadvg6+nhLgS8u8d6O2tt616fh+MANF0K8wKXjTjVHMNwR11QobH03G1IYGB3DorbYc+N61bSWnrxLm1QYnwMyOwsK23DhABvaBQ40vRMMhcorxBbrLja8KHQ8JdAFNwqmYO2vDoBojipuK+R3CgcHmA/UK1Awzb7gv4k1xsNhxPOusVmY9nuxNfih+1UrY9HV3wCumnkgHmBKrNU9IXDPAmnrsRkeS43lYCMGAGfQtdSP5P8zGxgioyQXl3bkwddar1mj6AuWphYsNuAKB8NW5XV5S70Ox68ygDeHjwzfyROwdUGjCB4X0MXElww0Q8NlM3xM4oB/SlDxGZJgHXRMTQBO7bhCiyw8IBrsipeGQWA6NIZABm+c7R/LopmCCJ+PI0+UkKfObNLUuPV6jiWkupM5yiAGfJvkmDYeC6sMT0GNKN36EIRENnDvvEfDvxB54GImBbpDFqhO6Qe9x8Yk2I8AYeeI/ESOSugFKyI4bBmk7q8HJMjFiIG0lwhHiR9+IT1bLgy6PxoR6GsI+kAZiT+1V2zGWqIYJHkOQAjJmnUnB8KeY1qPHiDkrlaGQq1pt3LvsmeSOJz4nqBEdY0sT7CiDWa4CvPcMnsYf2h27F1hEIiViGhT7tlvm2XKSARVz2fCHNpeCJsvtk8hwqw8MWAlUCMIKMFgg93GB8p2m2XUuEC47+jZH9ZzKnjR1XO17tVbjj4s5ly0NMEO1c9mAhsyCl9VY88zgk3oFawA6QY6iA0TxipzMOvMicXXsLgWmJiF5YHgfQY3jH5/0eLxhC/Qbhiek3mFaeIjEYQ235XFsBoMjYee0O7IvXkzkYRjBAdYUJELwSLWBQTH0S2V4g0ySmUyKmIMKrIZHBm43Xkb0Ujrmm9XgNTCM9xFCG0+tmFqcQo1X+EOSZ4YxMdKEGw8HZC5iAUS/XBHUJ9DhBp++LONezAu3zdnsF236cSjMxm1NjccAFLJxl+Nk6rXbfB3a5pFREBLgRlBueBvhQIPvj1/++ufvX3/8/ue/f/z25T8="
        )
        #expect((dynamic[0] >> 1) & 3 == 2)
        let text = try Inflate.decompress(dynamic, limit: 10_000)
        #expect(text.count == 2644 && NationalZip.crc32(text) == 2_373_760_610)
        #expect(String(decoding: text, as: UTF8.self).hasPrefix("P4401000") && String(decoding: text, as: UTF8.self).hasSuffix("医保对账\n"))
    }

    @Test("any bytes survive a literal-only stream; the output limit holds")
    func literals() throws {
        var generator = SystemRandomNumberGenerator()
        let content = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(try Inflate.decompress(Self.literalDeflate(content), limit: 5000) == content)
        #expect(throws: Inflate.Failure(reason: "the file expands beyond 4999 bytes")) {
            try Inflate.decompress(Self.literalDeflate(content), limit: 4999)
        }
    }

    @Test("malformed streams are refused, never read past the end")
    func malformed() {
        #expect(throws: Inflate.Failure.self) { try Inflate.decompress([], limit: 100) }
        #expect(throws: Inflate.Failure(reason: "invalid block type")) { try Inflate.decompress([0x07], limit: 100) }
        #expect(throws: Inflate.Failure(reason: "stored block length does not match its complement")) {
            try Inflate.decompress([0x01, 0x05, 0x00, 0x00, 0x00], limit: 100)
        }
        // A match reaching before the start of the output.
        #expect(throws: Inflate.Failure.self) { try Inflate.decompress([0x03, 0x02], limit: 100) }
        let valid = Self.bytes(
            "XVY7bl1HDK3Hixnw/1mEAQO385qyhbRp06QJUmQzMZBl5HDkAHMFwTIEUXzk+XG+mRETkYuZr6/f1ZLX42xEssptc6/azYu+fPtZym1tKO3MXg93JUqtaCuvjm1112bgl6hV1vWoOEsup8222DfdpRGlhdIsxwScKuikjIantuKqLRGJqW131AaG4JUmm30Jb7n7aksQaoVmhCRnjZVRM2j47r7HDcPPX79biKCvVQGUVNqhS2TXDYPhw/vMG7me2SxkJfWOWkJb7r5lpTNDkNt6otIS6LYNsNP97ivqlDMDZa3HmqxysdROWk077Z4XQMwM3BnYDcX4G0na7atkq1613Yz5hzYehjERljKWnVgx35hhJZ95ywTzYlO2WNo68xrPJBe+6jEUA7mRQ3lBB+mopcP0jUPWB8fNM4MFAMdSnpsa9G3XF75phzeeviJaRCtS9vzX218zcMjsFkE2XLSCk8Ckhb403S/MIICZQWSU3pAoEziW0QMYqRsHZxadvg6+nhLgS8u8d6O2tt616fh+MANF0K8wKXjTjVHMNwR11QobH03G1IYGB3DorbYc+N61bSWnrxLm1QYnwMyOwsK23DhABvaBQ40vRMMhcorxBbrLja8KHQ8JdAFNwqmYO2vDoBojipuK+R3CgcHmA/UK1Awzb7gv4k1xsNhxPOusVmY9nuxNfih+1UrY9HV3wCumnkgHmBKrNU9IXDPAmnrsRkeS43lYCMGAGfQtdSP5P8zGxgioyQXl3bkwddar1mj6AuWphYsNuAKB8NW5XV5S70Ox68ygDeHjwzfyROwdUGjCB4X0MXElww0Q8NlM3xM4oB/SlDxGZJgHXRMTQBO7bhCiyw8IBrsipeGQWA6NIZABm+c7R/LopmCCJ+PI0+UkKfObNLUuPV6jiWkupM5yiAGfJvkmDYeC6sMT0GNKN36EIRENnDvvEfDvxB54GImBbpDFqhO6Qe9x8Yk2I8AYeeI/ESOSugFKyI4bBmk7q8HJMjFiIG0lwhHiR9+IT1bLgy6PxoR6GsI+kAZiT+1V2zGWqIYJHkOQAjJmnUnB8KeY1qPHiDkrlaGQq1pt3LvsmeSOJz4nqBEdY0sT7CiDWa4CvPcMnsYf2h27F1hEIiViGhT7tlvm2XKSARVz2fCHNpeCJsvtk8hwqw8MWAlUCMIKMFgg93GB8p2m2XUuEC47+jZH9ZzKnjR1XO17tVbjj4s5ly0NMEO1c9mAhsyCl9VY88zgk3oFawA6QY6iA0TxipzMOvMicXXsLgWmJiF5YHgfQY3jH5/0eLxhC/Qbhiek3mFaeIjEYQ235XFsBoMjYee0O7IvXkzkYRjBAdYUJELwSLWBQTH0S2V4g0ySmUyKmIMKrIZHBm43Xkb0Ujrmm9XgNTCM9xFCG0+tmFqcQo1X+EOSZ4YxMdKEGw8HZC5iAUS/XBHUJ9DhBp++LONezAu3zdnsF236cSjMxm1NjccAFLJxl+Nk6rXbfB3a5pFREBLgRlBueBvhQIPvj1/++ufvX3/8/ue/f/z25T8="
        )
        for cut in [1, 10, 100, 600] { #expect(throws: Inflate.Failure.self) { try Inflate.decompress(Array(valid.prefix(cut)), limit: 10_000) } }
    }

    @Test("deflated zips open, with the CRC checked, streamed or not; other methods and a wrong CRC are refused")
    func zips() throws {
        let content = Array("P440100000001\tMZ0001\tS0001\t67.00\t39.85\t27.15\t0\n医保\n".utf8)
        #expect(try NationalZip.firstFile(Self.deflatedZip(content)) == content)
        #expect(try NationalZip.firstFile(Self.deflatedZip(content, streamed: true)) == content)
        #expect(try NationalZip.firstFile(NationalZip.archive(filename: "a.txt", content: content)) == content)
        #expect(try NationalZip.firstFile(content) == nil, "plain text is not a zip")
        #expect(throws: NationalZipError.self) { try NationalZip.firstFile(Self.deflatedZip(content, crc: 1)) }
        var bzip = Self.deflatedZip(content)
        bzip[8] = 12
        do {
            _ = try NationalZip.firstFile(bzip)
            Issue.record("a bzip2 member opened")
        } catch let error as NationalZipError {
            #expect(error.message.contains("压缩方式 12"))
        }
    }
}
