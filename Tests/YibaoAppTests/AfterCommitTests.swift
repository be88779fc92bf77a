import Foundation
import Synchronization
import Testing
import YibaoCore
import YibaoSandbox

@testable import YibaoApp

/// Work done after a commit, off the request (`AfterCommit`): batched while a batch runs, flushed on
/// demand, and — for a settlement's capture — never lost nor done twice when the instance dies before
/// writing it.
@Suite("Platform: work after the commit")
struct AfterCommitTests {
    typealias S = AppFixtures

    @Test("items handed over while a batch runs are done together in the next; flush waits for all of them")
    func batchesWhileRunning() async throws {
        let queue = AfterCommit<Int>(batchMax: 3)
        let seen = Mutex<[[Int]]>([])
        let (gate, opener) = AsyncStream<Void>.makeStream()
        let first = Mutex(true)
        queue.setWorker { batch in
            seen.withLock { $0.append(batch) }
            // The first batch waits until the test has handed over the others.
            if first.withLock({ value in
                defer { value = false }; return value
            }) {
                for await _ in gate { break }
            }
        }
        queue.submit([1])
        while seen.withLock({ $0.isEmpty }) { await Task.yield() }
        queue.submit([2, 3])
        queue.submit([4, 5])
        opener.yield()
        await queue.flush()
        #expect(seen.withLock { $0 } == [[1], [2, 3, 4], [5]])
        await queue.flush()  // nothing waiting: returns at once
    }

    /// Found by `perf probe` on a server flat out (2026-12-06): the worker was kept as a bare closure in a
    /// `Mutex`, and each batch's read of it through `withLock`'s `inout` wrote it back wrapped in two more
    /// reabstraction thunks, so every batch ran through the thunks of all the batches before it (about
    /// 2,500 thunk calls per batch a few minutes into the run, and growing without end). No function in
    /// the process says how deep a closure is, so this measures what the growth does, as a ratio within
    /// one run: with the old worker, the last 500 of 5,000 batches took 23 times the first 500 (0.32 s
    /// against 14 ms, debug build); now the same. Here 9,000 batches, and a factor of five beside 100 ms
    /// for a noisy machine.
    @Test("a batch costs the same after thousands of batches as at the start: the worker is not wrapped again for each")
    func batchCostDoesNotGrow() async throws {
        let queue = AfterCommit<Int>(batchMax: 1)
        let done = Mutex(0)
        queue.setWorker { batch in done.withLock { $0 += batch.count } }
        func run(_ batches: Int) async -> Duration {
            let clock = ContinuousClock()
            let start = clock.now
            for item in 0..<batches {
                queue.submit([item])
                await queue.flush()
            }
            return clock.now - start
        }
        let first = await run(500)
        _ = await run(8_000)
        let last = await run(500)
        #expect(done.withLock { $0 } == 9_000)
        #expect(last < first * 5 + .milliseconds(100), "the last 500 batches took \(last), the first 500 \(first)")
    }

    /// A one-code settlement whose card pays 130 yuan, on a platform where `drop` has taken one
    /// after-commit queue's work away, as an instance dying right after its answer would leave it.
    private static func settleLosingWork(
        _ platform: Platform, clock: ManualClock, drop: (Platform) -> Void
    ) async throws -> (record: SettlementRecord, card: String, bank: SandboxBank) {
        try await S.load(into: platform)
        let phone = try await Phone.make(platform)
        let bank = try #require(platform.sandbox)
        drop(platform)
        let record = try await platform.settle(
            code: OneCodeStoreTests.request(phone.code(at: clock.now())), institution: S.hospital,
            idempotency: IdempotencyRequest(key: "k", fingerprint: "k"))
        #expect(record.state == .completed && record.breakdown.cashPaid == .yuan(130))
        return (record, phone.card.number, bank)
    }

    @Test("a capture confirmed by the bank but not yet marked when the instance dies is attempted again, and charged once")
    func captureMarkLost() async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(.sqlite, clock: clock) { platform in
            // The instance "dies" before writing what became of its channel operations.
            let (record, card, bank) = try await Self.settleLosingWork(platform, clock: clock) { $0.channelMarks.setWorker { _ in } }
            // The capture follows the answer: once it is sent, the card is charged its 130 yuan.
            await platform.channelCalls.flush()
            #expect(try await bank.operations().map(\.state) == ["captured"])
            #expect(try await bank.card(card)?.balance == .yuan(870))
            #expect(try await platform.pendingChannelOperations() == 1)

            // Another instance's background work, once the lease is over: the capture again, marked done.
            platform.setAfterCommitWorkers()
            clock.advance(seconds: 600)
            #expect(await platform.processChannelOperations() == 1)
            #expect(try await platform.pendingChannelOperations() == 0)
            #expect(try await bank.operations().map { [$0.state, "\($0.captured)"] } == [["captured", "\(record.breakdown.cashPaid)"]])
            #expect(try await bank.card(card)?.balance == .yuan(870))
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a capture not yet sent when the instance dies is sent by another instance once its lease is over, and charged once")
    func captureNotSent() async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(.sqlite, clock: clock) { platform in
            // The instance "dies" after its answer, before sending the capture.
            let (record, card, bank) = try await Self.settleLosingWork(platform, clock: clock) { $0.channelCalls.setWorker { _ in } }
            // The answer came once the bank authorised: the settlement is complete and posted, the card's 130
            // yuan is held, not yet taken.
            #expect(try await bank.operations().map(\.state) == ["authorised"])
            let held = try #require(try await bank.card(card))
            #expect(held.balance == .yuan(1000) && held.held == .yuan(130) && held.available == .yuan(870))
            #expect(try await platform.verifyLedger().passed)
            // Leased to the instance that died: no other instance takes it before the lease is over.
            #expect(await platform.processChannelOperations() == 0)
            #expect(try await platform.pendingChannelOperations() == 1)

            // Another instance's background work, once the lease is over: the capture, once.
            platform.setAfterCommitWorkers()
            clock.advance(seconds: 600)
            #expect(await platform.processChannelOperations() == 1)
            #expect(try await platform.pendingChannelOperations() == 0)
            #expect(try await bank.operations().map { [$0.state, "\($0.captured)"] } == [["captured", "\(record.breakdown.cashPaid)"]])
            let charged = try #require(try await bank.card(card))
            #expect(charged.balance == .yuan(870) && charged.held == .zero)
            #expect(await platform.processChannelOperations() == 0)
            #expect(try await platform.verifyLedger().passed)
        }
    }
}
