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

    /// What does a batch, in a struct rather than bare in the `Mutex`: a function type held by a generic
    /// container is kept at its generic abstraction, and reading it through `withLock`'s `inout` converted
    /// it out and back, writing a closure wrapped in two more reabstraction thunks back each time. Every
    /// batch read it, so every batch ran through the thunks of all the batches before it: about 2,500
    /// thunk calls per batch a few minutes into a flat-out run, a fifth of the server's CPU, and growing
    /// without end (found with `perf probe`; docs/performance.md). A struct's field keeps its own type.
    private struct Worker: Sendable {
        let work: @Sendable ([Item]) async -> Void
    }

    private let state = Mutex(State())
    private let worker = Mutex<Worker?>(nil)

    init(batchMax: Int) {
        self.batchMax = batchMax
    }

    /// Sets what does a batch (the platform, once it exists).
    func setWorker(_ work: @escaping @Sendable ([Item]) async -> Void) {
        worker.withLock { $0 = Worker(work: work) }
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
            if !batch.isEmpty, let worker = worker.withLock({ $0 }) { await worker.work(batch) }
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
