/// The roles of the bureau's operators, least privilege first. Each admin endpoint declares the role
/// it needs; a higher role includes the lower ones.
public enum OperatorRole: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Reads reports, reference data and the ledger.
    case viewer
    /// Also enrols people, imports catalogues, reviews bindings and resolves reports.
    case `operator`
    /// Also configures policies, institutions and their keys, and operators.
    case administrator

    private var rank: Int {
        switch self {
        case .viewer: return 0
        case .operator: return 1
        case .administrator: return 2
        }
    }

    public static func < (lhs: OperatorRole, rhs: OperatorRole) -> Bool { lhs.rank < rhs.rank }

    /// Whether this role may do what `required` may do.
    public func includes(_ required: OperatorRole) -> Bool { self >= required }
}

/// An operator of the bureau.
public struct Operator: Sendable, Hashable, Codable {
    /// The operator's id.
    public var id: String
    /// A unique login name.
    public var name: String
    /// The role.
    public var role: OperatorRole

    /// Creates an operator.
    public init(id: String, name: String, role: OperatorRole) {
        self.id = id
        self.name = name
        self.role = role
    }
}
