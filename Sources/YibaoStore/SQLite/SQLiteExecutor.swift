import GRDB
import GRDBSQLite
import YibaoCore

/// Runs SQL on a GRDB connection with cached prepared statements.
///
/// Reads and writes (`SELECT`, `WITH`, `VALUES`, `INSERT`, `UPDATE`, `DELETE`) take GRDB's cached
/// statement and then bind, step and read it through SQLite's C interface: GRDB's arguments and rows
/// (`StatementArguments`, `Row`) cost the single writer more than SQLite's own work on a settlement
/// (docs/performance.md, "The writer's time in GRDB"). Everything else — transactions, savepoints,
/// pragmas, schema changes — goes through GRDB, which tracks them.
struct SQLiteExecutor: SQLExecutor {
    let db: Database
    var pendingAudit: PendingAudit? = nil
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let translated = SQLiteExecutor.translate(sql)
        guard SQLiteExecutor.isDirect(translated) else { return try queryThroughGRDB(translated, arguments) }
        let statement = try cached(translated)
        return try SQLiteExecutor.run(statement, arguments, sql: translated, connection: db.sqliteConnection) { handle in
            var rows: [SQLRow] = []
            var columns: [String]?
            while true {
                let code = sqlite3_step(handle)
                guard code == SQLITE_ROW else {
                    guard code == SQLITE_DONE else { throw SQLiteExecutor.error(code, sql: translated, connection: db.sqliteConnection) }
                    return rows
                }
                let count = sqlite3_column_count(handle)
                if columns == nil {
                    columns = (0..<count).map { String(cString: sqlite3_column_name(handle, $0)) }
                }
                var values: [SQLValue] = []
                values.reserveCapacity(Int(count))
                for index in 0..<count { values.append(SQLiteExecutor.column(handle, index)) }
                rows.append(SQLRow(columns: columns!, values: values))
            }
        }
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        let translated = SQLiteExecutor.translate(sql)
        guard SQLiteExecutor.isDirect(translated) else { return try executeThroughGRDB(translated, arguments) }
        let statement = try cached(translated)
        let connection = db.sqliteConnection
        return try SQLiteExecutor.run(statement, arguments, sql: translated, connection: connection) { handle in
            var code = sqlite3_step(handle)
            while code == SQLITE_ROW { code = sqlite3_step(handle) }
            guard code == SQLITE_DONE else { throw SQLiteExecutor.error(code, sql: translated, connection: connection) }
            return Int(sqlite3_changes(connection))
        }
    }

    private func cached(_ sql: String) throws -> Statement {
        do {
            return try db.cachedStatement(sql: sql)
        } catch let error as DatabaseError {
            throw SQLiteExecutor.map(error)
        }
    }

    /// Binds `arguments` to `statement`, runs `body` on its handle and resets it, whatever happens, so
    /// that no statement keeps a read open between uses.
    private static func run<T>(
        _ statement: Statement, _ arguments: [SQLValue], sql: String, connection: OpaquePointer?, _ body: (OpaquePointer) throws -> T
    ) throws -> T {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        defer { sqlite3_reset(handle) }
        guard Int(sqlite3_bind_parameter_count(handle)) == arguments.count else {
            // A bug in the calling code, as GRDB would report it; SQLite would bind the missing as NULL.
            throw DatabaseError(
                resultCode: .SQLITE_MISUSE, message: "\(arguments.count) arguments for \(sqlite3_bind_parameter_count(handle)) placeholders",
                sql: sql)
        }
        for (offset, argument) in arguments.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch argument {
            case .integer(let number): code = sqlite3_bind_int64(handle, index, number)
            case .null: code = sqlite3_bind_null(handle, index)
            case .text(var text):
                code = text.withUTF8 { bytes in
                    // SQLite copies the bytes (`SQLITE_TRANSIENT`); an empty string is bound from a
                    // non-null pointer, which SQLite would otherwise take for NULL.
                    bytes.withMemoryRebound(to: CChar.self) { chars in
                        guard let start = chars.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, SQLiteExecutor.transient) }
                        return sqlite3_bind_text(handle, index, start, Int32(chars.count), SQLiteExecutor.transient)
                    }
                }
            }
            guard code == SQLITE_OK else { throw error(code, sql: sql, connection: connection) }
        }
        return try body(handle)
    }

    /// A column of the current row.
    private static func column(_ handle: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_NULL: return .null
        case SQLITE_FLOAT: return .integer(Int64(sqlite3_column_double(handle, index)))
        default:
            // Text, or a blob read as text (as GRDB's path did).
            guard let bytes = sqlite3_column_text(handle, index) else { return .text("") }
            let count = Int(sqlite3_column_bytes(handle, index))
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        }
    }

    /// The error SQLite reported on `connection`, mapped as GRDB's would be.
    private static func error(_ code: Int32, sql: String, connection: OpaquePointer?) -> any Error {
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return map(DatabaseError(resultCode: ResultCode(rawValue: extended), message: message, sql: sql))
    }

    /// `SQLITE_TRANSIENT`: SQLite copies what is bound.
    private static var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

    /// Whether a statement is a read or a write of rows, run through SQLite's C interface.
    static func isDirect(_ sql: String) -> Bool {
        var utf8 = sql.utf8.drop(while: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\t") })
        var word: UInt64 = 0
        var length = 0
        while let byte = utf8.first, (byte | 0x20) >= UInt8(ascii: "a"), (byte | 0x20) <= UInt8(ascii: "z") {
            // The first word, lowercased; no direct word is longer than six letters.
            length += 1
            guard length <= 6 else { return false }
            word = word << 8 | UInt64(byte | 0x20)
            utf8 = utf8.dropFirst()
        }
        return directWords.contains(word)
    }

    private static let directWords: Set<UInt64> = Set(
        ["select", "with", "values", "insert", "update", "delete"].map { $0.utf8.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } })

    private func queryThroughGRDB(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        do {
            let statement = try db.cachedStatement(sql: sql)
            let rows = try Row.fetchAll(statement, arguments: StatementArguments(arguments.map(SQLiteExecutor.bind)))
            guard let first = rows.first else { return [] }
            let columns = Array(first.columnNames)
            return rows.map { row in
                SQLRow(columns: columns, values: row.databaseValues.map(SQLiteExecutor.value))
            }
        } catch let error as DatabaseError {
            throw SQLiteExecutor.map(error)
        }
    }

    private func executeThroughGRDB(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        do {
            let statement = try db.cachedStatement(sql: sql)
            try statement.execute(arguments: StatementArguments(arguments.map(SQLiteExecutor.bind)))
            return db.changesCount
        } catch let error as DatabaseError {
            throw SQLiteExecutor.map(error)
        }
    }

    /// SQLite has one writer, so row locks are unnecessary: `FOR UPDATE` (and `FOR UPDATE SKIP
    /// LOCKED`) at the end of a query is dropped.
    static func translate(_ sql: String) -> String {
        for suffix in lockSuffixes where sql.hasSuffix(suffix) { return String(sql.dropLast(suffix.count)) }
        return sql
    }

    private static let lockSuffixes = [" FOR UPDATE SKIP LOCKED", " FOR UPDATE"]

    static func bind(_ value: SQLValue) -> (any DatabaseValueConvertible)? {
        switch value {
        case .integer(let number): return number
        case .text(let text): return text
        case .null: return nil
        }
    }

    static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: return .null
        case .int64(let number): return .integer(number)
        case .string(let text): return .text(text)
        case .double(let number): return .integer(Int64(number))
        case .blob(let data): return .text(String(decoding: data, as: UTF8.self))
        }
    }

    static func map(_ error: DatabaseError) -> any Error {
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            return StoreError.uniqueViolation(error.message ?? "unique")
        case .SQLITE_CONSTRAINT_CHECK:
            return StoreError.constraint(error.message ?? "check")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError.conflict(error.message ?? "busy")
        default:
            return error
        }
    }
}
