import Foundation
import Testing
import YibaoCore
import YibaoTestSupport

@testable import YibaoStore

/// SQLite's writer stuck (a disk that does not answer, work that does not end): each write waits for it
/// at most its limit (`SQLiteBackend.writeWait`, `DatabaseWait`) and is then answered unavailable — not
/// started, so nothing written; or started and not committed, so it may have committed — instead of
/// waiting for ever. Work without a limit waits as long as it takes.
@Suite("SQLite: a bounded wait for the writer")
struct SQLiteWriteWaitTests {
    /// A new database with a `probe` table, and its directory.
    static func backend(writeWait: Duration?) async throws -> (SQLiteBackend, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("yibao_writewait_\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let backend = try SQLiteBackend(path: directory + "/yibao.sqlite", durability: .process, writeWait: writeWait)
        // The test's own setting up and looking waits as long as it takes (a loaded machine runs the suite).
        _ = try await DatabaseWait.unbounded { try await backend.write { db in try db.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY)", []) } }
        return (backend, directory)
    }

    /// What a write answered: "committed", the detail of its `unavailable`, or another error.
    static func answer(_ write: @Sendable () async throws -> Void) async -> String {
        do {
            try await write()
            return "committed"
        } catch StoreError.unavailable(let detail) {
            return detail
        } catch {
            return "\(error)"
        }
    }

    static func count(_ backend: SQLiteBackend) async throws -> Int64 {
        try await backend.read { db in try db.queryOne("SELECT count(*) AS n FROM probe", [])?.int64("n") ?? -1 }
    }

    @Test("a write the writer does not start in time fails unavailable, and never runs")
    func notStartedInTime() async throws {
        let (backend, directory) = try await Self.backend(writeWait: nil)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = WriterHold()
        let held = Task { try await backend.write { _ in writer.hold() } }
        #expect(try await writer.untilHeld())

        let started = ContinuousClock.now
        let detail = await Self.answer {
            try await DatabaseWait.$current.withValue(.atMost(.milliseconds(500))) {
                _ = try await backend.write { db in try db.execute("INSERT INTO probe (id) VALUES (1)", []) }
            }
        }
        let waited = ContinuousClock.now - started
        #expect(detail.contains("nothing was written"), "\(detail)")
        #expect(waited >= .milliseconds(500) && waited < .seconds(5), "answered after \(waited)")
        // A write without a limit queued behind the same hold waits for it, and then runs.
        let patient = Task { try await backend.write { db in try db.execute("INSERT INTO probe (id) VALUES (2)", []) } }
        try await Task.sleep(for: .milliseconds(600))

        writer.release()
        try await held.value
        _ = try await patient.value
        // The refused write never ran: only the patient one is there.
        #expect(try await backend.read { db in try db.queryOne("SELECT group_concat(id) AS ids FROM probe", [])?.string("ids") } == "2")
        await backend.close()
    }

    @Test("a write whose batch does not commit in time is answered as one that may have committed, and the batch goes on")
    func unfinishedInTime() async throws {
        let (backend, directory) = try await Self.backend(writeWait: .milliseconds(500))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(await backend.ping())
        let writer = WriterHold()
        let started = ContinuousClock.now
        let stuck = Task {
            await Self.answer {
                _ = try await backend.write { db in
                    try db.execute("INSERT INTO probe (id) VALUES (1)", [])
                    writer.hold()
                }
            }
        }
        #expect(try await writer.untilHeld())
        let heldAt = ContinuousClock.now
        let detail = await stuck.value
        let waited = ContinuousClock.now - started
        #expect(detail.contains("may have committed"), "\(detail)")
        #expect(waited >= .milliseconds(500) && waited < .seconds(5), "answered after \(waited)")

        // Held past a probe's wait, the writer is reported stuck: the instance is not ready.
        try await Task.sleep(until: heldAt + DatabaseWait.probeLimit + .milliseconds(300))
        #expect(await !backend.ping())

        writer.release()
        // It did commit, after its caller was answered; the writer goes on and is ready again.
        _ = try await DatabaseWait.unbounded { try await backend.write { db in try db.execute("INSERT INTO probe (id) VALUES (2)", []) } }
        #expect(try await Self.count(backend) == 2)
        #expect(await backend.ping())
        await backend.close()
    }

    @Test("work without a limit waits for the writer as long as it takes (the daily close, migrations)")
    func unboundedWaits() async throws {
        let (backend, directory) = try await Self.backend(writeWait: .milliseconds(300))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = WriterHold()
        let value = try await DatabaseWait.unbounded {
            let slow = Task {
                try await backend.write { db in
                    try db.execute("INSERT INTO probe (id) VALUES (1)", [])
                    writer.hold()
                    return 1
                }
            }
            #expect(try await writer.untilHeld())
            // Queued behind it for longer than the backend's limit.
            let behind = Task { try await backend.write { db in try db.execute("INSERT INTO probe (id) VALUES (2)", []) } }
            try await Task.sleep(for: .seconds(1))
            writer.release()
            _ = try await behind.value
            return try await slow.value + 2
        }
        #expect(value == 3)
        #expect(try await Self.count(backend) == 2)
        await backend.close()
    }
}
