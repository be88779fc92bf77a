/// A family binding (亲情账户 / 家庭共济): a binder binds a relative so that they can pay for the
/// member's care (from the binder's personal account when the member's runs short — mutual aid — or from
/// the binder's cards), see the member's records and handle their affairs.
public struct FamilyBinding: Sendable, Hashable, Codable {
    /// The binding's id.
    public var id: String
    /// The insured person who binds.
    public var binderNumber: String
    /// The relative bound.
    public var memberNumber: String
    /// The member is the binder's spouse, parent or child.
    public var relationship: Relationship
    /// Where it stands.
    public var state: BindingState
    /// How the member's identity is checked: documents an operator reviews (under 16), or the member's
    /// own confirmation in their signed-in session with face verification (16 and older).
    public var verification: BindingVerification
    /// For documents: what kind (户口簿, 出生医学证明 …).
    public var documentType: String?
    /// When asked, and by whom.
    public var requestedAt: Instant
    /// When approved, rejected or cancelled, and by whom.
    public var decidedAt: Instant?
    /// Who decided (`operator:<name>`, `patient:<number>`).
    public var decidedBy: String?
    /// When unbound, and by whom.
    public var unboundAt: Instant?
    /// Who unbound.
    public var unboundBy: String?
    /// The month (China Standard Time) the binding became effective: it counts toward that month's limits.
    public var effectiveMonth: String?
    /// A note from the reviewer.
    public var note: String?

    /// Creates a binding.
    public init(
        id: String, binderNumber: String, memberNumber: String, relationship: Relationship, state: BindingState, verification: BindingVerification,
        documentType: String?, requestedAt: Instant, decidedAt: Instant? = nil, decidedBy: String? = nil, unboundAt: Instant? = nil,
        unboundBy: String? = nil, effectiveMonth: String? = nil, note: String? = nil
    ) {
        self.id = id
        self.binderNumber = binderNumber
        self.memberNumber = memberNumber
        self.relationship = relationship
        self.state = state
        self.verification = verification
        self.documentType = documentType
        self.requestedAt = requestedAt
        self.decidedAt = decidedAt
        self.decidedBy = decidedBy
        self.unboundAt = unboundAt
        self.unboundBy = unboundBy
        self.effectiveMonth = effectiveMonth
        self.note = note
    }

    /// Whether the binding gives the binder authority now.
    public var isActive: Bool { state == .approved }
}

/// The relationships national policy allows for mutual aid (配偶、父母、子女).
public enum Relationship: String, Sendable, Hashable, Codable, CaseIterable {
    /// 配偶.
    case spouse
    /// 父母: the member is the binder's parent.
    case parent
    /// 子女: the member is the binder's child.
    case child
}

/// Where a binding stands.
public enum BindingState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Waiting for the member's confirmation or an operator's review.
    case pending
    /// In force.
    case approved
    /// Refused by the reviewer or the member.
    case rejected
    /// Withdrawn by the binder before a decision.
    case cancelled
    /// Ended by either side after approval.
    case unbound
}

/// How the member's identity is checked.
public enum BindingVerification: String, Sendable, Hashable, Codable {
    /// Identity documents an operator reviews (members under 16).
    case documents
    /// The member confirms in their own session with face verification (16 and older).
    case selfConfirmation = "self_confirmation"
}

/// The rules of family binding, pure.
public enum FamilyRules {
    /// Bindings a binder may complete in a calendar month.
    public static let bindingsPerBinderPerMonth = 5
    /// Times a member may be bound in a calendar month.
    public static let bindingsPerMemberPerMonth = 2
    /// The age from which a member confirms themselves.
    public static let selfConfirmationAge = 16

    /// How a member of this birth date is verified on a date.
    public static func verification(memberBirth: CivilDate, on date: CivilDate) -> BindingVerification {
        memberBirth.age(on: date) < selfConfirmationAge ? .documents : .selfConfirmation
    }

    /// The month key (China Standard Time) of an instant: `YYYY-MM`.
    public static func month(_ instant: Instant) -> String { ChinaTime.date(instant).yearMonth }

    /// Why a binding may not take effect, given what each side completed this month; nil when it may.
    public static func limitProblem(binderCompletedThisMonth: Int, memberBoundThisMonth: Int) -> Refusal? {
        if binderCompletedThisMonth >= bindingsPerBinderPerMonth {
            return Refusal(
                .familyLimitReached, "a binder completes at most \(bindingsPerBinderPerMonth) bindings a calendar month; try again next month")
        }
        if memberBoundThisMonth >= bindingsPerMemberPerMonth {
            return Refusal(
                .familyLimitReached, "a member can be bound at most \(bindingsPerMemberPerMonth) times a calendar month; try again next month")
        }
        return nil
    }
}

/// The boundary to a face-verification provider (人脸核验): did this live capture show this person? The
/// sandbox accepts the evidence `sandbox-face:<person number>`; a real adapter calls a provider with the
/// capture and the person's ID number and photo on file (docs/family.md).
public protocol IdentityVerifier: Sendable {
    /// Whether the evidence proves the person is present.
    func verify(person: Person, evidence: String) async throws -> Bool

    /// False for `UnconfiguredParty`: no face-verification provider is wired in.
    var isConfigured: Bool { get }

    /// The provider's name: the patient's app picks the provider's client (its face-capture SDK) by it.
    var provider: String { get }
}

extension IdentityVerifier {
    /// A real adapter (and the sandbox) is configured.
    public var isConfigured: Bool { true }
}
