/// A database underneath the store: runs synchronous units of work in write transactions or read
/// sessions. The two implementations are `SQLiteBackend` (GRDB, embedded default) and
/// `PostgresBackend` (postgres-nio); both pass the same contract suite.
public protocol StoreBackend: Sendable {
    /// The dialect of this database.
    var dialect: SQLDialect { get }

    /// Runs `work` in a write transaction. Everything it writes commits together, or nothing does
    /// (a thrown error rolls the work back). `work` may be run again after a lost race, so it must
    /// not have effects outside the database.
    func write<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T

    /// Runs `work` in a read-only session that sees one consistent snapshot.
    func read<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor) throws -> T) async throws -> T

    /// True when the database answers (by default: a read of `SELECT 1`, waiting as a probe does:
    /// `DatabaseWait.probing`).
    func ping() async -> Bool

    /// Closes connections; further calls fail.
    func close() async

    /// How many times work has waited for the database's answer since the backend opened (a round
    /// trip to a database server); nil for a database inside the process (SQLite).
    var roundTrips: Int? { get }
}

/// How long the work of the current task may wait for the database's answer to one round trip, on a
/// database server (PostgreSQL's own connections). A request's work waits at most the backend's limit
/// (`answer_timeout` in the database URL): a server that is alive but stuck (it takes the bytes and
/// never answers) then fails the request as unavailable (503 with Retry-After) instead of holding its
/// thread for ever, and the statement is cancelled. Work that may legitimately run one statement for
/// long — migrations building an index, the daily close over a day's entries, the whole ledger verified —
/// runs `unbounded`; a readiness check waits less.
public enum DatabaseWait: Sendable, Equatable {
    /// The backend's limit.
    case standard
    /// As long as it takes.
    case unbounded
    /// At most this long.
    case atMost(Duration)

    @TaskLocal public static var current: DatabaseWait = .standard

    /// Runs `work` with no limit on the database's answers (long work; see the type).
    public static func unbounded<T: Sendable>(_ work: () async throws -> T) async rethrows -> T {
        try await $current.withValue(.unbounded, operation: work)
    }

    /// How long a probe of the database waits for it: the readiness check (`ping`, `/ready`) and the
    /// gauges `/metrics` reads. A stuck database is reported at once, not when a request's wait runs out.
    public static let probeLimit = Duration.seconds(3)

    /// Runs `work` as a probe: waiting at most `probeLimit` for each answer.
    public static func probing<T: Sendable>(_ work: () async throws -> T) async rethrows -> T {
        try await $current.withValue(.atMost(probeLimit), operation: work)
    }

    /// The limit for the current task, given the backend's.
    public func limit(standard: Duration?) -> Duration? {
        switch self {
        case .standard: return standard
        case .unbounded: return nil
        case .atMost(let wait): return standard.map { min($0, wait) } ?? wait
        }
    }
}

extension StoreBackend {
    public var roundTrips: Int? { nil }

    public func ping() async -> Bool { await readsAsProbe() }

    /// Whether a read of `SELECT 1` answers, waiting as a probe does (`DatabaseWait.probing`): the
    /// readiness check every backend makes (SQLite's adds its writer's).
    public func readsAsProbe() async -> Bool {
        await DatabaseWait.probing { (try? await read { try $0.queryOne("SELECT 1 AS one", [])?.int64("one") }) == 1 }
    }
}
