import YibaoCore

/// A value bound to or read from SQL. Yibao stores only integers and text (money is integer fen,
/// times are epoch milliseconds, hashes and ciphertexts are base64/hex text), so the same SQL
/// runs on SQLite and PostgreSQL without type juggling.
public enum SQLValue: Sendable, Hashable {
    /// A 64-bit integer.
    case integer(Int64)
    /// Text.
    case text(String)
    /// NULL.
    case null
}

extension SQLValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByNilLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension SQLValue {
    /// An optional string, NULL when nil.
    public static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    /// An integer from an `Int`.
    public static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }
    /// A boolean as 0 / 1.
    public static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
    /// Money as fen.
    public static func money(_ value: Money) -> SQLValue { .integer(value.fen) }
    /// Optional money, NULL when nil.
    public static func money(_ value: Money?) -> SQLValue { value.map { .integer($0.fen) } ?? .null }
    /// An instant as epoch milliseconds.
    public static func instant(_ value: Instant) -> SQLValue { .integer(value.millisecondsSinceEpoch) }
    /// An optional instant, NULL when nil.
    public static func instant(_ value: Instant?) -> SQLValue { value.map { .integer($0.millisecondsSinceEpoch) } ?? .null }
}

/// One result row: column names and values.
public struct SQLRow: Sendable {
    /// Column names, in order.
    public let columns: [String]
    /// Values, in column order.
    public let values: [SQLValue]

    /// Creates a row.
    public init(columns: [String], values: [SQLValue]) {
        precondition(columns.count == values.count, "row shape")
        self.columns = columns
        self.values = values
    }

    /// The value of a column; traps if the query did not select it (a bug in the query).
    public subscript(_ column: String) -> SQLValue {
        guard let index = columns.firstIndex(of: column) else { preconditionFailure("column \(column) not selected") }
        return values[index]
    }

    /// An integer column.
    public func int64(_ column: String) throws -> Int64 {
        guard case .integer(let value) = self[column] else { throw StoreError.decoding("\(column) is not an integer") }
        return value
    }

    /// An optional integer column.
    public func optionalInt64(_ column: String) throws -> Int64? {
        switch self[column] {
        case .null: return nil
        case .integer(let value): return value
        case .text: throw StoreError.decoding("\(column) is not an integer")
        }
    }

    /// A text column.
    public func string(_ column: String) throws -> String {
        guard case .text(let value) = self[column] else { throw StoreError.decoding("\(column) is not text") }
        return value
    }

    /// An optional text column.
    public func optionalString(_ column: String) throws -> String? {
        switch self[column] {
        case .null: return nil
        case .text(let value): return value
        case .integer: throw StoreError.decoding("\(column) is not text")
        }
    }

    /// A money column (fen).
    public func money(_ column: String) throws -> Money { Money(fen: try int64(column)) }
    /// An optional money column.
    public func optionalMoney(_ column: String) throws -> Money? { try optionalInt64(column).map { Money(fen: $0) } }
    /// An instant column (epoch milliseconds).
    public func instant(_ column: String) throws -> Instant { Instant(millisecondsSinceEpoch: try int64(column)) }
    /// An optional instant column.
    public func optionalInstant(_ column: String) throws -> Instant? { try optionalInt64(column).map { Instant(millisecondsSinceEpoch: $0) } }
    /// A boolean column (0 / 1).
    public func bool(_ column: String) throws -> Bool { try int64(column) != 0 }

    /// A column holding a raw-representable enum.
    public func enumeration<E: RawRepresentable>(_ column: String, _ type: E.Type = E.self) throws -> E where E.RawValue == String {
        guard let value = try optionalEnumeration(column, type) else { throw StoreError.decoding("\(column) is null") }
        return value
    }

    /// An optional column holding a raw-representable enum (an unknown value is an error, not nil).
    public func optionalEnumeration<E: RawRepresentable>(_ column: String, _ type: E.Type = E.self) throws -> E? where E.RawValue == String {
        guard let raw = try optionalString(column) else { return nil }
        guard let value = E(rawValue: raw) else { throw StoreError.decoding("\(column) has unknown value \(raw)") }
        return value
    }
}

/// Runs SQL synchronously inside one transaction (or one read session). Business transactions are
/// written once against this protocol; SQLite runs them on its single writer, PostgreSQL on a
/// thread that owns one connection for the transaction.
public protocol SQLExecutor {
    /// The dialect of the database underneath.
    var dialect: SQLDialect { get }

    /// Runs a query and returns its rows. SQL uses `?` placeholders on both databases.
    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]

    /// Runs a statement and returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int

    /// The write transaction's audit records waiting to be chained just before it commits (nil in
    /// reads). See `AuditRepository`.
    var pendingAudit: PendingAudit? { get }

    /// Runs statements in order and returns how many rows each changed. On PostgreSQL they are all
    /// handed to the connection at once and answered together (one wait instead of one per statement);
    /// on SQLite they simply run one after another in the process. The first failure fails the batch
    /// (and, as any failure, the transaction).
    func executeBatch(_ statements: [SQLStatement]) throws -> [Int]

    /// Runs queries in order and returns the rows of each. On PostgreSQL they are all handed to the
    /// connection at once and answered together (one wait instead of one per query); on SQLite they
    /// run one after another in the process. Use it through `fetch`, with the reads a decision needs
    /// that do not depend on each other's answers.
    func queryBatch(_ statements: [SQLStatement]) throws -> [[SQLRow]]

    /// Writes whose outcome the database checks itself, so that nobody waits for their answer: as
    /// `executeTogether` (`statements` read none of each other's rows and run after `first`), but a
    /// write of `statements` that changes another number of rows than `expecting` says (its index →
    /// rows) fails them all, and no counts come back. On PostgreSQL's pipelining connections they are
    /// held and go with the transaction's next round trip (its next statements, or its `COMMIT`);
    /// elsewhere they run at once. `failure` turns what they raise into the caller's error, whichever
    /// later call sends them.
    func writeTogether(
        _ statements: [SQLStatement], after first: [SQLStatement], expecting: [Int: Int],
        failure: @escaping @Sendable (any Error) -> any Error
    ) throws
}

/// One statement of a batch: SQL with `?` placeholders and its arguments.
public struct SQLStatement: Sendable {
    /// The SQL.
    public let sql: String
    /// Its arguments.
    public let arguments: [SQLValue]

    /// Creates a statement.
    public init(_ sql: String, _ arguments: [SQLValue]) {
        self.sql = sql
        self.arguments = arguments
    }
}

extension SQLExecutor {
    /// Runs the statements one after another (the default; PostgreSQL sends them together).
    public func executeBatch(_ statements: [SQLStatement]) throws -> [Int] {
        try statements.map { try execute($0.sql, $0.arguments) }
    }

    /// Runs the queries one after another (the default; PostgreSQL sends them together).
    public func queryBatch(_ statements: [SQLStatement]) throws -> [[SQLRow]] {
        try statements.map { try query($0.sql, $0.arguments) }
    }

    /// Runs writes that read none of each other's rows, after `first` (writes they may read), and
    /// returns how many rows each of `statements` changed. On PostgreSQL `statements` are one statement
    /// (`combined`) sent in the same round trip as `first`: PostgreSQL's work per statement (protocol
    /// messages, a portal, a snapshot), not per row, is what bounds it (docs/performance.md). On SQLite
    /// everything runs one after another, as `executeBatch`.
    public func executeTogether(_ statements: [SQLStatement], after first: [SQLStatement] = []) throws -> [Int] {
        guard dialect == .postgres, statements.count > 1 else { return Array(try executeBatch(first + statements).dropFirst(first.count)) }
        let groups = Self.groups(statements, expecting: [:])
        let answers = try queryBatch(first + groups.map(\.statement))
        var counts: [Int] = []
        for (group, rows) in zip(groups, answers.dropFirst(first.count)) {
            guard let row = rows.first else { throw StoreError.decoding("the counts of writes sent together are missing") }
            for index in 0..<group.count { counts.append(Int(try row.int64("c\(index)"))) }
        }
        return counts
    }

    /// Writes whose outcome the database checks itself, with nothing expected and errors as they are.
    public func writeTogether(_ statements: [SQLStatement]) throws {
        try writeTogether(statements, after: [], expecting: [:], failure: { $0 })
    }

    /// `writeTogether` at once (SQLite, postgres-nio): on PostgreSQL the expected counts are checked by
    /// the statement, elsewhere here.
    public func writeTogether(
        _ statements: [SQLStatement], after first: [SQLStatement], expecting: [Int: Int],
        failure: @escaping @Sendable (any Error) -> any Error
    ) throws {
        do {
            if dialect == .postgres {
                _ = try queryBatch(first + Self.together(statements, expecting: expecting))
                return
            }
            let counts = try executeTogether(statements, after: first)
            for (index, rows) in expecting where counts[index] != rows {
                throw StoreError.decoding(Self.countMismatch(index: index, rows: counts[index], expected: rows))
            }
        } catch {
            throw failure(error)
        }
    }

    /// What a write that changed another number of rows than expected is reported as.
    static func countMismatch(index: Int, rows: Int, expected: Int) -> String {
        "write \(index) of a batch changed \(rows) rows, not \(expected)"
    }

    /// What PostgreSQL runs for `writeTogether`: a lone write with nothing expected as it is, else the
    /// `combined` statements of `groups`.
    static func together(_ statements: [SQLStatement], expecting: [Int: Int]) -> [SQLStatement] {
        statements.count > 1 || !expecting.isEmpty ? groups(statements, expecting: expecting).map(\.statement) : statements
    }

    /// PostgreSQL statements for writes sent together: one `combined` statement, or several past the
    /// arguments one takes, each with how many writes it carries.
    static func groups(_ statements: [SQLStatement], expecting: [Int: Int]) -> [(statement: SQLStatement, count: Int)] {
        // A statement takes at most 65,535 arguments: a long list of writes goes as several.
        var groups: [[SQLStatement]] = [[]]
        var arguments = 0
        for statement in statements {
            if arguments + statement.arguments.count > Self.argumentsPerStatementMax && !groups[groups.count - 1].isEmpty {
                groups.append([])
                arguments = 0
            }
            groups[groups.count - 1].append(statement)
            arguments += statement.arguments.count
        }
        var start = 0
        return groups.map { group in
            defer { start += group.count }
            var expected: [Int: Int] = [:]
            for (index, rows) in expecting where index >= start && index < start + group.count { expected[index - start] = rows }
            return (Self.combined(group, expecting: expected), group.count)
        }
    }

    /// The most arguments `executeTogether` and `writeTogether` put in one statement (PostgreSQL takes 65,535).
    static var argumentsPerStatementMax: Int { 30_000 }

    /// Writes that read none of each other's rows as one PostgreSQL statement: each a data-modifying
    /// `WITH` part returning a row per row it writes, then how many rows each part wrote (`c0`, `c1`, …).
    /// PostgreSQL runs every part exactly once, on the snapshot the statement starts with, so no part
    /// sees another's rows; a constraint a part breaks fails the whole statement, as it would fail a
    /// batch. Foreign keys are checked at the statement's end, so one part may insert rows that
    /// reference another's.
    ///
    /// A write with an expected count (`expecting`: its index → rows) divides its count by whether it
    /// is that count, so that another count fails the statement (division by zero, `22012`, which the
    /// store reports as a count that did not match) before anything after it, such as a `COMMIT` in the
    /// same pipeline, runs.
    public static func combined(_ statements: [SQLStatement], expecting: [Int: Int] = [:]) -> SQLStatement {
        let parts = statements.enumerated().map { "w\($0.offset) AS (\($0.element.sql) RETURNING 1)" }
        let counts = statements.indices.map { index in
            let count = "(SELECT COUNT(*) FROM w\(index))"
            guard let rows = expecting[index] else { return "\(count) AS c\(index)" }
            return "\(count) / CASE WHEN \(count) = \(rows) THEN 1 ELSE 0 END AS c\(index)"
        }
        return SQLStatement("WITH \(parts.joined(separator: ", ")) SELECT \(counts.joined(separator: ", "))", statements.flatMap(\.arguments))
    }

    /// Runs one read.
    public func fetch<T>(_ read: SQLRead<T>) throws -> T {
        try read.decode(read.statement.map { try query($0.sql, $0.arguments) } ?? [])
    }

    /// Runs several reads as one batch (`queryBatch`: on PostgreSQL one wait for all of them) and
    /// returns their answers in the same order. The queries run in the order given, so locks are taken
    /// in that order, as they would be one by one.
    public func fetch<each T>(_ reads: repeat SQLRead<each T>) throws -> (repeat each T) {
        var statements: [SQLStatement] = []
        for read in repeat each reads {
            if let statement = read.statement { statements.append(statement) }
        }
        let answers = try queryBatch(statements)
        var next = 0
        func decode<U>(_ read: SQLRead<U>) throws -> U {
            guard read.statement != nil else { return try read.decode([]) }
            defer { next += 1 }
            return try read.decode(answers[next])
        }
        return (repeat try decode(each reads))
    }

    /// Runs a query expected to return at most one row.
    public func queryOne(_ sql: String, _ arguments: [SQLValue]) throws -> SQLRow? {
        try query(sql, arguments).first
    }
}

/// A read a repository offers: its query and how to turn the rows into the answer, so that a caller
/// can send several reads as one batch (`SQLExecutor.fetch`). A read without a query (`known`) answers
/// a value without asking the database: for a read a decision needs only in some cases.
public struct SQLRead<T> {
    /// The query, or nil for a read that needs none.
    public let statement: SQLStatement?
    /// Turns the query's rows into the answer.
    public let decode: ([SQLRow]) throws -> T

    /// A read of `sql` with `arguments`, answered by `decode`.
    public init(_ sql: String, _ arguments: [SQLValue], decode: @escaping ([SQLRow]) throws -> T) {
        self.init(statement: SQLStatement(sql, arguments), decode: decode)
    }

    private init(statement: SQLStatement?, decode: @escaping ([SQLRow]) throws -> T) {
        self.statement = statement
        self.decode = decode
    }

    /// A read answered without a query.
    public static func known(_ value: T) -> SQLRead<T> { SQLRead(statement: nil) { _ in value } }

    /// A read of at most one row: nil when there is none, else `decode` of the first.
    public static func one<W>(_ sql: String, _ arguments: [SQLValue], decode: @escaping (SQLRow) throws -> W) -> SQLRead<W?> where T == W? {
        SQLRead<W?>(sql, arguments) { rows in try rows.first.map(decode) }
    }

    /// The same read with its answer changed by `transform`.
    public func map<U>(_ transform: @escaping (T) throws -> U) -> SQLRead<U> {
        let decode = self.decode
        return SQLRead<U>(statement: statement) { try transform(try decode($0)) }
    }
}

/// `count` copies of a placeholder group, comma-separated: `placeholders(3)` is `?, ?, ?` (for
/// `IN (…)`), `placeholders(2, "(?, ?)")` is `(?, ?), (?, ?)` (for a multi-row `VALUES`).
package func placeholders(_ count: Int, _ group: String = "?") -> String {
    Array(repeating: group, count: count).joined(separator: ", ")
}

/// The two SQL dialects. Yibao's SQL is written once with `?` placeholders and shared types; the
/// dialect rewrites the few places they differ.
public enum SQLDialect: String, Sendable {
    /// SQLite 3.35 or later.
    case sqlite
    /// PostgreSQL 13 or later.
    case postgres
}

/// Operational failures of the store (not business refusals).
public enum StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A unique constraint refused a write.
    case uniqueViolation(String)
    /// A CHECK constraint refused a write (a ledger invariant).
    case constraint(String)
    /// A transaction lost a race (serialization failure, deadlock); it is retried automatically.
    case conflict(String)
    /// A stored value could not be read back.
    case decoding(String)
    /// The database could not be reached or refused the connection.
    case unavailable(String)
    /// The data directory or database is not usable.
    case configuration(String)
    /// The database schema is newer than this program.
    case schemaTooNew(stored: Int, known: Int)

    public var description: String {
        switch self {
        case .uniqueViolation(let detail): return "unique constraint: \(detail)"
        case .constraint(let detail): return "constraint: \(detail)"
        case .conflict(let detail): return "transaction conflict: \(detail)"
        case .decoding(let detail): return "stored value unreadable: \(detail)"
        case .unavailable(let detail): return "database unavailable: \(detail)"
        case .configuration(let detail): return "store configuration: \(detail)"
        case .schemaTooNew(let stored, let known):
            return "the database schema is at version \(stored) but this program knows only up to \(known); upgrade yibao"
        }
    }
}
