import Foundation
import Logging
import YibaoCore
import YibaoStore

/// Yibao's use cases — enrol, open a visit, settle, refund, reverse, pay a premium, repay credit, bind
/// family … — over one store. Each reads what its decision needs through the store's repositories,
/// decides in `YibaoCore`, and writes the result in one transaction of the backend: a settlement, its
/// journal entry and the accumulator updates commit together or not at all. Parties outside Yibao (the
/// patient's bank, the credit partner) are reached through their protocols.
public final class Platform: Sendable {
    /// The database underneath.
    public let backend: any StoreBackend
    /// The clock every record's time comes from.
    public let clock: any WallClock
    /// Where new record ids come from.
    public let ids: any IDGenerator
    /// Seals personal data.
    public let cipher: PersonalDataCipher
    /// The party that holds patients' cards and credit lines: a real adapter, the sandbox bank (demos and
    /// tests only), or `UnconfiguredParty` when none is wired in.
    public let channel: any PaymentChannel
    /// The partner bank that grants medical credit lines (the channel when it also grants credit).
    public let credit: any CreditProvider
    let reference = ReferenceCache()
    /// Expands the outbox rows this instance commits (wallet, inbox, webhooks, audit) after the commit.
    let projector = Projector(batchMax: 256)
    /// Sends the channel operations this instance queued leased to itself (a settlement's capture) to the
    /// channel after the answer: the payment was authorised and completed before it; the capture only
    /// collects what the hold guarantees, as a card network settles its captures after the sale.
    let channelCalls = AfterCommit<ChannelOperationRepository.Operation>(batchMax: 256)
    /// Writes what became of the channel operations this instance attempted (`attempt`), off the
    /// request, marked done with others in one write.
    let channelMarks = AfterCommit<ChannelMark>(batchMax: 256)
    let logger = Logger(label: "yibao.platform")

    /// Creates the platform over a backend. Without a channel nothing that needs a bank can start (it is
    /// refused with `party_not_configured`); the sandbox bank (`YibaoSandbox`) is wired in only when asked
    /// for (`serve --demo` or `--sandbox`, and tests). Without a credit provider the channel grants credit
    /// lines if it can.
    public init(
        backend: any StoreBackend, clock: any WallClock, ids: any IDGenerator, cipher: PersonalDataCipher,
        channel: any PaymentChannel = UnconfiguredParty(), credit: (any CreditProvider)? = nil
    ) {
        self.backend = backend
        self.clock = clock
        self.ids = ids
        self.cipher = cipher
        self.channel = channel
        self.credit = credit ?? (channel as? any CreditProvider) ?? UnconfiguredParty()
        setAfterCommitWorkers()
    }

    /// Sets what does each after-commit queue's batches (once, at creation; tests that drop a queue's work,
    /// as a dead instance would, set them again to play the instance after it).
    func setAfterCommitWorkers() {
        projector.setWorker { [weak self] projections in await self?.expand(projections) }
        // Each settlement's capture is for its own reference: a batch is sent at once, so that captures keep
        // up with settlements (one after another they fell behind: 1,616 of 9,929 sent by the end of a
        // 10 s run flat out).
        channelCalls.setWorker { [weak self] operations in await self?.attempt(operations, atOnce: true) }
        channelMarks.setWorker { [weak self] marks in await self?.mark(marks) }
    }

    /// Brings the schema up to date.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await Migrations.migrate(backend, now: clock.now())
    }

    /// Runs a write transaction with the current time.
    package func write<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor, Instant) throws -> T) async throws -> T {
        let clock = self.clock
        return try await backend.write { db in try work(db, clock.now()) }
    }

    /// Runs a read session with the current time.
    package func read<T: Sendable>(_ work: @escaping @Sendable (any SQLExecutor, Instant) throws -> T) async throws -> T {
        let clock = self.clock
        return try await backend.read { db in try work(db, clock.now()) }
    }
}

/// An idempotency key with the fingerprint of the request it came with.
public struct IdempotencyRequest: Sendable, Hashable {
    /// The client's key (the `Idempotency-Key` header).
    public let key: String
    /// A hash of the request (method, path, body); a different request with the same key is refused.
    public let fingerprint: String

    /// The longest key accepted.
    public static let keyLengthMax = 200

    /// Creates an idempotency request.
    public init(key: String, fingerprint: String) {
        self.key = key
        self.fingerprint = fingerprint
    }
}
