import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Every statement the store sends to PostgreSQL, once: its SQL with PostgreSQL's placeholders, and
/// which statements PostgreSQL parses and plans once per connection (named prepared statements)
/// instead of for every execution.
///
/// Parsing, analysing and planning the unnamed statements took 39 % of PostgreSQL's CPU per
/// settlement (docs/performance.md). A statement is named once it has run `threshold` times in this
/// process with the same kinds of arguments and the same wish (rows or a count), so reports and
/// one-off statements stay unnamed and each connection keeps at most `perConnectionMax` of them.
///
/// The preparation travels with a use: once the statement is past the threshold, its next use on
/// each connection sends the preparation and then the statement itself, unnamed, one after the other
/// without waiting (`PostgresExecutor.answers`). The connection answers in order, so nothing overtakes
/// anything, and from the next use on (once the preparation is answered) the statement is sent by
/// name. This uses postgres-nio's `PostgresDatabase.prepare(query:)` and `PreparedQuery.execute`,
/// which answer through event-loop futures as unnamed statements do: no task, no asynchronous row
/// sequence (`PostgresPreparedStatement`'s `execute`, the other way, cost the server 13-22 % more CPU
/// per settlement).
final class PreparedStatements: Sendable {
    /// How many times a statement runs before it is prepared.
    static let threshold = 3
    /// The most statements prepared on one connection.
    static let perConnectionMax = 256
    /// The most distinct statements remembered (they are constants in the code; a bound protects
    /// memory from statements built with a varying number of values). Past it statements are
    /// translated for every execution and sent unnamed.
    static let entriesMax = 4096
    /// The most arguments of a statement that can be named. A write set sent as one statement
    /// (`WriteSetRepository`) has a hundred or more.
    static let argumentsMax = 1_023

    /// What the caller wants back from a statement.
    enum Want: Sendable {
        /// The rows (a query, or a write with `RETURNING`).
        case rows
        /// How many rows were written (an `INSERT`, `UPDATE` or `DELETE` without `RETURNING`).
        case count
    }

    /// How to send one statement on one connection.
    enum Plan: Sendable {
        /// Unnamed, parsed and planned for this execution: `sql` has PostgreSQL's placeholders.
        case unnamed(sql: String)
        /// Unnamed as `sql`, after preparing it as `named` (its `id` reports the answer to `prepared`).
        case prepare(sql: String, named: String, id: Int)
        /// By the name the connection prepared it under.
        case named(PreparedQuery, id: Int)
    }

    /// One SQL string: its translation, and its variants by wish and argument kinds.
    private final class Statement {
        let translated: String
        var variants: [Variant] = []
        init(translated: String) { self.translated = translated }
    }

    private struct Variant {
        /// The wish and argument kinds (`signature`).
        let signature: Signature
        /// This variant's number, by which connections know it.
        let id: Int
        /// The SQL it is prepared as, or nil if it cannot be named.
        let named: String?
        var uses = 0
    }

    /// What one connection has prepared.
    private final class Connection {
        let connection: PostgresConnection
        var statements: [Int: Prepared] = [:]
        init(_ connection: PostgresConnection) { self.connection = connection }
    }

    private enum Prepared {
        /// Sent, not yet answered: the statement is still sent unnamed.
        case preparing
        case ready(PreparedQuery)
        /// Failed in a way that would fail again: sent unnamed on this connection from now on.
        case unusable
    }

    private struct State {
        var statements: [String: Statement] = [:]
        var variants = 0
        var connections: [PostgresConnection.ID: Connection] = [:]
    }

    private let state = Mutex(State())
    private let enabled: Bool

    /// Names statements when `enabled`; otherwise every statement is sent unnamed.
    init(enabled: Bool = true) {
        self.enabled = enabled
    }

    /// How `sql` with `arguments` is sent on `connection`.
    func plan(_ sql: String, _ arguments: [SQLValue], want: Want, on connection: PostgresConnection) -> Plan {
        let signature = enabled ? PreparedStatements.signature(arguments, want: want) : nil
        return state.withLock { state -> Plan in
            let statement: Statement
            if let known = state.statements[sql] {
                statement = known
            } else {
                statement = Statement(translated: PostgresPlaceholders.translate(sql))
                guard state.statements.count < PreparedStatements.entriesMax else { return .unnamed(sql: statement.translated) }
                state.statements[sql] = statement
            }
            guard let signature else { return .unnamed(sql: statement.translated) }
            let index: Int
            if let known = statement.variants.firstIndex(where: { $0.signature == signature }) {
                index = known
            } else {
                guard state.variants < PreparedStatements.entriesMax else { return .unnamed(sql: statement.translated) }
                let named =
                    PreparedStatements.nameable(sql, want: want)
                    ? PreparedStatements.named(sql, arguments, want: want) : nil
                statement.variants.append(Variant(signature: signature, id: state.variants, named: named))
                state.variants += 1
                index = statement.variants.count - 1
            }
            statement.variants[index].uses += 1
            let variant = statement.variants[index]
            guard let named = variant.named, variant.uses >= PreparedStatements.threshold else {
                return .unnamed(sql: statement.translated)
            }
            let known: Connection
            if let record = state.connections[connection.id], record.connection === connection {
                known = record
            } else {
                // A connection seen for the first time: forget the closed ones (the pool replaces
                // connections; their statements went with them).
                state.connections = state.connections.filter { !$0.value.connection.isClosed }
                known = Connection(connection)
                state.connections[connection.id] = known
            }
            switch known.statements[variant.id] {
            case .ready(let query): return .named(query, id: variant.id)
            case .preparing, .unusable: return .unnamed(sql: statement.translated)
            case nil:
                guard known.statements.count < PreparedStatements.perConnectionMax else { return .unnamed(sql: statement.translated) }
                known.statements[variant.id] = .preparing
                return .prepare(sql: statement.translated, named: named, id: variant.id)
            }
        }
    }

    /// Records the answer to preparing statement `id` on `connection`. A preparation refused because
    /// the transaction had already failed (`25P02`) or the connection was lost is tried again at the
    /// next use; any other refusal would be repeated, so the statement stays unnamed there.
    func prepared(_ id: Int, on connection: PostgresConnection, _ answer: Result<PreparedQuery, any Error>) {
        state.withLock { state in
            guard let known = state.connections[connection.id], known.connection === connection else { return }
            switch answer {
            case .success(let query): known.statements[id] = .ready(query)
            case .failure(let error):
                let code = PostgresExecutor.sqlState(error)
                known.statements[id] = code == nil || code == "25P02" ? nil : .unusable
            }
        }
    }

    /// Records that statement `id`, prepared on `connection`, failed. If the connection no longer has
    /// it (`26000`: a pooler in between, or `DISCARD ALL`) or its result changed shape under it
    /// (`0A000`, "cached plan must not change result type": a migration while this server runs), it
    /// is sent unnamed on that connection from now on, so the failure is not repeated for ever.
    func failed(_ id: Int, on connection: PostgresConnection, _ error: any Error) {
        guard let code = PostgresExecutor.sqlState(error), code == "26000" || code == "0A000" else { return }
        state.withLock { state in
            guard let known = state.connections[connection.id], known.connection === connection else { return }
            known.statements[id] = .unusable
        }
    }

    /// Executes a prepared statement with `arguments`. Its rows are the answer; a write whose count is
    /// wanted was prepared with `RETURNING 1` (`named`), so its rows are counted. postgres-nio calls
    /// `onRow` on the connection's event loop, one row after another, before the future completes.
    static func execute(_ query: PreparedQuery, _ arguments: [SQLValue], want: Want) -> EventLoopFuture<StatementAnswer> {
        var binds: [PostgresData] = []
        binds.reserveCapacity(arguments.count)
        for argument in arguments {
            switch argument {
            case .integer(let number): binds.append(PostgresData(int64: number))
            case .text(let text): binds.append(PostgresData(string: text))
            case .null: binds.append(PostgresData(type: .null))
            }
        }
        let rows = Rows()
        return query.execute(binds) { row in rows.rows.append(row) }.map {
            StatementAnswer(rows: want == .rows ? rows.rows : [], count: rows.rows.count)
        }
    }

    /// The rows of one execution, filled on the connection's event loop and read after its answer.
    private final class Rows: @unchecked Sendable {
        var rows: [PostgresRow] = []
    }

    /// The wish and argument kinds of a statement: two bits per argument, 31 arguments to a word
    /// after a leading 1 (which counts them), the wish in the first word's lowest bit. A statement of
    /// up to 31 arguments needs one word and no allocation.
    struct Signature: Hashable {
        var first: UInt64
        var more: [UInt64] = []
    }

    /// The signature of a statement, or nil if it has more than `argumentsMax` arguments.
    static func signature(_ arguments: [SQLValue], want: Want) -> Signature? {
        guard arguments.count <= argumentsMax else { return nil }
        var words: [UInt64] = []
        var word: UInt64 = 1
        for (index, argument) in arguments.enumerated() {
            if index > 0 && index % 31 == 0 {
                words.append(word)
                word = 1
            }
            word <<= 2
            switch argument {
            case .integer: word |= 1
            case .text: word |= 2
            case .null: word |= 3
            }
        }
        guard let first = words.first else { return Signature(first: word << 1 | (want == .rows ? 0 : 1)) }
        return Signature(first: first << 1 | (want == .rows ? 0 : 1), more: Array(words.dropFirst()) + [word])
    }

    /// The SQL a statement is prepared as: each argument's type written as a cast (`$1::int8`,
    /// `$2::text`), the types an unnamed statement declares for them (`PostgresExecutor.bindings`;
    /// a null's type is left to PostgreSQL in both), because a named statement's parameter types are
    /// fixed when it is prepared. A write whose count is wanted returns a row per row written.
    static func named(_ sql: String, _ arguments: [SQLValue], want: Want) -> String {
        let cast = PostgresPlaceholders.translate(sql, casts: arguments)
        return want == .count ? cast + " RETURNING 1" : cast
    }

    /// Whether a statement can be named: a query or a write. postgres-nio's prepared statements give
    /// no command tag, so a write whose count is wanted is named with `RETURNING 1` added and counted by
    /// its rows: only an `INSERT`, `UPDATE` or `DELETE` that returns nothing yet.
    static func nameable(_ sql: String, want: Want) -> Bool {
        let first = sql.drop(while: \.isWhitespace).prefix(while: \.isLetter).uppercased()
        switch want {
        case .rows: return ["SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "VALUES"].contains(first)
        case .count:
            return ["INSERT", "UPDATE", "DELETE"].contains(first) && !sql.uppercased().contains("RETURNING")
        }
    }
}

/// What a statement answered: its rows, and how many rows it read or wrote.
struct StatementAnswer: Sendable {
    let rows: [PostgresRow]
    let count: Int
}
