import YibaoCore

/// Small builders for engine tests: a person, an institution, a catalogue item, a policy.
enum Fixtures {
    static let guangzhou = RegionCode("440100")!
    static let lanzhou = RegionCode("620100")!

    static func person(
        region: RegionCode = guangzhou, type: InsuranceType = .employee, retired: Bool = false, status: InsuranceStatus = .active,
        filing: CrossRegionFiling = .none
    ) -> Person {
        Person(
            number: "P0001", name: "张三", idNumber: "440106199001011234", birthDate: CivilDate(year: 1990, month: 1, day: 1)!,
            region: region, insuranceType: type, retired: retired, status: status, crossRegionFiling: filing
        )
    }

    static func institution(level: HospitalLevel, region: RegionCode = guangzhou) -> Institution {
        Institution(code: "H0001", name: "测试医院", region: region, level: level)
    }

    static func item(_ itemClass: CatalogueClass, code: String = "X", cap: Money? = nil, firstSelfPay: Ratio = .zero) -> CatalogueItem {
        CatalogueItem(
            region: guangzhou, code: code, name: "item \(code)", category: .drug, itemClass: itemClass, priceCap: cap,
            firstSelfPayRatio: firstSelfPay
        )
    }

    /// One line of `quantity` units at `price` yuan-fen.
    static func line(_ item: CatalogueItem, price: Money, quantity: Int64 = 1, number: String = "1") -> LineSplit {
        LineSplit.split(FeeLine(lineNumber: number, itemCode: item.code, unitPrice: price, quantity: Quantity(units: quantity)), item: item)
    }

    static func pool(
        scope: DeductibleScope = .perVisit, deductible: Money = .zero, ratio: Ratio = Ratio(percent: 80), retireeBonus: Ratio = .zero,
        cap: Money = .yuan(1_000_000), retireeCap: Money? = nil, levels: [HospitalLevel] = HospitalLevel.allCases,
        repeatFactor: Ratio? = nil, tier: AboveCapTier? = nil
    ) -> BenefitPool {
        BenefitPool(
            deductibleScope: scope,
            levels: levels.map { LevelRule(level: $0, deductible: deductible, ratio: ratio, retireeBonus: retireeBonus) },
            annualCap: cap, retireeAnnualCap: retireeCap, repeatStayDeductibleFactor: repeatFactor, aboveCap: tier
        )
    }

    static func policy(
        region: RegionCode = guangzhou, type: InsuranceType = .employee, outpatient: BenefitPool = pool(), inpatient: BenefitPool = pool(),
        crossRegion: CrossRegionRule = CrossRegionRule(unfiled: Ratio(percent: 70), referral: Ratio(percent: 90), longTermResident: .whole)
    ) -> Policy {
        Policy(
            region: region, insuranceType: type, year: 2026, title: "test policy", sources: ["test"], outpatient: outpatient,
            inpatient: inpatient, crossRegion: crossRegion
        )
    }

    static func input(
        _ lines: [LineSplit], person: Person = person(), level: HospitalLevel = .level3, treatedIn: RegionCode? = nil,
        policy: Policy? = nil, category: MedicalCategory = .ordinaryInpatient, accumulators: PoolAccumulators = .zero,
        useAccount: Bool = true, balance: Money = .zero, mutualAid: Money = .zero, plan: PlanCover? = nil
    ) -> SettlementInput {
        SettlementInput(
            lines: lines, person: person.insured, institution: institution(level: level, region: treatedIn ?? person.region),
            policy: policy ?? Fixtures.policy(region: person.region, type: person.insuranceType), category: category,
            accumulators: accumulators, useAccount: useAccount, accountBalance: balance, mutualAidAvailable: mutualAid, plan: plan
        )
    }
}
