import Foundation
import YibaoCore
import YibaoStore

/// A person's balances: the personal account, any credit line, and the bound cards.
public struct WalletSummary: Sendable, Hashable, Codable {
    /// A card's balance as its bank reports it (nil when the bank did not answer).
    public struct CardBalance: Sendable, Hashable, Codable {
        /// The funding source.
        public var source: FundingSourceSummary
        /// Available balance or credit.
        public var available: Money?
        /// The default for cash parts.
        public var isDefault: Bool
    }

    /// The person.
    public var personNumber: String
    /// 个人账户 balance.
    public var accountBalance: Money
    /// On hold for a payment in flight.
    public var accountHeld: Money
    /// What can be spent now.
    public var accountAvailable: Money
    /// Cards and credit lines.
    public var cards: [CardBalance]
}

/// A page of history, newest first; `next_cursor` fetches the older page.
public struct HistoryPage: Sendable, Hashable, Codable {
    /// The movements.
    public var events: [WalletEvent]
    /// The cursor of the next (older) page, nil at the end.
    public var nextCursor: String?
}

/// A history query.
public struct HistoryQuery: Sendable, Hashable {
    /// From (inclusive).
    public var from: Instant?
    /// Until (exclusive).
    public var until: Instant?
    /// Only these kinds (all when empty).
    public var kinds: [WalletEventKind]
    /// Only this institution.
    public var institution: String?
    /// Older than this cursor.
    public var cursor: String?
    /// Page size (1 ... 200).
    public var limit: Int

    /// The largest page.
    public static let limitMax = 200

    /// Creates a query.
    public init(
        from: Instant? = nil, until: Instant? = nil, kinds: [WalletEventKind] = [], institution: String? = nil, cursor: String? = nil, limit: Int = 50
    ) {
        self.from = from
        self.until = until
        self.kinds = kinds
        self.institution = institution
        self.cursor = cursor
        self.limit = limit
    }
}

/// One line of the drug and item list: what was bought, where, when, and who paid.
public struct PurchasedItem: Sendable, Hashable, Codable {
    /// The settlement.
    public var settlementId: String
    /// When.
    public var settledAt: Instant
    /// Where.
    public var institution: InstitutionSummary
    /// 医疗目录编码.
    public var itemCode: String
    /// Name.
    public var name: String
    /// Specification.
    public var specification: String
    /// Drug, service or material.
    public var category: CatalogueCategory
    /// Quantity.
    public var quantity: Quantity
    /// Amount.
    public var amount: Money
    /// Paid by the funds.
    public var fundPaid: Money
    /// Paid by the personal account(s).
    public var accountPaid: Money
    /// Paid in cash.
    public var cashPaid: Money
}

/// A page of the drug and item list.
public struct PurchasedItemsPage: Sendable, Hashable, Codable {
    /// The items, newest settlement first.
    public var items: [PurchasedItem]
    /// The cursor of the next page.
    public var nextCursor: String?
}

/// A monthly statement (月度账单). Its account figures are the ledger's: the opening and closing balances
/// are sums of postings, and the movements' account parts add up to the difference.
public struct Statement: Sendable, Hashable, Codable {
    /// The person.
    public var personNumber: String
    /// `YYYY-MM`.
    public var month: String
    /// The personal account at the start of the month (China Standard Time).
    public var openingBalance: Money
    /// At the end.
    public var closingBalance: Money
    /// Money into the account (refunds, credits).
    public var accountIn: Money
    /// Money out of the account (care, family mutual aid given).
    public var accountOut: Money
    /// Care settled this month (net of reversals and refunds).
    public var careTotal: Money
    /// Of which the funds paid.
    public var fundPaid: Money
    /// Of which the person's own account paid.
    public var accountPaid: Money
    /// Of which family members' accounts paid.
    public var mutualAidReceived: Money
    /// Of which cash or cards paid.
    public var cashPaid: Money
    /// This person's account paid for family members.
    public var mutualAidGiven: Money
    /// Contributions paid.
    public var premiums: Money
    /// Settlements this month (net of reversals).
    public var settlementCount: Int
    /// Every movement of the month, oldest first.
    public var events: [WalletEvent]
}

extension Platform {
    /// The most rows a CSV export holds.
    public static let exportRowsMax = 10_000

    /// A person's balances.
    public func wallet(person: String) async throws -> WalletSummary {
        await flushProjections()
        let balance = try await accountBalance(of: person)
        var cards: [WalletSummary.CardBalance] = []
        for source in try await fundingSources(person: person) {
            let available = try? await channel.available(token: source.token)
            cards.append(.init(source: FundingSourceSummary(source), available: available, isDefault: source.isDefault))
        }
        return WalletSummary(
            personNumber: person, accountBalance: balance.balance, accountHeld: balance.held, accountAvailable: balance.balance - balance.held,
            cards: cards
        )
    }

    /// A page of a person's history, newest first.
    public func history(person: String, query: HistoryQuery) async throws -> HistoryPage {
        await flushProjections()
        guard (1...HistoryQuery.limitMax).contains(query.limit) else { throw Refusal.invalid("limit", "limit is 1 to \(HistoryQuery.limitMax)") }
        let before: Int64?
        if let cursor = query.cursor {
            guard let value = Int64(cursor), value > 0 else { throw Refusal.invalid("cursor", "use the next_cursor of the previous page") }
            before = value
        } else {
            before = nil
        }
        let filter = WalletRepository.Filter(from: query.from, until: query.until, kinds: query.kinds, institution: query.institution)
        let events = try await read { db, _ in
            try WalletRepository.page(person: person, beforeSeq: before, limit: query.limit + 1, filter: filter, in: db)
        }
        let page = Array(events.prefix(query.limit))
        return HistoryPage(events: page, nextCursor: events.count > query.limit ? page.last.map { String($0.seq) } : nil)
    }

    /// The whole history matching a query as CSV (at most `exportRowsMax` rows), amounts in yuan.
    public func historyCSV(person: String, query: HistoryQuery) async throws -> String {
        await flushProjections()
        var csv = CSV.line([
            "seq", "time", "kind", "counterparty", "institution", "total", "fund", "account", "mutual_aid", "cash", "reference", "actor",
        ])
        var page = query
        page.limit = HistoryQuery.limitMax
        var rows = 0
        while rows < Platform.exportRowsMax {
            let result = try await history(person: person, query: page)
            for event in result.events {
                csv += CSV.line([
                    String(event.seq), event.at.iso8601, event.kind.rawValue, event.counterparty, event.institutionCode ?? "",
                    event.total.description,
                    event.fund.description, event.account.description, event.mutualAid.description, event.cash.description, event.reference,
                    event.actor,
                ])
            }
            rows += result.events.count
            guard let next = result.nextCursor else { break }
            page.cursor = next
        }
        return csv
    }

    /// The drugs and items a person bought (completed settlements, net of refunds; reversed ones left
    /// out), newest first.
    public func purchasedItems(
        person: String, from: Instant?, until: Instant?, institution: String?, cursor: String?, limit: Int = 20
    ) async throws
        -> PurchasedItemsPage
    {
        await flushProjections()
        guard (1...100).contains(limit) else { throw Refusal.invalid("limit", "limit is 1 to 100 settlements") }
        let after: (Int64, String)?
        if let cursor {
            let parts = cursor.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, let time = Int64(parts[0]) else { throw Refusal.invalid("cursor", "use the next_cursor of the previous page") }
            after = (time, String(parts[1]))
        } else {
            after = nil
        }
        return try await read { db, _ in
            var clauses = ["person_number = ?", "kind = 'settlement'", "state = 'completed'", "reversed_by IS NULL"]
            var arguments: [SQLValue] = [.text(person)]
            if let from { clauses.append("created_at >= ?"); arguments.append(.instant(from)) }
            if let until { clauses.append("created_at < ?"); arguments.append(.instant(until)) }
            if let institution { clauses.append("institution_code = ?"); arguments.append(.text(institution)) }
            if let after {
                clauses.append("(created_at < ? OR (created_at = ? AND id < ?))")
                arguments += [.integer(after.0), .integer(after.0), .text(after.1)]
            }
            let rows = try db.query(
                "SELECT id, created_at, document, state, reversed_by FROM settlements WHERE \(clauses.joined(separator: " AND ")) ORDER BY created_at DESC, id DESC LIMIT \(limit + 1)",
                arguments
            )
            var items: [PurchasedItem] = []
            for row in rows.prefix(limit) {
                let record = try SettlementRepository.decode(row)
                let standing = SettlementStanding.of(record, refunds: try SettlementRepository.refunds(of: record.id, in: db))
                for line in standing.liveLines {
                    items.append(
                        PurchasedItem(
                            settlementId: record.id, settledAt: record.settledAt, institution: record.institution, itemCode: line.split.itemCode,
                            name: line.split.itemName, specification: line.split.specification, category: line.split.category,
                            quantity: line.split.quantity,
                            amount: line.split.amount, fundPaid: line.fundPaid, accountPaid: line.accountPaid, cashPaid: line.cashPaid
                        )
                    )
                }
            }
            let next = rows.count > limit ? rows[limit - 1] : nil
            return PurchasedItemsPage(items: items, nextCursor: try next.map { "\(try $0.int64("created_at"))_\(try $0.string("id"))" })
        }
    }

    /// A month's statement (`YYYY-MM`, China Standard Time).
    public func statement(person: String, month: String) async throws -> Statement {
        await flushProjections()
        guard let first = PremiumSchedule.month(month) else { throw Refusal.invalid("month", "month is YYYY-MM") }
        let start = first.startInChina
        let end = first.firstOfNextMonth.startInChina
        return try await read { db, _ in
            let account = AccountID.personal(person).key
            let opening =
                try db.queryOne(
                    """
                    SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS total FROM postings p JOIN journal_entries e ON e.id = p.entry_id
                    WHERE p.account_id = ? AND e.created_at < ?
                    """,
                    [.text(account), .instant(start)]
                )?.money("total") ?? .zero
            let closing =
                try db.queryOne(
                    """
                    SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS total FROM postings p JOIN journal_entries e ON e.id = p.entry_id
                    WHERE p.account_id = ? AND e.created_at < ?
                    """,
                    [.text(account), .instant(end)]
                )?.money("total") ?? .zero
            let events = try db.query(
                "SELECT * FROM wallet_events WHERE person_number = ? AND at >= ? AND at < ? ORDER BY seq",
                [.text(person), .instant(start), .instant(end)]
            ).map(WalletRepository.decode)
            let care = events.filter { [.settlement, .reversal, .refund].contains($0.kind) }
            let accountIn = Money.sum(events.map { $0.account.isNegative ? -$0.account : .zero })
            let accountOut = Money.sum(events.map { $0.account.isPositive ? $0.account : .zero })
            return Statement(
                personNumber: person, month: month, openingBalance: opening, closingBalance: closing, accountIn: accountIn, accountOut: accountOut,
                careTotal: Money.sum(care.map(\.total)), fundPaid: Money.sum(care.map(\.fund)), accountPaid: Money.sum(care.map(\.account)),
                mutualAidReceived: Money.sum(care.map(\.mutualAid)), cashPaid: Money.sum(care.map(\.cash)),
                mutualAidGiven: Money.sum(events.filter { $0.kind == .mutualAidGiven }.map(\.account)),
                premiums: Money.sum(events.filter { $0.kind == .premium }.map(\.total)),
                settlementCount: care.filter { $0.kind == .settlement }.count - care.filter { $0.kind == .reversal }.count, events: events
            )
        }
    }

    // MARK: Inbox

    /// A page of a person's inbox, newest first.
    public func inbox(person: String, cursor: Int64?, limit: Int = 50) async throws -> [InboxMessage] {
        await flushProjections()
        guard (1...200).contains(limit) else { throw Refusal.invalid("limit", "limit is 1 to 200") }
        return try await read { db, _ in try WalletRepository.inbox(person: person, beforeSeq: cursor, limit: limit, in: db) }
    }

    /// Marks a person's messages read up to a number.
    public func markRead(person: String, through seq: Int64) async throws -> Int {
        await flushProjections()
        return try await write { db, now in try WalletRepository.markRead(person: person, throughSeq: seq, now: now, in: db) }
    }
}
