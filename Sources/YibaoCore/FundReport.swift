/// What one group of settlements (with their refunds and reversals) cost the funds and the accounts in a
/// period, netted: refunds and reversals count negative on the day they completed.
public struct FundFigures: Sendable, Hashable, Codable {
    /// Settlements completed (refunds and reversals not counted).
    public var settlements: Int
    /// Refunds and reversals completed.
    public var refundsAndReversals: Int
    /// 医疗费总额 `medfee_sumamt`.
    public var total: Money
    /// 基本医疗保险统筹基金支出 `hifp_pay`.
    public var pooledFund: Money
    /// 大额医疗费用补助 `hifob_pay` (employees) or 大病保险 `hifmi_pay` (residents): the above-cap fund.
    public var aboveCapFund: Money
    /// 个人账户支出 `acct_pay` from the patient's own account.
    public var ownAccount: Money
    /// 共济支付 `acct_mulaid_pay`: from a relative's account.
    public var mutualAid: Money
    /// 现金支付 `cash_payamt`.
    public var cash: Money
    /// 其他支出 `oth_pay`: what commercial plans paid (their insurers' funds), within the funds' total.
    public var plan: Money

    /// Nothing.
    public static let zero = FundFigures(
        settlements: 0, refundsAndReversals: 0, total: .zero, pooledFund: .zero, aboveCapFund: .zero, ownAccount: .zero, mutualAid: .zero,
        cash: .zero)

    /// Creates figures.
    public init(
        settlements: Int, refundsAndReversals: Int, total: Money, pooledFund: Money, aboveCapFund: Money, ownAccount: Money, mutualAid: Money,
        cash: Money, plan: Money = .zero
    ) {
        self.plan = plan
        self.settlements = settlements
        self.refundsAndReversals = refundsAndReversals
        self.total = total
        self.pooledFund = pooledFund
        self.aboveCapFund = aboveCapFund
        self.ownAccount = ownAccount
        self.mutualAid = mutualAid
        self.cash = cash
    }

    /// The sum of two groups.
    public func adding(_ other: FundFigures) -> FundFigures {
        FundFigures(
            settlements: settlements + other.settlements, refundsAndReversals: refundsAndReversals + other.refundsAndReversals,
            total: total + other.total, pooledFund: pooledFund + other.pooledFund, aboveCapFund: aboveCapFund + other.aboveCapFund,
            ownAccount: ownAccount + other.ownAccount, mutualAid: mutualAid + other.mutualAid, cash: cash + other.cash, plan: plan + other.plan)
    }

    private enum CodingKeys: String, CodingKey {
        case settlements, refundsAndReversals, total, pooledFund, aboveCapFund, ownAccount, mutualAid, cash, plan
    }

    /// Decodes figures; a report stored before commercial plans paid has no plan figure.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            settlements: try c.decode(Int.self, forKey: .settlements), refundsAndReversals: try c.decode(Int.self, forKey: .refundsAndReversals),
            total: try c.decode(Money.self, forKey: .total), pooledFund: try c.decode(Money.self, forKey: .pooledFund),
            aboveCapFund: try c.decode(Money.self, forKey: .aboveCapFund), ownAccount: try c.decode(Money.self, forKey: .ownAccount),
            mutualAid: try c.decode(Money.self, forKey: .mutualAid), cash: try c.decode(Money.self, forKey: .cash),
            plan: try c.decodeIfPresent(Money.self, forKey: .plan) ?? .zero)
    }

    /// Fund paid in all (`fund_pay_sumamt`: the basic funds and commercial plans).
    public var fund: Money { pooledFund + aboveCapFund + plan }
}

/// One line of a fund report: a group and its figures. Which of the group's fields are set depends on
/// the view (region × insurance type × pool; institution; hospital level).
public struct FundReportLine: Sendable, Hashable, Codable {
    /// The patients' home region (参保地).
    public var region: RegionCode?
    /// 险种类型.
    public var insuranceType: InsuranceType?
    /// 门诊 / 住院.
    public var pool: BenefitPoolKind?
    /// The institution.
    public var institutionCode: String?
    /// 医院等级.
    public var level: HospitalLevel?
    /// The figures.
    public var figures: FundFigures

    /// Creates a line.
    public init(
        region: RegionCode? = nil, insuranceType: InsuranceType? = nil, pool: BenefitPoolKind? = nil, institutionCode: String? = nil,
        level: HospitalLevel? = nil, figures: FundFigures
    ) {
        self.region = region
        self.insuranceType = insuranceType
        self.pool = pool
        self.institutionCode = institutionCode
        self.level = level
        self.figures = figures
    }
}

/// An amount per account owner (a fund, an institution).
public struct OwnerAmount: Sendable, Hashable, Codable {
    /// The owner: a fund path (`440100-310-310100`) or an institution code.
    public var owner: String
    /// The amount.
    public var amount: Money

    /// Creates one.
    public init(owner: String, amount: Money) {
        self.owner = owner
        self.amount = amount
    }
}

/// What ties a report to the books it came from: the audit chain's heads when it was made and, when
/// asked for, the ledger's verification.
public struct ReportAnchor: Sendable, Hashable, Codable {
    /// Each audit lane's head `lane:seq:hash`.
    public var auditHeads: [String]
    /// Whether `verify-ledger` passed (nil when not run).
    public var ledgerVerified: Bool?
    /// How many problems it found.
    public var ledgerProblems: Int?

    /// Creates an anchor.
    public init(auditHeads: [String], ledgerVerified: Bool?, ledgerProblems: Int?) {
        self.auditHeads = auditHeads
        self.ledgerVerified = ledgerVerified
        self.ledgerProblems = ledgerProblems
    }
}

/// The bureau's fund report for a period (a day or a month, China time).
public struct FundReport: Sendable, Hashable, Codable {
    /// The period.
    public var period: StatementPeriod
    /// When it was made.
    public var generatedAt: Instant
    /// By region × insurance type × pool.
    public var byFund: [FundReportLine]
    /// By institution.
    public var byInstitution: [FundReportLine]
    /// By hospital level.
    public var byLevel: [FundReportLine]
    /// Everything.
    public var totals: FundFigures
    /// Premiums (contributions) received into each fund in the period.
    public var premiums: [OwnerAmount]
    /// What the bureau owes each institution now (its clearing account).
    public var owedToInstitutions: [OwnerAmount]
    /// What clearing paid each institution in the period.
    public var paidToInstitutions: [OwnerAmount]
    /// The anchor.
    public var anchor: ReportAnchor

    /// Builds the report's views from the finest groups (region × insurance type × pool × institution).
    public init(
        period: StatementPeriod, generatedAt: Instant, groups: [FundReportLine], levels: [String: HospitalLevel], premiums: [OwnerAmount],
        owedToInstitutions: [OwnerAmount], paidToInstitutions: [OwnerAmount], anchor: ReportAnchor
    ) {
        func rollUp(_ key: (FundReportLine) -> FundReportLine) -> [FundReportLine] {
            var merged: [FundReportLine] = []
            var index: [FundReportLine: Int] = [:]
            for group in groups {
                var probe = key(group)
                probe.figures = .zero
                if let at = index[probe] {
                    merged[at].figures = merged[at].figures.adding(group.figures)
                } else {
                    index[probe] = merged.count
                    var line = probe
                    line.figures = group.figures
                    merged.append(line)
                }
            }
            return merged
        }
        self.period = period
        self.generatedAt = generatedAt
        byFund = rollUp { FundReportLine(region: $0.region, insuranceType: $0.insuranceType, pool: $0.pool, figures: $0.figures) }
        byInstitution = rollUp { FundReportLine(institutionCode: $0.institutionCode, level: levels[$0.institutionCode ?? ""], figures: $0.figures) }
        byLevel = rollUp { FundReportLine(level: levels[$0.institutionCode ?? ""], figures: $0.figures) }
        totals = groups.reduce(FundFigures.zero) { $0.adding($1.figures) }
        self.premiums = premiums
        self.owedToInstitutions = owedToInstitutions
        self.paidToInstitutions = paidToInstitutions
        self.anchor = anchor
    }

    /// The report as CSV for the bureau's spreadsheets: one row per line of each view, then the premiums,
    /// the amounts owed and paid, and the anchor (yuan with two decimals).
    public var csv: String {
        var rows = [
            [
                "view", "region", "insurance_type", "pool", "institution_code", "level", "settlements", "refunds_and_reversals", "medfee_sumamt",
                "hifp_pay", "above_cap_pay", "acct_pay", "acct_mulaid_pay", "cash_payamt", "oth_pay",
            ]
        ]
        func add(_ view: String, _ line: FundReportLine) {
            let f = line.figures
            rows.append(
                [
                    view, line.region?.value ?? "", line.insuranceType?.rawValue ?? "", line.pool?.rawValue ?? "", line.institutionCode ?? "",
                    line.level?.rawValue ?? "", "\(f.settlements)", "\(f.refundsAndReversals)", f.total.description, f.pooledFund.description,
                    f.aboveCapFund.description, f.ownAccount.description, f.mutualAid.description, f.cash.description, f.plan.description,
                ])
        }
        for line in byFund { add("fund", line) }
        for line in byInstitution { add("institution", line) }
        for line in byLevel { add("level", line) }
        add("total", FundReportLine(figures: totals))
        var text = rows.map { $0.map(CSV.escape).joined(separator: ",") }.joined(separator: "\n") + "\n"
        text += "\nkind,owner,amount_yuan\n"
        for item in premiums { text += "premium_received,\(CSV.escape(item.owner)),\(item.amount)\n" }
        for item in owedToInstitutions { text += "owed_to_institution,\(CSV.escape(item.owner)),\(item.amount)\n" }
        for item in paidToInstitutions { text += "paid_to_institution,\(CSV.escape(item.owner)),\(item.amount)\n" }
        text += "\nperiod,\(period.from),\(period.through)\n"
        text += "audit_heads,\(CSV.escape(anchor.auditHeads.joined(separator: " ")))\n"
        if let verified = anchor.ledgerVerified { text += "ledger_verified,\(verified),\(anchor.ledgerProblems ?? 0)\n" }
        return text
    }
}
