import Foundation
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox

@testable import YibaoStore

@Suite("Platform contract: cancelling a visit")
struct VisitCancellationStoreTests {
    typealias S = AppFixtures

    /// The reference data and P1, with 200 yuan in the personal account.
    static func patient(_ platform: Platform) async throws {
        try await S.load(into: platform)
        try await platform.enrol(S.person("P1", sequence: 1), openingBalance: .yuan(200))
    }

    static func open(_ platform: Platform, _ number: String, person: String = "P1") async throws -> Visit {
        try await platform.openVisit(
            OpenVisitRequest(
                personNumber: person, category: .ordinaryOutpatient, hospitalVisitNumber: number, lines: [S.line("1", "A001", yuan: 300)]),
            institution: S.hospital)
    }

    @Test(
        "a cancelled visit takes no lines, is not settled, leaves the counter's list; cancelling again answers the same",
        arguments: BackendKind.available)
    func cancelOpen(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.patient(platform)
            let visit = try await Self.open(platform, "MZ-C1")
            let kept = try await Self.open(platform, "MZ-C2")

            let cancelled = try await platform.cancelVisit(id: visit.id, institution: S.hospital)
            #expect(cancelled.state == .cancelled && cancelled.lines == visit.lines)
            #expect(try await platform.visit(id: visit.id, institution: S.hospital)?.state == .cancelled)
            #expect(try await platform.openVisits(institution: S.hospital).map(\.id) == [kept.id])
            #expect(try await platform.cancelVisit(id: visit.id, institution: S.hospital).state == .cancelled)
            // Who cancelled it is in the patient's audit trail, once.
            let audited = try await platform.auditTrail(subject: "P1").filter { $0.action == "visit.cancel" }
            #expect(
                audited.count == 1 && audited.first?.actor == "institution:" + S.hospital.code && audited.first?.detail.contains(visit.id) == true)

            await #expect {
                try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: nil)
            } throws: { ($0 as? Refusal)?.code == .visitNotOpen }
            await #expect {
                try await platform.preSettle(visitID: visit.id, institution: S.hospital, useAccount: true)
            } throws: { ($0 as? Refusal)?.code == .visitNotOpen }
            await #expect {
                try await platform.addLines([S.line("2", "A001", yuan: 10)], visitID: visit.id, institution: S.hospital)
            } throws: { ($0 as? Refusal)?.code == .visitNotOpen }
            await #expect {
                try await platform.removeLines(["1"], visitID: visit.id, institution: S.hospital)
            } throws: { ($0 as? Refusal)?.code == .visitNotOpen }
            // Its number stays taken: the next visit is opened under a new one.
            await #expect { try await Self.open(platform, "MZ-C1") } throws: { ($0 as? Refusal)?.code == .alreadyExists }
            // Another institution's visit is not found; nothing moved.
            await #expect {
                try await platform.cancelVisit(
                    id: kept.id, institution: Institution(code: "H440100999", name: "另一家医院", region: S.region, level: .level1))
            } throws: { ($0 as? Refusal)?.code == .notFound }
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(200))
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a settled visit is reversed before it is cancelled; once cancelled it is not settled again", arguments: BackendKind.available)
    func cancelAfterReversal(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.patient(platform)
            let visit = try await Self.open(platform, "MZ-R1")
            let settled = try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: nil)
            await #expect {
                try await platform.cancelVisit(id: visit.id, institution: S.hospital)
            } throws: { ($0 as? Refusal)?.code == .visitAlreadySettled && ($0 as? Refusal)?.references["settlement_id"] == settled.id }

            _ = try await platform.reverse(settlementID: settled.id, institution: S.hospital, idempotency: nil)
            #expect(try await platform.visit(id: visit.id, institution: S.hospital)?.state == .open)
            #expect(try await platform.cancelVisit(id: visit.id, institution: S.hospital).state == .cancelled)
            await #expect {
                try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: nil)
            } throws: { ($0 as? Refusal)?.code == .visitNotOpen }
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(200))
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("cancelling a visit cancels its payment order; cancelling the order cancels its visit", arguments: BackendKind.available)
    func paymentOrders(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.patient(platform)
            let request = { (number: String) in
                PaymentOrderRequest(
                    personNumber: "P1", category: .ordinaryOutpatient, hospitalVisitNumber: number, lines: [S.line("1", "A001", yuan: 300)])
            }
            let first = try await platform.createPaymentOrder(request("PO-1"), institution: S.hospital)
            _ = try await platform.cancelVisit(id: first.visitId, institution: S.hospital)
            #expect(try await platform.paymentOrder(id: first.id, institution: S.hospital).state == .cancelled)
            await #expect {
                try await platform.payPaymentOrder(
                    id: first.id, payer: "P1", useAccount: true, idempotency: IdempotencyRequest(key: "pay-PO-1", fingerprint: first.id))
            } throws: { ($0 as? Refusal)?.code == .paymentOrderClosed }

            let second = try await platform.createPaymentOrder(request("PO-2"), institution: S.hospital)
            _ = try await platform.cancelPaymentOrder(id: second.id, institution: S.hospital)
            #expect(try await platform.visit(id: second.visitId, institution: S.hospital)?.state == .cancelled)
            #expect(try await platform.openVisits(institution: S.hospital).isEmpty)
            #expect(try await platform.accountBalance(of: "P1").balance == .yuan(200))
        }
    }

    @Test(
        "settlements and cancellations of one visit at once: either it is settled once or cancelled with nothing moved",
        arguments: BackendKind.available)
    func race(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await Self.patient(platform)
            for round in 0..<4 {
                let visit = try await Self.open(platform, "MZ-RACE-\(round)")
                let outcomes = await withTaskGroup(of: String.self) { group in
                    for task in 0..<12 {
                        group.addTask {
                            do {
                                if (task + round) % 2 == 0 {
                                    _ = try await platform.settle(visitID: visit.id, institution: S.hospital, useAccount: true, idempotency: nil)
                                    return "settled"
                                }
                                _ = try await platform.cancelVisit(id: visit.id, institution: S.hospital)
                                return "cancelled"
                            } catch let refusal as Refusal {
                                return refusal.code.rawValue
                            } catch {
                                return "error: \(error)"
                            }
                        }
                    }
                    return await group.reduce(into: [String]()) { $0.append($1) }
                }
                let state = try #require(try await platform.visit(id: visit.id, institution: S.hospital)?.state)
                #expect(!outcomes.contains { $0.hasPrefix("error") }, "\(outcomes)")
                if state == .settled {
                    #expect(outcomes.filter { $0 == "settled" }.count == 1, "\(outcomes)")
                    #expect(!outcomes.contains("cancelled"), "\(outcomes)")
                } else {
                    #expect(state == .cancelled, "\(outcomes)")
                    #expect(!outcomes.contains("settled"), "\(outcomes)")
                }
            }
            let settledCount = try await platform.backend.read { db in
                try db.queryOne("SELECT COUNT(*) AS n FROM settlements", [])?.int64("n") ?? -1
            }
            let settledVisits = try await platform.backend.read { db in
                try db.queryOne("SELECT COUNT(*) AS n FROM visits WHERE state = 'settled'", [])?.int64("n") ?? -1
            }
            #expect(settledCount == settledVisits)
            #expect(try await platform.verifyLedger().passed)
        }
    }
}
