/// A diagnosis the hospital reports for a visit through the national interface (`diseinfo`, 2203 for
/// an outpatient visit, 2401/2403 at admission, 2402 at discharge), kept — sealed, as medical data — so
/// that the hospital can read back what it reported (5202). Yibao's settlement does not use diagnoses.
public struct Diagnosis: Sendable, Hashable, Codable {
    /// When in the visit it was made: the visit's (outpatient), at admission, or at discharge.
    public enum Stage: String, Sendable, Hashable, Codable, CaseIterable {
        case visit
        case admission
        case discharge
    }

    /// The stage.
    public var stage: Stage
    /// 诊断类别 `diag_type` (1 Western medicine, 2 TCM main disease, 3 TCM syndrome).
    public var kind: String
    /// 诊断排序号 `diag_srt_no`.
    public var rank: Int
    /// 诊断代码 `diag_code` (ICD-10 national edition).
    public var code: String
    /// 诊断名称 `diag_name`.
    public var name: String
    /// 诊断科室 `diag_dept`.
    public var department: String?
    /// 诊断医生编码 `dise_dor_no`.
    public var doctorCode: String?
    /// 诊断医生姓名 `dise_dor_name`.
    public var doctorName: String?
    /// 诊断时间 `diag_time`, as the hospital sent it.
    public var time: String?
    /// 主诊断标志 `maindiag_flag` (1 main).
    public var main: Bool
    /// 有效标志 `vali_flag` (1 valid).
    public var valid: Bool

    /// Creates a diagnosis.
    public init(
        stage: Stage, kind: String, rank: Int, code: String, name: String, department: String? = nil, doctorCode: String? = nil,
        doctorName: String? = nil, time: String? = nil, main: Bool = false, valid: Bool = true
    ) {
        self.stage = stage
        self.kind = kind
        self.rank = rank
        self.code = code
        self.name = name
        self.department = department
        self.doctorCode = doctorCode
        self.doctorName = doctorName
        self.time = time
        self.main = main
        self.valid = valid
    }

    /// The most diagnoses one visit keeps.
    public static let perVisitMax = 50

    /// A visit's diagnoses after an upload of `stage`: that stage's are replaced (a 2203 sent again, or a
    /// 2403 changing the admission's), the others kept; ordered by stage, then rank.
    public static func replacing(_ stage: Stage, in current: [Diagnosis], with uploaded: [Diagnosis]) -> [Diagnosis] {
        let position = { (stage: Stage) in Stage.allCases.firstIndex(of: stage) ?? 0 }
        return (current.filter { $0.stage != stage } + uploaded).sorted {
            position($0.stage) != position($1.stage) ? position($0.stage) < position($1.stage) : $0.rank < $1.rank
        }
    }
}
