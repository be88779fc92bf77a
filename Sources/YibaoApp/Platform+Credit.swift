import Foundation
import YibaoCore
import YibaoStore

/// A credit line as its borrower sees it.
public struct CreditLineView: Sendable, Hashable, Codable {
    /// The line.
    public var line: CreditLine
    /// Principal in use: purchases less refunds less principal repaid (额度已用).
    public var used: Money
    /// What the line can still pay (可用额度): the limit less what is used.
    public var available: Money
    /// Everything owed now: bills' principal, interest and fees, and this cycle's purchases.
    public var owed: Money
    /// This cycle's purchases less refunds, not yet on a bill (未出账).
    public var unbilled: Money
    /// A refund larger than what was owed, netted against the next bill (溢缴款).
    public var creditBalance: Money
    /// Still owed on bills already drawn up (已出账未还).
    public var billed: Money
    /// The earliest due date of a bill with something owed.
    public var nextDueDate: CivilDate?
    /// The most days a bill is overdue.
    public var overdueDays: Int
    /// The bills, newest first.
    public var bills: [CreditBillView]
}

/// A bill with its status and entries.
public struct CreditBillView: Sendable, Hashable, Codable {
    /// The bill.
    public var bill: CreditBill
    /// `open`, `overdue` or `paid` today.
    public var status: String
    /// What is on it (purchases, refunds, interest, fees, repayments), oldest first; empty in lists.
    public var entries: [CreditEntry]
}

/// What the daily credit job did.
public struct CreditDayReport: Sendable, Hashable, Codable {
    /// The day it ran for.
    public var date: CivilDate
    /// Lines brought up to date (lines already up to date are not counted).
    public var lines: Int
    /// Bills drawn up.
    public var bills: Int
    /// Penalty interest charged.
    public var interest: Money
    /// Fees charged.
    public var fees: Money
    /// Lines suspended.
    public var suspended: Int
    /// Lines reinstated.
    public var reinstated: Int
}

/// A request to repay a credit line.
public struct RepaymentRequest: Sendable, Hashable, Codable {
    /// The amount.
    public var amount: Money
    /// `account` or `funding_source`.
    public var source: CreditRepayment.Source
    /// The card, for `funding_source`.
    public var fundingSourceId: String?

    /// Creates a request.
    public init(amount: Money, source: CreditRepayment.Source, fundingSourceId: String? = nil) {
        self.amount = amount
        self.source = source
        self.fundingSourceId = fundingSourceId
    }
}

extension Platform {
    // MARK: Partners

    /// Every partner's terms.
    public func creditTerms() async throws -> [CreditTerms] {
        try await read { db, _ in try CreditRepository.allTerms(in: db) }
    }

    /// Saves a partner's terms (lines opened from now on get them; open lines keep the terms they were
    /// opened with, as their contract says).
    public func saveCreditTerms(_ terms: CreditTerms, actor: String) async throws {
        if let problem = terms.problems.first { throw Refusal.invalid(problem.field, problem.message) }
        try await write { db, now in
            try CreditRepository.saveTerms(terms, now: now, in: db)
            try AuditRepository.append(
                actor: actor, action: "credit.terms", subject: terms.partner, value: ["terms": try YibaoJSON.string(terms)], now: now, in: db
            )
        }
    }

    // MARK: Lines

    /// A person applies for a dedicated medical credit line; the partner bank decides.
    public func applyForCredit(person number: String) async throws -> CreditLineView {
        guard credit.isConfigured else { throw UnconfiguredParty.refusal("credit partner bank") }
        let partner = credit.partner
        let setup: (Person, CreditTerms) = try await read { db, now in
            guard let person = try PeopleRepository.find(number: number, cipher: self.cipher, in: db) else {
                throw Refusal(.notFound, "no person \(number)")
            }
            guard let terms = try CreditRepository.terms(partner: partner, in: db) else {
                throw Refusal(.notFound, "no terms for credit partner \(partner); an administrator sets them")
            }
            if try CreditRepository.lines(person: number, in: db).contains(where: { $0.partner == partner }) {
                throw Refusal(.alreadyExists, "you already have a medical credit line with \(terms.partnerName)")
            }
            return (person, terms)
        }
        let (person, terms) = setup
        let decision: CreditDecision
        do {
            decision = try await credit.apply(
                CreditApplication(
                    reference: ids.next("CA"), idNumber: person.idNumber, name: person.name, birthDate: person.birthDate,
                    insuranceType: person.insuranceType, insured: person.status == .active
                )
            )
        } catch let error as ChannelError {
            throw Refusal(.paymentPending, "the bank did not answer (\(error)); apply again", retryAfterSeconds: 5)
        }
        let ids = self.ids
        let channelName = channel.name
        switch decision {
        case .refused(let reason):
            try await write { db, now in
                try AuditRepository.append(
                    actor: "patient:" + number, action: "credit.refused", subject: number, value: ["partner": partner, "reason": reason], now: now,
                    in: db)
            }
            throw Refusal(.creditRefused, "\(terms.partnerName) refused the application: \(reason)")
        case .approved(let card, let limit):
            let id = ids.next("CL")
            let sourceID = ids.next("F")
            let line: CreditLine = try await write { db, now in
                if let existing = try CreditRepository.lines(person: number, in: db).first(where: { $0.partner == partner }) { return existing }
                let sources = try FundingSourceRepository.list(person: number, in: db)
                try FundingSourceRepository.insert(
                    FundingSource(
                        id: sourceID, personNumber: number, channel: channelName, kind: .medicalCredit, token: card.token, masked: card.masked,
                        bank: card.bank,
                        isDefault: sources.isEmpty
                    ),
                    now: now, in: db
                )
                let line = CreditLine(
                    id: id, personNumber: number, partner: partner, fundingSourceId: sourceID, masked: card.masked, creditLimit: limit,
                    state: .active,
                    terms: terms, openedAt: now, nextStatement: terms.statementDate(after: ChinaTime.date(now))
                )
                try CreditRepository.insert(line, token: card.token, in: db)
                try AuditRepository.append(
                    actor: "patient:" + number, action: "credit.open", subject: number,
                    value: ["line": id, "partner": partner, "limit": "\(limit.fen)"],
                    now: now, in: db
                )
                try Events.notice(
                    person: number, topic: "credit.opened", title: "医疗信用额度已开通",
                    body:
                        "\(terms.partnerName) 授予您医疗信用额度 \(limit) 元（\(card.masked)）。每月 \(terms.billingDay) 日出账，出账后 \(terms.graceDays) 天内还款免息；逾期按日 \(terms.penaltyBasisPointsPerDay)‱ 计收罚息。",
                    ids: ids, now: now, in: db
                )
                return line
            }
            return try await creditLine(id: line.id, person: number)
        }
    }

    /// A person's credit lines.
    public func creditLines(person: String) async throws -> [CreditLineView] {
        try await read { db, now in
            try CreditRepository.lines(person: person, in: db).map { try Platform.view($0, entries: false, today: ChinaTime.date(now), in: db) }
        }
    }

    /// One of a person's credit lines, with its bills.
    public func creditLine(id: String, person: String) async throws -> CreditLineView {
        try await read { db, now in
            let line = try Platform.ownCreditLine(id, person: person, lock: false, in: db)
            return try Platform.view(line, entries: false, today: ChinaTime.date(now), in: db)
        }
    }

    /// One of `person`'s credit lines; another's or an unknown id is the same 404.
    static func ownCreditLine(_ id: String, person: String, lock: Bool, in db: any SQLExecutor) throws -> CreditLine {
        guard let line = try CreditRepository.find(id: id, lock: lock, in: db), line.personNumber == person else {
            throw Refusal(.notFound, "no credit line \(id) of yours")
        }
        return line
    }

    /// A bill of one of a person's lines, with every entry on it.
    public func creditBill(id: String, person: String) async throws -> CreditBillView {
        try await read { db, now in
            guard let bill = try CreditRepository.bill(id: id, in: db), let line = try CreditRepository.find(id: bill.lineId, lock: false, in: db),
                line.personNumber == person
            else { throw Refusal(.notFound, "no bill \(id) of yours") }
            return CreditBillView(bill: bill, status: bill.status(on: ChinaTime.date(now)), entries: try CreditRepository.entries(bill: id, in: db))
        }
    }

    /// The entries of the current cycle (not yet on a bill).
    public func creditUnbilled(line id: String, person: String) async throws -> [CreditEntry] {
        try await read { db, _ in
            let line = try Platform.ownCreditLine(id, person: person, lock: false, in: db)
            return try CreditRepository.unbilled(line: line.id, in: db)
        }
    }

    static func view(_ line: CreditLine, entries: Bool, today: CivilDate, in db: any SQLExecutor) throws -> CreditLineView {
        let bills = try CreditRepository.bills(line: line.id, in: db)
        let unbilledNet = Money.sum(try CreditRepository.unbilled(line: line.id, in: db).map(\.amount))
        let unpaid = bills.filter { $0.amountDue.isPositive }
        let used = Money.sum(unpaid.map(\.principalDue)) + unbilledNet
        return CreditLineView(
            line: line, used: used, available: line.creditLimit - used, owed: Money.sum(unpaid.map(\.amountDue)) + max(unbilledNet, .zero),
            unbilled: max(unbilledNet, .zero), creditBalance: max(-unbilledNet, .zero), billed: Money.sum(unpaid.map(\.amountDue)),
            nextDueDate: unpaid.map(\.dueDate).min(), overdueDays: unpaid.map { $0.overdueDays(on: today) }.max() ?? 0,
            bills: try bills.reversed().map {
                CreditBillView(bill: $0, status: $0.status(on: today), entries: entries ? try CreditRepository.entries(bill: $0.id, in: db) : [])
            }
        )
    }

    // MARK: Frictionless authorisation

    /// The patient signs (with their second factor, checked by the caller) the authorisation to settle
    /// frictionless visits without a code, naming the source and the order. Replaces an earlier one.
    public func signFrictionless(person: String, fundingSourceID: String?, priority: PaymentPriority) async throws -> FrictionlessAuthorisation {
        let ids = self.ids
        let cipher = self.cipher
        return try await write { db, now in
            guard let patient = try PeopleRepository.find(number: person, cipher: cipher, in: db) else {
                throw Refusal(.notFound, "no person \(person)")
            }
            var source: FundingSource?
            if let fundingSourceID {
                guard let found = try FundingSourceRepository.list(person: person, in: db).first(where: { $0.id == fundingSourceID }) else {
                    throw Refusal(.notFound, "no funding source \(fundingSourceID) of yours", field: "funding_source_id")
                }
                source = found
            }
            switch priority {
            case .accountOnly:
                guard patient.insuranceType == .employee else {
                    throw Refusal.invalid("priority", "residents have no personal account: choose source_first with a card or credit line")
                }
            case .accountFirst, .sourceFirst:
                guard source != nil else {
                    throw Refusal.invalid("funding_source_id", "choose the card or credit line that pays (funding_source_id)")
                }
            }
            if let source, source.kind == .medicalCredit, let line = try CreditRepository.find(fundingSource: source.id, lock: false, in: db),
                line.state == .suspended
            {
                throw Refusal(.creditSuspended, "your medical credit line is suspended for an overdue bill; repay it first")
            }
            _ = try CreditRepository.revoke(person: person, now: now, in: db)
            let text = FrictionlessAuthorisation.consentText(priority: priority, source: source.map { "\($0.bank) \($0.masked)" })
            let digest = Secrets.sha256Hex(
                "\(FrictionlessAuthorisation.consentVersion1)|\(person)|\(source?.id ?? "-")|\(priority.rawValue)|\(now.millisecondsSinceEpoch)|\(text)"
            )
            let authorisation = FrictionlessAuthorisation(
                id: ids.next("FA"), personNumber: person, fundingSourceId: source?.id, priority: priority,
                consentVersion: FrictionlessAuthorisation.consentVersion1, consentDigest: digest, signedAt: now
            )
            try CreditRepository.insert(authorisation, in: db)
            try AuditRepository.append(
                actor: "patient:" + person, action: "frictionless.sign", subject: person,
                value: ["authorisation": authorisation.id, "source": source?.id ?? "", "priority": priority.rawValue, "consent_digest": digest],
                now: now,
                in: db
            )
            try Events.notice(person: person, topic: "frictionless.signed", title: "已开通无感支付", body: text, ids: ids, now: now, in: db)
            return authorisation
        }
    }

    /// The authorisation in force.
    public func frictionlessAuthorisation(person: String) async throws -> FrictionlessAuthorisation? {
        try await read { db, _ in try CreditRepository.authorisation(person: person, in: db) }
    }

    /// Revokes the authorisation: visits registered as frictionless can no longer be settled without the patient.
    public func revokeFrictionless(person: String) async throws {
        let ids = self.ids
        let revoked = try await write { db, now in
            let revoked = try CreditRepository.revoke(person: person, now: now, in: db)
            if revoked {
                try AuditRepository.append(
                    actor: "patient:" + person, action: "frictionless.revoke", subject: person, value: ["revoked": "true"], now: now, in: db)
                try Events.notice(
                    person: person, topic: "frictionless.revoked", title: "已关闭无感支付", body: "无感支付授权已撤销，立即生效。", ids: ids, now: now, in: db)
            }
            return revoked
        }
        if !revoked { throw Refusal(.notFound, "no frictionless authorisation in force") }
    }

    // MARK: Repayment

    /// Repays a credit line, in full or in part, from a card or from the personal account (where the
    /// region's policy allows). Idempotent on the key: a retry never repays twice.
    public func repayCredit(
        person: String, line lineID: String, _ request: RepaymentRequest, idempotency: IdempotencyRequest
    ) async throws -> CreditRepayment {
        guard request.amount.isPositive, request.amount <= Money.requestAmountMax else {
            throw Refusal.invalid("amount", "amount is a positive number of fen")
        }
        guard channel.isConfigured && credit.isConfigured else { throw UnconfiguredParty.refusal("bank") }
        let cipher = self.cipher
        let reference = self.reference
        let ids = self.ids
        let channelName = channel.name
        let scope = "repay:" + person
        enum Phase: Sendable {
            case done(CreditRepayment)
            case collect(CreditRepayment, FundingSource)
        }
        let phase: Phase = try await write { db, now in
            if case .replay(_, let id) = try IdempotencyRepository.claim(
                scope: scope, key: idempotency.key, fingerprint: idempotency.fingerprint, now: now, in: db)
            {
                guard let repayment = try CreditRepository.repayment(id: id, lock: false, in: db) else {
                    throw StoreError.decoding("repayment \(id) missing")
                }
                if repayment.state == .pending, let sourceID = repayment.fundingSourceId,
                    let source = try FundingSourceRepository.find(id: sourceID, in: db)
                {
                    return .collect(repayment, source)
                }
                return .done(repayment)
            }
            let line = try Platform.ownCreditLine(lineID, person: person, lock: true, in: db)
            let context = CreditBook.Context(ids: ids, channel: channelName, now: now)
            _ = try CreditBook.process(lineID: line.id, through: ChinaTime.date(now), context, in: db)
            let owed = try CreditBook.owed(line: line.id, in: db)
            guard request.amount <= owed else {
                throw Refusal(.repaymentExceedsOwed, "you owe \(owed) yuan on this line; repay at most that", field: "amount")
            }
            let id = ids.next("RP")
            var repayment = CreditRepayment(
                id: id, lineId: line.id, personNumber: person, source: request.source, fundingSourceId: nil, amount: request.amount, state: .pending,
                allocation: nil, declineReason: nil, createdAt: now, completedAt: nil
            )
            let result: Phase
            switch request.source {
            case .account:
                guard let patient = try PeopleRepository.find(number: person, cipher: cipher, in: db), patient.insuranceType == .employee,
                    try reference.policy(region: patient.region, type: patient.insuranceType, year: ChinaTime.date(now).year, now: now, in: db)?
                        .family?
                        .accountMayRepayCredit ?? false
                else {
                    throw Refusal(
                        .accountRepaymentNotAllowed,
                        "your region's policy does not let the personal account repay credit (employees only, where allowed)",
                        field: "source")
                }
                let balance = try LedgerRepository.lockBalance(.personal(person), in: db)
                guard balance.available >= request.amount else {
                    throw Refusal(
                        .accountInsufficient, "the personal account has \(balance.available) yuan available; repay less or from a card",
                        field: "amount")
                }
                repayment.allocation = try CreditBook.repay(line, amount: request.amount, reference: id, fromAccount: true, context, in: db)
                repayment.state = .completed
                repayment.completedAt = now
                try CreditRepository.insert(repayment, in: db)
                try Platform.repaymentEvents(repayment, line: line, ids: ids, now: now, in: db)
                result = .done(repayment)
            case .fundingSource:
                guard let sourceID = request.fundingSourceId,
                    let source = try FundingSourceRepository.list(person: person, in: db).first(where: { $0.id == sourceID })
                else {
                    throw Refusal(.notFound, "no funding source \(request.fundingSourceId ?? "(none given)") of yours", field: "funding_source_id")
                }
                guard source.kind != .medicalCredit else {
                    throw Refusal.invalid("funding_source_id", "repay a credit line from a debit or credit card, not from a credit line")
                }
                repayment.fundingSourceId = source.id
                try CreditRepository.insert(repayment, in: db)
                result = .collect(repayment, source)
            }
            try IdempotencyRepository.complete(scope: scope, key: idempotency.key, kind: "repayment", id: id, in: db)
            return result
        }
        switch phase {
        case .done(let repayment):
            await processChannelOperations(reference: repayment.id)
            await processChannelOperations(reference: repayment.lineId)
            return repayment
        case .collect(let repayment, let source): return try await collectRepayment(repayment, from: source)
        }
    }

    func collectRepayment(_ repayment: CreditRepayment, from source: FundingSource) async throws -> CreditRepayment {
        let decision = try await authoriseOnce(
            reference: repayment.id, token: source.token, amount: repayment.amount, description: "医疗信用还款", what: "repayment")
        switch decision {
        case .approved:
            return try await completeRepayment(id: repayment.id)
        case .declined(let reason):
            let declined = try await endRepayment(id: repayment.id, reason: reason, state: .declined)
            throw Refusal(
                .paymentDeclined, "\(reason.message); nothing was taken and nothing changed on your bill", references: ["repayment_id": declined.id])
        }
    }

    func completeRepayment(id: String) async throws -> CreditRepayment {
        let ids = self.ids
        let channelName = channel.name
        let repayment: CreditRepayment = try await write { db, now in
            guard var repayment = try CreditRepository.repayment(id: id, lock: true, in: db) else {
                throw StoreError.decoding("repayment \(id) vanished")
            }
            guard repayment.state == .pending else { return repayment }
            guard let line = try CreditRepository.find(id: repayment.lineId, lock: true, in: db) else { throw StoreError.decoding("line missing") }
            let context = CreditBook.Context(ids: ids, channel: channelName, now: now)
            repayment.allocation = try CreditBook.repay(line, amount: repayment.amount, reference: id, fromAccount: false, context, in: db)
            repayment.state = .completed
            repayment.completedAt = now
            try CreditRepository.update(repayment, in: db)
            try ChannelOperationRepository.enqueue(
                id: ids.next("CO"), channel: channelName, kind: .capture, reference: id, refundReference: nil, amount: repayment.amount, now: now,
                in: db)
            try Platform.repaymentEvents(repayment, line: line, ids: ids, now: now, in: db)
            return repayment
        }
        await processChannelOperations(reference: id)
        await processChannelOperations(reference: repayment.lineId)
        return repayment
    }

    func endRepayment(id: String, reason: DeclineReason?, state: CreditRepayment.State) async throws -> CreditRepayment {
        let ids = self.ids
        return try await write { db, now in
            guard var repayment = try CreditRepository.repayment(id: id, lock: true, in: db) else {
                throw StoreError.decoding("repayment \(id) vanished")
            }
            guard repayment.state == .pending else { return repayment }
            repayment.state = state
            repayment.declineReason = reason
            repayment.completedAt = now
            try CreditRepository.update(repayment, in: db)
            try Events.notice(
                person: repayment.personNumber, topic: "credit.repayment_failed", title: "还款未成功",
                body: "医疗信用还款 \(repayment.amount) 元未成功：\(reason?.message ?? "已取消")。未发生任何扣款，账单不变。", ids: ids, now: now, in: db
            )
            return repayment
        }
    }

    static func repaymentEvents(_ repayment: CreditRepayment, line: CreditLine, ids: any IDGenerator, now: Instant, in db: any SQLExecutor) throws {
        let fromAccount = repayment.source == .account
        var writes = ProjectionWrites()
        writes.record(
            WalletEvent(
                personNumber: repayment.personNumber, seq: 0,
                id: ids.next("W"), kind: .creditRepayment, reference: repayment.id, at: now, institutionCode: nil,
                counterparty: "\(line.terms.partnerName) \(line.masked)", total: repayment.amount, fund: .zero,
                account: fromAccount ? repayment.amount : .zero, mutualAid: .zero, cash: fromAccount ? .zero : repayment.amount,
                actor: "patient:" + repayment.personNumber
            ))
        let allocation = repayment.allocation
        writes.message(
            person: repayment.personNumber, id: ids.next("M"), topic: "credit.repaid", title: "医疗信用还款成功",
            body:
                "已还款 \(repayment.amount) 元（\(fromAccount ? "个人账户" : "银行卡")）：滞纳金 \(Money.sum(allocation?.shares.map(\.fees) ?? []))，罚息 \(Money.sum(allocation?.shares.map(\.interest) ?? []))，本金 \((allocation?.principal ?? .zero) + (allocation?.remainder ?? .zero))。",
            reference: repayment.id, at: now
        )
        try ProjectionRepository.write(writes, in: db)
    }

    /// A person's repayments of a line, newest first.
    public func creditRepayments(line id: String, person: String) async throws -> [CreditRepayment] {
        try await read { db, _ in
            let line = try Platform.ownCreditLine(id, person: person, lock: false, in: db)
            return try CreditRepository.repayments(line: line.id, in: db)
        }
    }

    /// Resolves card repayments pending longer than `olderThanSeconds` by asking the channel.
    @discardableResult
    public func resolvePendingRepayments(olderThanSeconds: Int64 = 10) async -> Int {
        let cutoff = clock.now().adding(seconds: -olderThanSeconds)
        guard let pending = try? await read({ db, _ in try CreditRepository.pendingRepayments(before: cutoff, in: db) }) else { return 0 }
        return await resolveAtChannel(
            pending, complete: { _ = try await completeRepayment(id: $0) },
            end: { _ = try await endRepayment(id: $0, reason: $1, state: $1 == nil ? .cancelled : .declined) },
            attempt: { id in
                let found: (CreditRepayment, FundingSource)? = try await read { db, _ in
                    guard let repayment = try CreditRepository.repayment(id: id, lock: false, in: db), repayment.state == .pending,
                        let sourceID = repayment.fundingSourceId, let source = try FundingSourceRepository.find(id: sourceID, in: db)
                    else { return nil }
                    return (repayment, source)
                }
                if let (repayment, source) = found { _ = try? await collectRepayment(repayment, from: source) }
            }
        )
    }

    // MARK: The daily job

    /// Brings every credit line up to `date` (today in China when nil): bills whose statement date has
    /// come, late fees and penalty interest for overdue days, suspension and reinstatement. Idempotent:
    /// a second run for the same day finds nothing to do.
    public func runCreditDay(date: CivilDate? = nil) async throws -> CreditDayReport {
        let today = ChinaTime.date(clock.now())
        let date = date ?? today
        guard date <= today else { throw Refusal.invalid("date", "the daily job runs for today (\(today)) or an earlier day, not \(date)") }
        var report = CreditDayReport(date: date, lines: 0, bills: 0, interest: .zero, fees: .zero, suspended: 0, reinstated: 0)
        let ids = self.ids
        let channelName = channel.name
        var after = ""
        while true {
            let cursor = after
            let batch = try await read { db, _ in try CreditRepository.behind(date: date, after: cursor, limit: 200, in: db) }
            guard let last = batch.last else { break }
            for id in batch {
                let outcome = try await write { db, now in
                    try CreditBook.process(lineID: id, through: date, CreditBook.Context(ids: ids, channel: channelName, now: now), in: db)
                }
                report.lines += 1
                report.bills += outcome.bills
                report.interest += outcome.interest
                report.fees += outcome.fees
                report.suspended += outcome.suspended
                report.reinstated += outcome.reinstated
            }
            after = last
        }
        if report.suspended + report.reinstated > 0 { await processChannelOperations() }
        return report
    }

    /// The lines the bureau watches on a day (today by default): suspended, or with bills past due —
    /// how many, what they still owe, since when.
    public func creditDelinquency(on day: CivilDate? = nil) async throws -> [CreditDelinquency] {
        try await read { db, now in
            let day = day ?? ChinaTime.date(now)
            return try CreditRepository.delinquent(on: day, limit: 500, in: db).compactMap { line in
                CreditDelinquency.of(line, unpaid: try CreditRepository.unpaidBills(line: line.id, in: db), on: day)
            }
        }
    }

    /// Credit-report records, newest first.
    public func creditReports(limit: Int = 200) async throws -> [CreditReport] {
        try await read { db, _ in try CreditRepository.reports(line: nil, limit: limit, in: db) }
    }
}
