import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization
import YibaoCore

/// The production database: PostgreSQL through postgres-nio, for several stateless server instances.
///
/// Business transactions are synchronous units of work (the same code runs on SQLite's single
/// writer). Here each one runs on a thread of a dedicated pool, so no event-loop or cooperative thread
/// ever blocks, and leases a connection: by default one of the store's own pipelining connections
/// (`WirePool`: each executor call's statements go to PostgreSQL as one pipeline), or with
/// `?pipeline=off` one of postgres-nio's, whose answers the thread waits on. Rows a
/// transaction reads and then changes are locked with `SELECT … FOR UPDATE`; a transaction that loses
/// a race (deadlock, serialization failure) is rolled back and run again.
public final class PostgresBackend: StoreBackend {
    /// The most times a transaction that lost a race is run again.
    public static let conflictRetryMax = 8

    public let dialect = SQLDialect.postgres
    private let client: PostgresClient
    private let threads: NIOThreadPool
    private let runner: Task<Void, Never>
    private let logger: Logger
    private let inFlight = InFlight()
    private let waits = WaitCounter()
    private let prepared: PreparedStatements
    /// The pipelining connections transactions and reads run on; nil with `?pipeline=off`, when they
    /// run on postgres-nio's.
    private let wire: WirePool?
    /// How long a transaction waits for one of postgres-nio's connections (`?pipeline=off`) before it
    /// fails as unavailable (`leased`).
    private let leaseTimeout: Duration
    /// How long a request's work waits for one answer on the pipelining connections (`answer_timeout`
    /// in the URL, in seconds; `0` waits for ever): `DatabaseWait`.
    public let answerTimeout: Duration?

    /// `answer_timeout` when the URL does not say: far above any statement a request runs (they take
    /// milliseconds), and short enough that a cashier is told to retry instead of left waiting.
    public static let answerTimeoutDefault = Duration.seconds(20)

    /// How many times a transaction or read has waited for PostgreSQL's answer since this backend
    /// opened: the round trips that settle how fast the store is on PostgreSQL (`/metrics`,
    /// `bench/postgres`).
    public var roundTrips: Int? { waits.count.load(ordering: .relaxed) }

    /// Connects to `url` (`postgres://user:password@host:port/database`), with at most `connections`
    /// concurrent connections. Statements run often are prepared once per connection
    /// (`PreparedStatements`) unless the URL ends in `?prepared=off` (for a pooler that cannot keep
    /// them, such as PgBouncer before 1.21 in transaction mode).
    /// With `?pipeline=off`, a transaction waits at most `leaseTimeout` for a connection.
    public init(url: String, connections: Int = 16, leaseTimeout: Duration = .seconds(10), logger: Logger = Logger(label: "yibao.postgres")) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, let user = components.user
        else {
            throw StoreError.configuration("a database URL looks like postgres://user:password@127.0.0.1:5432/yibao")
        }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        let tls = try PostgresTLS(query: components.queryItems ?? [])
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: tls.forClient
        )
        configuration.options.maximumConnections = connections
        configuration.options.minimumConnections = 0
        let prepare = components.queryItems?.first { $0.name == "prepared" }?.value != "off"
        if let given = components.queryItems?.first(where: { $0.name == "answer_timeout" })?.value {
            guard let seconds = Double(given), seconds >= 0, seconds <= 86_400 else {
                throw StoreError.configuration("answer_timeout in the database URL is a number of seconds (0 for no limit), not \(given)")
            }
            answerTimeout = seconds == 0 ? nil : .milliseconds(Int64(seconds * 1000))
        } else {
            answerTimeout = PostgresBackend.answerTimeoutDefault
        }
        prepared = PreparedStatements(enabled: prepare)
        wire =
            components.queryItems?.first { $0.name == "pipeline" }?.value == "off"
            ? nil
            : WirePool(
                WirePool.Settings(
                    host: host, port: components.port ?? 5432, user: user, password: components.password,
                    database: database.isEmpty ? nil : database, prepare: prepare, tls: tls),
                capacity: connections)
        self.logger = logger
        self.leaseTimeout = leaseTimeout
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        threads = NIOThreadPool(numberOfThreads: connections + 2)
        threads.start()
        let client = self.client
        runner = Task.detached { await client.run() }
    }

    public func write<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await transaction(work)
            } catch StoreError.conflict(let detail) where attempt < PostgresBackend.conflictRetryMax {
                attempt += 1
                logger.debug("transaction conflict, retrying", metadata: ["attempt": "\(attempt)", "detail": "\(detail)"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
            }
        }
    }

    private func transaction<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        try inFlight.enter()
        defer { inFlight.leave() }
        if let wire {
            let waits = self.waits
            let wait = DatabaseWait.current.limit(standard: answerTimeout)
            let queued = ContinuousClock.now
            return try await threads.runIfActive {
                try wire.session(begin: "BEGIN", waits: waits, audit: true, answerWait: wait, queued: queued) { executor in
                    do {
                        let value = try work(executor)
                        try AuditRepository.flush(executor)
                        try executor.commit()
                        return value
                    } catch {
                        executor.rollback()
                        throw error
                    }
                }
            }
        }
        let logger = self.logger
        let threads = self.threads
        let waits = self.waits
        let prepared = self.prepared
        return try await leased { connection in
            try await threads.runIfActive {
                // BEGIN is sent without waiting for it: the connection answers in order, so the first
                // answer the work waits for comes after BEGIN's, which every wait checks.
                let executor = PostgresExecutor(
                    connection: connection, logger: logger, waits: waits, prepared: prepared, pendingAudit: PendingAudit(), begun: "BEGIN")
                do {
                    let value = try work(executor)
                    try AuditRepository.flush(executor)
                    try executor.execute("COMMIT", [])
                    return value
                } catch {
                    _ = try? executor.execute("ROLLBACK", [])
                    throw error
                }
            }
        }
    }

    public func read<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        try inFlight.enter()
        defer { inFlight.leave() }
        if let wire {
            let waits = self.waits
            let wait = DatabaseWait.current.limit(standard: answerTimeout)
            let queued = ContinuousClock.now
            return try await threads.runIfActive {
                try wire.session(
                    begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", waits: waits, audit: false, answerWait: wait, queued: queued
                ) { executor in
                    // A read-only session has nothing to keep: its ROLLBACK is sent without waiting (its
                    // answer is read before the connection's next pipeline).
                    defer { executor.end() }
                    return try work(executor)
                }
            }
        }
        let logger = self.logger
        let threads = self.threads
        let waits = self.waits
        let prepared = self.prepared
        return try await leased { connection in
            try await threads.runIfActive {
                let executor = PostgresExecutor(
                    connection: connection, logger: logger, waits: waits, prepared: prepared, begun: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                )
                // A read-only session has nothing to keep: its ROLLBACK is sent without waiting (the
                // connection runs it before anything the next lease sends).
                defer { executor.send("ROLLBACK") }
                return try work(executor)
            }
        }
    }

    /// Runs `body` on one of postgres-nio's connections, waiting at most `leaseTimeout` for it (then
    /// `StoreError.unavailable`, answered 503 with Retry-After).
    /// postgres-nio's pool waits for a connection as long as it takes, and goes on retrying one that
    /// PostgreSQL refuses (down, or a certificate `sslmode=verify-full` does not trust): without the
    /// bound an instance hung at start, and every request hung while the database was away. The bound
    /// is on the lease alone: once `body` has a connection, its answer is awaited, so work that may
    /// have committed is never reported as failed.
    private func leased<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = self.client
        let timeout = leaseTimeout
        let started = Flag()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    started.value.store(true, ordering: .sequentiallyConsistent)
                    return try await body(connection)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            while true {
                do {
                    guard let outcome = try await group.next() else { throw CancellationError() }
                    if let value = outcome {
                        group.cancelAll()
                        return value
                    }
                    // The deadline: give up the lease unless the work already has its connection; either
                    // way the work's own outcome (a value, its error, or the cancelled lease) is awaited.
                    if !started.value.load(ordering: .sequentiallyConsistent) { group.cancelAll() }
                } catch {
                    group.cancelAll()
                    if !started.value.load(ordering: .sequentiallyConsistent) {
                        throw StoreError.unavailable("no connection to PostgreSQL within \(timeout) (see the log for why)")
                    }
                    throw error
                }
            }
        }
    }

    /// Refuses new work, lets the transactions in flight finish, then stops the pool and its threads.
    /// (Stopping the pool under a transaction left that transaction's query unanswered for ever.)
    public func close() async {
        await inFlight.closeAndWait()
        wire?.close()
        runner.cancel()
        await runner.value
        try? await threads.shutdownGracefully()
    }
}

/// Counts the waits for PostgreSQL's answers (`PostgresBackend.roundTrips`).
/// Set once, read from another task (`PostgresBackend.leased`).
private final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

final class WaitCounter: Sendable {
    let count = Atomic<Int>(0)
}

/// The transactions and reads running on a backend, so that closing it waits for them instead of
/// stopping the connection pool under them; once closing, new work is refused (`StoreError.unavailable`).
private final class InFlight: Sendable {
    private struct State {
        var count = 0
        var closing = false
        var idle: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func enter() throws {
        let admitted = state.withLock { state -> Bool in
            guard !state.closing else { return false }
            state.count += 1
            return true
        }
        guard admitted else { throw StoreError.unavailable("the store is closed") }
    }

    func leave() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count -= 1
            guard state.closing, state.count == 0 else { return [] }
            defer { state.idle = [] }
            return state.idle
        }
        for waiter in waiters { waiter.resume() }
    }

    func closeAndWait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                state.closing = true
                guard state.count > 0 else { return true }
                state.idle.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}

/// Runs SQL on one PostgreSQL connection, waiting for each answer (or each batch's answers) on the
/// current (non-event-loop) thread.
struct PostgresExecutor: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    let waits: WaitCounter
    let prepared: PreparedStatements
    var pendingAudit: PendingAudit? = nil
    /// The statement that opened the session (BEGIN), sent without waiting; checked after each wait.
    private let begin: EventLoopFuture<PostgresQueryResult>?
    var dialect: SQLDialect { .postgres }

    init(
        connection: PostgresConnection, logger: Logger, waits: WaitCounter, prepared: PreparedStatements,
        pendingAudit: PendingAudit? = nil, begun: String? = nil
    ) {
        self.connection = connection
        self.logger = logger
        self.waits = waits
        self.prepared = prepared
        self.pendingAudit = pendingAudit
        begin = begun.map { connection.query(PostgresQuery(unsafeSQL: $0), logger: logger) }
    }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try PostgresExecutor.rows(try answers([SQLStatement(sql, arguments)], want: .rows)[0])
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try answers([SQLStatement(sql, arguments)], want: .count)[0].count
    }

    /// Hands every statement to the connection before waiting: postgres-nio queues them and sends each
    /// as soon as the one before it is answered, on the event loop, so this thread wakes once for the
    /// whole batch instead of once per statement.
    func executeBatch(_ statements: [SQLStatement]) throws -> [Int] {
        try answers(statements, want: .count).map(\.count)
    }

    /// Hands every query to the connection before waiting, as `executeBatch`.
    func queryBatch(_ statements: [SQLStatement]) throws -> [[SQLRow]] {
        try answers(statements, want: .rows).map(PostgresExecutor.rows)
    }

    /// Sends a statement whose answer nobody waits for (a read session's ROLLBACK).
    func send(_ sql: String) {
        _ = connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Sends `statements` in order and waits for their answers: by name when the statement is
    /// prepared on this connection, unnamed otherwise (`PreparedStatements`). A preparation is sent
    /// just before the unnamed statement it is for; the connection answers everything in order, so
    /// nothing waits for it. After a failure the first failure is thrown (what was sent after it in
    /// the same transaction failed too, as PostgreSQL refuses everything in an aborted transaction).
    private func answers(_ statements: [SQLStatement], want: PreparedStatements.Want) throws -> [StatementAnswer] {
        var pending: [(answer: EventLoopFuture<StatementAnswer>, named: Int?)] = []
        pending.reserveCapacity(statements.count)
        let connection = self.connection
        let prepared = self.prepared
        for statement in statements {
            switch prepared.plan(statement.sql, statement.arguments, want: want, on: connection) {
            case .unnamed(let sql):
                pending.append((unnamed(sql, statement.arguments), nil))
            case .prepare(let sql, let named, let id):
                connection.prepare(query: named).whenComplete { prepared.prepared(id, on: connection, $0) }
                pending.append((unnamed(sql, statement.arguments), nil))
            case .named(let query, let id):
                pending.append((PreparedStatements.execute(query, statement.arguments, want: want), id))
            }
        }
        waits.count.add(1, ordering: .relaxed)
        var answers: [StatementAnswer] = []
        answers.reserveCapacity(statements.count)
        var failure: (any Error)?
        for (future, id) in pending {
            do {
                answers.append(try future.wait())
            } catch {
                if failure == nil { failure = error }
                if let id { prepared.failed(id, on: connection, error) }
            }
        }
        try checkBegun()
        if let failure { throw PostgresExecutor.map(failure) }
        return answers
    }

    /// Sends `sql` (with PostgreSQL's placeholders) unnamed.
    private func unnamed(_ sql: String, _ arguments: [SQLValue]) -> EventLoopFuture<StatementAnswer> {
        connection.query(PostgresQuery(unsafeSQL: sql, binds: PostgresExecutor.bindings(arguments)), logger: logger).map {
            StatementAnswer(rows: $0.rows, count: $0.metadata.rows ?? 0)
        }
    }

    private static func rows(_ answer: StatementAnswer) throws -> [SQLRow] {
        guard let first = answer.rows.first else { return [] }
        let columns = first.map(\.columnName)
        return try answer.rows.map { row in
            SQLRow(columns: columns, values: try row.map(PostgresExecutor.value))
        }
    }

    /// Throws if the session's BEGIN failed (then nothing after it ran in a transaction). Its answer
    /// came before any answer waited for since, so this does not wait.
    private func checkBegun() throws {
        guard let begin else { return }
        do {
            _ = try begin.wait()
        } catch {
            throw PostgresExecutor.map(error)
        }
    }

    static func bindings(_ arguments: [SQLValue]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .integer(let number): binds.append(number)
            case .text(let text): binds.append(text)
            case .null: binds.appendNull()
            }
        }
        return binds
    }

    /// A cell's value. Every statement runs through the extended protocol, whose answers postgres-nio
    /// always asks for in binary; the cells of a prepared statement's rows (`PreparedQuery.execute`)
    /// still carry the text format its description came with, so the format is set here.
    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        var cell = cell
        cell.format = .binary
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        default: return .text(try cell.decode(String.self))
        }
    }

    /// The SQLSTATE of an error PostgreSQL sent: postgres-nio reports it as a `PSQLError` for unnamed
    /// statements and as a `PostgresError` for prepared ones.
    static func sqlState(_ error: any Error) -> String? {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] }
        if case .server(let message) = error as? PostgresError { return message.fields[.sqlState] }
        return nil
    }

    /// The store's error for an error from postgres-nio.
    static func map(_ error: any Error) -> any Error {
        let message: String?
        if let error = error as? PSQLError {
            if error.serverInfo == nil, error.code == .serverClosedConnection || error.code == .connectionError || error.code == .poolClosed {
                return StoreError.unavailable("\(error.code)")
            }
            message = error.serverInfo?[.message]
        } else if let error = error as? PostgresError {
            switch error {
            case .connectionClosed: return StoreError.unavailable("connection closed")
            case .server(let server): message = server.fields[.message]
            case .protocol: return error
            }
        } else {
            return error
        }
        guard let state = sqlState(error) else { return error }
        return storeError(state: state, message: message ?? state)
    }

    /// The store's error for an SQLSTATE and its message.
    static func storeError(state: String, message: String) -> any Error {
        let detail = message.isEmpty ? state : message
        switch state {
        case "23505": return StoreError.uniqueViolation(detail)
        case "23514": return StoreError.constraint(detail)
        // Only a write's expected count divides by zero (`SQLExecutor.combined`).
        case "22012": return StoreError.decoding("a write changed another number of rows than expected (\(detail))")
        case "40001", "40P01", "55P03": return StoreError.conflict(detail)
        default: return StoreError.unavailable("PostgreSQL \(state): \(detail)")
        }
    }
}

/// Rewrites `?` placeholders to PostgreSQL's `$1, $2 …` (outside quoted text). `PreparedStatements`
/// keeps each statement's translation, so a statement is translated once.
enum PostgresPlaceholders {
    /// `sql` with `$n` placeholders; with `casts`, each followed by its argument's type as a cast
    /// (`$1::int8`, `$2::text`; none for a null), as a statement is prepared (`PreparedStatements.named`).
    static func translate(_ sql: String, casts: [SQLValue]? = nil) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var inQuote = false
        for character in sql {
            if character == "'" { inQuote.toggle() }
            if character == "?" && !inQuote {
                number += 1
                output += "$\(number)"
                if let casts, number <= casts.count {
                    switch casts[number - 1] {
                    case .integer: output += "::int8"
                    case .text: output += "::text"
                    case .null: break
                    }
                }
            } else {
                output.append(character)
            }
        }
        return output
    }
}

extension PostgresBackend {
    /// Runs statements outside a transaction on the database of `url` (CREATE / DROP DATABASE): for
    /// tests, benchmarks and `yibao migrate --create-database`.
    public static func administer(url: String, statements: [String], logger: Logger = Logger(label: "yibao.postgres.admin")) async throws {
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user else {
            throw StoreError.configuration("a database URL looks like postgres://user:password@127.0.0.1:5432/yibao")
        }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: try PostgresTLS(query: components.queryItems ?? []).forConnection
        )
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// `url` with its database name replaced.
    public static func url(_ url: String, database: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + database
        return components.string ?? url
    }
}

extension PostgresTLS {
    /// The choice as postgres-nio's pool takes it (`?pipeline=off`).
    var forClient: PostgresClient.Configuration.TLS {
        switch mode {
        case .disable, .allow: .disable
        case .prefer: .prefer(configuration())
        case .require, .verifyCA, .verifyFull: .require(configuration())
        }
    }

    /// The choice as one postgres-nio connection takes it (`PostgresBackend.administer`).
    var forConnection: PostgresConnection.Configuration.TLS {
        get throws {
            switch mode {
            case .disable, .allow: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: configuration()))
            case .require, .verifyCA, .verifyFull: .require(try NIOSSLContext(configuration: configuration()))
            }
        }
    }
}
