import Foundation
import GRDB
import Synchronization

/// Copies the write-ahead log into the database file beside the writer instead of inside it.
///
/// SQLite's automatic checkpoint runs in the commit that takes the log past 1,000 pages: that commit
/// also copies every page of the log into the database file and, with `synchronous=FULL`, flushes the
/// file, while every waiting write waits for it.
///
/// Here a thread of its own runs a passive checkpoint (which neither takes the writer's lock nor waits
/// for readers) on its own connection every `interval`. A page written many times between two passes is
/// copied once. A passive checkpoint cannot restart the log while the writer keeps appending, so after
/// each pass that copied something the writer runs one more passive checkpoint between two batches:
/// only the pages committed during the pass are left to copy, and the next transaction starts the log
/// from its beginning. The writer's own automatic checkpoint stays as a backstop at `backstopPages`,
/// should this thread fall behind.
final class Checkpointer: Sendable {
    /// The log's pages past which the writer's own automatic checkpoint runs (about 200 MB).
    static let backstopPages = 50_000
    /// How far the log file is cut back after the log starts again from its beginning.
    static let logSizeLimit = 64 << 20

    private let connection: DatabaseQueue
    private let stopped = Atomic<Bool>(false)
    /// Set after a pass over a log that had pages in it; the writer's catch-up takes it.
    private let passDone = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, interval: Duration) throws {
        var configuration = Configuration()
        configuration.label = "yibao.checkpoint"
        configuration.busyMode = .timeout(10)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        let thread = Thread { [self] in
            Thread.nameCurrent("yibao-checkpt")
            let nanoseconds = Int(interval / .nanoseconds(1))
            while !stopped.load(ordering: .acquiring) {
                _ = wake.wait(timeout: .now() + .nanoseconds(nanoseconds))
                if stopped.load(ordering: .acquiring) { break }
                if let copied = try? connection.writeWithoutTransaction({ try $0.checkpoint(.passive) }), copied.checkpointedFrameCount > 0 {
                    passDone.store(true, ordering: .releasing)
                }
            }
            finished.signal()
        }
        thread.qualityOfService = .utility
        thread.start()
    }

    /// The writer's part, between two batches: after a pass, copies what was committed during it so
    /// that the next transaction starts the log from its beginning. (Busy while a pass runs: the next
    /// pass sets the flag again.)
    func catchUp(_ pool: DatabasePool) {
        guard passDone.exchange(false, ordering: .acquiringAndReleasing) else { return }
        _ = try? pool.writeWithoutTransaction { try $0.checkpoint(.passive) }
    }

    /// Stops the thread and closes its connection.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        finished.wait()
        try? connection.close()
    }
}
