import Foundation
import YibaoCore

/// The files national clients exchange (9101 upload, 9102 download): zip archives. Yibao reads and
/// writes the stored (uncompressed) kind; a deflated upload is refused with a message asking for stored
/// or plain text, since no inflate implementation is available here.
public enum NationalZip {
    /// CRC-32 (IEEE) of bytes.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    /// A zip archive with one stored file.
    public static func archive(filename: String, content: [UInt8]) -> [UInt8] {
        let name = Array(filename.utf8)
        let crc = crc32(content)
        func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
        func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * UInt32($0))) & 0xFF) } }
        let size = le32(UInt32(content.count))
        var local: [UInt8] = le32(0x0403_4B50) + le16(20) + le16(0x0800) + le16(0) + le16(0) + le16(0x21)
        local += le32(crc) + size + size + le16(name.count) + le16(0) + name + content
        var central: [UInt8] = le32(0x0201_4B50) + le16(20) + le16(20) + le16(0x0800) + le16(0) + le16(0) + le16(0x21)
        central += le32(crc) + size + size + le16(name.count) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(0) + name
        let end = le32(0x0605_4B50) + le16(0) + le16(0) + le16(1) + le16(1) + le32(UInt32(central.count)) + le32(UInt32(local.count)) + le16(0)
        return local + central + end
    }

    /// The first file of a zip archive when it is stored; nil when the bytes are not a zip; throws for a
    /// compressed or malformed one.
    public static func firstStoredFile(_ bytes: [UInt8]) throws -> [UInt8]? {
        guard bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03, bytes[3] == 0x04 else { return nil }
        func le16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func le32(_ at: Int) -> Int { le16(at) | le16(at + 2) << 16 }
        guard bytes.count >= 30 else { throw NationalZipError("文件不是完整的zip") }
        let method = le16(8)
        let flags = le16(6)
        let size = le32(18)
        let start = 30 + le16(26) + le16(28)
        guard method == 0, flags & 0x08 == 0 else { throw NationalZipError("仅支持不压缩（存储方式）的zip，或直接上传文本文件") }
        guard start + size <= bytes.count else { throw NationalZipError("文件不是完整的zip") }
        return Array(bytes[start..<start + size])
    }
}

/// A problem with an uploaded archive.
public struct NationalZipError: Error, Sendable {
    /// The message for the client.
    public let message: String
    init(_ message: String) { self.message = message }
}
