import Foundation
import Testing
import YibaoCore

@testable import YibaoStore

/// SQLite's write-ahead log is copied into the database file beside the writer (`Checkpointer`), and
/// the log starts again from its beginning while writes go on: without the thread the log would only
/// grow (the writer's own checkpoint waits for 50,000 pages), and without the writer's catch-up a
/// passive checkpoint alone could never restart it under continuous writes.
@Suite("SQLite: checkpoints beside the writer")
struct SQLiteCheckpointTests {
    @Test("the writer commits as the durability says: power flushes every commit (synchronous FULL), process does not (NORMAL)")
    func durabilityHoldsOnTheWriter() async throws {
        for (durability, expected) in [(SQLiteBackend.Durability.power, Int64(2)), (.process, Int64(1))] {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("yibao_sync_\(UInt32.random(in: 0...UInt32.max))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let backend = try SQLiteBackend(path: directory + "/yibao.sqlite", durability: durability)
            // On the writer's connection, where commits happen (GRDB's pool sets NORMAL there when it
            // turns the log on, after the connection's own setup).
            let synchronous = try await backend.write { db in try db.queryOne("PRAGMA synchronous", [])?.int64("synchronous") }
            #expect(synchronous == expected, "\(durability)")
            await backend.close()
        }
    }

    #if os(Linux)
    @Test("the writer and the checkpointer carry their names, for `top -H` and `perf`")
    func threadsAreNamed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("yibao_names_\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let backend = try SQLiteBackend(path: directory + "/yibao.sqlite")
        // A write runs on the writer's thread.
        let writer = try await backend.write { _ in SQLiteCheckpointTests.threadName("/proc/thread-self/comm") }
        #expect(writer == "yibao-writer")
        // The checkpointer names itself when it first runs, which a busy machine may delay.
        var named = false
        for _ in 0..<50 where !named {
            let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
            named = tasks.contains { SQLiteCheckpointTests.threadName("/proc/self/task/\($0)/comm") == "yibao-checkpt" }
            if !named { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(named)
        await backend.close()
    }

    /// A thread's name as Linux keeps it (`comm`).
    static func threadName(_ file: String) -> String {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
    #endif

    @Test("under continuous writes the database file takes the pages and the log starts again")
    func checkpointsBesideTheWriter() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("yibao_checkpoint_\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/yibao.sqlite"
        let backend = try SQLiteBackend(path: path, durability: .process, checkpointInterval: .milliseconds(5))
        func size(_ file: String) -> Int {
            ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0
        }

        // Savepoint and statement journals stay in memory (2 = MEMORY).
        let tempStore = try await backend.write { db in try db.queryOne("PRAGMA temp_store", [])?.int64("temp_store") }
        #expect(tempStore == 2)
        // Readers keep temporary files for their sorts and groupings (in memory they held 160 MB at a
        // first close of a million people's ledger).
        let readerTempStore = try await backend.read { db in try db.queryOne("PRAGMA temp_store", [])?.int64("temp_store") }
        #expect(readerTempStore != 2)

        _ = try await backend.write { db in try db.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT NOT NULL)", []) }
        // 400 commits of 10 KB each: 4 MB, about a thousand pages of log if it never started again.
        let body = String(repeating: "x", count: 10_000)
        var walLargest = 0
        for index in 0..<400 {
            _ = try await backend.write { db in try db.execute("INSERT INTO probe (id, body) VALUES (?, ?)", [.integer(Int64(index)), .text(body)]) }
            walLargest = max(walLargest, size(path + "-wal"))
        }
        // The pages reach the database file while the backend is open (SQLite's own checkpoint would
        // also run at close).
        var copied = size(path)
        for _ in 0..<1_000 where copied < 4_000_000 {
            try await Task.sleep(for: .milliseconds(10))
            copied = size(path)
        }
        #expect(copied >= 4_000_000, "database file \(copied) bytes while open")
        // Never restarted, the log would hold all 4 MB (7.4 MB with frame headers and the table's pages);
        // the bound leaves room for a checkpoint thread starved of CPU by a busy machine.
        #expect(walLargest < 4_000_000, "the log reached \(walLargest) bytes: it did not start again")
        let rows = try await backend.read { db in try db.queryOne("SELECT COUNT(*) AS n FROM probe", [])?.int64("n") }
        #expect(rows == 400)
        await backend.close()
    }
}
