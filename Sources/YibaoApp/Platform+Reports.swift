import YibaoCore
import YibaoStore

/// A patient's report of a movement they do not recognise (异常交易申诉), and its handling.
public struct TransactionReport: Sendable, Hashable, Codable {
    /// The report's id.
    public var id: String
    /// The person.
    public var personNumber: String
    /// The wallet movement reported.
    public var eventId: String
    /// The person's words.
    public var reason: String
    /// `open` or `resolved`.
    public var state: String
    /// How it was resolved (`confirmed_genuine`, `reversed`, `referred_to_police` …).
    public var resolution: String?
    /// The operator's note to the person.
    public var note: String?
    /// When reported.
    public var createdAt: Instant
    /// When resolved.
    public var resolvedAt: Instant?
    /// By whom.
    public var resolvedBy: String?
}

extension Platform {
    /// Reports a movement of the person's history.
    public func reportTransaction(person: String, eventID: String, reason: String) async throws -> TransactionReport {
        await flushProjections()
        guard !reason.isEmpty, reason.count <= 1000 else { throw Refusal.invalid("reason", "reason is 1 to 1000 characters") }
        let id = ids.next("R")
        return try await write { db, now in
            guard try WalletRepository.find(id: eventID, person: person, in: db) != nil else {
                throw Refusal(.notFound, "no movement \(eventID) in your history", field: "event_id")
            }
            try db.execute(
                """
                INSERT INTO transaction_reports (id, person_number, event_id, reason, state, resolution, note, created_at, resolved_at, resolved_by)
                VALUES (?, ?, ?, ?, 'open', NULL, NULL, ?, NULL, NULL)
                """,
                [.text(id), .text(person), .text(eventID), .text(reason), .instant(now)]
            )
            try AuditRepository.append(
                actor: "patient:" + person, action: "report.open", subject: person, value: ["report": id, "event": eventID], now: now, in: db)
            return TransactionReport(
                id: id, personNumber: person, eventId: eventID, reason: reason, state: "open", resolution: nil, note: nil, createdAt: now,
                resolvedAt: nil,
                resolvedBy: nil
            )
        }
    }

    /// Reports in a state (`open` or `resolved`), oldest first; or one person's (newest first).
    public func transactionReports(state: String?, person: String?) async throws -> [TransactionReport] {
        try await read { db, _ in
            if let person {
                return try db.query("SELECT * FROM transaction_reports WHERE person_number = ? ORDER BY created_at DESC LIMIT 200", [.text(person)])
                    .map(Platform.decodeReport)
            }
            return try db.query(
                "SELECT * FROM transaction_reports WHERE state = ? ORDER BY created_at LIMIT 500", [.text(state ?? "open")]
            ).map(Platform.decodeReport)
        }
    }

    /// Resolves a report and tells the person.
    public func resolveReport(id: String, resolution: String, note: String, operatorName: String) async throws -> TransactionReport {
        guard !resolution.isEmpty, resolution.count <= 50, note.count <= 1000 else {
            throw Refusal.invalid("resolution", "resolution is 1 to 50 characters and the note at most 1000")
        }
        let ids = self.ids
        return try await write { db, now in
            guard let row = try db.queryOne("SELECT * FROM transaction_reports WHERE id = ? FOR UPDATE", [.text(id)]) else {
                throw Refusal(.notFound, "no report \(id)")
            }
            var report = try Platform.decodeReport(row)
            guard report.state == "open" else { throw Refusal(.alreadyExists, "report \(id) is already resolved") }
            try db.execute(
                "UPDATE transaction_reports SET state = 'resolved', resolution = ?, note = ?, resolved_at = ?, resolved_by = ? WHERE id = ?",
                [.text(resolution), .text(note), .instant(now), .text("operator:" + operatorName), .text(id)]
            )
            try AuditRepository.append(
                actor: "operator:" + operatorName, action: "report.resolve", subject: report.personNumber,
                value: ["report": id, "resolution": resolution],
                now: now, in: db
            )
            try Events.notice(
                person: report.personNumber, topic: "report.resolved", title: "交易申诉已处理", body: "您对交易 \(report.eventId) 的申诉已处理：\(resolution)。\(note)",
                ids: ids, now: now, in: db
            )
            report.state = "resolved"
            report.resolution = resolution
            report.note = note
            report.resolvedAt = now
            report.resolvedBy = "operator:" + operatorName
            return report
        }
    }

    static func decodeReport(_ row: SQLRow) throws -> TransactionReport {
        TransactionReport(
            id: try row.string("id"), personNumber: try row.string("person_number"), eventId: try row.string("event_id"),
            reason: try row.string("reason"),
            state: try row.string("state"), resolution: try row.optionalString("resolution"), note: try row.optionalString("note"),
            createdAt: try row.instant("created_at"), resolvedAt: try row.optionalInstant("resolved_at"),
            resolvedBy: try row.optionalString("resolved_by")
        )
    }
}
