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
    private let checkpointer: Checkpointer
    private let queue = WriteQueue()
    private let finished = DispatchSemaphore(value: 0)

    /// The work counted per statement on every connection, when a test asked for it; held here because
    /// the connections' traces point to it without retaining it.
    private let statementWork: StatementWork?

    /// Opens (creating if needed) the database at `path`; `checkpointInterval` is how often the log is
    /// copied into the database file (`Checkpointer`).
    public convenience init(path: String, durability: Durability = .power, readers: Int = 4, checkpointInterval: Duration = .milliseconds(250)) throws
    {
        try self.init(path: path, durability: durability, readers: readers, checkpointInterval: checkpointInterval, statementWork: nil)
    }

    /// Opens the database at `path` as above, counting each statement's work in `statementWork` on every
    /// connection (a diagnostic for tests).
    package init(
        path: String, durability: Durability = .power, readers: Int = 4, checkpointInterval: Duration = .milliseconds(250),
        statementWork: StatementWork?
    ) throws {
        self.statementWork = statementWork
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = readers
        configuration.foreignKeysEnabled = true
        configuration.label = "yibao"
        let synchronous = durability == .power ? "FULL" : "NORMAL"
        configuration.prepareDatabase { db in
            statementWork?.install(on: db)
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try db.execute(sql: "PRAGMA cache_size = -16000")
            // Checkpoints run beside the writer (`Checkpointer`); the writer's own is the backstop.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Checkpointer.backstopPages)")
            try db.execute(sql: "PRAGMA journal_size_limit = \(Checkpointer.logSizeLimit)")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // Again on the writer, after the pool is open: GRDB's pool turns the log on after
            // `prepareDatabase` and sets `synchronous = NORMAL` on the writer as it does, so the setting
            // above did not hold there — until 2026-12-05 `power` flushed only at checkpoints, not at
            // every commit (the commits' `fdatasync`s, traced, were a few per second under load).
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                // Savepoint and statement journals in memory, on the writer only: each job of a batch runs
                // in a savepoint, and its journal otherwise spills to a temporary file past 64 KB. Not on
                // the readers: there the temporary files are the sorts and groupings of large reads (the
                // whole ledger verified at a first close), which in memory held 160 MB of a server with a
                // million people at its peak, against 64 KB journals on the writer.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
            checkpointer = try Checkpointer(path: path, interval: checkpointInterval)
        } catch {
            throw StoreError.configuration("cannot open SQLite database at \(path): \(error)")
        }
        let pool = self.pool
        let queue = self.queue
        let finished = self.finished
        let checkpointer = self.checkpointer
        // The writer is a dedicated thread, not a task: it must not wait for a turn on the cooperative
        // pool between batches while request handlers keep it busy.
        let thread = Thread {
            Thread.nameCurrent("yibao-writer")
            while let batch = queue.next(max: SQLiteBackend.batchSizeMax) {
                SQLiteBackend.run(batch, on: pool)
                checkpointer.catchUp(pool)
            }
            finished.signal()
        }
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    public func write<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            // A throwing job is rolled back to its savepoint (see `run`): the error must propagate out of
            // `work` for `WriteJob` to see it.
            let job = WriteJob { db in
                let executor = SQLiteExecutor(db: db, pendingAudit: PendingAudit())
                let value = try work(executor)
                try AuditRepository.flush(executor)
                return { continuation.resume(returning: value) }
            } fail: { error in
                continuation.resume(throwing: error)
            }
            if !queue.enqueue(job) { continuation.resume(throwing: StoreError.unavailable("the store is closed")) }
        }
    }

    /// Runs `work` on a reader in one deferred transaction (every statement sees the same snapshot),
    /// as GRDB's `read` does, but with the transaction's BEGIN and COMMIT prepared once per connection
    /// (`control`): GRDB's parse and prepare both on every read, a fifth of a reader's time on the
    /// settlement path (docs/performance.md). The readers are opened read-only, so `work` cannot write.
    public func read<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T {
        do {
            return try await pool.unsafeRead { db in
                try SQLiteBackend.control("BEGIN DEFERRED TRANSACTION", db)
                // Leave the transaction whatever happens: COMMIT, or ROLLBACK should COMMIT fail.
                defer {
                    do {
                        try SQLiteBackend.control("COMMIT", db)
                    } catch {
                        try? SQLiteBackend.control("ROLLBACK", db)
                    }
                }
                return try work(SQLiteExecutor(db: db))
            }
        } catch let error as DatabaseError {
            throw SQLiteExecutor.map(error)
        }
    }

    /// Copies the database into a new file at `destination` with SQLite's online backup API, in one step
    /// inside one read transaction: the copy is the database as of one moment, while writes go on.
    public func backup(to destination: String) async throws {
        let pool = self.pool
        try await Task.detached {
            try SQLiteBackend.copy(from: pool, to: destination)
        }.value
    }

    /// Copies the database file at `source` — in use by a running server or not — into a new file at
    /// `destination` (online backup; the copy is checked with `PRAGMA integrity_check`).
    public static func backup(databaseAt source: String, to destination: String) throws {
        guard FileManager.default.fileExists(atPath: source) else { throw StoreError.configuration("no database at \(source)") }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: source, configuration: configuration)
        } catch {
            throw StoreError.configuration("cannot open \(source): \(error)")
        }
        defer { try? pool.close() }
        try copy(from: pool, to: destination)
    }

    private static func copy(from pool: DatabasePool, to destination: String) throws {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError.configuration("\(destination) exists; a backup never overwrites a file")
        }
        do {
            let target = try DatabaseQueue(path: destination)
            try pool.backup(to: target)
            let check = try target.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
            try target.close()
            guard check == ["ok"] else { throw StoreError.configuration("the copy fails its integrity check: \(check.prefix(5))") }
        } catch let error as DatabaseError {
            try? FileManager.default.removeItem(atPath: destination)
            throw StoreError.configuration("backup to \(destination) failed: \(error)")
        }
    }

    public func close() async {
        guard queue.close() else { return }
        let finished = self.finished
        let checkpointer = self.checkpointer
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                finished.wait()
                checkpointer.stop()
                continuation.resume()
            }
        }
        try? pool.close()
    }

    /// Runs a batch: one transaction, a savepoint per job; continuations resume after the commit.
    ///
    /// A batch of one job needs no savepoint: its refusal rolls the transaction back instead. That also
    /// keeps a large job (an import, the load generator's seeding) fast: inside a savepoint SQLite keeps
    /// every page the job changes in its savepoint journal (in memory, `temp_store = MEMORY`), and cuts
    /// that journal back after each statement by walking it from its start, which grows with the job.
    private static func run(_ batch: [WriteJob], on pool: DatabasePool) {
        let savepoints = batch.count > 1
        do {
            let completions: [@Sendable () -> Void] = try pool.writeWithoutTransaction { db in
                try SQLiteBackend.control("BEGIN IMMEDIATE", db)
                var completions: [@Sendable () -> Void] = []
                completions.reserveCapacity(batch.count)
                var refusedAlone = false
                do {
                    for job in batch {
                        if savepoints { try SQLiteBackend.control("SAVEPOINT job", db) }
                        let completion = job.run(db)
                        // A job that threw is undone (to its savepoint, or the whole transaction when it
                        // is alone); its completion reports the error.
                        if savepoints {
                            if !completion.succeeded { try SQLiteBackend.control("ROLLBACK TO job", db) }
                            try SQLiteBackend.control("RELEASE job", db)
                        } else {
                            refusedAlone = !completion.succeeded
                        }
                        completions.append(completion.resume)
                    }
                    if refusedAlone {
                        // The refusal reports its own error, whatever the rollback says.
                        try? SQLiteBackend.control("ROLLBACK", db)
                    } else {
                        try SQLiteBackend.control("COMMIT", db)
                    }
                } catch {
                    try? SQLiteBackend.control("ROLLBACK", db)
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

extension SQLiteBackend {
    /// Runs a transaction's control statement (`BEGIN IMMEDIATE`, `SAVEPOINT job` …) prepared once per
    /// connection: `Database.execute(sql:)` parses and prepares its SQL on every call, and a batch runs
    /// two of these per job.
    fileprivate static func control(_ sql: String, _ db: Database) throws {
        try db.cachedStatement(sql: sql).execute()
    }
}

extension Thread {
    /// Names the calling thread as `top -H` and `perf` show it: the first thing a thread of the store's
    /// own does. Foundation names the system thread only once it exists, so a name set before `start()`
    /// is lost, and one set from outside after `start()` races the thread's first work (a write was seen
    /// on a writer still named as its parent). Linux keeps at most 15 bytes of it.
    static func nameCurrent(_ name: String) {
        assert(name.utf8.count <= 15, "Linux keeps at most 15 bytes of a thread's name")
        Thread.current.name = name
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

/// The queue in front of the single writer thread.
final class WriteQueue: Sendable {
    private struct State {
        var jobs: [WriteJob] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let ready = DispatchSemaphore(value: 0)

    /// Adds a job; false when the queue is closed.
    func enqueue(_ job: WriteJob) -> Bool {
        let queued = state.withLock { state -> Bool in
            if state.closed { return false }
            state.jobs.append(job)
            return true
        }
        if queued { ready.signal() }
        return queued
    }

    /// Blocks the writer thread until jobs are waiting and takes up to `max` of them; nil once closed
    /// and drained.
    func next(max: Int) -> [WriteJob]? {
        while true {
            let taken: [WriteJob]?? = state.withLock { state in
                if !state.jobs.isEmpty {
                    let taken = Array(state.jobs.prefix(max))
                    state.jobs.removeFirst(taken.count)
                    return .some(taken)
                }
                return state.closed ? .some(nil) : .none
            }
            if let taken { return taken }
            ready.wait()
        }
    }

    /// Stops accepting jobs; the writer drains what is queued and ends. False when already closed.
    func close() -> Bool {
        let first = state.withLock { state -> Bool in
            defer { state.closed = true }
            return !state.closed
        }
        if first { ready.signal() }
        return first
    }
}
