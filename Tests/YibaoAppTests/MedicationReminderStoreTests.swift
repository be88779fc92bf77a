import Testing
import YibaoCore

@testable import YibaoApp
@testable import YibaoStore

@Suite("Platform contract: medication reminders from settled prescriptions")
struct MedicationReminderStoreTests {
    typealias S = AppFixtures

    static func at(_ text: String) -> Instant { Instant(iso8601: text + "+08:00")! }

    /// Settles a prescription at 10:00 on 2 March: amoxicillin three times a day for two days (line 1),
    /// cefixime twice a day for one day (line 2) and a class C drug sent without dosage (line 3).
    static func prescribe(_ platform: Platform, visit: String = "RX1") async throws -> SettlementRecord {
        var lines = [S.line("1", "A001", yuan: 20), S.line("2", "B001", yuan: 25), S.line("3", "C001", yuan: 30)]
        lines[0].dosage = Dosage(singleDose: "1粒", frequency: "tid", days: 2, route: "口服")
        lines[1].dosage = Dosage(frequency: "每日两次", days: 1)
        let opened = try await platform.openVisit(
            OpenVisitRequest(personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: visit, lines: lines), institution: S.hospital)
        return try await platform.settle(visitID: opened.id, institution: S.hospital, useAccount: true, idempotency: nil)
    }

    static func reminderMessages(_ platform: Platform) async throws -> [InboxMessage] {
        try await platform.inbox(person: "P1", cursor: nil, limit: 200).filter { $0.topic == "medication.reminder" }
    }

    @Test(
        "a settled prescription proposes reminders that fire at their times once accepted; a refund of the line cancels them",
        arguments: BackendKind.available)
    func firesAndRefundCancels(kind: BackendKind) async throws {
        let clock = ManualClock(Self.at("2026-03-02T10:00:00"))
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(500))
            try await platform.enrol(S.person("P2", sequence: 2), openingBalance: .yuan(500))
            let settlement = try await Self.prescribe(platform)
            // A push partner subscribed to reminders.
            _ = try await platform.subscribeWebhook(
                owner: "partner:push", url: "http://127.0.0.1:9/hook", events: ["medication.reminder"], allowPrivate: true)

            // Proposed, one per drug line, none firing yet.
            let proposed = try await platform.medicationReminders(person: "P1")
            #expect(Set(proposed.map(\.lineNumber)) == ["1", "2", "3"])
            #expect(proposed.allSatisfy { $0.state == .proposed && $0.nextAt == nil && $0.settlementId == settlement.id })
            let amoxicillin = try #require(proposed.first { $0.lineNumber == "1" })
            #expect(amoxicillin.times.map(\.description) == ["08:00", "12:00", "18:00"] && amoxicillin.days == 2)
            #expect(try #require(proposed.first { $0.lineNumber == "3" }).assumptions.count == 2)
            clock.set(Self.at("2026-03-02T13:00:00"))
            #expect(await platform.fireDueReminders() == 0, "a proposal does not fire")
            clock.set(Self.at("2026-03-02T10:05:00"))

            // Someone else cannot touch it.
            await #expect(throws: Refusal(.notFound, "no such medication reminder")) {
                try await platform.changeMedicationReminder(id: amoxicillin.id, person: "P2", change: .init(state: .active))
            }
            let accepted = try await platform.changeMedicationReminder(id: amoxicillin.id, person: "P1", change: .init(state: .active))
            #expect(accepted.nextAt == Self.at("2026-03-02T12:00:00"))
            let cefixime = try #require(proposed.first { $0.lineNumber == "2" })
            _ = try await platform.changeMedicationReminder(id: cefixime.id, person: "P1", change: .init(state: .active))

            // 12:00: amoxicillin fires once; at 12:00:30 nothing more; 18:00 both; 20:00 cefixime, its last.
            clock.set(Self.at("2026-03-02T11:59:59"))
            #expect(await platform.fireDueReminders() == 0)
            clock.set(Self.at("2026-03-02T12:00:00"))
            #expect(await platform.fireDueReminders() == 1)
            clock.set(Self.at("2026-03-02T12:00:30"))
            #expect(await platform.fireDueReminders() == 0)
            clock.set(Self.at("2026-03-02T18:00:10"))
            #expect(await platform.fireDueReminders() == 1)
            clock.set(Self.at("2026-03-02T20:00:00"))
            #expect(await platform.fireDueReminders() == 1)
            var messages = try await Self.reminderMessages(platform)
            #expect(messages.map(\.at) == [Self.at("2026-03-02T20:00:00"), Self.at("2026-03-02T18:00:10"), Self.at("2026-03-02T12:00:00")])
            #expect(messages.last?.body.hasPrefix("12:00 用药：阿莫西林胶囊（0.25g×24粒），口服 1粒。疗程第 1/2 天") == true, "\(messages.last?.body ?? "")")
            #expect(messages.first?.title == "用药提醒：头孢克肟胶囊" && messages.first?.reference == cefixime.id)
            #expect(try await platform.medicationReminders(person: "P1").first { $0.id == cefixime.id }?.state == .finished)
            // The partner got one delivery per reminder sent, naming the reminder and the time but no drug.
            let payloads = try await platform.backend.read { db in
                try db.query("SELECT payload FROM webhook_deliveries WHERE event_type = 'medication.reminder' ORDER BY created_at", [])
                    .map { try $0.string("payload") }
            }
            #expect(payloads.count == 3 && payloads.allSatisfy { $0.contains(amoxicillin.id) || $0.contains(cefixime.id) })
            #expect(payloads.allSatisfy { !$0.contains("阿莫西林") && !$0.contains("头孢") && !$0.contains("A001") }, "\(payloads)")

            // The next morning the patient returns the amoxicillin: its reminder is cancelled and fires no more.
            clock.set(Self.at("2026-03-03T07:00:00"))
            _ = try await platform.refund(
                settlementID: settlement.id, institution: S.hospital, request: RefundRequest(type: .lines, lineNumbers: ["1"]), idempotency: nil)
            let after = try await platform.medicationReminders(person: "P1")
            #expect(!after.contains { $0.id == amoxicillin.id }, "a cancelled reminder leaves the list")
            let stored = try await platform.backend.read { db in try MedicationReminderRepository.of(settlement: settlement.id, lock: false, in: db) }
            #expect(stored.first { $0.id == amoxicillin.id }?.state == .cancelled)
            #expect(stored.first { $0.lineNumber == "3" }?.state == .proposed, "the other lines' reminders stay")
            clock.set(Self.at("2026-03-03T08:00:00"))
            #expect(await platform.fireDueReminders() == 0)
            messages = try await Self.reminderMessages(platform)
            #expect(messages.count == 3)
            do {
                _ = try await platform.changeMedicationReminder(id: amoxicillin.id, person: "P1", change: .init(state: .active))
                Issue.record("a cancelled reminder was turned on")
            } catch let refusal as Refusal {
                #expect(refusal.code == .reminderClosed)
            }
        }
    }

    @Test("a reversal cancels every reminder of the settlement; a cash refund leaves them", arguments: BackendKind.available)
    func reversalCancels(kind: BackendKind) async throws {
        let clock = ManualClock(Self.at("2026-03-02T10:00:00"))
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(10))
            let kept = try await Self.prescribe(platform, visit: "RX-KEPT")
            let reversed = try await Self.prescribe(platform, visit: "RX-REVERSED")
            for reminder in try await platform.medicationReminders(person: "P1") {
                _ = try await platform.changeMedicationReminder(id: reminder.id, person: "P1", change: .init(state: .active))
            }
            _ = try await platform.refund(
                settlementID: kept.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(5)), idempotency: nil)
            _ = try await platform.reverse(settlementID: reversed.id, institution: S.hospital, idempotency: nil)
            let left = try await platform.medicationReminders(person: "P1")
            #expect(left.count == 3 && left.allSatisfy { $0.settlementId == kept.id && $0.state == .active })
            clock.set(Self.at("2026-03-02T12:00:00"))
            #expect(await platform.fireDueReminders() == 1, "only the kept settlement's amoxicillin fires at noon")
        }
    }

    /// How a settlement whose instance died before expanding it meets its reversal's expansion.
    enum ReversalOrder: String, CaseIterable, Sendable {
        /// Both rows left to the background work, expanded in one batch.
        case sameBatch
        /// Another instance reverses it and expands the reversal at once, before the settlement.
        case reversalFirst
    }

    @Test(
        "a settlement reversed before its expansion proposes its reminders already cancelled, in one batch with the reversal or after it; the wallet and inbox stay numbered without gaps",
        arguments: BackendKind.available, ReversalOrder.allCases)
    func reversedBeforeExpansion(kind: BackendKind, order: ReversalOrder) async throws {
        let clock = ManualClock(Self.at("2026-03-02T10:00:00"))
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(500))
            platform.projector.setWorker { _ in }
            let settlement = try await Self.prescribe(platform)
            await platform.flushProjections()  // dropped, as by a dead instance
            if order == .reversalFirst { platform.setAfterCommitWorkers() }
            clock.advance(seconds: 60)
            _ = try await platform.reverse(settlementID: settlement.id, institution: S.hospital, idempotency: nil)
            await platform.flushProjections()  // expanded at once, or dropped too
            platform.setAfterCommitWorkers()
            clock.advance(seconds: 600)
            #expect(try await platform.backend.read { db in try OutboxRepository.count(in: db) } == (order == .sameBatch ? 2 : 1))
            #expect(await platform.expandDueProjections() == (order == .sameBatch ? 2 : 1))

            let stored = try await platform.backend.read { db in try MedicationReminderRepository.of(settlement: settlement.id, lock: false, in: db) }
            #expect(stored.count == 3 && stored.allSatisfy { $0.state == .cancelled }, "\(stored.map(\.state))")
            #expect(try await platform.medicationReminders(person: "P1").isEmpty)
            clock.set(Self.at("2026-03-03T12:00:00"))
            #expect(await platform.fireDueReminders() == 0)
            let numbers = try await platform.backend.read { db in
                (
                    try db.query("SELECT seq FROM wallet_events WHERE person_number = 'P1' ORDER BY seq", []).map { try $0.int64("seq") },
                    try db.query("SELECT seq FROM inbox WHERE person_number = 'P1' ORDER BY seq", []).map { try $0.int64("seq") },
                    try db.query("SELECT kind FROM wallet_events WHERE person_number = 'P1' ORDER BY seq", []).map { try $0.string("kind") }
                )
            }
            #expect(numbers.0 == Array(1...Int64(numbers.0.count)) && numbers.1 == Array(1...Int64(numbers.1.count)), "\(numbers)")
            let expected = order == .sameBatch ? ["settlement", "reversal"] : ["reversal", "settlement"]
            #expect(Array(numbers.2.suffix(2)) == expected, "movements in the order they were expanded")
            #expect(try await platform.backend.read { db in try OutboxRepository.count(in: db) } == 0)
        }
    }

    @Test("a bound relative who accepts a reminder for the patient gets its times too, until the binding ends", arguments: BackendKind.available)
    func caregiver(kind: BackendKind) async throws {
        let clock = ManualClock(Self.at("2026-03-02T10:00:00"))
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(500))
            try await platform.enrol(S.person("P2", sequence: 2), openingBalance: .yuan(500))
            let binding = try await FamilyStoreTests.bind(platform, binder: "P2", member: "P1", relationship: .child)
            _ = try await Self.prescribe(platform)
            let amoxicillin = try #require(try await platform.medicationReminders(person: "P1").first { $0.lineNumber == "1" })
            let accepted = try await platform.changeMedicationReminder(
                id: amoxicillin.id, person: "P1", change: .init(state: .active, caregiver: "P2"))
            #expect(accepted.caregiver == "P2" && accepted.state == .active)

            clock.set(Self.at("2026-03-02T12:00:00"))
            #expect(await platform.fireDueReminders() == 1)
            let patient = try await Self.reminderMessages(platform)
            let family = try await platform.inbox(person: "P2", cursor: nil, limit: 50).filter { $0.topic == "medication.reminder.family" }
            #expect(patient.count == 1 && family.count == 1)
            #expect(family.first?.title == "家人用药提醒：测** · 阿莫西林胶囊" && family.first?.body.contains("12:00 用药：阿莫西林胶囊") == true, "\(family)")

            // Unbound: the patient is still reminded, the relative no longer.
            _ = try await platform.unbind(id: binding.id, by: "P1")
            clock.set(Self.at("2026-03-02T18:00:00"))
            #expect(await platform.fireDueReminders() == 1)
            #expect(try await Self.reminderMessages(platform).count == 2)
            #expect(try await platform.inbox(person: "P2", cursor: nil, limit: 50).filter { $0.topic == "medication.reminder.family" }.count == 1)
        }
    }
}
