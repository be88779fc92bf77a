import YibaoCore

/// Operators of the bureau and their bearer tokens (stored as SHA-256).
package enum OperatorRepository {
    package static func insert(id: String, name: String, role: OperatorRole, now: Instant, in db: any SQLExecutor) throws {
        do {
            try db.execute(
                "INSERT INTO operators (id, name, role, created_at, disabled_at) VALUES (?, ?, ?, ?, NULL)",
                [.text(id), .text(name), .text(role.rawValue), .instant(now)]
            )
        } catch StoreError.uniqueViolation {
            throw Refusal(.alreadyExists, "an operator named \(name) already exists", field: "name")
        }
    }

    package static func find(name: String, in db: any SQLExecutor) throws -> Operator? {
        try db.queryOne("SELECT id, name, role FROM operators WHERE name = ? AND disabled_at IS NULL", [.text(name)]).map(decode)
    }

    /// Sets an enabled operator's role; false when no enabled operator has the name.
    package static func setRole(name: String, role: OperatorRole, in db: any SQLExecutor) throws -> Bool {
        try db.execute("UPDATE operators SET role = ? WHERE name = ? AND disabled_at IS NULL", [.text(role.rawValue), .text(name)]) == 1
    }

    package static func insertToken(hash: String, operatorID: String, now: Instant, expires: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "INSERT INTO operator_tokens (token_hash, operator_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, NULL)",
            [.text(hash), .text(operatorID), .instant(now), .instant(expires)]
        )
    }

    package static func byToken(hash: String, now: Instant, in db: any SQLExecutor) throws -> Operator? {
        try db.queryOne(
            """
            SELECT o.id, o.name, o.role FROM operator_tokens t JOIN operators o ON o.id = t.operator_id
            WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ? AND o.disabled_at IS NULL
            """,
            [.text(hash), .instant(now)]
        ).map(decode)
    }

    package static func decode(_ row: SQLRow) throws -> Operator {
        Operator(id: try row.string("id"), name: try row.string("name"), role: try row.enumeration("role"))
    }
}
