/// A business refusal: something a user or a calling system can cause and fix — an unknown item code,
/// an expired code, a declined card. Refusals are values with a stable code and number; the HTTP layer
/// maps each `Kind` once to a status and renders an RFC 9457 problem document. Operational failures
/// (a database down) are thrown as other errors; bugs are preconditions.
public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable code.
    public let code: RefusalCode
    /// What is wrong, in words a cashier or a patient can act on. Never contains personal data.
    public let detail: String
    /// The request field at fault, as a path like `lines[2].unit_price`, when one is.
    public let field: String?
    /// Seconds after which a retry may succeed (rate limits, a pending payment).
    public let retryAfterSeconds: Int?
    /// Ids the caller needs to follow up (e.g. the pending settlement's id).
    public let references: [String: String]

    /// Creates a refusal.
    public init(_ code: RefusalCode, _ detail: String, field: String? = nil, retryAfterSeconds: Int? = nil, references: [String: String] = [:]) {
        self.code = code
        self.detail = detail
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
        self.references = references
    }

    /// A refusal of malformed or out-of-range input naming the field.
    public static func invalid(_ field: String, _ detail: String) -> Refusal {
        Refusal(.invalidRequest, detail, field: field)
    }

    /// A payment code (device, step) another request spent first: the patient's app shows the next one.
    public static let codeAlreadyUsed = Refusal(
        .codeUsed, "this code was already used; ask the patient for the next one (every 30 seconds)", field: "code")

    /// Another settlement of the patient waits for the bank (its pending record is the patient's payment
    /// lock), named when known: retry once it has ended.
    public static func settlementInProgress(_ pending: String?) -> Refusal {
        Refusal(
            .settlementInProgress, "another settlement of this patient is being paid; retry in a moment", retryAfterSeconds: 2,
            references: pending.map { ["settlement_id": $0] } ?? [:])
    }

    public var description: String { "\(code.rawValue): \(detail)" + (field.map { " (\($0))" } ?? "") }
}

/// How a refusal maps to HTTP; the server does this mapping in one place.
public enum RefusalKind: Sendable, Hashable {
    /// The request is malformed or a value is out of range (400).
    case invalid
    /// No credentials, or credentials that are wrong (401).
    case unauthenticated
    /// The caller may not do this (403).
    case forbidden
    /// The addressed resource does not exist for this caller (404).
    case notFound
    /// The request conflicts with the current state (409).
    case conflict
    /// The request is well-formed but refused by a business rule (422).
    case refused
    /// Too many requests (429).
    case rateLimited
    /// A payment party did not answer in time; the operation is pending (503 with Retry-After).
    case pending
}

/// Stable refusal codes. The raw value is the problem document's `code`; `number` never changes
/// meaning once released (new codes get new numbers).
public enum RefusalCode: String, Sendable, Hashable, CaseIterable, Codable {
    // Request shape (1xx)
    /// Malformed JSON, a missing field, or a value out of range.
    case invalidRequest = "invalid_request"
    /// The same Idempotency-Key was sent with a different request.
    case idempotencyKeyReused = "idempotency_key_reused"
    /// A money-moving request came without an Idempotency-Key.
    case idempotencyKeyRequired = "idempotency_key_required"
    /// The request body is larger than allowed.
    case bodyTooLarge = "body_too_large"
    /// The request's body did not arrive whole within the server's wait for it (a client that trickles it).
    case bodyTooSlow = "body_too_slow"

    // Authentication and authorisation (2xx)
    /// Missing or wrong credentials.
    case unauthenticated = "unauthenticated"
    /// Authenticated, but not allowed.
    case forbidden = "forbidden"
    /// Too many attempts; retry later.
    case rateLimited = "rate_limited"
    /// The request signature does not verify (tampered, or signed with another key).
    case signatureInvalid = "signature_invalid"
    /// The request's timestamp is outside the five-minute window.
    case signatureStale = "signature_stale"
    /// The request's nonce was used before: a replay.
    case signatureReplayed = "signature_replayed"

    // Things that do not exist (3xx)
    /// The addressed resource does not exist (or is not visible to the caller).
    case notFound = "not_found"
    /// No enrolled person has this person number.
    case unknownPerson = "unknown_person"
    /// No institution has this code.
    case unknownInstitution = "unknown_institution"
    /// The catalogue of the treating region has no item with this code.
    case unknownCatalogueItem = "unknown_catalogue_item"
    /// No policy is configured for this region, insurance type and year.
    case noPolicy = "no_policy"

    // Settlement refusals (4xx)
    /// The person's insurance is not active.
    case personNotInsured = "person_not_insured"
    /// A visit must have at least one fee line to settle.
    case noFeeLines = "no_fee_lines"
    /// The visit is already settled.
    case visitAlreadySettled = "visit_already_settled"
    /// The visit is not open for this operation.
    case visitNotOpen = "visit_not_open"
    /// The settlement has already been reversed or fully refunded.
    case alreadyReversed = "already_reversed"
    /// The refund asks for more than remains refundable.
    case refundExceedsSettlement = "refund_exceeds_settlement"
    /// The amounts the HIS echoed do not match the uploaded lines.
    case amountMismatch = "amount_mismatch"
    /// Another settlement for this person is being paid right now; retry shortly.
    case settlementInProgress = "settlement_in_progress"
    /// The record already exists (a duplicate code, number or name).
    case alreadyExists = "already_exists"
    /// The settlement is pending, declined or cancelled: its money cannot move back.
    case settlementNotCompleted = "settlement_not_completed"
    /// The settlement was partly refunded, so it cannot be reversed as a whole: refund the rest.
    case settlementRefunded = "settlement_refunded"
    /// The operation would take a balance or a year-to-date figure below zero; nothing was written.
    case wouldGoNegative = "would_go_negative"

    // E-voucher codes and payments (5xx)
    /// Not a Yibao e-voucher code (length, prefix or check digit): rescan.
    case codeMalformed = "code_malformed"
    /// The code does not verify: forged, or mistyped.
    case codeInvalid = "code_invalid"
    /// The code is too old; the phone shows a new one every 30 seconds.
    case codeExpired = "code_expired"
    /// The code was already used once.
    case codeUsed = "code_used"
    /// The phone that made the code was revoked.
    case codeRevoked = "code_revoked"
    /// The patient's bank refused the cash part; nothing was charged or posted.
    case paymentDeclined = "payment_declined"
    /// The bank has not answered yet; retry with the same Idempotency-Key (or read the settlement).
    case paymentPending = "payment_pending"
    /// The refund is not possible in this form.
    case refundNotAllowed = "refund_not_allowed"
    /// The card could not be bound.
    case cardRefused = "card_refused"
    /// The patient has no card or credit line to pay with.
    case noFundingSource = "no_funding_source"
    /// This contribution period is already paid (or being paid).
    case premiumAlreadyPaid = "premium_already_paid"
    /// The period is not open for payment.
    case periodNotOpen = "period_not_open"
    /// The policy has no such contribution (kind, period).
    case noPremiumSchedule = "no_premium_schedule"

    // Family (7xx)
    /// A monthly binding limit is reached.
    case familyLimitReached = "family_limit_reached"
    /// The binding is not in a state that allows this.
    case bindingNotPending = "binding_not_pending"
    /// The member already belongs to another family account.
    case alreadyInFamily = "already_in_family"
    /// Family members may not pay for this kind of care (chronic/special disease, maternity, work injury).
    case familyPaymentNotAllowed = "family_payment_not_allowed"
    /// Face verification did not confirm the person.
    case identityNotVerified = "identity_not_verified"

    // Credit (8xx)
    /// The partner bank refused the credit line application.
    case creditRefused = "credit_refused"
    /// The credit function is suspended for an overdue bill until it is repaid.
    case creditSuspended = "credit_suspended"
    /// No frictionless authorisation in force (never signed, or revoked).
    case noFrictionlessAuthorisation = "no_frictionless_authorisation"
    /// The personal account cannot cover the amount; nothing was charged or posted.
    case accountInsufficient = "account_insufficient"
    /// A repayment larger than what is owed.
    case repaymentExceedsOwed = "repayment_exceeds_owed"
    /// The region's policy (or the insurance type) does not let the personal account repay credit.
    case accountRepaymentNotAllowed = "account_repayment_not_allowed"

    // Patients (6xx)
    /// The ID number, insurance number and phone do not match an enrolled person.
    case registrationMismatch = "registration_mismatch"
    /// The SMS verification code is wrong or expired.
    case smsCodeInvalid = "sms_code_invalid"
    /// The phone, password or second factor is wrong.
    case signInFailed = "sign_in_failed"
    /// Too many failed sign-ins; locked for a while.
    case accountLocked = "account_locked"
    /// The password does not meet the policy.
    case weakPassword = "weak_password"
    /// The action needs the authenticator code (no second factor in the last five minutes).
    case secondFactorRequired = "second_factor_required"
    /// The authenticator code is wrong or was already used.
    case secondFactorInvalid = "second_factor_invalid"
    /// No adapter is configured for a party this needs (the bank, the SMS gateway, face verification).
    case partyNotConfigured = "party_not_configured"
    /// A money-creating action above the threshold waits for a second administrator's approval.
    case approvalRequired = "approval_required"
    /// The clearing is not in the state the action needs (e.g. approving one already paid).
    case clearingState = "clearing_state"
    /// Nothing to clear: no uncleared settlement in the period, or the period nets to nothing payable.
    case nothingToClear = "nothing_to_clear"
    /// The institution has no registered payout account to pay a clearing into.
    case payoutAccountMissing = "payout_account_missing"
    /// The period has not ended yet (China Standard Time).
    case periodNotEnded = "period_not_ended"
    /// The payment order can no longer be paid: already paid, cancelled by the institution, or expired.
    case paymentOrderClosed = "payment_order_closed"
    /// The medication reminder can no longer be changed: its drug was refunded or its course is over.
    case reminderClosed = "reminder_closed"
}

extension RefusalCode {
    /// The stable number of this code.
    public var number: Int {
        switch self {
        case .invalidRequest: return 100
        case .idempotencyKeyReused: return 101
        case .idempotencyKeyRequired: return 102
        case .bodyTooLarge: return 103
        case .bodyTooSlow: return 104
        case .unauthenticated: return 200
        case .forbidden: return 201
        case .rateLimited: return 202
        case .signatureInvalid: return 203
        case .signatureStale: return 204
        case .signatureReplayed: return 205
        case .notFound: return 300
        case .unknownPerson: return 301
        case .unknownInstitution: return 302
        case .unknownCatalogueItem: return 303
        case .noPolicy: return 304
        case .personNotInsured: return 400
        case .noFeeLines: return 401
        case .visitAlreadySettled: return 402
        case .visitNotOpen: return 403
        case .alreadyReversed: return 404
        case .refundExceedsSettlement: return 405
        case .amountMismatch: return 406
        case .settlementInProgress: return 407
        case .alreadyExists: return 408
        case .settlementNotCompleted: return 409
        case .settlementRefunded: return 410
        case .wouldGoNegative: return 411
        case .codeMalformed: return 500
        case .codeInvalid: return 501
        case .codeExpired: return 502
        case .codeUsed: return 503
        case .codeRevoked: return 504
        case .paymentDeclined: return 510
        case .paymentPending: return 511
        case .refundNotAllowed: return 512
        case .cardRefused: return 513
        case .noFundingSource: return 514
        case .premiumAlreadyPaid: return 520
        case .periodNotOpen: return 521
        case .noPremiumSchedule: return 522
        case .familyLimitReached: return 700
        case .bindingNotPending: return 701
        case .alreadyInFamily: return 702
        case .familyPaymentNotAllowed: return 703
        case .identityNotVerified: return 704
        case .creditRefused: return 800
        case .creditSuspended: return 801
        case .noFrictionlessAuthorisation: return 802
        case .accountInsufficient: return 803
        case .repaymentExceedsOwed: return 804
        case .accountRepaymentNotAllowed: return 805
        case .registrationMismatch: return 600
        case .smsCodeInvalid: return 601
        case .signInFailed: return 602
        case .accountLocked: return 603
        case .weakPassword: return 604
        case .secondFactorRequired: return 605
        case .secondFactorInvalid: return 606
        case .partyNotConfigured: return 230
        case .approvalRequired: return 231
        case .clearingState: return 900
        case .nothingToClear: return 901
        case .payoutAccountMissing: return 902
        case .periodNotEnded: return 903
        case .paymentOrderClosed: return 240
        case .reminderClosed: return 610
        }
    }

    /// How this code maps to HTTP.
    public var kind: RefusalKind {
        switch self {
        case .invalidRequest, .idempotencyKeyRequired, .bodyTooLarge, .bodyTooSlow: return .invalid
        case .unauthenticated, .signInFailed, .signatureInvalid, .signatureStale, .signatureReplayed: return .unauthenticated
        case .accountLocked: return .rateLimited
        case .paymentPending: return .pending
        case .codeMalformed, .codeInvalid, .codeExpired, .codeUsed, .codeRevoked, .paymentDeclined, .refundNotAllowed, .cardRefused,
            .registrationMismatch, .smsCodeInvalid, .noFundingSource, .periodNotOpen, .noPremiumSchedule:
            return .refused
        case .premiumAlreadyPaid, .bindingNotPending, .alreadyInFamily: return .conflict
        case .familyLimitReached, .familyPaymentNotAllowed, .identityNotVerified: return .refused
        case .creditRefused, .creditSuspended, .noFrictionlessAuthorisation, .accountInsufficient, .repaymentExceedsOwed,
            .accountRepaymentNotAllowed:
            return .refused
        case .weakPassword: return .invalid
        case .secondFactorRequired: return .forbidden
        case .secondFactorInvalid, .approvalRequired: return .refused
        case .partyNotConfigured: return .pending
        case .clearingState, .paymentOrderClosed, .reminderClosed: return .conflict
        case .nothingToClear, .payoutAccountMissing, .periodNotEnded: return .refused
        case .forbidden: return .forbidden
        case .rateLimited: return .rateLimited
        case .notFound: return .notFound
        case .idempotencyKeyReused, .visitAlreadySettled, .visitNotOpen, .alreadyReversed, .settlementInProgress, .alreadyExists,
            .settlementNotCompleted, .settlementRefunded, .wouldGoNegative:
            return .conflict
        case .unknownPerson, .unknownInstitution, .unknownCatalogueItem, .noPolicy, .personNotInsured, .noFeeLines,
            .refundExceedsSettlement, .amountMismatch:
            return .refused
        }
    }

    /// A short human title for the problem document.
    public var title: String {
        switch self {
        case .invalidRequest: return "The request is not valid"
        case .idempotencyKeyReused: return "Idempotency-Key reused with a different request"
        case .idempotencyKeyRequired: return "Idempotency-Key header required"
        case .bodyTooLarge: return "Request body too large"
        case .bodyTooSlow: return "Request body too slow"
        case .unauthenticated: return "Authentication required"
        case .forbidden: return "Not allowed"
        case .rateLimited: return "Too many requests"
        case .signatureInvalid: return "Signature does not verify"
        case .signatureStale: return "Request timestamp outside the window"
        case .signatureReplayed: return "Request replayed"
        case .notFound: return "Not found"
        case .unknownPerson: return "Unknown person"
        case .unknownInstitution: return "Unknown institution"
        case .unknownCatalogueItem: return "Unknown catalogue item"
        case .noPolicy: return "No policy configured"
        case .personNotInsured: return "Insurance not active"
        case .noFeeLines: return "No fee lines"
        case .visitAlreadySettled: return "Visit already settled"
        case .visitNotOpen: return "Visit not open"
        case .alreadyReversed: return "Already reversed"
        case .refundExceedsSettlement: return "Refund exceeds what remains"
        case .amountMismatch: return "Amounts do not match the fee lines"
        case .settlementInProgress: return "Settlement in progress"
        case .alreadyExists: return "Already exists"
        case .settlementNotCompleted: return "Settlement not completed"
        case .settlementRefunded: return "Settlement partly refunded"
        case .wouldGoNegative: return "Would go below zero"
        case .codeMalformed: return "Not an e-voucher code"
        case .codeInvalid: return "Code does not verify"
        case .codeExpired: return "Code expired"
        case .codeUsed: return "Code already used"
        case .codeRevoked: return "Device revoked"
        case .paymentDeclined: return "Payment declined"
        case .paymentPending: return "Payment pending"
        case .refundNotAllowed: return "Refund not allowed"
        case .cardRefused: return "Card refused"
        case .noFundingSource: return "No card or credit line"
        case .premiumAlreadyPaid: return "Already paid"
        case .periodNotOpen: return "Period not open for payment"
        case .noPremiumSchedule: return "No such contribution"
        case .familyLimitReached: return "Monthly binding limit reached"
        case .bindingNotPending: return "Binding not pending"
        case .alreadyInFamily: return "Already in a family account"
        case .familyPaymentNotAllowed: return "Family payment not allowed for this care"
        case .identityNotVerified: return "Identity not verified"
        case .creditRefused: return "Credit line refused"
        case .creditSuspended: return "Credit suspended"
        case .noFrictionlessAuthorisation: return "No frictionless authorisation"
        case .accountInsufficient: return "Personal account insufficient"
        case .repaymentExceedsOwed: return "Repayment exceeds what is owed"
        case .accountRepaymentNotAllowed: return "Personal account may not repay credit"
        case .registrationMismatch: return "No matching enrolment"
        case .smsCodeInvalid: return "Verification code wrong or expired"
        case .signInFailed: return "Sign-in failed"
        case .accountLocked: return "Account locked"
        case .weakPassword: return "Password too weak"
        case .secondFactorRequired: return "Authenticator code required"
        case .secondFactorInvalid: return "Authenticator code wrong or used"
        case .partyNotConfigured: return "Party not configured"
        case .approvalRequired: return "Second approval required"
        case .clearingState: return "Clearing not in that state"
        case .nothingToClear: return "Nothing to clear"
        case .payoutAccountMissing: return "No payout account"
        case .periodNotEnded: return "Period not ended"
        case .paymentOrderClosed: return "Payment order closed"
        case .reminderClosed: return "Reminder closed"
        }
    }
}
