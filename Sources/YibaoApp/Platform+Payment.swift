import Logging
import YibaoCore
import YibaoStore

/// Collecting the cash part from the patient's funding source: reserve → authorise → commit.
///
/// 1. The local transaction records the settlement **pending**: the engine's split is final, the
///    personal-account part is put on hold (not posted), the idempotency key points at the pending
///    settlement. The pending record is the person's payment lock (one per person, `SettlementRepository.inFlight`).
/// 2. The channel is asked to authorise the cash part, with the settlement id as its reference (the
///    channel is idempotent on it).
/// 3. Approved → one transaction posts everything (funds, account, channel cash), applies the
///    accumulators, releases the hold, completes the record (which releases the lock), and queues the
///    capture. Declined → one transaction releases the hold and marks it declined: nothing was
///    ever posted. No answer → it stays pending; a retry with the same Idempotency-Key, a read of the
///    settlement, or the background resolver asks the channel what happened and finishes it — exactly
///    one charge either way.
extension Platform {
    /// How long a pending payment may stay unknown at the channel before it is cancelled.
    public static let pendingPaymentTimeoutSeconds: Int64 = 600

    func collectCash(_ record: SettlementRecord, from source: FundingSource, frictionless: Bool? = nil) async throws -> SettlementRecord {
        precondition(record.state == .pending, "collect only pending settlements")
        let decision: ChannelDecision
        do {
            decision = try await channel.authorise(
                ChannelAuthorisation(
                    reference: record.id, token: source.token, amount: record.breakdown.cashPaid,
                    description: "\(record.institution.name) 医疗费用 \(record.breakdown.cashPaid) 元"
                )
            )
        } catch let error as ChannelError {
            throw Platform.pendingRefusal(record, error)
        }
        switch decision {
        case .approved:
            return try await completePayment(id: record.id, pending: record, frictionless: frictionless)
        case .declined(let reason):
            throw Platform.declineRefusal(try await declinePayment(id: record.id, reason: reason, state: .declined))
        }
    }

    /// Asks the channel what became of a pending settlement's cash part and finishes it.
    public func resolvePending(id: String) async throws -> SettlementRecord {
        guard let record = try await read({ db, _ in try SettlementRepository.find(id: id, institution: nil, lock: false, in: db) }) else {
            throw Refusal(.notFound, "no settlement \(id)")
        }
        guard record.state == .pending else { return record }
        let status: ChannelStatus
        do {
            status = try await channel.query(reference: id)
        } catch let error as ChannelError {
            throw Platform.pendingRefusal(record, error)
        }
        switch status {
        case .authorised, .captured:
            return try await completePayment(id: id)
        case .declined(let reason):
            return try await declinePayment(id: id, reason: reason, state: .declined)
        case .voided:
            return try await declinePayment(id: id, reason: nil, state: .cancelled)
        case .unknown:
            if clock.now() > record.settledAt.adding(seconds: Platform.pendingPaymentTimeoutSeconds) {
                _ = try? await channel.void(reference: id)
                return try await declinePayment(id: id, reason: nil, state: .cancelled)
            }
            guard let sourceID = record.fundingSource?.id,
                let source = try await read({ db, _ in try FundingSourceRepository.find(id: sourceID, in: db) })
            else { throw StoreError.decoding("funding source of \(id) missing") }
            do {
                return try await collectCash(record, from: source)
            } catch let refusal as Refusal where refusal.code == .paymentDeclined {
                return try await read { db, _ in try SettlementRepository.find(id: id, institution: nil, lock: false, in: db) } ?? record
            }
        }
    }

    /// Completes a pending settlement whose cash part the channel authorised: read and lock (the state,
    /// the patient's account, the accumulators, the credit line that paid), decide in Core
    /// (`PaymentCompletion`), write one batch — the holds released, the accumulators, the journal entry,
    /// the record completed (the patient's payment lock with it), the visit settled, the capture queued,
    /// the outbox row.
    /// `pending` is the record as this process wrote it (it never changes but for its state), which spares
    /// reading it back; `frictionless` likewise, when known.
    func completePayment(id: String, pending: SettlementRecord? = nil, frictionless: Bool? = nil) async throws -> SettlementRecord {
        let ids = self.ids
        let channelName = channel.name
        let entryID = ids.next("J")
        let outboxID = ids.next("O")
        let captureID = ids.next("CO")
        let acting = Platform.actingStaff
        let (record, projection, capture): (SettlementRecord, Projection?, [ChannelOperationRepository.Queued]) = try await write { db, now in
            // The record as written when pending (only its state changes), then one batch: its state
            // locked, the patient's account locked, the accumulators.
            guard let pending = try pending ?? SettlementRepository.find(id: id, institution: nil, lock: false, in: db) else {
                throw StoreError.decoding("settlement \(id) vanished")
            }
            let (state, _, accumulators) = try db.fetch(
                SettlementRepository.lockState(id), LedgerRepository.lockBalance(.personal(pending.personNumber)),
                AccumulatorRepository.lockIfPresent(person: pending.personNumber, year: pending.year, pool: pending.pool))
            guard let state else { throw StoreError.decoding("settlement \(id) vanished") }
            guard state == .pending else {
                guard let resolved = try SettlementRepository.find(id: id, institution: nil, lock: false, in: db) else {
                    throw StoreError.decoding("settlement \(id) vanished")
                }
                return (resolved, nil, [])
            }
            let line = try CreditBook.line(paying: pending, lock: true, in: db)
            let completion = try PaymentCompletion.decide(
                pending, accumulators: accumulators, channel: channelName, creditLine: line.map { ($0.id, $0.partner) }, entryID: entryID, now: now)
            let record = completion.record
            let actor = Platform.actor(institution: record.institution.code, acting: acting)
            let frictionless = try frictionless ?? (VisitRepository.paymentAuthority(record.visitId, in: db) == .frictionless)
            var writes = WriteSet()
            writes.holds = completion.releasedHolds
            writes.accumulators = [
                WriteSet.Accumulators(person: record.personNumber, year: record.year, pool: record.pool, value: completion.accumulators)
            ]
            if let entry = completion.entry { writes.entries = [WriteSet.Entry(entry, actor: actor)] }
            writes.completedSettlements = [record.id]
            writes.visitStates = [WriteSet.VisitState(id: record.visitId, state: .settled, settlementID: record.id)]
            // The capture is queued leased to this process, which attempts it as soon as this commits.
            writes.channelOperations = [
                ChannelOperationRepository.Queued(
                    id: captureID, channel: channelName, kind: .capture, reference: record.id, amount: record.breakdown.cashPaid, leased: true)
            ]
            writes.outbox = [OutboxRepository.Row(id: outboxID, kind: .settlement, reference: record.id, detail: frictionless ? "frictionless" : "")]
            try WriteSetRepository.apply(writes, now: now, in: db)
            if let line {
                try CreditBook.purchase(
                    line, amount: record.breakdown.cashPaid, reference: record.id, institution: record.institution.name,
                    CreditBook.Context(ids: ids, channel: channelName, now: now), in: db
                )
            }
            return (
                record,
                Projection(
                    outboxID: outboxID, at: now, event: .settlement(record, entry: completion.entry, actor: actor, frictionless: frictionless)),
                writes.channelOperations
            )
        }
        if let projection { projector.submit([projection]) }
        channelCalls.submit(capture.map(ChannelOperationRepository.Operation.init))
        return record
    }

    /// Ends a pending settlement without money moving: holds and lock released, nothing posted.
    func declinePayment(id: String, reason: DeclineReason?, state: SettlementState) async throws -> SettlementRecord {
        let outboxID = ids.next("O")
        let (record, projection): (SettlementRecord, Projection?) = try await write { db, now in
            guard var record = try SettlementRepository.find(id: id, institution: nil, lock: true, in: db) else {
                throw StoreError.decoding("settlement \(id) vanished")
            }
            guard record.state == .pending else { return (record, nil) }
            try VisitRepository.updateState(record.visitId, state: .open, settlementId: nil, now: now, in: db)
            try LedgerRepository.hold(.personal(record.personNumber), delta: -record.ownAccountPaid, now: now, in: db)
            if let binder = record.mutualAidPayer {
                try LedgerRepository.hold(.personal(binder), delta: -record.breakdown.mutualAidPaid, now: now, in: db)
            }
            record.state = state
            record.declineReason = reason
            record.trace.append(
                state == .declined
                    ? "银行拒绝 declined by the bank: \(reason?.message ?? "no reason given"); nothing was charged or posted"
                    : "取消 cancelled: the bank never took the payment; nothing was charged or posted"
            )
            try SettlementRepository.resolve(record, now: now, in: db)
            try OutboxRepository.insert([OutboxRepository.Row(id: outboxID, kind: .declined, reference: record.id)], now: now, in: db)
            return (record, Projection(outboxID: outboxID, at: now, event: .declined(record)))
        }
        if let projection { projector.submit([projection]) }
        return record
    }

    static func declineRefusal(_ record: SettlementRecord) -> Refusal {
        Refusal(
            .paymentDeclined,
            (record.declineReason?.message ?? "the payment was cancelled")
                + "; nothing was charged. The visit is open again: settle it with the cash part at the counter, or ask for another card",
            references: ["settlement_id": record.id, "visit_id": record.visitId, "decline_reason": record.declineReason?.rawValue ?? "cancelled"]
        )
    }

    static func pendingRefusal(_ record: SettlementRecord, _ error: ChannelError) -> Refusal {
        Refusal(
            .paymentPending,
            "\(error); the settlement is pending and will be charged at most once: retry with the same Idempotency-Key or read the settlement",
            retryAfterSeconds: 2, references: ["settlement_id": record.id, "visit_id": record.visitId]
        )
    }

    // MARK: Payments other than settlements (contributions, credit repayments)

    /// Asks the channel to reserve an amount for a payment; a call with no answer becomes a pending
    /// refusal that says the payment will be taken at most once.
    func authoriseOnce(reference: String, token: String, amount: Money, description: String, what: String) async throws -> ChannelDecision {
        do {
            return try await channel.authorise(ChannelAuthorisation(reference: reference, token: token, amount: amount, description: description))
        } catch let error as ChannelError {
            throw Refusal(
                .paymentPending, "\(error); \(what) will be taken at most once: retry with the same Idempotency-Key", retryAfterSeconds: 2,
                references: [what + "_id": reference]
            )
        }
    }

    /// Finishes payments left pending (a crash, a lost answer) by asking the channel what became of
    /// each: authorised or captured → `complete`; declined, voided, or unknown past the timeout (voided
    /// first) → `end` with the reason (nil: cancelled); unknown before the timeout (the bank never got the
    /// request) → `attempt` asks again (the channel is idempotent on the reference), as a settlement's
    /// resolution does. Returns how many were finished.
    func resolveAtChannel(
        _ pending: [(id: String, createdAt: Instant)], complete: (String) async throws -> Void, end: (String, DeclineReason?) async throws -> Void,
        attempt: (String) async throws -> Void
    ) async -> Int {
        var resolved = 0
        for (id, createdAt) in pending {
            guard let status = try? await channel.query(reference: id) else { continue }
            do {
                switch status {
                case .authorised, .captured: try await complete(id)
                case .declined(let reason): try await end(id, reason)
                case .voided: try await end(id, nil)
                case .unknown:
                    guard clock.now() > createdAt.adding(seconds: Platform.pendingPaymentTimeoutSeconds) else {
                        try await attempt(id)
                        resolved += 1
                        continue
                    }
                    _ = try? await channel.void(reference: id)
                    try await end(id, nil)
                }
                resolved += 1
            } catch {
                continue
            }
        }
        return resolved
    }

    // MARK: Background work

    /// Attempts due channel operations (captures, voids, refunds); returns how many completed. The
    /// operations are taken under a lease first, so instances sharing a database split them.
    /// `takeOverLeases` is for offline tools run while no server is (`loadtest verify` after a crash
    /// test): every pending operation is attempted now, including those a killed instance had taken.
    @discardableResult
    public func processChannelOperations(reference: String? = nil, limit: Int = 100, takeOverLeases: Bool = false) async -> Int {
        let reach = takeOverLeases ? OutboxLease.leaseSeconds + ChannelOperationRepository.backoffMaxSeconds : 0
        await flushChannelWork()
        guard
            let operations = try? await write({ db, now in
                try ChannelOperationRepository.take(now: now, dueBy: now.adding(seconds: reach), reference: reference, limit: limit, in: db)
            })
        else { return 0 }
        let done = await attempt(operations)
        await flushChannelWork()
        return done
    }

    /// Attempts channel operations this process holds the lease of (taken, or queued leased) — one after
    /// another, or all at once when they are known to be for different references (the captures of
    /// different settlements, as their requests sent them) — and hands what became of each to
    /// `channelMarks`: each confirmed one is marked done, each failure waits its back-off, all of them in
    /// one write after the answer. Returns how many were confirmed. An operation confirmed but not yet
    /// marked when the process dies is attempted again once its lease is over: every channel call is
    /// idempotent on its reference.
    @discardableResult
    func attempt(_ operations: [ChannelOperationRepository.Operation], atOnce: Bool = false) async -> Int {
        var marks: [ChannelMark] = []
        if atOnce {
            marks = await withTaskGroup(of: ChannelMark.self) { group in
                for operation in operations { group.addTask { await self.outcome(of: operation) } }
                return await group.reduce(into: []) { $0.append($1) }
            }
        } else {
            for operation in operations { marks.append(await outcome(of: operation)) }
        }
        channelMarks.submit(marks)
        return marks.count { $0.error == nil }
    }

    /// One operation at the channel, and what became of it.
    private func outcome(of operation: ChannelOperationRepository.Operation) async -> ChannelMark {
        do {
            try await perform(operation)
            return ChannelMark(id: operation.id, attempts: operation.attempts, error: nil)
        } catch {
            return ChannelMark(id: operation.id, attempts: operation.attempts + 1, error: "\(error)")
        }
    }

    /// Writes what became of channel operations, in one transaction. A failure leaves them to the
    /// background work (their leases run out and they are attempted again).
    func mark(_ marks: [ChannelMark]) async {
        do {
            try await write { db, now in
                try ChannelOperationRepository.markDone(marks.filter { $0.error == nil }.map(\.id), now: now, in: db)
                for mark in marks {
                    guard let error = mark.error else { continue }
                    try ChannelOperationRepository.markFailedAttempt(mark.id, attempts: mark.attempts, error: error, now: now, in: db)
                }
            }
        } catch {
            logger.warning("channel operations left to the background work", metadata: ["error": "\(error)", "count": "\(marks.count)"])
        }
    }

    /// One channel operation, at the channel.
    private func perform(_ operation: ChannelOperationRepository.Operation) async throws {
        switch operation.kind {
        case .capture:
            _ = try await channel.capture(reference: operation.reference, amount: operation.amount)
        case .void:
            _ = try await channel.void(reference: operation.reference)
        case .refund:
            if case .authorised(let amount) = try await channel.query(reference: operation.reference) {
                _ = try await channel.capture(reference: operation.reference, amount: amount)
            }
            _ = try await channel.refund(
                reference: operation.reference, refundReference: operation.refundReference ?? operation.id, amount: operation.amount
            )
        case .creditRepay:
            try await credit.repay(token: operation.detail ?? "", reference: operation.reference, principal: operation.amount)
        case .creditSync:
            let found = try await read { db, _ in
                try CreditRepository.find(id: operation.reference, lock: false, in: db).map {
                    ($0, try CreditRepository.token(line: $0.id, in: db))
                }
            }
            if let (line, token) = found, let token { try await credit.setSuspended(token: token, suspended: line.state == .suspended) }
        case .creditReport:
            if let report = try await read({ db, _ in try CreditRepository.report(id: operation.detail ?? "", in: db) }) {
                try await credit.report(report)
            }
        }
    }

    /// Resolves settlements pending longer than `olderThanSeconds` (after a crash or a lost answer).
    @discardableResult
    public func resolvePendingPayments(olderThanSeconds: Int64 = 10, limit: Int = 100) async -> Int {
        let cutoff = clock.now().adding(seconds: -olderThanSeconds)
        guard let ids = try? await read({ db, _ in try SettlementRepository.pending(before: cutoff, limit: limit, in: db) }) else { return 0 }
        var resolved = 0
        for id in ids {
            if let record = try? await resolvePending(id: id), record.state != .pending { resolved += 1 }
        }
        // A background job finishes its own captures before it reports.
        await flushChannelWork()
        return resolved
    }

    /// Channel operations not yet confirmed.
    public func pendingChannelOperations() async throws -> Int64 {
        await flushChannelWork()
        return try await read { db, _ in try ChannelOperationRepository.pendingCount(in: db) }
    }
}

/// What became of one channel operation at the channel, to be written (`Platform.mark`).
struct ChannelMark: Sendable {
    /// The operation.
    let id: String
    /// Its attempts so far, this one included when it failed.
    let attempts: Int64
    /// Why it failed; nil when the channel confirmed it.
    let error: String?
}
