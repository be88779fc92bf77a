/// What a reimbursement estimate assumes about amounts given per catalogue class.
public enum EstimateAssumptions {
    /// The most common class-B first self-pay ratio of a region's catalogue (ties: the higher, so the
    /// estimate does not promise more than the fund pays); zero when the catalogue has no class-B item.
    public static func commonFirstSelfPay(_ ratios: [Ratio]) -> Ratio {
        var counts: [Ratio: Int] = [:]
        for ratio in ratios { counts[ratio, default: 0] += 1 }
        return counts.max { $0.value == $1.value ? $0.key.basisPoints < $1.key.basisPoints : $0.value < $1.value }?.key ?? .zero
    }

    /// What an estimate assumes about its class amounts, one assumption per class given.
    public static func classAmounts(classB: Ratio, given: [CatalogueClass]) -> [EstimateAssumption] {
        var found: [EstimateAssumption] = []
        if given.contains(.a) {
            found.append(EstimateAssumption(code: "class_a_in_scope", detail: "the class A amount is one line, wholly in scope, with no price cap"))
        }
        if given.contains(.b) {
            found.append(
                EstimateAssumption(
                    code: "class_b_first_self_pay",
                    detail: "the class B amount is one line with a first self-pay of \(classB), the region's most common",
                    ratio: classB))
        }
        if given.contains(.c) {
            found.append(EstimateAssumption(code: "class_c_self_paid", detail: "the class C amount is wholly self-paid"))
        }
        return found
    }
}

/// One assumption a reimbursement estimate made: a stable code a client words in its language, the
/// sentence in English, and the ratio it assumed when there is one.
public struct EstimateAssumption: Sendable, Hashable, Codable {
    /// `year_figures_now`, `prices_as_sent`, `class_a_in_scope`, `class_b_first_self_pay`, `class_c_self_paid`, and where the
    /// region has a commercial plan, `commercial_plan_enrolled` or `commercial_plan_not_enrolled`.
    public var code: String
    /// The assumption in English.
    public var detail: String
    /// The ratio assumed (class B's first self-pay).
    public var ratio: Ratio?

    /// Creates an assumption.
    public init(code: String, detail: String, ratio: Ratio? = nil) {
        self.code = code
        self.detail = detail
        self.ratio = ratio
    }
}
