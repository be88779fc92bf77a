import Logging
import YibaoCore
import YibaoStore

/// Medication reminders: proposed from a settlement's drug lines when its projections are expanded
/// (the outbox row commits with the money, so no settlement's proposals are lost), accepted, edited or
/// turned off by the patient, fired into the inbox at their times by the background work, and cancelled
/// when a reversal or a refund of lines takes the drug back.
extension Platform {
    /// The most reminders one person's list returns.
    public static let medicationRemindersMax = 200

    /// The reminders a settlement record starts or ends (part of its projections). `givenBack` are the
    /// completed reversals and refunds of the settlement already committed when it is expanded (its
    /// instance died and another expands it later): its proposals start as they would have ended.
    static func projectReminders(
        _ record: SettlementRecord, givenBack: [SettlementRecord], ids: any IDGenerator, now: Instant, into writes: inout ProjectionWrites,
        in db: any SQLExecutor
    ) throws {
        switch record.kind {
        case .settlement:
            for line in record.lines {
                guard
                    let reminder = MedicationReminder.proposal(
                        for: line.split, dosage: line.split.dosage, id: ids.next("MR"), personNumber: record.personNumber,
                        settlementId: record.id, institutionName: record.institution.name, settledAt: record.settledAt)
                else { continue }
                writes.remind(reminder, at: now)
            }
            for back in givenBack where back.originalId == record.id {
                writes.cancelReminders(matching: takesBack(back))
            }
        case .reversal, .refund:
            // Those written already; those of a settlement expanded in this batch or later are proposed
            // cancelled (`givenBack` above).
            guard let original = record.originalId else { return }
            for reminder in try MedicationReminderRepository.of(settlement: original, in: db) where takesBack(record)(reminder) {
                try MedicationReminderRepository.update(reminder.cancelled(), now: now, in: db)
            }
        }
    }

    /// Whether a reversal or refund ends a reminder still in force: a reversal takes every drug back; a
    /// refund of lines takes back the lines whose quantity it lowers. A cash or insurance refund leaves
    /// the medicine with the patient.
    static func takesBack(_ record: SettlementRecord) -> (MedicationReminder) -> Bool {
        let taken = Set(record.lines.filter { $0.split.quantity.scaled < 0 }.map(\.split.lineNumber))
        return { reminder in
            reminder.settlementId == record.originalId && reminder.state != .cancelled
                && (record.kind == .reversal || taken.contains(reminder.lineNumber))
        }
    }

    /// A person's medication reminders, newest first (cancelled ones left out).
    public func medicationReminders(person: String) async throws -> [MedicationReminder] {
        await flushProjections()
        return try await read { db, _ in
            try MedicationReminderRepository.list(person: person, limit: Platform.medicationRemindersMax, in: db)
        }
    }

    /// The patient — or a bound relative acting for them (`change.caregiver`, checked by the caller) —
    /// accepts, edits or turns off one of the patient's reminders.
    public func changeMedicationReminder(id: String, person: String, change: MedicationReminder.Change) async throws -> MedicationReminder {
        await flushProjections()
        return try await write { db, now in
            guard let reminder = try MedicationReminderRepository.find(id: id, person: person, in: db) else {
                throw Refusal(.notFound, "no such medication reminder")
            }
            let changed = try reminder.applying(change, now: now)
            try MedicationReminderRepository.update(changed, now: now, in: db)
            try AuditRepository.append(
                actor: change.caregiver.map { "family:" + $0 } ?? "patient:" + person, action: "medication_reminder.change", subject: person,
                value: ["reminder": id, "state": changed.state.rawValue, "times": changed.times.map(\.description).joined(separator: ",")],
                now: now, in: db)
            return changed
        }
    }

    /// Fires the reminders whose time has come: an inbox message each (and one to the caregiver while
    /// their family binding lasts), and a `medication.reminder`
    /// webhook event that names no drug (a push partner shows "用药提醒" and the app the rest). Returns
    /// how many fired. Idempotent across instances: the rows are locked and moved on in one transaction.
    @discardableResult
    public func fireDueReminders(limit: Int = 200) async -> Int {
        let ids = self.ids
        let cipher = self.cipher
        do {
            return try await write { db, now in
                let due = try MedicationReminderRepository.due(now: now, limit: limit, in: db)
                let subscriptions = due.isEmpty ? [] : try WebhookRepository.live(in: db)
                var writes = ProjectionWrites()
                for reminder in due {
                    guard reminder.state == .active, let at = reminder.nextAt else { continue }
                    let message = reminder.message(due: at)
                    writes.message(
                        person: reminder.personNumber, id: ids.next("M"), topic: "medication.reminder", title: message.title, body: message.body,
                        reference: reminder.id, at: now)
                    try Events.publish(
                        type: "medication.reminder", institution: nil,
                        data: ["reminder_id": reminder.id, "person_number": reminder.personNumber, "due_at": at.iso8601],
                        subscriptions: subscriptions, ids: ids, now: now, into: &writes)
                    if let caregiver = reminder.caregiver,
                        try FamilyRepository.active(binder: caregiver, member: reminder.personNumber, in: db) != nil,
                        let patient = try PeopleRepository.find(number: reminder.personNumber, cipher: cipher, in: db)
                    {
                        let copy = reminder.caregiverMessage(due: at, patientMasked: Masking.name(patient.name))
                        writes.message(
                            person: caregiver, id: ids.next("M"), topic: "medication.reminder.family", title: copy.title, body: copy.body,
                            reference: reminder.id, at: now)
                    }
                    try MedicationReminderRepository.update(reminder.fired(due: at, now: now), now: now, in: db)
                }
                try ProjectionRepository.write(writes, in: db)
                return due.count
            }
        } catch {
            logger.warning("medication reminders not fired", metadata: ["error": "\(error)"])
            return 0
        }
    }
}
