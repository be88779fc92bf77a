import YibaoCore
import YibaoStore

/// An operator as administrators see them.
public struct OperatorView: Sendable, Hashable, Codable {
    /// The login name.
    public var name: String
    /// The role.
    public var role: OperatorRole
    /// When the operator was created.
    public var createdAt: Instant
    /// When the operator was disabled (their tokens stop working).
    public var disabledAt: Instant?
    /// Live tokens.
    public var liveTokens: Int
}

/// An operator's bearer token, shown once when issued.
public struct OperatorCredential: Sendable, Hashable, Codable {
    /// The operator.
    public let operatorName: String
    /// The role.
    public let role: OperatorRole
    /// The token; only its hash is stored.
    public let token: String
    /// When it stops working.
    public let expiresAt: Instant
}

/// An institution key as administrators see it (never the secret).
public struct InstitutionKeyView: Sendable, Hashable, Codable {
    /// The key id (the credential's first part).
    public var keyId: String
    /// When it was issued.
    public var createdAt: Instant
    /// When it stops working (a rotation's overlap), if set.
    public var expiresAt: Instant?
    /// When it was revoked, if it was.
    public var revokedAt: Instant?
}

extension Platform {
    // MARK: Operators

    /// Every operator.
    public func operators() async throws -> [OperatorView] {
        try await read { db, now in
            try db.query(
                """
                SELECT o.name, o.role, o.created_at, o.disabled_at,
                (SELECT COUNT(*) FROM operator_tokens t WHERE t.operator_id = o.id AND t.revoked_at IS NULL AND t.expires_at > ?) AS live
                FROM operators o ORDER BY o.name
                """,
                [.instant(now)]
            ).map {
                OperatorView(
                    name: try $0.string("name"), role: try $0.enumeration("role"), createdAt: try $0.instant("created_at"),
                    disabledAt: try $0.optionalInstant("disabled_at"), liveTokens: Int(try $0.int64("live")))
            }
        }
    }

    /// Why `name` cannot be an operator's login name, or nil: 1 to 50 of `A–Z a–z 0–9 . _ -`, starting
    /// with a letter or digit. The name is in paths (`/v1/admin/operators/{name}/…`) and in the audit log.
    public static func operatorNameProblem(_ name: String) -> String? {
        let alphanumeric = { (c: Unicode.Scalar) in ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) }
        let allowed = name.unicodeScalars.allSatisfy { alphanumeric($0) || "._-".unicodeScalars.contains($0) }
        guard (1...50).contains(name.unicodeScalars.count), allowed, let first = name.unicodeScalars.first, alphanumeric(first) else {
            return "a login name is 1 to 50 letters, digits, dots, underscores or hyphens, starting with a letter or digit"
        }
        return nil
    }

    /// Creates an operator and issues its first token, in one transaction; a name already taken is
    /// refused `already_exists`.
    public func createOperator(name: String, role: OperatorRole, token: String? = nil, actor: String = "system") async throws -> OperatorCredential {
        if let problem = Platform.operatorNameProblem(name) { throw Refusal.invalid("name", problem) }
        let id = ids.next("O")
        let token = token ?? "op_" + Secrets.randomToken()
        return try await write { db, now in
            try OperatorRepository.insert(id: id, name: name, role: role, now: now, in: db)
            try AuditRepository.append(
                actor: actor, action: "operator.create", subject: "operator:" + name, value: ["role": role.rawValue], now: now, in: db)
            return try Platform.issueOperatorToken(token, name: name, actor: actor, now: now, in: db)
        }
    }

    /// Issues a new token for an existing operator who is not disabled (`token` chooses it: the demo's
    /// published token only). Earlier tokens stay valid until they expire or are revoked.
    public func issueOperatorToken(name: String, token chosen: String? = nil, actor: String = "system") async throws -> OperatorCredential {
        let token = chosen ?? "op_" + Secrets.randomToken()
        return try await write { db, now in try Platform.issueOperatorToken(token, name: name, actor: actor, now: now, in: db) }
    }

    private static func issueOperatorToken(
        _ token: String, name: String, actor: String, now: Instant, in db: any SQLExecutor
    ) throws -> OperatorCredential {
        guard let found = try OperatorRepository.find(name: name, in: db) else {
            throw Refusal(.notFound, "no operator is named \(name), or it is disabled")
        }
        let expires = now.adding(seconds: Platform.operatorTokenLifetimeSeconds)
        try OperatorRepository.insertToken(hash: Secrets.sha256Hex(token), operatorID: found.id, now: now, expires: expires, in: db)
        try AuditRepository.append(
            actor: actor, action: "operator.token", subject: "operator:" + name, value: ["expires_at": "\(expires)"], now: now, in: db)
        return OperatorCredential(operatorName: name, role: found.role, token: token, expiresAt: expires)
    }

    /// The operator a bearer token belongs to, or nil.
    public func authenticateOperator(token: String) async throws -> Operator? {
        guard token.hasPrefix("op_"), token.utf8.count < 200 else { return nil }
        let hash = Secrets.sha256Hex(token)
        return try await read { db, now in try OperatorRepository.byToken(hash: hash, now: now, in: db) }
    }

    /// Disables an operator: every token stops working (within the credential cache's seconds on every
    /// instance). An administrator cannot disable themselves.
    public func disableOperator(name: String, actor: String) async throws {
        guard actor != "operator:" + name else { throw Refusal(.forbidden, "another administrator disables you") }
        try await write { db, now in
            guard
                try db.execute("UPDATE operators SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL", [.instant(now), .text(name)]) == 1
            else { throw Refusal(.notFound, "no enabled operator is named \(name)") }
            try db.execute(
                "UPDATE operator_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND operator_id = (SELECT id FROM operators WHERE name = ?)",
                [.instant(now), .text(name)])
            try AuditRepository.append(
                actor: actor, action: "operator.disable", subject: "operator:" + name, value: [String: String](), now: now, in: db)
        }
    }

    /// Changes an enabled operator's role (a promotion, a move to read-only); their tokens keep working
    /// with the new role (within the credential cache's seconds on every instance). An administrator
    /// cannot change their own role, so the caller always remains an administrator: the bureau is never
    /// left without one. The same role again changes nothing and writes nothing to the audit log.
    public func changeOperatorRole(name: String, to role: OperatorRole, actor: String) async throws {
        guard actor != "operator:" + name else { throw Refusal(.forbidden, "another administrator changes your role") }
        try await write { db, now in
            guard let found = try OperatorRepository.find(name: name, in: db) else {
                throw Refusal(.notFound, "no enabled operator is named \(name)")
            }
            guard found.role != role else { return }
            guard try OperatorRepository.setRole(name: name, role: role, in: db) else {
                throw Refusal(.notFound, "no enabled operator is named \(name)")
            }
            try AuditRepository.append(
                actor: actor, action: "operator.role", subject: "operator:" + name, value: ["from": found.role.rawValue, "to": role.rawValue],
                now: now,
                in: db)
        }
    }

    /// Revokes every token of an operator (a leak): they sign in again with a new one.
    @discardableResult
    public func revokeOperatorTokens(name: String, actor: String) async throws -> Int {
        try await write { db, now in
            guard try OperatorRepository.find(name: name, in: db) != nil else { throw Refusal(.notFound, "no enabled operator is named \(name)") }
            let count = try db.execute(
                "UPDATE operator_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND operator_id = (SELECT id FROM operators WHERE name = ?)",
                [.instant(now), .text(name)])
            try AuditRepository.append(
                actor: actor, action: "operator.tokens_revoked", subject: "operator:" + name, value: ["tokens": "\(count)"], now: now, in: db)
            return count
        }
    }

    // MARK: Institution keys

    /// An institution's keys, newest first.
    public func institutionKeys(code: String) async throws -> [InstitutionKeyView] {
        try await read { db, _ in
            guard try InstitutionRepository.find(code: code, in: db) != nil else { throw Refusal(.notFound, "no institution has code \(code)") }
            return try db.query(
                "SELECT key_id, created_at, expires_at, revoked_at FROM institution_keys WHERE institution_code = ? ORDER BY created_at DESC, key_id",
                [.text(code)]
            ).map {
                InstitutionKeyView(
                    keyId: try $0.string("key_id"), createdAt: try $0.instant("created_at"), expiresAt: try $0.optionalInstant("expires_at"),
                    revokedAt: try $0.optionalInstant("revoked_at"))
            }
        }
    }

    /// Revokes an institution's key at once (a leak), unlike a rotation's seven-day overlap.
    public func revokeInstitutionKey(code: String, keyID: String, actor: String) async throws {
        try await write { db, now in
            guard
                try db.execute(
                    "UPDATE institution_keys SET revoked_at = ? WHERE key_id = ? AND institution_code = ? AND revoked_at IS NULL",
                    [.instant(now), .text(keyID), .text(code)]) == 1
            else { throw Refusal(.notFound, "institution \(code) has no live key \(keyID)") }
            try AuditRepository.append(actor: actor, action: "institution.key_revoked", subject: code, value: ["key_id": keyID], now: now, in: db)
        }
    }

    // MARK: Account adjustments

    /// Requests a manual adjustment of a personal account (administrators only): at or below `threshold`
    /// it is posted at once; above, it waits for a second administrator (`approveAdjustment`).
    /// Idempotent on the key, per administrator: a retry gets the first adjustment and nothing moves twice.
    public func requestAdjustment(
        person: String, amount: Money, reason: String, actor: String, threshold: Money, idempotency: IdempotencyRequest
    ) async throws -> AccountAdjustment {
        guard amount != .zero, amount.fen.magnitude <= UInt64(Money.requestAmountMax.fen) else {
            throw Refusal.invalid("amount", "amount is in fen, not 0, at most 1000000000 either way")
        }
        if reason.isEmpty || reason.count > 200 { throw Refusal.invalid("reason", "say why (1 to 200 characters)") }
        let ids = self.ids
        let cipher = self.cipher
        let id = ids.next("AD")
        return try await write { db, now in
            if case .replay(_, let first) = try IdempotencyRepository.claim(
                scope: "adjustment:" + actor, key: idempotency.key, fingerprint: idempotency.fingerprint, kind: "adjustment", id: id, now: now, in: db
            ) {
                guard let adjustment = try AdjustmentRepository.find(id: first, lock: false, in: db) else {
                    throw StoreError.decoding("adjustment \(first) missing")
                }
                return adjustment
            }
            guard let found = try PeopleRepository.find(number: person, cipher: cipher, in: db) else {
                throw Refusal(.unknownPerson, "no person has number \(person)", field: "person_number")
            }
            return try Platform.adjust(found, amount: amount, reason: reason, actor: actor, threshold: threshold, id: id, ids: ids, now: now, in: db)
        }
    }

    /// Records an adjustment inside a transaction and posts it when it needs no second approval.
    static func adjust(
        _ person: Person, amount: Money, reason: String, actor: String, threshold: Money, id: String, ids: any IDGenerator, now: Instant,
        in db: any SQLExecutor
    ) throws -> AccountAdjustment {
        guard person.insuranceType == .employee else { throw Refusal.invalid("person_number", "only employees (310) have a personal account") }
        let adjustment = AccountAdjustment(
            id: id, personNumber: person.number, amount: amount, reason: reason, state: .pending, requestedBy: actor,
            requestedAt: now)
        try AdjustmentRepository.insert(adjustment, in: db)
        try AuditRepository.append(
            actor: actor, action: "account.adjustment_requested", subject: person.number,
            value: ["adjustment": adjustment.id, "amount": "\(amount.fen)", "reason": reason], now: now, in: db)
        guard !AccountAdjustment.needsSecondApproval(amount, threshold: threshold) else { return adjustment }
        return try Platform.post(adjustment, approver: actor, region: person.region, ids: ids, now: now, in: db)
    }

    /// A second administrator approves a pending adjustment: it is posted.
    public func approveAdjustment(id: String, actor: String) async throws -> AccountAdjustment {
        let ids = self.ids
        let cipher = self.cipher
        return try await write { db, now in
            guard let adjustment = try AdjustmentRepository.find(id: id, lock: true, in: db) else { throw Refusal(.notFound, "no adjustment \(id)") }
            try adjustment.checkApproval(by: actor)
            guard let person = try PeopleRepository.find(number: adjustment.personNumber, cipher: cipher, in: db) else {
                throw StoreError.decoding("person of adjustment \(id) missing")
            }
            return try Platform.post(adjustment, approver: actor, region: person.region, ids: ids, now: now, in: db)
        }
    }

    /// A second administrator rejects a pending adjustment: nothing is posted.
    public func rejectAdjustment(id: String, actor: String) async throws -> AccountAdjustment {
        try await write { db, now in
            guard var adjustment = try AdjustmentRepository.find(id: id, lock: true, in: db) else { throw Refusal(.notFound, "no adjustment \(id)") }
            try adjustment.checkApproval(by: actor)
            adjustment.state = .rejected
            adjustment.decidedBy = actor
            adjustment.decidedAt = now
            try AdjustmentRepository.update(adjustment, entry: nil, in: db)
            try AuditRepository.append(
                actor: actor, action: "account.adjustment_rejected", subject: adjustment.personNumber, value: ["adjustment": id], now: now, in: db)
            return adjustment
        }
    }

    /// Adjustments, pending first, newest first.
    public func adjustments(state: AccountAdjustment.State?) async throws -> [AccountAdjustment] {
        try await read { db, _ in try AdjustmentRepository.list(state: state, in: db) }
    }

    /// Posts an adjustment: the journal entry against the region's contribution income, the wallet
    /// event, the audit record naming both administrators. A debit that would overdraw is refused.
    static func post(
        _ adjustment: AccountAdjustment, approver: String, region: RegionCode, ids: any IDGenerator, now: Instant, in db: any SQLExecutor
    ) throws -> AccountAdjustment {
        var adjustment = adjustment
        if adjustment.amount.isNegative {
            let balance = try LedgerRepository.lockBalance(.personal(adjustment.personNumber), in: db)
            guard balance.available >= -adjustment.amount else {
                throw Refusal(
                    .accountInsufficient, "the account has \(balance.available) available; it cannot give back \(-adjustment.amount)",
                    field: "amount")
            }
        }
        try LedgerRepository.ensure(.personal(adjustment.personNumber), now: now, in: db)
        let entry = JournalEntry(
            id: ids.next("J"), kind: .accountCredit, reference: "adjustment:" + adjustment.id, at: now,
            movements: [Posting(.contributions(region), -adjustment.amount), Posting(.personal(adjustment.personNumber), adjustment.amount)])
        if let entry {
            try LedgerRepository.post(entry, actor: approver, in: db)
            try Events.accountCredit(
                person: adjustment.personNumber, amount: adjustment.amount, reference: entry.reference, counterparty: "\(region) 医保经办机构（人工调整）",
                actor: approver, ids: ids, now: now, in: db)
        }
        adjustment.state = .posted
        adjustment.decidedBy = approver
        adjustment.decidedAt = now
        try AdjustmentRepository.update(adjustment, entry: entry?.id, in: db)
        try AuditRepository.append(
            actor: approver, action: "account.adjustment_posted", subject: adjustment.personNumber,
            value: ["adjustment": adjustment.id, "amount": "\(adjustment.amount.fen)", "requested_by": adjustment.requestedBy], now: now, in: db)
        return adjustment
    }
}

/// Manual account adjustments.
enum AdjustmentRepository {
    static let columns = "id, person_number, amount, reason, state, requested_by, requested_at, decided_by, decided_at"

    static func insert(_ adjustment: AccountAdjustment, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO account_adjustments (\(columns), entry_id) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
            [
                .text(adjustment.id), .text(adjustment.personNumber), .money(adjustment.amount), .text(adjustment.reason),
                .text(adjustment.state.rawValue), .text(adjustment.requestedBy), .instant(adjustment.requestedAt),
            ])
    }

    static func update(_ adjustment: AccountAdjustment, entry: String?, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE account_adjustments SET state = ?, decided_by = ?, decided_at = ?, entry_id = ? WHERE id = ?",
            [.text(adjustment.state.rawValue), .text(adjustment.decidedBy), .instant(adjustment.decidedAt), .text(entry), .text(adjustment.id)])
    }

    static func find(id: String, lock: Bool, in db: any SQLExecutor) throws -> AccountAdjustment? {
        try db.queryOne("SELECT \(columns) FROM account_adjustments WHERE id = ?\(lock ? " FOR UPDATE" : "")", [.text(id)]).map(decode)
    }

    static func list(state: AccountAdjustment.State?, in db: any SQLExecutor) throws -> [AccountAdjustment] {
        if let state {
            return try db.query(
                "SELECT \(columns) FROM account_adjustments WHERE state = ? ORDER BY requested_at DESC, id LIMIT 500", [.text(state.rawValue)]
            ).map(decode)
        }
        return try db.query("SELECT \(columns) FROM account_adjustments ORDER BY requested_at DESC, id LIMIT 500", []).map(decode)
    }

    static func decode(_ row: SQLRow) throws -> AccountAdjustment {
        AccountAdjustment(
            id: try row.string("id"), personNumber: try row.string("person_number"), amount: try row.money("amount"),
            reason: try row.string("reason"),
            state: try row.enumeration("state"), requestedBy: try row.string("requested_by"), requestedAt: try row.instant("requested_at"),
            decidedBy: try row.optionalString("decided_by"), decidedAt: try row.optionalInstant("decided_at"))
    }
}
