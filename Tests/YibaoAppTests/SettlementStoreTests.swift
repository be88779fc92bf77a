import Foundation
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox

@testable import YibaoStore

@Suite("Platform contract: settlement, reversal, idempotency, ledger")
struct SettlementStoreTests {
    typealias S = AppFixtures

    @Test(arguments: BackendKind.available)
    func migrationsAreIdempotent(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform throws in
            #expect(try await platform.migrate().isEmpty)
            #expect(try await Migrations.storedVersion(platform.backend) == Migrations.latestVersion)
        }
    }

    @Test(
        "settling opens only the patient's sealed name: with their ID number and phone unreadable, the visit still pre-settles, settles and is refunded, the record shows the masked name",
        arguments: BackendKind.available)
    func settlementOpensOnlyTheName(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // setup: P1's ID number and phone sealed under a key no instance has.
            try await S.load(into: platform)
            let person = S.person("P1", sequence: 1)
            try await platform.enrol(person, openingBalance: .yuan(200))
            _ = try await platform.backend.write { db in
                try db.execute("UPDATE people SET id_number_cipher = 'lost:AAAA', phone_cipher = 'lost:AAAA' WHERE number = 'P1'", [])
            }
            await #expect(throws: (any Error).self) { try await platform.person(number: "P1") }
            let visit = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ-N1",
                    lines: [S.line("1", "A001", yuan: 300), S.line("2", "A001", yuan: 50)]),
                institution: S.hospital)

            // act
            let preview = try await platform.preSettle(visitID: visit.id, institution: S.hospital, useAccount: true)
            let settled = try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: nil)
            let refund = try await platform.refund(
                settlementID: settled.id, institution: S.hospital, request: RefundRequest(type: .lines, lineNumbers: ["2"]), idempotency: nil)

            // verify
            #expect(settled.breakdown == preview.breakdown && settled.state == .completed)
            #expect(settled.personNameMasked == Masking.name(person.name) && settled.personNameMasked.hasSuffix("*"))
            #expect(refund.originalId == settled.id && refund.kind == .refund && refund.breakdown.totalAmount != .zero)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("settle moves fund, account and accumulators in one transaction", arguments: BackendKind.available)
    func settleAndReverse(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // setup
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(200))
            let visit = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ001", lines: [S.line("1", "A001", yuan: 300)]),
                institution: S.hospital
            )
            // act: pre-settle moves nothing
            let preview = try await platform.preSettle(visitID: visit.id, institution: S.hospital, useAccount: true)
            #expect(preview.breakdown.pooledFund == .yuan(120))
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(200))

            // act: settle
            let settled = try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: nil)
            // verify
            #expect(settled.breakdown == preview.breakdown)
            #expect(settled.breakdown.deductiblePaid == .yuan(100))
            #expect(settled.breakdown.pooledFund == .yuan(120))
            #expect(settled.breakdown.accountPaid == .yuan(180))
            #expect(settled.breakdown.cashPaid == .zero)
            #expect(settled.breakdown.accountBalanceAfter == .yuan(20))
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(20))
            #expect(try await platform.balance(of: .institutionClearing(S.hospital.code)) == .yuan(300))
            #expect(try await platform.balance(of: .fund(S.region, .employee, .employeePooled)) == .yuan(-120))
            #expect(try await platform.visit(id: visit.id, institution: S.hospital)?.state == .settled)
            #expect(try await platform.verifyLedger().passed)

            await #expect {
                try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: nil)
            } throws: { ($0 as? Refusal)?.code == .visitAlreadySettled }

            // A second visit finds the deductible already paid this year.
            let second = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ002", lines: [S.line("1", "A001", yuan: 100)]),
                institution: S.hospital
            )
            let secondPreview = try await platform.preSettle(visitID: second.id, institution: S.hospital, useAccount: false)
            #expect(secondPreview.breakdown.deductiblePaid == .zero)
            #expect(secondPreview.breakdown.pooledFund == .yuan(60))

            // act: reverse
            let reversal = try await platform.reverse(settlementID: settled.id, institution: S.hospital, idempotency: nil)
            // verify: negated, balances and accumulators restored, visit open again
            #expect(reversal.kind == .reversal && reversal.originalId == settled.id)
            #expect(reversal.breakdown.totalAmount == .yuan(-300))
            #expect(reversal.breakdown.accountPaid == .yuan(-180))
            #expect(reversal.breakdown.accountBalanceAfter == .yuan(200))
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(200))
            #expect(try await platform.balance(of: .institutionClearing(S.hospital.code)) == .zero)
            #expect(try await platform.settlement(id: settled.id, institution: S.hospital)?.reversedBy == reversal.id)
            #expect(try await platform.visit(id: visit.id, institution: S.hospital)?.state == .open)
            let afterReversal = try await platform.preSettle(visitID: second.id, institution: S.hospital, useAccount: false)
            #expect(afterReversal.breakdown.deductiblePaid == .yuan(100))
            #expect(try await platform.verifyLedger().passed)
            await #expect {
                try await platform.reverse(settlementID: settled.id, institution: S.hospital, idempotency: nil)
            } throws: { ($0 as? Refusal)?.code == .alreadyReversed }
        }
    }

    @Test("opening a visit again with the same hospital visit number is refused and names the visit it already has", arguments: BackendKind.available)
    func duplicateVisitNumberNamesTheVisit(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(200))
            let request = OpenVisitRequest(
                personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ-DUP", lines: [S.line("1", "A001", yuan: 30)])
            let first = try await platform.openVisit(request, institution: S.hospital)

            // act: the hospital's system lost the answer and opens the same visit again.
            var refusal: Refusal?
            do { _ = try await platform.openVisit(request, institution: S.hospital) } catch let error as Refusal { refusal = error }

            // verify: refused, naming the first visit, which is still there as it was.
            #expect(refusal?.code == .alreadyExists)
            #expect(refusal?.field == "hospital_visit_number")
            #expect(refusal?.references["visit_id"] == first.id)
            #expect(try await platform.visit(id: first.id, institution: S.hospital)?.hospitalVisitNumber == "MZ-DUP")
        }
    }

    @Test("an Idempotency-Key returns the first answer; reused with another request it is refused", arguments: BackendKind.available)
    func idempotency(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(50))
            let visit = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ1", lines: [S.line("1", "B001", yuan: 40)]),
                institution: S.hospital
            )
            let key = IdempotencyRequest(key: "k-1", fingerprint: "f-1")
            let first = try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: key)
            let again = try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: key)
            #expect(again == first)
            await #expect {
                try await platform.settle(
                    visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: IdempotencyRequest(key: "k-1", fingerprint: "other"))
            } throws: { ($0 as? Refusal)?.code == .idempotencyKeyReused }
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(50) - first.breakdown.accountPaid)
        }
    }

    @Test("20 concurrent requests with one Idempotency-Key settle once", arguments: BackendKind.available)
    func concurrentIdempotency(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(500))
            let visit = try await platform.openVisit(
                OpenVisitRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "MZ1", lines: [S.line("1", "A001", yuan: 120)]),
                institution: S.hospital
            )
            let key = IdempotencyRequest(key: "same", fingerprint: "same")
            let records = try await withThrowingTaskGroup(of: SettlementRecord.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: key) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(records.map(\.id)).count == 1)
            // One settlement and one journal entry for it in the database, whatever the 20 answers said.
            let rows = try await platform.backend.read { db in
                (
                    try db.queryOne("SELECT COUNT(*) AS n FROM settlements WHERE visit_id = ?", [.text(visit.id)])?.int64("n"),
                    try db.queryOne("SELECT COUNT(*) AS n FROM journal_entries WHERE kind = 'settlement'", [])?.int64("n")
                )
            }
            #expect(rows.0 == 1 && rows.1 == 1)
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(500) - records[0].breakdown.accountPaid)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("200 concurrent settlements on an account that covers 50 never overdraw it", arguments: BackendKind.available)
    func concurrentSettlementsOnOneAccount(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // setup: 200 visits of a 10-yuan class C item (wholly self-paid), an account of 500 yuan.
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(500))
            var visits: [String] = []
            for index in 0..<200 {
                let visit = try await platform.openVisit(
                    OpenVisitRequest(
                        personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "V\(index)", lines: [S.line("1", "C001", yuan: 10)]),
                    institution: S.hospital
                )
                visits.append(visit.id)
            }
            // act
            let records = try await withThrowingTaskGroup(of: SettlementRecord.self) { group in
                for id in visits {
                    group.addTask { try await platform.settle(visitID: id, institution: S.hospital, useAccount: true, idempotency: nil) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // verify
            #expect(Set(records.map(\.id)).count == 200)
            #expect(records.filter { $0.breakdown.accountPaid == .yuan(10) }.count == 50)
            #expect(records.filter { $0.breakdown.cashPaid == .yuan(10) }.count == 150)
            #expect(!records.isEmpty && records.allSatisfy { !$0.breakdown.accountBalanceAfter.isNegative })
            // In the database: 200 settlements, 50 of them paid by the account, and exactly 500 yuan posted out of it.
            let stored = try await platform.backend.read { db in
                try db.queryOne(
                    """
                    SELECT COUNT(*) AS n, SUM(CASE WHEN account_paid > 0 THEN 1 ELSE 0 END) AS by_account,
                    (SELECT CAST(SUM(amount) AS BIGINT) FROM postings WHERE account_id = 'personal:P1') AS account_net
                    FROM settlements WHERE person_number = 'P1' AND kind = 'settlement'
                    """, [])
            }
            #expect(try stored?.int64("n") == 200 && stored?.int64("by_account") == 50 && stored?.int64("account_net") == 0)
            #expect(try await platform.accountBalance(of: "P1").balance == .zero)
            let report = try await platform.verifyLedger()
            #expect(report.passed, "\(report.problems)")
            #expect(report.settlements == 200)
        }
    }

    @Test("bad references are refused with the field named", arguments: BackendKind.available)
    func refusals(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1))
            await #expect {
                try await platform.openVisit(
                    OpenVisitRequest(
                        personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "X", lines: [S.line("1", "NOPE", yuan: 1)]),
                    institution: S.hospital
                )
            } throws: { ($0 as? Refusal)?.code == .unknownCatalogueItem && ($0 as? Refusal)?.field == "lines[0].item_code" }
            await #expect {
                try await platform.openVisit(
                    OpenVisitRequest(personNumber: "NOBODY", category: .ordinaryOutpatient, hospitalVisitNumber: "X"), institution: S.hospital)
            } throws: { ($0 as? Refusal)?.code == .unknownPerson }
            await #expect {
                try await platform.openVisit(
                    OpenVisitRequest(
                        personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "X",
                        lines: [FeeLine(lineNumber: "1", itemCode: "A001", unitPrice: Money(fen: -5), quantity: Quantity(units: 1))]
                    ),
                    institution: S.hospital
                )
            } throws: { ($0 as? Refusal)?.field == "lines[0].unit_price" }
            let empty = try await platform.openVisit(
                OpenVisitRequest(personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: "EMPTY"), institution: S.hospital
            )
            await #expect {
                try await platform.settle(visitID: empty.id, institution: S.hospital, useAccount: true, idempotency: nil)
            } throws: { ($0 as? Refusal)?.code == .noFeeLines }
            let other = Institution(code: "H2", name: "other", region: S.region, level: .level1)
            try await platform.saveInstitution(other)
            await #expect {
                try await platform.settle(visitID: empty.id, institution: other, useAccount: true, idempotency: nil)
            } throws: { ($0 as? Refusal)?.code == .notFound }
            // Nothing was written by the refused requests.
            #expect(try await platform.verifyLedger().entries == 0)
        }
    }

    @Test("verify-ledger finds a tampered balance and an unbalanced entry", arguments: BackendKind.available)
    func verifyDetectsTampering(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(100))
            #expect(try await platform.verifyLedger().passed)
            _ = try await platform.backend.write { db in
                try db.execute("UPDATE accounts SET balance = balance + 1 WHERE id = 'personal:P1'", [])
            }
            let report = try await platform.verifyLedger()
            #expect(report.problems.contains { $0.check == "balance differs from postings" && $0.location == "personal:P1" })
            #expect(report.problems.contains { $0.check == "balances do not sum to zero" })
            _ = try await platform.backend.write { db in
                try db.execute("UPDATE postings SET amount = amount + 7 WHERE account_id = 'personal:P1'", [])
            }
            #expect(try await platform.verifyLedger().problems.contains { $0.check == "entry does not sum to zero" })
        }
    }
}

@Suite("Platform contract: atomicity")
struct AtomicityStoreTests {
    typealias S = AppFixtures

    @Test("a refused write leaves nothing behind, even among other writes of the same batch", arguments: BackendKind.available)
    func refusalsRollBackEverything(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            // setup: a write that inserts two rows and then refuses.
            let outcome = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        do {
                            _ = try await platform.backend.write { db in
                                try db.execute("INSERT INTO reference_versions (name, version) VALUES (?, 1)", [.text("kept-\(index)")])
                                if index % 2 == 1 {
                                    try db.execute("INSERT INTO reference_versions (name, version) VALUES (?, 1)", [.text("refused-\(index)")])
                                    throw Refusal(.invalidRequest, "refused after writing")
                                }
                            }
                            return true
                        } catch is Refusal {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcome.filter { $0 }.count == 10)
            let names = try await platform.backend.read { db in try db.query("SELECT name FROM reference_versions", []).map { try $0.string("name") }
            }
            #expect(names.filter { $0.hasPrefix("kept-") }.count == 10)
            #expect(!names.contains { $0.hasPrefix("refused-") })
            #expect(names.filter { $0.hasPrefix("kept-") }.allSatisfy { Int($0.dropFirst(5))! % 2 == 0 })
        }
    }
}
