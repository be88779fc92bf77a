/// What deciding a settlement needs, read — and locked where the decision depends on it — before
/// anything is decided: the visit, the patient, the home policy, the year's accumulators, the balances
/// that may pay, and how the cash part would be collected. The use case reads it; `SettlementDecision`
/// decides from it alone, without I/O.
public struct SettlementSnapshot: Sendable {
    /// The visit to settle (its priced lines, its payment authority, the family member paying).
    public var visit: Visit
    /// The treating institution.
    public var institution: Institution
    /// The patient's cover.
    public var person: Insured
    /// The patient's name as the record shows it (`Masking.name`): the only part of who they are a
    /// settlement needs.
    public var personNameMasked: String
    /// The patient's home-region policy for the settlement year (参保地政策); nil when none is configured.
    public var policy: Policy?
    /// The settlement year.
    public var year: Int
    /// The year-to-date accumulators of the pool the visit's category draws on (locked).
    public var accumulators: PoolAccumulators
    /// The settlement holding the patient's payment lock, when another payment is in flight.
    public var paymentInProgress: String?
    /// For a visit paid by a family member: whether their binding with the patient is in force.
    public var payerBindingActive: Bool
    /// 个人账户使用标志, as the hospital asked.
    public var useAccount: Bool
    /// The patient's own account, available now (balance less holds; locked).
    public var accountAvailable: Money
    /// The relative whose account may add mutual aid, and what it has available (locked); nil when none.
    public var mutualAid: MutualAidSource?
    /// For a frictionless visit: the patient's authorisation in force (nil: revoked).
    public var frictionless: FrictionlessAuthorisation?
    /// For a frictionless visit: the card or credit line the authorisation names, if still bound.
    public var authorisedSource: FundingSource?
    /// For a visit opened with a code: the payer's default funding source, if any.
    public var defaultSource: FundingSource?
    /// Whether each medical credit line the cash part could come from is suspended, by funding-source id.
    public var suspendedCreditSources: Set<String>
    /// Whether a payment channel (a bank adapter) is wired in.
    public var channelConfigured: Bool
    /// The commercial plan of the patient's region and year, and whether the patient is in it; nil when
    /// the region has none.
    public var plan: PlanCover?

    /// Creates a snapshot.
    public init(
        visit: Visit, institution: Institution, person: Insured, personNameMasked: String, policy: Policy?, year: Int,
        accumulators: PoolAccumulators,
        paymentInProgress: String?, payerBindingActive: Bool, useAccount: Bool, accountAvailable: Money, mutualAid: MutualAidSource?,
        frictionless: FrictionlessAuthorisation?, authorisedSource: FundingSource?, defaultSource: FundingSource?,
        suspendedCreditSources: Set<String>, channelConfigured: Bool, plan: PlanCover? = nil
    ) {
        self.visit = visit
        self.institution = institution
        self.person = person
        self.personNameMasked = personNameMasked
        self.policy = policy
        self.year = year
        self.accumulators = accumulators
        self.paymentInProgress = paymentInProgress
        self.payerBindingActive = payerBindingActive
        self.useAccount = useAccount
        self.accountAvailable = accountAvailable
        self.mutualAid = mutualAid
        self.frictionless = frictionless
        self.authorisedSource = authorisedSource
        self.defaultSource = defaultSource
        self.suspendedCreditSources = suspendedCreditSources
        self.channelConfigured = channelConfigured
        self.plan = plan
    }
}

/// A relative's personal account that may pay the mutual-aid part (家庭共济).
public struct MutualAidSource: Sendable, Hashable {
    /// The binder whose account pays.
    public var binder: String
    /// What their account has available now.
    public var available: Money

    /// Creates a source.
    public init(binder: String, available: Money) {
        self.binder = binder
        self.available = available
    }
}

/// A settlement decided: the record and everything to write for it, as values. Applying it is the
/// store's job; deciding it touched nothing.
///
/// - **Completed now** (no cash, or cash at the counter): the visit is settled, the accumulators take the
///   delta, the journal entry posts every payer's part.
/// - **Pending** (cash to collect from a card or credit line): the visit is being paid, the account
///   parts are put on hold; nothing is posted until the bank authorises (`PaymentCompletion`). The
///   pending record is the patient's payment lock: the store allows one per person.
public struct SettlementDecision: Sendable {
    /// The record to write.
    public var record: SettlementRecord
    /// The visit's state after it.
    public var visitState: VisitState
    /// The accumulators after it (completed now); nil while pending.
    public var accumulators: PoolAccumulators?
    /// The journal entry (completed now); nil while pending or when nothing moves.
    public var entry: JournalEntry?
    /// Amounts to put on hold on personal accounts (pending).
    public var holds: [Posting]
    /// The source to collect the cash part from after the commit (pending).
    public var collectFrom: FundingSource?
    /// Whether the visit was settled without a code under the patient's frictionless authorisation.
    public var frictionless: Bool

    /// Decides a settlement from a snapshot: every refusal before anything is written, then the record
    /// and what to write. `settlementID` and `entryID` are the ids to use; `now` the settlement time.
    public static func decide(
        _ snapshot: SettlementSnapshot, settlementID: String, entryID: String, now: Instant
    ) throws(Refusal)
        -> SettlementDecision
    {
        let visit = snapshot.visit
        let person = snapshot.person
        if let refusal = visit.refusalToSettle { throw refusal }
        guard let policy = snapshot.policy else {
            throw Refusal(.noPolicy, "no \(person.insuranceType.rawValue) policy is configured for region \(person.region) in \(snapshot.year)")
        }
        if let pending = snapshot.paymentInProgress { throw Refusal.settlementInProgress(pending) }
        if visit.payerNumber != nil {
            guard snapshot.payerBindingActive else {
                throw Refusal(.forbidden, "the code's owner has no family binding in force with \(person.number)", field: "for_person_number")
            }
            guard visit.category.familyPaymentAllowed else {
                throw Refusal(
                    .familyPaymentNotAllowed,
                    "family members may not pay for \(visit.category.chineseName) (chronic/special disease, maternity and work injury are excluded)",
                    field: "category"
                )
            }
        }
        let fallback = "Nothing was charged. The visit is open: settle it with \"cash_collection\": \"counter\" or the patient's code"
        var useAccount = snapshot.useAccount
        if visit.paymentAuthority == .frictionless {
            guard let authorisation = snapshot.frictionless else {
                throw Refusal(
                    .noFrictionlessAuthorisation,
                    "the patient has revoked frictionless payment; nothing was charged. The visit is open: settle it with \"cash_collection\": \"counter\" or the patient's code"
                )
            }
            useAccount = authorisation.priority != .sourceFirst
        }
        let aid = useAccount && visit.category.familyPaymentAllowed ? snapshot.mutualAid : nil
        let calculation = try SettlementEngine.calculate(
            SettlementInput(
                lines: visit.lines, person: person, institution: snapshot.institution, policy: policy, category: visit.category,
                accumulators: snapshot.accumulators, useAccount: useAccount, accountBalance: snapshot.accountAvailable,
                mutualAidAvailable: aid?.available ?? .zero, plan: snapshot.plan
            )
        )
        let breakdown = calculation.breakdown
        let mutualAidPayer = breakdown.mutualAidPaid.isPositive ? aid?.binder : nil
        let cash = breakdown.cashPaid
        let source: FundingSource?
        switch visit.paymentAuthority {
        case .counter: source = nil
        case .fundingSource: source = cash.isPositive ? snapshot.defaultSource : nil
        case .frictionless:
            if !cash.isPositive {
                source = nil
            } else if snapshot.frictionless?.priority == .accountOnly {
                throw Refusal(
                    .accountInsufficient,
                    "the personal account pays \(breakdown.accountPaid) of the patient's \(breakdown.personTotal) and the patient chose the account only. \(fallback)"
                )
            } else if let authorised = snapshot.authorisedSource {
                source = authorised
            } else {
                throw Refusal(.noFundingSource, "the card or credit line the patient authorised is no longer bound. \(fallback)")
            }
        }
        if source != nil && !snapshot.channelConfigured {
            throw Refusal(
                .partyNotConfigured,
                "the patient's cash part would be collected from their bank, but no bank adapter is configured on this server; nothing was charged. Settle with \"cash_collection\": \"counter\"",
                references: ["visit_id": visit.id])
        }
        if let source, source.kind == .medicalCredit, snapshot.suspendedCreditSources.contains(source.id) {
            throw Refusal(
                .creditSuspended,
                "the patient's medical credit line is suspended for an overdue bill; nothing was charged. The visit is open: settle it with \"cash_collection\": \"counter\" or the patient's code",
                references: ["visit_id": visit.id]
            )
        }
        var record = SettlementRecord(
            id: settlementID, kind: .settlement, state: source == nil ? .completed : .pending, visitId: visit.id, originalId: nil,
            institution: InstitutionSummary(snapshot.institution), personNumber: person.number, personNameMasked: snapshot.personNameMasked,
            insuranceRegion: person.region, insuranceType: person.insuranceType, category: visit.category, year: snapshot.year,
            pool: visit.category.pool, policyTitle: policy.title, breakdown: breakdown, lines: calculation.lines, details: calculation.details,
            trace: calculation.trace, accumulatorDelta: calculation.accumulatorDelta, mutualAidPayer: mutualAidPayer,
            cashCollection: source == nil ? .counter : .channel, fundingSource: source.map(FundingSourceSummary.init), settledAt: now
        )
        record.payerNumber = visit.payerNumber
        if let cover = snapshot.plan, cover.covered { record.plan = PlanReference(cover.plan) }
        let frictionless = visit.paymentAuthority == .frictionless
        if let source {
            record.trace.append("现金 cash \(cash) to collect from \(source.bank) \(source.masked)")
            var holds = [Posting(.personal(person.number), record.ownAccountPaid)]
            if let binder = mutualAidPayer { holds.append(Posting(.personal(binder), breakdown.mutualAidPaid)) }
            return SettlementDecision(
                record: record, visitState: .paying, accumulators: nil, entry: nil, holds: holds.filter { $0.amount != .zero },
                collectFrom: source, frictionless: frictionless)
        }
        let accumulators = try snapshot.accumulators.applying(calculation.accumulatorDelta)
        let movements = SettlementPostings.movements(PayerAmounts(breakdown), SettlementParties(record, channel: nil, creditLine: nil))
        return SettlementDecision(
            record: record, visitState: .settled, accumulators: accumulators,
            entry: JournalEntry(id: entryID, kind: .settlement, reference: record.id, at: now, movements: movements), holds: [],
            collectFrom: nil, frictionless: frictionless)
    }
}

/// A pending settlement whose cash part the bank authorised, completed: the record, the accumulators
/// after it, the holds released, and the journal entry with every payer's part — the cash from the
/// channel (or the credit line).
public struct PaymentCompletion: Sendable {
    /// The completed record.
    public var record: SettlementRecord
    /// The accumulators after it.
    public var accumulators: PoolAccumulators
    /// Holds released (negative amounts).
    public var releasedHolds: [Posting]
    /// The journal entry.
    public var entry: JournalEntry?

    /// Completes `pending` against the accumulators read under lock. `creditLine` is the medical
    /// credit line that paid the cash part, if the source was one.
    public static func decide(
        _ pending: SettlementRecord, accumulators: PoolAccumulators, channel: String, creditLine: (id: String, partner: String)?, entryID: String,
        now: Instant
    ) throws(Refusal) -> PaymentCompletion {
        precondition(pending.state == .pending, "only a pending settlement completes")
        var record = pending
        record.state = .completed
        var released = [Posting(.personal(pending.personNumber), -pending.ownAccountPaid)]
        if let binder = pending.mutualAidPayer { released.append(Posting(.personal(binder), -pending.breakdown.mutualAidPaid)) }
        let movements = SettlementPostings.movements(
            PayerAmounts(pending.breakdown), SettlementParties(pending, channel: channel, creditLine: creditLine))
        return PaymentCompletion(
            record: record, accumulators: try accumulators.applying(pending.accumulatorDelta),
            releasedHolds: released.filter { $0.amount != .zero },
            entry: JournalEntry(id: entryID, kind: .settlement, reference: pending.id, at: now, movements: movements))
    }
}
