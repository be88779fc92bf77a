/// The boundary to the parties that hold a patient's money outside the insurance: banks and card
/// networks (the cash part), partner banks' medical credit lines. Yibao ships a sandbox bank that behaves
/// like one (balances, limits, declines, timeouts); a real adapter implements this protocol against a
/// bank's API (docs/payments.md lists what it must guarantee).
///
/// Every money-moving call carries Yibao's own `reference` (the settlement, refund or premium id) and
/// must be idempotent on it: the same reference never charges twice, and `query(reference:)` tells what
/// happened to a call whose answer was lost.
public protocol PaymentChannel: Sendable {
    /// The channel's name in the ledger (`channel:<name>`).
    var name: String { get }

    /// Checks that a card exists, is usable and belongs to the person, and returns a token for it.
    func bindCard(number: String, holderIDNumber: String, holderName: String) async throws -> BoundCard

    /// Reserves `amount` on a funding source for `reference`. Idempotent on `reference`.
    func authorise(_ request: ChannelAuthorisation) async throws -> ChannelDecision

    /// Takes an authorised amount (all of it, or less). Idempotent.
    func capture(reference: String, amount: Money) async throws -> ChannelStatus

    /// Releases an authorisation that will not be captured. Idempotent.
    func void(reference: String) async throws -> ChannelStatus

    /// Pays back part or all of a captured amount, identified by `refundReference`. Idempotent on it.
    func refund(reference: String, refundReference: String, amount: Money) async throws -> ChannelStatus

    /// What the channel knows of a reference.
    func query(reference: String) async throws -> ChannelStatus

    /// The balance (debit) or available credit of a funding source.
    func available(token: String) async throws -> Money

    /// False for `UnconfiguredParty`: no bank is wired in, so nothing that needs one may start.
    var isConfigured: Bool { get }
}

extension PaymentChannel {
    /// A real adapter (and the sandbox) is configured.
    public var isConfigured: Bool { true }
}

/// A card the channel accepted for a person.
public struct BoundCard: Sendable, Hashable, Codable {
    /// The channel's token for the card (never the card number).
    public var token: String
    /// The card number masked for display: `6222 **** **** 1234`.
    public var masked: String
    /// Debit or credit.
    public var kind: CardKind
    /// The issuing bank's name.
    public var bank: String

    /// Creates a bound card.
    public init(token: String, masked: String, kind: CardKind, bank: String) {
        self.token = token
        self.masked = masked
        self.kind = kind
        self.bank = bank
    }
}

/// Debit card, credit card, or a dedicated medical credit line.
public enum CardKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// 借记卡: spends its balance.
    case debit
    /// 信用卡: spends its credit.
    case credit
    /// 医疗信用额度: a partner bank's dedicated medical credit line.
    case medicalCredit = "medical_credit"
}

/// A request to reserve money.
public struct ChannelAuthorisation: Sendable, Hashable, Codable {
    /// Yibao's reference (idempotency key at the channel).
    public var reference: String
    /// The funding source's token.
    public var token: String
    /// The amount.
    public var amount: Money
    /// What it is for, shown on the patient's statement.
    public var description: String

    /// Creates a request.
    public init(reference: String, token: String, amount: Money, description: String) {
        self.reference = reference
        self.token = token
        self.amount = amount
        self.description = description
    }
}

/// The channel's answer to an authorisation.
public enum ChannelDecision: Sendable, Hashable {
    /// Reserved.
    case approved
    /// Refused, with the reason.
    case declined(DeclineReason)
}

/// Why a channel refused. Stable codes, shown to the cashier and the patient.
public enum DeclineReason: String, Sendable, Hashable, Codable, CaseIterable {
    /// 余额不足.
    case insufficientFunds = "insufficient_funds"
    /// 超出额度或单笔限额.
    case limitExceeded = "limit_exceeded"
    /// 卡已冻结 / 挂失.
    case cardBlocked = "card_blocked"
    /// 卡不存在.
    case unknownCard = "unknown_card"
    /// 风控拒绝.
    case suspectedFraud = "suspected_fraud"
    /// 额度已暂停 (a suspended credit line).
    case creditSuspended = "credit_suspended"

    /// Words for the cashier and the patient.
    public var message: String {
        switch self {
        case .insufficientFunds: return "the card's balance is not enough (余额不足)"
        case .limitExceeded: return "the amount is above the card's limit (超出限额)"
        case .cardBlocked: return "the card is frozen or reported lost (卡已冻结)"
        case .unknownCard: return "the bank does not know this card (卡号无效)"
        case .suspectedFraud: return "the bank's risk control refused it (风控拒绝)"
        case .creditSuspended: return "the credit line is suspended (额度已暂停)"
        }
    }
}

/// What a channel knows of a reference.
public enum ChannelStatus: Sendable, Hashable {
    /// Nothing: the request never arrived.
    case unknown
    /// Reserved, not yet taken.
    case authorised(amount: Money)
    /// Taken; `refunded` of it paid back so far.
    case captured(amount: Money, refunded: Money)
    /// Released without taking.
    case voided
    /// Refused.
    case declined(DeclineReason)
}

/// A channel call whose outcome is unknown (a timeout) or that could not be made.
public enum ChannelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No answer in time: the call may or may not have been processed. Ask `query`.
    case timeout
    /// The channel refused the connection: the call was not processed.
    case unavailable
    /// The card cannot be bound, with the reason.
    case bindingRefused(String)

    public var description: String {
        switch self {
        case .timeout: return "the payment channel did not answer in time"
        case .unavailable: return "the payment channel is unavailable"
        case .bindingRefused(let reason): return "the bank refused the card: \(reason)"
        }
    }
}

/// The boundary to the SMS provider (verification codes, notifications). Yibao ships a sandbox that
/// keeps messages for operators to read; a real adapter sends through a carrier's API.
public protocol MessageGateway: Sendable {
    /// Sends a text message to a mobile phone.
    func send(to phone: String, text: String) async throws

    /// False for `UnconfiguredParty`: no SMS provider is wired in.
    var isConfigured: Bool { get }
}

extension MessageGateway {
    /// A real adapter (and the sandbox) is configured.
    public var isConfigured: Bool { true }
}

/// The stand-in for a party no adapter is configured for (a server started without `--demo` or
/// `--sandbox` and without a real bank, SMS or face-verification adapter). Everything that needs the
/// party is refused before anything is written, with `party_not_configured` (HTTP 503) naming what is
/// missing: a production server never falls back to a sandbox silently.
public struct UnconfiguredParty: PaymentChannel, CreditProvider, MessageGateway, IdentityVerifier {
    /// Creates the stand-in.
    public init() {}

    /// The refusal for the party `what`.
    public static func refusal(_ what: String) -> Refusal {
        Refusal(
            .partyNotConfigured,
            "no \(what) adapter is configured on this server (start it with a real adapter, or --sandbox for tests and demos)")
    }

    public var name: String { "unconfigured" }
    public var partner: String { "unconfigured" }
    public var provider: String { "unconfigured" }
    public var isConfigured: Bool { false }

    public func bindCard(number: String, holderIDNumber: String, holderName: String) async throws -> BoundCard { throw Self.refusal("bank") }
    public func authorise(_ request: ChannelAuthorisation) async throws -> ChannelDecision { throw Self.refusal("bank") }
    public func capture(reference: String, amount: Money) async throws -> ChannelStatus { throw Self.refusal("bank") }
    public func void(reference: String) async throws -> ChannelStatus { throw Self.refusal("bank") }
    public func refund(reference: String, refundReference: String, amount: Money) async throws -> ChannelStatus { throw Self.refusal("bank") }
    public func query(reference: String) async throws -> ChannelStatus { throw Self.refusal("bank") }
    public func available(token: String) async throws -> Money { throw Self.refusal("bank") }
    public func apply(_ application: CreditApplication) async throws -> CreditDecision { throw Self.refusal("credit partner bank") }
    public func repay(token: String, reference: String, principal: Money) async throws { throw Self.refusal("credit partner bank") }
    public func setSuspended(token: String, suspended: Bool) async throws { throw Self.refusal("credit partner bank") }
    public func report(_ record: CreditReport) async throws { throw Self.refusal("credit partner bank") }
    public func send(to phone: String, text: String) async throws { throw Self.refusal("SMS") }
    public func verify(person: Person, evidence: String) async throws -> Bool { throw Self.refusal("face verification") }
}
