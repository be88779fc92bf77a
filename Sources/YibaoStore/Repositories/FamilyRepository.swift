import YibaoCore

/// Family bindings.
package enum FamilyRepository {
    package static let columns = """
        id, binder_number, member_number, relationship, state, verification, document_type, requested_at, decided_at, decided_by, unbound_at,
        unbound_by, effective_month, note
        """

    package static func insert(_ binding: FamilyBinding, documentCipher: String?, in db: any SQLExecutor) throws {
        try db.execute(
            """
            INSERT INTO family_bindings (id, binder_number, member_number, relationship, state, verification, document_type, document_reference_cipher,
            requested_at, decided_at, decided_by, unbound_at, unbound_by, effective_month, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL, NULL)
            """,
            [
                .text(binding.id), .text(binding.binderNumber), .text(binding.memberNumber), .text(binding.relationship.rawValue),
                .text(binding.state.rawValue), .text(binding.verification.rawValue), .text(binding.documentType), .text(documentCipher),
                .instant(binding.requestedAt),
            ]
        )
    }

    package static func update(_ binding: FamilyBinding, in db: any SQLExecutor) throws {
        try db.execute(
            """
            UPDATE family_bindings SET state = ?, decided_at = ?, decided_by = ?, unbound_at = ?, unbound_by = ?, effective_month = ?, note = ?
            WHERE id = ?
            """,
            [
                .text(binding.state.rawValue), .instant(binding.decidedAt), .text(binding.decidedBy), .instant(binding.unboundAt),
                .text(binding.unboundBy),
                .text(binding.effectiveMonth), .text(binding.note), .text(binding.id),
            ]
        )
    }

    package static func find(id: String, lock: Bool, in db: any SQLExecutor) throws -> FamilyBinding? {
        try db.queryOne("SELECT \(columns) FROM family_bindings WHERE id = ?\(lock ? " FOR UPDATE" : "")", [.text(id)]).map(decode)
    }

    /// Bindings where the person is binder or member, newest first.
    package static func of(person: String, in db: any SQLExecutor) throws -> [FamilyBinding] {
        try db.query(
            "SELECT \(columns) FROM family_bindings WHERE binder_number = ? OR member_number = ? ORDER BY requested_at DESC, id DESC LIMIT 100",
            [.text(person), .text(person)]
        ).map(decode)
    }

    /// The active binding of a binder and a member, if any.
    package static func active(binder: String, member: String, in db: any SQLExecutor) throws -> FamilyBinding? {
        try db.fetch(active(binder: binder, member: member))
    }

    package static func active(binder: String, member: String) -> SQLRead<FamilyBinding?> {
        .one(
            "SELECT \(columns) FROM family_bindings WHERE binder_number = ? AND member_number = ? AND state = 'approved'",
            [.text(binder), .text(member)], decode: decode)
    }

    /// The member's active bindings, oldest first.
    package static func activeForMember(_ member: String, in db: any SQLExecutor) throws -> [FamilyBinding] {
        try db.fetch(activeForMember(member))
    }

    package static func activeForMember(_ member: String) -> SQLRead<[FamilyBinding]> {
        SQLRead(
            "SELECT \(columns) FROM family_bindings WHERE member_number = ? AND state = 'approved' ORDER BY decided_at, id", [.text(member)]
        ) { try $0.map(decode) }
    }

    /// Bindings that took effect in a month with this person as binder (or as member).
    package static func effectiveCount(binder: String? = nil, member: String? = nil, month: String, in db: any SQLExecutor) throws -> Int {
        let column = binder != nil ? "binder_number" : "member_number"
        return Int(
            try db.queryOne(
                "SELECT COUNT(*) AS n FROM family_bindings WHERE \(column) = ? AND effective_month = ? AND state IN ('approved', 'unbound')",
                [.text(binder ?? member ?? ""), .text(month)]
            )?.int64("n") ?? 0
        )
    }

    /// Bindings made with documents and waiting for review, oldest first, with the document's reference
    /// (decrypted: the reviewer opens the scan it names).
    package static func pendingReviews(cipher: PersonalDataCipher, in db: any SQLExecutor) throws -> [(FamilyBinding, String?)] {
        try db.query(
            """
            SELECT \(columns), document_reference_cipher FROM family_bindings WHERE state = 'pending' AND verification = 'documents'
            ORDER BY requested_at LIMIT 500
            """, []
        ).map { row in
            let binding = try decode(row)
            let reference = try row.optionalString("document_reference_cipher").map {
                try cipher.open($0, field: "family_bindings.document_reference", row: binding.id)
            }
            return (binding, reference)
        }
    }

    package static func decode(_ row: SQLRow) throws -> FamilyBinding {
        FamilyBinding(
            id: try row.string("id"), binderNumber: try row.string("binder_number"), memberNumber: try row.string("member_number"),
            relationship: try row.enumeration("relationship"), state: try row.enumeration("state"), verification: try row.enumeration("verification"),
            documentType: try row.optionalString("document_type"), requestedAt: try row.instant("requested_at"),
            decidedAt: try row.optionalInstant("decided_at"), decidedBy: try row.optionalString("decided_by"),
            unboundAt: try row.optionalInstant("unbound_at"), unboundBy: try row.optionalString("unbound_by"),
            effectiveMonth: try row.optionalString("effective_month"), note: try row.optionalString("note")
        )
    }
}
