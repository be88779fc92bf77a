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

        /// The id of a completed settlement (not a reversal or refund), whose reminders it proposes.
        var settlementID: String? {
            guard case .settlement(let record, _, _, _) = self, record.kind == .settlement else { return nil }
            return record.id
        }
    }
}

/// Expands outbox rows into their projections — the wallet events of everyone whose money moved, their
/// inbox messages, webhook deliveries, medication reminders and the audit records (the journal entry's
/// postings, mutual aid, a family member's payment) — after the money's transaction committed, so that
/// the transaction that moves money writes only the money and one outbox row.
///
/// The committing instance hands its projections here at once; a batch is expanded in one transaction.
/// Each row is deleted in the transaction that writes its projections, so it is expanded exactly once; a
/// row whose instance died before expanding it is expanded by any instance's background work
/// (`expandDueProjections`). Reads that show projections (wallet, inbox, audit, webhooks) flush first, so
/// a patient always sees a settlement this instance has answered.
typealias Projector = AfterCommit<Projection>

extension Platform {
    /// Expands projections this instance committed, in one transaction: the rows still in the outbox
    /// are claimed (deleted) and their projections written. A failure leaves the rows for the background
    /// work.
    func expand(_ projections: [Projection]) async {
        let cipher = self.cipher
        let ids = self.ids
        do {
            try await write { db, _ in
                let (claimed, subscriptions, givenBack) = try db.fetch(
                    OutboxRepository.claiming(projections.map(\.outboxID)), WebhookRepository.live,
                    SettlementRepository.givenBack(originals: projections.compactMap(\.event.settlementID)))
                var writes = ProjectionWrites()
                for projection in projections where claimed.contains(projection.outboxID) {
                    try Platform.project(
                        projection.event, subscriptions: subscriptions, givenBack: givenBack, cipher: cipher, ids: ids, now: projection.at,
                        into: &writes, in: db)
                }
                try ProjectionRepository.write(writes, in: db)
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
                let (claimed, subscriptions, givenBack) = try db.fetch(
                    OutboxRepository.claiming(due.map(\.id)), WebhookRepository.live,
                    SettlementRepository.givenBack(originals: due.filter { $0.kind == .settlement }.map(\.reference)))
                var writes = ProjectionWrites()
                var expanded = 0
                for row in due where claimed.contains(row.id) {
                    guard let record = try SettlementRepository.find(id: row.reference, institution: nil, lock: false, in: db) else { continue }
                    let event: Projection.Event
                    switch row.kind {
                    case .declined:
                        event = .declined(record)
                    case .settlement:
                        let entry = try LedgerRepository.entry(reference: record.id, in: db)
                        event = .settlement(
                            record, entry: entry, actor: "institution:" + record.institution.code, frictionless: row.detail == "frictionless")
                    }
                    try Platform.project(
                        event, subscriptions: subscriptions, givenBack: givenBack, cipher: cipher, ids: ids, now: row.createdAt, into: &writes, in: db
                    )
                    expanded += 1
                }
                try ProjectionRepository.write(writes, in: db)
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

    /// Decides an event's projections into `writes`; `db` is read for the reminders a reversal or refund
    /// cancels.
    static func project(
        _ event: Projection.Event, subscriptions: [WebhookRepository.Subscription], givenBack: [SettlementRecord], cipher: PersonalDataCipher,
        ids: any IDGenerator, now: Instant, into writes: inout ProjectionWrites, in db: any SQLExecutor
    ) throws {
        switch event {
        case .settlement(let record, let entry, let actor, let frictionless):
            if let entry { LedgerRepository.audit(entry, actor: actor, into: &writes) }
            try Events.settlement(
                record, receiptCode: Platform.receiptCode(record, cipher: cipher), frictionless: frictionless, subscriptions: subscriptions, ids: ids,
                now: now, into: &writes)
            try projectReminders(record, givenBack: givenBack, ids: ids, now: now, into: &writes, in: db)
        case .declined(let record):
            try Events.declined(record, subscriptions: subscriptions, ids: ids, now: now, into: &writes)
        }
    }
}

extension Platform {
    /// Waits until the work this instance does after its commits is written: the projections and what
    /// became of its channel operations.
    public func flushAfterCommit() async {
        await flushChannelWork()
        await projector.flush()
    }

    /// Returns once the channel calls this instance queued after its answers are made and what became
    /// of them is written.
    func flushChannelWork() async {
        await channelCalls.flush()
        await channelMarks.flush()
    }

    /// Writes what is still waiting after commits, then closes the database: what a shutting-down
    /// instance committed is expanded and marked by itself rather than left to another instance's
    /// background work.
    public func close() async {
        await flushAfterCommit()
        await backend.close()
    }
}
