import GRDB
import GRDBSQLite
import YibaoCore

/// Runs SQL on a GRDB connection: each statement is prepared once per connection (GRDB's statement
/// cache), then bound, stepped and read through SQLite's C interface. GRDB's arguments and rows
/// (`StatementArguments`, `Row`) cost the single writer more than SQLite's own work on a settlement
/// (docs/performance.md, "The writer's time in GRDB"). The statements run here are reads, writes of
/// rows and the migrations' schema changes; transactions and savepoints are `SQLiteBackend`'s, through
/// GRDB. A statement left stale by a schema change is prepared again by SQLite itself.
struct SQLiteExecutor: SQLExecutor {
    let db: Database
    var pendingAudit: PendingAudit? = nil
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try run(sql, arguments) { handle in
            var rows: [SQLRow] = []
            var columns: [String] = []
            while try step(handle) {
                let count = sqlite3_column_count(handle)
                if rows.isEmpty { columns = (0..<count).map { String(cString: sqlite3_column_name(handle, $0)) } }
                var values: [SQLValue] = []
                values.reserveCapacity(Int(count))
                for index in 0..<count { values.append(SQLiteExecutor.column(handle, index)) }
                rows.append(SQLRow(columns: columns, values: values))
            }
            return rows
        }
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try run(sql, arguments) { handle in
            while try step(handle) {}
            return Int(sqlite3_changes(db.sqliteConnection))
        }
    }

    /// Takes the cached statement for `sql`, binds `arguments`, runs `body` on its handle and resets
    /// it, whatever happens, so that no statement keeps a read open between uses.
    ///
    /// Text is bound without a copy per argument: the arguments' UTF-8 is laid end to end in one buffer
    /// that lives until `body` returns, bound as `SQLITE_STATIC`, and the bindings are cleared with the
    /// reset, so SQLite never holds a pointer into the buffer after it. (Binding each `String` made a C
    /// string of it, and `SQLITE_TRANSIENT` had SQLite copy that again: an allocation and two copies per
    /// text argument on the single writer.)
    private func run<T>(_ sql: String, _ arguments: [SQLValue], _ body: (OpaquePointer) throws -> T) throws -> T {
        let statement: Statement
        do {
            statement = try db.cachedStatement(sql: SQLiteExecutor.translate(sql))
        } catch let error as DatabaseError {
            throw SQLiteExecutor.map(error)
        }
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        let placeholders = Int(sqlite3_bind_parameter_count(handle))
        guard placeholders == arguments.count else {
            // A bug in the calling code, refused as GRDB refused it; SQLite would bind the missing as NULL.
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(arguments.count) arguments for \(placeholders) placeholders", sql: sql)
        }
        var text: [UInt8] = []
        var length = 1
        for case .text(let string) in arguments { length += string.utf8.count }
        text.reserveCapacity(length)
        for case .text(let string) in arguments { text.append(contentsOf: string.utf8) }
        // Never empty, so the buffer has an address even when every text is empty (a null pointer would
        // bind NULL instead of '').
        text.append(0)
        return try text.withUnsafeBufferPointer { buffer in
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
            }
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var offset = 0
            for (position, argument) in arguments.enumerated() {
                let index = Int32(position + 1)
                let code: Int32
                switch argument {
                case .integer(let number): code = sqlite3_bind_int64(handle, index, number)
                case .null: code = sqlite3_bind_null(handle, index)
                case .text(let string):
                    let count = string.utf8.count
                    code = sqlite3_bind_text(handle, index, base + offset, Int32(count), SQLiteExecutor.static)
                    offset += count
                }
                guard code == SQLITE_OK else { throw error(code, sql: sql) }
            }
            return try body(handle)
        }
    }

    /// Steps a statement: true with a row to read, false when it is done.
    private func step(_ handle: OpaquePointer) throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw error(code, sql: String(cString: sqlite3_sql(handle)))
        }
    }

    /// A column of the current row.
    private static func column(_ handle: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_NULL: return .null
        case SQLITE_FLOAT: return .integer(Int64(sqlite3_column_double(handle, index)))
        default:
            // Text, or a blob read as text.
            guard let bytes = sqlite3_column_text(handle, index) else { return .text("") }
            let count = Int(sqlite3_column_bytes(handle, index))
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        }
    }

    /// The error SQLite reported on this connection, mapped as GRDB's would be.
    private func error(_ code: Int32, sql: String) -> any Error {
        let connection = db.sqliteConnection
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return SQLiteExecutor.map(DatabaseError(resultCode: ResultCode(rawValue: extended), message: message, sql: sql))
    }

    /// `SQLITE_STATIC`: SQLite reads what is bound where it is, until the bindings are cleared.
    private static var `static`: sqlite3_destructor_type? { nil }

    /// SQLite has one writer, so row locks are unnecessary: `FOR UPDATE` (and `FOR UPDATE SKIP
    /// LOCKED`) at the end of a query is dropped.
    static func translate(_ sql: String) -> String {
        for suffix in lockSuffixes where sql.hasSuffix(suffix) { return String(sql.dropLast(suffix.count)) }
        return sql
    }

    private static let lockSuffixes = [" FOR UPDATE SKIP LOCKED", " FOR UPDATE"]

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
