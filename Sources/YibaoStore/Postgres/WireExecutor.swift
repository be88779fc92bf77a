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
        /// How connections are encrypted (`sslmode`, `sslrootcert`).
        let tls: PostgresTLS
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
    /// With a `deadline`, a connection not had by then fails as unavailable, and a new one gets at most
    /// the time left to connect.
    func lease(new: Bool = false, deadline: ContinuousClock.Instant? = nil) throws -> WireConnection {
        var connectWithin = WireConnection.connectTimeoutMilliseconds
        if let deadline {
            let left = WirePool.milliseconds(until: deadline)
            guard left > 0, slots.wait(timeout: .now() + .milliseconds(left)) == .success else { throw WirePool.late }
            connectWithin = Int32(min(Int(connectWithin), left))
        } else {
            slots.wait()
        }
        if !new, let connection = idle.withLock({ $0.popLast() }) { return connection }
        do {
            return try WireConnection.connect(
                host: settings.host, port: settings.port, user: settings.user, password: settings.password, database: settings.database,
                prepare: settings.prepare, tls: settings.tls, connectTimeout: connectWithin)
        } catch {
            slots.signal()
            throw WireExecutor.map(error)
        }
    }

    /// Runs `work` on a leased connection in a session that `begin` opens with its first pipeline; the
    /// connection is taken back after it. A connection lost before the session sent its `COMMIT`
    /// committed nothing, so `work` runs again, once, on a new connection: an idle connection PostgreSQL
    /// has closed (a restart, a failover, a pooler's idle timeout) fails on its first use. Lost during
    /// the `COMMIT`, the outcome is unknown: the error goes to the caller saying it may have committed.
    /// Each answer is waited for at most `answerWait` (nil: as long as it takes); one that did not come
    /// in time fails the session without the retry, as a server that is stuck would only be waited for
    /// again. The work must also start within `answerWait` of `queued`, when the caller asked for it:
    /// while PostgreSQL does not answer, the work queued behind the sessions waiting for it fails as
    /// unavailable as it reaches a thread, instead of each waiting its turn and then its own wait.
    func session<T>(
        begin: String, waits: WaitCounter, audit: Bool, answerWait: Duration?, queued: ContinuousClock.Instant,
        _ work: (WireExecutor) throws -> T
    ) throws -> T {
        let deadline = answerWait.map { queued + $0 }
        var retried = false
        while true {
            if let deadline, ContinuousClock.now >= deadline { throw WirePool.late }
            // The retry takes a new connection: the idle ones may have been closed with the one that failed.
            let connection = try lease(new: retried, deadline: deadline)
            defer { giveBack(connection) }
            connection.answerWait = answerWait
            let executor = WireExecutor(connection: connection, waits: waits, begin: begin, pendingAudit: audit ? PendingAudit() : nil)
            do {
                return try work(executor)
            } catch {
                // A connection lost or silent once the COMMIT was sent may have committed.
                if connection.broken && executor.session.committing, case StoreError.unavailable(let detail) = error {
                    throw StoreError.unavailable(
                        "\(detail) during COMMIT: the transaction may have committed (the same request again, with its idempotency key, answers what it did)"
                    )
                }
                guard connection.broken && !connection.timedOut && !executor.session.committing && !retried else { throw error }
                retried = true
            }
        }
    }

    /// Work that could not start within its wait.
    static let late = StoreError.unavailable("PostgreSQL did not answer in time for the work to start (answer_timeout)")

    static func milliseconds(until deadline: ContinuousClock.Instant) -> Int {
        let left = deadline - ContinuousClock.now
        return left <= .zero ? 0 : WireConnection.milliseconds(left)
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
        /// Writes held for the next pipeline (`writeTogether`), each run with how its errors are told.
        var held: [(statements: [SQLStatement], failure: @Sendable (any Error) -> any Error)] = []
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

    /// Holds the writes for the transaction's next pipeline: the database checks their counts
    /// (`SQLExecutor.combined`), so nothing waits for their answer, and a transaction that ends with them
    /// sends them with its `COMMIT`.
    func writeTogether(
        _ statements: [SQLStatement], after first: [SQLStatement], expecting: [Int: Int],
        failure: @escaping @Sendable (any Error) -> any Error
    ) throws {
        session.held.append((first + Self.together(statements, expecting: expecting), failure))
    }

    /// Commits the transaction, if anything was sent or held in it: the held writes and `COMMIT` go as
    /// one pipeline. A transaction that failed earlier (an error a caller let pass) is not committed:
    /// PostgreSQL answers its `COMMIT` with `ROLLBACK`, and that is an error here.
    func commit() throws {
        guard began || !session.held.isEmpty else { return }
        // A transaction of held writes alone sends them before its COMMIT: a connection found closed on
        // its first use (an idle one PostgreSQL dropped) has then committed nothing, and `WirePool` runs
        // the transaction again, which a pipeline that carried the COMMIT could not allow.
        if !began { _ = try answers([]) }
        session.committing = true
        let answer = try answers([SQLStatement("COMMIT", [])])[0]
        guard answer.tag == "COMMIT" else { throw StoreError.unavailable("PostgreSQL rolled the transaction back (\(answer.tag))") }
    }

    /// Rolls the transaction back after a failure, if anything was sent in it and the connection still
    /// works (a lost connection's transaction ends with it). Writes still held are dropped.
    func rollback() {
        session.held = []
        guard began && !connection.broken else { return }
        _ = try? execute("ROLLBACK", [])
    }

    /// Ends a read session: its `ROLLBACK` is sent without waiting.
    func end() {
        if began { connection.send("ROLLBACK") }
    }

    /// Runs `statements` as one pipeline, after the session's `BEGIN` if not yet sent and the writes
    /// held for it, and returns their answers. A held write's failure is told by its own `failure`.
    private func answers(_ statements: [SQLStatement]) throws -> [WireConnection.Answer] {
        var pipeline: [(sql: String, arguments: [SQLValue])] = []
        let held = session.held
        session.held = []
        pipeline.reserveCapacity(statements.count + 1 + held.reduce(0) { $0 + $1.statements.count })
        let begin = session.begin
        if let begin {
            pipeline.append((begin, []))
            session.begin = nil
            session.began = true
        }
        for group in held {
            for statement in group.statements { pipeline.append((connection.translate(statement.sql), statement.arguments)) }
        }
        let skipped = pipeline.count
        for statement in statements { pipeline.append((connection.translate(statement.sql), statement.arguments)) }
        waits.count.add(1, ordering: .relaxed)
        do {
            let answers = try connection.run(pipeline)
            return skipped == 0 ? answers : Array(answers.dropFirst(skipped))
        } catch let error as WireConnection.ServerError where error.index < skipped {
            var end = begin == nil ? 0 : 1
            for group in held {
                end += group.statements.count
                if error.index < end { throw group.failure(WireExecutor.map(error)) }
            }
            throw WireExecutor.map(error)
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
