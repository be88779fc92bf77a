import Synchronization

/// Work an instance does for what it has just committed, off the request: items are handed here at once
/// and whatever is waiting when the previous batch ends is done together, as one batch (on SQLite, the
/// batch's writes share one group commit). Each item's work is durable before it is handed over (an
/// outbox row, a queued channel operation committed with the money), so a batch that fails, or an
/// instance that dies before it runs, leaves the work to the background jobs that look for it.
///
/// Reads that must see the work done call `flush` first.
final class AfterCommit<Item: Sendable>: Sendable {
    private struct State {
        var waiting: [Item] = []
        var running = false
        var idle: [CheckedContinuation<Void, Never>] = []
    }

    /// The most items done in one batch.
    let batchMax: Int

    private let state = Mutex(State())
    private let worker = Mutex<(@Sendable ([Item]) async -> Void)?>(nil)

    init(batchMax: Int) {
        self.batchMax = batchMax
    }

    /// Sets what does a batch (the platform, once it exists).
    func setWorker(_ work: @escaping @Sendable ([Item]) async -> Void) {
        worker.withLock { $0 = work }
    }

    /// Queues items committed by this instance; a batch starts at once unless one is running, which
    /// takes them when it ends.
    func submit(_ items: [Item]) {
        guard !items.isEmpty else { return }
        let start = state.withLock { state -> Bool in
            state.waiting += items
            if state.running { return false }
            state.running = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    /// Returns once every item submitted so far is done (or its batch failed and was left to the
    /// background jobs).
    func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if !state.running && state.waiting.isEmpty { return true }
                state.idle.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Item] in
                let batch = Array(state.waiting.prefix(batchMax))
                state.waiting.removeFirst(batch.count)
                return batch
            }
            if !batch.isEmpty, let work = worker.withLock({ $0 }) { await work(batch) }
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
                guard state.waiting.isEmpty else { return nil }
                state.running = false
                defer { state.idle = [] }
                return state.idle
            }
            if let waiters {
                for waiter in waiters { waiter.resume() }
                return
            }
        }
    }
}
