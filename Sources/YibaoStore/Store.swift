import Foundation
import Logging
import YibaoCore

/// Persistence: where Yibao's data lives. A `StoreBackend` runs units of work in transactions; the
/// work itself is written against `SQLExecutor` (the transaction context) and the narrow repositories
/// of this module, one per file. No business rule lives here — the use cases (`YibaoApp`) decide and
/// this module reads and writes.
public enum Store {
    /// Where the data lives.
    public enum Location: Sendable, Equatable {
        /// An SQLite file; each write waits for the writer at most `writeWait` (nil: as long as it takes).
        case sqlite(path: String, durability: SQLiteBackend.Durability, writeWait: Duration? = nil)
        /// A PostgreSQL database.
        case postgres(url: String, connections: Int)
    }

    /// Opens a backend.
    public static func openBackend(_ location: Location, logger: Logger = Logger(label: "yibao.store")) throws -> any StoreBackend {
        switch location {
        case .sqlite(let path, let durability, let writeWait):
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            return try SQLiteBackend(path: path, durability: durability, writeWait: writeWait)
        case .postgres(let url, let connections):
            return try PostgresBackend(url: url, connections: connections, logger: logger)
        }
    }
}
