import Logging
import Synchronization
import YibaoCore
import YibaoStore

/// What a money movement's outbox row projects, as the committing instance still holds it in memory.
struct Projection: Sendable {
    /// The outbox row committed with the money.
    let outboxID: String
    /// When the money moved: the projections (wallet events, messages) carry this time, not the time
    /// they are expanded.
    let at: Instant
    /// What it projects.
    let event: Event

    enum Event: Sendable {
        /// A completed settlement, reversal or refund, with its journal entry (nil when nothing moved).
        case settlement(SettlementRecord, entry: JournalEntry?, actor: String, frictionless: Bool)
        /// A pending settlement that ended without money moving.
        case declined(SettlementRecord)
    }
}

/// Expands outbox rows into their projections — the wallet events of everyone whose money moved, their
/// inbox messages, webhook deliveries, medication reminders and the audit records (the journal entry's postings, mutual aid,
/// a family member's payment) — after the money's transaction committed, so that the transaction that
/// moves money writes only the money and one outbox row.
///
/// The committing instance hands its projections here at once; whatever is waiting when the previous
/// expansion ends is expanded together, in one transaction (on SQLite, one group commit). Each row is
/// deleted in the transaction that writes its projections, so it is expanded exactly once; a row whose
/// instance died before expanding it is expanded by any instance's background work (`expandDue`).
/// Reads that show projections (wallet, inbox, audit, webhooks) call `flush` first, so a patient always
/// sees a settlement this instance has answered.
final class Projector: Sendable {
    private struct State {
        var waiting: [Projection] = []
        var running = false
        var idle: [CheckedContinuation<Void, Never>] = []
    }

    /// The most projections expanded in one transaction.
    static let batchMax = 256

    private let state = Mutex(State())
    private let expander = Mutex<(@Sendable ([Projection]) async -> Void)?>(nil)

    init() {}

    /// Sets what expands a batch (the platform, once it exists).
    func setExpander(_ expand: @escaping @Sendable ([Projection]) async -> Void) {
        expander.withLock { $0 = expand }
    }

    /// Queues projections committed by this instance; an expansion starts at once unless one is running,
    /// which takes them when it ends.
    func submit(_ projections: [Projection]) {
        guard !projections.isEmpty else { return }
        let start = state.withLock { state -> Bool in
            state.waiting += projections
            if state.running { return false }
            state.running = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    /// Returns once every projection submitted so far is expanded (or its expansion failed and was left
    /// to the background work).
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
            let batch = state.withLock { state -> [Projection] in
                let batch = Array(state.waiting.prefix(Projector.batchMax))
                state.waiting.removeFirst(batch.count)
                return batch
            }
            if !batch.isEmpty, let expand = expander.withLock({ $0 }) { await expand(batch) }
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

extension Platform {
    /// Expands projections this instance committed, in one transaction: the rows still in the outbox
    /// are claimed (deleted) and their projections written. A failure leaves the rows for the background
    /// work.
    func expand(_ projections: [Projection]) async {
        let cipher = self.cipher
        let ids = self.ids
        do {
            try await write { db, _ in
                let claimed = try OutboxRepository.claim(projections.map(\.outboxID), in: db)
                for projection in projections where claimed.contains(projection.outboxID) {
                    try Platform.project(projection.event, cipher: cipher, ids: ids, now: projection.at, in: db)
                }
            }
        } catch {
            logger.warning("projections left to the background work", metadata: ["error": "\(error)", "count": "\(projections.count)"])
        }
    }

    /// Expands outbox rows whose committing instance did not (it died, or its expansion failed): the
    /// record and the journal entry are read back. Returns how many were expanded. `takeOverLeases` is for
    /// offline tools run while no server is (`loadtest verify` after a crash test): every row is expanded
    /// now, including those a killed instance was about to.
    @discardableResult
    public func expandDueProjections(limit: Int = 256, takeOverLeases: Bool = false) async -> Int {
        let cipher = self.cipher
        let ids = self.ids
        do {
            return try await write { db, now in
                let due = try OutboxRepository.due(
                    dueBy: takeOverLeases ? now.adding(seconds: OutboxRepository.dueAfterSeconds + 1) : now, limit: limit, in: db)
                let claimed = try OutboxRepository.claim(due.map(\.id), in: db)
                var expanded = 0
                for row in due where claimed.contains(row.id) {
                    guard let record = try SettlementRepository.find(id: row.reference, institution: nil, lock: false, in: db) else { continue }
                    switch row.kind {
                    case .declined:
                        try Platform.project(.declined(record), cipher: cipher, ids: ids, now: row.createdAt, in: db)
                    case .settlement:
                        let entry = try LedgerRepository.entry(reference: record.id, in: db)
                        try Platform.project(
                            .settlement(
                                record, entry: entry, actor: "institution:" + record.institution.code, frictionless: row.detail == "frictionless"),
                            cipher: cipher, ids: ids, now: row.createdAt, in: db)
                    }
                    expanded += 1
                }
                return expanded
            }
        } catch {
            logger.warning("outbox expansion failed", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Waits until every projection this instance committed is written (wallet, inbox and audit reads
    /// call it first).
    public func flushProjections() async {
        await projector.flush()
    }

    static func project(_ event: Projection.Event, cipher: PersonalDataCipher, ids: any IDGenerator, now: Instant, in db: any SQLExecutor) throws {
        switch event {
        case .settlement(let record, let entry, let actor, let frictionless):
            if let entry { try LedgerRepository.audit(entry, actor: actor, in: db) }
            try Events.settlement(
                record, receiptCode: Platform.receiptCode(record, cipher: cipher), frictionless: frictionless, ids: ids, now: now, in: db)
            try projectReminders(record, ids: ids, now: now, in: db)
        case .declined(let record):
            try Events.declined(record, ids: ids, now: now, in: db)
        }
    }
}

extension Platform {
    /// Writes the projections still waiting, then closes the database: what a shutting-down instance
    /// committed is expanded by itself rather than left to another instance's background work.
    public func close() async {
        await flushProjections()
        await backend.close()
    }
}
