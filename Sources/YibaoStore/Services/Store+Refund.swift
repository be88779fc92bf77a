import YibaoCore

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

extension Store {
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
        let refund: SettlementRecord = try await write { db, now in
            if let idempotency,
                case .replay(_, let id) = try IdempotencyRepository.claim(
                    scope: scope, key: idempotency.key, fingerprint: idempotency.fingerprint, now: now, in: db
                )
            {
                guard let record = try SettlementRepository.find(id: id, institution: nil, lock: false, in: db) else {
                    throw StoreError.decoding("idempotent result \(id) missing")
                }
                return record
            }
            guard let original = try SettlementRepository.find(id: settlementID, institution: institution.code, lock: true, in: db) else {
                throw Refusal(.notFound, "this institution has no settlement \(settlementID)")
            }
            guard original.kind == .settlement, original.state == .completed else {
                throw Refusal(
                    .refundNotAllowed,
                    "only completed settlements are refunded; \(settlementID) is a \(original.state.rawValue) \(original.kind.rawValue)")
            }
            if let reversal = original.reversedBy {
                throw Refusal(.alreadyReversed, "settlement \(settlementID) was reversed by \(reversal)", references: ["reversal_id": reversal])
            }
            guard let person = try PeopleRepository.find(number: original.personNumber, cipher: cipher, in: db) else {
                throw StoreError.decoding("person of \(settlementID) missing")
            }
            let current = SettlementStanding.of(original, refunds: try SettlementRepository.refunds(of: original.id, in: db))
            let accumulators = try AccumulatorRepository.lock(person: person.number, year: original.year, pool: original.pool, in: db)
            let balance = try LedgerRepository.lockBalance(.personal(person.number), in: db)
            let ownNow = current.breakdown.accountPaid - current.breakdown.mutualAidPaid
            let next: SettlementStanding
            switch request.type {
            case .cash:
                guard let amount = request.amount else { throw Refusal.invalid("amount", "a cash refund needs the amount in fen") }
                next = try Refunds.cash(amount, from: current)
            case .insurance:
                next = try Refunds.insurance(from: current, accountBalanceAfter: balance.available + ownNow)
            case .lines:
                guard let numbers = request.lineNumbers, !numbers.isEmpty else {
                    throw Refusal.invalid("line_numbers", "a refund by lines names the lines to take off")
                }
                guard !current.insuranceRefunded else {
                    throw Refusal(.refundNotAllowed, "the insurance part was already refunded; refund cash instead")
                }
                let live = current.liveLines
                for (index, number) in numbers.enumerated() where !live.contains(where: { $0.split.lineNumber == number }) {
                    throw Refusal.invalid("line_numbers[\(index)]", "line \(number) is not a line of this settlement still charged")
                }
                let remaining = live.filter { !numbers.contains($0.split.lineNumber) }
                guard !remaining.isEmpty else {
                    throw Refusal(.refundNotAllowed, "that is every line: reverse the settlement instead", field: "line_numbers")
                }
                guard current.breakdown.cashPaid == original.breakdown.cashPaid else {
                    throw Refusal(.refundNotAllowed, "cash was already refunded from this settlement; refund the rest as cash")
                }
                guard let institutionNow = try reference.institution(institution.code, now: now, in: db),
                    let policy = try reference.policy(region: person.region, type: person.insuranceType, year: original.year, now: now, in: db)
                else { throw Refusal(.noPolicy, "the \(original.year) policy of region \(person.region) is no longer configured") }
                let calculation = try SettlementEngine.calculate(
                    SettlementInput(
                        lines: remaining.map(\.split), person: person, institution: institutionNow, policy: policy, category: original.category,
                        accumulators: accumulators.adding(current.accumulatorDelta.negated), useAccount: true, accountBalance: ownNow,
                        mutualAidAvailable: current.breakdown.mutualAidPaid
                    )
                )
                var standing = SettlementStanding(
                    breakdown: calculation.breakdown, lines: calculation.lines, accumulatorDelta: calculation.accumulatorDelta,
                    insuranceRefunded: false
                )
                standing.breakdown.accountBalanceAfter = balance.available + ownNow - calculation.ownAccountPaid
                guard standing.breakdown.cashPaid <= current.breakdown.cashPaid else {
                    throw Refusal(.refundNotAllowed, "taking these lines off would make the patient pay more cash; reverse and settle again")
                }
                next = standing
            }
            let difference = Refunds.difference(from: current, to: next)
            let record = SettlementRecord(
                id: ids.next("S"), kind: .refund, state: .completed, visitId: original.visitId, originalId: original.id,
                institution: original.institution,
                personNumber: original.personNumber, personNameMasked: original.personNameMasked, insuranceRegion: original.insuranceRegion,
                insuranceType: original.insuranceType, category: original.category, year: original.year, pool: original.pool,
                policyTitle: original.policyTitle, breakdown: difference.breakdown, lines: difference.lines, details: [],
                trace: [
                    "退费 \(request.type.rawValue) refund of settlement \(original.id): fund \(difference.breakdown.fundTotal), account \(difference.breakdown.accountPaid), cash \(difference.breakdown.cashPaid)"
                ],
                accumulatorDelta: difference.accumulatorDelta, mutualAidPayer: original.mutualAidPayer, cashCollection: original.cashCollection,
                fundingSource: original.fundingSource, settledAt: now
            )
            var stored = record
            stored.refundType = request.type
            try SettlementRepository.insert(stored, in: db)
            try AccumulatorRepository.save(
                accumulators.adding(difference.accumulatorDelta), person: person.number, year: original.year, pool: original.pool, in: db
            )
            let institutionNow = try reference.institution(institution.code, now: now, in: db) ?? institution
            let channelCash = original.cashCollection == .channel && difference.breakdown.cashPaid.isNegative
            let line = channelCash ? try CreditBook.line(paying: original, lock: true, in: db) : nil
            let movements = SettlementPostings.movements(
                SettlementCalculation(
                    breakdown: difference.breakdown, lines: difference.lines, details: [], accumulatorDelta: difference.accumulatorDelta,
                    pool: original.pool, trace: []
                ),
                person: person, institution: institutionNow, mutualAidFrom: original.mutualAidPayer, cashChannel: channelCash ? channelName : nil,
                creditLine: line.map { ($0.id, $0.partner) }
            )
            if let entry = JournalEntry(id: ids.next("J"), kind: .refund, reference: record.id, at: now, movements: movements) {
                try LedgerRepository.post(entry, actor: "institution:" + institution.code, in: db)
            }
            if let line {
                try CreditBook.refund(
                    line, amount: -difference.breakdown.cashPaid, reference: record.id, CreditBook.Context(ids: ids, channel: channelName, now: now),
                    in: db)
            }
            try Events.settlement(record, receiptCode: Store.receiptCode(record, cipher: cipher), ids: ids, now: now, in: db)
            if channelCash {
                try ChannelOperationRepository.enqueue(
                    id: ids.next("CO"), channel: channelName, kind: .refund, reference: original.id, refundReference: record.id,
                    amount: -difference.breakdown.cashPaid, now: now, in: db
                )
            }
            if let idempotency {
                try IdempotencyRepository.complete(scope: scope, key: idempotency.key, kind: "settlement", id: record.id, in: db)
            }
            return stored
        }
        if let original = refund.originalId { await processChannelOperations(reference: original) }
        return refund
    }
}
