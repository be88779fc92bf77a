/// An insured person (参保人). Name, ID number and phone are personal data: the store encrypts them
/// at rest and nothing logs them.
public struct Person: Sendable, Hashable, Codable {
    /// 人员编号 `psn_no`: the platform's number for the person.
    public var number: String
    /// 姓名 `psn_name`.
    public var name: String
    /// 证件号码 `certno` (resident ID number).
    public var idNumber: String
    /// 出生日期 `brdy`.
    public var birthDate: CivilDate
    /// 参保地医保区划 `insuplc_admdvs`: the region whose policy applies.
    public var region: RegionCode
    /// 险种类型 `insutype`.
    public var insuranceType: InsuranceType
    /// Retired (退休), which adds the policy's retiree bonus to ratios.
    public var retired: Bool
    /// 参保状态 `psn_insu_stas`.
    public var status: InsuranceStatus
    /// Filing for care outside the insurance region (异地就医备案), which sets the cross-region ratio.
    public var crossRegionFiling: CrossRegionFiling
    /// Mobile phone number, for notifications and sign-in.
    public var phone: String?

    /// Creates a person.
    public init(
        number: String, name: String, idNumber: String, birthDate: CivilDate, region: RegionCode,
        insuranceType: InsuranceType, retired: Bool = false, status: InsuranceStatus = .active,
        crossRegionFiling: CrossRegionFiling = .none, phone: String? = nil
    ) {
        self.number = number
        self.name = name
        self.idNumber = idNumber
        self.birthDate = birthDate
        self.region = region
        self.insuranceType = insuranceType
        self.retired = retired
        self.status = status
        self.crossRegionFiling = crossRegionFiling
        self.phone = phone
    }

    /// National person type (人员类别 `psn_type`): 1101 employee in service, 1201 retired employee,
    /// 1501 resident.
    public var personType: String {
        switch insuranceType {
        case .employee: return retired ? "1201" : "1101"
        case .resident: return "1501"
        }
    }

    /// A person: their cover, and who they are.
    public init(_ insured: Insured, name: String, idNumber: String, birthDate: CivilDate, phone: String?) {
        self.init(
            number: insured.number, name: name, idNumber: idNumber, birthDate: birthDate, region: insured.region,
            insuranceType: insured.insuranceType, retired: insured.retired, status: insured.status,
            crossRegionFiling: insured.crossRegionFiling, phone: phone)
    }

    /// What the person's cover is, without who they are.
    public var insured: Insured {
        Insured(
            number: number, region: region, insuranceType: insuranceType, retired: retired, status: status, crossRegionFiling: crossRegionFiling)
    }
}

/// A person as their cover sees them: everything the settlement engine decides on, and nothing of who
/// they are (no name, ID number, birth date or phone). A settlement reads this, and opens only the
/// sealed name for the masked name on its record, so the patient's ID number and phone are never
/// decrypted to settle a visit.
public struct Insured: Sendable, Hashable {
    /// 人员编号 `psn_no`.
    public var number: String
    /// 参保地医保区划 `insuplc_admdvs`: the region whose policy applies.
    public var region: RegionCode
    /// 险种类型 `insutype`.
    public var insuranceType: InsuranceType
    /// Retired (退休), which adds the policy's retiree bonus to ratios.
    public var retired: Bool
    /// 参保状态 `psn_insu_stas`.
    public var status: InsuranceStatus
    /// Filing for care outside the insurance region (异地就医备案), which sets the cross-region ratio.
    public var crossRegionFiling: CrossRegionFiling

    /// Creates the cover of a person.
    public init(
        number: String, region: RegionCode, insuranceType: InsuranceType, retired: Bool = false, status: InsuranceStatus = .active,
        crossRegionFiling: CrossRegionFiling = .none
    ) {
        self.number = number
        self.region = region
        self.insuranceType = insuranceType
        self.retired = retired
        self.status = status
        self.crossRegionFiling = crossRegionFiling
    }
}

/// 参保状态: whether benefits can be paid.
public enum InsuranceStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// 正常参保.
    case active
    /// 暂停参保 (contributions stopped; no benefits).
    case suspended
    /// 终止参保.
    case terminated
}

/// Filing status for care outside the insurance region (异地就医备案).
public enum CrossRegionFiling: String, Sendable, Hashable, Codable, CaseIterable {
    /// Not filed: ordinary cross-region care at the policy's unfiled ratio.
    case none
    /// A filed referral (转诊备案).
    case referral
    /// A filed long-term resident elsewhere (异地长期居住).
    case longTermResident
}

/// A designated medical institution or pharmacy (定点医药机构).
public struct Institution: Sendable, Hashable, Codable {
    /// 定点医药机构编号 `fixmedins_code`, e.g. H44010000001.
    public var code: String
    /// 定点医药机构名称 `fixmedins_name`.
    public var name: String
    /// 就医地医保区划 `mdtrtarea_admvs`: the region whose catalogue prices apply.
    public var region: RegionCode
    /// 医院等级.
    public var level: HospitalLevel
    /// Hospital, clinic or pharmacy.
    public var kind: InstitutionKind
    /// The institution's bank account that clearing pays into (开户银行账号), as the bureau's bank knows it.
    public var payoutAccount: String?

    /// Creates an institution.
    public init(
        code: String, name: String, region: RegionCode, level: HospitalLevel, kind: InstitutionKind = .hospital, payoutAccount: String? = nil
    ) {
        self.code = code
        self.name = name
        self.region = region
        self.level = level
        self.kind = kind
        self.payoutAccount = payoutAccount
    }
}

/// What kind of designated institution.
public enum InstitutionKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A hospital or community health centre.
    case hospital
    /// A designated retail pharmacy (定点零售药店).
    case pharmacy
}

/// A catalogue item of a region (医保目录), keyed by its national code.
public struct CatalogueItem: Sendable, Hashable, Codable {
    /// The region whose catalogue this is (就医地目录).
    public var region: RegionCode
    /// 医保目录编码 `med_list_codg`.
    public var code: String
    /// Name (药品/项目名称).
    public var name: String
    /// Specification (规格), e.g. "0.25g×24粒".
    public var specification: String
    /// Drug, service or material.
    public var category: CatalogueCategory
    /// 甲/乙/丙 class.
    public var itemClass: CatalogueClass
    /// 定价上限金额 `pric_uplmt_amt`: the insurer's price cap per unit; any price above it is
    /// over-limit self-pay. Nil means no cap.
    public var priceCap: Money?
    /// 先行自付比例 `selfpay_prop` for class B items (zero for A and C).
    public var firstSelfPayRatio: Ratio

    /// Creates a catalogue item.
    public init(
        region: RegionCode, code: String, name: String, specification: String = "", category: CatalogueCategory,
        itemClass: CatalogueClass, priceCap: Money? = nil, firstSelfPayRatio: Ratio = .zero
    ) {
        self.region = region
        self.code = code
        self.name = name
        self.specification = specification
        self.category = category
        self.itemClass = itemClass
        self.priceCap = priceCap
        self.firstSelfPayRatio = firstSelfPayRatio
    }

    /// Checks the item's own consistency; returns the problems found, empty when valid.
    public func problems() -> [String] {
        var found: [String] = []
        if code.isEmpty || code.utf8.count > 50 { found.append("code must be 1 to 50 characters") }
        if name.isEmpty || name.count > 200 { found.append("name must be 1 to 200 characters") }
        if specification.count > 200 { found.append("specification must be at most 200 characters") }
        if !firstSelfPayRatio.isProperFraction { found.append("first self-pay ratio must be 0 to 10000 basis points") }
        if itemClass != .b && firstSelfPayRatio != .zero { found.append("only class B items have a first self-pay ratio") }
        if let cap = priceCap, cap.isNegative || cap > Money.requestAmountMax { found.append("price cap must be 0 to 10,000,000 yuan") }
        return found
    }
}

/// Catalogue categories: drugs (药品), medical services (诊疗项目), materials (医用耗材).
public enum CatalogueCategory: String, Sendable, Hashable, Codable, CaseIterable {
    /// 药品.
    case drug
    /// 医疗服务项目.
    case service
    /// 医用耗材.
    case material
}
