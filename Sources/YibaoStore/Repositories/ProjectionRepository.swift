import YibaoCore

/// What business events project for the people and partners concerned — wallet movements, inbox
/// messages, webhook deliveries, medication reminders and audit records — gathered first (`Events`
/// decides them without the database) and written together by `ProjectionRepository.write`.
package struct ProjectionWrites: Sendable {
    /// An inbox message; its number in the person's inbox is taken when it is written.
    package struct Message: Sendable {
        package let person: String
        package let id: String
        package let topic: String
        package let title: String
        package let body: String
        package let reference: String?
        package let at: Instant
    }

    /// A webhook delivery queued for one subscription.
    package struct Delivery: Sendable {
        package let id: String
        package let subscription: String
        package let type: String
        package let payload: String
        package let at: Instant
    }

    /// An audit record, chained when the transaction commits (`AuditRepository`).
    package struct AuditRecord: Sendable {
        package let actor: String
        package let action: String
        package let subject: String
        package let detail: String
        package let at: Instant
    }

    /// Wallet movements in order; their `seq` is taken when they are written.
    package private(set) var movements: [WalletEvent] = []
    package private(set) var messages: [Message] = []
    package private(set) var deliveries: [Delivery] = []
    package private(set) var reminders: [(reminder: MedicationReminder, at: Instant)] = []
    package private(set) var audits: [AuditRecord] = []

    package init() {}

    /// A movement in the person's wallet (its `seq` is ignored: the next number is taken on writing).
    package mutating func record(_ movement: WalletEvent) { movements.append(movement) }

    package mutating func message(person: String, id: String, topic: String, title: String, body: String, reference: String?, at: Instant) {
        messages.append(Message(person: person, id: id, topic: topic, title: title, body: body, reference: reference, at: at))
    }

    package mutating func deliver(id: String, subscription: String, type: String, payload: String, at: Instant) {
        deliveries.append(Delivery(id: id, subscription: subscription, type: type, payload: payload, at: at))
    }

    /// A proposed medication reminder (a second proposal for the same settlement line is ignored).
    package mutating func remind(_ reminder: MedicationReminder, at: Instant) { reminders.append((reminder, at)) }

    /// Cancels the reminders proposed in this batch and not yet written that `matching` picks (those of
    /// a settlement given back before it is expanded).
    package mutating func cancelReminders(matching: (MedicationReminder) -> Bool) {
        for index in reminders.indices where matching(reminders[index].reminder) {
            reminders[index].reminder = reminders[index].reminder.cancelled()
        }
    }

    package mutating func audit(actor: String, action: String, subject: String, detail: String, at: Instant) {
        audits.append(AuditRecord(actor: actor, action: action, subject: subject, detail: detail, at: at))
    }

    package mutating func audit<T: Encodable>(actor: String, action: String, subject: String, value: T, at: Instant) throws {
        audit(actor: actor, action: action, subject: subject, detail: try YibaoJSON.string(value), at: at)
    }
}

/// Writes projections in two round trips however many there are: one upsert takes every person's
/// wallet and inbox numbers (their head rows, in person order, so two writers never wait for each
/// other in a cycle), then one batch of multi-row inserts writes the rows. A person's numbers follow
/// the order the projections were gathered in, and commit order across transactions (the head row is
/// locked until commit on PostgreSQL; SQLite has one writer).
package enum ProjectionRepository {
    /// Rows per multi-row insert: far under both databases' limits on bound values (14 columns × 200).
    static let rowsPerInsert = 200

    package static func write(_ writes: ProjectionWrites, in db: any SQLExecutor) throws {
        for audit in writes.audits {
            try AuditRepository.append(actor: audit.actor, action: audit.action, subject: audit.subject, detail: audit.detail, now: audit.at, in: db)
        }
        var counts: [String: (wallet: Int64, inbox: Int64)] = [:]
        for movement in writes.movements { counts[movement.personNumber, default: (0, 0)].wallet += 1 }
        for message in writes.messages { counts[message.person, default: (0, 0)].inbox += 1 }
        var statements: [SQLStatement] = []
        if !counts.isEmpty {
            // The last numbers taken, per person; the person's projections take the numbers up to them.
            var last: [String: (wallet: Int64, inbox: Int64)] = [:]
            let people = counts.keys.sorted()
            let rows = try db.query(
                """
                INSERT INTO wallet_heads (person_number, wallet_seq, inbox_seq) VALUES \(placeholders(people.count, "(?, ?, ?)"))
                ON CONFLICT (person_number) DO UPDATE SET wallet_seq = wallet_heads.wallet_seq + excluded.wallet_seq,
                inbox_seq = wallet_heads.inbox_seq + excluded.inbox_seq
                RETURNING person_number, wallet_seq, inbox_seq
                """,
                people.flatMap { person -> [SQLValue] in [.text(person), .integer(counts[person]!.wallet), .integer(counts[person]!.inbox)] })
            for row in rows { last[try row.string("person_number")] = (try row.int64("wallet_seq"), try row.int64("inbox_seq")) }
            guard last.count == people.count else { throw StoreError.decoding("wallet heads vanished") }
            var next = people.reduce(into: [String: (wallet: Int64, inbox: Int64)]()) { next, person in
                next[person] = (last[person]!.wallet - counts[person]!.wallet + 1, last[person]!.inbox - counts[person]!.inbox + 1)
            }
            statements += inserts(
                "wallet_events (person_number, seq, id, kind, reference, at, institution_code, counterparty, total, fund, account, mutual_aid, cash, actor)",
                columns: 14, rows: writes.movements
            ) { event in
                let seq = next[event.personNumber]!.wallet
                next[event.personNumber]!.wallet += 1
                return [
                    .text(event.personNumber), .integer(seq), .text(event.id), .text(event.kind.rawValue), .text(event.reference), .instant(event.at),
                    .text(event.institutionCode), .text(event.counterparty), .money(event.total), .money(event.fund), .money(event.account),
                    .money(event.mutualAid), .money(event.cash), .text(event.actor),
                ]
            }
            statements += inserts("inbox (person_number, seq, id, topic, title, body, reference, at, read_at)", columns: 9, rows: writes.messages) {
                message in
                let seq = next[message.person]!.inbox
                next[message.person]!.inbox += 1
                return [
                    .text(message.person), .integer(seq), .text(message.id), .text(message.topic), .text(message.title), .text(message.body),
                    .text(message.reference), .instant(message.at), .null,
                ]
            }
        }
        statements += inserts(
            """
            webhook_deliveries (id, subscription_id, event_type, payload, state, attempts, next_attempt_at, last_status, last_error, created_at,
            delivered_at)
            """,
            columns: 11, rows: writes.deliveries
        ) { delivery in
            [
                .text(delivery.id), .text(delivery.subscription), .text(delivery.type), .text(delivery.payload), .text("pending"), .integer(0),
                .instant(delivery.at), .null, .null, .instant(delivery.at), .null,
            ]
        }
        // A second proposal for the same settlement line is ignored.
        statements += try inserts(
            "medication_reminders (id, person_number, settlement_id, line_number, state, next_at, body, created_at, updated_at)", columns: 9,
            rows: writes.reminders, then: "ON CONFLICT (settlement_id, line_number) DO NOTHING"
        ) { reminder, at in
            [
                .text(reminder.id), .text(reminder.personNumber), .text(reminder.settlementId), .text(reminder.lineNumber),
                .text(reminder.state.rawValue), .instant(reminder.nextAt), .text(try YibaoJSON.storageString(reminder)), .instant(at), .instant(at),
            ]
        }
        // Each insert reads none of the others' rows.
        if !statements.isEmpty { try db.writeTogether(statements) }
    }

    /// Multi-row inserts of `rows` into `table` (its column list included), `rowsPerInsert` at a time,
    /// each ending in `clause`.
    private static func inserts<Row>(
        _ table: String, columns: Int, rows: [Row], then clause: String = "", values: (Row) throws -> [SQLValue]
    ) rethrows -> [SQLStatement] {
        var statements: [SQLStatement] = []
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + rowsPerInsert, rows.count)]
            var arguments: [SQLValue] = []
            arguments.reserveCapacity(chunk.count * columns)
            for row in chunk { arguments += try values(row) }
            let group = "(" + placeholders(columns) + ")"
            statements.append(
                SQLStatement("INSERT INTO \(table) VALUES \(placeholders(chunk.count, group))\(clause.isEmpty ? "" : " " + clause)", arguments))
            start += chunk.count
        }
        return statements
    }
}
