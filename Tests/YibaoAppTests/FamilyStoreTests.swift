import Foundation
import Testing
import YibaoCore
import YibaoSandbox

@testable import YibaoApp
@testable import YibaoStore

@Suite("Platform contract: family accounts")
struct FamilyStoreTests {
    typealias S = AppFixtures

    /// Enrols people P0 … P(n−1) (employees, adults) with 500 yuan each.
    static func enrol(_ platform: Platform, count: Int, balance: Money = .yuan(500)) async throws {
        for index in 0..<count { try await platform.enrol(S.person("P\(index)", sequence: 40 + index), openingBalance: balance) }
    }

    static func bind(_ platform: Platform, binder: String, member: String, relationship: Relationship = .parent) async throws -> FamilyBinding {
        let person = try #require(try await platform.person(number: member))
        let binding = try await platform.requestBinding(
            binder: binder, BindingRequest(memberNumber: member, memberIdNumber: person.idNumber, relationship: relationship))
        return try await platform.confirmBinding(id: binding.id, member: member)
    }

    @Test(
        "limits on the boundary: 5th binding of a month accepted, 6th refused; a member's 3rd refused; both reset on the 1st",
        arguments: BackendKind.available)
    func monthlyLimits(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-20T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            try await Self.enrol(platform, count: 14)
            // Cancelled and declined requests do not count.
            let cancelled = try await platform.requestBinding(
                binder: "P0",
                BindingRequest(memberNumber: "P7", memberIdNumber: try await platform.person(number: "P7")!.idNumber, relationship: .spouse)
            )
            _ = try await platform.cancelBinding(id: cancelled.id, binder: "P0")
            let declined = try await platform.requestBinding(
                binder: "P0",
                BindingRequest(memberNumber: "P8", memberIdNumber: try await platform.person(number: "P8")!.idNumber, relationship: .child)
            )
            _ = try await platform.declineBinding(id: declined.id, member: "P8")
            for member in 1...5 { #expect(try await Self.bind(platform, binder: "P0", member: "P\(member)").state == .approved) }
            await #expect {
                try await Self.bind(platform, binder: "P0", member: "P6")
            } throws: { ($0 as? Refusal)?.code == .familyLimitReached }

            // A member bound twice this month (bind, unbind, bind again, unbind) cannot be bound a third time.
            let first = try await Self.bind(platform, binder: "P9", member: "P10")
            _ = try await platform.unbind(id: first.id, by: "P10")
            let second = try await Self.bind(platform, binder: "P11", member: "P10")
            _ = try await platform.unbind(id: second.id, by: "P11")
            let third = try await platform.requestBinding(
                binder: "P12",
                BindingRequest(memberNumber: "P10", memberIdNumber: try await platform.person(number: "P10")!.idNumber, relationship: .parent)
            )
            await #expect {
                try await platform.confirmBinding(id: third.id, member: "P10")
            } throws: { ($0 as? Refusal)?.code == .familyLimitReached }
            #expect(try await platform.bindings(of: "P10").first { $0.id == third.id }?.state == .pending)

            // 23:59 on the 31st is still March; midnight on the 1st (Beijing) is April: both counters reset.
            clock.set(Instant(iso8601: "2026-03-31T23:59:00+08:00")!)
            await #expect { try await Self.bind(platform, binder: "P0", member: "P6") } throws: { ($0 as? Refusal)?.code == .familyLimitReached }
            clock.set(Instant(iso8601: "2026-04-01T00:00:00+08:00")!)
            #expect(try await Self.bind(platform, binder: "P0", member: "P6").state == .approved)
            #expect(try await platform.confirmBinding(id: third.id, member: "P10").state == .approved)
        }
    }

    @Test("a member under 16 is bound with documents an operator reviews; one family at a time", arguments: BackendKind.available)
    func documentsAndOneFamily(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            try await Self.enrol(platform, count: 3)
            let child = S.person("C1", sequence: 60, type: .resident, birth: CivilDate(year: 2015, month: 6, day: 1)!)
            try await platform.enrol(child)
            await #expect {
                try await platform.requestBinding(
                    binder: "P0", BindingRequest(memberNumber: "C1", memberIdNumber: child.idNumber, relationship: .child))
            } throws: { ($0 as? Refusal)?.field == "document_type" }
            let request = try await platform.requestBinding(
                binder: "P0",
                BindingRequest(
                    memberNumber: "C1", memberIdNumber: child.idNumber, relationship: .child, documentType: "出生医学证明", documentReference: "O440123456")
            )
            #expect(request.verification == .documents && request.state == .pending)
            // The child cannot confirm themself; an operator reviews.
            await #expect { try await platform.confirmBinding(id: request.id, member: "C1") } throws: { ($0 as? Refusal)?.code == .notFound }
            // The reviewer sees the document's reference (stored encrypted) to open the scan.
            let reviews = try await platform.pendingBindingReviews()
            #expect(reviews.map(\.binding.id) == [request.id] && reviews.first?.documentReference == "O440123456")
            let approved = try await platform.reviewBinding(id: request.id, approve: true, operatorName: "alice", note: "证件核验一致")
            #expect(approved.state == .approved && approved.decidedBy == "operator:alice")
            // The region allows one family account per person: a second binder must wait for an unbind.
            let other = try await platform.requestBinding(
                binder: "P1",
                BindingRequest(memberNumber: "C1", memberIdNumber: child.idNumber, relationship: .child, documentType: "户口簿", documentReference: "H1")
            )
            await #expect {
                try await platform.reviewBinding(id: other.id, approve: true, operatorName: "alice", note: nil)
            } throws: { ($0 as? Refusal)?.code == .alreadyInFamily }
            // The document reference is sealed at rest.
            let stored = try await platform.backend.read { db in try db.query("SELECT document_reference_cipher FROM family_bindings", []) }
            #expect(stored.count >= 2 && stored.allSatisfy { "\($0.values)".contains("O440123456") == false })
        }
    }

    @Test("a member short of money draws on the binder's account (acct_mulaid_pay); unbinding stops it at once", arguments: BackendKind.available)
    func mutualAid(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            try await platform.enrol(S.person("BINDER", sequence: 70), openingBalance: .yuan(500))
            try await platform.enrol(S.person("MEMBER", sequence: 71), openingBalance: .yuan(20))
            let binding = try await Self.bind(platform, binder: "BINDER", member: "MEMBER")
            // 300 yuan: deductible 100, fund 60 % of 200 = 120; the member bears 180: own 20, mutual aid 160.
            let record = try await WalletStoreTests.settle(platform, person: "MEMBER", visit: "F1", yuan: 300)
            #expect(record.breakdown.accountPaid == .yuan(180))
            #expect(record.breakdown.mutualAidPaid == .yuan(160))
            #expect(record.breakdown.cashPaid == .zero)
            #expect(record.breakdown.accountBalanceAfter == .zero)
            #expect(record.mutualAidPayer == "BINDER")
            #expect(try await platform.accountBalance(of: "BINDER").balance == .yuan(340))
            #expect(try await platform.history(person: "BINDER", query: HistoryQuery()).events.first?.kind == .mutualAidGiven)
            #expect(try await platform.familyActivity(member: "MEMBER").contains { $0.action == "family.mutual_aid" && $0.actor == "family:BINDER" })
            #expect(try await platform.verifyLedger().passed)

            // The member unbinds; the next settlement cannot draw on the binder.
            _ = try await platform.unbind(id: binding.id, by: "MEMBER")
            let after = try await WalletStoreTests.settle(platform, person: "MEMBER", visit: "F2", yuan: 100)
            #expect(after.breakdown.mutualAidPaid == .zero && after.breakdown.cashPaid == .yuan(40))
            #expect(try await platform.accountBalance(of: "BINDER").balance == .yuan(340))

            // A reversal gives the binder's money back to the binder.
            _ = try await platform.reverse(settlementID: record.id, institution: S.hospital, idempotency: nil)
            #expect(try await platform.accountBalance(of: "BINDER").balance == .yuan(500))
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a binder's code pays for a member; chronic/special disease, maternity and work injury are refused", arguments: BackendKind.available)
    func payingWithTheBindersCode(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform, number: "BINDER", sequence: 72, cardBalance: .yuan(1000), accountBalance: .yuan(100))
            let member = S.person("MEMBER", sequence: 73, type: .resident)
            try await platform.enrol(member)
            _ = try await Self.bind(platform, binder: "BINDER", member: "MEMBER", relationship: .parent)
            // A refused request spends nothing, so the same current code serves every attempt until one succeeds.
            func request(_ category: MedicalCategory, _ visit: String, for person: String? = "MEMBER") -> CodeVisitRequest {
                var request = CodeVisitRequest(
                    code: phone.code(at: clock.now()), category: category, hospitalVisitNumber: visit,
                    lines: [S.line("1", "A001", yuan: 300)]
                )
                request.forPersonNumber = person
                return request
            }
            for category in [MedicalCategory.chronicSpecialOutpatient, .maternityOutpatient, .maternityInpatient, .workInjury] {
                await #expect {
                    try await platform.settle(
                        code: request(category, "X\(category.rawValue)"), institution: S.hospital,
                        idempotency: IdempotencyRequest(key: category.rawValue, fingerprint: "f"))
                } throws: { ($0 as? Refusal)?.code == .familyPaymentNotAllowed }
            }
            // Ordinary outpatient: the member's policy (resident, 50 %) and the binder's account and card.
            let paid = try await platform.settle(
                code: request(.ordinaryOutpatient, "OK1"), institution: S.hospital, idempotency: IdempotencyRequest(key: "ok", fingerprint: "f")
            )
            #expect(paid.personNumber == "MEMBER" && paid.payerNumber == "BINDER")
            #expect(paid.breakdown.pooledFund == .yuan(150))
            #expect(paid.breakdown.mutualAidPaid == .yuan(100) && paid.breakdown.cashPaid == .yuan(50))
            await platform.flushAfterCommit()  // the capture, sent after the answer
            #expect(try await platform.sandbox!.card(phone.card.number)?.balance == .yuan(950))
            #expect(try await platform.history(person: "MEMBER", query: HistoryQuery()).events.first?.actor == "family:BINDER")
            #expect(try await platform.verifyLedger().passed)
            clock.advance(seconds: 30)
            // Someone the binder is not bound to.
            try await platform.enrol(S.person("STRANGER", sequence: 74))
            await #expect {
                try await platform.settle(
                    code: request(.ordinaryOutpatient, "NO1", for: "STRANGER"), institution: S.hospital,
                    idempotency: IdempotencyRequest(key: "no", fingerprint: "f"))
            } throws: { ($0 as? Refusal)?.code == .forbidden }
        }
    }
}
