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

    /// True when the database answers (by default: a read of `SELECT 1`).
    func ping() async -> Bool

    /// Closes connections; further calls fail.
    func close() async

    /// How many times work has waited for the database's answer since the backend opened (a round
    /// trip to a database server); nil for a database inside the process (SQLite).
    var roundTrips: Int? { get }
}

extension StoreBackend {
    public var roundTrips: Int? { nil }

    public func ping() async -> Bool {
        (try? await read { try $0.queryOne("SELECT 1 AS one", [])?.int64("one") }) == 1
    }
}
