/// The rules of one region × insurance type × year (统筹区 × 险种 × 年度): deductibles, ratios by hospital
/// level, the retiree bonus, annual caps and the tier above the basic cap, separately for the outpatient
/// and inpatient benefit pools. One policy file per region and year holds one `Policy` per insurance type.
public struct Policy: Sendable, Hashable, Codable {
    /// 统筹区: the insurance region the policy governs.
    public var region: RegionCode
    /// 险种类型.
    public var insuranceType: InsuranceType
    /// The policy year (calendar year in China Standard Time).
    public var year: Int
    /// A human title, e.g. "广州市职工基本医疗保险 2026".
    public var title: String
    /// Where each figure comes from (notice numbers, datasets).
    public var sources: [String]
    /// The outpatient pool (门诊统筹).
    public var outpatient: BenefitPool
    /// The inpatient pool (住院).
    public var inpatient: BenefitPool
    /// Ratios for care outside the region, as factors of the home ratio (异地就医).
    public var crossRegion: CrossRegionRule
    /// Family mutual-aid settings (家庭共济); nil means the region does not allow it.
    public var family: FamilyRule?
    /// Contributions this policy charges (缴费), by kind.
    public var premiums: [PremiumSchedule]?

    /// Creates a policy.
    public init(
        region: RegionCode, insuranceType: InsuranceType, year: Int, title: String, sources: [String],
        outpatient: BenefitPool, inpatient: BenefitPool, crossRegion: CrossRegionRule = .init(), family: FamilyRule? = nil,
        premiums: [PremiumSchedule]? = nil
    ) {
        self.premiums = premiums
        self.region = region
        self.insuranceType = insuranceType
        self.year = year
        self.title = title
        self.sources = sources
        self.outpatient = outpatient
        self.inpatient = inpatient
        self.crossRegion = crossRegion
        self.family = family
    }

    /// The pool a category draws on.
    public func pool(_ kind: BenefitPoolKind) -> BenefitPool { kind == .outpatient ? outpatient : inpatient }

    /// Checks the policy; returns the problems found as (field, message), empty when valid.
    public func problems() -> [(field: String, message: String)] {
        var found: [(String, String)] = []
        if !(2000...2100).contains(year) { found.append(("year", "year must be 2000 to 2100")) }
        if title.isEmpty { found.append(("title", "title must not be empty")) }
        found += outpatient.problems().map { ("outpatient." + $0.0, $0.1) }
        found += inpatient.problems().map { ("inpatient." + $0.0, $0.1) }
        for (name, factor) in [
            ("unfiled", crossRegion.unfiled), ("referral", crossRegion.referral), ("long_term_resident", crossRegion.longTermResident),
        ]
        where !factor.isProperFraction {
            found.append(("cross_region." + name, "a factor is 0 to 10000 basis points"))
        }
        for (index, schedule) in (premiums ?? []).enumerated() {
            let field = "premiums[\(index)]"
            if !schedule.amount.isPositive || schedule.amount > Money.requestAmountMax {
                found.append((field + ".amount", "a contribution is above 0 and at most 1000000000 fen"))
            }
            if schedule.kind.insuranceType != insuranceType {
                found.append((field + ".kind", "\(schedule.kind.rawValue) is not a contribution of insurance type \(insuranceType.rawValue)"))
            }
            if schedule.kind == .residentAnnual {
                guard let opens = schedule.opens, let closes = schedule.closes, opens <= closes else {
                    found.append((field + ".opens", "an annual contribution has an opening day on or before its closing day"))
                    continue
                }
            }
            if (premiums ?? [])[..<index].contains(where: { $0.kind == schedule.kind }) {
                found.append((field + ".kind", "\(schedule.kind.rawValue) appears twice"))
            }
        }
        return found
    }
}

/// One benefit pool's rules.
public struct BenefitPool: Sendable, Hashable, Codable {
    /// Whether the deductible is counted once per year (Lanzhou employee outpatient) or per visit /
    /// per stay (inpatient).
    public var deductibleScope: DeductibleScope
    /// Rules per hospital level, one per level at most. A level missing here, or with ratio 0, is not
    /// covered by this pool (e.g. Guangzhou residents' outpatient at level 2/3 hospitals).
    public var levels: [LevelRule]
    /// 封顶线: the most the basic fund pays from this pool in a year.
    public var annualCap: Money
    /// A different annual cap for retirees (Guangzhou employee outpatient: 10,000 instead of 8,000).
    public var retireeAnnualCap: Money?
    /// For `perVisit` inpatient deductibles: the deductible of the second and later stays in a year,
    /// as a factor of the first (Lanzhou: repeat stays pay less). Nil means every stay pays in full.
    public var repeatStayDeductibleFactor: Ratio?
    /// The tier above the basic cap (大额医疗补助 / 大病保险), if any.
    public var aboveCap: AboveCapTier?

    /// Creates a pool.
    public init(
        deductibleScope: DeductibleScope, levels: [LevelRule], annualCap: Money, retireeAnnualCap: Money? = nil,
        repeatStayDeductibleFactor: Ratio? = nil, aboveCap: AboveCapTier? = nil
    ) {
        self.deductibleScope = deductibleScope
        self.levels = levels
        self.annualCap = annualCap
        self.retireeAnnualCap = retireeAnnualCap
        self.repeatStayDeductibleFactor = repeatStayDeductibleFactor
        self.aboveCap = aboveCap
    }

    /// The rule at a hospital level, if the pool covers it.
    public func rule(at level: HospitalLevel) -> LevelRule? { levels.first { $0.level == level } }

    /// The annual cap for a person.
    public func annualCap(retired: Bool) -> Money { retired ? (retireeAnnualCap ?? annualCap) : annualCap }

    func problems() -> [(String, String)] {
        var found: [(String, String)] = []
        if annualCap.isNegative { found.append(("annual_cap", "must not be negative")) }
        if let cap = retireeAnnualCap, cap.isNegative { found.append(("retiree_annual_cap", "must not be negative")) }
        if let factor = repeatStayDeductibleFactor, !factor.isProperFraction {
            found.append(("repeat_stay_deductible_factor", "a factor is 0 to 10000 basis points"))
        }
        for (index, rule) in levels.enumerated() {
            let prefix = "levels[\(index)]."
            if levels[..<index].contains(where: { $0.level == rule.level }) {
                found.append((prefix + "level", "level \(rule.level.rawValue) appears twice"))
            }
            if rule.deductible.isNegative { found.append((prefix + "deductible", "must not be negative")) }
            if !rule.ratio.isProperFraction { found.append((prefix + "ratio", "a ratio is 0 to 10000 basis points")) }
            if !rule.retireeBonus.isProperFraction { found.append((prefix + "retiree_bonus", "a ratio is 0 to 10000 basis points")) }
        }
        if let tier = aboveCap { found += tier.problems().map { ("above_cap." + $0.0, $0.1) } }
        return found
    }
}

/// How often a deductible is paid.
public enum DeductibleScope: String, Sendable, Hashable, Codable {
    /// Once per calendar year, across visits.
    case perYear = "per_year"
    /// Once per visit (outpatient) or per stay (inpatient).
    case perVisit = "per_visit"
}

/// Deductible and ratio at one hospital level.
public struct LevelRule: Sendable, Hashable, Codable {
    /// The hospital level.
    public var level: HospitalLevel
    /// 起付线.
    public var deductible: Money
    /// 报销比例: the fund's share of the in-scope amount above the deductible.
    public var ratio: Ratio
    /// Added to the ratio for retirees (退休人员 +).
    public var retireeBonus: Ratio

    /// Creates a level rule.
    public init(level: HospitalLevel, deductible: Money, ratio: Ratio, retireeBonus: Ratio = .zero) {
        self.level = level
        self.deductible = deductible
        self.ratio = ratio
        self.retireeBonus = retireeBonus
    }
}

/// The tier after the basic fund: the employees' large-amount subsidy (大额医疗费用补助) or the
/// residents' catastrophic insurance (大病保险). It counts its base across the year and, after its own
/// deductible, pays band by band up to its annual cap. The base is what the scheme measures (`base`):
/// the large-amount subsidy takes the in-scope amount the basic fund no longer covers because its cap
/// is reached; catastrophic insurance takes the in-scope amount the person bore after the basic fund
/// (合规医疗费用中经基本医保支付后个人负担的部分: the deductible, the part above the fund's ratio, and
/// anything above the cap).
public struct AboveCapTier: Sendable, Hashable, Codable {
    /// What the tier is measured on.
    public enum Base: String, Sendable, Hashable, Codable {
        /// The in-scope amount above the basic fund's annual cap (the employees' large-amount subsidy).
        case aboveCap = "above_cap"
        /// The in-scope amount the person bore after the basic fund (the residents' catastrophic
        /// insurance): the year's in-scope total less what the basic fund paid.
        case selfBorneInScope = "self_borne_in_scope"
    }

    /// What the tier is measured on; `above_cap` when a policy file does not say.
    public var base: Base
    /// The tier's deductible on the year's cumulative base.
    public var deductible: Money
    /// Bands over the cumulative above-cap amount after the deductible, in order; the last band may
    /// have no upper bound.
    public var bands: [Band]
    /// The most the tier pays in a year, if limited.
    public var annualCap: Money?

    /// Creates a tier.
    public init(base: Base = .aboveCap, deductible: Money, bands: [Band], annualCap: Money? = nil) {
        self.base = base
        self.deductible = deductible
        self.bands = bands
        self.annualCap = annualCap
    }

    private enum CodingKeys: String, CodingKey { case base, deductible, bands, annualCap }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        base = try container.decodeIfPresent(Base.self, forKey: .base) ?? .aboveCap
        deductible = try container.decode(Money.self, forKey: .deductible)
        bands = try container.decode([Band].self, forKey: .bands)
        annualCap = try container.decodeIfPresent(Money.self, forKey: .annualCap)
    }

    /// One band (分段): amounts up to `upTo` (measured after the deductible) are paid at `ratio`.
    public struct Band: Sendable, Hashable, Codable {
        /// Upper bound of the band on the cumulative amount after the deductible; nil for the last band.
        public var upTo: Money?
        /// The fund's share within the band.
        public var ratio: Ratio

        /// Creates a band.
        public init(upTo: Money?, ratio: Ratio) {
            self.upTo = upTo
            self.ratio = ratio
        }
    }

    func problems() -> [(String, String)] {
        var found: [(String, String)] = []
        if deductible.isNegative { found.append(("deductible", "must not be negative")) }
        if bands.isEmpty { found.append(("bands", "at least one band is required")) }
        var previous = Money.zero
        for (index, band) in bands.enumerated() {
            if !band.ratio.isProperFraction { found.append(("bands[\(index)].ratio", "a ratio is 0 to 10000 basis points")) }
            if let bound = band.upTo {
                if bound <= previous { found.append(("bands[\(index)].up_to", "bands must increase")) }
                previous = bound
            } else if index != bands.count - 1 {
                found.append(("bands[\(index)].up_to", "only the last band may be open-ended"))
            }
        }
        return found
    }
}

/// Factors applied to the home region's ratio for care elsewhere (异地就医).
public struct CrossRegionRule: Sendable, Hashable, Codable {
    /// Unfiled ordinary care elsewhere (e.g. 70 %).
    public var unfiled: Ratio
    /// Filed referrals (e.g. 90 %).
    public var referral: Ratio
    /// Filed long-term residents (e.g. 100 %).
    public var longTermResident: Ratio

    /// Creates a rule; defaults pay the full home ratio.
    public init(unfiled: Ratio = .whole, referral: Ratio = .whole, longTermResident: Ratio = .whole) {
        self.unfiled = unfiled
        self.referral = referral
        self.longTermResident = longTermResident
    }

    /// The factor for a person's filing.
    public func factor(for filing: CrossRegionFiling) -> Ratio {
        switch filing {
        case .none: return unfiled
        case .referral: return referral
        case .longTermResident: return longTermResident
        }
    }
}

/// Family mutual-aid settings of a region (家庭共济).
public struct FamilyRule: Sendable, Hashable, Codable {
    /// Whether a person may belong to only one mutual-aid family account at a time.
    public var singleFamilyOnly: Bool
    /// Whether an employee's personal account may repay their medical credit line (信用就医).
    public var accountMayRepayCredit: Bool

    /// Creates family settings.
    public init(singleFamilyOnly: Bool = true, accountMayRepayCredit: Bool = true) {
        self.singleFamilyOnly = singleFamilyOnly
        self.accountMayRepayCredit = accountMayRepayCredit
    }
}
