import Foundation
import Synchronization

/// Holds a database's writer thread inside a write until released, as a disk that stops answering would:
/// the write's work calls `hold()`, which blocks the thread it runs on (SQLite's own writer thread, never
/// the cooperative pool).
public final class WriterHold: Sendable {
    private let entered = Atomic<Bool>(false)
    private let released = DispatchSemaphore(value: 0)

    /// `releaseAfter`: the writer is let go after this long whatever the test does, so that a test of a
    /// broken bound fails on its timings instead of hanging.
    public init(releaseAfter: Duration = .seconds(30)) {
        Task { [released] in
            try? await Task.sleep(for: releaseAfter)
            released.signal()
        }
    }

    /// The write's work: marks the writer held and blocks it until `release()`.
    public func hold() {
        entered.store(true, ordering: .releasing)
        released.wait()
    }

    public func release() { released.signal() }

    /// Waits, without blocking a thread of the pool, until the writer is held (at most 5 s); whether it is.
    public func untilHeld() async throws -> Bool {
        for _ in 0..<500 where !entered.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(10)) }
        return entered.load(ordering: .acquiring)
    }
}
