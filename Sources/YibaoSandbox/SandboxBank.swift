import Foundation
import Synchronization
import YibaoCore
import YibaoStore

/// The built-in sandbox bank: a payment channel that behaves like a bank — debit cards with balances,
/// credit cards with limits, single-payment limits, frozen cards, a risk rule, holds, captures, voids,
/// refunds — with its own records (the `sandbox_*` tables, never the Yibao ledger) and injectable faults:
/// timeouts before or after it processes a call (the caller cannot tell which), unavailability, and
/// delays. Every money-moving call is idempotent on its reference, as a real adapter's must be.
public final class SandboxBank: PaymentChannel {
    /// The largest single payment the risk rule lets through (50,000 yuan).
    public static let riskLimit = Money.yuan(50_000)

    /// Faults to inject into the next calls (tests and demos).
    public struct Faults: Sendable, Hashable {
        /// The next N money-moving calls time out before reaching the bank (nothing processed).
        public var timeoutsBeforeProcessing = 0
        /// The next N money-moving calls are processed, but the answer is lost (a timeout).
        public var timeoutsAfterProcessing = 0
        /// The next N calls find the bank unavailable (nothing processed).
        public var unavailable = 0
        /// Every call waits this long first (load and latency tests).
        public var delayMilliseconds = 0

        /// No faults.
        public init(timeoutsBeforeProcessing: Int = 0, timeoutsAfterProcessing: Int = 0, unavailable: Int = 0, delayMilliseconds: Int = 0) {
            self.timeoutsBeforeProcessing = timeoutsBeforeProcessing
            self.timeoutsAfterProcessing = timeoutsAfterProcessing
            self.unavailable = unavailable
            self.delayMilliseconds = delayMilliseconds
        }
    }

    /// A sandbox card, as the bank's back office sees it.
    public struct Card: Sendable, Hashable, Codable {
        /// The card number.
        public var number: String
        /// The token Yibao stores.
        public var token: String
        /// Debit, credit or medical credit.
        public var kind: CardKind
        /// The bank's name.
        public var bank: String
        /// Debit: the balance.
        public var balance: Money
        /// Credit: the limit.
        public var creditLimit: Money
        /// Credit: used.
        public var used: Money
        /// On hold for authorisations not yet captured.
        public var held: Money
        /// The largest single payment, if limited.
        public var singleLimit: Money?
        /// Active or frozen.
        public var status: String

        /// What can be spent now.
        public var available: Money { kind == .debit ? balance - held : creditLimit - used - held }
    }

    public let name = "sandbox"
    /// The sandbox stands in for a configured bank (demos and tests only).
    public var isConfigured: Bool { true }
    let backend: any StoreBackend
    let clock: any WallClock
    private let faults = Mutex(Faults())

    /// Creates a sandbox bank over a database (its own tables).
    public init(backend: any StoreBackend, clock: any WallClock) {
        self.backend = backend
        self.clock = clock
    }

    /// Replaces the injected faults.
    public func inject(_ new: Faults) { faults.withLock { $0 = new } }

    /// The faults still pending.
    public var pendingFaults: Faults { faults.withLock { $0 } }

    // MARK: Back office

    /// Issues a card to a holder (the bank's back office; demo data and tests).
    public func issueCard(
        holderIDNumber: String, holderName: String, kind: CardKind, balance: Money = .zero, creditLimit: Money = .zero,
        singleLimit: Money? = nil, number chosen: String? = nil
    ) async throws -> Card {
        let clock = self.clock
        return try await backend.write { db in
            try SandboxBank.insertCard(
                holderIDNumber: holderIDNumber, holderName: holderName, kind: kind, balance: balance, creditLimit: creditLimit,
                singleLimit: singleLimit, number: chosen, now: clock.now(), in: db
            )
        }
    }

    /// Issues a card inside a transaction on the bank's tables (bulk seeding).
    static func insertCard(
        holderIDNumber: String, holderName: String, kind: CardKind, balance: Money, creditLimit: Money = .zero, singleLimit: Money? = nil,
        number chosen: String? = nil, now: Instant, in db: any SQLExecutor
    ) throws -> Card {
        let number = chosen ?? SandboxBank.cardNumber(bin: kind == .debit ? "622848" : "625807")
        let card = Card(
            number: number, token: "sbx_" + Secrets.randomToken(bytes: 18), kind: kind, bank: "沙箱银行 Sandbox Bank", balance: balance,
            creditLimit: creditLimit, used: .zero, held: .zero, singleLimit: singleLimit, status: "active"
        )
        try db.execute(
            """
            INSERT INTO sandbox_cards (number, token, holder_id_hash, holder_name, kind, bank, balance, credit_limit, used, held, single_limit,
            status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, 'active', ?, ?)
            """,
            [
                .text(card.number), .text(card.token), .text(Secrets.sha256Hex(holderIDNumber.uppercased())), .text(Masking.name(holderName)),
                .text(kind.rawValue), .text(card.bank), .money(balance), .money(creditLimit), .money(singleLimit), .instant(now), .instant(now),
            ]
        )
        return card
    }

    /// Sets a card's status (`active`, `frozen`) or balance.
    public func update(number: String, status: String? = nil, balance: Money? = nil, creditLimit: Money? = nil) async throws {
        try await backend.write { db in
            if let status { try db.execute("UPDATE sandbox_cards SET status = ? WHERE number = ?", [.text(status), .text(number)]) }
            if let balance { try db.execute("UPDATE sandbox_cards SET balance = ? WHERE number = ?", [.money(balance), .text(number)]) }
            if let creditLimit { try db.execute("UPDATE sandbox_cards SET credit_limit = ? WHERE number = ?", [.money(creditLimit), .text(number)]) }
        }
    }

    /// A card by number or token.
    public func card(_ numberOrToken: String) async throws -> Card? {
        try await backend.read { db in
            try db.queryOne("SELECT * FROM sandbox_cards WHERE number = ? OR token = ?", [.text(numberOrToken), .text(numberOrToken)]).map(
                SandboxBank.decode)
        }
    }

    /// Every operation the bank recorded for a reference prefix (tests count charges with it).
    public func operations() async throws -> [(reference: String, state: String, amount: Money, captured: Money, refunded: Money)] {
        try await backend.read { db in
            try db.query("SELECT reference, state, amount, captured, refunded FROM sandbox_operations ORDER BY reference", []).map {
                (try $0.string("reference"), try $0.string("state"), try $0.money("amount"), try $0.money("captured"), try $0.money("refunded"))
            }
        }
    }

    // MARK: PaymentChannel

    public func bindCard(number: String, holderIDNumber: String, holderName: String) async throws -> BoundCard {
        try await enter(moneyMoving: false)
        let compact = number.filter(\.isASCIIDigit)
        guard compact.count >= 16, compact.count <= 19, Luhn.isValid(compact) else { throw ChannelError.bindingRefused("not a valid card number") }
        guard let card = try await card(compact) else { throw ChannelError.bindingRefused("the bank does not know this card") }
        let holderHash = Secrets.sha256Hex(holderIDNumber.uppercased())
        let matches = try await backend.read { db in
            try db.queryOne("SELECT holder_id_hash FROM sandbox_cards WHERE number = ?", [.text(compact)])?.string("holder_id_hash") == holderHash
        }
        guard matches else { throw ChannelError.bindingRefused("the card is not in this person's name") }
        guard card.status == "active" else { throw ChannelError.bindingRefused("the card is frozen") }
        return BoundCard(token: card.token, masked: SandboxBank.mask(compact), kind: card.kind, bank: card.bank)
    }

    public func authorise(_ request: ChannelAuthorisation) async throws -> ChannelDecision {
        let lostAnswer = try await enter(moneyMoving: true)
        precondition(request.amount.isPositive, "authorise a positive amount")
        let clock = self.clock
        let decision: ChannelDecision = try await backend.write { db in
            let now = clock.now()
            // The card's row is locked first: two authorisations of the same reference sent at once (a retry
            // racing the original) are answered one after the other, the second with the first's decision,
            // as a bank answers a repeated reference.
            // One batch: the card locked, then the reference looked up.
            let (card, existing) = try db.fetch(
                SQLRead.one("SELECT * FROM sandbox_cards WHERE token = ? FOR UPDATE", [.text(request.token)], decode: SandboxBank.decode),
                SQLRead.one("SELECT state, decline_reason FROM sandbox_operations WHERE reference = ?", [.text(request.reference)]) { $0 })
            if let existing {
                let state = try existing.string("state")
                if state == "declined" { return .declined(try existing.enumeration("decline_reason")) }
                return .approved
            }
            func record(_ state: String, _ reason: DeclineReason?, with statements: [SQLStatement] = []) throws {
                let insert = SQLStatement(
                    """
                    INSERT INTO sandbox_operations (reference, token, amount, state, captured, refunded, decline_reason, description, created_at, updated_at)
                    VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?, ?) ON CONFLICT (reference) DO NOTHING
                    """,
                    [
                        .text(request.reference), .text(request.token), .money(request.amount), .text(state), .text(reason?.rawValue),
                        .text(request.description), .instant(now), .instant(now),
                    ]
                )
                // The operation and the card's hold: neither reads the other's row.
                try db.writeTogether([insert] + statements)
            }
            guard let card else {
                try record("declined", .unknownCard)
                return .declined(.unknownCard)
            }
            let reason: DeclineReason? =
                card.status != "active"
                ? (card.kind == .medicalCredit && card.status == "suspended" ? .creditSuspended : .cardBlocked)
                : request.amount > SandboxBank.riskLimit
                    ? .suspectedFraud
                    : card.singleLimit.map { request.amount > $0 } ?? false
                        ? .limitExceeded
                        : request.amount > card.available ? (card.kind == .debit ? .insufficientFunds : .limitExceeded) : nil
            if let reason {
                try record("declined", reason)
                return .declined(reason)
            }
            try record(
                "authorised", nil,
                with: [
                    SQLStatement(
                        "UPDATE sandbox_cards SET held = held + ?, updated_at = ? WHERE token = ?",
                        [.money(request.amount), .instant(now), .text(request.token)])
                ])
            return .approved
        }
        if lostAnswer { throw ChannelError.timeout }
        return decision
    }

    public func capture(reference: String, amount: Money) async throws -> ChannelStatus {
        let lostAnswer = try await enter(moneyMoving: true)
        let status: ChannelStatus = try await transition(reference) { db, operation, now in
            switch operation.state {
            case "authorised":
                precondition(amount <= operation.amount && !amount.isNegative, "capture at most the authorised amount")
                let spend = operation.kind == .debit ? "balance = balance - ?" : "used = used + ?"
                try db.writeTogether([
                    SQLStatement(
                        "UPDATE sandbox_cards SET held = held - ?, \(spend), updated_at = ? WHERE token = ?",
                        [.money(operation.amount), .money(amount), .instant(now), .text(operation.token)]),
                    SQLStatement(
                        "UPDATE sandbox_operations SET state = 'captured', captured = ?, updated_at = ?, captured_at = ? WHERE reference = ?",
                        [.money(amount), .instant(now), .instant(now), .text(reference)]),
                ])
                return .captured(amount: amount, refunded: .zero)
            default:
                return operation.status
            }
        }
        if lostAnswer { throw ChannelError.timeout }
        return status
    }

    public func void(reference: String) async throws -> ChannelStatus {
        let lostAnswer = try await enter(moneyMoving: true)
        let status: ChannelStatus = try await transition(reference) { db, operation, now in
            guard operation.state == "authorised" else { return operation.status }
            try db.execute(
                "UPDATE sandbox_cards SET held = held - ?, updated_at = ? WHERE token = ?",
                [.money(operation.amount), .instant(now), .text(operation.token)]
            )
            try db.execute("UPDATE sandbox_operations SET state = 'voided', updated_at = ? WHERE reference = ?", [.instant(now), .text(reference)])
            return .voided
        }
        if lostAnswer { throw ChannelError.timeout }
        return status
    }

    public func refund(reference: String, refundReference: String, amount: Money) async throws -> ChannelStatus {
        let lostAnswer = try await enter(moneyMoving: true)
        let status: ChannelStatus = try await transition(reference) { db, operation, now in
            guard operation.state == "captured" else { return operation.status }
            if try db.queryOne("SELECT amount FROM sandbox_refunds WHERE refund_reference = ?", [.text(refundReference)]) != nil {
                return operation.status
            }
            guard operation.refunded + amount <= operation.captured, amount.isPositive else {
                throw ChannelError.bindingRefused("refund exceeds what was captured")
            }
            let give = operation.kind == .debit ? "balance = balance + ?" : "used = used - ?"
            try db.execute(
                "UPDATE sandbox_cards SET \(give), updated_at = ? WHERE token = ?", [.money(amount), .instant(now), .text(operation.token)])
            try db.execute(
                "UPDATE sandbox_operations SET refunded = refunded + ?, updated_at = ? WHERE reference = ?",
                [.money(amount), .instant(now), .text(reference)]
            )
            try db.execute(
                "INSERT INTO sandbox_refunds (refund_reference, reference, amount, created_at) VALUES (?, ?, ?, ?)",
                [.text(refundReference), .text(reference), .money(amount), .instant(now)]
            )
            return .captured(amount: operation.captured, refunded: operation.refunded + amount)
        }
        if lostAnswer { throw ChannelError.timeout }
        return status
    }

    public func query(reference: String) async throws -> ChannelStatus {
        try await enter(moneyMoving: false)
        return try await backend.read { db in try SandboxBank.operation(reference, lock: false, in: db)?.status ?? .unknown }
    }

    public func available(token: String) async throws -> Money {
        try await enter(moneyMoving: false)
        guard let card = try await card(token) else { throw ChannelError.bindingRefused("unknown card") }
        return card.available
    }

    // MARK: Internals

    /// Applies injected faults; returns true when the answer of a processed call must be lost.
    @discardableResult
    func enter(moneyMoving: Bool) async throws -> Bool {
        let (delay, outcome): (Int, Int) = faults.withLock { faults in
            let delay = faults.delayMilliseconds
            if faults.unavailable > 0 {
                faults.unavailable -= 1
                return (delay, 1)
            }
            guard moneyMoving else { return (delay, 0) }
            if faults.timeoutsBeforeProcessing > 0 {
                faults.timeoutsBeforeProcessing -= 1
                return (delay, 2)
            }
            if faults.timeoutsAfterProcessing > 0 {
                faults.timeoutsAfterProcessing -= 1
                return (delay, 3)
            }
            return (delay, 0)
        }
        if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
        switch outcome {
        case 1: throw ChannelError.unavailable
        case 2: throw ChannelError.timeout
        case 3: return true
        default: return false
        }
    }

    struct Operation {
        let token: String
        let kind: CardKind
        let amount: Money
        let state: String
        let captured: Money
        let refunded: Money
        let declineReason: DeclineReason?

        var status: ChannelStatus {
            switch state {
            case "authorised": return .authorised(amount: amount)
            case "captured": return .captured(amount: captured, refunded: refunded)
            case "voided": return .voided
            default: return .declined(declineReason ?? .unknownCard)
            }
        }
    }

    static func operation(_ reference: String, lock: Bool = true, in db: any SQLExecutor) throws -> Operation? {
        try db.queryOne(
            """
            SELECT o.token, o.amount, o.state, o.captured, o.refunded, o.decline_reason,
            COALESCE((SELECT c.kind FROM sandbox_cards c WHERE c.token = o.token), 'debit') AS kind
            FROM sandbox_operations o WHERE o.reference = ?\(lock ? " FOR UPDATE" : "")
            """,
            [.text(reference)]
        ).map { row in
            Operation(
                token: try row.string("token"), kind: try row.enumeration("kind"), amount: try row.money("amount"), state: try row.string("state"),
                captured: try row.money("captured"), refunded: try row.money("refunded"),
                declineReason: try row.optionalString("decline_reason").flatMap(DeclineReason.init(rawValue:))
            )
        }
    }

    private func transition(
        _ reference: String, _ apply: @escaping @Sendable (any SQLExecutor, Operation, Instant) throws -> ChannelStatus
    ) async throws
        -> ChannelStatus
    {
        let clock = self.clock
        return try await backend.write { db in
            guard let operation = try SandboxBank.operation(reference, in: db) else { return .unknown }
            return try apply(db, operation, clock.now())
        }
    }

    static func decode(_ row: SQLRow) throws -> Card {
        Card(
            number: try row.string("number"), token: try row.string("token"), kind: try row.enumeration("kind"), bank: try row.string("bank"),
            balance: try row.money("balance"), creditLimit: try row.money("credit_limit"), used: try row.money("used"), held: try row.money("held"),
            singleLimit: try row.optionalMoney("single_limit"), status: try row.string("status")
        )
    }

    /// A random 16-digit card number with a valid Luhn digit.
    public static func cardNumber(bin: String) -> String {
        var digits = bin
        while digits.count < 15 { digits += String(Int.random(in: 0...9)) }
        return digits + String(Luhn.checkDigit(digits))
    }

    /// `6228 **** **** 1234`.
    public static func mask(_ number: String) -> String {
        String(number.prefix(4)) + " **** **** " + String(number.suffix(4))
    }
}
