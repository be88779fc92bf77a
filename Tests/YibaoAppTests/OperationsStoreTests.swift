import Foundation
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox

@testable import YibaoStore

/// Operations only the server's background loop, the command line or the benchmarks call: each tested
/// for what it does.
@Suite("Platform contract: background work, tokens, nonces, the load check, seeding, bank faults")
struct OperationsStoreTests {
    typealias S = AppFixtures

    static func key(_ value: String) -> IdempotencyRequest { IdempotencyRequest(key: value, fingerprint: value) }

    @Test("the background resolver completes a payment whose answer was lost, charging once", arguments: BackendKind.available)
    func resolvePendingPayments(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            // setup: the bank takes the cash part but the answer is lost.
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let bank = try #require(platform.sandbox)
            bank.inject(SandboxBank.Faults(timeoutsAfterProcessing: 1))
            var pendingID = ""
            do {
                _ = try await platform.settle(
                    code: OneCodeStoreTests.request(phone.code(at: clock.now())), institution: S.hospital, idempotency: Self.key("p"))
            } catch let refusal as Refusal {
                pendingID = refusal.references["settlement_id"] ?? ""
            }
            // act: too early, nothing; ten seconds later the resolver asks the bank.
            let early = await platform.resolvePendingPayments()
            clock.advance(seconds: 11)
            let resolved = await platform.resolvePendingPayments()
            let again = await platform.resolvePendingPayments()
            // verify: completed once, the card charged its 130 yuan once, no hold left.
            #expect(early == 0 && resolved == 1 && again == 0)
            #expect(try await SettlementRepositoryReader.state(pendingID, in: platform) == "completed")
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(870))
            #expect(try await platform.accountBalance(of: "P1") == (.zero, .zero))
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a bank that is unavailable leaves the payment pending; the resolver asks again once it is back", arguments: BackendKind.available)
    func bankUnavailable(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let bank = try #require(platform.sandbox)
            bank.inject(SandboxBank.Faults(unavailable: 1))
            var refusal: Refusal?
            do {
                _ = try await platform.settle(
                    code: OneCodeStoreTests.request(phone.code(at: clock.now())), institution: S.hospital, idempotency: Self.key("u"))
            } catch let error as Refusal { refusal = error }
            #expect(refusal?.code == .paymentPending)
            #expect(try await bank.operations().isEmpty)  // nothing reached the bank
            clock.advance(seconds: 11)
            #expect(await platform.resolvePendingPayments() == 1)
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(870))
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a pending contribution is resolved in the background: paid once", arguments: BackendKind.available)
    func resolvePendingPremiums(kind: BackendKind) async throws {
        let clock = ManualClock(Instant(iso8601: "2026-01-10T10:00:00+08:00")!)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            let resident = S.person("R1", sequence: 7, type: .resident)
            try await platform.enrol(resident)
            let card = try await #require(platform.sandbox).issueCard(
                holderIDNumber: resident.idNumber, holderName: resident.name, kind: .debit, balance: .yuan(1000))
            _ = try await platform.bindCard(person: "R1", number: card.number)
            platform.sandbox?.inject(SandboxBank.Faults(timeoutsAfterProcessing: 1))
            let request = PremiumRequest(personNumber: "R1", kind: .residentAnnual, period: "2026", amount: .yuan(400))
            var pending = ""
            do { _ = try await platform.payPremium(request, payer: "R1", idempotency: Self.key("pr")) } catch let refusal as Refusal {
                pending = refusal.references["premium_id"] ?? ""
            }
            #expect(!pending.isEmpty)
            clock.advance(seconds: 11)
            #expect(await platform.resolvePendingPremiums() == 1)
            #expect(try await platform.premiumPayment(id: pending, visibleTo: "R1")?.state == .paid)
            #expect(try await platform.sandbox?.card(card.number)?.balance == .yuan(600))
            #expect(await platform.resolvePendingPremiums() == 0)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("the sandbox bank's delay fault makes every call wait at least that long")
    func bankDelay() async throws {
        try await PlatformHarness.withPlatform(.sqlite) { platform in
            let bank = try #require(platform.sandbox)
            bank.inject(SandboxBank.Faults(delayMilliseconds: 120))
            let started = ContinuousClock.now
            _ = try await bank.query(reference: "nothing")
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(120), "\(elapsed)")
        }
    }

    @Test("nonces are refused while in their window and purged after it", arguments: BackendKind.available)
    func nonces(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform throws in
            let expires = clock.now().adding(seconds: 360)
            #expect(try await platform.claimNonce(keyID: "K1", nonce: "n-1", expires: expires))
            #expect(try await !platform.claimNonce(keyID: "K1", nonce: "n-1", expires: expires))
            #expect(try await platform.claimNonce(keyID: "K2", nonce: "n-1", expires: expires))
            #expect(try await platform.purgeNonces() == 0)
            clock.advance(seconds: 361)
            #expect(try await platform.purgeNonces() == 2)
            #expect(try await platform.claimNonce(keyID: "K1", nonce: "n-1", expires: clock.now().adding(seconds: 360)))
        }
    }

    @Test("a new operator token works beside the old one; revoking ends both; disabling ends the operator", arguments: BackendKind.available)
    func operatorTokens(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            let first = try await platform.createOperator(name: "alice", role: .operator)
            let second = try await platform.issueOperatorToken(name: "alice", actor: "operator:root")
            #expect(first.token != second.token)
            #expect(try await platform.authenticateOperator(token: first.token)?.name == "alice")
            #expect(try await platform.authenticateOperator(token: second.token)?.role == .operator)
            #expect(try await platform.revokeOperatorTokens(name: "alice", actor: "operator:root") == 2)
            #expect(try await platform.authenticateOperator(token: first.token) == nil)
            #expect(try await platform.authenticateOperator(token: second.token) == nil)
            let third = try await platform.issueOperatorToken(name: "alice")
            #expect(try await platform.authenticateOperator(token: third.token) != nil)
            try await platform.disableOperator(name: "alice", actor: "operator:root")
            #expect(try await platform.authenticateOperator(token: third.token) == nil)
            await #expect { try await platform.issueOperatorToken(name: "alice") } throws: { ($0 as? Refusal)?.code == .notFound }
            let trail = try await platform.auditTrail(subject: "operator:alice")
            #expect(
                trail.map(\.action) == [
                    "operator.create", "operator.token", "operator.token", "operator.tokens_revoked", "operator.token", "operator.disable",
                ])
        }
    }

    @Test(
        "an operator's role changes in place and their token then carries it; changing your own, or a disabled operator's, is refused",
        arguments: BackendKind.available)
    func operatorRole(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // setup: root, an administrator, and alice, a viewer with a token.
            _ = try await platform.createOperator(name: "root", role: .administrator)
            let alice = try await platform.createOperator(name: "alice", role: .viewer)

            // act: root makes alice an operator, then again (no change), then tries its own role and a stranger's.
            try await platform.changeOperatorRole(name: "alice", to: .operator, actor: "operator:root")
            try await platform.changeOperatorRole(name: "alice", to: .operator, actor: "operator:root")
            let own = await #expect(throws: Refusal.self) { try await platform.changeOperatorRole(name: "root", to: .viewer, actor: "operator:root") }
            let stranger = await #expect(throws: Refusal.self) {
                try await platform.changeOperatorRole(name: "nobody", to: .viewer, actor: "operator:root")
            }

            // verify: the token alice already has now carries the new role; root is still an administrator; one audit entry.
            #expect(try await platform.authenticateOperator(token: alice.token)?.role == .operator)
            #expect(try await platform.operators().first { $0.name == "root" }?.role == .administrator)
            #expect(own?.code == .forbidden && stranger?.code == .notFound)
            let trail = try await platform.auditTrail(subject: "operator:alice")
            #expect(trail.map(\.action) == ["operator.create", "operator.token", "operator.role"])

            // act + verify: a disabled operator's role is not changed.
            try await platform.disableOperator(name: "alice", actor: "operator:root")
            let disabled = await #expect(throws: Refusal.self) {
                try await platform.changeOperatorRole(name: "alice", to: .administrator, actor: "operator:root")
            }
            #expect(disabled?.code == .notFound)
            #expect(try await platform.operators().first { $0.name == "alice" }?.role == .operator)
        }
    }

    @Test(
        "the crash test's oracle finds a missing acknowledgement, a visit settled twice and a charge without a settlement",
        arguments: BackendKind.available)
    func loadCheck(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let settled = try await platform.settle(
                code: OneCodeStoreTests.request(phone.code(at: platform.clock.now())), institution: S.hospital, idempotency: Self.key("s"))
            let clean = try await platform.loadCheck(acknowledged: [settled.id])
            #expect(clean.present == 1 && clean.missing.isEmpty && clean.doubleCharges.isEmpty && clean.cardMismatches.isEmpty)
            // Plant the faults a crash could cause: a second live settlement of the same visit, a bank charge
            // for a settlement that never completed, money left on hold at the bank.
            var planted = settled
            planted.id = "S-PLANTED"
            let copy = planted
            try await platform.backend.write { db in
                try SettlementRepository.insert(copy, in: db)
                try db.execute(
                    """
                    INSERT INTO sandbox_operations (reference, token, amount, state, captured, refunded, decline_reason, description, created_at, updated_at)
                    SELECT 'S-PLANTED-2', token, 100, 'authorised', 0, 0, NULL, 'planted', created_at, updated_at FROM sandbox_operations LIMIT 1
                    """, [])
                try db.execute("UPDATE sandbox_cards SET held = held + 100 WHERE number = ?", [.text(phone.card.number)])
            }
            let report = try await platform.loadCheck(acknowledged: [settled.id, "S-NEVER"])
            #expect(report.present == 1)
            #expect(report.missing == ["S-NEVER (absent)"])
            #expect(report.doubleCharges.contains { $0.contains("has 2 live settlements") })
            #expect(report.cardMismatches.count == 1)
        }
    }

    @Test("seeding a population and history keeps the ledger whole", arguments: BackendKind.available)
    func seeding(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let spec = PopulationSpec(
                prefix: "LT", range: 0..<12, region: S.region, accountBalance: .yuan(300), cardBalance: .yuan(500), sessions: 3, batch: 5)
            let people = try await platform.seedPopulation(spec)
            #expect(people.count == 12 && people.filter { $0.sessionToken != nil }.count == 3 && people.allSatisfy { $0.deviceSecret != nil })
            #expect(try await platform.accountBalance(of: spec.number(11)).balance == .yuan(300))
            let before = try await platform.verifyLedger()
            try await platform.seedHistory(postings: 1000, people: people.map(\.personNumber), region: S.region, batch: 400)
            let after = try await platform.verifyLedger()
            #expect(after.passed, "\(after.problems)")
            #expect(after.postings == before.postings + 1000)
            // Real settlements at the counter, as `loadtest history --settlements` adds them.
            try await platform.seedSettlementHistory(
                settlements: 30, people: people.map(\.personNumber), institution: S.hospital, item: "A001", concurrency: 4)
            let settled = try await platform.backend.read { db in
                try db.queryOne("SELECT COUNT(*) AS n FROM settlements WHERE kind = 'settlement' AND state = 'completed'", [])?.int64("n")
            }
            #expect(settled == 30)
            let history = try await platform.verifyLedger()
            #expect(history.passed, "\(history.problems)")
            #expect(try await platform.history(person: spec.number(0), query: HistoryQuery()).events.count >= 3)
            // A seeded person pays with the code of the seeded device, as the load generator does.
            let person = people[0]
            let encoded = try #require(person.deviceSecret)
            let deviceNumber = try #require(person.deviceNumber)
            let secret = try #require(Base32.decode(encoded))
            let code = VoucherCode.make(secret: secret, deviceNumber: deviceNumber, at: platform.clock.now())
            let record = try await platform.settle(code: OneCodeStoreTests.request(code), institution: S.hospital, idempotency: Self.key("seeded"))
            #expect(record.personNumber == person.personNumber && record.state == .completed)
        }
    }
}

/// Reads a settlement's stored state without resolving it at the bank.
enum SettlementRepositoryReader {
    static func state(_ id: String, in platform: Platform) async throws -> String? {
        try await platform.backend.read { db in try db.queryOne("SELECT state FROM settlements WHERE id = ?", [.text(id)])?.string("state") }
    }
}
