import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox

@testable import YibaoStore

/// Reads sent as one batch (`SQLExecutor.fetch`): the settlement's snapshot and the payment's
/// completion read this way, so a batch must answer exactly what the reads would one by one, fail as a
/// whole, and on PostgreSQL cost one wait.
@Suite("Store contract: reads sent as one batch")
struct BatchReadStoreTests {
    typealias S = AppFixtures

    @Test("a batch answers each read as it would alone, in order, with reads that need no query", arguments: BackendKind.available)
    func answersInOrder(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform, accountBalance: .yuan(50))
            let cipher = platform.cipher
            let number = phone.person.number
            let (alone, batched) = try await platform.backend.write { db in
                let alone = (
                    try LedgerRepository.lockBalance(.personal(number), in: db),
                    try PeopleRepository.find(number: number, cipher: cipher, in: db),
                    try PeopleRepository.find(number: "nobody", cipher: cipher, in: db),
                    try FundingSourceRepository.defaultSource(person: number, in: db)
                )
                let batched = try db.fetch(
                    LedgerRepository.lockBalance(.personal(number)), SQLRead.known(7), PeopleRepository.find(number: number, cipher: cipher),
                    PeopleRepository.find(number: "nobody", cipher: cipher), SQLRead<Int?>.known(nil),
                    FundingSourceRepository.defaultSource(person: number))
                return (alone, batched)
            }
            #expect(batched.0 == alone.0 && batched.0.balance == .yuan(50))
            #expect(batched.1 == 7)
            #expect(batched.2 == alone.1 && batched.2?.number == number)
            #expect(batched.3 == nil && alone.2 == nil)
            #expect(batched.4 == nil)
            #expect(batched.5 == alone.3 && batched.5?.isDefault == true)
        }
    }

    @Test("a failing read fails the batch and its transaction, and the connection serves the next one", arguments: BackendKind.available)
    func failureFailsTheTransaction(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform, accountBalance: .yuan(50))
            let number = phone.person.number
            await #expect(throws: (any Error).self) {
                try await platform.backend.write { db in
                    try db.execute("UPDATE accounts SET balance = balance + 1 WHERE id = ?", [.text(AccountID.personal(number).key)])
                    _ = try db.fetch(
                        LedgerRepository.lockBalance(.personal(number)),
                        SQLRead("SELECT no_such_column FROM accounts WHERE id = ?", [.text(AccountID.personal(number).key)]) { $0.count },
                        SettlementRepository.inFlight(person: number))
                }
            }
            // The update before the failing batch was rolled back; every connection still answers.
            for _ in 0..<6 {
                let balance = try await platform.backend.read { db in try LedgerRepository.balance(.personal(number), in: db) }
                #expect(balance.balance == .yuan(50))
            }
            #expect(try await platform.verifyLedger().passed)
        }
    }

    @Test("on PostgreSQL a batch of reads is one round trip, and BEGIN costs none", arguments: BackendKind.available)
    func oneRoundTrip(kind: BackendKind) async throws {
        try await PlatformHarness.withPlatform(kind) { platform in
            try await S.load(into: platform)
            let phone = try await Phone.make(platform)
            let number = phone.person.number
            let cipher = platform.cipher
            await platform.flushProjections()  // enrolment's projections are written after their commits; nothing else may count
            guard platform.backend.roundTrips != nil else {
                #expect(kind == .sqlite, "only a database inside the process has no round trips")
                return
            }
            // Run past the threshold, so the counts cover statements sent unnamed, sent with their
            // preparation and sent by name (`PreparedStatements`): none of them waits apart.
            for round in 0..<(PreparedStatements.threshold + 2) {
                let start = try #require(platform.backend.roundTrips)
                _ = try await platform.backend.write { db in
                    try db.fetch(
                        LedgerRepository.lockBalance(.personal(number)), PeopleRepository.find(number: number, cipher: cipher),
                        SettlementRepository.inFlight(person: number), FundingSourceRepository.defaultSource(person: number)
                    ).0
                }
                let batched = try #require(platform.backend.roundTrips) - start
                _ = try await platform.backend.write { db in
                    _ = try LedgerRepository.lockBalance(.personal(number), in: db)
                    _ = try PeopleRepository.find(number: number, cipher: cipher, in: db)
                    _ = try db.fetch(SettlementRepository.inFlight(person: number))
                    return try FundingSourceRepository.defaultSource(person: number, in: db)
                }
                let alone = try #require(platform.backend.roundTrips) - start - batched
                // The batch, then COMMIT; one by one, four reads, then COMMIT.
                #expect(batched == 2, "round \(round)")
                #expect(alone == 5, "round \(round)")
            }
        }
    }
}
