/// Where a clearing (清算) stands. `applied` → (deductions) → `approved` → `paying` → `paid`; a failed
/// payout returns it to `approved` to be run again; an application not yet approved can be
/// `cancelled` (national 3204), which frees its settlements for the next application.
public enum ClearingState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Applied for by the institution (3203) or started by the bureau; the operator reviews it.
    case applied
    /// Approved by an administrator: the deductions went back to the funds; ready to run.
    case approved
    /// Run: the approved amount left the institution's clearing account; the bank has the instruction.
    case paying
    /// The bank confirmed the payout.
    case paid
    /// Cancelled before approval.
    case cancelled
}

/// A deduction by the bureau's review (审核扣款): an amount the fund will not pay, for one settlement
/// or for the clearing as a whole, with its reason.
public struct ClearingDeduction: Sendable, Hashable, Codable {
    /// The deduction's id.
    public var id: String
    /// The settlement it concerns, or nil for a deduction from the whole clearing.
    public var settlementId: String?
    /// The amount withheld (positive).
    public var amount: Money
    /// Why.
    public var reason: String
    /// The operator.
    public var by: String
    /// When.
    public var at: Instant

    /// Creates a deduction.
    public init(id: String, settlementId: String?, amount: Money, reason: String, by: String, at: Instant) {
        self.id = id
        self.settlementId = settlementId
        self.amount = amount
        self.reason = reason
        self.by = by
        self.at = at
    }
}

/// One settlement, refund or reversal a clearing carries, with what the bureau owes for it (fund and
/// personal-account parts; negative for a refund or a reversal). A settlement is carried by one
/// clearing only, ever.
public struct ClearingItem: Sendable, Hashable, Codable {
    /// `setl_id`.
    public var settlementId: String
    /// `settlement`, `refund` or `reversal`.
    public var kind: SettlementKind
    /// The patient's home region: its fund takes back a deduction on this item.
    public var region: RegionCode
    /// 医疗费总额.
    public var total: Money
    /// Fund + personal account: what the institution is owed for it.
    public var owed: Money
    /// When it completed.
    public var completedAt: Instant

    /// Creates an item.
    public init(settlementId: String, kind: SettlementKind, region: RegionCode, total: Money, owed: Money, completedAt: Instant) {
        self.settlementId = settlementId
        self.kind = kind
        self.region = region
        self.total = total
        self.owed = owed
        self.completedAt = completedAt
    }
}

/// A clearing of one institution, insurance type and period (national 3203 清算申请): what the fund and
/// the personal accounts owe it for the settlements completed by the period's end and not cleared before,
/// less the bureau's deductions.
public struct Clearing: Sendable, Hashable, Encodable {
    /// The clearing's id.
    public var id: String
    /// 定点医药机构编号 `fixmedins_code`.
    public var institutionCode: String
    /// 险种类型 `insutype`.
    public var insuranceType: InsuranceType
    /// 清算起止日期 `clr_begndate` / `clr_enddate`.
    public var period: StatementPeriod
    /// Where it stands.
    public var state: ClearingState
    /// `institution` (applied through the API) or `operator:<name>`.
    public var startedBy: String
    /// 结算笔数 (settlements, refunds and reversals carried).
    public var itemCount: Int
    /// 医疗费总额 `medfee_sumamt` of the items.
    public var total: Money
    /// 申报金额: fund + personal accounts owed for the items.
    public var claimed: Money
    /// The deductions, oldest first.
    public var deductions: [ClearingDeduction]
    /// Who approved it.
    public var approvedBy: String?
    /// The account the payout goes to (the institution's registered bank account reference).
    public var payoutAccount: String?
    /// The bank's reference of the payout, once it answered.
    public var bankReference: String?
    /// Why the last payout failed, if it did.
    public var lastFailure: String?
    /// When it was applied for.
    public var createdAt: Instant
    /// When it last changed.
    public var updatedAt: Instant

    /// Creates a clearing.
    public init(
        id: String, institutionCode: String, insuranceType: InsuranceType, period: StatementPeriod, state: ClearingState, startedBy: String,
        itemCount: Int, total: Money, claimed: Money, deductions: [ClearingDeduction] = [], approvedBy: String? = nil,
        payoutAccount: String? = nil, bankReference: String? = nil, lastFailure: String? = nil, createdAt: Instant, updatedAt: Instant
    ) {
        self.id = id
        self.institutionCode = institutionCode
        self.insuranceType = insuranceType
        self.period = period
        self.state = state
        self.startedBy = startedBy
        self.itemCount = itemCount
        self.total = total
        self.claimed = claimed
        self.deductions = deductions
        self.approvedBy = approvedBy
        self.payoutAccount = payoutAccount
        self.bankReference = bankReference
        self.lastFailure = lastFailure
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// 审核扣款 total.
    public var deducted: Money { Money.sum(deductions.map(\.amount)) }
    /// What the fund pays the institution: claimed less deductions.
    public var payable: Money { claimed - deducted }

    /// The longest deduction reason.
    public static let reasonLengthMax = 500

    /// Refuses unless the clearing is in one of `states`.
    public func require(_ states: ClearingState..., toDo action: String) throws(Refusal) {
        guard states.contains(state) else {
            throw Refusal(
                .clearingState, "clearing \(id) is \(state.rawValue); \(action) needs it \(states.map(\.rawValue).joined(separator: " or "))")
        }
    }

    /// Checks a deduction against the clearing and its items: only while applied, a positive amount and
    /// a reason, on an item the clearing carries and at most what is still owed for it, and never more
    /// than the clearing still pays.
    public func checkDeduction(_ deduction: ClearingDeduction, item: ClearingItem?) throws(Refusal) {
        try require(.applied, toDo: "a deduction")
        guard deduction.amount.isPositive, deduction.amount <= Money.requestAmountMax else {
            throw Refusal.invalid("amount", "a deduction is a positive number of fen, at most \(Money.requestAmountMax) yuan")
        }
        guard !deduction.reason.isEmpty, deduction.reason.count <= Clearing.reasonLengthMax else {
            throw Refusal.invalid("reason", "the reason is 1 to \(Clearing.reasonLengthMax) characters")
        }
        if let settlement = deduction.settlementId {
            guard let item else { throw Refusal(.notFound, "clearing \(id) does not carry settlement \(settlement)", field: "settlement_id") }
            let already = Money.sum(deductions.filter { $0.settlementId == settlement }.map(\.amount))
            guard already + deduction.amount <= item.owed else {
                throw Refusal(
                    .refundExceedsSettlement, "settlement \(settlement) is owed \(item.owed); \(already) is already deducted", field: "amount")
            }
        }
        guard deduction.amount <= payable else {
            throw Refusal(.refundExceedsSettlement, "the clearing pays \(payable); a deduction cannot exceed it", field: "amount")
        }
    }

    /// Checks an approval: only an applied clearing, and only when it pays something (a period whose
    /// refunds and reversals outweigh its settlements waits to be netted with the next one).
    public func checkApproval() throws(Refusal) {
        try require(.applied, toDo: "approval")
        guard payable.isPositive else {
            throw Refusal(.nothingToClear, "clearing \(id) pays \(payable): nothing to pay; cancel it and clear the period with the next")
        }
    }

    /// The movements of the approval, one journal entry's worth each: every deduction leaves the
    /// institution's clearing account and goes back to the pooled fund it came from — the settlement's
    /// home region for a deduction on one settlement, the institution's region for a deduction from the
    /// whole clearing. Funds are grouped so that no entry exceeds `JournalEntry.postingsMax`.
    public func approvalMovements(items: [String: ClearingItem], institutionRegion: RegionCode) -> [[Posting]] {
        var byFund: [AccountID: Money] = [:]
        for deduction in deductions {
            let region = deduction.settlementId.flatMap { items[$0]?.region } ?? institutionRegion
            byFund[.fund(region, insuranceType, insuranceType.pooledFundType), default: .zero] += deduction.amount
        }
        let funds = byFund.sorted { $0.key < $1.key }
        let perEntry = JournalEntry.postingsMax - 1
        return stride(from: 0, to: funds.count, by: perEntry).map { start in
            let group = funds[start..<min(start + perEntry, funds.count)]
            return [Posting(.institutionClearing(institutionCode), -Money.sum(group.map(\.value)))] + group.map { Posting($0.key, $0.value) }
        }
    }

    /// The movements of a run: the payable amount leaves the institution's clearing account for the payouts.
    public var runMovements: [Posting] {
        [Posting(.institutionClearing(institutionCode), -payable), Posting(.payouts(institutionCode), payable)]
    }

    /// The movements of a failed payout: the run undone, the money owed to the institution again.
    public var failedPayoutMovements: [Posting] { runMovements.map { Posting($0.account, -$0.amount) } }

    /// The line of the bank's payment instruction file for this clearing.
    public func instructionLine(institutionName: String) -> [String] {
        [institutionCode, institutionName, payoutAccount ?? "", payable.description, id, "医保基金清算 \(period)"]
    }

    /// The payment instruction file's header.
    public static let instructionHeader = ["institution_code", "institution_name", "payout_account", "amount_yuan", "reference", "memo"]
}

extension Clearing {
    private enum Keys: String, CodingKey {
        case id, institutionCode, insuranceType, period, state, startedBy, itemCount, total, claimed, deductions, deducted, payable
        case approvedBy, payoutAccount, bankReference, lastFailure, createdAt, updatedAt
    }

    /// Encodes the clearing with what it deducts and pays.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(id, forKey: .id)
        try container.encode(institutionCode, forKey: .institutionCode)
        try container.encode(insuranceType, forKey: .insuranceType)
        try container.encode(period, forKey: .period)
        try container.encode(state, forKey: .state)
        try container.encode(startedBy, forKey: .startedBy)
        try container.encode(itemCount, forKey: .itemCount)
        try container.encode(total, forKey: .total)
        try container.encode(claimed, forKey: .claimed)
        try container.encode(deductions, forKey: .deductions)
        try container.encode(deducted, forKey: .deducted)
        try container.encode(payable, forKey: .payable)
        try container.encodeIfPresent(approvedBy, forKey: .approvedBy)
        try container.encodeIfPresent(payoutAccount, forKey: .payoutAccount)
        try container.encodeIfPresent(bankReference, forKey: .bankReference)
        try container.encodeIfPresent(lastFailure, forKey: .lastFailure)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}
