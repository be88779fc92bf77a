import Foundation
import YibaoCore
import YibaoStore

/// A contribution the person may pay, as the phone shows it before confirming.
public struct PremiumOption: Sendable, Hashable, Codable {
    /// The kind.
    public var kind: PremiumKind
    /// `YYYY` or `YYYY-MM`.
    public var period: String
    /// The amount, from the policy.
    public var amount: Money
    /// Whether payment is open today.
    public var open: Bool
    /// The payment, when paid or being paid.
    public var paymentId: String?
    /// `unpaid`, `pending` or `paid`.
    public var status: String
}

/// A contribution payment request: the amount is the one the phone showed (it must still be the
/// policy's), never chosen by the user.
public struct PremiumRequest: Sendable, Hashable, Codable {
    /// The insured person the contribution is for.
    public var personNumber: String
    /// The kind.
    public var kind: PremiumKind
    /// `YYYY` or `YYYY-MM`.
    public var period: String
    /// The amount shown to the user when they confirmed.
    public var amount: Money
    /// A funding source; the payer's default when absent.
    public var fundingSourceId: String?
    /// The payer's authenticator code, required when paying for a family member.
    public var totpCode: String?

    /// Creates a request.
    public init(personNumber: String, kind: PremiumKind, period: String, amount: Money, fundingSourceId: String? = nil) {
        self.personNumber = personNumber
        self.kind = kind
        self.period = period
        self.amount = amount
        self.fundingSourceId = fundingSourceId
    }
}

/// A verified receipt, as anyone may see it: no personal data.
public struct ReceiptVerification: Sendable, Hashable, Codable {
    /// Whether the receipt is genuine and unaltered.
    public var authentic: Bool
    /// `settlement` or `premium`, when authentic.
    public var kind: String?
    /// The amount, when authentic.
    public var amount: Money?
    /// The contribution period, for a premium.
    public var period: String?
    /// When it was paid or settled.
    public var at: Instant?
    /// The institution, for a settlement.
    public var institution: String?
    /// What became of it since, when authentic: `valid`, `partly_refunded` (see `refunded_amount`),
    /// `refunded` (everything given back) or `reversed`. A receipt of a reversed settlement is genuine
    /// but no longer stands: an insurer must not pay on it.
    public var status: String?
    /// For a settlement: what was given back so far by refunds or a reversal (every payer together).
    public var refundedAmount: Money?
    /// The reversal, for a reversed settlement.
    public var reversalId: String?
}

extension Platform {
    /// The contributions a person may pay: their region's schedules for this year and the next (resident)
    /// or the previous, this and the next month (flexible employment).
    public func premiumOptions(person number: String) async throws -> [PremiumOption] {
        guard let person = try await person(number: number) else { throw Refusal(.unknownPerson, "no enrolled person has number \(number)") }
        let today = ChinaTime.date(clock.now())
        var candidates: [(PremiumKind, String, Int)] = []
        switch person.insuranceType {
        case .resident:
            candidates = [(.residentAnnual, String(today.year), today.year), (.residentAnnual, String(today.year + 1), today.year + 1)]
        case .employee:
            let months = [today.firstOfNextMonth.adding(days: -40), today, today.firstOfNextMonth]
            candidates = months.map { (.flexibleMonthly, $0.yearMonth, $0.year) }
        }
        candidates += [(.commercialPlan, String(today.year), today.year), (.commercialPlan, String(today.year + 1), today.year + 1)]
        let reference = self.reference
        let asked = candidates
        return try await read { db, now in
            try asked.compactMap { kind, period, year in
                guard let schedule = try Platform.premiumSchedule(kind, person: person, year: year, reference: reference, now: now, in: db) else {
                    return nil
                }
                let live = try PremiumRepository.live(person: number, kind: kind, period: period, in: db)
                return PremiumOption(
                    kind: kind, period: period, amount: schedule.amount, open: schedule.isOpen(period: period, on: today), paymentId: live?.id,
                    status: live.map { $0.state == .paid ? "paid" : "pending" } ?? "unpaid")
            }
        }
    }

    /// What a contribution kind costs a person in a year and when it is open: the schedule of their
    /// policy, or for the commercial plan the plan of their region; nil when there is none.
    static func premiumSchedule(
        _ kind: PremiumKind, person: Person, year: Int, reference: ReferenceCache, now: Instant, in db: any SQLExecutor
    ) throws -> PremiumSchedule? {
        guard kind != .commercialPlan else { return try reference.plan(region: person.region, year: year, now: now, in: db)?.premiumSchedule }
        return try reference.policy(region: person.region, type: person.insuranceType, year: year, now: now, in: db)?.premiums?.first {
            $0.kind == kind
        }
    }

    /// Pays a contribution for `request.personNumber` from `payer`'s funding source: reserve → authorise →
    /// commit, like a settlement's cash part. The same period twice — two taps, two phones, a retry —
    /// charges once: the second is refused as already paid.
    public func payPremium(_ request: PremiumRequest, payer: String, idempotency: IdempotencyRequest) async throws -> PremiumPayment {
        guard channel.isConfigured else { throw UnconfiguredParty.refusal("bank") }
        let cipher = self.cipher
        let reference = self.reference
        let ids = self.ids
        let id = ids.next("P")
        let scope = "premium:" + payer
        let phase: PremiumPhase = try await write { db, now in
            if case .replay(_, let replayID) = try IdempotencyRepository.claim(
                scope: scope, key: idempotency.key, fingerprint: idempotency.fingerprint, now: now, in: db
            ) {
                guard let (payment, sourceID) = try PremiumRepository.find(id: replayID, in: db) else {
                    throw StoreError.decoding("premium \(replayID) missing")
                }
                return try Platform.phase(payment, sourceID: sourceID, in: db)
            }
            guard let person = try PeopleRepository.find(number: request.personNumber, cipher: cipher, in: db) else {
                throw Refusal(
                    .unknownPerson, "no enrolled person has insurance number \(request.personNumber); check the number", field: "person_number")
            }
            guard person.status != .terminated else { throw Refusal(.personNotInsured, "this insurance was terminated; ask the bureau") }
            if let type = request.kind.insuranceType, type != person.insuranceType {
                throw Refusal(
                    .noPremiumSchedule, "\(request.kind.rawValue) is not a contribution of insurance type \(person.insuranceType.rawValue)",
                    field: "kind")
            }
            let year: Int
            switch request.kind {
            case .residentAnnual, .commercialPlan:
                guard request.period.count == 4, let value = Int(request.period) else { throw Refusal.invalid("period", "an annual period is YYYY") }
                year = value
            case .flexibleMonthly:
                guard let month = PremiumSchedule.month(request.period) else { throw Refusal.invalid("period", "a monthly period is YYYY-MM") }
                year = month.year
            }
            guard let schedule = try Platform.premiumSchedule(request.kind, person: person, year: year, reference: reference, now: now, in: db)
            else {
                throw Refusal(
                    .noPremiumSchedule, "region \(person.region) has no \(request.kind.rawValue) contribution for \(request.period) yet",
                    field: "period")
            }
            let today = ChinaTime.date(now)
            guard schedule.isOpen(period: request.period, on: today) else {
                throw Refusal(.periodNotOpen, "\(request.period) is not open for payment on \(today)", field: "period")
            }
            guard request.amount == schedule.amount else {
                throw Refusal(
                    .amountMismatch,
                    "the contribution is \(schedule.amount) yuan, not \(request.amount): show the user the new amount and confirm again",
                    field: "amount")
            }
            if let live = try PremiumRepository.live(person: person.number, kind: request.kind, period: request.period, in: db) {
                throw Platform.alreadyPaid(live)
            }
            // Only a source the payer still has bound: a removed card is never charged.
            let source =
                try request.fundingSourceId.map { id in try FundingSourceRepository.list(person: payer, in: db).first { $0.id == id } }
                ?? FundingSourceRepository.defaultSource(person: payer, in: db)
            guard let source, source.personNumber == payer else {
                throw Refusal(.noFundingSource, "bind a bank card first (or choose one of yours that is still bound)", field: "funding_source_id")
            }
            let payment = PremiumPayment(
                id: id, personNumber: person.number, payerNumber: payer, region: person.region, kind: request.kind, period: request.period,
                amount: schedule.amount, state: .pending, fundingSource: FundingSourceSummary(source), declineReason: nil, createdAt: now, paidAt: nil
            )
            do {
                try PremiumRepository.insert(payment, sourceID: source.id, in: db)
            } catch StoreError.uniqueViolation {
                throw Refusal(.premiumAlreadyPaid, "\(request.period) is already paid or being paid")
            }
            try IdempotencyRepository.complete(scope: scope, key: idempotency.key, kind: "premium", id: id, in: db)
            return .collect(payment, source)
        }
        switch phase {
        case .done(let payment): return payment
        case .declined(let payment): throw Platform.premiumDeclined(payment)
        case .collect(let payment, let source): return try await collectPremium(payment, from: source)
        }
    }

    enum PremiumPhase: Sendable {
        case done(PremiumPayment)
        case collect(PremiumPayment, FundingSource)
        case declined(PremiumPayment)
    }

    static func phase(_ payment: PremiumPayment, sourceID: String?, in db: any SQLExecutor) throws -> PremiumPhase {
        switch payment.state {
        case .paid: return .done(payment)
        case .declined, .cancelled: return .declined(payment)
        case .pending:
            guard let sourceID, let source = try FundingSourceRepository.find(id: sourceID, in: db) else {
                throw StoreError.decoding("funding source of premium \(payment.id) missing")
            }
            return .collect(payment, source)
        }
    }

    func collectPremium(_ payment: PremiumPayment, from source: FundingSource) async throws -> PremiumPayment {
        let decision = try await authoriseOnce(
            reference: payment.id, token: source.token, amount: payment.amount, description: "\(payment.kind.chineseName)缴费 \(payment.period)",
            what: "premium")
        switch decision {
        case .approved: return try await completePremium(id: payment.id)
        case .declined(let reason): throw Platform.premiumDeclined(try await declinePremium(id: payment.id, reason: reason, state: .declined))
        }
    }

    func completePremium(id: String) async throws -> PremiumPayment {
        let ids = self.ids
        let channelName = channel.name
        let reference = self.reference
        let payment: PremiumPayment = try await write { db, now in
            guard let (found, _) = try PremiumRepository.find(id: id, in: db, lock: true) else { throw StoreError.decoding("premium \(id) vanished") }
            guard found.state == .pending else { return found }
            var payment = found
            payment.state = .paid
            payment.paidAt = now
            try PremiumRepository.update(payment, in: db)
            try db.execute(
                "INSERT INTO coverage (person_number, kind, period, premium_id, activated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [.text(payment.personNumber), .text(payment.kind.rawValue), .text(payment.period), .text(payment.id), .instant(now)]
            )
            let fund: AccountID
            if let type = payment.kind.insuranceType {
                fund = AccountID.fund(payment.region, type, type.pooledFundType)
            } else {
                guard let year = Int(payment.period), let plan = try reference.plan(region: payment.region, year: year, now: now, in: db) else {
                    throw StoreError.decoding("the plan of premium \(payment.id) is no longer configured")
                }
                fund = .insurer(plan.insurer.code)
            }
            if let entry = JournalEntry(
                id: ids.next("J"), kind: .premium, reference: payment.id, at: now,
                movements: [Posting(.channel(channelName), -payment.amount), Posting(fund, payment.amount)]
            ) {
                try LedgerRepository.post(entry, actor: "patient:" + payment.payerNumber, in: db)
            }
            try ChannelOperationRepository.enqueue(
                id: ids.next("CO"), channel: channelName, kind: .capture, reference: payment.id, refundReference: nil, amount: payment.amount,
                now: now, in: db
            )
            try Events.premium(payment, ids: ids, now: now, in: db)
            return payment
        }
        await processChannelOperations(reference: payment.id)
        return payment
    }

    func declinePremium(id: String, reason: DeclineReason?, state: PremiumState) async throws -> PremiumPayment {
        let ids = self.ids
        return try await write { db, now in
            guard let (found, _) = try PremiumRepository.find(id: id, in: db, lock: true) else { throw StoreError.decoding("premium \(id) vanished") }
            guard found.state == .pending else { return found }
            var payment = found
            payment.state = state
            payment.declineReason = reason
            try PremiumRepository.update(payment, in: db)
            try Events.notice(
                person: payment.payerNumber, topic: "premium.declined", title: "缴费未成功",
                body: "\(payment.period) 缴费 \(payment.amount) 元未成功：\(reason?.message ?? "已取消")。未发生任何扣款。", ids: ids, now: now, in: db
            )
            return payment
        }
    }

    /// Resolves premium payments pending longer than `olderThanSeconds` by asking the channel.
    @discardableResult
    public func resolvePendingPremiums(olderThanSeconds: Int64 = 10) async -> Int {
        let cutoff = clock.now().adding(seconds: -olderThanSeconds)
        guard let pending = try? await read({ db, _ in try PremiumRepository.pending(before: cutoff, in: db) }) else { return 0 }
        return await resolveAtChannel(
            pending.map { ($0.0.id, $0.0.createdAt) }, complete: { _ = try await completePremium(id: $0) },
            end: { _ = try await declinePremium(id: $0, reason: $1, state: $1 == nil ? .cancelled : .declined) },
            attempt: { id in
                let found = try await read { db, _ in
                    try PremiumRepository.find(id: id, in: db).map { try Platform.phase($0.0, sourceID: $0.1, in: db) }
                }
                if case .collect(let payment, let source) = found { _ = try? await collectPremium(payment, from: source) }
            }
        )
    }

    /// A payment by id (of this payer or the person, when given).
    public func premiumPayment(id: String, visibleTo person: String?) async throws -> PremiumPayment? {
        let found = try await read { db, _ in try PremiumRepository.find(id: id, in: db)?.0 }
        guard let found, person == nil || found.personNumber == person || found.payerNumber == person else { return nil }
        return found
    }

    /// The periods a person is covered for.
    public func coverage(person: String) async throws -> [(kind: PremiumKind, period: String, premiumId: String)] {
        try await read { db, _ in
            try db.query("SELECT kind, period, premium_id FROM coverage WHERE person_number = ? ORDER BY period", [.text(person)]).map {
                (try $0.enumeration("kind"), try $0.string("period"), try $0.string("premium_id"))
            }
        }
    }

    /// The verification code of a paid contribution's receipt.
    public func premiumReceiptCode(_ payment: PremiumPayment) -> String {
        receiptCode(id: payment.id, figures: Platform.figures(payment))
    }

    static func figures(_ payment: PremiumPayment) -> String {
        "premium|\(payment.kind.rawValue)|\(payment.period)|\(payment.amount.fen)|\(payment.paidAt?.millisecondsSinceEpoch ?? 0)"
    }

    /// Verifies a receipt by id and code — and, when given, the amount and period printed on it: genuine
    /// and unaltered, with its amount and period; no personal data.
    public func verifyReceipt(id: String, code: String, claimedAmount: Money? = nil, claimedPeriod: String? = nil) async throws -> ReceiptVerification
    {
        let normalized = code.uppercased().replacingOccurrences(of: " ", with: "")
        let notAuthentic = ReceiptVerification(authentic: false, kind: nil, amount: nil, period: nil, at: nil, institution: nil, status: nil)
        guard id.utf8.count < 64, normalized.utf8.count < 64 else { return notAuthentic }
        if let payment = try await premiumPayment(id: id, visibleTo: nil), payment.state == .paid,
            Secrets.constantTimeEquals(premiumReceiptCode(payment), normalized), claimedAmount.map({ $0 == payment.amount }) ?? true,
            claimedPeriod.map({ $0 == payment.period }) ?? true
        {
            return ReceiptVerification(
                authentic: true, kind: "premium", amount: payment.amount, period: payment.period, at: payment.paidAt, institution: nil,
                status: "valid")
        }
        let found = try await read { db, _ in
            try SettlementRepository.find(id: id, institution: nil, lock: false, in: db).map { record in
                (record, record.kind == .settlement ? try SettlementRepository.refunds(of: record.id, in: db) : [])
            }
        }
        if let (record, refunds) = found, record.state == .completed,
            Secrets.constantTimeEquals(receiptCode(id: record.id, figures: Platform.figures(record)), normalized),
            claimedAmount.map({ $0 == record.breakdown.totalAmount }) ?? true, claimedPeriod == nil
        {
            var verification = ReceiptVerification(
                authentic: true, kind: record.kind.rawValue, amount: record.breakdown.totalAmount, period: nil, at: record.settledAt,
                institution: record.institution.name, status: "valid"
            )
            if record.kind == .settlement {
                let money = SettlementMoney(record, refunds: refunds)
                if let reversal = record.reversedBy {
                    verification.status = "reversed"
                    verification.reversalId = reversal
                    verification.refundedAmount = money.paid.total
                } else if money.refundCount > 0 {
                    verification.status = money.isFullyRefunded ? "refunded" : "partly_refunded"
                    verification.refundedAmount = money.returned.total
                }
            }
            return verification
        }
        return notAuthentic
    }

    static func alreadyPaid(_ payment: PremiumPayment) -> Refusal {
        Refusal(
            .premiumAlreadyPaid,
            payment.state == .paid
                ? "\(payment.period) is already paid (receipt \(payment.id)); nothing was charged again"
                : "\(payment.period) is being paid right now; nothing was charged again",
            references: ["premium_id": payment.id]
        )
    }

    static func premiumDeclined(_ payment: PremiumPayment) -> Refusal {
        Refusal(
            .paymentDeclined, (payment.declineReason?.message ?? "the payment was cancelled") + "; nothing was charged",
            references: ["premium_id": payment.id, "decline_reason": payment.declineReason?.rawValue ?? "cancelled"]
        )
    }
}

enum PremiumRepository {
    static func insert(_ payment: PremiumPayment, sourceID: String, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO premium_payments (id, person_number, payer_number, kind, period, amount, state, funding_source_id, document, created_at, paid_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
            """,
            [
                .text(payment.id), .text(payment.personNumber), .text(payment.payerNumber), .text(payment.kind.rawValue), .text(payment.period),
                .money(payment.amount), .text(payment.state.rawValue), .text(sourceID), .text(try YibaoJSON.string(payment)),
                .instant(payment.createdAt),
            ]
        )
    }

    static func update(_ payment: PremiumPayment, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE premium_payments SET state = ?, document = ?, paid_at = ? WHERE id = ?",
            [.text(payment.state.rawValue), .text(try YibaoJSON.string(payment)), .instant(payment.paidAt), .text(payment.id)]
        )
    }

    static func find(id: String, in db: any SQLExecutor, lock: Bool = false) throws -> (PremiumPayment, String?)? {
        try db.queryOne("SELECT document, funding_source_id FROM premium_payments WHERE id = ?\(lock ? " FOR UPDATE" : "")", [.text(id)]).map {
            (try YibaoJSON.decode(PremiumPayment.self, from: try $0.string("document")), try $0.optionalString("funding_source_id"))
        }
    }

    static func live(person: String, kind: PremiumKind, period: String, in db: any SQLExecutor) throws -> PremiumPayment? {
        try db.queryOne(
            "SELECT document FROM premium_payments WHERE person_number = ? AND kind = ? AND period = ? AND state IN ('pending', 'paid')",
            [.text(person), .text(kind.rawValue), .text(period)]
        ).map { try YibaoJSON.decode(PremiumPayment.self, from: try $0.string("document")) }
    }

    static func pending(before: Instant, in db: any SQLExecutor) throws -> [(PremiumPayment, String?)] {
        try db.query(
            "SELECT document, funding_source_id FROM premium_payments WHERE state = 'pending' AND created_at < ? ORDER BY created_at LIMIT 100",
            [.instant(before)]
        ).map { (try YibaoJSON.decode(PremiumPayment.self, from: try $0.string("document")), try $0.optionalString("funding_source_id")) }
    }
}
