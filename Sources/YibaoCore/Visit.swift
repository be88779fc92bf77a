/// A visit (就诊): a patient at an institution, with the fee lines uploaded so far. National 2201 /
/// 2401 create one (`mdtrt_id`); 2204 / 2301 upload its lines.
public struct Visit: Sendable, Hashable, Codable {
    /// 就诊ID `mdtrt_id`.
    public var id: String
    /// The treating institution.
    public var institutionCode: String
    /// 人员编号 `psn_no`.
    public var personNumber: String
    /// 医疗类别 `med_type`.
    public var category: MedicalCategory
    /// The hospital's own visit number (门诊/住院号 `ipt_otp_no`), unique per institution.
    public var hospitalVisitNumber: String
    /// Open (lines may be added, it may be settled) or settled.
    public var state: VisitState
    /// The priced lines.
    public var lines: [LineSplit]
    /// The sum of the lines.
    public var total: Money
    /// Whose authority the cash part is collected under.
    public var paymentAuthority: PaymentAuthority
    /// A bound family member paying for this visit with their own code (nil: the patient pays).
    public var payerNumber: String?
    /// The settlement, once settled.
    public var settlementId: String?
    /// When the visit was opened.
    public var openedAt: Instant

    /// Creates a visit.
    public init(
        id: String, institutionCode: String, personNumber: String, category: MedicalCategory, hospitalVisitNumber: String,
        state: VisitState, lines: [LineSplit], settlementId: String?, openedAt: Instant, paymentAuthority: PaymentAuthority = .counter,
        payerNumber: String? = nil
    ) {
        self.paymentAuthority = paymentAuthority
        self.payerNumber = payerNumber
        self.id = id
        self.institutionCode = institutionCode
        self.personNumber = personNumber
        self.category = category
        self.hospitalVisitNumber = hospitalVisitNumber
        self.state = state
        self.lines = lines
        self.total = Money.sum(lines.map(\.amount))
        self.settlementId = settlementId
        self.openedAt = openedAt
    }
}

/// The state of a visit.
public enum VisitState: String, Sendable, Hashable, Codable {
    /// Lines may be added; it may be settled.
    case open
    /// Settled except for the cash part, which the patient's bank is being asked for.
    case paying
    /// Settled; a reversal opens it again.
    case settled
    /// Cancelled while open (挂号撤销, national 2202 / 2404): nothing was settled on it; it takes no
    /// lines and cannot be settled. It keeps its hospital visit number.
    case cancelled
}

extension Visit {
    /// Why the visit's lines cannot change now (`visit_not_open`); nil while it is open.
    public var refusalToChangeLines: Refusal? {
        switch state {
        case .open: return nil
        case .cancelled: return cancelledRefusal
        case .paying: return Refusal(.visitNotOpen, "visit \(id) is being paid; its lines change only after a reversal")
        case .settled: return Refusal(.visitNotOpen, "visit \(id) is settled; reverse the settlement to change its lines")
        }
    }

    /// Why the visit cannot be settled now; nil while it is open.
    public var refusalToSettle: Refusal? {
        switch state {
        case .open: return nil
        case .cancelled: return cancelledRefusal
        case .paying:
            return Refusal(
                .settlementInProgress, "visit \(id) is being paid", retryAfterSeconds: 2, references: ["settlement_id": settlementId ?? ""])
        case .settled:
            return Refusal(.visitAlreadySettled, "visit \(id) is already settled", references: ["settlement_id": settlementId ?? ""])
        }
    }

    private var cancelledRefusal: Refusal { Refusal(.visitNotOpen, "visit \(id) was cancelled; open a new visit") }

    /// Why the visit cannot be cancelled now; nil when it may be (open, or cancelled already: cancelling
    /// again answers the same). A visit being paid waits for the bank's answer; a settled one is reversed
    /// first, which opens it again.
    public var refusalToCancel: Refusal? {
        switch state {
        case .open, .cancelled: return nil
        case .paying:
            return Refusal(
                .settlementInProgress, "visit \(id) is being paid; cancel it once the payment is answered", retryAfterSeconds: 2,
                references: ["settlement_id": settlementId ?? ""])
        case .settled:
            return Refusal(
                .visitAlreadySettled, "visit \(id) is settled; reverse the settlement first (2208), then cancel the visit",
                references: ["settlement_id": settlementId ?? ""])
        }
    }
}

/// What a settlement record is.
public enum SettlementKind: String, Sendable, Hashable, Codable {
    /// 结算.
    case settlement
    /// 冲正 / 结算撤销: the exact negation of a settlement.
    case reversal
    /// 退费: a partial refund.
    case refund
}

/// Where a settlement stands.
public enum SettlementState: String, Sendable, Hashable, Codable {
    /// Money moved; the receipt is final.
    case completed
    /// Computed and reserved (account holds, the patient's other settlements wait); the patient's bank
    /// is being asked for the cash part. Nothing is posted yet.
    case pending
    /// The bank refused the cash part: holds released, nothing posted.
    case declined
    /// Abandoned before the bank took anything: holds released, nothing posted.
    case cancelled
}

/// Who collects the cash part.
public enum CashCollection: String, Sendable, Hashable, Codable {
    /// The hospital collects it at the counter (cash, its own card terminal); it does not pass through Yibao.
    case counter
    /// Yibao collects it from the patient's funding source through the payment channel (one-code payment).
    case channel
}

/// Whose authority a visit's cash part is collected under.
public enum PaymentAuthority: String, Sendable, Hashable, Codable {
    /// Opened by person number: the hospital collects the cash part itself.
    case counter
    /// Opened with the patient's e-voucher code: Yibao may charge the patient's default funding source.
    case fundingSource = "funding_source"
    /// Registered as frictionless (无感支付): settled without a code under the patient's signed
    /// authorisation, which names the source and the order of payment.
    case frictionless
}

/// The institution as shown on a receipt.
public struct InstitutionSummary: Sendable, Hashable, Codable {
    /// 定点医药机构编号.
    public var code: String
    /// 定点医药机构名称.
    public var name: String
    /// 医院等级.
    public var level: HospitalLevel
    /// 就医地医保区划.
    public var region: RegionCode

    /// The summary of an institution.
    public init(_ institution: Institution) {
        self.code = institution.code
        self.name = institution.name
        self.level = institution.level
        self.region = institution.region
    }
}

/// A settlement record (结算信息): immutable once written. Reversals and refunds are new records that
/// point at the original.
public struct SettlementRecord: Sendable, Hashable, Codable {
    /// 结算ID `setl_id`.
    public var id: String
    /// Settlement, reversal or refund.
    public var kind: SettlementKind
    /// Completed (money moved).
    public var state: SettlementState
    /// 就诊ID `mdtrt_id`.
    public var visitId: String
    /// The settlement this one reverses or refunds.
    public var originalId: String?
    /// The institution.
    public var institution: InstitutionSummary
    /// 人员编号 `psn_no`.
    public var personNumber: String
    /// The patient's name, masked (张*).
    public var personNameMasked: String
    /// 参保地 `insuplc_admdvs`.
    public var insuranceRegion: RegionCode
    /// 险种类型 `insutype`.
    public var insuranceType: InsuranceType
    /// 医疗类别 `med_type`.
    public var category: MedicalCategory
    /// The policy year.
    public var year: Int
    /// The benefit pool.
    public var pool: BenefitPoolKind
    /// The policy applied.
    public var policyTitle: String
    /// The national buckets.
    public var breakdown: SettlementBreakdown
    /// The lines with what each payer paid.
    public var lines: [SettledLine]
    /// 基金分项 `setldetail`.
    public var details: [FundDetail]
    /// 结算过程信息.
    public var trace: [String]
    /// What the settlement added to the year-to-date accumulators.
    public var accumulatorDelta: PoolAccumulators
    /// The family member whose account paid the mutual-aid part, if any.
    public var mutualAidPayer: String?
    /// Who collects the cash part.
    public var cashCollection: CashCollection
    /// The funding source charged for the cash part (one-code payment).
    public var fundingSource: FundingSourceSummary?
    /// Why the bank declined, for a declined settlement.
    public var declineReason: DeclineReason?
    /// For a refund: what kind.
    public var refundType: RefundType?
    /// A bound family member who paid for this visit with their own code and card.
    public var payerNumber: String?
    /// For a refund or a reversal: what went back to each payer (every amount ≥ 0). Decided by
    /// `SettlementMoney`; the journal entry posts exactly this.
    public var returned: PayerAmounts?
    /// For a refund: how the cash the patient owes the institution changed — positive when an insurance
    /// refund turned the fund and account parts into cash to pay at the counter, negative when a refund
    /// of every remaining line forgave it.
    public var cashOwedChange: Money?
    /// The commercial plan the patient was in when settled (it pays `oth_pay`, perhaps nothing yet this
    /// time); nil when none. Refunds and reversals carry it on, so that what goes back reaches the same
    /// insurer and a refund by lines re-settles the lines kept with the plan as it was.
    public var plan: PlanReference?
    /// 结算时间 `setl_time`.
    public var settledAt: Instant
    /// The reversal of this settlement, once reversed (not part of the stored document).
    public var reversedBy: String?

    /// Creates a record.
    public init(
        id: String, kind: SettlementKind, state: SettlementState, visitId: String, originalId: String?, institution: InstitutionSummary,
        personNumber: String, personNameMasked: String, insuranceRegion: RegionCode, insuranceType: InsuranceType,
        category: MedicalCategory, year: Int, pool: BenefitPoolKind, policyTitle: String, breakdown: SettlementBreakdown,
        lines: [SettledLine], details: [FundDetail], trace: [String], accumulatorDelta: PoolAccumulators, mutualAidPayer: String?,
        cashCollection: CashCollection, fundingSource: FundingSourceSummary? = nil, settledAt: Instant, reversedBy: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.state = state
        self.visitId = visitId
        self.originalId = originalId
        self.institution = institution
        self.personNumber = personNumber
        self.personNameMasked = personNameMasked
        self.insuranceRegion = insuranceRegion
        self.insuranceType = insuranceType
        self.category = category
        self.year = year
        self.pool = pool
        self.policyTitle = policyTitle
        self.breakdown = breakdown
        self.lines = lines
        self.details = details
        self.trace = trace
        self.accumulatorDelta = accumulatorDelta
        self.mutualAidPayer = mutualAidPayer
        self.cashCollection = cashCollection
        self.fundingSource = fundingSource
        self.settledAt = settledAt
        self.reversedBy = reversedBy
    }
}

/// The commercial plan a settlement's `oth_pay` came from.
public struct PlanReference: Sendable, Hashable, Codable {
    /// The plan's id.
    public var id: String
    /// The plan's name.
    public var name: String
    /// The insurer's code (its ledger account).
    public var insurerCode: String
    /// The insurer's name.
    public var insurerName: String

    /// The reference to a plan.
    public init(_ plan: CommercialPlan) {
        id = plan.id
        name = plan.name
        insurerCode = plan.insurer.code
        insurerName = plan.insurer.name
    }
}

/// The funding source as shown on a receipt.
public struct FundingSourceSummary: Sendable, Hashable, Codable {
    /// The source's id.
    public var id: String
    /// Debit, credit or medical credit.
    public var kind: CardKind
    /// `6228 **** **** 1234`.
    public var masked: String
    /// The bank.
    public var bank: String

    /// The summary of a source.
    public init(_ source: FundingSource) {
        self.id = source.id
        self.kind = source.kind
        self.masked = source.masked
        self.bank = source.bank
    }
}

/// Masking for display: enough to recognise, not enough to identify.
public enum Masking {
    /// 张三 → 张*; 欧阳娜娜 → 欧***.
    public static func name(_ name: String) -> String {
        guard let first = name.first else { return "" }
        return String(first) + String(repeating: "*", count: max(1, name.count - 1))
    }

    /// 440106199001011234 → 4401**********1234.
    public static func idNumber(_ id: String) -> String {
        guard id.count > 8 else { return String(repeating: "*", count: id.count) }
        return String(id.prefix(4)) + String(repeating: "*", count: id.count - 8) + String(id.suffix(4))
    }

    /// 13800138000 → 138****8000.
    public static func phone(_ phone: String) -> String {
        guard phone.count >= 7 else { return String(repeating: "*", count: phone.count) }
        return String(phone.prefix(3)) + String(repeating: "*", count: phone.count - 7) + String(phone.suffix(4))
    }
}

extension LineSplit {
    /// The line with every amount and the quantity negated (for reversals, national 2208).
    public func negated() -> LineSplit {
        var line = self
        line.quantity = Quantity(scaled: -quantity.scaled)
        line.amount = -amount
        line.fullSelfPay = -fullSelfPay
        line.overLimit = -overLimit
        line.firstSelfPay = -firstSelfPay
        line.inScope = -inScope
        return line
    }
}

extension SettlementRecord {
    /// The reversal of this settlement: a new record with every amount negated (reference I8).
    public func reversal(id: String, at: Instant, balanceAfter: Money) -> SettlementRecord {
        precondition(kind == .settlement, "only settlements are reversed")
        var record = self
        record.id = id
        record.kind = .reversal
        record.originalId = self.id
        record.breakdown = breakdown.negated(balanceAfter: balanceAfter)
        record.lines = lines.map {
            SettledLine(
                split: $0.split.negated(), fundPaid: -$0.fundPaid, accountPaid: -$0.accountPaid, cashPaid: -$0.cashPaid, planPaid: -$0.planPaid)
        }
        record.details = details.map { $0.negated() }
        record.trace = ["冲正 reversal of settlement \(self.id) settled at \(settledAt)"]
        record.accumulatorDelta = accumulatorDelta.negated
        record.settledAt = at
        record.reversedBy = nil
        record.returned = PayerAmounts(breakdown)
        return record
    }

    /// The patient's own account part (`acct_pay − acct_mulaid_pay`).
    public var ownAccountPaid: Money { breakdown.accountPaid - breakdown.mutualAidPaid }
}
