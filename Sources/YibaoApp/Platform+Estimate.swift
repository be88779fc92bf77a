import YibaoCore
import YibaoStore

/// What a reimbursement estimate (报销测算) is asked about: where, what kind of care, and the items —
/// by catalogue code as a hospital would send them, or as amounts per catalogue class when the patient
/// knows only roughly what the bill will hold.
public struct EstimateRequest: Sendable, Hashable, Codable {
    /// An amount of one catalogue class (甲 / 乙 / 丙).
    public struct ClassAmount: Sendable, Hashable, Codable {
        /// The class.
        public var itemClass: CatalogueClass
        /// Fen.
        public var amount: Money

        /// Creates an amount.
        public init(itemClass: CatalogueClass, amount: Money) {
            self.itemClass = itemClass
            self.amount = amount
        }
    }

    /// 定点医药机构编号 `fixmedins_code`: its level and region decide the rule.
    public var institutionCode: String
    /// 医疗类别 `med_type`.
    public var category: MedicalCategory
    /// Items by catalogue code, priced as a visit's lines.
    public var lines: [FeeLine]?
    /// Amounts per class.
    public var amounts: [ClassAmount]?
    /// 个人账户使用标志; default true.
    public var useAccount: Bool?

    /// Creates a request.
    public init(institutionCode: String, category: MedicalCategory, lines: [FeeLine]? = nil, amounts: [ClassAmount]? = nil, useAccount: Bool? = nil) {
        self.institutionCode = institutionCode
        self.category = category
        self.lines = lines
        self.amounts = amounts
        self.useAccount = useAccount
    }
}

/// A reimbursement estimate: what the fund, the account and cash would pay this year for these items
/// given the year's figures so far — the settlement engine's answer with nothing locked or written —
/// and the assumptions it made.
public struct Estimate: Sendable, Hashable, Codable {
    /// The person.
    public var personNumber: String
    /// Where.
    public var institution: InstitutionSummary
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
    /// What the estimate assumed: the year's figures and the personal account now, the prices sent,
    /// how amounts given per class were priced.
    public var assumptions: [EstimateAssumption]
}

extension Platform {
    /// The most amounts per class an estimate takes.
    public static let estimateAmountsMax = 3

    /// Estimates what a settlement of these items would pay now (报销测算): the same engine, the person's
    /// policy, the year's accumulators and the account balance as they stand; nothing is locked or
    /// written. Items given as amounts per class are priced as one line each: class A wholly in scope,
    /// class B with the region's most common first self-pay ratio, class C wholly self-paid.
    public func estimate(person number: String, _ request: EstimateRequest) async throws -> Estimate {
        let lines = request.lines ?? []
        let amounts = request.amounts ?? []
        guard !lines.isEmpty || !amounts.isEmpty else { throw Refusal.invalid("lines", "send the items (lines) or amounts per class (amounts)") }
        guard amounts.count <= Platform.estimateAmountsMax, Set(amounts.map(\.itemClass)).count == amounts.count else {
            throw Refusal.invalid("amounts", "at most one amount per class (A, B, C)")
        }
        for (index, amount) in amounts.enumerated() where !amount.amount.isPositive || amount.amount > FeeLine.unitPriceMax {
            throw Refusal.invalid("amounts[\(index)].amount", "an amount is more than zero and at most \(FeeLine.unitPriceMax)")
        }
        try Platform.validate(lines, existing: [])
        let reference = self.reference
        return try await read { db, now in
            guard let institution = try reference.institution(request.institutionCode, now: now, in: db) else {
                throw Refusal(.unknownInstitution, "no designated institution \(request.institutionCode)", field: "institution_code")
            }
            guard let person = try db.fetch(PeopleRepository.insured(number: number)) else {
                throw Refusal(.unknownPerson, "no enrolled person has number \(number)", field: "person_number")
            }
            let (policy, year) = try Platform.policy(of: person, reference: reference, now: now, in: db)
            var priced = try Platform.price(lines, region: institution.region, firstIndex: 0, reference: reference, now: now, in: db)
            var assumptions = [
                EstimateAssumption(
                    code: "year_figures_now",
                    detail: "the year's figures and the personal account as they stand now; a settlement in between changes them")
            ]
            if !lines.isEmpty {
                assumptions.append(
                    EstimateAssumption(code: "prices_as_sent", detail: "the prices are those sent; a price above an item's cap is self-paid above it")
                )
            }
            if !amounts.isEmpty {
                let catalogue = try reference.catalogue(institution.region, now: now, in: db)
                let classB = EstimateAssumptions.commonFirstSelfPay(catalogue.values.filter { $0.itemClass == .b }.map(\.firstSelfPayRatio))
                for (index, amount) in amounts.enumerated() {
                    let item = CatalogueItem(
                        region: institution.region, code: "CLASS-\(amount.itemClass.rawValue)", name: "\(amount.itemClass.rawValue) 类合计",
                        category: .service, itemClass: amount.itemClass, firstSelfPayRatio: amount.itemClass == .b ? classB : .zero)
                    let line = FeeLine(lineNumber: "amount-\(index + 1)", itemCode: item.code, unitPrice: amount.amount, quantity: Quantity(units: 1))
                    priced.append(LineSplit.split(line, item: item))
                }
                assumptions += EstimateAssumptions.classAmounts(classB: classB, given: amounts.map(\.itemClass))
            }
            let accumulators = try AccumulatorRepository.read(person: person.number, year: year, pool: request.category.pool, in: db)
            let balance = try LedgerRepository.balance(.personal(person.number), in: db)
            let plan = try Platform.planCover(of: person, year: year, reference: reference, now: now, in: db)
            if let plan {
                assumptions.append(
                    plan.covered
                        ? EstimateAssumption(
                            code: "commercial_plan_enrolled", detail: "\(plan.plan.name) pays its share: the person is enrolled for \(year)")
                        : EstimateAssumption(
                            code: "commercial_plan_not_enrolled",
                            detail: "\(plan.plan.name) pays nothing: the person is not enrolled for \(year) (joining is paying its premium)"))
            }
            let calculation = try SettlementEngine.calculate(
                SettlementInput(
                    lines: priced, person: person, institution: institution, policy: policy, category: request.category,
                    accumulators: accumulators, useAccount: request.useAccount ?? true, accountBalance: balance.available, plan: plan))
            return Estimate(
                personNumber: person.number, institution: InstitutionSummary(institution), policyTitle: policy.title, year: year,
                breakdown: calculation.breakdown, lines: calculation.lines, details: calculation.details, trace: calculation.trace,
                assumptions: assumptions)
        }
    }

    /// A person's policy for the year of `now`.
    static func policy(of person: Insured, reference: ReferenceCache, now: Instant, in db: any SQLExecutor) throws -> (Policy, Int) {
        let year = ChinaTime.date(now).year
        guard let policy = try reference.policy(region: person.region, type: person.insuranceType, year: year, now: now, in: db) else {
            throw Refusal(.noPolicy, "no \(person.insuranceType.rawValue) policy is configured for region \(person.region) in \(year)")
        }
        return (policy, year)
    }
}
