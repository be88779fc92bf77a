/// A city's inclusive commercial health plan (惠民保, e.g. Guangzhou's 穗岁康), configured per region
/// and year like a policy: who may join, what it pays of the part the basic insurance leaves to the
/// patient, and the insurer whose fund pays.
///
/// In a settlement the plan runs after the basic fund and before the personal account (`SettlementEngine`
/// step 6), and what it pays is reported as 其他支出 `oth_pay`, which reference §3.3 (I4) counts inside
/// `fund_pay_sumamt`. Its deductible and annual cap are kept per benefit pool, beside the basic fund's
/// year-to-date figures (`PoolAccumulators.plan`): a plan that pays in both pools has a deductible and a
/// cap in each — the shape of plans whose inpatient and outpatient responsibilities are separate.
public struct CommercialPlan: Sendable, Hashable, Codable {
    /// The insurer underwriting the plan (its fund pays; the bureau or the hospital claims from it).
    public struct Insurer: Sendable, Hashable, Codable {
        /// A short code, used in ledger account names.
        public var code: String
        /// The insurer's name.
        public var name: String

        /// Creates an insurer.
        public init(code: String, name: String) {
            self.code = code
            self.name = name
        }
    }

    /// What the plan pays of each part the patient bears after the basic fund.
    public struct Ratios: Sendable, Hashable, Codable {
        /// The in-scope amount the basic fund left to the patient (deductible and co-payment: 合规自付).
        public var inScopeSelfBorne: Ratio
        /// Class B first self-pay (先行自付 `preselfpay_amt`).
        public var firstSelfPay: Ratio
        /// Above a price cap (超限价 `overlmt_selfpay`).
        public var overLimit: Ratio
        /// Class C and out-of-catalogue items (全自费 `fulamt_ownpay_amt`).
        public var fullSelfPay: Ratio

        /// Creates ratios.
        public init(inScopeSelfBorne: Ratio, firstSelfPay: Ratio, overLimit: Ratio, fullSelfPay: Ratio) {
            self.inScopeSelfBorne = inScopeSelfBorne
            self.firstSelfPay = firstSelfPay
            self.overLimit = overLimit
            self.fullSelfPay = fullSelfPay
        }
    }

    /// The plan's id (`suisuikang-2026`).
    public var id: String
    /// The region whose insured may join.
    public var region: RegionCode
    /// The plan year.
    public var year: Int
    /// The plan's name.
    public var name: String
    /// The insurer.
    public var insurer: Insurer
    /// Where the figures come from.
    public var sources: [String]
    /// The yearly premium per person.
    public var premium: Money
    /// The plan's own yearly deductible (免赔额), met by what it would otherwise pay for.
    public var deductible: Money
    /// What it pays of each part.
    public var ratios: Ratios
    /// The most it pays a person in the year.
    public var annualCap: Money
    /// Catalogue codes it never pays for.
    public var excludedItems: [String]
    /// The benefit pools it pays in (the care it covers: inpatient stays, outpatient visits).
    public var pools: [BenefitPoolKind]
    /// The first and last day of enrolment (China Standard Time): paying the premium in this window enrols
    /// the person for the plan year.
    public var enrolmentOpens: CivilDate?
    /// See `enrolmentOpens`.
    public var enrolmentCloses: CivilDate?

    /// The plan's premium as a contribution schedule (paid through the same premium flow).
    public var premiumSchedule: PremiumSchedule {
        PremiumSchedule(kind: .commercialPlan, amount: premium, opens: enrolmentOpens, closes: enrolmentCloses)
    }

    /// Creates a plan.
    public init(
        id: String, region: RegionCode, year: Int, name: String, insurer: Insurer, sources: [String], premium: Money, deductible: Money,
        ratios: Ratios, annualCap: Money, excludedItems: [String] = [], pools: [BenefitPoolKind] = BenefitPoolKind.allCases,
        enrolmentOpens: CivilDate? = nil, enrolmentCloses: CivilDate? = nil
    ) {
        self.id = id
        self.region = region
        self.year = year
        self.name = name
        self.insurer = insurer
        self.sources = sources
        self.premium = premium
        self.deductible = deductible
        self.ratios = ratios
        self.annualCap = annualCap
        self.excludedItems = excludedItems
        self.pools = pools
        self.enrolmentOpens = enrolmentOpens
        self.enrolmentCloses = enrolmentCloses
    }

    /// What is wrong with the plan, in words (empty when it can be used).
    public func problems() -> [String] {
        var found: [String] = []
        if id.isEmpty || id.count > 50 { found.append("id must be 1 to 50 characters") }
        if name.isEmpty { found.append("name is required") }
        if insurer.code.isEmpty || insurer.code.count > 30 { found.append("insurer.code must be 1 to 30 characters") }
        if sources.isEmpty { found.append("sources must cite where the figures come from") }
        if premium.isNegative || deductible.isNegative || !annualCap.isPositive { found.append("premium, deductible ≥ 0 and annual_cap > 0") }
        if pools.isEmpty { found.append("pools must name the care the plan pays for") }
        if let opens = enrolmentOpens, let closes = enrolmentCloses {
            if opens > closes { found.append("enrolment_opens must be on or before enrolment_closes") }
        } else if enrolmentOpens != nil || enrolmentCloses != nil {
            found.append("enrolment_opens and enrolment_closes go together")
        }
        for ratio in [ratios.inScopeSelfBorne, ratios.firstSelfPay, ratios.overLimit, ratios.fullSelfPay]
        where ratio < .zero || ratio > .whole {
            found.append("ratios are 0 to 1")
        }
        return found
    }
}

/// The commercial plan of the patient's region and year, and whether the patient is enrolled (and paid)
/// in it: what a settlement needs to let the plan pay.
public struct PlanCover: Sendable, Hashable {
    /// The plan.
    public var plan: CommercialPlan
    /// Whether the patient is enrolled and paid for the plan's year.
    public var covered: Bool

    /// Creates a cover.
    public init(plan: CommercialPlan, covered: Bool) {
        self.plan = plan
        self.covered = covered
    }

    /// Whether the plan may pay for care of `pool`: the patient is in it and it covers that care.
    public func pays(in pool: BenefitPoolKind) -> Bool { covered && plan.pools.contains(pool) }
}

/// A person's year so far under a plan.
public struct PlanAccumulators: Sendable, Hashable, Codable {
    /// How much of the plan's deductible is met.
    public var deductibleMet: Money
    /// What the plan paid.
    public var paid: Money

    /// Creates accumulators.
    public init(deductibleMet: Money = .zero, paid: Money = .zero) {
        self.deductibleMet = deductibleMet
        self.paid = paid
    }

    /// Nothing yet.
    public static let zero = PlanAccumulators()

    /// The sum, part by part.
    public func adding(_ other: PlanAccumulators) -> PlanAccumulators {
        PlanAccumulators(deductibleMet: deductibleMet + other.deductibleMet, paid: paid + other.paid)
    }
}

/// What a plan pays of one settlement.
public struct PlanCalculation: Sendable, Hashable, Codable {
    /// What the plan pays of each line, in the lines' order.
    public var lines: [Money]
    /// The total (其他支出 `oth_pay`).
    public var total: Money
    /// What to add to the person's plan accumulators.
    public var delta: PlanAccumulators
    /// The steps, readable by an operator.
    public var trace: [String]
}

/// The plan's pure decision for one settlement (decide, then write: no I/O).
public enum PlanDecision {
    /// The parts of one settled line the patient bears after the basic fund, in the order the plan's
    /// deductible is met: in-scope self-borne, first self-pay, over-limit, full self-pay.
    static func parts(_ line: SettledLine) -> [Money] {
        let split = line.split
        return [max(.zero, split.inScope - line.fundPaid), split.firstSelfPay, split.overLimit, split.fullSelfPay]
    }

    /// What `plan` pays of `lines` (already settled by the basic fund) for a person with `year` so far
    /// under it: nothing for a person not covered or an excluded item; otherwise each part, after what
    /// is left of the deductible, at its ratio, the total held to what is left of the annual cap (shared
    /// among the lines in proportion to what each would have got).
    public static func calculate(plan: CommercialPlan, covered: Bool, lines: [SettledLine], year: PlanAccumulators) -> PlanCalculation {
        guard covered else {
            return PlanCalculation(
                lines: lines.map { _ in .zero }, total: .zero, delta: .zero, trace: ["\(plan.name)：未参保本年度，不支付"])
        }
        let ratios = [plan.ratios.inScopeSelfBorne, plan.ratios.firstSelfPay, plan.ratios.overLimit, plan.ratios.fullSelfPay]
        var deductibleLeft = max(.zero, plan.deductible - year.deductibleMet)
        var met = Money.zero
        var trace: [String] = []
        var wanted: [Money] = []
        for line in lines {
            guard !plan.excludedItems.contains(line.split.itemCode) else {
                trace.append("\(line.split.lineNumber) \(line.split.itemName)：\(plan.name)除外项目")
                wanted.append(.zero)
                continue
            }
            var pays = Money.zero
            for (index, part) in parts(line).enumerated() where part.isPositive && ratios[index] > .zero {
                let absorbed = min(part, deductibleLeft)
                deductibleLeft -= absorbed
                met += absorbed
                pays += (part - absorbed).portion(ratios[index])
            }
            wanted.append(pays)
        }
        let capLeft = max(.zero, plan.annualCap - year.paid)
        let want = Money.sum(wanted)
        let total = min(want, capLeft)
        let paid = total == want ? wanted : Allocation.proportional(total, weights: wanted)
        if met.isPositive { trace.append("\(plan.name)免赔额：本次抵扣 \(met)，累计 \(year.deductibleMet + met) / \(plan.deductible)") }
        if total < want { trace.append("\(plan.name)年度限额 \(plan.annualCap)：已付 \(year.paid)，本次 \(want) 减为 \(total)") }
        trace.append("\(plan.name)支付 \(total)（其他支出 oth_pay）")
        return PlanCalculation(lines: paid, total: total, delta: PlanAccumulators(deductibleMet: met, paid: total), trace: trace)
    }

    /// What must hold of every plan calculation (empty when all hold): each line's share within what the
    /// patient bears of it, an excluded line paying nothing, the deductible never over-met, the annual cap
    /// kept, the total the sum of the lines.
    public static func violations(_ result: PlanCalculation, plan: CommercialPlan, lines: [SettledLine], year: PlanAccumulators) -> [String] {
        var found: [String] = []
        if result.lines.count != lines.count { found.append("one share per line") }
        for (share, line) in zip(result.lines, lines) {
            if share.isNegative || share > Money.sum(parts(line)) { found.append("line \(line.split.lineNumber) gets \(share)") }
            if plan.excludedItems.contains(line.split.itemCode) && share != .zero { found.append("excluded \(line.split.itemCode) paid") }
        }
        if Money.sum(result.lines) != result.total || result.delta.paid != result.total { found.append("the total is not the lines' sum") }
        if year.deductibleMet + result.delta.deductibleMet > max(plan.deductible, year.deductibleMet) { found.append("the deductible is over-met") }
        if year.paid <= plan.annualCap && year.paid + result.total > plan.annualCap { found.append("the annual cap is passed") }
        return found
    }
}

/// What a commercial plan paid in one settlement, refund or reversal, line by line: the claims data an
/// insurer audits (the `plan.claim` webhook event and the bureau's claims report). A refund or reversal
/// is a claim with negative amounts: what went back to the insurer.
public struct PlanClaim: Sendable, Hashable, Codable {
    /// One line the plan paid for (or gave back).
    public struct Line: Sendable, Hashable, Codable {
        /// The hospital's line number (`feedetl_sn`).
        public var lineNumber: String
        /// The national item code.
        public var itemCode: String
        /// The item's name.
        public var itemName: String
        /// The catalogue class (甲 A, 乙 B, 丙 C).
        public var itemClass: CatalogueClass
        /// The line's amount.
        public var amount: Money
        /// What the basic funds paid of it.
        public var basicFundPaid: Money
        /// What the plan paid of it.
        public var planPaid: Money
    }

    /// The settlement, refund or reversal (`setl_id`).
    public var settlementId: String
    /// Settlement, refund or reversal.
    public var kind: SettlementKind
    /// The settlement a refund or reversal undoes.
    public var originalId: String?
    /// The plan.
    public var planId: String
    /// The insurer.
    public var insurerCode: String
    /// The treating institution.
    public var institutionCode: String
    /// The patient (人员编号; no name or ID number).
    public var personNumber: String
    /// 医疗类别.
    public var category: MedicalCategory
    /// When it was settled.
    public var settledAt: Instant
    /// 医疗费总额 `medfee_sumamt`.
    public var totalAmount: Money
    /// The basic funds (`fund_pay_sumamt − oth_pay`).
    public var basicFundPaid: Money
    /// 其他支出 `oth_pay`: what the plan paid.
    public var planPaid: Money
    /// The lines the plan paid for.
    public var lines: [Line]

    /// The claim of a completed record, or nil when no plan paid (or gave back) anything in it.
    public static func of(_ record: SettlementRecord) -> PlanClaim? {
        guard record.state == .completed, let plan = record.plan, record.breakdown.otherFund != .zero else { return nil }
        return PlanClaim(
            settlementId: record.id, kind: record.kind, originalId: record.originalId, planId: plan.id, insurerCode: plan.insurerCode,
            institutionCode: record.institution.code, personNumber: record.personNumber, category: record.category, settledAt: record.settledAt,
            totalAmount: record.breakdown.totalAmount, basicFundPaid: record.breakdown.basicFundTotal, planPaid: record.breakdown.otherFund,
            lines: record.lines.filter { $0.planPaid != .zero }.map {
                Line(
                    lineNumber: $0.split.lineNumber, itemCode: $0.split.itemCode, itemName: $0.split.itemName, itemClass: $0.split.itemClass,
                    amount: $0.split.amount, basicFundPaid: $0.fundPaid - $0.planPaid, planPaid: $0.planPaid)
            })
    }
}
