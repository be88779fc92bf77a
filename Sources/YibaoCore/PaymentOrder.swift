/// A payment order (医保移动支付, national 6201): an institution asks for a visit's fee lines to be
/// paid on the patient's phone instead of at a counter — in the hospital's WeChat page, or at home after
/// an online consultation. The patient (or a binder who may pay for them) confirms with the second
/// factor; the visit then settles exactly as a scanned code would: fund, account (and mutual aid), and
/// the cash part from the payer's default card or credit line.
public struct PaymentOrder: Sendable, Hashable, Codable {
    /// The order's id (`pay_ord_id`).
    public var id: String
    /// The institution that created it (`fixmedins_code`).
    public var institutionCode: String
    /// The visit it pays for (`mdtrt_id`).
    public var visitId: String
    /// The patient (`psn_no`).
    public var personNumber: String
    /// 医疗类别 `med_type`.
    public var category: MedicalCategory
    /// The hospital's visit number (`ipt_otp_no`).
    public var hospitalVisitNumber: String
    /// The total of the fee lines (`medfee_sumamt`).
    public var total: Money
    /// Whether the institution cancelled it.
    public var cancelled: Bool
    /// The settlement of the latest payment attempt.
    public var settlementId: String?
    /// Who paid, when it was not the patient (a binder).
    public var payerNumber: String?
    /// When it was created and until when it may be paid.
    public var createdAt: Instant
    public var expiresAt: Instant

    /// Creates an order.
    public init(
        id: String, institutionCode: String, visitId: String, personNumber: String, category: MedicalCategory, hospitalVisitNumber: String,
        total: Money, cancelled: Bool = false, settlementId: String? = nil, payerNumber: String? = nil, createdAt: Instant, expiresAt: Instant
    ) {
        self.id = id
        self.institutionCode = institutionCode
        self.visitId = visitId
        self.personNumber = personNumber
        self.category = category
        self.hospitalVisitNumber = hospitalVisitNumber
        self.total = total
        self.cancelled = cancelled
        self.settlementId = settlementId
        self.payerNumber = payerNumber
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// Minutes an order may stay open: the institution chooses within these (default 30).
    public static let lifetimeMinutes: ClosedRange<Int> = 5...1440
    public static let defaultLifetimeMinutes = 30

    /// Where an order stands, from its own fields and its settlement's state.
    public enum State: String, Sendable, Hashable, Codable {
        case awaitingPayment = "awaiting_payment"
        /// A payment is being confirmed by the bank.
        case paying
        case paid
        case cancelled
        case expired
    }

    /// The state at an instant, given the state of its latest settlement (nil when none was made).
    public func state(settlement: SettlementState?, at now: Instant) -> State {
        switch settlement {
        case .completed: return .paid
        case .pending: return .paying
        default:
            if cancelled { return .cancelled }
            return now >= expiresAt ? .expired : .awaitingPayment
        }
    }

    /// Why this payer may not pay it now; nil when they may. The payer is the patient, or a binder whose
    /// binding with the patient is in force and whose care family members may pay for.
    public func refusalToPay(payer: String, settlement: SettlementState?, bindingActive: Bool, at now: Instant) -> Refusal? {
        // Someone else's order is not found, before anything about it is told.
        if payer != personNumber && !bindingActive { return Refusal(.notFound, "no payment order \(id) for you") }
        switch state(settlement: settlement, at: now) {
        case .awaitingPayment: break
        case .paying: return Refusal(.settlementInProgress, "this order's payment is being confirmed; check it again shortly")
        case .paid: return Refusal(.paymentOrderClosed, "this order is already paid")
        case .cancelled: return Refusal(.paymentOrderClosed, "the institution cancelled this order")
        case .expired: return Refusal(.paymentOrderClosed, "this order expired; ask the institution for a new one")
        }
        guard payer != personNumber else { return nil }
        guard category.familyPaymentAllowed else {
            return Refusal(
                .familyPaymentNotAllowed,
                "family members may not pay for \(category.chineseName) (chronic/special disease, maternity and work injury are excluded)")
        }
        return nil
    }

    /// Why the institution may not cancel it now; nil when it may.
    public func refusalToCancel(settlement: SettlementState?, at now: Instant) -> Refusal? {
        switch state(settlement: settlement, at: now) {
        case .awaitingPayment, .expired: return nil
        case .paying: return Refusal(.settlementInProgress, "this order's payment is being confirmed; query it again shortly")
        case .paid: return Refusal(.paymentOrderClosed, "this order is paid: refund it instead")
        case .cancelled: return Refusal(.paymentOrderClosed, "this order is already cancelled")
        }
    }
}
