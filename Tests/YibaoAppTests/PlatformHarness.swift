import Foundation
import Synchronization
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoStore
import YibaoTestSupport

/// The backends the contract suite runs on: SQLite always, PostgreSQL when
/// `YIBAO_TEST_POSTGRES_URL` is set (scripts/test and CI set it).
enum BackendKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    /// PostgreSQL through the store's pipelining connections (the default).
    case postgres
    /// PostgreSQL through postgres-nio (`?pipeline=off`): the executor's own suites run on it too.
    case postgresNIO = "postgres-nio"

    var isPostgres: Bool { self != .sqlite }

    /// The backends of this run and, when PostgreSQL is among them, postgres-nio's path to it: for the
    /// suites of the executor itself (values, batches, named statements).
    static var everyClient: [BackendKind] { available.contains(.postgres) ? available + [.postgresNIO] : available }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["YIBAO_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The backends of this run: PostgreSQL when its URL is set — or when the run requires it
    /// (`YIBAO_REQUIRE_POSTGRES=1`, CI), so that a missing server fails the PostgreSQL half instead of
    /// skipping it. A skipped half is recorded for `scripts/test`'s summary.
    static var available: [BackendKind] {
        if postgresURL != nil || TestRecord.postgresRequired { return [.sqlite, .postgres] }
        skipOnce.withLock { done in
            if !done { TestRecord.note("skipped", "store contract on PostgreSQL: YIBAO_TEST_POSTGRES_URL is not set") }
            done = true
        }
        return [.sqlite]
    }

    var testDescription: String { rawValue }

    /// `url` with `parameter` (`name=value`) added to its query, which may already have others (a run on
    /// a URL with `sslmode`).
    static func adding(_ parameter: String, to url: String) -> String { url + (url.contains("?") ? "&" : "?") + parameter }
}

private let announced = Mutex(false)
private let skipOnce = Mutex(false)
private let keyMaterial = Mutex<[ObjectIdentifier: PersonalDataCipher.Keys]>([:])

/// A fresh, migrated platform on a fresh database, closed and removed afterwards.
struct PlatformHarness {
    /// The key material of a harness platform (the rotation test writes it to a key file).
    static func keys(of platform: Platform) throws -> PersonalDataCipher.Keys {
        guard let keys = keyMaterial.withLock({ $0[ObjectIdentifier(platform)] }) else { throw StoreError.configuration("no keys") }
        return keys
    }

    /// 2026-03-02 10:00 in Beijing.
    static let t0 = Instant(iso8601: "2026-03-02T10:00:00+08:00")!

    static func withPlatform(
        _ kind: BackendKind, clock: ManualClock = ManualClock(t0), seed: UInt64 = 1, statementWork: StatementWork? = nil,
        _ body: (Platform) async throws -> Void
    ) async throws {
        // The ids' seed comes from the run's seed (printed in scripts/test's summary; YIBAO_TEST_SEED replays it).
        let ids = SeededIDGenerator(seed: seed &+ TestRecord.runSeed &+ UInt64(UInt32.random(in: 0...UInt32.max)), clock: clock)
        TestRecord.note("store", kind.rawValue)
        let keys = PersonalDataCipher.Keys.generate()
        let cipher = try PersonalDataCipher(keys: keys)
        let name = "yibao_test_\(UInt32.random(in: 0...UInt32.max))"
        let backend: any StoreBackend
        var cleanup: () async throws -> Void
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            backend = try SQLiteBackend(path: directory + "/yibao.sqlite", durability: .process, statementWork: statementWork)
            cleanup = { try? FileManager.default.removeItem(atPath: directory) }
        case .postgres, .postgresNIO:
            let url = try #require(BackendKind.postgresURL, "YIBAO_REQUIRE_POSTGRES=1 but YIBAO_TEST_POSTGRES_URL is not set")
            if announced.withLock({ seen in
                defer { seen = true }; return !seen
            }) {
                print("[store contract] running on PostgreSQL as well as SQLite: \(url)")
            }
            try await PostgresBackend.administer(url: url, statements: ["CREATE DATABASE \(name)"])
            // Four connections each: the suite runs about fifty PostgreSQL tests at once against max_connections.
            let database = PostgresBackend.url(url, database: name)
            let client = kind == .postgresNIO ? BackendKind.adding("pipeline=off", to: database) : database
            backend = try Store.openBackend(.postgres(url: client, connections: 4))
            cleanup = { try await PostgresBackend.administer(url: url, statements: ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"]) }
        }
        let platform = Platform(backend: backend, clock: clock, ids: ids, cipher: cipher, channel: SandboxBank(backend: backend, clock: clock))
        keyMaterial.withLock { $0[ObjectIdentifier(platform)] = keys }
        defer { keyMaterial.withLock { $0[ObjectIdentifier(platform)] = nil } }
        do {
            try await platform.migrate()
            try await body(platform)
            await platform.close()
            try await cleanup()
        } catch {
            await platform.close()
            try? await cleanup()
            throw error
        }
    }
}

/// Reference data for platform tests: Guangzhou employees at a level-3 hospital.
enum AppFixtures {
    static let region = RegionCode("440100")!
    static let hospital = Institution(code: "H440100001", name: "广州测试医院", region: region, level: .level3)

    static let policy = Policy(
        region: region, insuranceType: .employee, year: 2026, title: "test employee policy", sources: ["test"],
        outpatient: BenefitPool(
            deductibleScope: .perYear,
            levels: [
                LevelRule(level: .level3, deductible: .yuan(100), ratio: Ratio(percent: 60)),
                LevelRule(level: .level1, deductible: .zero, ratio: .zero),
            ],
            annualCap: .yuan(8000)
        ),
        inpatient: BenefitPool(
            deductibleScope: .perVisit, levels: [LevelRule(level: .level3, deductible: .yuan(1000), ratio: Ratio(percent: 80))],
            annualCap: .yuan(1_000_000)
        )
    )

    static let items = [
        CatalogueItem(region: region, code: "A001", name: "阿莫西林胶囊", specification: "0.25g×24粒", category: .drug, itemClass: .a),
        CatalogueItem(
            region: region, code: "B001", name: "头孢克肟胶囊", specification: "0.1g×6粒", category: .drug, itemClass: .b, priceCap: .yuan(30),
            firstSelfPayRatio: Ratio(percent: 10)
        ),
        CatalogueItem(region: region, code: "C001", name: "进口营养液", specification: "500ml", category: .drug, itemClass: .c),
    ]

    static func person(_ number: String, sequence: Int, type: InsuranceType = .employee, birth: CivilDate? = nil) -> Person {
        let birth = birth ?? CivilDate(year: 1980, month: 5, day: 1 + sequence % 28)!
        return Person(
            number: number, name: "测试\(sequence)", idNumber: IDNumber.make(region: "440106", birthDate: birth, sequence: sequence),
            birthDate: birth, region: region, insuranceType: type, phone: "1380013\(String(format: "%04d", sequence))"
        )
    }

    /// Residents' policy of a year, with the annual contribution (400 yuan, open Sept to February).
    static func residentPolicy(_ year: Int) -> Policy {
        Policy(
            region: region, insuranceType: .resident, year: year, title: "test resident policy \(year)", sources: ["test"],
            outpatient: BenefitPool(
                deductibleScope: .perVisit, levels: [LevelRule(level: .level3, deductible: .zero, ratio: Ratio(percent: 50))], annualCap: .yuan(1000)),
            inpatient: BenefitPool(
                deductibleScope: .perVisit, levels: [LevelRule(level: .level3, deductible: .yuan(500), ratio: Ratio(percent: 70))],
                annualCap: .yuan(350_000)),
            premiums: [
                PremiumSchedule(
                    kind: .residentAnnual, amount: .yuan(400), opens: CivilDate(year: year - 1, month: 9, day: 1),
                    closes: CivilDate(year: year, month: 2, day: 28))
            ]
        )
    }

    /// Saves the policies, institution and catalogue.
    static func load(into platform: Platform) async throws {
        try await platform.savePolicy(policy)
        try await platform.savePolicy(residentPolicy(2026))
        try await platform.savePolicy(residentPolicy(2027))
        try await platform.saveInstitution(hospital)
        _ = try await platform.importCatalogue(items)
    }

    static func line(_ number: String, _ code: String, yuan: Int64, quantity: Int64 = 1) -> FeeLine {
        FeeLine(lineNumber: number, itemCode: code, unitPrice: .yuan(yuan), quantity: Quantity(units: quantity))
    }
}
