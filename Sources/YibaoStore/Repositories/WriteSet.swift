import YibaoCore

/// The rows a money transaction writes, collected after its decision and applied together: the
/// business records, the journal entries with their balance changes, the accumulators, the idempotency
/// result and the outbox row that later becomes the wallet, inbox, webhook and audit projections. Rows
/// of a kind are written by one statement (multi-row `VALUES`, one `CASE` update for every balance), and
/// the statements go to the database together (`SQLExecutor.writeTogether`: on PostgreSQL one
/// statement, which sees the database as it was before it), so no statement of a write set may read
/// rows another writes, but for the owned accounts' creation, which runs first.
package struct WriteSet: Sendable {
    /// A used e-voucher code: (device, step) spent by an institution.
    package struct UsedCode: Sendable {
        package let device: String
        package let step: Int64
        package let institution: String

        package init(device: String, step: Int64, institution: String) {
            self.device = device
            self.step = step
            self.institution = institution
        }
    }

    /// A visit's new state.
    package struct VisitState: Sendable {
        package let id: String
        package let state: YibaoCore.VisitState
        package let settlementID: String?

        package init(id: String, state: YibaoCore.VisitState, settlementID: String?) {
            self.id = id
            self.state = state
            self.settlementID = settlementID
        }
    }

    /// A person's accumulators for a year and pool, as they are after the transaction.
    package struct Accumulators: Sendable {
        package let person: String
        package let year: Int
        package let pool: BenefitPoolKind
        package let value: PoolAccumulators

        package init(person: String, year: Int, pool: BenefitPoolKind, value: PoolAccumulators) {
            self.person = person
            self.year = year
            self.pool = pool
            self.value = value
        }
    }

    /// A journal entry with the actor that caused it.
    package struct Entry: Sendable {
        package let entry: JournalEntry
        package let actor: String

        package init(_ entry: JournalEntry, actor: String) {
            self.entry = entry
            self.actor = actor
        }
    }

    /// The spent code, refused as already used when another request spent it first.
    package var usedCode: UsedCode?
    /// Visits inserted, with the device whose code opened them.
    package var visits: [(visit: Visit, deviceID: String?)] = []
    /// Visits whose state changes.
    package var visitStates: [VisitState] = []
    /// Settlement records inserted.
    package var settlements: [SettlementRecord] = []
    /// Pending settlements completed (their state; the stored document is unchanged).
    package var completedSettlements: [String] = []
    /// Accumulators written.
    package var accumulators: [Accumulators] = []
    /// Journal entries posted.
    package var entries: [Entry] = []
    /// Amounts put on hold (positive) or released (negative) on personal accounts.
    package var holds: [Posting] = []
    /// Channel operations queued (captures after an authorised payment).
    package var channelOperations: [ChannelOperationRepository.Queued] = []
    /// Outbox rows: projections to expand after the commit.
    package var outbox: [OutboxRepository.Row] = []

    package init() {}
}

package enum WriteSetRepository {
    /// Applies a write set in the caller's transaction, every statement in one batch: balances first
    /// (a personal account taken below zero or below its holds fails the CHECK constraint and is refused
    /// with `would_go_negative`, rolling everything back), then every other row.
    package static func apply(_ set: WriteSet, now: Instant, in db: any SQLExecutor) throws {
        let balances = balanceStatements(set, now: now, dialect: db.dialect)
        let ownedUpdate = balances.statements.count - 1
        let ownedCount = balances.ownedCount
        var statements = balances.statements
        if let used = set.usedCode {
            // A code another request spent first fails the insert (its key), and is refused below.
            statements.append(
                SQLStatement(
                    "INSERT INTO used_codes (device_id, step, institution_code, used_at) VALUES (?, ?, ?, ?)",
                    [.text(used.device), .integer(used.step), .text(used.institution), .instant(now)]))
        }
        for (visit, device) in set.visits { statements.append(try VisitRepository.insertStatement(visit, deviceID: device, now: now)) }
        for change in set.visitStates {
            statements.append(
                SQLStatement(
                    "UPDATE visits SET state = ?, settlement_id = ?, updated_at = ? WHERE id = ?",
                    [.text(change.state.rawValue), .text(change.settlementID), .instant(now), .text(change.id)]))
        }
        for record in set.settlements { statements.append(try SettlementRepository.insertStatement(record)) }
        if !set.completedSettlements.isEmpty {
            statements.append(
                SQLStatement(
                    """
                    UPDATE settlements SET state = 'completed', completed_at = ? WHERE state = 'pending'
                    AND id IN (\(placeholders(set.completedSettlements.count)))
                    """,
                    [.instant(now)] + set.completedSettlements.map { .text($0) }))
        }
        if !set.accumulators.isEmpty { statements.append(AccumulatorRepository.upsertStatement(set.accumulators)) }
        if !set.entries.isEmpty {
            statements.append(
                SQLStatement(
                    "INSERT INTO journal_entries (id, kind, reference, created_at) VALUES \(placeholders(set.entries.count, "(?, ?, ?, ?)"))",
                    set.entries.flatMap { [.text($0.entry.id), .text($0.entry.kind.rawValue), .text($0.entry.reference), .instant($0.entry.at)] }))
            let postings = set.entries.flatMap { item in
                item.entry.postings.map {
                    (item.entry.id, LedgerRepository.storageKey($0.account, entry: item.entry.id, dialect: db.dialect), $0.amount)
                }
            }
            statements.append(
                SQLStatement(
                    "INSERT INTO postings (entry_id, account_id, amount) VALUES \(placeholders(postings.count, "(?, ?, ?)"))",
                    postings.flatMap { [SQLValue.text($0.0), .text($0.1), .money($0.2)] }))
        }
        if !set.channelOperations.isEmpty { statements.append(ChannelOperationRepository.insertStatement(set.channelOperations, now: now)) }
        if !set.outbox.isEmpty { statements.append(OutboxRepository.insertStatement(set.outbox, now: now)) }
        guard !statements.isEmpty else { return }
        let entry = set.entries.first?.entry.id ?? "hold"
        let visit = set.visits.first?.visit
        let spendsCode = set.usedCode != nil
        // Only the owned accounts' update reads rows of the set: the accounts created just before it.
        // Every refusal is an error the database raises, so on PostgreSQL the set can go with the
        // transaction's COMMIT instead of being waited for (`SQLExecutor.writeTogether`).
        try db.writeTogether(
            statements, after: balances.created, expecting: ownedCount > 0 ? [ownedUpdate: ownedCount] : [:],
            failure: { error in
                switch error {
                case StoreError.constraint(let detail):
                    return LedgerRepository.overdraw(entry, detail: detail)
                case StoreError.uniqueViolation(let detail) where spendsCode && detail.contains("used_codes"):
                    return Refusal.codeAlreadyUsed
                case StoreError.uniqueViolation(let detail)
                where detail.contains("settlements_pending") || detail.contains("settlements.person_number"):
                    // Another settlement of the patient is waiting for the bank (its pending record is the
                    // patient's payment lock); the account's lock makes the decision see it first, so this
                    // is the index's guard, not the usual refusal.
                    return Refusal.settlementInProgress(nil)
                case StoreError.uniqueViolation(let detail) where detail.contains("visits"):
                    return visit.map(VisitRepository.duplicate) ?? error
                default:
                    return error
                }
            })
    }

    /// Every balance change of the set in at most three statements: the platform's slotted accounts
    /// created on first use by an upsert; personal accounts and credit lines created at zero if new, then
    /// changed by one `CASE` update, holds riding in the same update. (SQLite checks CHECK constraints
    /// on the row an upsert would insert, so a personal account's negative delta cannot ride in one.)
    /// `created` makes the owned accounts at zero, and runs before the rest, which it is read by; the
    /// last of `statements` is then the owned accounts' update, which must change `ownedCount` rows.
    static func balanceStatements(
        _ set: WriteSet, now: Instant, dialect: SQLDialect
    ) -> (created: [SQLStatement], statements: [SQLStatement], ownedCount: Int) {
        var slotted: [String: (AccountID, Money)] = [:]
        var owned: [String: (account: AccountID, balance: Money, held: Money)] = [:]
        var order: [String] = []
        func own(_ account: AccountID, key: String) {
            if owned[key] == nil {
                order.append(key)
                owned[key] = (account, .zero, .zero)
            }
        }
        for item in set.entries {
            for posting in item.entry.postings {
                let key = LedgerRepository.storageKey(posting.account, entry: item.entry.id, dialect: dialect)
                if LedgerRepository.isSlotted(posting.account.kind) {
                    slotted[key] = (posting.account, (slotted[key]?.1 ?? .zero) + posting.amount)
                } else {
                    own(posting.account, key: key)
                    owned[key]!.balance += posting.amount
                }
            }
        }
        for hold in set.holds {
            own(hold.account, key: hold.account.key)
            owned[hold.account.key]!.held += hold.amount
        }
        var statements: [SQLStatement] = []
        if !slotted.isEmpty {
            let rows = slotted.sorted { $0.key < $1.key }
            statements.append(
                SQLStatement(
                    """
                    INSERT INTO accounts (id, kind, owner, balance, held, created_at, updated_at) VALUES \(placeholders(rows.count, "(?, ?, ?, ?, 0, ?, ?)"))
                    ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + excluded.balance, updated_at = excluded.updated_at
                    """,
                    rows.flatMap { key, value -> [SQLValue] in
                        [.text(key), .text(value.0.kind.rawValue), .text(value.0.owner), .money(value.1), .instant(now), .instant(now)]
                    }))
        }
        guard !order.isEmpty else { return ([], statements, 0) }
        let created = SQLStatement(
            """
            INSERT INTO accounts (id, kind, owner, balance, held, created_at, updated_at) VALUES \(placeholders(order.count, "(?, ?, ?, 0, 0, ?, ?)"))
            ON CONFLICT (id) DO NOTHING
            """,
            order.flatMap { key -> [SQLValue] in
                let account = owned[key]!.account
                return [.text(key), .text(account.kind.rawValue), .text(account.owner), .instant(now), .instant(now)]
            })
        let cases = order.map { _ in "WHEN ? THEN ?" }.joined(separator: " ")
        var arguments: [SQLValue] = []
        for key in order { arguments += [.text(key), .money(owned[key]!.balance)] }
        for key in order { arguments += [.text(key), .money(owned[key]!.held)] }
        arguments.append(.instant(now))
        arguments += order.map { .text($0) }
        statements.append(
            SQLStatement(
                """
                UPDATE accounts SET balance = balance + CASE id \(cases) ELSE 0 END, held = held + CASE id \(cases) ELSE 0 END, updated_at = ?
                WHERE id IN (\(placeholders(order.count)))
                """, arguments))
        return ([created], statements, order.count)
    }
}
