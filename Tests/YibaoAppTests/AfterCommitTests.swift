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

    @Test("a capture confirmed by the bank but not yet marked when the instance dies is attempted again, and charged once")
    func captureMarkLost() async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(.sqlite, clock: clock) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let bank = try #require(platform.sandbox)
            // The instance "dies" before writing what became of its channel operations.
            platform.channelMarks.setWorker { _ in }
            let record = try await platform.settle(
                code: OneCodeStoreTests.request(phone.code(at: clock.now())), institution: S.hospital,
                idempotency: IdempotencyRequest(key: "k", fingerprint: "k"))
            #expect(record.state == .completed)
            // The answer came after the bank's capture: the card is charged its 130 yuan.
            #expect(try await bank.operations().map(\.state) == ["captured"])
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(870))
            #expect(try await platform.pendingChannelOperations() == 1)

            // Another instance's background work, once the lease is over: the capture again, marked done.
            platform.channelMarks.setWorker { [weak platform] marks in await platform?.mark(marks) }
            clock.advance(seconds: 600)
            #expect(await platform.processChannelOperations() == 1)
            #expect(try await platform.pendingChannelOperations() == 0)
            #expect(try await bank.operations().map { [$0.state, "\($0.captured)"] } == [["captured", "\(record.breakdown.cashPaid)"]])
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(870))
            #expect(try await platform.verifyLedger().passed)
        }
    }
}
