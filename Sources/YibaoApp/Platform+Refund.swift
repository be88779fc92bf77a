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

extension Platform {
    /// Refunds part of a completed settlement: a new refund record that is the difference between the
    /// settlement as it stands and as it should stand, its journal entry, the accumulators adjusted, and
    /// a cash refund to the patient's card through the channel when the cash was collected there.
    public func refund(
        settlementID: String, institution: Institution, request: RefundRequest, idempotency: IdempotencyRequest?
    ) async throws
        -> SettlementRecord
    {
        let cipher = self.cipher
        let reference = self.reference
        let ids = self.ids
        let channelName = channel.name
        let scope = "refund:" + institution.code
        let (refund, projection): (SettlementRecord, Projection?) = try await write { db, now in
            if let idempotency,
                case .replay(_, let id) = try IdempotencyRepository.claim(
                    scope: scope, key: idempotency.key, fingerprint: idempotency.fingerprint, now: now, in: db
                )
            {
                guard let record = try SettlementRepository.find(id: id, institution: nil, lock: false, in: db) else {
                    throw StoreError.decoding("idempotent result \(id) missing")
                }
                return (record, nil)
            }
            // 1. Read and lock what the decision needs: the settlement, its refunds, the accumulators, the balance.
            guard let original = try SettlementRepository.find(id: settlementID, institution: institution.code, lock: true, in: db) else {
                throw Refusal(.notFound, "this institution has no settlement \(settlementID)")
            }
            guard original.kind == .settlement else {
                throw Refusal(
                    .refundNotAllowed, "\(settlementID) is a \(original.kind.rawValue), not a settlement; refund the settlement it belongs to",
                    references: ["settlement_id": original.originalId ?? ""])
            }
            let money = SettlementMoney(original, refunds: try SettlementRepository.refunds(of: original.id, in: db))
            let balance = try LedgerRepository.lockBalance(.personal(original.personNumber), in: db)
            let accumulators = try AccumulatorRepository.lockIfPresent(
                person: original.personNumber, year: original.year, pool: original.pool, in: db)
            let ownNow = money.remaining.ownAccount

            // 2. Decide, in Core.
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
                    guard let person = try PeopleRepository.find(number: original.personNumber, cipher: cipher, in: db) else {
                        throw StoreError.decoding("person of \(settlementID) missing")
                    }
                    guard let institutionNow = try reference.institution(institution.code, now: now, in: db),
                        let policy = try reference.policy(region: person.region, type: person.insuranceType, year: original.year, now: now, in: db)
                    else { throw Refusal(.noPolicy, "the \(original.year) policy of region \(person.region) is no longer configured") }
                    let calculation = try SettlementEngine.calculate(
                        SettlementInput(
                            lines: kept.map(\.split), person: person, institution: institutionNow, policy: policy, category: original.category,
                            accumulators: try accumulators.applying(money.standing.accumulatorDelta.negated), useAccount: true,
                            accountBalance: ownNow,
                            mutualAidAvailable: money.remaining.mutualAid
                        )
                    )
                    decision = try money.refundLines(
                        recalculated: calculation, accountBalanceAfter: balance.available + ownNow - calculation.ownAccountPaid)
                } else {
                    decision = try money.refundLines(recalculated: nil, accountBalanceAfter: balance.available + ownNow)
                }
            }
            let accumulatorsAfter = try accumulators.applying(decision.accumulatorDelta)

            // 3. Write the result: the record, the accumulators, the journal entry and the outbox row in one batch.
            let record = original.refundRecord(decision, type: request.type, route: money.cashRoute, id: ids.next("S"), at: now)
            let line = money.cashRoute == .creditLine ? try CreditBook.line(paying: original, lock: true, in: db) : nil
            let movements = SettlementPostings.movements(
                decision.returned.negated, SettlementParties(original, channel: channelName, creditLine: line.map { ($0.id, $0.partner) }))
            let entry = JournalEntry(id: ids.next("J"), kind: .refund, reference: record.id, at: now, movements: movements)
            let actor = "institution:" + institution.code
            let outboxID = ids.next("O")
            var writes = WriteSet()
            writes.settlements = [record]
            writes.accumulators = [
                WriteSet.Accumulators(person: original.personNumber, year: original.year, pool: original.pool, value: accumulatorsAfter)
            ]
            if let entry { writes.entries = [WriteSet.Entry(entry, actor: actor)] }
            writes.outbox = [OutboxRepository.Row(id: outboxID, kind: .settlement, reference: record.id)]
            try WriteSetRepository.apply(writes, now: now, in: db)
            if let line, decision.returned.cash.isPositive {
                try CreditBook.refund(
                    line, amount: decision.returned.cash, reference: record.id, CreditBook.Context(ids: ids, channel: channelName, now: now), in: db)
            }
            if money.cashRoute != .counter && decision.returned.cash.isPositive {
                try ChannelOperationRepository.enqueue(
                    id: ids.next("CO"), channel: channelName, kind: .refund, reference: original.id, refundReference: record.id,
                    amount: decision.returned.cash, now: now, in: db
                )
            }
            if let idempotency {
                try IdempotencyRepository.complete(scope: scope, key: idempotency.key, kind: "settlement", id: record.id, in: db)
            }
            return (record, Projection(outboxID: outboxID, at: now, event: .settlement(record, entry: entry, actor: actor, frictionless: false)))
        }
        if let projection { projector.submit([projection]) }
        if let original = refund.originalId { await processChannelOperations(reference: original) }
        return refund
    }
}
