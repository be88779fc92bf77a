import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import YibaoApp
import YibaoCore
import YibaoServer
import YibaoStore

/// Medication reminders over HTTP: the hospital sends dosage with a drug line, the patient's phone
/// lists the proposal, accepts and edits it, and the reminder reaches the inbox at its time.
@Suite("HTTP: medication reminders")
struct MedicationReminderHTTPTests {
    typealias H = ServerHarness

    @Test("dosage sent with a line becomes a reminder the patient edits and accepts; it fires into the inbox", arguments: ServerHarness.databases)
    func proposeEditFire(postgres: Bool) async throws {
        try await H.withApp(postgres: postgres) { client, harness in
            let patient = try await PatientFlow.signUp(client, harness)
            let withDosage =
                #"{"line_number":"1","item_code":"XD00000000003","unit_price":2850,"quantity":2,"dosage":{"single_dose":"2片","frequency":"bid","days":3,"route":"口服"}}"#
            // A dosage out of range is refused naming the field, before anything is written.
            let bad = try await client.send(
                .post, "/v1/settlements", token: H.hospitalToken,
                json:
                    #"{"code":"\#(patient.code(harness))","category":"11","hospital_visit_number":"RX-BAD","lines":[\#(withDosage.replacingOccurrences(of: #""days":3"#, with: #""days":0"#))]}"#,
                headers: OneCodeHTTPTests.key("rx-bad"))
            #expect(bad.status == .badRequest && bad.problem?.field == "lines[0].dosage.days", "\(bad.text)")
            harness.clock.advance(seconds: 31)
            let settled = try await client.send(
                .post, "/v1/settlements", token: H.hospitalToken,
                json: #"{"code":"\#(patient.code(harness))","category":"11","hospital_visit_number":"RX-1","lines":[\#(withDosage)]}"#,
                headers: OneCodeHTTPTests.key("rx-1"))
            #expect(settled.status == .created, "\(settled.text)")
            let record = try settled.decode(SettlementRecord.self)
            #expect(record.lines.first?.split.dosage == Dosage(singleDose: "2片", frequency: "bid", days: 3, route: "口服"))

            let listed = try await client.send(.get, "/v1/patient/medication-reminders", token: patient.token).decode([MedicationReminder].self)
            let reminder = try #require(listed.first { $0.settlementId == record.id })
            #expect(reminder.state == .proposed && reminder.times.map(\.description) == ["08:00", "20:00"] && reminder.days == 3)

            let path = "/v1/patient/medication-reminders/\(reminder.id)"
            let badTime = try await client.send(.patch, path, token: patient.token, json: #"{"times":["25:00"]}"#)
            #expect(badTime.status == .badRequest, "\(badTime.text)")
            let twice = try await client.send(.patch, path, token: patient.token, json: #"{"times":["08:00","08:00"]}"#)
            #expect(twice.status == .badRequest && twice.problem?.field == "times", "\(twice.text)")
            let accepted = try await client.send(.patch, path, token: patient.token, json: #"{"state":"active","times":["21:30","07:30"]}"#)
            #expect(accepted.status == .ok, "\(accepted.text)")
            let active = try accepted.decode(MedicationReminder.self)
            #expect(active.state == .active && active.times.map(\.description) == ["07:30", "21:30"])
            let due = try #require(active.nextAt)

            // At its time the background work fires it into the inbox.
            harness.clock.set(due)
            #expect(await harness.platform.fireDueReminders() == 1)
            let inbox = try await client.send(.get, "/v1/patient/inbox", token: patient.token).decode([InboxMessage].self)
            let message = try #require(inbox.first { $0.topic == "medication.reminder" })
            #expect(message.reference == reminder.id && message.body.contains("口服 2片"), "\(message.body)")

            // Reversed: the reminder leaves the list and cannot be turned on again.
            let reversed = try await client.send(
                .post, "/v1/settlements/\(record.id)/reversal", token: H.hospitalToken, headers: OneCodeHTTPTests.key("rx-1-r"))
            #expect(reversed.status == .created || reversed.status == .ok, "\(reversed.text)")
            let after = try await client.send(.get, "/v1/patient/medication-reminders", token: patient.token).decode([MedicationReminder].self)
            #expect(!after.contains { $0.id == reminder.id })
            let closed = try await client.send(.patch, path, token: patient.token, json: #"{"state":"active"}"#)
            #expect(closed.status == .conflict && closed.problem?.code == "reminder_closed", "\(closed.text)")
        }
    }
}
