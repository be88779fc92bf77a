import Synchronization
import YibaoApp
import YibaoStore

/// A platform backend that aborts a chosen write transaction at a chosen statement, as a crash, a lost
/// connection or a killed process would: the transaction's work throws `SimulatedAbort` and the
/// database rolls it back. Everything else is passed to the real backend underneath.
public final class FaultInjectingBackend: StoreBackend {
    /// The error an aborted transaction throws.
    public struct SimulatedAbort: Error, CustomStringConvertible {
        /// The statement (1-based) the transaction was aborted before.
        public let statement: Int
        public var description: String { "simulated abort before statement \(statement) of a write transaction" }
    }

    /// The backend underneath.
    public let inner: any StoreBackend
    private let plan = Mutex<Int?>(nil)
    private let aborted = AbortCounter()

    /// Wraps a backend.
    public init(_ inner: any StoreBackend) { self.inner = inner }

    public var dialect: SQLDialect { inner.dialect }

    /// Aborts the next write transaction before its `statement`-th statement (1 aborts before any).
    /// A transaction with fewer statements commits, and the abort is dropped.
    public func abortNextWrite(atStatement statement: Int) { plan.withLock { $0 = max(1, statement) } }

    /// How many transactions were aborted so far.
    public var abortedCount: Int { aborted.count }

    public func write<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        guard
            let statement = plan.withLock({ plan in
                defer { plan = nil }; return plan
            })
        else { return try await inner.write(work) }
        let counter = aborted
        return try await inner.write { db in
            try work(AbortingExecutor(inner: db, abortBefore: statement, counter: counter))
        }
    }

    public func read<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        try await inner.read(work)
    }

    public func ping() async -> Bool { await inner.ping() }

    public func close() async { await inner.close() }

    public var roundTrips: Int? { inner.roundTrips }
}

/// Counts the statements of one transaction and throws before the chosen one.
final class AbortingExecutor: SQLExecutor, @unchecked Sendable {
    let inner: any SQLExecutor
    let abortBefore: Int
    let counter: AbortCounter
    private var statements = 0

    init(inner: any SQLExecutor, abortBefore: Int, counter: AbortCounter) {
        self.inner = inner
        self.abortBefore = abortBefore
        self.counter = counter
    }

    var dialect: SQLDialect { inner.dialect }
    var pendingAudit: PendingAudit? { inner.pendingAudit }

    func step() throws {
        statements += 1
        if statements == abortBefore {
            counter.increment()
            throw FaultInjectingBackend.SimulatedAbort(statement: statements)
        }
    }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try step()
        return try inner.query(sql, arguments)
    }

    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try step()
        return try inner.execute(sql, arguments)
    }

    /// Writes the database checks, as the executor underneath sends them (on PostgreSQL's pipelining
    /// connections held for the next round trip), so that an abort after them drops what was held.
    func writeTogether(
        _ statements: [SQLStatement], after first: [SQLStatement], expecting: [Int: Int], failure: @escaping @Sendable (any Error) -> any Error
    ) throws {
        try step()
        try inner.writeTogether(statements, after: first, expecting: expecting, failure: failure)
    }
}

/// How many transactions were aborted.
final class AbortCounter: Sendable {
    private let value = Mutex(0)
    var count: Int { value.withLock { $0 } }
    func increment() { value.withLock { $0 += 1 } }
}
