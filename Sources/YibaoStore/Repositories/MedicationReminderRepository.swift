import YibaoCore

/// Medication reminders: the schedule is stored whole (`body`), with the columns the queries need —
/// whose it is, which line it follows, and when it fires next.
package enum MedicationReminderRepository {
    /// Stores a proposal; a second proposal for the same line (an outbox row expanded twice) is ignored.
    /// Writes a reminder's new state.
    package static func update(_ reminder: MedicationReminder, now: Instant, in db: any SQLExecutor) throws {
        try db.execute(
            "UPDATE medication_reminders SET state = ?, next_at = ?, body = ?, updated_at = ? WHERE id = ?",
            [
                .text(reminder.state.rawValue), .instant(reminder.nextAt), .text(try YibaoJSON.storageString(reminder)), .instant(now),
                .text(reminder.id),
            ]
        )
    }

    /// A person's reminders, newest first (cancelled ones left out).
    package static func list(person: String, limit: Int, in db: any SQLExecutor) throws -> [MedicationReminder] {
        try db.query(
            "SELECT body FROM medication_reminders WHERE person_number = ? AND state <> 'cancelled' ORDER BY created_at DESC, id DESC LIMIT \(limit)",
            [.text(person)]
        ).map(decode)
    }

    /// One of a person's reminders, locked for an update.
    package static func find(id: String, person: String, in db: any SQLExecutor) throws -> MedicationReminder? {
        try db.queryOne("SELECT body FROM medication_reminders WHERE id = ? AND person_number = ? FOR UPDATE", [.text(id), .text(person)])
            .map(decode)
    }

    /// The reminders of a settlement, locked when `lock` (a reversal or refund cancels some of them).
    package static func of(settlement: String, lock: Bool = true, in db: any SQLExecutor) throws -> [MedicationReminder] {
        try db.query(
            "SELECT body FROM medication_reminders WHERE settlement_id = ? ORDER BY line_number\(lock ? " FOR UPDATE" : "")", [.text(settlement)]
        )
        .map(decode)
    }

    /// Active reminders whose time has come, oldest first; rows another instance is firing are skipped.
    package static func due(now: Instant, limit: Int, in db: any SQLExecutor) throws -> [MedicationReminder] {
        try db.query(
            "SELECT body FROM medication_reminders WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at LIMIT \(limit) FOR UPDATE SKIP LOCKED",
            [.instant(now)]
        ).map(decode)
    }

    private static func decode(_ row: SQLRow) throws -> MedicationReminder {
        try YibaoJSON.decodeStored(MedicationReminder.self, from: try row.string("body"))
    }
}
