import YibaoCore

/// The journal: entries, postings and account balances, written in the caller's transaction.
package enum LedgerRepository {
    /// A personal account's balance and the part of it on hold, read under a row lock.
    package struct Balance: Sendable, Hashable {
        package let balance: Money
        package let held: Money
        package var available: Money { balance - held }
    }

    /// The audit record of an entry: the full postings, so the audit chain is a tamper-evident copy of
    /// the ledger. Written by hand (every settlement writes one, on the writer): the object Foundation's
    /// encoder makes, its keys in byte order.
    package struct AuditedEntry: Encodable, JSONWritable {
        let entry: String
        let kind: EntryKind
        let postings: [String: Int64]

        package func write(to json: inout JSONWriter) {
            json.object { json in
                json.field("entry", entry)
                json.field("kind", kind.rawValue)
                json.key("postings", "postings")
                json.object { json in
                    for (account, fen) in postings.sorted(by: { $0.key < $1.key }) {
                        json.dynamicKey(account)
                        json.integer(fen)
                    }
                }
            }
        }
    }

    /// The platform's own accounts (funds, what is owed to institutions, channels, contributions, credit
    /// partners) are touched by nearly every settlement. On PostgreSQL one row each would make every
    /// settlement wait for the previous one's commit, so each is kept in `slots` rows (`fund:…#0` …
    /// `#15`); an entry posts to the slot its id hashes to, and the account's balance is the sum of its
    /// slots. Personal accounts and credit lines (one person's, checked against) stay one row.
    ///
    /// SQLite has one writer, so no settlement ever waits for another's row there: every entry posts to
    /// slot 0. Sixteen slots would only spread each batch's postings over sixteen times as many pages of
    /// the `postings_account` index (a fifth of the log's pages on the card path). Rows an older build
    /// left in other slots stay valid: a balance is always the sum of every slot.
    package static func slots(_ dialect: SQLDialect) -> UInt64 {
        switch dialect {
        case .sqlite: 1
        case .postgres: 16
        }
    }

    /// Whether an account kind is kept in slots.
    package static func isSlotted(_ kind: AccountKind) -> Bool { kind != .personal && kind != .creditLine }

    /// The row an entry's posting to an account goes to.
    package static func storageKey(_ account: AccountID, entry: String, dialect: SQLDialect) -> String {
        guard isSlotted(account.kind) else { return account.key }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in entry.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return account.key + "#" + String(hash % slots(dialect))
    }

    /// The account a stored row belongs to (its slot suffix removed).
    package static func account(storageKey: String) -> AccountID? {
        AccountID(key: storageKey.firstIndex(of: "#").map { String(storageKey[..<$0]) } ?? storageKey)
    }

    /// Posts an entry: the entry row, every account's balance (created on first use), the postings,
    /// and the audit record. A posting that would take a personal account below zero (or below what is
    /// on hold) fails the database's CHECK constraint, which rolls the whole transaction back.
    package static func post(_ entry: JournalEntry, actor: String, in db: any SQLExecutor) throws {
        try audit(entry, actor: actor, in: db)
        try db.execute(
            "INSERT INTO journal_entries (id, kind, reference, created_at) VALUES (?, ?, ?, ?)",
            [.text(entry.id), .text(entry.kind.rawValue), .text(entry.reference), .instant(entry.at)]
        )
        // Create accounts on first use at zero, then apply every delta in one statement. (SQLite checks
        // CHECK constraints on the row an upsert would insert, so deltas cannot ride in the INSERT.)
        let keys = entry.postings.map { storageKey($0.account, entry: entry.id, dialect: db.dialect) }
        // Apply every delta in one statement; accounts used for the first time are created at zero and
        // then updated. (SQLite checks CHECK constraints on the row an upsert would insert, so deltas
        // cannot ride in an INSERT.)
        func apply(_ pairs: [(String, Posting)]) throws -> Int {
            let cases = Array(repeating: "WHEN ? THEN ?", count: pairs.count).joined(separator: " ")
            let marks = placeholders(pairs.count)
            do {
                return try db.execute(
                    "UPDATE accounts SET balance = balance + CASE id \(cases) ELSE 0 END, updated_at = ? WHERE id IN (\(marks))",
                    pairs.flatMap { [SQLValue.text($0.0), .money($0.1.amount)] } + [.instant(entry.at)] + pairs.map { .text($0.0) }
                )
            } catch StoreError.constraint(let detail) {
                throw LedgerRepository.overdraw(entry.id, detail: detail)
            }
        }
        let pairs = Array(zip(keys, entry.postings))
        if try apply(pairs) != pairs.count {
            let existing = Set(
                try db.query(
                    "SELECT id FROM accounts WHERE id IN (\(placeholders(keys.count)))",
                    keys.map { .text($0) }
                )
                .map { try $0.string("id") })
            let missing = pairs.filter { !existing.contains($0.0) }
            let rows = placeholders(missing.count, "(?, ?, ?, 0, 0, ?, ?)")
            try db.execute(
                "INSERT INTO accounts (id, kind, owner, balance, held, created_at, updated_at) VALUES \(rows) ON CONFLICT (id) DO NOTHING",
                missing.flatMap { key, posting -> [SQLValue] in
                    [.text(key), .text(posting.account.kind.rawValue), .text(posting.account.owner), .instant(entry.at), .instant(entry.at)]
                }
            )
            let changed = try apply(missing)
            precondition(changed == missing.count, "every posted account exists")
        }
        let postingRows = placeholders(entry.postings.count, "(?, ?, ?)")
        try db.execute(
            "INSERT INTO postings (entry_id, account_id, amount) VALUES \(postingRows)",
            zip(keys, entry.postings).flatMap { [SQLValue.text(entry.id), .text($0), .money($1.amount)] }
        )
    }

    /// Appends an entry's audit record: its postings, so the audit chain is a tamper-evident copy of the
    /// ledger. `post` does it in the entry's own transaction; entries of a write set get theirs from the
    /// projection of their outbox row.
    package static func audit(_ entry: JournalEntry, actor: String, in db: any SQLExecutor) throws {
        var writes = ProjectionWrites()
        audit(entry, actor: actor, into: &writes)
        try ProjectionRepository.write(writes, in: db)
    }

    package static func audit(_ entry: JournalEntry, actor: String, into writes: inout ProjectionWrites) {
        let audited = AuditedEntry(
            entry: entry.id, kind: entry.kind, postings: Dictionary(uniqueKeysWithValues: entry.postings.map { ($0.account.key, $0.amount.fen) }))
        writes.audit(
            actor: actor, action: "ledger.\(entry.kind.rawValue)", subject: entry.reference,
            detail: String(decoding: JSONWriter.bytes(audited, keys: .storage), as: UTF8.self), at: entry.at)
    }

    /// The journal entry posted for a reference (a settlement, reversal or refund), read back; nil when
    /// none was.
    package static func entry(reference: String, in db: any SQLExecutor) throws -> JournalEntry? {
        let rows = try db.query(
            """
            SELECT e.id, e.kind, e.created_at, p.account_id, p.amount FROM journal_entries e JOIN postings p ON p.entry_id = e.id
            WHERE e.reference = ? ORDER BY e.id
            """, [.text(reference)])
        guard let first = rows.first else { return nil }
        let id = try first.string("id")
        var movements: [Posting] = []
        for row in rows where try row.string("id") == id {
            guard let account = LedgerRepository.account(storageKey: try row.string("account_id")) else { continue }
            movements.append(Posting(account, try row.money("amount")))
        }
        return JournalEntry(
            id: id, kind: try first.enumeration("kind"), reference: reference, at: try first.instant("created_at"), movements: movements)
    }

    /// Creates an account with a zero balance if it does not exist (slotted accounts are created slot
    /// by slot as entries post to them).
    package static func ensure(_ account: AccountID, now: Instant, in db: any SQLExecutor) throws {
        guard !isSlotted(account.kind) else { return }
        try db.execute(
            "INSERT INTO accounts (id, kind, owner, balance, held, created_at, updated_at) VALUES (?, ?, ?, 0, 0, ?, ?) ON CONFLICT (id) DO NOTHING",
            [.text(account.key), .text(account.kind.rawValue), .text(account.owner), .instant(now), .instant(now)]
        )
    }

    /// Reads (and on PostgreSQL locks until commit) an account's balance; zero for an account not yet created.
    package static func lockBalance(_ account: AccountID, in db: any SQLExecutor) throws -> Balance {
        try db.fetch(lockBalance(account))
    }

    /// The read of `lockBalance(_:in:)`, to send in a batch.
    package static func lockBalance(_ account: AccountID) -> SQLRead<Balance> {
        if isSlotted(account.kind) {
            // "#" sorts before "$": the slots of an account are exactly the ids in [key#, key$).
            return SQLRead(
                "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS balance, CAST(COALESCE(SUM(held), 0) AS BIGINT) AS held FROM accounts WHERE id >= ? AND id < ?",
                [.text(account.key + "#"), .text(account.key + "$")], decode: decodeBalance)
        }
        return SQLRead("SELECT balance, held FROM accounts WHERE id = ? FOR UPDATE", [.text(account.key)], decode: decodeBalance)
    }

    private static func decodeBalance(_ rows: [SQLRow]) throws -> Balance {
        guard let row = rows.first else { return Balance(balance: .zero, held: .zero) }
        return Balance(balance: try row.money("balance"), held: try row.money("held"))
    }

    /// Reads an account's balance without locking.
    package static func balance(_ account: AccountID, in db: any SQLExecutor) throws -> Balance {
        if isSlotted(account.kind) {
            // "#" sorts before "$": the slots of an account are exactly the ids in [key#, key$).
            let row = try db.queryOne(
                "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS balance, CAST(COALESCE(SUM(held), 0) AS BIGINT) AS held FROM accounts WHERE id >= ? AND id < ?",
                [.text(account.key + "#"), .text(account.key + "$")])
            return Balance(balance: try row?.money("balance") ?? .zero, held: try row?.money("held") ?? .zero)
        }
        guard let row = try db.queryOne("SELECT balance, held FROM accounts WHERE id = ?", [.text(account.key)]) else {
            return Balance(balance: .zero, held: .zero)
        }
        return Balance(balance: try row.money("balance"), held: try row.money("held"))
    }

    /// Changes the amount on hold of a personal account (reserve before a payment party answers).
    package static func hold(_ account: AccountID, delta: Money, now: Instant, in db: any SQLExecutor) throws {
        do {
            try db.execute("UPDATE accounts SET held = held + ?, updated_at = ? WHERE id = ?", [.money(delta), .instant(now), .text(account.key)])
        } catch StoreError.constraint(let detail) {
            throw LedgerRepository.overdraw("hold on \(account)", detail: detail)
        }
    }
}

extension LedgerRepository {
    /// The refusal of a write that would take a personal account below zero or below what is on hold.
    /// Business code checks balances under lock before posting, so reaching the database's CHECK
    /// constraint means a race the locks did not cover: the transaction is rolled back and the caller
    /// told, never a crash and never a 500.
    package static func overdraw(_ what: String, detail: String) -> Refusal {
        Refusal(.wouldGoNegative, "this would take a personal account below zero or below what is on hold (\(what)); nothing was written")
    }
}
