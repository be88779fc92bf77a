import Foundation
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox

@testable import YibaoStore

@Suite("Platform contract: people, institutions, operators, reference data")
struct ReferenceStoreTests {
    typealias S = AppFixtures

    @Test("personal data is sealed at rest and found by keyed hash", arguments: BackendKind.available)
    func personalDataAtRest(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            let person = S.person("P1", sequence: 7)
            try await platform.enrol(person)
            #expect(try await platform.person(number: "P1") == person)
            #expect(try await platform.person(idNumber: person.idNumber)?.number == "P1")
            let dump = try await platform.backend.read { db in try db.query("SELECT * FROM people", []) }
            let text = dump.flatMap(\.values).map { "\($0)" }.joined(separator: " ")
            #expect(!text.contains(person.idNumber))
            #expect(!text.contains(person.name))
            #expect(!text.contains(person.phone!))
            await #expect {
                try await platform.enrol(S.person("P2", sequence: 7))
            } throws: { ($0 as? Refusal)?.code == .alreadyExists }
            await #expect {
                var bad = S.person("P3", sequence: 8)
                bad.idNumber = "123"
                try await platform.enrol(bad)
            } throws: { ($0 as? Refusal)?.field == "id_number" }
        }
    }

    @Test("a ciphertext moved to another row does not open")
    func sealedValuesAreBoundToTheirRow() throws {
        let cipher = try PersonalDataCipher(keys: .generate())
        let sealed = cipher.seal("张三", field: "people.name", row: "P1")
        #expect(try cipher.open(sealed, field: "people.name", row: "P1") == "张三")
        #expect(throws: PersonalDataCipher.Failure.self) { try cipher.open(sealed, field: "people.name", row: "P2") }
        let rotated = try PersonalDataCipher(keys: PersonalDataCipher.Keys.generate().rotated())
        #expect(rotated.currentKeyID == "k2")
    }

    @Test("institution keys authenticate until rotated out", arguments: BackendKind.available)
    func institutionKeys(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await platform.saveInstitution(S.hospital)
            let first = try await platform.issueInstitutionKey(code: S.hospital.code)
            #expect(try await platform.authenticateInstitution(token: first.token) == S.hospital)
            #expect(try await platform.authenticateInstitution(token: first.keyId + ".wrong") == nil)
            #expect(try await platform.authenticateInstitution(token: "garbage") == nil)
            let second = try await platform.issueInstitutionKey(code: S.hospital.code)
            #expect(try await platform.authenticateInstitution(token: first.token) != nil)  // overlap
            clock.advance(seconds: Platform.keyRotationOverlapSeconds + 1)
            #expect(try await platform.authenticateInstitution(token: first.token) == nil)
            #expect(try await platform.authenticateInstitution(token: second.token) == S.hospital)
        }
    }

    @Test(arguments: BackendKind.available)
    func operatorTokens(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            let credential = try await platform.createOperator(name: "alice", role: .operator)
            #expect(try await platform.authenticateOperator(token: credential.token)?.role == .operator)
            #expect(try await platform.authenticateOperator(token: "op_nope") == nil)
            await #expect { try await platform.createOperator(name: "alice", role: .viewer) } throws: { ($0 as? Refusal)?.code == .alreadyExists }
        }
    }

    @Test("catalogue and policies round-trip; a change through another instance is seen", arguments: BackendKind.available)
    func referenceData(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            #expect(try await platform.policy(region: S.region, type: .employee, year: 2026) == S.policy)
            #expect(try await platform.catalogueItem(region: S.region, code: "B001") == S.items[1])
            #expect(try await platform.catalogueCount(region: S.region) == 3)
            // A second instance on the same database caches, then sees a change made by the first.
            let other = Platform(backend: platform.backend, clock: clock, ids: platform.ids, cipher: platform.cipher, channel: platform.channel)
            #expect(try await other.catalogueItem(region: S.region, code: "A001")?.name == "阿莫西林胶囊")
            var renamed = S.items[0]
            renamed.name = "阿莫西林胶囊(新)"
            #expect(try await platform.importCatalogue([renamed]) == 0)
            clock.advance(seconds: 2)
            #expect(try await other.catalogueItem(region: S.region, code: "A001")?.name == "阿莫西林胶囊(新)")
            var bad = S.policy
            bad.outpatient.levels[0].ratio = Ratio(basisPoints: 12_000)
            await #expect { try await platform.savePolicy(bad) } throws: { ($0 as? Refusal)?.field == "outpatient.levels[0].ratio" }
            // A region's file is saved whole or not at all: a good policy beside a bad one is not saved.
            var changed = S.policy
            changed.title += "（修订）"
            var resident = bad
            resident.insuranceType = .resident
            await #expect { try await platform.savePolicies([changed, resident]) } throws: { ($0 as? Refusal)?.field == "outpatient.levels[0].ratio" }
            #expect(try await platform.policy(region: S.region, type: .employee, year: 2026) == S.policy)
            try await platform.savePolicies([changed])
            #expect(try await platform.policy(region: S.region, type: .employee, year: 2026)?.title == changed.title)
        }
    }
}
