import YibaoCore
import YibaoStore

/// A partial refund request (national 6203: `refdType` ALL by lines, CASH, HI).
public struct RefundRequest: Sendable, Hashable, Codable {
    /// What to give back.
    public var type: RefundType
    /// For `lines`: the line numbers to take off.
    public var lineNumbers: [String]?
    /// For `cash`: the amount in fen.
    public var amount: Money?

    /// Creates a request.
    public init(type: RefundType, lineNumbers: [String]? = nil, amount: Money? = nil) {
        self.type = type
        self.lineNumbers = lineNumbers
        self.amount = amount
    }
}

/// Giving money back — a refund (part of a settlement) or a reversal (all of it) — in one shape:
///
/// 1. **Read and lock** (`settlementGivingBack`): the settlement (it must be a settlement, not a refund
///    or reversal record), its refunds so far, the patient's personal account, then the year's
///    accumulators — the same order as a settlement, so one person's money transactions serialise.
/// 2. **Decide** in Core (`SettlementMoney`): what each payer gets back, never more than it paid net of
///    earlier refunds; a pending, declined or cancelled settlement gives nothing back.
/// 3. **Write** one batch (`writeGivenBack`): the new record, the accumulators, the journal entry, the
///    visit (a reversal opens it again), the cash back to the card or credit line queued, the outbox row.
///
/// The idempotency key is claimed with the new record's id, decided before the transaction, so a retry
/// finds that record and moves nothing again.
extension Platform {
    /// The ids one refund or reversal uses, decided before its transaction (a transaction run again after
    /// a conflict uses the same ones).
    struct GiveBackContext: Sendable {
        let institution: Institution
        let recordID: String
        let entryID: String
        let outboxID: String
        let operationID: String
        let channelName: String
        let ids: any IDGenerator

        init(_ platform: Platform, institution: Institution) {
            self.institution = institution
            actor = Platform.actor(institution: institution.code)
            recordID = platform.ids.next("S")
            entryID = platform.ids.next("J")
            outboxID = platform.ids.next("O")
            operationID = platform.ids.next("CO")
            channelName = platform.channel.name
            ids = platform.ids
        }

        /// Who the journal entry names: the staff member at the counter, or the institution's system.
        let actor: String
    }

    /// What a refund or reversal reads under lock before deciding.
    struct GivingBack {
        let original: SettlementRecord
        let money: SettlementMoney
        let balance: LedgerRepository.Balance
        let accumulators: PoolAccumulators
    }

    /// The first answer for a replayed idempotency key (the record it created), or nil when the key is
    /// new — and now claimed for `id`.
    static func replayedRecord(
        scope: String, _ idempotency: IdempotencyRequest?, id: String, now: Instant, in db: any SQLExecutor
    ) throws
        -> SettlementRecord?
    {
        guard let idempotency else { return nil }
        return try replayedRecord(
            IdempotencyRepository.claim(
                scope: scope, key: idempotency.key, fingerprint: idempotency.fingerprint, kind: "settlement", id: id, now: now, in: db),
            in: db)
    }

    /// The record a key claimed before answered with (`Claim.replay`), or nil for a key this request claimed.
    static func replayedRecord(_ claim: IdempotencyRepository.Claim, in db: any SQLExecutor) throws -> SettlementRecord? {
        guard case .replay(_, let id) = claim else { return nil }
        guard let record = try SettlementRepository.find(id: id, institution: nil, lock: false, in: db) else {
            throw StoreError.decoding("idempotent result \(id) missing")
        }
        return record
    }

    /// Reads and locks what giving money back from a settlement needs; `notASettlement` is the refusal
    /// when the id names a refund or reversal record instead.
    static func settlementGivingBack(
        _ id: String, institution: Institution, notASettlement: (SettlementRecord) -> Refusal, in db: any SQLExecutor
    ) throws -> GivingBack {
        guard let original = try SettlementRepository.find(id: id, institution: institution.code, lock: true, in: db) else {
            throw Refusal(.notFound, "this institution has no settlement \(id)")
        }
        guard original.kind == .settlement else { throw notASettlement(original) }
        let money = SettlementMoney(original, refunds: try SettlementRepository.refunds(of: original.id, in: db))
        let balance = try LedgerRepository.lockBalance(.personal(original.personNumber), in: db)
        let accumulators = try AccumulatorRepository.lockIfPresent(person: original.personNumber, year: original.year, pool: original.pool, in: db)
        return GivingBack(original: original, money: money, balance: balance, accumulators: accumulators)
    }

    /// Writes money given back as one batch (the caller may have put rows in `writes` already: the
    /// visit, for a reversal) and returns the projection of its outbox row.
    static func writeGivenBack(
        _ record: SettlementRecord, from back: GivingBack, returned: PayerAmounts, accumulators: PoolAccumulators, kind: EntryKind,
        into writes: inout WriteSet, context: GiveBackContext, now: Instant, in db: any SQLExecutor
    ) throws -> Projection {
        let original = back.original
        let route = back.money.cashRoute
        let line = route == .creditLine ? try CreditBook.line(paying: original, lock: true, in: db) : nil
        let movements = SettlementPostings.movements(
            returned.negated, SettlementParties(original, channel: context.channelName, creditLine: line.map { ($0.id, $0.partner) }))
        let entry = JournalEntry(id: context.entryID, kind: kind, reference: record.id, at: now, movements: movements)
        writes.settlements.append(record)
        writes.accumulators.append(
            WriteSet.Accumulators(person: original.personNumber, year: original.year, pool: original.pool, value: accumulators))
        if let entry { writes.entries.append(WriteSet.Entry(entry, actor: context.actor)) }
        if route != .counter && returned.cash.isPositive {
            writes.channelOperations.append(
                ChannelOperationRepository.Queued(
                    id: context.operationID, channel: context.channelName, kind: .refund, reference: original.id, refundReference: record.id,
                    amount: returned.cash))
        }
        writes.outbox.append(OutboxRepository.Row(id: context.outboxID, kind: .settlement, reference: record.id))
        try WriteSetRepository.apply(writes, now: now, in: db)
        if let line, returned.cash.isPositive {
            try CreditBook.refund(
                line, amount: returned.cash, reference: record.id, CreditBook.Context(ids: context.ids, channel: context.channelName, now: now),
                in: db)
        }
        return Projection(outboxID: context.outboxID, at: now, event: .settlement(record, entry: entry, actor: context.actor, frictionless: false))
    }

    /// Reverses a settlement (结算撤销 / 冲正): a new record with every amount negated, the journal
    /// entry negated, the accumulators restored, and the visit open again. Only a completed settlement
    /// with no refund is reversed; a hospital that wants to undo a partly refunded one refunds the rest.
    public func reverse(settlementID: String, institution: Institution, idempotency: IdempotencyRequest?) async throws -> SettlementRecord {
        let context = GiveBackContext(self, institution: institution)
        let (reversed, projection): (SettlementRecord, Projection?) = try await write { db, now in
            if let replayed = try Platform.replayedRecord(scope: "reverse:" + institution.code, idempotency, id: context.recordID, now: now, in: db) {
                return (replayed, nil)
            }
            let back = try Platform.settlementGivingBack(
                settlementID, institution: institution,
                notASettlement: {
                    Refusal(
                        .alreadyReversed, "\(settlementID) is a \($0.kind.rawValue), not a settlement",
                        references: ["settlement_id": $0.originalId ?? ""])
                }, in: db)
            let original = back.original
            let returned = try back.money.reversal()
            guard try VisitRepository.find(id: original.visitId, institution: institution.code, lock: true, in: db) != nil else {
                throw StoreError.decoding("visit of \(settlementID) missing")
            }
            let record = original.reversal(id: context.recordID, at: now, balanceAfter: back.balance.available + returned.ownAccount)
            try SettlementRepository.markReversed(original.id, by: record.id, in: db)
            var writes = WriteSet()
            writes.visitStates = [WriteSet.VisitState(id: original.visitId, state: .open, settlementID: nil)]
            let projection = try Platform.writeGivenBack(
                record, from: back, returned: returned, accumulators: try back.accumulators.applying(original.accumulatorDelta.negated),
                kind: .reversal, into: &writes, context: context, now: now, in: db)
            return (record, projection)
        }
        if let projection { projector.submit([projection]) }
        await processChannelOperations(reference: reversed.originalId)
        return reversed
    }

    /// Refunds part of a completed settlement: a new refund record that is the difference between the
    /// settlement as it stands and as it should stand, its journal entry, the accumulators adjusted, and
    /// a cash refund to the patient's card or credit line when the cash was collected there.
    public func refund(
        settlementID: String, institution: Institution, request: RefundRequest, idempotency: IdempotencyRequest?
    ) async throws
        -> SettlementRecord
    {
        let reference = self.reference
        let context = GiveBackContext(self, institution: institution)
        let (refund, projection): (SettlementRecord, Projection?) = try await write { db, now in
            if let replayed = try Platform.replayedRecord(scope: "refund:" + institution.code, idempotency, id: context.recordID, now: now, in: db) {
                return (replayed, nil)
            }
            let back = try Platform.settlementGivingBack(
                settlementID, institution: institution,
                notASettlement: {
                    Refusal(
                        .refundNotAllowed, "\(settlementID) is a \($0.kind.rawValue), not a settlement; refund the settlement it belongs to",
                        references: ["settlement_id": $0.originalId ?? ""])
                }, in: db)
            let (original, money, balance) = (back.original, back.money, back.balance)
            let ownNow = money.remaining.ownAccount
            let decision: RefundDecision
            switch request.type {
            case .cash:
                guard let amount = request.amount else { throw Refusal.invalid("amount", "a cash refund needs the amount in fen") }
                decision = try money.refund(cash: amount)
            case .insurance:
                decision = try money.refundInsurance(accountBalanceAfter: balance.available + ownNow)
            case .lines:
                let kept = try money.linesKept(takingOff: request.lineNumbers ?? [])
                if !kept.isEmpty {
                    guard let person = try db.fetch(PeopleRepository.insured(number: original.personNumber)) else {
                        throw StoreError.decoding("person of \(settlementID) missing")
                    }
                    guard let institutionNow = try reference.institution(institution.code, now: now, in: db),
                        let policy = try reference.policy(region: person.region, type: person.insuranceType, year: original.year, now: now, in: db)
                    else { throw Refusal(.noPolicy, "the \(original.year) policy of region \(person.region) is no longer configured") }
                    // The lines kept are re-settled with the plan the patient was in when settled (if any).
                    let planThen = try original.plan.flatMap { _ in
                        try reference.plan(region: person.region, year: original.year, now: now, in: db).map { PlanCover(plan: $0, covered: true) }
                    }
                    let calculation = try SettlementEngine.calculate(
                        SettlementInput(
                            lines: kept.map(\.split), person: person, institution: institutionNow, policy: policy, category: original.category,
                            accumulators: try back.accumulators.applying(money.standing.accumulatorDelta.negated), useAccount: true,
                            accountBalance: ownNow,
                            mutualAidAvailable: money.remaining.mutualAid,
                            plan: planThen
                        )
                    )
                    decision = try money.refundLines(
                        recalculated: calculation, accountBalanceAfter: balance.available + ownNow - calculation.ownAccountPaid)
                } else {
                    decision = try money.refundLines(recalculated: nil, accountBalanceAfter: balance.available + ownNow)
                }
            }
            let record = original.refundRecord(decision, type: request.type, route: money.cashRoute, id: context.recordID, at: now)
            var writes = WriteSet()
            let projection = try Platform.writeGivenBack(
                record, from: back, returned: decision.returned, accumulators: try back.accumulators.applying(decision.accumulatorDelta),
                kind: .refund, into: &writes, context: context, now: now, in: db)
            return (record, projection)
        }
        if let projection { projector.submit([projection]) }
        if let original = refund.originalId { await processChannelOperations(reference: original) }
        return refund
    }
}
