import Foundation
import Testing
import YibaoCore
import YibaoSandbox

@testable import YibaoApp
@testable import YibaoStore

/// A patient with a phone (device) and a sandbox debit card bound as default.
struct Phone {
    let person: Person
    let device: EnrolledDevice
    let card: SandboxBank.Card

    /// The code the phone shows at `instant` (computed offline, as the phone does).
    func code(at instant: Instant) -> String {
        VoucherCode.make(secret: device.secret, deviceNumber: device.device.number, at: instant)
    }

    static func make(
        _ platform: Platform, number: String = "P1", sequence: Int = 1, cardBalance: Money = .yuan(1000), accountBalance: Money = .yuan(50)
    ) async throws -> Phone {
        let person = AppFixtures.person(number, sequence: sequence)
        try await platform.enrol(person, openingBalance: accountBalance)
        let device = try await platform.enrolDevice(person: number, name: "phone")
        let card = try await #require(platform.sandbox).issueCard(
            holderIDNumber: person.idNumber, holderName: person.name, kind: .debit, balance: cardBalance
        )
        let source = try await platform.bindCard(person: number, number: card.number)
        #expect(source.isDefault)
        return Phone(person: person, device: device, card: card)
    }
}

@Suite("Platform contract: one-code payment")
struct OneCodeStoreTests {
    typealias S = AppFixtures

    static func request(_ code: String, visit: String = "MZ1", yuan: Int64 = 300) -> CodeVisitRequest {
        CodeVisitRequest(code: code, category: .ordinaryOutpatient, hospitalVisitNumber: visit, lines: [S.line("1", "A001", yuan: yuan)])
    }

    static func key(_ value: String) -> IdempotencyRequest { IdempotencyRequest(key: value, fingerprint: value) }

    /// `code` with one digit of its one-time password changed and a valid check digit: well formed, but forged.
    static func forged(_ code: String) -> String {
        var digits = Array(code)
        digits[15] = digits[15] == "1" ? "2" : "1"
        let body = String(digits.dropLast())
        return body + String(Luhn.checkDigit(body))
    }

    @Test("a code settles fund, account and card in one step; the ledger and the bank agree", arguments: BackendKind.available)
    func oneStep(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // setup: 300 yuan at a level-3 hospital; 100 deductible, 60 % → fund 120; account 50; card pays 130.
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let code = phone.code(at: platform.clock.now())
            // act
            let record = try await platform.settle(code: Self.request(code), institution: S.hospital, idempotency: Self.key("k1"))
            // verify
            #expect(record.state == .completed && record.cashCollection == .channel)
            #expect(record.breakdown.pooledFund == .yuan(120))
            #expect(record.breakdown.accountPaid == .yuan(50))
            #expect(record.breakdown.cashPaid == .yuan(130))
            // The answer came once the bank authorised; the capture follows it.
            await platform.flushAfterCommit()
            #expect(try await platform.sandbox!.card(phone.card.number)?.balance == .yuan(870))
            #expect(try await platform.balance(of: .channel("sandbox")) == .yuan(-130))
            #expect(try await platform.balance(of: .institutionChannel(S.hospital.code)) == .yuan(130))
            #expect(try await platform.pendingChannelOperations() == 0)
            #expect(try await platform.verifyLedger().passed)
            let receipt = platform.receipt(for: record)
            #expect(receipt.cashPaid == .yuan(130) && receipt.verificationCode.count == 19)
        }
    }

    @Test("replayed, expired, revoked, malformed and forged codes are refused with distinct codes", arguments: BackendKind.available)
    func refusedCodes(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            func attempt(_ code: String, _ visit: String) async -> RefusalCode? {
                do {
                    _ = try await platform.openVisit(code: Self.request(code, visit: visit), institution: S.hospital)
                    return nil
                } catch { return (error as? Refusal)?.code }
            }
            let code = phone.code(at: clock.now())
            #expect(await attempt(code, "V1") == nil)
            #expect(await attempt(code, "V2") == .codeUsed)
            // One step of clock skew is tolerated: the previous step's code still works.
            clock.advance(seconds: 30)
            #expect(await attempt(phone.code(at: clock.now().adding(seconds: -30)), "V3") == .codeUsed)
            clock.advance(seconds: 30)
            #expect(await attempt(phone.code(at: clock.now().adding(seconds: -30)), "V4") == nil)
            clock.advance(seconds: 61)
            #expect(await attempt(phone.code(at: clock.now().adding(seconds: -61)), "V5") == .codeExpired)
            let current = phone.code(at: clock.now())
            let wrongCheck = String(current.dropLast()) + String(((current.last?.wholeNumberValue ?? 0) + 1) % 10)
            #expect(await attempt(wrongCheck, "V6") == .codeMalformed)
            #expect(await attempt("123", "V7") == .codeMalformed)
            #expect(await attempt(Self.forged(phone.code(at: clock.now())), "V8") == .codeInvalid)
            try await platform.revokeDevice(id: phone.device.device.id, person: phone.person.number)
            #expect(await attempt(phone.code(at: clock.now()), "V9") == .codeRevoked)
            // Nothing of the refused attempts was written.
            #expect(try await platform.verifyLedger().entries == 1)
        }
    }

    @Test(
        "a one-code settlement refuses used, expired, forged and revoked codes with distinct codes, writes nothing for them, and answers a retry from its key",
        arguments: BackendKind.available)
    func settleRefusedCodes(kind: BackendKind) async throws {
        let clock = ManualClock(PlatformHarness.t0)
        try await PlatformHarness.withPlatform(kind, clock: clock) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            func attempt(_ code: String, _ visit: String, key: String? = nil) async -> RefusalCode? {
                do {
                    _ = try await platform.settle(
                        code: Self.request(code, visit: visit), institution: S.hospital, idempotency: Self.key(key ?? visit))
                    return nil
                } catch { return (error as? Refusal)?.code }
            }
            let code = phone.code(at: clock.now())
            #expect(await attempt(code, "S1") == nil)
            // The same request again is answered from its key, although its code is spent now.
            #expect(await attempt(code, "S1") == nil)
            #expect(await attempt(code, "S2") == .codeUsed)
            clock.advance(seconds: 91)
            #expect(await attempt(phone.code(at: clock.now().adding(seconds: -61)), "S3") == .codeExpired)
            #expect(await attempt(Self.forged(phone.code(at: clock.now())), "S4") == .codeInvalid)
            try await platform.revokeDevice(id: phone.device.device.id, person: phone.person.number)
            #expect(await attempt(phone.code(at: clock.now()), "S5") == .codeRevoked)
            // One settlement, one charge; nothing of the refused attempts was written.
            let settlements = try await platform.backend.read { db in try db.queryOne("SELECT COUNT(*) AS n FROM settlements", [])?.int64("n") }
            #expect(settlements == 1)
            #expect(try await platform.sandbox!.card(phone.card.number)?.balance == .yuan(870))
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test(
        "10,000 random forgeries of a real device's codes: none is accepted, nothing is written, the genuine code then is",
        arguments: BackendKind.available)
    func forgeries(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            // setup: a person with a device whose secret is seeded, so a failure replays.
            try await S.load(into: platform)
            let person = S.person("P1", sequence: 1)
            try await platform.enrol(person, openingBalance: .yuan(50))
            var rng = SplitMix64(seed: 2026)
            let secret = (0..<20).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let device = try await platform.enrolDevice(person: "P1", name: "phone", secret: secret)
            let genuine = VoucherCode.make(secret: secret, deviceNumber: device.device.number, at: platform.clock.now())
            // The device's real passwords of the steps the platform still recognises — the current one, the
            // one before and the expired ones it names as expired: 21 of the 10⁸ passwords. A random
            // password that is one of them is not a forgery (it is accepted, or refused as expired: one
            // CI run drew an expired one, 2026-12-05), so it is skipped.
            let current = VoucherCode.step(at: platform.clock.now())
            let real = Set(
                (current - VoucherCode.expiredLookbackSteps...current).map {
                    VoucherCode.otp(secret: secret, deviceNumber: device.device.number, step: $0)
                })
            let before = try await platform.backend.read { db in
                try db.queryOne("SELECT (SELECT COUNT(*) FROM visits) AS visits, (SELECT COUNT(*) FROM used_codes) AS used", [])
            }
            // act: 10,000 forgeries of the real device's codes (its number, a random 8-digit password, a valid check
            // digit), each opening a visit as a cashier's system would.
            var outcomes: [RefusalCode: Int] = [:]
            var accepted = 0
            var forgeries = 0
            while forgeries < 10_000 {
                let otp = String(format: "%08d", Int.random(in: 0...99_999_999, using: &rng))
                guard !real.contains(otp) else { continue }
                let index = forgeries
                forgeries += 1
                let body = "88" + device.device.number + otp
                let forged = body + String(Luhn.checkDigit(body))
                do {
                    _ = try await platform.openVisit(code: Self.request(forged, visit: "F\(index)"), institution: S.hospital)
                    accepted += 1
                } catch let refusal as Refusal {
                    outcomes[refusal.code, default: 0] += 1
                }
                // Any other error ends the test: it is not a refusal of the code.
            }
            // verify: every forgery refused as not verifying, nothing written, and the genuine code accepted.
            #expect(accepted == 0)
            #expect(outcomes == [.codeInvalid: 10_000], "\(outcomes)")
            let after = try await platform.backend.read { db in
                try db.queryOne("SELECT (SELECT COUNT(*) FROM visits) AS visits, (SELECT COUNT(*) FROM used_codes) AS used", [])
            }
            #expect(try after?.int64("visits") == before?.int64("visits") && after?.int64("used") == before?.int64("used"))
            let visit = try await platform.openVisit(code: Self.request(genuine, visit: "GENUINE"), institution: S.hospital)
            #expect(visit.personNumber == "P1")
        }
    }

    @Test("a declined card posts nothing and leaves the visit to settle at the counter", arguments: BackendKind.available)
    func declined(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform, cardBalance: .yuan(20))
            let entriesBefore = try await platform.verifyLedger().entries
            var visitID = ""
            await #expect {
                try await platform.settle(
                    code: Self.request(phone.code(at: platform.clock.now())), institution: S.hospital, idempotency: Self.key("d1"))
            } throws: { error in
                guard let refusal = error as? Refusal, refusal.code == .paymentDeclined else { return false }
                visitID = refusal.references["visit_id"] ?? ""
                return refusal.references["decline_reason"] == "insufficient_funds"
            }
            // No postings at all, no hold left, nothing taken from the card.
            #expect(try await platform.verifyLedger().entries == entriesBefore)
            #expect(try await platform.accountBalance(of: "P1") == (.yuan(50), .zero))
            #expect(try await platform.sandbox!.card(phone.card.number)?.balance == .yuan(20))
            // A retry with the same key tells the same thing and charges nothing.
            await #expect {
                try await platform.settle(
                    code: Self.request(phone.code(at: platform.clock.now())), institution: S.hospital, idempotency: Self.key("d1"))
            } throws: { ($0 as? Refusal)?.code == .paymentDeclined }
            // The cashier takes the cash part at the counter instead.
            let counter = try await platform.settle(
                visitID: visitID, institution: S.hospital, useAccount: true, idempotency: Self.key("d2"), cashAtCounter: true
            )
            #expect(counter.state == .completed && counter.cashCollection == .counter)
            #expect(counter.breakdown.cashPaid == .yuan(130))
            #expect(try await platform.verifyLedger().passed)
        }
    }

    /// The key's claim goes in one batch with the device's read: a retry sent while the first is still
    /// running waits on the first's claim and replays it, on both databases.
    @Test("20 one-code requests with one Idempotency-Key at once: one settlement, one charge, 20 identical answers", arguments: BackendKind.available)
    func concurrentRetries(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let request = Self.request(phone.code(at: platform.clock.now()))
            let key = Self.key("same")
            let records = try await withThrowingTaskGroup(of: SettlementRecord.self) { group in
                for _ in 0..<20 { group.addTask { try await platform.settle(code: request, institution: S.hospital, idempotency: key) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(records.count == 20)
            #expect(Set(records.map(\.id)).count == 1)
            #expect(records.allSatisfy { $0.state == .completed && $0.breakdown == records[0].breakdown })
            await platform.flushAfterCommit()
            let charges = try await #require(platform.sandbox).operations().filter { $0.state == "captured" }
            #expect(charges.map(\.captured) == [.yuan(130)])
            #expect(try await platform.sandbox!.card(phone.card.number)?.balance == .yuan(870))
            #expect(try await platform.accountBalance(of: "P1").balance == .zero)
            let settlements = try await platform.backend.read { db in try db.queryOne("SELECT COUNT(*) AS n FROM settlements", [])?.int64("n") }
            #expect(settlements == 1)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("a timeout leaves the settlement pending; retries charge exactly once", arguments: BackendKind.available)
    func timeouts(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let bank = try #require(platform.sandbox)
            for (index, faults) in [SandboxBank.Faults(timeoutsAfterProcessing: 1), SandboxBank.Faults(timeoutsBeforeProcessing: 2)].enumerated() {
                // Faults go to the bank's next calls: the capture still queued after the last answer is sent first.
                await platform.flushAfterCommit()
                bank.inject(faults)
                let key = Self.key("t\(index)")
                let request = Self.request(phone.code(at: platform.clock.now().adding(seconds: Int64(index) * -30)), visit: "T\(index)")
                var pendingID = ""
                await #expect {
                    try await platform.settle(code: request, institution: S.hospital, idempotency: key)
                } throws: { error in
                    pendingID = (error as? Refusal)?.references["settlement_id"] ?? ""
                    return (error as? Refusal)?.code == .paymentPending
                }
                // As stored, the settlement is pending: nothing is posted until the bank's answer is known.
                let id = pendingID
                let stored = try await platform.backend.read { db in
                    try db.queryOne("SELECT state FROM settlements WHERE id = ?", [.text(id)])?.string("state")
                }
                #expect(stored == "pending")
                // Reading it asks the bank: when the bank took it (the answer was lost), it completes now; when the
                // request never arrived, asking again times out too (the second injected fault) and it stays pending.
                let read = try await platform.settlement(id: pendingID, institution: nil)
                #expect(read?.state == (faults.timeoutsAfterProcessing == 1 ? .completed : .pending))
                // Retries with the same key resolve it; the timeouts-before case needs one more.
                var record: SettlementRecord?
                for _ in 0..<3 where record == nil {
                    record = try? await platform.settle(code: request, institution: S.hospital, idempotency: key)
                }
                #expect(record?.id == pendingID)
                #expect(record?.state == .completed)
            }
            await platform.flushAfterCommit()
            let charges = try await bank.operations().filter { $0.state == "captured" }
            #expect(charges.count == 2)
            let charged = Money.sum(charges.map(\.captured))
            // First visit: fund 120, account 50, card 130. Second: deductible already paid, fund 180, card 120.
            #expect(charged == .yuan(130) + .yuan(120))
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(1000) - charged)
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("reversal and partial refunds give money back through the same parties", arguments: BackendKind.available)
    func refunds(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform, accountBalance: .zero)
            let bank = try #require(platform.sandbox)
            // Two lines: 300 yuan class A, 40 yuan class C.
            var request = Self.request(phone.code(at: platform.clock.now()))
            request.lines = [S.line("1", "A001", yuan: 300), S.line("2", "C001", yuan: 40)]
            let original = try await platform.settle(code: request, institution: S.hospital, idempotency: Self.key("r0"))
            // fund (300 − 100) × 60 % = 120; cash 220.
            #expect(original.breakdown.cashPaid == .yuan(220))
            await platform.flushAfterCommit()  // the capture, sent after the answer
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(780))

            // Take the class-C line off: 40 yuan of cash back.
            let lines = try await platform.refund(
                settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .lines, lineNumbers: ["2"]),
                idempotency: Self.key("r1")
            )
            #expect(lines.breakdown.totalAmount == .yuan(-40))
            #expect(lines.breakdown.cashPaid == .yuan(-40) && lines.breakdown.fundTotal == .zero)
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(820))
            // Part of the cash back (an over-charge).
            let cash = try await platform.refund(
                settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(30)),
                idempotency: Self.key("r2")
            )
            #expect(cash.breakdown.cashPaid == .yuan(-30))
            #expect(try await bank.card(phone.card.number)?.balance == .yuan(850))
            await #expect {
                try await platform.refund(
                    settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .cash, amount: .yuan(1000)),
                    idempotency: Self.key("r3")
                )
            } throws: { ($0 as? Refusal)?.code == .refundExceedsSettlement }
            // The insurance part back: the fund is repaid and the year's figures restored.
            let insurance = try await platform.refund(
                settlementID: original.id, institution: S.hospital, request: RefundRequest(type: .insurance), idempotency: Self.key("r4")
            )
            #expect(insurance.breakdown.fundTotal == .yuan(-120))
            #expect(insurance.breakdown.cashPaid == .yuan(120))
            #expect(try await platform.balance(of: .fund(S.region, .employee, .employeePooled)) == .zero)
            #expect(try await platform.verifyLedger().passed)

            // A second settlement, reversed: the card is refunded in full.
            let second = try await platform.settle(
                code: Self.request(phone.code(at: platform.clock.now().adding(seconds: -30)), visit: "MZ2", yuan: 100), institution: S.hospital,
                idempotency: Self.key("s2")
            )
            await platform.flushAfterCommit()
            let before = try #require(try await bank.card(phone.card.number)?.balance)
            _ = try await platform.reverse(settlementID: second.id, institution: S.hospital, idempotency: Self.key("s2r"))
            #expect(try await bank.card(phone.card.number)?.balance == before + second.breakdown.cashPaid)
            #expect(try await platform.pendingChannelOperations() == 0)
            #expect(try await platform.verifyLedger().passed)
        }
    }
}

/// The sandbox bank answers a repeated reference as a bank does, also when the repeats arrive at once.
@Suite("Sandbox bank: a reference authorised at once from several places")
struct SandboxConcurrencyTests {
    @Test("eight authorisations of one reference at once: one hold, the same decision for each, no error", arguments: BackendKind.available)
    func sameReferenceAtOnce(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            let bank = SandboxBank(backend: platform.backend, clock: platform.clock)
            let card = try await bank.issueCard(holderIDNumber: "440106198503121018", holderName: "张伟", kind: .debit, balance: .yuan(500))
            let decisions = try await withThrowingTaskGroup(of: ChannelDecision.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await bank.authorise(
                            ChannelAuthorisation(reference: "S-RACE", token: card.token, amount: .yuan(120), description: "race"))
                    }
                }
                return try await group.reduce(into: [ChannelDecision]()) { $0.append($1) }
            }
            #expect(decisions.count == 8 && decisions.allSatisfy { $0 == .approved })
            let after = try #require(try await bank.card(card.token))
            #expect(after.held == .yuan(120), "one hold, not eight")
            #expect(try await bank.operations().filter { $0.reference == "S-RACE" }.count == 1)
        }
    }
}
