import GRDB
import YibaoCore

/// Runs SQL on a GRDB connection with cached prepared statements.
struct SQLiteExecutor: SQLExecutor {
    let db: Database
    var pendingAudit: PendingAudit? = nil
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        do {
            let statement = try db.cachedStatement(sql: SQLiteExecutor.translate(sql))
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

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        do {
            let statement = try db.cachedStatement(sql: SQLiteExecutor.translate(sql))
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
