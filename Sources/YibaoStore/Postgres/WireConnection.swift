import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One connection to PostgreSQL speaking its frontend/backend protocol (version 3) directly, on the
/// thread that runs the transaction: statements are written and their answers read with blocking
/// socket calls, and a batch of statements goes as one **pipeline** — every `Parse`/`Bind`/`Execute`
/// written, then one `Sync`, then the answers read in order. PostgreSQL runs the whole batch from one
/// read of its socket instead of waking once per statement, which pgbench measured at 1.9–3 × the
/// throughput of the same statements sent one at a time (docs/performance.md); postgres-nio 1.33 keeps
/// one query in flight per connection.
///
/// A connection is used by one thread at a time: `WirePool` leases it to a transaction and takes it
/// back. Arguments go as text with their types declared in `Parse` (`int8`, `text`; a null's left to
/// PostgreSQL), results come back as text and are read by their column's type. A statement run a
/// second time on a connection is prepared under a name there, so PostgreSQL parses and plans it once.
final class WireConnection: @unchecked Sendable {
    /// What one statement answered.
    struct Answer {
        var columns: [String] = []
        var types: [UInt32] = []
        var rows: [[SQLValue]] = []
        /// The rows written (from the command tag) or read.
        var count = 0
        /// The command tag (`INSERT 0 1`, `COMMIT`, `ROLLBACK` …).
        var tag = ""
    }

    /// An error PostgreSQL sent (`ErrorResponse`).
    struct ServerError: Error, CustomStringConvertible {
        let state: String
        let message: String
        /// Which statement of its pipeline failed.
        var index = 0
        var description: String { "PostgreSQL \(state): \(message)" }
    }

    /// The socket failed or PostgreSQL said something this client does not expect: the connection is
    /// dropped.
    struct ConnectionError: Error, CustomStringConvertible {
        let description: String
        /// Whether PostgreSQL said nothing within the connection's `answerWait`.
        var timedOut = false
    }

    /// The most arguments one statement can carry: the protocol counts them in an unsigned 16-bit field.
    static let argumentsMax = Int(UInt16.max)

    /// The most bytes of SQL and arguments sent as one pipeline.
    static let pipelineBytesMax = 64 * 1024

    static func size(_ statements: [(sql: String, arguments: [SQLValue])]) -> Int {
        statements.reduce(0) { total, statement in
            statement.arguments.reduce(total + statement.sql.utf8.count + 16) { sum, argument in
                if case .text(let text) = argument { return sum + text.utf8.count + 4 }
                return sum + 24
            }
        }
    }

    /// Statements' SQL with PostgreSQL's placeholders, translated once per connection.
    private var translations: [String: String] = [:]

    /// `sql` with `$n` placeholders (`PostgresPlaceholders`), kept for the connection's next use.
    func translate(_ sql: String) -> String {
        if let known = translations[sql] { return known }
        let translated = PostgresPlaceholders.translate(sql)
        if translations.count < 4 * WireConnection.namedMax { translations[sql] = translated }
        return translated
    }

    /// The most statements named on one connection; past it statements go unnamed.
    static let namedMax = 512

    private let socket: Int32
    private var output: [UInt8] = []
    /// What was read from the socket: bytes `position..<end` are not used yet. Allocated once and reused
    /// (grown only for a message larger than it), so a read is one `recv` into it.
    private var input = [UInt8](repeating: 0, count: 65_536)
    private var position = 0
    private var end = 0
    /// Statements named on this connection: by their SQL and argument kinds.
    private var named: [String: String] = [:]
    /// How often each unnamed statement ran here (it is named on its second run).
    private var runs: [String: Int] = [:]
    private var nextName = 0
    /// `Sync`s written whose `ReadyForQuery` is not read yet (a read session's `ROLLBACK`, sent without
    /// waiting).
    private var unansweredSyncs = 0
    private let prepare: Bool
    /// Set when the connection can no longer be trusted (a socket error, an unexpected message).
    private(set) var broken = false
    /// Set when PostgreSQL sent nothing within `answerWait`: the server is alive (its kernel
    /// acknowledges) but stuck, or a statement runs longer than the work may wait. The connection is
    /// dropped and the statement cancelled.
    private(set) var timedOut = false

    /// How long a read of PostgreSQL's answer (or a write PostgreSQL does not take) may wait; nil waits
    /// as long as it takes (migrations, the daily close: `DatabaseWait.unbounded`). Set by the session
    /// that leases the connection.
    var answerWait: Duration?
    /// The wait set on the socket (`SO_RCVTIMEO`, `SO_SNDTIMEO`), in milliseconds, 0 for none: changed
    /// only when a session asks for another, so a steady run of sessions costs no system call for it.
    private var socketWaitMilliseconds = 0
    /// Where a cancel request goes: PostgreSQL's address and this session's key (`BackendKeyData`).
    private let host: String
    private let port: Int
    private var cancelKey: (process: Int32, secret: Int32)?

    /// The TLS session the connection speaks through, if it is encrypted: a NIO channel on a duplicate
    /// of the socket's descriptor. The connection closes both.
    private let tls: TLSStream?

    private init(socket: Int32, tls: TLSStream?, prepare: Bool, host: String, port: Int, socketWait: Int) {
        self.socket = socket
        socketWaitMilliseconds = socketWait
        self.tls = tls
        self.prepare = prepare
        self.host = host
        self.port = port
    }

    deinit {
        tls?.close()
        Glibc.close(socket)
    }

    // MARK: Connecting

    /// How long a connection attempt waits for PostgreSQL's host to answer (libpq's `connect_timeout`).
    static let connectTimeoutMilliseconds: Int32 = 10_000
    /// How long data sent may stay unacknowledged before the kernel ends the connection
    /// (`TCP_USER_TIMEOUT`, libpq's `tcp_user_timeout`); keepalive probes after 30 s idle, every 10 s,
    /// count as such data. A host that went away mid-transaction then fails the transaction as
    /// unavailable within about a minute, instead of leaving its thread waiting for TCP's hours.
    static let unacknowledgedMilliseconds: UInt32 = 60_000

    /// Opens a connection, encrypted as `tls` says, and authenticates (trust, password, MD5 or
    /// SCRAM-SHA-256). A host that does not answer (its packets dropped: down, or cut off) is given up
    /// after `connectTimeout` milliseconds, not the kernel's two minutes of retries.
    static func connect(
        host: String, port: Int, user: String, password: String?, database: String?, prepare: Bool, tls: PostgresTLS = .disabled,
        connectTimeout: Int32 = connectTimeoutMilliseconds
    ) throws
        -> WireConnection
    {
        let socket = try openSocket(host: host, port: port, within: connectTimeout)
        var on: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(socket, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
        for (option, value) in [(TCP_KEEPIDLE, Int32(30)), (TCP_KEEPINTVL, 10), (TCP_KEEPCNT, 3)] {
            var value = value
            setsockopt(socket, Int32(IPPROTO_TCP), option, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        var unacknowledged = unacknowledgedMilliseconds
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &unacknowledged, socklen_t(MemoryLayout<UInt32>.size))
        // A server that accepts the connection and then says nothing is given up as one that does not
        // answer the handshake; the session that leases the connection sets its own wait.
        setWait(socket, milliseconds: Int(connectTimeout))
        var session: TLSStream?
        if tls.asks {
            do {
                session = try startTLS(socket: socket, host: host, port: port, tls: tls, within: connectTimeout)
            } catch {
                Glibc.close(socket)
                throw error
            }
        }
        let connection = WireConnection(socket: socket, tls: session, prepare: prepare, host: host, port: port, socketWait: Int(connectTimeout))
        connection.answerWait = .milliseconds(connectTimeout)
        try connection.start(user: user, password: password, database: database)
        return connection
    }

    /// Sets how long a blocking read or write of `socket` waits (`SO_RCVTIMEO`, `SO_SNDTIMEO`; 0: for ever).
    private static func setWait(_ socket: Int32, milliseconds: Int) {
        var wait = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    /// Asks PostgreSQL to cancel what this connection's server process is running (a `CancelRequest` on
    /// a connection of its own, as libpq's `PQcancel`), after a wait ran out: PostgreSQL does not notice
    /// a client that went away until its statement ends, so a long statement would otherwise run on, its
    /// locks held. At most a second each to reach the server and for it to close; best effort (a server
    /// that is stuck takes the request when it moves again).
    private func cancelRunning() {
        guard let key = cancelKey, let socket = try? WireConnection.openSocket(host: host, port: port, within: 1000) else { return }
        defer { Glibc.close(socket) }
        WireConnection.setWait(socket, milliseconds: 1000)
        var request: [UInt8] = []
        request.appendInt32(16)
        request.appendInt32(80_877_102)
        request.appendInt32(key.process)
        request.appendInt32(key.secret)
        guard request.withUnsafeBytes({ Glibc.send(socket, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return }
        // PostgreSQL closes the connection once it has the request (libpq waits for that too).
        var byte: UInt8 = 0
        _ = Glibc.recv(socket, &byte, 1, 0)
    }

    /// A socket connected to `host`:`port` (the first of its addresses that accepts within `milliseconds`).
    private static func openSocket(host: String, port: Int, within milliseconds: Int32) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else {
            throw ConnectionError(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(first) }
        var socket: Int32 = -1
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            let candidate = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            if candidate >= 0 {
                if connectWithin(milliseconds, socket: candidate, address: address.pointee.ai_addr, length: address.pointee.ai_addrlen) {
                    socket = candidate
                    break
                }
                Glibc.close(candidate)
            }
            entry = address.pointee.ai_next
        }
        guard socket >= 0 else {
            throw ConnectionError(description: "cannot connect to \(host):\(port) (refused, or no answer within \(milliseconds) ms)")
        }
        return socket
    }

    /// Connects `socket` to `address`, waiting at most `milliseconds` for the handshake; the socket is
    /// blocking again afterwards.
    private static func connectWithin(_ milliseconds: Int32, socket: Int32, address: UnsafeMutablePointer<sockaddr>?, length: socklen_t) -> Bool {
        let flags = fcntl(socket, F_GETFL, 0)
        guard flags >= 0, fcntl(socket, F_SETFL, flags | O_NONBLOCK) == 0 else { return false }
        defer { _ = fcntl(socket, F_SETFL, flags) }
        if Glibc.connect(socket, address, length) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var waiting = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&waiting, 1, milliseconds) } while ready < 0 && errno == EINTR
        guard ready == 1 else { return false }
        var failure: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(socket, SOL_SOCKET, SO_ERROR, &failure, &size) == 0 && failure == 0
    }

    /// Asks PostgreSQL for TLS (`SSLRequest`) and, if it agrees (`S`), starts it on a duplicate of the
    /// socket's descriptor, which NIO owns and closes: the caller closes its own whatever happens, and
    /// never one NIO has closed (and the system may have given to another connection). A server that
    /// declines (`N`) gets a plain connection under `sslmode=prefer` and none under the modes that insist.
    /// The handshake, like the answer to the request, is waited for at most `milliseconds` (libpq's
    /// `connect_timeout` covers TLS too).
    private static func startTLS(socket: Int32, host: String, port: Int, tls: PostgresTLS, within milliseconds: Int32) throws -> TLSStream? {
        var request: [UInt8] = []
        request.appendInt32(8)
        request.appendInt32(80_877_103)
        let sent = request.withUnsafeBytes { Glibc.send(socket, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { throw ConnectionError(description: "writing to PostgreSQL failed (errno \(errno))") }
        var answer: UInt8 = 0
        var got: Int
        repeat { got = Glibc.recv(socket, &answer, 1, 0) } while got < 0 && errno == EINTR
        if got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
            throw ConnectionError(description: "PostgreSQL did not answer the TLS request in time", timedOut: true)
        }
        guard got == 1 else { throw ConnectionError(description: "PostgreSQL closed the connection when asked for TLS") }
        switch answer {
        case UInt8(ascii: "S"):
            let duplicate = dup(socket)
            guard duplicate >= 0 else { throw ConnectionError(description: "cannot start TLS (errno \(errno))") }
            do {
                return try TLSStream.start(socket: duplicate, host: host, tls: tls, timeout: TimeInterval(milliseconds) / 1000)
            } catch let error as ConnectionError {
                throw error
            } catch {
                throw ConnectionError(description: "TLS with PostgreSQL at \(host):\(port) failed: \(error)")
            }
        case UInt8(ascii: "N") where !tls.insists:
            return nil
        case UInt8(ascii: "N"):
            throw ConnectionError(
                description: "PostgreSQL at \(host):\(port) does not offer TLS, and sslmode=\(tls.mode.rawValue) needs it (its ssl setting is off)")
        default:
            throw ConnectionError(description: "PostgreSQL answered the TLS request with an unexpected byte \(answer)")
        }
    }

    private func start(user: String, password: String?, database: String?) throws {
        var body: [UInt8] = []
        body.appendInt32(196_608)
        for (key, value) in [("user", user), ("database", database ?? user), ("client_encoding", "UTF8"), ("application_name", "yibao")] {
            body.appendCString(key)
            body.appendCString(value)
        }
        body.append(0)
        output.appendInt32(Int32(body.count + 4))
        output += body
        try flush()
        var scram: SCRAM?
        while true {
            let (kind, message) = try readMessage()
            switch kind {
            case UInt8(ascii: "R"):
                var reader = MessageReader(message)
                let code = try reader.int32()
                switch code {
                case 0: break
                case 3:
                    guard let password else { throw ConnectionError(description: "PostgreSQL asks for a password and the URL has none") }
                    write(UInt8(ascii: "p")) { $0.appendCString(password) }
                    try flush()
                case 5:
                    guard let password else { throw ConnectionError(description: "PostgreSQL asks for a password and the URL has none") }
                    let salt = try reader.bytes(4)
                    let inner = Insecure.MD5.hash(data: Array((password + user).utf8)).hex
                    let outer = Insecure.MD5.hash(data: Array(inner.utf8) + salt).hex
                    write(UInt8(ascii: "p")) { $0.appendCString("md5" + outer) }
                    try flush()
                case 10:
                    guard let password else { throw ConnectionError(description: "PostgreSQL asks for a password and the URL has none") }
                    var mechanisms: [String] = []
                    while let mechanism = try reader.cString(), !mechanism.isEmpty { mechanisms.append(mechanism) }
                    guard mechanisms.contains("SCRAM-SHA-256") else {
                        throw ConnectionError(description: "PostgreSQL offers \(mechanisms), not SCRAM-SHA-256")
                    }
                    let client = SCRAM(password: password, nonce: SCRAM.randomNonce())
                    scram = client
                    let first = Array(client.clientFirst.utf8)
                    write(UInt8(ascii: "p")) {
                        $0.appendCString("SCRAM-SHA-256")
                        $0.appendInt32(Int32(first.count))
                        $0 += first
                    }
                    try flush()
                case 11:
                    guard var client = scram else { throw ConnectionError(description: "a SCRAM continuation without its start") }
                    let final = try client.clientFinal(serverFirst: String(decoding: reader.rest(), as: UTF8.self))
                    scram = client
                    write(UInt8(ascii: "p")) { $0 += Array(final.utf8) }
                    try flush()
                case 12:
                    guard let client = scram, client.verify(serverFinal: String(decoding: reader.rest(), as: UTF8.self)) else {
                        throw ConnectionError(description: "the server's SCRAM signature does not match")
                    }
                default:
                    throw ConnectionError(description: "PostgreSQL asks for an authentication this client does not speak (\(code))")
                }
            case UInt8(ascii: "E"):
                throw Self.serverError(message)
            case UInt8(ascii: "Z"):
                return
            case UInt8(ascii: "K"):
                var reader = MessageReader(message)
                cancelKey = (try reader.int32(), try reader.int32())
            default:
                continue  // ParameterStatus, notices
            }
        }
    }

    // MARK: Running statements

    /// Runs `statements` (SQL with PostgreSQL's `$n` placeholders) as one pipeline and returns each one's
    /// answer, in order. After a failure PostgreSQL skips the rest of the pipeline: the first failure
    /// is thrown.
    func run(_ statements: [(sql: String, arguments: [SQLValue])]) throws -> [Answer] {
        guard !broken else { throw ConnectionError(description: "the connection is broken") }
        // The protocol counts a statement's arguments in 16 bits: more is refused before anything is
        // sent, as PostgreSQL refuses what it cannot run (postgres-nio refuses the same).
        if let index = statements.firstIndex(where: { $0.arguments.count > WireConnection.argumentsMax }) {
            throw ServerError(
                state: "54000",
                message: "a statement with \(statements[index].arguments.count) arguments; PostgreSQL takes at most \(WireConnection.argumentsMax)",
                index: index)
        }
        // A pipeline is written whole before its answers are read. Should a large one fill both
        // sockets' buffers while PostgreSQL is still writing the answers of its first statements, each
        // side would wait for the other: past `pipelineBytesMax`, each statement goes on its own.
        if statements.count > 1 && WireConnection.size(statements) > WireConnection.pipelineBytesMax {
            var answers: [Answer] = []
            for statement in statements {
                do {
                    answers += try run([statement])
                } catch var error as ServerError {
                    error.index = answers.count
                    throw error
                }
            }
            return answers
        }
        do {
            try drainUnanswered()
            var sent: [Sent] = []
            sent.reserveCapacity(statements.count)
            for statement in statements { sent.append(appendStatement(statement.sql, statement.arguments)) }
            write(UInt8(ascii: "S")) { _ in }
            try flush()
            return try readAnswers(sent)
        } catch let error as ServerError {
            throw error
        } catch {
            broken = true
            if let error = error as? ConnectionError, error.timedOut {
                timedOut = true
                cancelRunning()
            }
            throw error
        }
    }

    /// Sends `sql` (no arguments) and a `Sync` without waiting: its answer is read before the next
    /// pipeline's (a read session's `ROLLBACK`).
    func send(_ sql: String) {
        guard !broken else { return }
        _ = appendStatement(sql, [])
        write(UInt8(ascii: "S")) { _ in }
        do {
            try flush()
            unansweredSyncs += 1
        } catch {
            broken = true
        }
    }

    /// Reads the answers of what `send` wrote, up to its `ReadyForQuery`.
    private func drainUnanswered() throws {
        while unansweredSyncs > 0 {
            let (kind, _) = try readMessage()
            if kind == UInt8(ascii: "Z") { unansweredSyncs -= 1 }
        }
    }

    /// How one statement of a pipeline was sent.
    private struct Sent {
        /// Its SQL and argument kinds.
        let key: String
        /// The name this pipeline's `Parse` prepares it under.
        let preparing: String?
        /// Whether it was executed by a name prepared before.
        let byName: Bool
    }

    /// Writes one statement's `Parse` (unless it is named here already), `Bind`, `Describe` and
    /// `Execute`.
    private func appendStatement(_ sql: String, _ arguments: [SQLValue]) -> Sent {
        var key = sql
        key.reserveCapacity(sql.utf8.count + arguments.count + 1)
        key.append("\u{0}")
        for argument in arguments {
            switch argument {
            case .integer: key.append("i")
            case .text: key.append("t")
            case .null: key.append("n")
            }
        }
        var statementName = ""
        var preparing: String?
        let byName = named[key] != nil
        if let name = named[key] {
            statementName = name
        } else {
            if prepare && arguments.count <= 32_767 && named.count < WireConnection.namedMax {
                let seen = runs[key, default: 0] + 1
                if seen >= 2 {
                    runs[key] = nil
                    nextName += 1
                    statementName = "y\(nextName)"
                    preparing = statementName
                } else if runs.count < 4 * WireConnection.namedMax {
                    runs[key] = seen
                }
            }
            let name = statementName
            write(UInt8(ascii: "P")) {
                $0.appendCString(name)
                $0.appendCString(sql)
                $0.appendInt16(Int16(truncatingIfNeeded: arguments.count))
                for argument in arguments {
                    switch argument {
                    case .integer: $0.appendInt32(20)
                    case .text: $0.appendInt32(25)
                    case .null: $0.appendInt32(0)
                    }
                }
            }
        }
        let name = statementName
        write(UInt8(ascii: "B")) {
            $0.append(0)  // the unnamed portal
            $0.appendCString(name)
            $0.appendInt16(0)  // every argument as text
            $0.appendInt16(Int16(truncatingIfNeeded: arguments.count))
            for argument in arguments {
                switch argument {
                case .integer(let number):
                    let text = Array(String(number).utf8)
                    $0.appendInt32(Int32(text.count))
                    $0 += text
                case .text(let text):
                    let bytes = Array(text.utf8)
                    $0.appendInt32(Int32(bytes.count))
                    $0 += bytes
                case .null:
                    $0.appendInt32(-1)
                }
            }
            $0.appendInt16(0)  // every result column as text
        }
        write(UInt8(ascii: "D")) {
            $0.append(UInt8(ascii: "P"))
            $0.append(0)
        }
        write(UInt8(ascii: "E")) {
            $0.append(0)
            $0.appendInt32(0)
        }
        return Sent(key: key, preparing: preparing, byName: byName)
    }

    private func readAnswers(_ sent: [Sent]) throws -> [Answer] {
        let count = sent.count
        var answers: [Answer] = []
        answers.reserveCapacity(count)
        var current = Answer()
        var failure: ServerError?
        while true {
            let (kind, message) = try readMessage()
            switch kind {
            case UInt8(ascii: "1"):
                // A name counts only once PostgreSQL has parsed the statement under it.
                if answers.count < count, let name = sent[answers.count].preparing { named[sent[answers.count].key] = name }
            case UInt8(ascii: "2"), UInt8(ascii: "n"):
                continue
            case UInt8(ascii: "T"):
                var reader = MessageReader(message)
                let fields = Int(UInt16(bitPattern: try reader.int16()))
                current.columns.reserveCapacity(fields)
                for _ in 0..<fields {
                    current.columns.append(try reader.cString() ?? "")
                    _ = try reader.bytes(6)  // table and column
                    current.types.append(UInt32(bitPattern: try reader.int32()))
                    _ = try reader.bytes(8)  // size, modifier and format
                }
            case UInt8(ascii: "D"):
                var reader = MessageReader(message)
                let fields = Int(UInt16(bitPattern: try reader.int16()))
                guard fields == current.types.count else { throw ConnectionError(description: "a row does not match its description") }
                var row: [SQLValue] = []
                row.reserveCapacity(fields)
                for index in 0..<fields {
                    let length = try reader.int32()
                    if length < 0 {
                        row.append(.null)
                    } else {
                        row.append(try WireConnection.value(reader.bytes(Int(length)), type: current.types[index]))
                    }
                }
                current.rows.append(row)
            case UInt8(ascii: "C"):
                var reader = MessageReader(message)
                current.tag = try reader.cString() ?? ""
                current.count = WireConnection.count(tag: current.tag, rows: current.rows.count)
                answers.append(current)
                current = Answer()
            case UInt8(ascii: "I"):
                answers.append(current)
                current = Answer()
            case UInt8(ascii: "E"):
                guard failure == nil else { continue }
                var error = WireConnection.serverError(message)
                error.index = answers.count
                failure = error
                // A name the connection no longer has (26000: a pooler in between, `DISCARD ALL`) or
                // whose result changed shape under it (0A000, "cached plan must not change result
                // type": a migration while this server runs) is forgotten, so the statement is parsed
                // again next time instead of failing for ever.
                if answers.count < count, sent[answers.count].byName, error.state == "26000" || error.state == "0A000" {
                    named[sent[answers.count].key] = nil
                }
            case UInt8(ascii: "Z"):
                if let failure { throw failure }
                guard answers.count == count else { throw ConnectionError(description: "\(answers.count) answers for \(count) statements") }
                return answers
            case UInt8(ascii: "N"), UInt8(ascii: "S"), UInt8(ascii: "A"):
                continue
            default:
                throw ConnectionError(description: "an unexpected message '\(Character(Unicode.Scalar(kind)))'")
            }
        }
    }

    /// A cell's value by its column's type: integers and booleans as integers, the rest as text.
    static func value(_ bytes: ArraySlice<UInt8>, type: UInt32) throws -> SQLValue {
        switch type {
        case 20, 21, 23:
            // Accumulated on the negative side, which holds Int64.min.
            var number: Int64 = 0
            var negative = false
            var digits = 0
            for byte in bytes {
                if byte == UInt8(ascii: "-") && digits == 0 && !negative {
                    negative = true
                    continue
                }
                guard byte >= 48 && byte <= 57 else { throw ConnectionError(description: "an integer that is not one") }
                let (times, overflowA) = number.multipliedReportingOverflow(by: 10)
                let (sum, overflowB) = times.subtractingReportingOverflow(Int64(byte - 48))
                guard !overflowA && !overflowB else { throw ConnectionError(description: "an integer out of range") }
                number = sum
                digits += 1
            }
            guard digits > 0 else { throw ConnectionError(description: "an empty integer") }
            if negative { return .integer(number) }
            guard number != .min else { throw ConnectionError(description: "an integer out of range") }
            return .integer(-number)
        case 16:
            return .integer(bytes.first == UInt8(ascii: "t") ? 1 : 0)
        default:
            return .text(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// The rows a command wrote or read, from its tag: the last number (`INSERT 0 3`, `UPDATE 2`,
    /// `SELECT 5`), or the rows sent when the tag has none.
    static func count(tag: String, rows: Int) -> Int {
        guard let last = tag.split(separator: " ").last, let number = Int(last) else { return rows }
        return number
    }

    static func serverError(_ message: ArraySlice<UInt8>) -> ServerError {
        var state = ""
        var text = ""
        var reader = MessageReader(message)
        while let field = try? reader.byte(), field != 0, let value = try? reader.cString() {
            if field == UInt8(ascii: "C") { state = value }
            if field == UInt8(ascii: "M") { text = value }
        }
        return ServerError(state: state, message: text)
    }

    // MARK: The socket

    private func write(_ kind: UInt8, _ body: (inout [UInt8]) -> Void) {
        output.append(kind)
        let start = output.count
        output.appendInt32(0)
        body(&output)
        let length = Int32(output.count - start)
        output[start] = UInt8(truncatingIfNeeded: length >> 24)
        output[start + 1] = UInt8(truncatingIfNeeded: length >> 16)
        output[start + 2] = UInt8(truncatingIfNeeded: length >> 8)
        output[start + 3] = UInt8(truncatingIfNeeded: length)
    }

    private func flush() throws {
        if let tls {
            defer { output.removeAll(keepingCapacity: true) }
            return try tls.write(output)
        }
        applyWait()
        var sent = 0
        while sent < output.count {
            let written = output.withUnsafeBytes { buffer in
                Glibc.send(socket, buffer.baseAddress! + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                output.removeAll(keepingCapacity: true)
                if errno == EAGAIN || errno == EWOULDBLOCK { throw noAnswer() }
                throw ConnectionError(description: "writing to PostgreSQL failed (errno \(errno))")
            }
            sent += written
        }
        output.removeAll(keepingCapacity: true)
    }

    /// The next message: its kind and its body.
    private func readMessage() throws -> (UInt8, ArraySlice<UInt8>) {
        try fill(5)
        let kind = input[position]
        let length =
            Int(input[position + 1]) << 24 | Int(input[position + 2]) << 16 | Int(input[position + 3]) << 8 | Int(input[position + 4])
        guard length >= 4 else { throw ConnectionError(description: "a message of length \(length)") }
        try fill(1 + length)
        let body = input[(position + 5)..<(position + 1 + length)]
        position += 1 + length
        return (kind, body)
    }

    /// Reads until `count` unread bytes are buffered.
    private func fill(_ count: Int) throws {
        if end - position >= count { return }
        if position > 0 {
            let unread = end - position
            let from = position
            if unread > 0 { input.withUnsafeMutableBytes { buffer in _ = memmove(buffer.baseAddress!, buffer.baseAddress! + from, unread) } }
            position = 0
            end = unread
        }
        if input.count < count { input += [UInt8](repeating: 0, count: count - input.count + 65_536) }
        if tls == nil { applyWait() }
        while end < count {
            let start = end
            if let tls {
                let wait = answerWait
                do {
                    end += try input.withUnsafeMutableBytes { buffer in
                        try tls.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[start...]), within: wait)
                    }
                } catch is TLSInbox.NothingInTime {
                    throw noAnswer()
                }
                continue
            }
            let got = input.withUnsafeMutableBytes { buffer in Glibc.recv(socket, buffer.baseAddress! + start, buffer.count - start, 0) }
            if got <= 0 {
                if got < 0 && errno == EINTR { continue }
                if got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw noAnswer() }
                throw ConnectionError(description: got == 0 ? "PostgreSQL closed the connection" : "reading from PostgreSQL failed (errno \(errno))")
            }
            end += got
        }
    }

    /// Puts the session's `answerWait` on the socket, if the socket has another.
    private func applyWait() {
        let wanted = answerWait.map(WireConnection.milliseconds) ?? 0
        guard socketWaitMilliseconds != wanted else { return }
        WireConnection.setWait(socket, milliseconds: wanted)
        socketWaitMilliseconds = wanted
    }

    private func noAnswer() -> ConnectionError {
        ConnectionError(
            description: "PostgreSQL did not answer within \(Double(answerWait.map(WireConnection.milliseconds) ?? 0) / 1000) s", timedOut: true)
    }
}

/// Reads the fields of one message.
struct MessageReader {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    mutating func byte() throws -> UInt8 {
        guard index < bytes.endIndex else { throw WireConnection.ConnectionError(description: "a message ended early") }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func int16() throws -> Int16 {
        let slice = try self.bytes(2)
        return Int16(bitPattern: UInt16(slice[slice.startIndex]) << 8 | UInt16(slice[slice.startIndex + 1]))
    }

    mutating func int32() throws -> Int32 {
        let slice = try self.bytes(4)
        var value: UInt32 = 0
        for byte in slice { value = value << 8 | UInt32(byte) }
        return Int32(bitPattern: value)
    }

    mutating func bytes(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, bytes.endIndex - index >= count else { throw WireConnection.ConnectionError(description: "a message ended early") }
        defer { index += count }
        return bytes[index..<(index + count)]
    }

    /// A NUL-terminated string, or nil at the end of the message.
    mutating func cString() throws -> String? {
        guard index < bytes.endIndex else { return nil }
        guard let end = bytes[index...].firstIndex(of: 0) else { throw WireConnection.ConnectionError(description: "a string without its end") }
        defer { index = end + 1 }
        return String(decoding: bytes[index..<end], as: UTF8.self)
    }

    mutating func rest() -> ArraySlice<UInt8> {
        defer { index = bytes.endIndex }
        return bytes[index...]
    }
}

/// SCRAM-SHA-256 as a client (RFC 5802, RFC 7677), without channel binding.
struct SCRAM {
    /// The user name inside the exchange: empty for PostgreSQL, which takes it from the startup message.
    let user: String
    let password: String
    let nonce: String
    private(set) var authMessage = ""
    private(set) var serverKey: [UInt8] = []

    init(user: String = "", password: String, nonce: String) {
        self.user = user
        self.password = password
        self.nonce = nonce
    }

    var clientFirstBare: String { "n=\(user),r=\(nonce)" }
    var clientFirst: String { "n,," + clientFirstBare }

    /// The client's final message for the server's first.
    mutating func clientFinal(serverFirst: String) throws -> String {
        var fields: [Character: String] = [:]
        for part in serverFirst.split(separator: ",") where part.count >= 2 && part.dropFirst().first == "=" {
            fields[part.first!] = String(part.dropFirst(2))
        }
        guard let combined = fields["r"], combined.hasPrefix(nonce), let saltText = fields["s"], let salt = Data(base64Encoded: saltText),
            let iterationsText = fields["i"], let iterations = Int(iterationsText), iterations > 0, iterations <= 1_000_000
        else { throw WireConnection.ConnectionError(description: "an unreadable SCRAM challenge") }
        let salted = SCRAM.hi(Array(password.utf8), salt: Array(salt), iterations: iterations)
        let clientKey = SCRAM.hmac(salted, "Client Key")
        let storedKey = Array(SHA256.hash(data: clientKey))
        let withoutProof = "c=biws,r=\(combined)"
        authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof
        let signature = SCRAM.hmac(storedKey, authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        serverKey = SCRAM.hmac(salted, "Server Key")
        return withoutProof + ",p=" + Data(proof).base64EncodedString()
    }

    /// Whether the server's final message proves it knew the password.
    func verify(serverFinal: String) -> Bool {
        guard serverFinal.hasPrefix("v="), let signature = Data(base64Encoded: String(serverFinal.dropFirst(2).prefix { $0 != "," })) else {
            return false
        }
        return Array(signature) == SCRAM.hmac(serverKey, authMessage)
    }

    static func hmac(_ key: [UInt8], _ text: String) -> [UInt8] { hmac(key, Array(text.utf8)) }

    static func hmac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    /// PBKDF2-HMAC-SHA-256 for one block (RFC 5802's Hi).
    static func hi(_ password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var previous = Array(HMAC<SHA256>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))
        var result = previous
        for _ in 1..<iterations {
            previous = Array(HMAC<SHA256>.authenticationCode(for: previous, using: key))
            for index in result.indices { result[index] ^= previous[index] }
        }
        return result
    }
}

extension SCRAM {
    /// A nonce: 18 random bytes as base 64 (no comma, as the protocol needs).
    static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<18).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }
}

extension Array where Element == UInt8 {
    mutating func appendInt32(_ value: Int32) {
        let bits = UInt32(bitPattern: value)
        append(contentsOf: [
            UInt8(bits >> 24), UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 8), UInt8(truncatingIfNeeded: bits),
        ])
    }

    mutating func appendInt16(_ value: Int16) {
        let bits = UInt16(bitPattern: value)
        append(contentsOf: [UInt8(bits >> 8), UInt8(truncatingIfNeeded: bits)])
    }

    mutating func appendCString(_ text: String) {
        append(contentsOf: text.utf8)
        append(0)
    }
}

extension Sequence where Element == UInt8 {
    fileprivate var hex: String { map { String(format: "%02x", $0) }.joined() }
}
