import Dispatch
import Synchronization

/// The connections `PostgresBackend` runs transactions on when it pipelines (the default): at most
/// `capacity` open at once, each leased to one transaction's thread and taken back after it. A
/// connection that failed is closed instead of taken back.
final class WirePool: Sendable {
    struct Settings: Sendable {
        let host: String
        let port: Int
        let user: String
        let password: String?
        let database: String?
        /// Whether statements are named on their second run (`?prepared=off` turns it off).
        let prepare: Bool
    }

    private let settings: Settings
    private let slots: DispatchSemaphore
    private let idle = Mutex<[WireConnection]>([])

    init(_ settings: Settings, capacity: Int) {
        self.settings = settings
        slots = DispatchSemaphore(value: capacity)
    }

    /// A connection for this thread: an idle one, or a new one while fewer than `capacity` are open;
    /// otherwise waits for one (the caller is a thread of the backend's own pool, never an event loop
    /// or a cooperative thread).
    func lease() throws -> WireConnection {
        slots.wait()
        if let connection = idle.withLock({ $0.popLast() }) { return connection }
        do {
            return try WireConnection.connect(
                host: settings.host, port: settings.port, user: settings.user, password: settings.password, database: settings.database,
                prepare: settings.prepare)
        } catch {
            slots.signal()
            throw WireExecutor.map(error)
        }
    }

    /// Runs `work` on a leased connection in a session that `begin` opens with its first pipeline; the
    /// connection is taken back after it. A connection lost before the session sent its `COMMIT`
    /// committed nothing, so `work` runs again, once, on a new connection: an idle connection PostgreSQL
    /// has closed (a restart, a failover, a pooler's idle timeout) fails on its first use. Lost during
    /// the `COMMIT`, the outcome is unknown and the error goes to the caller.
    func session<T>(begin: String, waits: WaitCounter, audit: Bool, _ work: (WireExecutor) throws -> T) throws -> T {
        var retried = false
        while true {
            let connection = try lease()
            defer { giveBack(connection) }
            let executor = WireExecutor(connection: connection, waits: waits, begin: begin, pendingAudit: audit ? PendingAudit() : nil)
            do {
                return try work(executor)
            } catch {
                guard connection.broken && !executor.session.committing && !retried else { throw error }
                retried = true
            }
        }
    }

    /// Takes a connection back (or closes it, if it failed).
    func giveBack(_ connection: WireConnection) {
        if !connection.broken { idle.withLock { $0.append(connection) } }
        slots.signal()
    }

    /// Closes the idle connections.
    func close() {
        idle.withLock { $0.removeAll() }
    }
}

/// Runs SQL on one pipelining connection (`WireConnection`) inside one transaction or read session: each
/// call's statements go as one pipeline, the session's `BEGIN` with the first of them.
struct WireExecutor: SQLExecutor {
    /// The session's opening statement, until it is sent with the first pipeline.
    final class Session: @unchecked Sendable {
        var begin: String?
        var began = false
        /// Set once `COMMIT` is sent: from then on a lost connection may have committed.
        var committing = false
        init(begin: String) { self.begin = begin }
    }

    let connection: WireConnection
    let waits: WaitCounter
    let session: Session
    var pendingAudit: PendingAudit?
    var dialect: SQLDialect { .postgres }

    init(connection: WireConnection, waits: WaitCounter, begin: String, pendingAudit: PendingAudit? = nil) {
        self.connection = connection
        self.waits = waits
        self.session = Session(begin: begin)
        self.pendingAudit = pendingAudit
    }

    /// Whether anything was sent, so that the session has a transaction to end.
    var began: Bool { session.began }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        WireExecutor.rows(try answers([SQLStatement(sql, arguments)])[0])
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try answers([SQLStatement(sql, arguments)])[0].count
    }

    func executeBatch(_ statements: [SQLStatement]) throws -> [Int] {
        try answers(statements).map(\.count)
    }

    func queryBatch(_ statements: [SQLStatement]) throws -> [[SQLRow]] {
        try answers(statements).map(WireExecutor.rows)
    }

    /// Commits the transaction, if anything was sent in it.
    func commit() throws {
        guard began else { return }
        session.committing = true
        try execute("COMMIT", [])
    }

    /// Rolls the transaction back after a failure, if anything was sent in it and the connection still
    /// works (a lost connection's transaction ends with it).
    func rollback() {
        guard began && !connection.broken else { return }
        _ = try? execute("ROLLBACK", [])
    }

    /// Ends a read session: its `ROLLBACK` is sent without waiting.
    func end() {
        if began { connection.send("ROLLBACK") }
    }

    private func answers(_ statements: [SQLStatement]) throws -> [WireConnection.Answer] {
        var pipeline: [(sql: String, arguments: [SQLValue])] = []
        pipeline.reserveCapacity(statements.count + 1)
        let begin = session.begin
        if let begin {
            pipeline.append((begin, []))
            session.begin = nil
            session.began = true
        }
        for statement in statements { pipeline.append((connection.translate(statement.sql), statement.arguments)) }
        waits.count.add(1, ordering: .relaxed)
        do {
            let answers = try connection.run(pipeline)
            return begin == nil ? answers : Array(answers.dropFirst())
        } catch {
            throw WireExecutor.map(error)
        }
    }

    private static func rows(_ answer: WireConnection.Answer) -> [SQLRow] {
        answer.rows.map { SQLRow(columns: answer.columns, values: $0) }
    }

    /// The store's error for what the connection threw (as `PostgresExecutor.map` for postgres-nio's).
    static func map(_ error: any Error) -> any Error {
        switch error {
        case let server as WireConnection.ServerError:
            return PostgresExecutor.storeError(state: server.state, message: server.message)
        case let connection as WireConnection.ConnectionError:
            return StoreError.unavailable(connection.description)
        default:
            return error
        }
    }
}
