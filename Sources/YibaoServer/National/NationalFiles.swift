import Foundation
import YibaoCore

/// The files national clients exchange (9101 upload, 9102 download): zip archives. Yibao reads the
/// stored and the deflated kind (`Inflate`), checking each file's CRC-32, and writes the stored kind.
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

    /// The largest file an upload may expand to (a reconciliation detail file is a few megabytes).
    public static let expandedMax = 64 << 20

    /// The first file of a zip archive, stored or deflated; nil when the bytes are not a zip; throws for
    /// another compression method, a malformed archive or a file whose CRC-32 does not match.
    public static func firstFile(_ bytes: [UInt8]) throws -> [UInt8]? {
        guard bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03, bytes[3] == 0x04 else { return nil }
        let le16 = { (at: Int) in littleEndian(bytes, at, 2) }
        let le32 = { (at: Int) in littleEndian(bytes, at, 4) }
        guard bytes.count >= 30 else { throw NationalZipError("文件不是完整的zip") }
        let method = le16(8)
        let flags = le16(6)
        var crc = le32(14)
        var size = le32(18)
        var expanded = le32(22)
        let start = 30 + le16(26) + le16(28)
        guard flags & 0x01 == 0 else { throw NationalZipError("不支持加密的zip") }
        if flags & 0x08 != 0 {
            // Sizes and CRC follow the data (streamed archives): the central directory has them too.
            guard let central = centralEntry(bytes) else { throw NationalZipError("文件不是完整的zip") }
            crc = central.crc
            size = central.size
            expanded = central.expanded
        }
        guard start <= bytes.count, expanded <= expandedMax else { throw NationalZipError("文件不是完整的zip，或解压后超过64MB") }
        let content: [UInt8]
        switch method {
        case 0:
            guard start + size <= bytes.count else { throw NationalZipError("文件不是完整的zip") }
            content = Array(bytes[start..<start + size])
        case 8:
            do {
                content = try Inflate.decompress(bytes, from: start, limit: expandedMax)
            } catch {
                throw NationalZipError("zip 解压失败：\(error.reason)")
            }
        default:
            throw NationalZipError("仅支持存储或 deflate 压缩的zip（压缩方式 \(method) 不支持），或直接上传文本文件")
        }
        guard content.count == expanded, Int(crc32(content)) == crc else { throw NationalZipError("zip 文件校验失败（CRC 或长度不符）") }
        return content
    }

    /// The unsigned little-endian number of `width` bytes at `at`.
    static func littleEndian(_ bytes: [UInt8], _ at: Int, _ width: Int) -> Int {
        (0..<width).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) }
    }

    /// The first central-directory entry's CRC, compressed and uncompressed sizes, found through the
    /// end-of-central-directory record (searched from the end: a file's content may hold any bytes).
    static func centralEntry(_ bytes: [UInt8]) -> (crc: Int, size: Int, expanded: Int)? {
        let le32 = { (at: Int) in littleEndian(bytes, at, 4) }
        guard bytes.count >= 22 else { return nil }
        // The record is 22 bytes plus a comment of at most 65,535.
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        guard
            let end = stride(from: bytes.count - 22, through: lowest, by: -1).first(where: {
                bytes[$0] == 0x50 && bytes[$0 + 1] == 0x4B && bytes[$0 + 2] == 0x05 && bytes[$0 + 3] == 0x06
            })
        else { return nil }
        let at = le32(end + 16)
        guard at + 46 <= bytes.count, le32(at) == 0x0201_4B50 else { return nil }
        return (le32(at + 16), le32(at + 20), le32(at + 24))
    }
}

/// A problem with an uploaded archive.
public struct NationalZipError: Error, Sendable {
    /// The message for the client.
    public let message: String
    init(_ message: String) { self.message = message }
}
