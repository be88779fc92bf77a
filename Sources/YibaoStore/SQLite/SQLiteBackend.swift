import Foundation
import GRDB
import Synchronization
import YibaoCore

/// The embedded default: one SQLite file in WAL mode with one writer and several readers, through GRDB.
///
/// Writes go through a group-commit queue: whatever write requests are waiting when the writer becomes
/// free run together in one `BEGIN IMMEDIATE` transaction, each inside its own savepoint, so a refusal
/// rolls back only its own work and one fsync covers many settlements. A request is acknowledged only
/// after its transaction committed.
public final class SQLiteBackend: StoreBackend {
    /// How much a committed transaction survives.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous=NORMAL`: survives a killed process; the last transactions may be lost on power loss.
        case process
        /// `synchronous=FULL`: every commit is on disk before it is acknowledged; survives power loss.
        case power
    }

    /// The most write requests committed together.
    public static let batchSizeMax = 128

    public let dialect = SQLDialect.sqlite
    private let pool: DatabasePool
    private let queue = WriteQueue()
    private let writer: Task<Void, Never>

    /// Opens (creating if needed) the database at `path`.
    public init(path: String, durability: Durability = .power, readers: Int = 4) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = readers
        configuration.foreignKeysEnabled = true
        configuration.label = "yibao"
        let synchronous = durability == .power ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try db.execute(sql: "PRAGMA cache_size = -16000")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError.configuration("cannot open SQLite database at \(path): \(error)")
        }
        let pool = self.pool
        let queue = self.queue
        writer = Task.detached {
            while let batch = await queue.next(max: SQLiteBackend.batchSizeMax) {
                await SQLiteBackend.run(batch, on: pool)
            }
        }
    }

    public func write<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            // A throwing job is rolled back to its savepoint (see `run`): the error must propagate out of
            // `work` for `WriteJob` to see it.
            let job = WriteJob { db in
                let value = try work(SQLiteExecutor(db: db))
                return { continuation.resume(returning: value) }
            } fail: { error in
                continuation.resume(throwing: error)
            }
            if !queue.enqueue(job) { continuation.resume(throwing: StoreError.unavailable("the store is closed")) }
        }
    }

    public func read<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        do {
            return try await pool.read { db in try work(SQLiteExecutor(db: db)) }
        } catch let error as DatabaseError {
            throw SQLiteExecutor.map(error)
        }
    }

    public func ping() async -> Bool {
        (try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    public func close() async {
        queue.close()
        await writer.value
        try? pool.close()
    }

    /// Runs a batch: one transaction, a savepoint per job; continuations resume after the commit.
    private static func run(_ batch: [WriteJob], on pool: DatabasePool) async {
        do {
            let completions: [@Sendable () -> Void] = try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                var completions: [@Sendable () -> Void] = []
                completions.reserveCapacity(batch.count)
                do {
                    for job in batch {
                        try db.execute(sql: "SAVEPOINT job")
                        let completion = job.run(db)
                        // A job that threw rolls back to its savepoint; its completion reports the error.
                        if !completion.succeeded {
                            try db.execute(sql: "ROLLBACK TO job")
                        }
                        try db.execute(sql: "RELEASE job")
                        completions.append(completion.resume)
                    }
                    try db.execute(sql: "COMMIT")
                } catch {
                    try? db.execute(sql: "ROLLBACK")
                    throw error
                }
                return completions
            }
            for completion in completions { completion() }
        } catch {
            let mapped = (error as? DatabaseError).map(SQLiteExecutor.map) ?? error
            for job in batch { job.fail(mapped) }
        }
    }
}

/// One queued write: `run` executes inside the batch transaction and returns how to resume the
/// caller once the batch commits; `fail` reports a batch that did not commit.
struct WriteJob: Sendable {
    struct Completion: Sendable {
        let succeeded: Bool
        let resume: @Sendable () -> Void
    }

    private let body: @Sendable (Database) -> Completion
    let fail: @Sendable (any Error) -> Void

    init(_ work: @escaping @Sendable (Database) throws -> (@Sendable () -> Void), fail: @escaping @Sendable (any Error) -> Void) {
        self.body = { db in
            do {
                return Completion(succeeded: true, resume: try work(db))
            } catch {
                return Completion(succeeded: false, resume: { fail(error) })
            }
        }
        self.fail = fail
    }

    func run(_ db: Database) -> Completion { body(db) }
}

/// The queue in front of the single writer.
final class WriteQueue: Sendable {
    private struct State {
        var jobs: [WriteJob] = []
        var waiter: CheckedContinuation<[WriteJob]?, Never>?
        var closed = false
    }

    private let state = Mutex(State())

    private enum Arrival {
        case closed
        case queued
        case handed(CheckedContinuation<[WriteJob]?, Never>)
    }

    /// Adds a job; false when the queue is closed.
    func enqueue(_ job: WriteJob) -> Bool {
        let arrival = state.withLock { state -> Arrival in
            if state.closed { return .closed }
            if let waiter = state.waiter {
                state.waiter = nil
                return .handed(waiter)
            }
            state.jobs.append(job)
            return .queued
        }
        switch arrival {
        case .closed: return false
        case .queued: return true
        case .handed(let waiter):
            waiter.resume(returning: [job])
            return true
        }
    }

    /// Waits for jobs and takes up to `max` of them; nil once closed and drained.
    func next(max: Int) async -> [WriteJob]? {
        await withCheckedContinuation { (continuation: CheckedContinuation<[WriteJob]?, Never>) in
            let ready: [WriteJob]?? = state.withLock { state in
                if !state.jobs.isEmpty {
                    let taken = Array(state.jobs.prefix(max))
                    state.jobs.removeFirst(taken.count)
                    return .some(taken)
                }
                if state.closed { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Stops accepting jobs; the writer drains what is queued and ends.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<[WriteJob]?, Never>? in
            state.closed = true
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: nil)
    }
}
