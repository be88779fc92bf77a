import GRDB
import GRDBSQLite
import Synchronization

/// How much work each SQL statement did, counted on every connection of a SQLite backend that is given
/// one: runs, and SQLite's virtual-machine steps (`SQLITE_STMTSTATUS_VM_STEP`), which grow with the rows
/// a statement visits. A diagnostic for tests — that no statement reads more as history grows — never
/// installed by the server.
package final class StatementWork: Sendable {
    /// Runs and steps of one statement.
    package struct Count: Sendable {
        package var runs = 0
        package var steps = 0

        /// Steps per run.
        package var perRun: Double { runs == 0 ? 0 : Double(steps) / Double(runs) }
    }

    private let counts = Mutex<[String: Count]>([:])

    package init() {}

    /// The counts since the last call, by statement text; counting starts again at zero.
    package func take() -> [String: Count] {
        counts.withLock { counts in
            defer { counts = [:] }
            return counts
        }
    }

    private func record(sql: String, steps: Int) {
        counts.withLock { counts in
            counts[sql, default: Count()].runs += 1
            counts[sql, default: Count()].steps += steps
        }
    }

    /// Counts every statement `db` runs from now on, as each one finishes (SQLite's profile trace).
    func install(on db: Database) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_trace_v2(
            db.sqliteConnection, UInt32(SQLITE_TRACE_PROFILE),
            { _, context, statement, _ in
                guard let context, let statement else { return 0 }
                let work = Unmanaged<StatementWork>.fromOpaque(context).takeUnretainedValue()
                let prepared = OpaquePointer(statement)
                let steps = Int(sqlite3_stmt_status(prepared, Int32(SQLITE_STMTSTATUS_VM_STEP), 1))
                if let text = sqlite3_sql(prepared) { work.record(sql: String(cString: text), steps: steps) }
                return 0
            }, context)
    }
}
