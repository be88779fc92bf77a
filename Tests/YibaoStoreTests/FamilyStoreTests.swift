import Foundation
import Testing
import YibaoCore

@testable import YibaoStore

@Suite("Store contract: family accounts")
struct FamilyStoreTests {
    typealias S = StoreFixtures

    /// Enrols people P0 … P(n−1) (employees, adults) with 500 yuan each.
    static func enrol(_ store: Store, count: Int, balance: Money = .yuan(500)) async throws {
        for index in 0..<count { try await store.enrol(S.person("P\(index)", sequence: 40 + index), openingBalance: balance) }
    }

    static func bind(_ store: Store, binder: String, member: String, relationship: Relationship = .parent) async throws -> FamilyBinding {
        let person = try #require(try await store.person(number: member))
        let binding = try await store.requestBinding(
            binder: binder, BindingRequest(memberNumber: member, memberIdNumber: person.idNumber, relationship: relationship))
        return try await store.confirmBinding(id: binding.id, member: member)
    }

    @Test(
        "limits on the boundary: 5th binding of a month accepted, 6th refused; a member's 3rd refused; both reset on the 1st",
        arguments: BackendKind.available)
    func monthlyLimits(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-03-20T10:00:00+08:00")!)
        try await StoreHarness.withStore(kind, clock: clock) { store in
            try await S.load(into: store)
            try await Self.enrol(store, count: 14)
            // Cancelled and declined requests do not count.
            let cancelled = try await store.requestBinding(
                binder: "P0",
                BindingRequest(memberNumber: "P7", memberIdNumber: try await store.person(number: "P7")!.idNumber, relationship: .spouse)
            )
            _ = try await store.cancelBinding(id: cancelled.id, binder: "P0")
            let declined = try await store.requestBinding(
                binder: "P0", BindingRequest(memberNumber: "P8", memberIdNumber: try await store.person(number: "P8")!.idNumber, relationship: .child)
            )
            _ = try await store.declineBinding(id: declined.id, member: "P8")
            for member in 1...5 { #expect(try await Self.bind(store, binder: "P0", member: "P\(member)").state == .approved) }
            await #expect {
                try await Self.bind(store, binder: "P0", member: "P6")
            } throws: { ($0 as? Refusal)?.code == .familyLimitReached }

            // A member bound twice this month (bind, unbind, bind again, unbind) cannot be bound a third time.
            let first = try await Self.bind(store, binder: "P9", member: "P10")
            _ = try await store.unbind(id: first.id, by: "P10")
            let second = try await Self.bind(store, binder: "P11", member: "P10")
            _ = try await store.unbind(id: second.id, by: "P11")
            let third = try await store.requestBinding(
                binder: "P12",
                BindingRequest(memberNumber: "P10", memberIdNumber: try await store.person(number: "P10")!.idNumber, relationship: .parent)
            )
            await #expect {
                try await store.confirmBinding(id: third.id, member: "P10")
            } throws: { ($0 as? Refusal)?.code == .familyLimitReached }
            #expect(try await store.bindings(of: "P10").first { $0.id == third.id }?.state == .pending)

            // 23:59 on the 31st is still March; midnight on the 1st (Beijing) is April: both counters reset.
            clock.set(Instant(iso8601: "2026-03-31T23:59:00+08:00")!)
            await #expect { try await Self.bind(store, binder: "P0", member: "P6") } throws: { ($0 as? Refusal)?.code == .familyLimitReached }
            clock.set(Instant(iso8601: "2026-04-01T00:00:00+08:00")!)
            #expect(try await Self.bind(store, binder: "P0", member: "P6").state == .approved)
            #expect(try await store.confirmBinding(id: third.id, member: "P10").state == .approved)
        }
    }

    @Test("a member under 16 is bound with documents an operator reviews; one family at a time", arguments: BackendKind.available)
    func documentsAndOneFamily(kind: BackendKind) async throws {
        try await StoreHarness.withStore(kind) { store in
            try await S.load(into: store)
            try await Self.enrol(store, count: 3)
            let child = S.person("C1", sequence: 60, type: .resident, birth: CivilDate(year: 2015, month: 6, day: 1)!)
            try await store.enrol(child)
            await #expect {
                try await store.requestBinding(binder: "P0", BindingRequest(memberNumber: "C1", memberIdNumber: child.idNumber, relationship: .child))
            } throws: { ($0 as? Refusal)?.field == "document_type" }
            let request = try await store.requestBinding(
                binder: "P0",
                BindingRequest(
                    memberNumber: "C1", memberIdNumber: child.idNumber, relationship: .child, documentType: "出生医学证明", documentReference: "O440123456")
            )
            #expect(request.verification == .documents && request.state == .pending)
            // The child cannot confirm themself; an operator reviews.
            await #expect { try await store.confirmBinding(id: request.id, member: "C1") } throws: { ($0 as? Refusal)?.code == .notFound }
            #expect(try await store.pendingBindingReviews().map(\.id) == [request.id])
            let approved = try await store.reviewBinding(id: request.id, approve: true, operatorName: "alice", note: "证件核验一致")
            #expect(approved.state == .approved && approved.decidedBy == "operator:alice")
            // The region allows one family account per person: a second binder must wait for an unbind.
            let other = try await store.requestBinding(
                binder: "P1",
                BindingRequest(memberNumber: "C1", memberIdNumber: child.idNumber, relationship: .child, documentType: "户口簿", documentReference: "H1")
            )
            await #expect {
                try await store.reviewBinding(id: other.id, approve: true, operatorName: "alice", note: nil)
            } throws: { ($0 as? Refusal)?.code == .alreadyInFamily }
            // The document reference is sealed at rest.
            let stored = try await store.backend.read { db in try db.query("SELECT document_reference_cipher FROM family_bindings", []) }
            #expect(stored.count >= 2 && stored.allSatisfy { "\($0.values)".contains("O440123456") == false })
        }
    }

    @Test("a member short of money draws on the binder's account (acct_mulaid_pay); unbinding stops it at once", arguments: BackendKind.available)
    func mutualAid(kind: BackendKind) async throws {
        try await StoreHarness.withStore(kind) { store in
            try await S.load(into: store)
            try await store.enrol(S.person("BINDER", sequence: 70), openingBalance: .yuan(500))
            try await store.enrol(S.person("MEMBER", sequence: 71), openingBalance: .yuan(20))
            let binding = try await Self.bind(store, binder: "BINDER", member: "MEMBER")
            // 300 yuan: deductible 100, fund 60 % of 200 = 120; the member bears 180: own 20, mutual aid 160.
            let record = try await WalletStoreTests.settle(store, person: "MEMBER", visit: "F1", yuan: 300)
            #expect(record.breakdown.accountPaid == .yuan(180))
            #expect(record.breakdown.mutualAidPaid == .yuan(160))
            #expect(record.breakdown.cashPaid == .zero)
            #expect(record.breakdown.accountBalanceAfter == .zero)
            #expect(record.mutualAidPayer == "BINDER")
            #expect(try await store.accountBalance(of: "BINDER").balance == .yuan(340))
            #expect(try await store.history(person: "BINDER", query: HistoryQuery()).events.first?.kind == .mutualAidGiven)
            #expect(try await store.familyActivity(member: "MEMBER").contains { $0.action == "family.mutual_aid" && $0.actor == "family:BINDER" })
            #expect(try await store.verifyLedger().passed)

            // The member unbinds; the next settlement cannot draw on the binder.
            _ = try await store.unbind(id: binding.id, by: "MEMBER")
            let after = try await WalletStoreTests.settle(store, person: "MEMBER", visit: "F2", yuan: 100)
            #expect(after.breakdown.mutualAidPaid == .zero && after.breakdown.cashPaid == .yuan(40))
            #expect(try await store.accountBalance(of: "BINDER").balance == .yuan(340))

            // A reversal gives the binder's money back to the binder.
            _ = try await store.reverse(settlementID: record.id, institution: S.hospital, idempotency: nil)
            #expect(try await store.accountBalance(of: "BINDER").balance == .yuan(500))
            #expect(try await store.verifyLedger().passed)
        }
    }

    @Test("a binder's code pays for a member; chronic/special disease, maternity and work injury are refused", arguments: BackendKind.available)
    func payingWithTheBindersCode(kind: BackendKind) async throws {
        let clock = ManualClock(StoreHarness.t0)
        try await StoreHarness.withStore(kind, clock: clock) { store in
            try await S.load(into: store)
            let phone = try await Phone.make(store, number: "BINDER", sequence: 72, cardBalance: .yuan(1000), accountBalance: .yuan(100))
            let member = S.person("MEMBER", sequence: 73, type: .resident)
            try await store.enrol(member)
            _ = try await Self.bind(store, binder: "BINDER", member: "MEMBER", relationship: .parent)
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
                    try await store.settle(
                        code: request(category, "X\(category.rawValue)"), institution: S.hospital,
                        idempotency: IdempotencyRequest(key: category.rawValue, fingerprint: "f"))
                } throws: { ($0 as? Refusal)?.code == .familyPaymentNotAllowed }
            }
            // Ordinary outpatient: the member's policy (resident, 50 %) and the binder's account and card.
            let paid = try await store.settle(
                code: request(.ordinaryOutpatient, "OK1"), institution: S.hospital, idempotency: IdempotencyRequest(key: "ok", fingerprint: "f")
            )
            #expect(paid.personNumber == "MEMBER" && paid.payerNumber == "BINDER")
            #expect(paid.breakdown.pooledFund == .yuan(150))
            #expect(paid.breakdown.mutualAidPaid == .yuan(100) && paid.breakdown.cashPaid == .yuan(50))
            #expect(try await store.sandbox!.card(phone.card.number)?.balance == .yuan(950))
            #expect(try await store.history(person: "MEMBER", query: HistoryQuery()).events.first?.actor == "family:BINDER")
            #expect(try await store.verifyLedger().passed)
            clock.advance(seconds: 30)
            // Someone the binder is not bound to.
            try await store.enrol(S.person("STRANGER", sequence: 74))
            await #expect {
                try await store.settle(
                    code: request(.ordinaryOutpatient, "NO1", for: "STRANGER"), institution: S.hospital,
                    idempotency: IdempotencyRequest(key: "no", fingerprint: "f"))
            } throws: { ($0 as? Refusal)?.code == .forbidden }
        }
    }
}
