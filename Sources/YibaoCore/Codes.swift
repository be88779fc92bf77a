/// A six-digit administrative division code (医保区划, e.g. 440100 Guangzhou). A person's insurance
/// region is `insuplc_admdvs` (参保地); an institution's is `mdtrtarea_admvs` (就医地).
public struct RegionCode: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The six digits.
    public let value: String

    /// Creates a region code, or nil unless `value` is exactly six digits.
    public init?(_ value: String) {
        guard value.utf8.count == 6, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        self.value = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let text = try? container.decode(String.self), let code = RegionCode(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "a region is a six-digit administrative code such as 440100")
        }
        self = code
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public static func < (lhs: RegionCode, rhs: RegionCode) -> Bool { lhs.value < rhs.value }
    public var description: String { value }
}

/// Insurance type (险种类型 `insutype`). Yibao settles the two basic schemes.
public enum InsuranceType: String, Sendable, Hashable, Codable, CaseIterable {
    /// 职工基本医疗保险 — employees (with a personal account).
    case employee = "310"
    /// 城乡居民基本医疗保险 — urban and rural residents.
    case resident = "390"

    /// The national fund type of this scheme's pooled fund (`fund_pay_type`).
    public var pooledFundType: FundPayType { self == .employee ? .employeePooled : .residentPooled }

    /// The national fund type of the tier above the basic cap: the employees' large-amount subsidy
    /// (`hifob_pay`, 330100) or the residents' catastrophic insurance (`hifmi_pay`, 390200).
    public var aboveCapFundType: FundPayType { self == .employee ? .employeeLargeAmount : .residentCatastrophic }
}

/// Hospital level (医院等级). Policies key deductibles and ratios by level.
public enum HospitalLevel: String, Sendable, Hashable, Codable, CaseIterable {
    /// Community health centre / township clinic (社区、乡镇卫生院).
    case community
    /// Level 1 (一级).
    case level1 = "1"
    /// Level 2 (二级).
    case level2 = "2"
    /// Level 3 (三级; in Lanzhou, "3B").
    case level3 = "3"
    /// Level 3A (三级甲等), distinct where a policy says so.
    case level3A = "3A"
}

/// Medical category (医疗类别 `med_type`), national codes. The category chooses the benefit pool
/// (outpatient or inpatient) and whether family mutual aid may pay.
public enum MedicalCategory: String, Sendable, Hashable, Codable, CaseIterable {
    /// 普通门诊 ordinary outpatient.
    case ordinaryOutpatient = "11"
    /// 急诊 emergency.
    case emergency = "13"
    /// 门诊慢特病 chronic / special disease outpatient.
    case chronicSpecialOutpatient = "14"
    /// 普通住院 ordinary inpatient.
    case ordinaryInpatient = "21"
    /// 定点药店购药 purchase at a designated pharmacy.
    case pharmacy = "41"
    /// 生育门诊 maternity outpatient.
    case maternityOutpatient = "51"
    /// 生育住院 maternity inpatient.
    case maternityInpatient = "52"
    /// 互联网医院在线复诊 online (internet hospital) consultation — a local code.
    case online = "9901"
    /// 工伤就医 work-injury care — a local code; work injury is its own insurance.
    case workInjury = "9902"

    /// Which benefit pool pays: inpatient categories draw on the inpatient pool.
    public var pool: BenefitPoolKind {
        switch self {
        case .ordinaryInpatient, .maternityInpatient: return .inpatient
        default: return .outpatient
        }
    }

    /// Whether a family member's personal account may pay (家庭共济): ordinary outpatient and online
    /// settlement with pooled benefits, and inpatient stays; not chronic/special disease, maternity or
    /// work injury (see docs/family.md).
    public var familyPaymentAllowed: Bool {
        switch self {
        case .chronicSpecialOutpatient, .maternityOutpatient, .maternityInpatient, .workInjury: return false
        default: return true
        }
    }

    /// Chinese name, for receipts and traces.
    public var chineseName: String {
        switch self {
        case .ordinaryOutpatient: return "普通门诊"
        case .emergency: return "急诊"
        case .chronicSpecialOutpatient: return "门诊慢特病"
        case .ordinaryInpatient: return "普通住院"
        case .pharmacy: return "定点药店购药"
        case .maternityOutpatient: return "生育门诊"
        case .maternityInpatient: return "生育住院"
        case .online: return "互联网医院在线复诊"
        case .workInjury: return "工伤就医"
        }
    }
}

/// The two benefit pools a policy has: each has its own deductible, ratios and annual cap.
public enum BenefitPoolKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// 门诊 outpatient (including emergency, pharmacy and online).
    case outpatient
    /// 住院 inpatient.
    case inpatient

    /// National clearing category (`clr_type`): 11 outpatient, 21 inpatient.
    public var clearingType: String { self == .outpatient ? "11" : "21" }
}

/// Catalogue class (收费项目等级 `chrgitm_lv`).
public enum CatalogueClass: String, Sendable, Hashable, Codable, CaseIterable {
    /// 甲类 class A: fully in scope (`01`).
    case a = "A"
    /// 乙类 class B: in scope after a first self-pay share (`02`).
    case b = "B"
    /// 丙类 class C: fully self-paid (`03`).
    case c = "C"

    /// The national code `chrgitm_lv`.
    public var nationalCode: String {
        switch self {
        case .a: return "01"
        case .b: return "02"
        case .c: return "03"
        }
    }
}

/// National fund payment types (基金支付类型 `fund_pay_type`) that appear in `setldetail`.
public enum FundPayType: String, Sendable, Hashable, Codable, CaseIterable {
    /// 职工基本医疗保险统筹基金.
    case employeePooled = "310100"
    /// 职工个人账户基金.
    case employeeAccount = "310200"
    /// 大额医疗费用补助基金 (employees above the basic cap).
    case employeeLargeAmount = "330100"
    /// 城乡居民基本医疗保险基金.
    case residentPooled = "390100"
    /// 城乡居民大病医疗保险基金 (residents above the basic cap).
    case residentCatastrophic = "390200"
    /// 医院负担.
    case hospitalBorne = "999996"
    /// 其他基金: what a commercial plan paid in the same settlement (reported as `oth_pay`).
    case otherFund = "999997"

    /// Chinese name (`fund_pay_type_name`).
    public var chineseName: String {
        switch self {
        case .employeePooled: return "职工基本医疗保险统筹基金"
        case .employeeAccount: return "职工个人账户基金"
        case .employeeLargeAmount: return "大额医疗费用补助基金"
        case .residentPooled: return "城乡居民基本医疗保险基金"
        case .residentCatastrophic: return "城乡居民大病医疗保险基金"
        case .hospitalBorne: return "医院负担"
        case .otherFund: return "其他基金"
        }
    }
}
