import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Which statements PostgreSQL parses and plans once per connection (named prepared statements)
/// instead of for every execution.
///
/// Parsing, analysing and planning the unnamed statements took 39 % of PostgreSQL's CPU per
/// settlement (docs/performance.md). A statement is named once it has run `threshold` times in this
/// process, so reports and one-off statements stay unnamed and each connection keeps at most
/// `perConnectionMax` of them. The name covers the SQL, what the caller wants back (rows or a count)
/// and the types of its arguments, because PostgreSQL fixes a named statement's parameter types when
/// it parses it.
///
/// postgres-nio prepares a name on a connection the first time it is executed there, and holds back
/// that execution (and only that one) until the preparation is answered. Statements sent after it
/// would overtake it, so the executor waits for everything before a first use and for the first use
/// itself before it sends anything more (`PostgresExecutor.answers`). A preparation that fails leaves
/// the name broken on that connection for good (postgres-nio remembers the error), so a first use
/// that fails for any reason a preparation can fail makes the statement unnamed on that connection.
final class PreparedStatements: Sendable {
    /// How many times a statement runs before it is named.
    static let threshold = 3
    /// The most statements named on one connection.
    static let perConnectionMax = 256
    /// The most distinct statements remembered (they are constants in the code; a bound protects
    /// memory from statements built with a varying number of values).
    static let entriesMax = 4096

    /// What the caller wants back from a statement.
    enum Want: UInt8, Sendable {
        /// The rows (a query, or a write with `RETURNING`).
        case rows
        /// How many rows were written (an `INSERT`, `UPDATE` or `DELETE` without `RETURNING`).
        case count
    }

    /// How to send one statement on one connection.
    enum Plan: Sendable {
        /// As an unnamed statement, parsed and planned on each execution.
        case unnamed
        /// By its name: the connection has prepared it.
        case named(NamedStatement.Identity)
        /// By its name for the first time on this connection: prepared, then executed.
        case firstUse(NamedStatement.Identity)
    }

    private struct Entry {
        let identity: NamedStatement.Identity?
        var uses = 0
    }

    private struct Connection {
        var prepared: Set<String> = []
        var unusable: Set<String> = []
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var connections: [PostgresConnection.ID: Connection] = [:]
    }

    /// The most connections remembered. Closed connections are not reported, so past this bound the
    /// record starts again; a connection forgotten while open only waits once more per statement (its
    /// names are still prepared there, so postgres-nio executes them at once).
    static let connectionsMax = 1024

    private let state = Mutex(State())
    private let enabled: Bool

    /// Names statements when `enabled`; otherwise every statement is sent unnamed.
    init(enabled: Bool = true) {
        self.enabled = enabled
    }

    /// How `sql` with `arguments` is sent on `connection`.
    func plan(_ sql: String, _ arguments: [SQLValue], want: Want, connection: PostgresConnection.ID) -> Plan {
        guard enabled else { return .unnamed }
        var key = want == .rows ? "r" : "c"
        key.reserveCapacity(sql.utf8.count + arguments.count + 2)
        for argument in arguments {
            switch argument {
            case .integer: key.append("i")
            case .text: key.append("t")
            case .null: key.append("n")
            }
        }
        key.append("|")
        key.append(sql)
        return state.withLock { state in
            var entry: Entry
            if let known = state.entries[key] {
                entry = known
            } else {
                guard state.entries.count < PreparedStatements.entriesMax else { return .unnamed }
                let identity =
                    PreparedStatements.nameable(sql, want: want)
                    ? NamedStatement.Identity(
                        name: "yibao_\(state.entries.count)",
                        sql: PostgresPlaceholders.translate(sql) + (want == .count ? " RETURNING 1" : ""),
                        types: arguments.map(PreparedStatements.type))
                    : nil
                entry = Entry(identity: identity)
            }
            entry.uses += 1
            state.entries[key] = entry
            guard let identity = entry.identity, entry.uses >= PreparedStatements.threshold else { return .unnamed }
            let known = state.connections[connection, default: Connection()]
            if known.prepared.contains(identity.name) { return .named(identity) }
            if known.unusable.contains(identity.name) || known.prepared.count >= PreparedStatements.perConnectionMax {
                return .unnamed
            }
            return .firstUse(identity)
        }
    }

    /// Records the answer to a first use on `connection`.
    func firstUse(of identity: NamedStatement.Identity, on connection: PostgresConnection.ID, failed error: (any Error)?) {
        state.withLock { state in
            if state.connections.count >= PreparedStatements.connectionsMax && state.connections[connection] == nil {
                state.connections.removeAll()
            }
            if let error, PreparedStatements.mayHaveFailedPreparing(error) {
                state.connections[connection, default: Connection()].unusable.insert(identity.name)
            } else {
                state.connections[connection, default: Connection()].prepared.insert(identity.name)
            }
        }
    }

    /// Records that a statement prepared on `connection` failed. If the connection no longer has it
    /// (`26000`: a pooler in between, or `DISCARD ALL`) or its result changed shape under it (`0A000`,
    /// "cached plan must not change result type": a migration while this server runs), the statement
    /// is sent unnamed on that connection from now on, so the failure is not repeated for ever.
    func failed(_ identity: NamedStatement.Identity, on connection: PostgresConnection.ID, _ error: any Error) {
        guard let error = error as? PSQLError, let code = error.serverInfo?[.sqlState], code == "26000" || code == "0A000" else { return }
        state.withLock { state in
            state.connections[connection, default: Connection()].prepared.remove(identity.name)
            state.connections[connection, default: Connection()].unusable.insert(identity.name)
        }
    }

    /// Whether a statement can be named: a query or a write. postgres-nio 1.33 gives no command tag for
    /// a named statement (its `execute` for statements without rows stops the process: the row stream
    /// asserts it was consumed), so a write whose count is wanted is named with `RETURNING 1` added and
    /// counted by its rows: only an `INSERT`, `UPDATE` or `DELETE` that returns nothing yet.
    static func nameable(_ sql: String, want: Want) -> Bool {
        let first = sql.drop(while: \.isWhitespace).prefix(while: \.isLetter).uppercased()
        switch want {
        case .rows: return ["SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "VALUES"].contains(first)
        case .count:
            return ["INSERT", "UPDATE", "DELETE"].contains(first) && !sql.uppercased().contains("RETURNING")
        }
    }

    /// Whether `error` may have come from preparing (parsing) the statement rather than executing it:
    /// only errors that need values or other transactions (data, integrity, lost races, locks) are
    /// certainly from the execution.
    static func mayHaveFailedPreparing(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return true }
        return !(state.hasPrefix("22") || state.hasPrefix("23") || state.hasPrefix("40") || state == "55P03")
    }

    /// The parameter type a named statement declares for an argument: the types an unnamed statement
    /// sends (`PostgresExecutor.query`), so both behave the same.
    static func type(_ argument: SQLValue) -> PostgresDataType {
        switch argument {
        case .integer: return .int8
        case .text: return .text
        case .null: return .null
        }
    }

}

/// A named prepared statement whose name and SQL are chosen at run time. postgres-nio reads a prepared
/// statement's name, SQL and parameter types from its type; these types read them from a task-local
/// value that `NamedStatement.run` binds around the execution.
enum NamedStatement {
    /// A named statement: its name on every connection, its SQL with `$n` placeholders and its
    /// parameter types.
    struct Identity: Sendable {
        let name: String
        let sql: String
        let types: [PostgresDataType]
    }

    @TaskLocal static var current = Identity(name: "", sql: "", types: [])

    /// What a statement answered: its rows, and how many rows it read or wrote.
    struct Answer: Sendable {
        let rows: [PostgresRow]
        let count: Int
    }

    /// Executes `identity` with `bindings` on `connection`. The statement is handed to the connection
    /// before this returns (the task starts on this thread and runs until it waits for the answer), so
    /// statements sent one after another run in that order. The task goes on where the answer arrives,
    /// on the connection's event loop (`Inline`), so the answer wakes the waiting thread directly, as an
    /// unnamed statement's does, rather than through a thread of the cooperative pool.
    static func run(
        _ identity: Identity, _ bindings: PostgresBindings, want: PreparedStatements.Want, on connection: PostgresConnection,
        logger: Logger
    ) -> EventLoopFuture<Answer> {
        let promise = connection.eventLoop.makePromise(of: Answer.self)
        Task.immediate(executorPreference: Inline.executor) {
            await NamedStatement.$current.withValue(identity) {
                do {
                    var rows: [PostgresRow] = []
                    for try await row in try await connection.execute(Query(bindings: bindings), logger: logger) {
                        rows.append(row)
                    }
                    promise.succeed(Answer(rows: want == .rows ? rows : [], count: rows.count))
                } catch {
                    promise.fail(error)
                }
            }
        }
        return promise.futureResult
    }

    /// A named statement; its rows are the answer (a write whose count is wanted returns a row per row written).
    struct Query: PostgresPreparedStatement {
        static var name: String { NamedStatement.current.name }
        static var sql: String { NamedStatement.current.sql }
        static var bindingDataTypes: [PostgresDataType] { NamedStatement.current.types }
        let bindings: PostgresBindings
        func makeBindings() -> PostgresBindings { bindings }
        func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
    }

    /// Runs a task's jobs at once on the thread that enqueues them. A named statement's task is only
    /// woken by its answer, on the connection's event loop; what it then does (collect the rows,
    /// fulfil a promise) never blocks, so running it there is safe and saves a thread hop.
    final class Inline: TaskExecutor {
        static let executor = Inline()
        func enqueue(_ job: consuming ExecutorJob) {
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
