import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// How connections to PostgreSQL are encrypted, from the database URL's `sslmode` and `sslrootcert`
/// (libpq's names and meanings, so a URL that works with `psql` works here):
///
/// - `disable` (the default) and `allow`: plain connections;
/// - `prefer`: TLS when the server offers it, plain when it does not;
/// - `require`: TLS or no connection, the server's certificate not checked (as in libpq, checked
///   against `sslrootcert` when one is given);
/// - `verify-ca`: TLS, the certificate signed by a trusted authority;
/// - `verify-full`: that, and issued for the host in the URL (its name, or its address).
///
/// `sslrootcert` is a PEM file of the authorities to trust; without it `verify-ca` and `verify-full`
/// trust the system's.
struct PostgresTLS: Sendable {
    enum Mode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    let mode: Mode
    /// The PEM file of trusted authorities, if the URL names one.
    let rootCertificate: String?

    /// No TLS.
    static let disabled = PostgresTLS(mode: .disable, rootCertificate: nil)

    init(mode: Mode, rootCertificate: String?) {
        self.mode = mode
        self.rootCertificate = rootCertificate
    }

    /// The URL's choice; an unknown `sslmode` or an `sslrootcert` that cannot be read is refused.
    init(query: [URLQueryItem]) throws {
        let named = query.last { $0.name == "sslmode" }?.value ?? "disable"
        guard let mode = Mode(rawValue: named) else {
            throw StoreError.configuration(
                "sslmode=\(named) is not one of \(Mode.allCases.map(\.rawValue).joined(separator: ", ")) (libpq's names)")
        }
        let root = query.last { $0.name == "sslrootcert" }?.value.flatMap { $0.isEmpty ? nil : $0 }
        if let root, !FileManager.default.isReadableFile(atPath: root) {
            throw StoreError.configuration("sslrootcert=\(root) cannot be read")
        }
        self.init(mode: mode, rootCertificate: root)
    }

    /// Whether the connection asks the server for TLS first.
    var asks: Bool { [.prefer, .require, .verifyCA, .verifyFull].contains(mode) }
    /// Whether a server that does not offer TLS is refused.
    var insists: Bool { [.require, .verifyCA, .verifyFull].contains(mode) }

    /// What is checked of the server's certificate: that a trusted authority signed it (`chain`), and
    /// that it was issued for the host in the URL (`name`).
    var checks: (chain: Bool, name: Bool) {
        switch mode {
        case .disable, .allow, .prefer: (false, false)
        case .require: (rootCertificate != nil, false)
        case .verifyCA: (true, false)
        case .verifyFull: (true, true)
        }
    }

    /// NIOSSL's client configuration for this mode.
    func configuration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification =
            switch checks {
            case (true, true): .fullVerification
            case (true, false): .noHostnameVerification
            default: .none
            }
        if let rootCertificate { configuration.trustRoots = .file(rootCertificate) }
        return configuration
    }

    /// The name the certificate is checked against: the host's name, or nil for an address, which is
    /// then checked against the certificate's addresses (and is not sent as the server's name).
    static func serverName(_ host: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 ? nil : host
    }
}

/// A TLS session over a connected socket, read and written by one blocking thread at a time, as
/// `WireConnection` reads and writes its plain socket. NIOSSL does the TLS on an event loop; the bytes
/// cross to the connection's thread through `TLSInbox`. Each pipeline's write and its answers' reads
/// cross once each, so a TLS connection costs a hop per round trip, not per statement.
final class TLSStream: @unchecked Sendable {
    private let channel: any Channel
    private let inbox: TLSInbox

    /// Starts TLS on `socket`, a descriptor of a connected socket whose PostgreSQL has just answered `S`
    /// to the `SSLRequest`: NIO owns the descriptor from now on and closes it (nobody else may). Waits
    /// up to `timeout` for the handshake, whose failure (an untrusted certificate, a wrong name) is
    /// thrown.
    static func start(socket: Int32, host: String, tls: PostgresTLS, timeout: TimeInterval = 30) throws -> TLSStream {
        let context = try NIOSSLContext(configuration: tls.configuration())
        let inbox = TLSInbox()
        // The host's name goes as SNI in every mode, as libpq sends it (a proxy may route by it).
        let name = PostgresTLS.serverName(host)
        let channel = try ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: name))
                    try channel.pipeline.syncOperations.addHandler(TLSInboxHandler(inbox: inbox))
                }
            }
            .withConnectedSocket(socket).wait()
        let stream = TLSStream(channel: channel, inbox: inbox)
        do {
            try inbox.awaitHandshake(deadline: Date().addingTimeInterval(timeout))
        } catch {
            stream.close()
            throw error
        }
        return stream
    }

    private init(channel: any Channel, inbox: TLSInbox) {
        self.channel = channel
        self.inbox = inbox
    }

    /// Encrypts and sends `bytes` (in order with earlier writes; a failure shows on the next read).
    func write(_ bytes: [UInt8]) throws {
        try inbox.checkOpen()
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
    }

    /// Waits for decrypted bytes (at most `wait`, then `TLSInbox.NothingInTime`) and copies up to
    /// `buffer.count` of them; throws once the session ended.
    func read(into buffer: UnsafeMutableRawBufferPointer, within wait: Duration?) throws -> Int {
        try inbox.take(into: buffer, within: wait)
    }

    func close() {
        channel.close(promise: nil)
    }

    deinit { channel.close(promise: nil) }
}

/// What the event loop hands the connection's thread: decrypted bytes, the handshake's end, the end of
/// the session.
final class TLSInbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var bytes: [UInt8] = []
    private var handshaken = false
    private var ended: (any Error)?

    func receive(_ buffer: ByteBuffer) {
        condition.lock()
        bytes += buffer.readableBytesView
        condition.signal()
        condition.unlock()
    }

    func handshakeCompleted() {
        condition.lock()
        handshaken = true
        condition.broadcast()
        condition.unlock()
    }

    func end(_ error: any Error) {
        condition.lock()
        if ended == nil { ended = error }
        condition.broadcast()
        condition.unlock()
    }

    func awaitHandshake(deadline: Date) throws {
        condition.lock()
        defer { condition.unlock() }
        while !handshaken && ended == nil {
            if !condition.wait(until: deadline) {
                throw WireConnection.ConnectionError(description: "the TLS handshake with PostgreSQL did not finish in time")
            }
        }
        if let ended { throw ended }
    }

    func checkOpen() throws {
        condition.lock()
        defer { condition.unlock() }
        if let ended { throw ended }
    }

    /// Nothing came within the wait a read allowed.
    struct NothingInTime: Error, Equatable {}

    func take(into buffer: UnsafeMutableRawBufferPointer, within wait: Duration?) throws -> Int {
        let deadline = wait.map { Date().addingTimeInterval(Double(WireConnection.milliseconds($0)) / 1000) }
        condition.lock()
        defer { condition.unlock() }
        while bytes.isEmpty {
            if let ended { throw ended }
            if let deadline {
                if !condition.wait(until: deadline) && bytes.isEmpty && ended == nil { throw NothingInTime() }
            } else {
                condition.wait()
            }
        }
        let count = min(buffer.count, bytes.count)
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count) }
        bytes.removeFirst(count)
        return count
    }
}

/// The last handler of a TLS connection's pipeline: passes what NIOSSL decrypted to the inbox.
final class TLSInboxHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let inbox: TLSInbox

    init(inbox: TLSInbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inbox.receive(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { inbox.handshakeCompleted() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.end(WireConnection.ConnectionError(description: "TLS with PostgreSQL failed: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.end(WireConnection.ConnectionError(description: "PostgreSQL closed the connection"))
        context.fireChannelInactive()
    }
}
