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

/// A manual adjustment of a personal account (an opening balance, a correction): money the bureau
/// creates or takes back by hand. Only administrators request or approve one; above the configured
/// threshold a second administrator must approve before anything is posted.
public struct AccountAdjustment: Sendable, Hashable, Codable {
    /// Where an adjustment stands.
    public enum State: String, Sendable, Hashable, Codable {
        /// Waiting for a second administrator.
        case pending
        /// Posted.
        case posted
        /// Refused by the second administrator.
        case rejected
    }

    /// The adjustment's id.
    public var id: String
    /// The person whose account changes.
    public var personNumber: String
    /// Fen added (positive) or taken back (negative).
    public var amount: Money
    /// Why, in the requester's words.
    public var reason: String
    /// Where it stands.
    public var state: State
    /// The administrator who asked.
    public var requestedBy: String
    /// When.
    public var requestedAt: Instant
    /// The administrator who approved or rejected it.
    public var decidedBy: String?
    /// When.
    public var decidedAt: Instant?

    /// Creates an adjustment.
    public init(
        id: String, personNumber: String, amount: Money, reason: String, state: State, requestedBy: String, requestedAt: Instant,
        decidedBy: String? = nil, decidedAt: Instant? = nil
    ) {
        self.id = id
        self.personNumber = personNumber
        self.amount = amount
        self.reason = reason
        self.state = state
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
    }

    /// Whether an adjustment of `amount` needs a second administrator under `threshold`.
    public static func needsSecondApproval(_ amount: Money, threshold: Money) -> Bool {
        amount.fen.magnitude > threshold.fen.magnitude
    }

    /// Refuses an approval by anyone but a second administrator, or of an adjustment already decided.
    public func checkApproval(by approver: String) throws(Refusal) {
        guard state == .pending else {
            throw Refusal(.bindingNotPending, "adjustment \(id) was already \(state.rawValue)", references: ["adjustment_id": id])
        }
        guard approver != requestedBy else {
            throw Refusal(.forbidden, "a second administrator approves: \(requestedBy) asked for adjustment \(id)")
        }
    }
}
