import Foundation
import Testing
import YibaoCore
import YibaoSandbox

@testable import YibaoApp
@testable import YibaoStore

@Suite("Platform contract: audit chain and key rotation")
struct SecurityStoreTests {
    typealias S = AppFixtures

    /// Some activity: reference data, enrolments, a settlement and its reversal.
    static func activity(_ platform: Platform) async throws {
        try await S.load(into: platform)
        for index in 1...6 { try await platform.enrol(S.person("P\(index)", sequence: index), openingBalance: .yuan(100), actor: "operator:alice") }
        let visit = try await platform.openVisit(
            OpenVisitRequest(personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "A1", lines: [S.line("1", "A001", yuan: 300)]),
            institution: S.hospital
        )
        let settled = try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: nil)
        _ = try await platform.reverse(settlementID: settled.id, institution: S.hospital, idempotency: nil)
        try await platform.audit(actor: "operator:alice", action: "person.view", subject: "P2")
    }

    /// A lane with at least three records, and its records' sequence numbers.
    static func busyLane(_ platform: Platform) async throws -> Int64 {
        let heads = try await platform.auditHeads()
        return try #require(heads.max { $0.seq < $1.seq }).lane
    }

    @Test("an entry's audit detail, written by hand, is the object Foundation's encoder makes, its accounts in byte order")
    func auditedEntryJSON() throws {
        let entry = LedgerRepository.AuditedEntry(
            entry: "J01", kind: .settlement,
            postings: ["personal:P10": 1_200, "personal:P9": -300, "fund:440100-310-310100": -900, "Channel:\"x\"": 0, "账户": 5])
        let bytes = JSONWriter.bytes(entry, keys: .storage)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let foundation = try encoder.encode(entry)
        #expect(
            try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary == JSONSerialization.jsonObject(with: foundation) as? NSDictionary)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(
            text
                == #"{"entry":"J01","kind":"settlement","postings":{"Channel:\"x\"":0,"fund:440100-310-310100":-900,"personal:P10":1200,"personal:P9":-300,"账户":5}}"#
        )
    }

    @Test("editing, deleting, reordering or truncating audit records is detected", arguments: BackendKind.available)
    func tamperingIsDetected(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.activity(platform)
            let clean = try await platform.verifyAudit()
            #expect(clean.passed, "\(clean.problems)")
            #expect(clean.records > 10)
            let lane = try await Self.busyLane(platform)

            // Edit: change the detail of record 2.
            _ = try await platform.backend.write { db in
                try db.execute("UPDATE audit_log SET detail = '{\"tampered\":true}' WHERE lane = ? AND seq = 2", [.integer(lane)])
            }
            let edited = try await platform.verifyAudit()
            #expect(edited.problems.contains { $0.contains("lane \(lane) record 2") && $0.contains("edited") }, "\(edited.problems)")
        }
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.activity(platform)
            let lane = try await Self.busyLane(platform)
            // Delete record 2.
            _ = try await platform.backend.write { db in try db.execute("DELETE FROM audit_log WHERE lane = ? AND seq = 2", [.integer(lane)]) }
            let deleted = try await platform.verifyAudit()
            #expect(deleted.problems.contains { $0.contains("lane \(lane)") && $0.contains("record 2 is missing") }, "\(deleted.problems)")
        }
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.activity(platform)
            let lane = try await Self.busyLane(platform)
            // Reorder: swap records 2 and 3 (their sequence numbers).
            _ = try await platform.backend.write { db in
                try db.execute("UPDATE audit_log SET seq = -3 WHERE lane = ? AND seq = 3", [.integer(lane)])
                try db.execute("UPDATE audit_log SET seq = 3 WHERE lane = ? AND seq = 2", [.integer(lane)])
                try db.execute("UPDATE audit_log SET seq = 2 WHERE lane = ? AND seq = -3", [.integer(lane)])
            }
            let reordered = try await platform.verifyAudit()
            #expect(reordered.problems.contains { $0.contains("lane \(lane) record 2") }, "\(reordered.problems)")
        }
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.activity(platform)
            let lane = try await Self.busyLane(platform)
            let anchors = try await platform.auditHeads()
            // Truncate the end and rewrite the head to match: only a published anchor shows it.
            _ = try await platform.backend.write { db in
                let head = try #require(try db.queryOne("SELECT seq FROM audit_heads WHERE lane = ?", [.integer(lane)])?.int64("seq"))
                try db.execute("DELETE FROM audit_log WHERE lane = ? AND seq = ?", [.integer(lane), .integer(head)])
                let last = try #require(
                    try db.queryOne("SELECT hash FROM audit_log WHERE lane = ? AND seq = ?", [.integer(lane), .integer(head - 1)]))
                try db.execute("UPDATE audit_heads SET seq = ?, hash = ? WHERE lane = ?", [.integer(head - 1), last["hash"], .integer(lane)])
            }
            #expect(try await platform.verifyAudit().passed)
            let anchored = try await platform.verifyAudit(anchors: anchors)
            #expect(anchored.problems.contains { $0.contains("anchor") && $0.contains("lane \(lane)") }, "\(anchored.problems)")
        }
    }

    @Test("every money movement is in the audit chain with its postings", arguments: BackendKind.available)
    func ledgerIsAudited(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.activity(platform)
            await platform.flushProjections()  // the audit records are projections, written after the commit
            let rows = try await platform.backend.read { db in
                try db.query("SELECT action, detail FROM audit_log WHERE action LIKE 'ledger.%'", [])
            }
            let entries = try await platform.verifyLedger().entries
            #expect(Int64(rows.count) == entries && entries > 0)
            #expect(try rows.allSatisfy { try $0.string("detail").contains("\"postings\"") })
        }
    }

    @Test("rotate-key re-seals every personal value under the new key while old ones stay readable", arguments: BackendKind.available)
    func keyRotation(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.activity(platform)
            // A staff member's authenticator key and a visit's diagnoses are sealed too.
            _ = try await platform.createStaff(
                institution: S.hospital.code, name: "cashier1", displayName: "收款员", role: .cashier, passwordHash: "unused",
                totpSecret: "staff-key", actor: "test")
            let registration = try await platform.registerNationalVisit(
                institution: S.hospital, personNumber: "P2", hospitalVisitNumber: "N1", category: .ordinaryOutpatient)
            let diagnosis = Diagnosis(stage: .visit, kind: "1", rank: 1, code: "J06.900", name: "上呼吸道感染", main: true)
            try await platform.recordNationalDiagnoses([diagnosis], stage: .visit, registration: registration.id, institution: S.hospital.code)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            // The platform's keys are unknown here; rebuild a cipher from a file with the same material.
            let keyFile = directory + "/keys.json"
            let original = try #require(try? PlatformHarness.keys(of: platform))
            try PersonalDataCipher.writeKeys(original, to: keyFile)
            let rotatedKeys = original.rotated()
            try PersonalDataCipher.writeKeys(rotatedKeys, to: keyFile)
            let rotatedCipher = try PersonalDataCipher(keys: rotatedKeys)
            let rotated = Platform(
                backend: platform.backend, clock: platform.clock, ids: platform.ids, cipher: rotatedCipher, channel: platform.channel)
            #expect(try await rotated.sealedUnderOtherKeys() > 0)
            let report = try await rotated.resealUnderCurrentKey()
            #expect(report.remaining == 0)
            #expect(report.resealed["people.id_number_cipher"] == 6)
            #expect(report.resealed["staff_members.totp_secret_cipher"] == 1 && report.resealed["national_registrations.diagnoses_cipher"] == 1)
            #expect(try await rotated.staffCredentials(institution: S.hospital.code, name: "cashier1")?.totpSecret == "staff-key")
            #expect(try await rotated.nationalDiagnoses(registration: registration.id, institution: S.hospital.code) == [diagnosis])
            #expect(try await rotated.person(number: "P3")?.name == "测试3")
            // A process still holding only the old key reloads the file when it meets the new key.
            let stale = try PersonalDataCipher(keys: original) { try? PersonalDataCipher.loadKeys(file: keyFile, create: false) }
            let staleStore = Platform(backend: platform.backend, clock: platform.clock, ids: platform.ids, cipher: stale, channel: platform.channel)
            #expect(try await staleStore.person(number: "P3")?.name == "测试3")
            #expect(stale.currentKeyID == rotatedKeys.current)
        }
    }
}
