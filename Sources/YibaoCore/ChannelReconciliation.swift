/// A movement on a payment channel's daily statement (or on Yibao's side of it): a capture keyed by
/// Yibao's payment reference (settlement, premium or repayment id), or a refund keyed by Yibao's
/// refund reference (the refund or reversal record).
public struct ChannelMovement: Sendable, Hashable, Codable {
    /// `capture` or `refund`.
    public enum Kind: String, Sendable, Hashable, Codable {
        case capture
        case refund
    }

    /// Capture or refund.
    public var kind: Kind
    /// The key: the payment reference of a capture, the refund reference of a refund.
    public var key: String
    /// The amount (positive).
    public var amount: Money
    /// The channel's fee on it (zero on Yibao's side).
    public var fee: Money
    /// When it happened.
    public var at: Instant

    /// Creates a movement.
    public init(kind: Kind, key: String, amount: Money, fee: Money = .zero, at: Instant) {
        self.kind = kind
        self.key = key
        self.amount = amount
        self.fee = fee
        self.at = at
    }
}

/// A payment channel's statement of one China day (对账单): every capture and refund it made.
public struct ChannelStatement: Sendable, Hashable, Codable {
    /// The channel's name (`channel:<name>` in the ledger).
    public var channel: String
    /// The day.
    public var day: CivilDate
    /// The movements.
    public var movements: [ChannelMovement]

    /// Creates a statement.
    public init(channel: String, day: CivilDate, movements: [ChannelMovement]) {
        self.channel = channel
        self.day = day
        self.movements = movements
    }

    /// The fees of the day.
    public var fees: Money { Money.sum(movements.map(\.fee)) }
}

/// A channel that produces daily statements. The sandbox bank makes them from its own books; a real
/// adapter downloads the bank's statement file. A statement of a day not yet over may be partial.
public protocol ChannelStatementSource: Sendable {
    /// The statement of a day.
    func statement(day: CivilDate) async throws -> ChannelStatement
}

/// A disagreement between the channel's statement and Yibao's ledger.
public struct ChannelBreak: Sendable, Hashable, Codable {
    /// What disagrees.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The channel moved money Yibao has no record of (a stray capture, a refund nobody asked for).
        case missingInYibao = "missing_in_yibao"
        /// Yibao's ledger has it and the channel does not (on the day or the next).
        case missingAtChannel = "missing_at_channel"
        /// Both have it with different amounts.
        case amountDiffers = "amount_differs"
    }

    /// The kind.
    public var kind: Kind
    /// Capture or refund.
    public var movement: ChannelMovement.Kind
    /// The key (payment or refund reference).
    public var key: String
    /// The channel's amount, if it has the movement.
    public var channel: Money?
    /// Yibao's amount, if it has the movement.
    public var yibao: Money?
}

/// The result of one day's three-way reconciliation.
public struct ChannelReconciliationResult: Sendable, Hashable, Codable {
    /// The channel.
    public var channel: String
    /// The day.
    public var day: CivilDate
    /// Movements on the statement / in Yibao's ledger that day.
    public var statementMovements: Int
    /// Yibao's movements of the day.
    public var yibaoMovements: Int
    /// Captures and refunds on the statement, and the fees.
    public var captured: Money
    /// Refunded on the statement.
    public var refunded: Money
    /// Fees on the statement.
    public var fees: Money
    /// The breaks.
    public var breaks: [ChannelBreak]
}

/// Three-way reconciliation in pure code: the channel's statement against Yibao's channel postings
/// (which the store ties to the settlements). A bank books a capture when Yibao asks for it, shortly
/// after Yibao's commit — around midnight the next day — so Yibao's movements of a day are looked for on
/// that day's and the next day's statements, and the statement's are looked for in Yibao's movements of
/// the day before, the day and the day after.
public enum ChannelReconciliation {
    /// Compares. `statement` is the day's; `nextDay` the following day's (possibly partial); `yibaoDay`
    /// Yibao's movements of the day; `yibaoAround` Yibao's movements of the day before and after.
    public static func compare(
        statement: ChannelStatement, nextDay: [ChannelMovement], yibaoDay: [ChannelMovement], yibaoAround: [ChannelMovement]
    ) -> ChannelReconciliationResult {
        struct Key: Hashable {
            let kind: ChannelMovement.Kind
            let key: String
        }
        func index(_ movements: [ChannelMovement]) -> [Key: Money] {
            var sums: [Key: Money] = [:]
            for movement in movements { sums[Key(kind: movement.kind, key: movement.key), default: .zero] += movement.amount }
            return sums
        }
        let bank = index(statement.movements)
        let bankNext = index(nextDay)
        let ours = index(yibaoDay)
        let oursAround = index(yibaoAround)
        var breaks: [ChannelBreak] = []
        for (key, amount) in bank.sorted(by: { ($0.key.kind.rawValue, $0.key.key) < ($1.key.kind.rawValue, $1.key.key) }) {
            guard let mine = ours[key] ?? oursAround[key] else {
                breaks.append(ChannelBreak(kind: .missingInYibao, movement: key.kind, key: key.key, channel: amount, yibao: nil))
                continue
            }
            if mine != amount {
                breaks.append(ChannelBreak(kind: .amountDiffers, movement: key.kind, key: key.key, channel: amount, yibao: mine))
            }
        }
        for (key, amount) in ours.sorted(by: { ($0.key.kind.rawValue, $0.key.key) < ($1.key.kind.rawValue, $1.key.key) }) where bank[key] == nil {
            guard let theirs = bankNext[key] else {
                breaks.append(ChannelBreak(kind: .missingAtChannel, movement: key.kind, key: key.key, channel: nil, yibao: amount))
                continue
            }
            if theirs != amount {
                breaks.append(ChannelBreak(kind: .amountDiffers, movement: key.kind, key: key.key, channel: theirs, yibao: amount))
            }
        }
        return ChannelReconciliationResult(
            channel: statement.channel, day: statement.day, statementMovements: statement.movements.count, yibaoMovements: yibaoDay.count,
            captured: Money.sum(statement.movements.filter { $0.kind == .capture }.map(\.amount)),
            refunded: Money.sum(statement.movements.filter { $0.kind == .refund }.map(\.amount)), fees: statement.fees, breaks: breaks)
    }
}

/// An item an operator must look at (异常处理): a channel break, a channel operation that keeps failing,
/// a settlement waiting for its bank too long.
public struct ExceptionItem: Sendable, Hashable, Codable {
    /// What kind.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The channel moved money Yibao has no record of.
        case channelMissingInYibao = "channel_missing_in_yibao"
        /// Yibao has a movement the channel does not.
        case channelMissingAtChannel = "channel_missing_at_channel"
        /// Channel and Yibao disagree on an amount.
        case channelAmountDiffers = "channel_amount_differs"
        /// A capture, refund or partner call failed many times and is still retried.
        case channelOperationFailing = "channel_operation_failing"
        /// A settlement has waited for its bank's answer longer than a hold should last.
        case settlementPendingTooLong = "settlement_pending_too_long"

        /// The kind of a channel break.
        public init(_ kind: ChannelBreak.Kind) {
            switch kind {
            case .missingInYibao: self = .channelMissingInYibao
            case .missingAtChannel: self = .channelMissingAtChannel
            case .amountDiffers: self = .channelAmountDiffers
            }
        }
    }

    /// The item's id.
    public var id: String
    /// The kind.
    public var kind: Kind
    /// What it is about: a payment or refund reference, a channel operation id, a settlement id.
    public var reference: String
    /// What was found.
    public var detail: String
    /// `open` or `resolved`.
    public var state: String
    /// When first found.
    public var createdAt: Instant
    /// When resolved.
    public var resolvedAt: Instant?
    /// By whom (`system` when a later run found it matched).
    public var resolvedBy: String?
    /// How.
    public var resolution: String?

    /// Creates an item.
    public init(
        id: String, kind: Kind, reference: String, detail: String, state: String, createdAt: Instant, resolvedAt: Instant? = nil,
        resolvedBy: String? = nil, resolution: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.reference = reference
        self.detail = detail
        self.state = state
        self.createdAt = createdAt
        self.resolvedAt = resolvedAt
        self.resolvedBy = resolvedBy
        self.resolution = resolution
    }
}
