import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A socket call in a test failed.
public struct SocketError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// An IPv4 address and port (`localhost` is 127.0.0.1).
private func ipv4(_ host: String, _ port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return address
}

/// A TCP socket bound to a free port on 127.0.0.1, and that port.
public func loopbackSocket() throws -> (socket: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = ipv4("127.0.0.1", 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard fd >= 0, bound else { throw SocketError(description: "no loopback socket") }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// A blocking TCP socket connected to `host`:`port` (an IPv4 address).
public func connectedSocket(host: String = "127.0.0.1", port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = ipv4(host, port)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard fd >= 0, connected else {
        if fd >= 0 { close(fd) }
        throw SocketError(description: "cannot connect to \(host):\(port)")
    }
    return fd
}

/// A TCP relay on 127.0.0.1 to a server, which passes nothing on while `frozen`, in either direction,
/// on connections open or new: a server whose machine is there and whose processes all say nothing.
public final class FreezableProxy: @unchecked Sendable {
    public let port: Int
    private let frozen = Mutex(false)
    private let listener: Int32
    private let target: (host: String, port: Int)

    public init(host: String, port: Int) throws {
        target = (host, port)
        let (listener, listening) = try loopbackSocket()
        guard listen(listener, 64) == 0 else { throw SocketError(description: "the relay did not start") }
        self.listener = listener
        self.port = listening
        Thread.detachNewThread { self.accepting() }
    }

    /// Stops passing bytes on (`true`), or passes on what it held and goes on (`false`).
    public func freeze(_ on: Bool) {
        frozen.withLock { $0 = on }
    }

    /// Stops accepting; relayed connections end with their ends.
    public func close() {
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private func accepting() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            guard let upstream = try? connectedSocket(host: target.host, port: target.port) else {
                Glibc.close(client)
                continue
            }
            let ends = Mutex(0)
            let ended: @Sendable () -> Void = {
                guard
                    ends.withLock({ count in
                        count += 1
                        return count == 2
                    })
                else { return }
                Glibc.close(client)
                Glibc.close(upstream)
            }
            Thread.detachNewThread {
                self.relay(from: client, to: upstream)
                ended()
            }
            Thread.detachNewThread {
                self.relay(from: upstream, to: client)
                ended()
            }
        }
    }

    /// Passes what `from` sends on to `to`, holding it while frozen; at the end, ends `to` too.
    private func relay(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let got = recv(from, &buffer, buffer.count, 0)
            guard got > 0 else { break }
            while frozen.withLock({ $0 }) { usleep(5_000) }
            var sent = 0
            while sent < got {
                let written = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, got - sent, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else { break }
                sent += written
            }
            guard sent == got else { break }
        }
        shutdown(to, Int32(SHUT_RDWR))
        shutdown(from, Int32(SHUT_RDWR))
    }
}
