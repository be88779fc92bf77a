import YibaoCore

/// 1901 字典表查询: the code tables national clients read labels from, answered from the codes Yibao
/// itself uses (the enums of `YibaoCore`), so a label can never disagree with what a settlement sends.
/// `type` is the upper-case field name (`MED_TYPE`, `INSUTYPE` …); an unknown type answers an empty
/// list, as the platform does. Hospital levels are Yibao's own values (community, 1, 2, 3, 3A): the
/// national `hosp_lv` codes are not published in any source we could check (reference §4).
enum NationalDictionary {
    /// The tables: type → (value, label) in order.
    static let tables: [String: [(value: String, label: String)]] = [
        "MED_TYPE": MedicalCategory.allCases.map { ($0.rawValue, $0.chineseName) },
        "INSUTYPE": [(InsuranceType.employee.rawValue, "职工基本医疗保险"), (InsuranceType.resident.rawValue, "城乡居民基本医疗保险")],
        "FUND_PAY_TYPE": FundPayType.allCases.map { ($0.rawValue, $0.chineseName) },
        "CHRGITM_LV": CatalogueClass.allCases.map { ($0.nationalCode, ["A": "甲类", "B": "乙类", "C": "丙类"][$0.rawValue] ?? $0.rawValue) },
        "HOSP_LV": [
            (HospitalLevel.community.rawValue, "社区卫生服务中心、乡镇卫生院"), (HospitalLevel.level1.rawValue, "一级"), (HospitalLevel.level2.rawValue, "二级"),
            (HospitalLevel.level3.rawValue, "三级"), (HospitalLevel.level3A.rawValue, "三级甲等"),
        ],
        "CLR_TYPE": BenefitPoolKind.allCases.map { ($0.clearingType, $0 == .outpatient ? "门诊" : "住院") },
        "PSN_CERT_TYPE": [("01", "居民身份证")],
        "MDTRT_CERT_TYPE": [("01", "医保电子凭证"), ("02", "居民身份证"), ("99", "人员编号")],
        "ACCT_USED_FLAG": [("0", "否"), ("1", "是")],
        "VALI_FLAG": [("0", "无效"), ("1", "有效")],
    ]

    /// The rows of a type (parent values are not used by these tables: a `parentValue` other than empty
    /// or `0` finds nothing).
    static func rows(type: String, parentValue: String?) -> [NationalJSON] {
        guard parentValue == nil || parentValue == "" || parentValue == "0", let table = tables[type.uppercased()] else { return [] }
        return table.enumerated().map { index, entry in
            .object([
                ("type", .string(type.uppercased())), ("label", .string(entry.label)), ("value", .string(entry.value)), ("parentValue", .string("0")),
                ("sort", .number(String(index + 1))), ("valiFlag", .string("1")), ("createUser", .string("yibao")),
                ("createDate", .string("2026-01-01 00:00:00")), ("version", .string("1")),
            ])
        }
    }
}
