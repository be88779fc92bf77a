import Foundation
import GRDB
import Logging
import Synchronization
import YibaoCore

/// The embedded default: one SQLite file in WAL mode with one writer and several readers, through GRDB.
///
/// Writes go through a group-commit queue: whatever write requests are waiting when the writer becomes
/// free run together in one `BEGIN IMMEDIATE` transaction, each inside its own savepoint, so a refusal
/// rolls back only its own work and one fsync covers many settlements. A request is acknowledged only
/// after its transaction committed.
///
/// A write waits for the writer at most `writeWait` (`DatabaseWait`): a writer stuck on a disk that
/// does not answer, or behind work that does not end, then fails the writes waiting for it as
/// unavailable (503 with Retry-After) instead of holding them for ever (`WriteWatch`).
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
    /// How long a write waits for the writer unless the task says otherwise (`DatabaseWait`): to be
    /// started, and once started, for its batch to commit. Nil: as long as it takes.
    public let writeWait: Duration?
    /// `writeWait` for the server (`yibao serve --write-wait`): the same as PostgreSQL's `answer_timeout`.
    public static let writeWaitDefault = Duration.seconds(20)

    private let pool: DatabasePool
    private let checkpointer: Checkpointer
    private let queue: WriteQueue
    private let watch: WriteWatch
    private let finished = DispatchSemaphore(value: 0)

    /// The work counted per statement on every connection, when a test asked for it; held here because
    /// the connections' traces point to it without retaining it.
    private let statementWork: StatementWork?

    /// Opens (creating if needed) the database at `path`; `checkpointInterval` is how often the log is
    /// copied into the database file (`Checkpointer`); `writeWait` bounds each write's wait for the writer.
    public convenience init(
        path: String, durability: Durability = .power, readers: Int = 4, checkpointInterval: Duration = .milliseconds(250), writeWait: Duration? = nil
    ) throws {
        try self.init(
            path: path, durability: durability, readers: readers, checkpointInterval: checkpointInterval, writeWait: writeWait, statementWork: nil)
    }

    /// Opens the database at `path` as above, counting each statement's work in `statementWork` on every
    /// connection (a diagnostic for tests).
    package init(
        path: String, durability: Durability = .power, readers: Int = 4, checkpointInterval: Duration = .milliseconds(250),
        writeWait: Duration? = nil,
        statementWork: StatementWork?
    ) throws {
        self.statementWork = statementWork
        self.writeWait = writeWait
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
        let queue = WriteQueue()
        self.queue = queue
        watch = WriteWatch(queue)
        let pool = self.pool
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
        let limit = DatabaseWait.current.limit(standard: writeWait)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            // A throwing job is rolled back to its savepoint (see `run`): the error must propagate out of
            // `work` for `WriteJob` to see it.
            let job = WriteJob(limit: limit) { db in
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

    /// True when a reader answers and the writer is not stuck: no batch with a bounded write in it has
    /// been running for longer than a probe waits (`DatabaseWait.probeLimit`).
    public func ping() async -> Bool {
        guard !queue.stalled(longerThan: DatabaseWait.probeLimit, at: .now) else { return false }
        return await readsAsProbe()
    }

    public func close() async {
        guard queue.close() else { return }
        let finished = self.finished
        let checkpointer = self.checkpointer
        let watch = self.watch
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                finished.wait()
                watch.stop()
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
///
/// The caller is answered once, by whichever comes first: its batch, or `WriteWatch` when the write
/// waited past its `limit` (then what its batch does later is not reported).
struct WriteJob: Sendable {
    struct Completion: Sendable {
        let succeeded: Bool
        let resume: @Sendable () -> Void
    }

    /// How long the write may wait to be started, and once started for its batch to commit; nil: as long
    /// as it takes.
    let limit: Duration?
    /// When it was queued, if it has a limit (the clock is read only then).
    let queued: ContinuousClock.Instant?
    private let body: @Sendable (Database) -> Completion
    private let report: @Sendable (any Error) -> Void
    private let answered = Answered()

    init(
        limit: Duration? = nil, _ work: @escaping @Sendable (Database) throws -> (@Sendable () -> Void),
        fail: @escaping @Sendable (any Error) -> Void
    ) {
        let answered = self.answered
        self.limit = limit
        self.queued = limit == nil ? nil : .now
        self.report = fail
        self.body = { db in
            do {
                let resume = try work(db)
                return Completion(succeeded: true, resume: { if answered.first() { resume() } })
            } catch {
                return Completion(succeeded: false, resume: { if answered.first() { fail(error) } })
            }
        }
    }

    func run(_ db: Database) -> Completion { body(db) }

    /// Answers the caller with `error` unless it was answered already; whether it was answered now.
    @discardableResult
    func fail(_ error: any Error) -> Bool {
        guard answered.first() else { return false }
        report(error)
        return true
    }

    /// Whether the write, still queued, should have started by `now`.
    func late(at now: ContinuousClock.Instant) -> Bool {
        guard let limit, let queued else { return false }
        return queued + limit <= now
    }

    /// Set by whoever answers the caller first.
    private final class Answered: Sendable {
        private let answered = Atomic<Bool>(false)
        func first() -> Bool { !answered.exchange(true, ordering: .acquiringAndReleasing) }
    }
}

/// The queue in front of the single writer thread.
final class WriteQueue: Sendable {
    private struct State {
        var jobs: [WriteJob] = []
        var closed = false
        /// The batch the writer is running, and since when.
        var running: [WriteJob] = []
        var runningSince = ContinuousClock.Instant.now
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
    /// and drained. The writer's previous batch is done when it asks.
    func next(max: Int) -> [WriteJob]? {
        while true {
            let taken: [WriteJob]?? = state.withLock { state in
                state.running = []
                if !state.jobs.isEmpty {
                    let taken = Array(state.jobs.prefix(max))
                    state.jobs.removeFirst(taken.count)
                    state.running = taken
                    state.runningSince = .now
                    return .some(taken)
                }
                return state.closed ? .some(nil) : .none
            }
            if let taken { return taken }
            ready.wait()
        }
    }

    /// The writes that waited past their limit at `now`: those still queued, taken off the queue (they
    /// will never run), and those of the running batch, which runs on.
    func overdue(at now: ContinuousClock.Instant) -> (notStarted: [WriteJob], unfinished: [WriteJob]) {
        state.withLock { state in
            var notStarted: [WriteJob] = []
            state.jobs.removeAll { job in
                guard job.late(at: now) else { return false }
                notStarted.append(job)
                return true
            }
            let since = state.runningSince
            let unfinished = state.running.filter { job in job.limit.map { since + $0 <= now } ?? false }
            return (notStarted, unfinished)
        }
    }

    /// Whether the running batch holds a write with a limit and has run for longer than `longerThan`.
    func stalled(longerThan: Duration, at now: ContinuousClock.Instant) -> Bool {
        state.withLock { state in state.runningSince + longerThan <= now && state.running.contains { $0.limit != nil } }
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

/// Answers the writes that waited for the writer past their limit, four times a second on a thread of
/// its own (so that a writer stuck in a write to disk does not hold it): a write not yet started is taken
/// off the queue and fails as unavailable with nothing written; a write whose batch started but has not
/// committed fails as unavailable saying it may have committed (its batch goes on, and the same request
/// again with its idempotency key answers what it did).
final class WriteWatch: Sendable {
    static let interval = Duration.milliseconds(250)
    private static let logger = Logger(label: "yibao.store")

    private let stopped = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(_ queue: WriteQueue) {
        let thread = Thread { [self] in
            Thread.nameCurrent("yibao-writewait")
            let nanoseconds = Int(WriteWatch.interval / .nanoseconds(1))
            while !stopped.load(ordering: .acquiring) {
                _ = wake.wait(timeout: .now() + .nanoseconds(nanoseconds))
                let overdue = queue.overdue(at: .now)
                let notStarted = overdue.notStarted.count { $0.fail(WriteWatch.notStarted) }
                let unfinished = overdue.unfinished.count { $0.fail(WriteWatch.unfinished) }
                // What the operator looks for in the log: the writer stuck, and how many requests it cost.
                if notStarted + unfinished > 0 {
                    WriteWatch.logger.warning(
                        "SQLite's writer did not answer in time (a disk that does not answer?): writes answered unavailable",
                        metadata: ["not_started": "\(notStarted)", "unfinished_may_have_committed": "\(unfinished)"])
                }
            }
            finished.signal()
        }
        thread.qualityOfService = .utility
        thread.start()
    }

    static let notStarted = StoreError.unavailable("the database's writer did not start this write within its wait: nothing was written")

    static let unfinished = StoreError.unavailable(
        "the database's writer did not finish this write within its wait once started: it may have committed "
            + "(the same request again, with its idempotency key, answers what it did)")

    /// Stops the thread.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        finished.wait()
    }
}
