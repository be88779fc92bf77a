/// Everything the engine needs for one settlement. Reading these (under lock) is the store's job;
/// the engine itself is a pure function.
public struct SettlementInput: Sendable {
    /// The visit's priced lines.
    public var lines: [LineSplit]
    /// The patient's cover (who they are plays no part in the split).
    public var person: Insured
    /// The treating institution.
    public var institution: Institution
    /// The patient's home-region policy for the settlement year (参保地政策).
    public var policy: Policy
    /// 医疗类别.
    public var category: MedicalCategory
    /// Year-to-date accumulators of the pool the category draws on.
    public var accumulators: PoolAccumulators
    /// 个人账户使用标志 `acct_used_flag`.
    public var useAccount: Bool
    /// The patient's own personal-account balance available now.
    public var accountBalance: Money
    /// What a bound family member's account can contribute (家庭共济); zero without mutual aid.
    public var mutualAidAvailable: Money
    /// The commercial plan of the patient's region and year, and whether the patient is in it; nil when
    /// the region has none.
    public var plan: PlanCover?

    /// Creates an input.
    public init(
        lines: [LineSplit], person: Insured, institution: Institution, policy: Policy, category: MedicalCategory,
        accumulators: PoolAccumulators, useAccount: Bool, accountBalance: Money, mutualAidAvailable: Money = .zero, plan: PlanCover? = nil
    ) {
        self.lines = lines
        self.person = person
        self.institution = institution
        self.policy = policy
        self.category = category
        self.accumulators = accumulators
        self.useAccount = useAccount
        self.accountBalance = accountBalance
        self.mutualAidAvailable = mutualAidAvailable
        self.plan = plan
    }
}

/// The engine's result: the breakdown, the per-line splits with each payer's share, the fund details,
/// the accumulator delta and the calculation trace.
public struct SettlementCalculation: Sendable, Hashable, Codable {
    /// The national buckets.
    public var breakdown: SettlementBreakdown
    /// Each line with what the fund, the account and cash paid of it.
    public var lines: [SettledLine]
    /// 基金分项 `setldetail`.
    public var details: [FundDetail]
    /// What to add to the pool's year-to-date accumulators.
    public var accumulatorDelta: PoolAccumulators
    /// The benefit pool used.
    public var pool: BenefitPoolKind
    /// The patient's own account part (`acct_pay − acct_mulaid_pay`).
    public var ownAccountPaid: Money { breakdown.accountPaid - breakdown.mutualAidPaid }
    /// 结算过程信息: the steps, in order, readable by an operator.
    public var trace: [String]

    /// Creates a calculation (the engine's result, or one rebuilt from a stored record).
    public init(
        breakdown: SettlementBreakdown, lines: [SettledLine], details: [FundDetail], accumulatorDelta: PoolAccumulators, pool: BenefitPoolKind,
        trace: [String]
    ) {
        self.breakdown = breakdown
        self.lines = lines
        self.details = details
        self.accumulatorDelta = accumulatorDelta
        self.pool = pool
        self.trace = trace
    }
}

/// A settled line: the line's split and what each payer paid of it.
public struct SettledLine: Sendable, Hashable, Codable {
    /// The line's split into the national buckets.
    public var split: LineSplit
    /// What the funds paid of this line (a commercial plan's share included).
    public var fundPaid: Money
    /// What a commercial plan paid of this line (part of `fundPaid`): the insurer's claims data.
    public var planPaid: Money
    /// What the personal account (own and mutual aid) paid of this line.
    public var accountPaid: Money
    /// What cash paid of this line.
    public var cashPaid: Money

    /// Creates a settled line.
    public init(split: LineSplit, fundPaid: Money, accountPaid: Money, cashPaid: Money, planPaid: Money = .zero) {
        self.split = split
        self.fundPaid = fundPaid
        self.planPaid = planPaid
        self.accountPaid = accountPaid
        self.cashPaid = cashPaid
    }

    private enum CodingKeys: String, CodingKey { case split, fundPaid, planPaid, accountPaid, cashPaid }

    /// Decodes a line; one stored before commercial plans paid has no plan share.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            split: try container.decode(LineSplit.self, forKey: .split), fundPaid: try container.decode(Money.self, forKey: .fundPaid),
            accountPaid: try container.decode(Money.self, forKey: .accountPaid), cashPaid: try container.decode(Money.self, forKey: .cashPaid),
            planPaid: try container.decodeIfPresent(Money.self, forKey: .planPaid) ?? .zero)
    }
}

/// The settlement engine (reference §6.2): a pure function from a visit, a person, an institution,
/// a policy and the year so far, to the split of the bill between the funds, the personal account and
/// cash. See docs/settlement-engine.md for each step with the national field it fills.
public enum SettlementEngine {
    /// Settles (or pre-settles: the engine does not know the difference) one visit, and asserts —
    /// in production too — that the result has no `violations`.
    public static func calculate(_ input: SettlementInput) throws(Refusal) -> SettlementCalculation {
        let calculation = try evaluate(input)
        let found = violations(calculation, of: input)
        precondition(found.isEmpty, "settlement engine result violates: \(found.joined(separator: "; "))")
        return calculation
    }

    /// What must hold of every calculation, as words (empty when all hold): the national identities,
    /// no negative bucket, the basic funds at most the in-scope amount, a commercial plan's share of each
    /// line within what the patient would bear of it, the plan within its annual cap and paying nothing
    /// for a person not in it, the basic fund within its annual cap,
    /// the account at most what is available, the balance after, the per-line shares adding up to the
    /// buckets, a non-negative accumulator delta. `calculate` asserts it; tests report it with their seed.
    public static func violations(_ calculation: SettlementCalculation, of input: SettlementInput) -> [String] {
        var found: [String] = []
        let b = calculation.breakdown
        if let broken = b.brokenIdentity() { found.append(broken) }
        if !b.hasNoNegativeBucket { found.append("a bucket is negative") }
        if b.basicFundTotal > b.inScope { found.append("the basic funds pay \(b.basicFundTotal), more than the in-scope \(b.inScope)") }
        if b.otherFund.isPositive {
            if let cover = input.plan, cover.pays(in: calculation.pool) {
                let year = input.accumulators.plan
                if year.paid <= cover.plan.annualCap && year.paid + b.otherFund > cover.plan.annualCap {
                    found.append("the plan passes its annual cap \(cover.plan.annualCap)")
                }
            } else {
                found.append("a plan pays \(b.otherFund) for a person not in it")
            }
        }
        if calculation.accumulatorDelta.planPaid != b.otherFund { found.append("the plan's accumulator delta is not what it paid") }
        for line in calculation.lines where line.fundPaid.isNegative || line.fundPaid > line.split.amount {
            found.append("line \(line.split.lineNumber) gets \(line.fundPaid) from the funds of its \(line.split.amount)")
        }
        let cap = input.policy.pool(calculation.pool).annualCap(retired: input.person.retired)
        if input.accumulators.basicFundPaid <= cap && input.accumulators.basicFundPaid + b.pooledFund > cap {
            found.append("the basic fund passes its annual cap \(cap)")
        }
        if b.accountPaid > input.accountBalance + input.mutualAidAvailable { found.append("the account pays more than is available") }
        if b.accountBalanceAfter != input.accountBalance - calculation.ownAccountPaid { found.append("the balance after is wrong") }
        if Money.sum(calculation.lines.map(\.fundPaid)) != b.fundTotal { found.append("the lines' fund shares do not add up") }
        if Money.sum(calculation.lines.map(\.planPaid)) != b.otherFund { found.append("the lines' plan shares do not add up") }
        if Money.sum(calculation.lines.map(\.accountPaid)) != b.accountPaid { found.append("the lines' account shares do not add up") }
        if Money.sum(calculation.lines.map(\.cashPaid)) != b.cashPaid { found.append("the lines' cash shares do not add up") }
        if Money.sum(calculation.lines.map(\.split.amount)) != b.totalAmount { found.append("the lines do not add up to the total") }
        if !calculation.accumulatorDelta.isNonNegative { found.append("the accumulator delta is negative") }
        return found
    }

    /// The calculation of `calculate` without the final assertion: property tests call it so that a
    /// violation is reported with its seed instead of ending the test process.
    public static func evaluate(_ input: SettlementInput) throws(Refusal) -> SettlementCalculation {
        guard !input.lines.isEmpty else { throw Refusal(.noFeeLines, "a visit needs at least one fee line to settle") }
        guard input.person.status == .active else {
            throw Refusal(.personNotInsured, "the person's insurance is \(input.person.status.rawValue); benefits cannot be paid")
        }
        precondition(
            input.policy.region == input.person.region && input.policy.insuranceType == input.person.insuranceType, "policy must be the person's")
        precondition(!input.accountBalance.isNegative && !input.mutualAidAvailable.isNegative, "balances are never negative")
        var trace: [String] = []

        // 1. Buckets (I1).
        let total = Money.sum(input.lines.map(\.amount))
        let fullSelfPay = Money.sum(input.lines.map(\.fullSelfPay))
        let overLimit = Money.sum(input.lines.map(\.overLimit))
        let firstSelfPay = Money.sum(input.lines.map(\.firstSelfPay))
        let inScope = Money.sum(input.lines.map(\.inScope))
        trace.append(
            "费用 fees \(total): 全自费 full self-pay \(fullSelfPay), 超限价 over limit \(overLimit), 先行自付 first self-pay \(firstSelfPay), 政策范围内 in scope \(inScope)"
        )

        // 2. The rule of the pool at this hospital level.
        let poolKind = input.category.pool
        let pool = input.policy.pool(poolKind)
        let level = input.institution.level
        let rule = pool.rule(at: level)
        let crossRegion = input.person.region != input.institution.region
        var ratio = Ratio.zero
        if let rule, rule.ratio > .zero {
            ratio = rule.ratio
            if input.person.retired && rule.retireeBonus > .zero {
                ratio = ratio.adding(rule.retireeBonus)
                trace.append("退休 retiree: ratio \(rule.ratio) + \(rule.retireeBonus) = \(ratio)")
            }
            if crossRegion {
                let factor = input.policy.crossRegion.factor(for: input.person.crossRegionFiling)
                let scaled = ratio.scaled(by: factor)
                trace.append(
                    "异地就医 cross-region (\(input.person.region) treated in \(input.institution.region), filing \(input.person.crossRegionFiling.rawValue)): \(ratio) × \(factor) = \(scaled)"
                )
                ratio = scaled
            }
        }
        let covered = ratio > .zero

        // 3. Deductible (起付线).
        var deductible = Money.zero
        if let rule, covered {
            switch pool.deductibleScope {
            case .perYear:
                deductible = (rule.deductible - input.accumulators.deductiblePaid).clampedAtZero
                trace.append("起付线 deductible \(rule.deductible) per year, \(input.accumulators.deductiblePaid) already paid: \(deductible) due")
            case .perVisit:
                deductible = rule.deductible
                let earlier = input.accumulators.visitsByLevel[level]
                if poolKind == .inpatient, earlier > 0, let factor = pool.repeatStayDeductibleFactor {
                    deductible = rule.deductible.portion(factor)
                    trace.append(
                        "起付线 deductible \(rule.deductible) per stay; stay \(earlier + 1) this year at level \(level.rawValue) pays \(factor): \(deductible)"
                    )
                } else {
                    trace.append("起付线 deductible \(deductible) per \(poolKind == .inpatient ? "stay" : "visit")")
                }
            }
        } else {
            trace.append("\(poolKind.rawValue) care at level \(level.rawValue) is not covered by \(input.policy.title): the fund pays nothing")
        }
        let deductiblePaid = min(inScope, deductible)
        let eligible = inScope - deductiblePaid

        // 4. The basic fund, up to the annual cap (封顶线).
        let uncapped = eligible.portion(ratio)
        let cap = pool.annualCap(retired: input.person.retired)
        let remainingCap = (cap - input.accumulators.basicFundPaid).clampedAtZero
        let pooledFund = min(uncapped, remainingCap)
        var aboveCapAmount = Money.zero
        if covered {
            trace.append(
                "统筹基金 basic fund: (\(inScope) − \(deductiblePaid)) × \(ratio) = \(uncapped); annual cap \(cap), \(input.accumulators.basicFundPaid) paid, \(remainingCap) left"
            )
            if pooledFund < uncapped {
                let coveredEligible = min(eligible, Money(fen: Rounding.divideRoundingUp(pooledFund.fen, times: Ratio.one, by: ratio.basisPoints)))
                aboveCapAmount = eligible - coveredEligible
                trace.append("封顶 cap reached: the fund pays \(pooledFund); \(aboveCapAmount) of the in-scope amount is above the cap")
            }
        }

        // 5. The tier after the basic fund (大额 / 大病), band by band on the year's cumulative base: the
        // above-cap amount, or the in-scope amount the person bore after the basic fund.
        var tierPaid = Money.zero
        var tierRemaining: Money? = nil
        let tierBase: Money
        let tierBaseBefore: Money
        switch pool.aboveCap?.base {
        case .selfBorneInScope:
            tierBase = inScope - pooledFund
            tierBaseBefore = (input.accumulators.inScopeTotal - input.accumulators.basicFundPaid).clampedAtZero
        case .aboveCap, nil:
            tierBase = aboveCapAmount
            tierBaseBefore = input.accumulators.aboveCapAmount
        }
        if tierBase.isPositive, let tier = pool.aboveCap {
            let before = tierBaseBefore
            let after = before + tierBase
            let start = (before - tier.deductible).clampedAtZero
            let end = (after - tier.deductible).clampedAtZero
            var lower = Money.zero
            var steps: [String] = []
            for band in tier.bands {
                let upper = band.upTo
                let from = max(start, lower)
                let to = upper.map { min(end, $0) } ?? end
                if to > from {
                    let paid = (to - from).portion(band.ratio)
                    tierPaid += paid
                    steps.append("\(to - from) × \(band.ratio) = \(paid)")
                }
                guard let upper else { break }
                lower = upper
            }
            if let tierCap = tier.annualCap {
                let left = (tierCap - input.accumulators.aboveCapFundPaid).clampedAtZero
                tierRemaining = left
                if tierPaid > left {
                    steps.append("tier cap \(tierCap): \(left) left")
                    tierPaid = left
                }
            }
            let measured = tier.base == .aboveCap ? "above-cap amount" : "in-scope amount borne after the basic fund"
            trace.append(
                "\(input.person.insuranceType == .employee ? "大额医疗补助 large-amount subsidy" : "大病保险 catastrophic insurance"): \(measured) this year \(before) → \(after), tier deductible \(tier.deductible); "
                    + (steps.isEmpty ? "nothing payable yet" : steps.joined(separator: " + ")) + " → \(tierPaid)")
        } else if aboveCapAmount.isPositive {
            trace.append("no tier above the cap in this pool: \(aboveCapAmount) is the person's")
        }

        // 6. A commercial plan (其他支出 `oth_pay`): of what each line leaves the patient after the basic
        // funds (shared by in-scope amount, as in step 8), its own deductible, ratios and cap.
        let basicShares = Allocation.proportional(pooledFund + tierPaid, weights: input.lines.map(\.inScope))
        var planShares = input.lines.map { _ in Money.zero }
        var planDelta = PlanAccumulators.zero
        if let cover = input.plan, cover.plan.pools.contains(poolKind) {
            let afterBasic = zip(input.lines, basicShares).map { SettledLine(split: $0, fundPaid: $1, accountPaid: .zero, cashPaid: $0.amount - $1) }
            let planned = PlanDecision.calculate(plan: cover.plan, covered: cover.covered, lines: afterBasic, year: input.accumulators.plan)
            planShares = planned.lines
            planDelta = planned.delta
            trace.append(contentsOf: planned.trace.map { "商业保险 " + $0 })
        }
        let planPaid = Money.sum(planShares)

        // 7. Totals, then the personal account (own first, then family mutual aid), then cash.
        let fundTotal = pooledFund + tierPaid + planPaid
        let hospitalBorne = Money.zero
        let personTotal = total - fundTotal - hospitalBorne
        var ownAccount = Money.zero
        var mutualAid = Money.zero
        if input.useAccount {
            ownAccount = min(input.accountBalance, personTotal)
            mutualAid = min(input.mutualAidAvailable, personTotal - ownAccount)
            trace.append(
                "个人账户 personal account: balance \(input.accountBalance) pays \(ownAccount)"
                    + (mutualAid.isPositive ? "; 共济 family mutual aid pays \(mutualAid)" : ""))
        } else {
            trace.append("个人账户 personal account not used (acct_used_flag 0)")
        }
        let accountPaid = ownAccount + mutualAid
        let cash = personTotal - accountPaid
        trace.append("个人负担 person pays \(personTotal): account \(accountPaid), cash \(cash)")

        let breakdown = SettlementBreakdown(
            totalAmount: total, fullSelfPay: fullSelfPay, overLimitSelfPay: overLimit, firstSelfPay: firstSelfPay,
            inScope: inScope, deductiblePaid: deductiblePaid, pooledFund: pooledFund,
            largeAmountFund: input.person.insuranceType == .employee ? tierPaid : .zero,
            catastrophicFund: input.person.insuranceType == .resident ? tierPaid : .zero, civilServantFund: .zero,
            medicalAssistanceFund: .zero, otherFund: planPaid, fundTotal: fundTotal, personTotal: personTotal,
            accountPaid: accountPaid, mutualAidPaid: mutualAid, cashPaid: cash, hospitalBorne: hospitalBorne,
            accountBalanceAfter: input.accountBalance - ownAccount, fundRatio: ratio
        )

        // 8. What each payer paid of each line: the basic funds by in-scope amount plus the plan's share,
        // the account by what the person bears of the line, cash the rest.
        let fundShares = zip(basicShares, planShares).map { $0 + $1 }
        let personShares = zip(input.lines, fundShares).map { $0.amount - $1 }
        let accountShares = Allocation.proportional(accountPaid, weights: personShares)
        let lines = input.lines.indices.map { index in
            SettledLine(
                split: input.lines[index], fundPaid: fundShares[index], accountPaid: accountShares[index],
                cashPaid: personShares[index] - accountShares[index], planPaid: planShares[index]
            )
        }

        var details = [
            FundDetail(
                fundType: input.person.insuranceType.pooledFundType, inScope: inScope, remainingLimit: remainingCap,
                amount: pooledFund, trace: trace.filter { $0.hasPrefix("起付线") || $0.hasPrefix("统筹") || $0.hasPrefix("封顶") }.joined(separator: "; ")
            )
        ]
        if tierPaid.isPositive || (tierBase.isPositive && pool.aboveCap != nil) {
            details.append(
                FundDetail(
                    fundType: input.person.insuranceType.aboveCapFundType, inScope: tierBase, remainingLimit: tierRemaining,
                    amount: tierPaid, trace: trace.first { $0.hasPrefix("大额") || $0.hasPrefix("大病") } ?? ""
                )
            )
        }
        if let cover = input.plan, cover.pays(in: poolKind) {
            details.append(
                FundDetail(
                    fundType: .otherFund, inScope: Money.sum(input.lines.map(\.amount)) - pooledFund - tierPaid,
                    remainingLimit: (cover.plan.annualCap - input.accumulators.planPaid).clampedAtZero, amount: planPaid,
                    trace: trace.filter { $0.hasPrefix("商业保险") }.joined(separator: "; ")
                )
            )
        }
        if accountPaid.isPositive {
            details.append(
                FundDetail(
                    fundType: .employeeAccount, inScope: .zero, remainingLimit: nil, amount: accountPaid,
                    trace: trace.first { $0.hasPrefix("个人账户") } ?? ""
                )
            )
        }

        let delta = PoolAccumulators(
            deductiblePaid: deductiblePaid, basicFundPaid: pooledFund, aboveCapAmount: aboveCapAmount,
            aboveCapFundPaid: tierPaid, inScopeTotal: inScope, visits: 1, visitsByLevel: .one(level), planDeductibleMet: planDelta.deductibleMet,
            planPaid: planDelta.paid
        )
        return SettlementCalculation(breakdown: breakdown, lines: lines, details: details, accumulatorDelta: delta, pool: poolKind, trace: trace)
    }
}
