import YibaoCore
import YibaoStore

/// Part of a line's quantity given back before settlement (national 2301 refund rows: a negative
/// `cnt` with `init_feedetl_sn` naming the line).
public struct LineReturn: Sendable, Hashable {
    /// 原费用流水号 `init_feedetl_sn`: the line returned.
    public var lineNumber: String
    /// How much comes back (positive).
    public var quantity: Quantity
    /// The unit price the return was made at, when sent: it must be the line's.
    public var unitPrice: Money?

    /// Creates a return.
    public init(lineNumber: String, quantity: Quantity, unitPrice: Money? = nil) {
        self.lineNumber = lineNumber
        self.quantity = quantity
        self.unitPrice = unitPrice
    }
}

/// What a hospital system sends to open a visit (national 2201 / 2401, with the 2204 lines).
public struct OpenVisitRequest: Sendable, Hashable, Codable {
    /// 人员编号 `psn_no`.
    public var personNumber: String
    /// 医疗类别 `med_type`.
    public var category: MedicalCategory
    /// The hospital's visit number (`ipt_otp_no`), unique per institution.
    public var hospitalVisitNumber: String
    /// Fee lines, if already known.
    public var lines: [FeeLine]?
    /// Registered choosing frictionless payment (无感支付): settled later without a code, under the
    /// patient's signed authorisation. Outpatient registration or inpatient admission.
    public var frictionless: Bool?

    /// Creates a request.
    public init(personNumber: String, category: MedicalCategory, hospitalVisitNumber: String, lines: [FeeLine]? = nil, frictionless: Bool? = nil) {
        self.personNumber = personNumber
        self.category = category
        self.hospitalVisitNumber = hospitalVisitNumber
        self.lines = lines
        self.frictionless = frictionless
    }
}

/// A pre-settlement (预结算): the settlement as it would be now, with nothing moved or recorded.
public struct SettlementPreview: Sendable, Hashable, Codable {
    /// 就诊ID.
    public var visitId: String
    /// The policy applied.
    public var policyTitle: String
    /// The policy year.
    public var year: Int
    /// The national buckets.
    public var breakdown: SettlementBreakdown
    /// The lines with what each payer would pay.
    public var lines: [SettledLine]
    /// 基金分项.
    public var details: [FundDetail]
    /// 结算过程信息.
    public var trace: [String]
}

extension Platform {
    // MARK: Visits

    /// Opens a visit for a person at an institution, pricing any lines sent with it.
    public func openVisit(_ request: OpenVisitRequest, institution: Institution) async throws -> Visit {
        if request.personNumber.isEmpty || request.personNumber.utf8.count > 30 {
            throw Refusal.invalid("person_number", "person_number must be 1 to 30 characters")
        }
        if request.hospitalVisitNumber.isEmpty || request.hospitalVisitNumber.utf8.count > 30 {
            throw Refusal.invalid("hospital_visit_number", "hospital_visit_number (ipt_otp_no) must be 1 to 30 characters")
        }
        let lines = request.lines ?? []
        try Platform.validate(lines, existing: [])
        let id = ids.next("V")
        let reference = self.reference
        return try await namingExistingVisit(institution: institution.code, number: request.hospitalVisitNumber) {
            try await openPersonVisit(request, id: id, lines: lines, institution: institution, reference: reference)
        }
    }

    /// Runs `body`; when it is refused because the institution already has a visit with this hospital
    /// visit number, the refusal names that visit (`references.visit_id`), so a hospital system that
    /// repeats an open whose answer it lost can go on with the visit it already has.
    func namingExistingVisit<T>(institution: String, number: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let refusal as Refusal where refusal.code == .alreadyExists && refusal.field == "hospital_visit_number" {
            let existing = try? await read { db, _ in
                try db.queryOne(
                    "SELECT id FROM visits WHERE institution_code = ? AND hospital_visit_number = ?", [.text(institution), .text(number)]
                )?.string("id")
            }
            guard let id = existing else { throw refusal }
            throw Refusal(.alreadyExists, "\(refusal.detail): \(id)", field: refusal.field, references: ["visit_id": id])
        }
    }

    private func openPersonVisit(
        _ request: OpenVisitRequest, id: String, lines: [FeeLine], institution: Institution, reference: ReferenceCache
    ) async throws -> Visit {
        try await write { db, now in
            try Platform.insertPersonVisit(request, id: id, lines: lines, institution: institution, reference: reference, now: now, in: db)
        }
    }

    /// Inserts a visit opened by person number (the person enrolled, a frictionless registration
    /// authorised), its lines priced, inside the caller's transaction.
    static func insertPersonVisit(
        _ request: OpenVisitRequest, id: String, lines: [FeeLine], institution: Institution, reference: ReferenceCache, now: Instant,
        in db: any SQLExecutor
    ) throws -> Visit {
        guard try PeopleRepository.exists(number: request.personNumber, in: db) else {
            throw Refusal(.unknownPerson, "no enrolled person has number \(request.personNumber)", field: "person_number")
        }
        if request.frictionless == true { try Platform.requireFrictionless(person: request.personNumber, in: db) }
        let priced = try Platform.price(lines, region: institution.region, firstIndex: 0, reference: reference, now: now, in: db)
        let visit = Visit(
            id: id, institutionCode: institution.code, personNumber: request.personNumber, category: request.category,
            hospitalVisitNumber: request.hospitalVisitNumber, state: .open, lines: priced, settlementId: nil, openedAt: now,
            paymentAuthority: request.frictionless == true ? .frictionless : .counter
        )
        try VisitRepository.insert(visit, now: now, in: db)
        return visit
    }

    /// Refuses to register a frictionless visit unless the patient's authorisation is in force and their
    /// credit function is not suspended.
    static func requireFrictionless(person: String, in db: any SQLExecutor) throws {
        guard try CreditRepository.authorisation(person: person, in: db) != nil else {
            throw Refusal(
                .noFrictionlessAuthorisation, "the patient has not authorised frictionless payment: register the visit without it (code or counter)",
                field: "frictionless")
        }
        if try CreditRepository.lines(person: person, in: db).contains(where: { $0.state == .suspended }) {
            throw Refusal(
                .creditSuspended, "the patient's credit function is suspended for an overdue bill: register the visit without frictionless payment",
                field: "frictionless")
        }
    }

    /// Adds fee lines to an open visit (national 2204 / 2301 again).
    public func addLines(_ lines: [FeeLine], visitID: String, institution: Institution) async throws -> Visit {
        guard !lines.isEmpty else { throw Refusal.invalid("lines", "send at least one line") }
        return try await changeLines(adding: lines, returning: [], visitID: visitID, institution: institution)
    }

    /// Adds fee lines to an open visit and takes quantities back from its lines (national 2301 refund
    /// rows, `init_feedetl_sn`), in one transaction: a line returned in part is priced again at its
    /// lower quantity, a line returned whole comes off; at least one line stays (returning everything is
    /// cancelling the details).
    public func changeLines(
        adding lines: [FeeLine], returning returns: [LineReturn], visitID: String, institution: Institution
    ) async throws
        -> Visit
    {
        let reference = self.reference
        return try await write { db, now in
            guard var visit = try VisitRepository.find(id: visitID, institution: institution.code, lock: true, in: db) else {
                throw Refusal(.notFound, "this institution has no visit \(visitID)")
            }
            if let refusal = visit.refusalToChangeLines { throw refusal }
            try Platform.validate(lines, existing: visit.lines.map(\.lineNumber))
            visit.lines += try Platform.price(lines, region: institution.region, firstIndex: 0, reference: reference, now: now, in: db)
            for (index, back) in returns.enumerated() {
                let path = "returns[\(index)]"
                guard let at = visit.lines.firstIndex(where: { $0.lineNumber == back.lineNumber }) else {
                    throw Refusal.invalid(path + ".line_number", "visit \(visitID) has no line \(back.lineNumber)")
                }
                let line = visit.lines[at]
                if let price = back.unitPrice, price != line.unitPrice {
                    throw Refusal.invalid(path + ".unit_price", "line \(line.lineNumber) was charged at \(line.unitPrice.fen) fen, not \(price.fen)")
                }
                guard back.quantity.scaled > 0, back.quantity <= line.quantity else {
                    throw Refusal.invalid(path + ".quantity", "line \(line.lineNumber) has \(line.quantity) to return; \(back.quantity) is more")
                }
                let left = Quantity(scaled: line.quantity.scaled - back.quantity.scaled)
                if left.scaled == 0 {
                    visit.lines.remove(at: at)
                } else {
                    let fee = FeeLine(
                        lineNumber: line.lineNumber, itemCode: line.itemCode, hospitalItemCode: line.hospitalItemCode, unitPrice: line.unitPrice,
                        quantity: left, dosage: line.dosage, chargeBatch: line.chargeBatch)
                    visit.lines[at] = try Platform.price([fee], region: institution.region, firstIndex: at, reference: reference, now: now, in: db)[0]
                }
            }
            guard !visit.lines.isEmpty else { throw Refusal.invalid("returns", "that returns every line: cancel the visit's details instead") }
            visit.total = Money.sum(visit.lines.map(\.amount))
            try VisitRepository.update(visit, now: now, in: db)
            return visit
        }
    }

    /// Takes fee lines off an open visit (national 2302 / 2205 for some of the details); returns the
    /// visit with the lines left. Every number must be a line of the visit, and at least one line stays
    /// (taking every line off is cancelling the details, which the caller does by forgetting the visit).
    public func removeLines(_ numbers: [String], visitID: String, institution: Institution) async throws -> Visit {
        guard !numbers.isEmpty else { throw Refusal.invalid("line_numbers", "name the lines to take off") }
        guard Set(numbers).count == numbers.count else { throw Refusal.invalid("line_numbers", "a line is named once") }
        return try await write { db, now in
            guard var visit = try VisitRepository.find(id: visitID, institution: institution.code, lock: true, in: db) else {
                throw Refusal(.notFound, "this institution has no visit \(visitID)")
            }
            if let refusal = visit.refusalToChangeLines { throw refusal }
            let present = Set(visit.lines.map(\.lineNumber))
            for (index, number) in numbers.enumerated() where !present.contains(number) {
                throw Refusal.invalid("line_numbers[\(index)]", "visit \(visitID) has no line \(number)")
            }
            guard numbers.count < visit.lines.count else {
                throw Refusal.invalid("line_numbers", "that is every line: cancel the visit's details instead")
            }
            visit.lines.removeAll { numbers.contains($0.lineNumber) }
            visit.total = Money.sum(visit.lines.map(\.amount))
            try VisitRepository.update(visit, now: now, in: db)
            return visit
        }
    }

    /// Cancels an open visit (挂号撤销, national 2202 / 2404; a cashier's mistaken registration, details
    /// cancelled by the HIS): it then takes no lines and cannot be settled, and a payment order waiting
    /// for the patient's phone is cancelled with it. Nothing was settled on an open visit (a reversed
    /// settlement opened it again), so no money moves. Cancelling a cancelled visit answers the same; a
    /// visit being paid or settled is refused (`Visit.refusalToCancel`).
    public func cancelVisit(id visitID: String, institution: Institution) async throws -> Visit {
        let actor = Platform.actor(institution: institution.code)
        return try await write { db, now in
            guard let visit = try VisitRepository.find(id: visitID, institution: institution.code, lock: true, in: db) else {
                throw Refusal(.notFound, "this institution has no visit \(visitID)")
            }
            return try Platform.cancel(visit, actor: actor, now: now, in: db)
        }
    }

    /// Cancels a locked visit inside the caller's transaction (see `cancelVisit`), with an audit record
    /// of who did (the cashier signed in, or the institution's key).
    static func cancel(_ visit: Visit, actor: String, now: Instant, in db: any SQLExecutor) throws -> Visit {
        if let refusal = visit.refusalToCancel { throw refusal }
        guard visit.state == .open else { return visit }
        var cancelled = visit
        cancelled.state = .cancelled
        try VisitRepository.updateState(visit.id, state: .cancelled, settlementId: visit.settlementId, now: now, in: db)
        try PaymentOrderRepository.cancel(visit: visit.id, now: now, in: db)
        try AuditRepository.append(
            actor: actor, action: "visit.cancel", subject: visit.personNumber,
            value: ["visit_id": visit.id, "institution_code": visit.institutionCode, "hospital_visit_number": visit.hospitalVisitNumber],
            now: now, in: db)
        return cancelled
    }

    /// A visit of an institution.
    public func visit(id: String, institution: Institution) async throws -> Visit? {
        try await read { db, _ in try VisitRepository.find(id: id, institution: institution.code, lock: false, in: db) }
    }

    static func validate(_ lines: [FeeLine], existing: [String]) throws {
        if lines.count + existing.count > FeeLine.linesPerVisitMax {
            throw Refusal.invalid("lines", "a visit has at most \(FeeLine.linesPerVisitMax) lines")
        }
        var seen = Set(existing)
        var total = Money.zero
        for (index, line) in lines.enumerated() {
            try line.validate(path: "lines[\(index)]")
            guard seen.insert(line.lineNumber).inserted else {
                throw Refusal.invalid("lines[\(index)].line_number", "line_number \(line.lineNumber) appears twice in this visit")
            }
            total += line.amount
            if total > Money.requestAmountMax { throw Refusal.invalid("lines", "the visit's total exceeds 10,000,000 yuan") }
        }
    }

    static func price(
        _ lines: [FeeLine], region: RegionCode, firstIndex: Int, reference: ReferenceCache, now: Instant, in db: any SQLExecutor
    ) throws -> [LineSplit] {
        guard !lines.isEmpty else { return [] }
        let catalogue = try reference.catalogue(region, now: now, in: db)
        return try lines.enumerated().map { index, line in
            guard let item = catalogue[line.itemCode] else {
                throw Refusal(
                    .unknownCatalogueItem, "the \(region) catalogue has no item \(line.itemCode)", field: "lines[\(firstIndex + index)].item_code"
                )
            }
            return LineSplit.split(line, item: item)
        }
    }

    // MARK: Settlement

    /// Pre-settles a visit (预结算): runs the engine on the current accumulators and balance; moves
    /// nothing, records nothing.
    public func preSettle(visitID: String, institution: Institution, useAccount: Bool) async throws -> SettlementPreview {
        let reference = self.reference
        return try await read { db, now in
            guard let visit = try VisitRepository.find(id: visitID, institution: institution.code, lock: false, in: db) else {
                throw Refusal(.notFound, "this institution has no visit \(visitID)")
            }
            if let refusal = visit.refusalToSettle { throw refusal }
            let (person, policy, year) = try Platform.parties(visit, reference: reference, now: now, in: db)
            let accumulators = try AccumulatorRepository.read(person: person.number, year: year, pool: visit.category.pool, in: db)
            let balance = try LedgerRepository.balance(.personal(person.number), in: db)
            let calculation = try SettlementEngine.calculate(
                SettlementInput(
                    lines: visit.lines, person: person, institution: institution, policy: policy, category: visit.category,
                    accumulators: accumulators, useAccount: useAccount, accountBalance: balance.available,
                    plan: try Platform.planCover(of: person, year: year, reference: reference, now: now, in: db)
                )
            )
            return SettlementPreview(
                visitId: visit.id, policyTitle: policy.title, year: year, breakdown: calculation.breakdown, lines: calculation.lines,
                details: calculation.details, trace: calculation.trace
            )
        }
    }

    /// Settles a visit (结算). A visit opened by person number leaves the cash part to the hospital's
    /// counter; a visit opened with the patient's e-voucher code has it collected from the patient's
    /// default funding source (see `collectCash`). The life of a settlement, in one walk:
    ///
    /// 1. **Read and lock** what the decision needs (`settlementSnapshot`): the visit, the patient, the
    ///    home policy, their personal account (locked first: it serialises one person's payments), the
    ///    year's accumulators, the payment in flight, the relative who may add mutual aid, the source the
    ///    cash part would come from.
    /// 2. **Decide** in Core (`SettlementDecision.decide`): every refusal, the engine's split, the record,
    ///    the accumulators after it, the journal entry — or, with cash to collect, the holds and the lock.
    /// 3. **Write** the decision as one batch (`WriteSetRepository.apply`) with the idempotency result and
    ///    one outbox row; commit.
    /// 4. After the commit: collect the cash part from the bank (`collectCash`, a second transaction to
    ///    complete), and expand the outbox row into the wallet, inbox, webhook and audit projections.
    public func settle(
        visitID: String, institution: Institution, useAccount: Bool, idempotency: IdempotencyRequest?, cashAtCounter: Bool = false
    ) async throws -> SettlementRecord {
        let context = SettleContext(self, institution: institution)
        let scope = "settle:" + institution.code
        let outcome: SettleOutcome
        do {
            outcome = try await write { db, now in
                if let idempotency, let replay = try Platform.replay(scope: scope, idempotency, id: context.settlementID, now: now, in: db) {
                    return replay
                }
                guard var visit = try VisitRepository.find(id: visitID, institution: institution.code, lock: true, in: db) else {
                    throw Refusal(.notFound, "this institution has no visit \(visitID)")
                }
                if cashAtCounter { visit.paymentAuthority = .counter }
                let decision = try Platform.decide(visit, useAccount: useAccount, context: context, now: now, in: db)
                var writes = WriteSet()
                writes.visitStates = [WriteSet.VisitState(id: visit.id, state: decision.visitState, settlementID: decision.record.id)]
                return try Platform.write(decision, context: context, into: &writes, now: now, in: db)
            }
        } catch let refusal as Refusal
            where [.accountInsufficient, .creditSuspended, .noFrictionlessAuthorisation, .noFundingSource].contains(refusal.code)
        {
            try await tellFrictionlessFailed(visitID: visitID, institution: institution, refusal)
            throw refusal
        }
        return try await finish(outcome)
    }

    /// What one settlement request brings to its transaction: the ids it will use (decided before the
    /// transaction, so that a retried transaction uses the same ones) and the parts of the platform the
    /// decision reads.
    struct SettleContext: Sendable {
        let institution: Institution
        let settlementID: String
        let entryID: String
        let outboxID: String
        let channelConfigured: Bool
        let cipher: PersonalDataCipher
        let reference: ReferenceCache
        /// Who the journal entry names: the staff member at the counter, or the institution's system.
        let actor: String

        init(_ platform: Platform, institution: Institution) {
            self.institution = institution
            actor = Platform.actor(institution: institution.code)
            settlementID = platform.ids.next("S")
            entryID = platform.ids.next("J")
            outboxID = platform.ids.next("O")
            channelConfigured = platform.channel.isConfigured
            cipher = platform.cipher
            reference = platform.reference
        }
    }

    /// Reads and locks what the decision needs, then decides: nothing is written.
    static func decide(
        _ visit: Visit, useAccount: Bool, context: SettleContext, now: Instant, in db: any SQLExecutor
    ) throws
        -> SettlementDecision
    {
        let snapshot = try settlementSnapshot(visit, useAccount: useAccount, context: context, now: now, in: db)
        return try SettlementDecision.decide(snapshot, settlementID: context.settlementID, entryID: context.entryID, now: now)
    }

    /// Adds a decision's rows to the write set (the caller put the visit's own row in) and applies it.
    static func write(
        _ decision: SettlementDecision, context: SettleContext, into writes: inout WriteSet, now: Instant, in db: any SQLExecutor
    ) throws -> SettleOutcome {
        let record = decision.record
        writes.settlements.append(record)
        writes.holds += decision.holds
        if let accumulators = decision.accumulators {
            writes.accumulators.append(
                WriteSet.Accumulators(person: record.personNumber, year: record.year, pool: record.pool, value: accumulators))
        }
        let actor = context.actor
        if let entry = decision.entry { writes.entries.append(WriteSet.Entry(entry, actor: actor)) }
        var projection: Projection?
        if record.state == .completed {
            writes.outbox.append(
                OutboxRepository.Row(
                    id: context.outboxID, kind: .settlement, reference: record.id, detail: decision.frictionless ? "frictionless" : ""))
            projection = Projection(
                outboxID: context.outboxID, at: now,
                event: .settlement(record, entry: decision.entry, actor: actor, frictionless: decision.frictionless))
        }
        try WriteSetRepository.apply(writes, now: now, in: db)
        if let source = decision.collectFrom { return SettleOutcome(phase: .collect(record, source, frictionless: decision.frictionless)) }
        return SettleOutcome(phase: .done(record), projection: projection)
    }

    /// Reads — and locks where the decision depends on it — everything `SettlementDecision` needs. The
    /// patient's personal account is locked first: every money transaction of a person takes that row
    /// first, so one person's settlements, completions, refunds and reversals run one after another and
    /// the accumulators read after it are current.
    ///
    /// The reads that depend only on the visit go as one batch (on PostgreSQL one wait for all of them,
    /// run in this order, so the account's lock is still taken first); the few that depend on an answer
    /// (the source a frictionless authorisation names, a credit line's state, a relative's account, a
    /// commercial plan) follow. A read that may be needed is sent with the batch: an unneeded answer
    /// costs less than another round trip.
    static func settlementSnapshot(
        _ visit: Visit, useAccount: Bool, context: SettleContext, now: Instant, in db: any SQLExecutor
    ) throws
        -> SettlementSnapshot
    {
        let number = visit.personNumber
        let year = ChinaTime.date(now).year
        let frictionless = visit.paymentAuthority == .frictionless
        let mayNeedAid = visit.category.familyPaymentAllowed && (useAccount || frictionless)
        let (own, accumulators, found, inProgress, binding, authorisation, defaultSource, bindings, covered) = try db.fetch(
            LedgerRepository.lockBalance(.personal(number)),
            AccumulatorRepository.lockIfPresent(person: number, year: year, pool: visit.category.pool),
            PeopleRepository.insuredAndName(number: number, cipher: context.cipher),
            SettlementRepository.inFlight(person: number),
            visit.payerNumber.map { FamilyRepository.active(binder: $0, member: number) } ?? .known(nil),
            frictionless ? CreditRepository.authorisation(person: number) : .known(nil),
            visit.paymentAuthority == .fundingSource ? FundingSourceRepository.defaultSource(person: visit.payerNumber ?? number) : .known(nil),
            mayNeedAid ? FamilyRepository.activeForMember(number) : .known([]),
            CommercialPlanRepository.covered(person: number, year: year)
        )
        guard let found else { throw StoreError.decoding("person of visit \(visit.id) missing") }
        let (person, name) = found
        let policy = try context.reference.policy(region: person.region, type: person.insuranceType, year: year, now: now, in: db)
        let authorised = try authorisation?.fundingSourceId.map { try FundingSourceRepository.bound(id: $0, person: number, in: db) } ?? nil
        let accountPays = authorisation.map { $0.priority != .sourceFirst } ?? useAccount
        let aid =
            accountPays && visit.category.familyPaymentAllowed
            ? try mutualAidSource(among: bindings, payer: visit.payerNumber, cipher: context.cipher, in: db) : nil
        var suspended: Set<String> = []
        for source in [defaultSource, authorised].compactMap({ $0 }) where source.kind == .medicalCredit {
            if try CreditRepository.find(fundingSource: source.id, lock: false, in: db)?.state == .suspended { suspended.insert(source.id) }
        }
        let plan = try context.reference.plan(region: person.region, year: year, now: now, in: db).map { PlanCover(plan: $0, covered: covered) }
        return SettlementSnapshot(
            visit: visit, institution: context.institution, person: person, personNameMasked: Masking.name(name), policy: policy, year: year,
            accumulators: accumulators,
            paymentInProgress: inProgress, payerBindingActive: visit.payerNumber == nil || binding != nil, useAccount: useAccount,
            accountAvailable: own.available, mutualAid: aid.map { MutualAidSource(binder: $0.binder, available: $0.available) },
            frictionless: authorisation, authorisedSource: authorised, defaultSource: defaultSource, suspendedCreditSources: suspended,
            channelConfigured: context.channelConfigured, plan: plan)
    }

    /// The commercial plan of a person's region and year, and whether they are enrolled and paid in it;
    /// nil when the region has no plan that year.
    static func planCover(of person: Insured, year: Int, reference: ReferenceCache, now: Instant, in db: any SQLExecutor) throws -> PlanCover? {
        guard let plan = try reference.plan(region: person.region, year: year, now: now, in: db) else { return nil }
        return PlanCover(plan: plan, covered: try CommercialPlanRepository.covered(person: person.number, year: year, in: db))
    }

    /// Tells the patient why a frictionless settlement failed (nothing was written by it) and that the
    /// hospital will ask them to pay another way.
    func tellFrictionlessFailed(visitID: String, institution: Institution, _ refusal: Refusal) async throws {
        let ids = self.ids
        try await write { db, now in
            guard let visit = try VisitRepository.find(id: visitID, institution: institution.code, lock: false, in: db),
                visit.paymentAuthority == .frictionless
            else { return }
            let reason: String
            switch refusal.code {
            case .accountInsufficient: reason = "个人账户余额不足（您选择了仅用个人账户）"
            case .creditSuspended: reason = "医疗信用额度因逾期已暂停"
            case .noFrictionlessAuthorisation: reason = "无感支付授权已撤销"
            default: reason = "授权的银行卡或信用额度已解绑"
            }
            try Events.notice(
                person: visit.personNumber, topic: "frictionless.failed", title: "无感支付未成功",
                body: "\(institution.name) 本次就诊无法无感支付：\(reason)。未发生任何扣款，请在收费窗口或出示医保码支付。就诊号 \(visit.id)",
                ids: ids, now: now, in: db
            )
        }
    }

    /// Where a settlement stands when its transaction commits.
    enum SettlePhase: Sendable {
        /// Done: nothing left to collect.
        case done(SettlementRecord)
        /// Pending: the cash part is to be collected from this source.
        case collect(SettlementRecord, FundingSource, frictionless: Bool)
        /// A replayed request whose settlement the bank declined.
        case declined(SettlementRecord)

        var record: SettlementRecord {
            switch self {
            case .done(let record), .collect(let record, _, _), .declined(let record): return record
            }
        }
    }

    /// A committed settlement transaction: where it stands, and the projection to expand when it
    /// completed one (nil for a replay, whose projection was expanded the first time).
    struct SettleOutcome: Sendable {
        var phase: SettlePhase
        var projection: Projection? = nil
    }

    /// Continues after the commit: hands the projection over and collects the cash part when needed.
    func finish(_ outcome: SettleOutcome) async throws -> SettlementRecord {
        if let projection = outcome.projection { projector.submit([projection]) }
        switch outcome.phase {
        case .done(let record): return record
        case .collect(let record, let source, let frictionless): return try await collectCash(record, from: source, frictionless: frictionless)
        case .declined(let record): throw Platform.declineRefusal(record)
        }
    }

    /// The first answer for a replayed idempotency key, or nil when the key is new — and now claimed for
    /// settlement `id`, which the transaction is about to decide (a refusal rolls the claim back with it).
    static func replay(scope: String, _ idempotency: IdempotencyRequest, id: String, now: Instant, in db: any SQLExecutor) throws -> SettleOutcome? {
        try replayedRecord(scope: scope, idempotency, id: id, now: now, in: db).map { try replay($0, in: db) }
    }

    /// The first answer again, from the record a key claimed before answered with.
    static func replay(_ record: SettlementRecord, in db: any SQLExecutor) throws -> SettleOutcome {
        switch record.state {
        case .completed: return SettleOutcome(phase: .done(record))
        case .declined, .cancelled: return SettleOutcome(phase: .declined(record))
        case .pending:
            guard let sourceID = record.fundingSource?.id, let source = try FundingSourceRepository.find(id: sourceID, in: db) else {
                throw StoreError.decoding("funding source of \(record.id) missing")
            }
            return SettleOutcome(
                phase: .collect(record, source, frictionless: try VisitRepository.paymentAuthority(record.visitId, in: db) == .frictionless))
        }
    }

    /// A settlement record of an institution (of any institution when nil). Reading a pending settlement
    /// asks the bank what became of its cash part and resolves it.
    public func settlement(id: String, institution: Institution?) async throws -> SettlementRecord? {
        let record = try await read { db, _ in try SettlementRepository.find(id: id, institution: institution?.code, lock: false, in: db) }
        guard let record, record.state == .pending else { return record }
        do {
            return try await resolvePending(id: record.id)
        } catch let refusal as Refusal where refusal.code == .paymentPending {
            return record
        }
    }

    /// Whose personal account may add mutual aid for a patient, among the patient's bindings in force
    /// (oldest first), and how much it has: the paying family member when they are a binder in force,
    /// otherwise the patient's earliest binder in force who is an employee (only employees have
    /// personal accounts). The caller asks only for care family members may pay for.
    static func mutualAidSource(
        among bindings: [FamilyBinding], payer: String?, cipher: PersonalDataCipher, in db: any SQLExecutor
    ) throws -> (binder: String, available: Money)? {
        var candidates = bindings.map(\.binderNumber)
        if let payer, let index = candidates.firstIndex(of: payer) { candidates.swapAt(0, index) }
        for binder in candidates {
            guard try PeopleRepository.find(number: binder, cipher: cipher, in: db)?.insuranceType == .employee else { continue }
            return (binder, try LedgerRepository.lockBalance(.personal(binder), in: db).available)
        }
        return nil
    }

    /// The patient's cover (nothing sealed opened), policy and policy year of a visit.
    static func parties(
        _ visit: Visit, reference: ReferenceCache, now: Instant, in db: any SQLExecutor
    ) throws -> (Insured, Policy, Int) {
        guard let person = try db.fetch(PeopleRepository.insured(number: visit.personNumber)) else {
            throw StoreError.decoding("person of visit \(visit.id) missing")
        }
        let (policy, year) = try Platform.policy(of: person, reference: reference, now: now, in: db)
        return (person, policy, year)
    }
}
