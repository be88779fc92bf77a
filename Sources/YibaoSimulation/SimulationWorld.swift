import Foundation
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoStore

/// The world a simulation runs in: a real platform on a fresh database (SQLite, or PostgreSQL), a clock
/// and an id generator that only move when the simulation moves them, the sandbox bank with its
/// injectable faults, a backend that aborts chosen transactions, and a small population — an employee
/// who pays for a bound relative, an employee with a medical credit line and frictionless payment, a
/// resident who pays contributions — each with a phone and a card.
public final class SimulationWorld: Sendable {
    /// Where the simulated platform's database lives.
    public enum Database: Sendable, Hashable, CustomStringConvertible {
        /// A new SQLite file in a temporary directory.
        case sqlite
        /// A new database on this PostgreSQL server (the URL names any database the role may connect to).
        case postgres(url: String)

        public var description: String {
            switch self {
            case .sqlite: return "sqlite"
            case .postgres: return "postgres"
            }
        }
    }

    /// One simulated person: who they are, their phone's device, their card.
    public struct Member: Sendable {
        /// The person.
        public let person: Person
        /// The phone's device (its secret makes codes offline).
        public let device: EnrolledDevice
        /// The debit card's number at the sandbox bank.
        public let cardNumber: String
        /// The bound card's funding-source id.
        public let cardSource: String
    }

    /// 2026-01-12 10:00 in Beijing: residents' 2026 contributions are open until the end of February.
    public static let start = Instant(iso8601: "2026-01-12T10:00:00+08:00")!
    /// The region.
    public static let region = RegionCode("440100")!
    /// The treating hospital (level 3).
    public static let hospital = Institution(
        code: "H440100SIM1", name: "模拟医院", region: region, level: .level3, payoutAccount: "SIM-BANK-H440100SIM1")

    /// The platform under test.
    public let platform: Platform
    /// The clock; only the simulation moves it.
    public let clock: ManualClock
    /// The backend that aborts chosen transactions.
    public let faults: FaultInjectingBackend
    /// The sandbox bank (faults are injected into it too).
    public let bank: SandboxBank
    /// 0: employee, binder of 2; 1: employee with a credit line; 2: resident, member of 0; 3: resident.
    public let members: [Member]
    /// The binding of member 2 to member 0, while in force.
    public let bindingID: String
    /// Member 1's medical credit line: its id and its funding source.
    public let creditLine: (id: String, source: String)
    private let cleanup: @Sendable () async -> Void

    init(
        platform: Platform, clock: ManualClock, faults: FaultInjectingBackend, bank: SandboxBank, members: [Member], bindingID: String,
        creditLine: (id: String, source: String), cleanup: @escaping @Sendable () async -> Void
    ) {
        self.platform = platform
        self.clock = clock
        self.faults = faults
        self.bank = bank
        self.members = members
        self.bindingID = bindingID
        self.creditLine = creditLine
        self.cleanup = cleanup
    }

    /// Closes the platform and removes its database.
    public func close() async { await cleanup() }

    /// A new world for `seed` on a fresh database.
    public static func make(seed: UInt64, database: Database) async throws -> SimulationWorld {
        let clock = ManualClock(start)
        let name = "yibao_sim_\(seed)_\(UInt32.random(in: 0...UInt32.max))"
        let inner: any StoreBackend
        let remove: @Sendable () async -> Void
        switch database {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
            inner = try Store.openBackend(.sqlite(path: directory + "/yibao.sqlite", durability: .process))
            remove = { try? FileManager.default.removeItem(atPath: directory) }
        case .postgres(let url):
            let template = try await Templates.shared.postgres(url: url)
            // The template's last connection may still be closing: try again for a moment.
            var attempt = 0
            while true {
                do {
                    try await PostgresBackend.administer(url: url, statements: ["CREATE DATABASE \(name) TEMPLATE \(template)"])
                    break
                } catch  where attempt < 50 {
                    attempt += 1
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            inner = try Store.openBackend(.postgres(url: PostgresBackend.url(url, database: name), connections: 4))
            remove = { try? await PostgresBackend.administer(url: url, statements: ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"]) }
        }
        let faults = FaultInjectingBackend(inner)
        let bank = SandboxBank(backend: inner, clock: clock)
        let platform = Platform(
            backend: faults, clock: clock, ids: SeededIDGenerator(seed: seed, clock: clock), cipher: try PersonalDataCipher(keys: .generate()),
            channel: bank)
        do {
            try await platform.migrate()
            let world = try await populate(platform: platform, clock: clock, faults: faults, bank: bank) {
                // The platform's close writes the projections still waiting before the database closes:
                // closing under an expansion in flight left its PostgreSQL query waiting for ever.
                await platform.close()
                await remove()
            }
            return world
        } catch {
            await platform.close()
            await remove()
            throw error
        }
    }

    /// The catalogue: class A (fully in scope), class B with a price cap and a first self-pay, class C.
    public static let items = [
        CatalogueItem(region: region, code: "A001", name: "阿莫西林胶囊", specification: "0.25g×24粒", category: .drug, itemClass: .a),
        CatalogueItem(
            region: region, code: "B001", name: "头孢克肟胶囊", specification: "0.1g×6粒", category: .drug, itemClass: .b, priceCap: .yuan(30),
            firstSelfPayRatio: Ratio(percent: 10)),
        CatalogueItem(region: region, code: "C001", name: "进口营养液", specification: "500ml", category: .drug, itemClass: .c),
    ]

    static func employeePolicy(_ year: Int) -> Policy {
        var policy = Policy(
            region: region, insuranceType: .employee, year: year, title: "simulated employee policy \(year)", sources: ["simulation"],
            outpatient: BenefitPool(
                deductibleScope: .perYear, levels: [LevelRule(level: .level3, deductible: .yuan(100), ratio: Ratio(percent: 60))],
                annualCap: .yuan(8000)),
            inpatient: BenefitPool(
                deductibleScope: .perVisit, levels: [LevelRule(level: .level3, deductible: .yuan(1000), ratio: Ratio(percent: 80))],
                annualCap: .yuan(1_000_000))
        )
        policy.family = FamilyRule(singleFamilyOnly: true, accountMayRepayCredit: true)
        return policy
    }

    static func residentPolicy(_ year: Int) -> Policy {
        Policy(
            region: region, insuranceType: .resident, year: year, title: "simulated resident policy \(year)", sources: ["simulation"],
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

    /// The simulated region's commercial plan of a year: a small deductible and cap so that runs meet
    /// both, class C 30 % paid, A001 excluded; anyone may join by paying its premium (the premium
    /// step picks it up among the contributions on offer).
    static func plan(_ year: Int) -> CommercialPlan {
        CommercialPlan(
            id: "sim-plan-\(year)", region: region, year: year, name: "模拟惠民保", insurer: .init(code: "SIM-INS", name: "模拟保险"),
            sources: ["simulation"], premium: .yuan(60), deductible: .yuan(30),
            ratios: .init(inScopeSelfBorne: Ratio(percent: 60), firstSelfPay: Ratio(percent: 60), overLimit: .zero, fullSelfPay: Ratio(percent: 30)),
            annualCap: .yuan(300), excludedItems: ["A001"], pools: BenefitPoolKind.allCases,
            enrolmentOpens: CivilDate(year: year - 1, month: 10, day: 1), enrolmentCloses: CivilDate(year: year, month: 12, day: 31))
    }

    private static func populate(
        platform: Platform, clock: ManualClock, faults: FaultInjectingBackend, bank: SandboxBank, cleanup: @escaping @Sendable () async -> Void
    ) async throws -> SimulationWorld {
        for year in [2026, 2027] {
            try await platform.savePolicy(employeePolicy(year))
            try await platform.savePolicy(residentPolicy(year))
            try await platform.saveCommercialPlan(plan(year))
        }
        _ = try await platform.saveInstitution(hospital)
        _ = try await platform.importCatalogue(items)
        let specs: [(String, InsuranceType, CivilDate, Money, Money)] = [
            ("PS0001", .employee, CivilDate(year: 1970, month: 3, day: 8)!, .yuan(500), .yuan(3000)),
            ("PS0002", .employee, CivilDate(year: 1985, month: 7, day: 21)!, .yuan(100), .yuan(2000)),
            ("PS0003", .resident, CivilDate(year: 2004, month: 11, day: 2)!, .zero, .yuan(500)),
            ("PS0004", .resident, CivilDate(year: 1992, month: 1, day: 15)!, .zero, .yuan(1500)),
        ]
        var members: [Member] = []
        for (index, (number, type, birth, opening, cardBalance)) in specs.enumerated() {
            let person = Person(
                number: number, name: "模拟\(index + 1)", idNumber: IDNumber.make(region: "440106", birthDate: birth, sequence: index + 11),
                birthDate: birth, region: region, insuranceType: type, phone: "1390000\(String(format: "%04d", index + 1))")
            try await platform.enrol(person, openingBalance: opening)
            let device = try await platform.enrolDevice(person: number, name: "手机")
            let card = try await bank.issueCard(holderIDNumber: person.idNumber, holderName: person.name, kind: .debit, balance: cardBalance)
            let source = try await platform.bindCard(person: number, number: card.number)
            members.append(Member(person: person, device: device, cardNumber: card.number, cardSource: source.id))
        }
        let binding = try await platform.requestBinding(
            binder: members[0].person.number,
            BindingRequest(memberNumber: members[2].person.number, memberIdNumber: members[2].person.idNumber, relationship: .child))
        _ = try await platform.confirmBinding(id: binding.id, member: members[2].person.number)
        // Member 1 joined the commercial plan from the phone before the run (others may join during it).
        let join = try await platform.premiumOptions(person: members[1].person.number).first { $0.kind == .commercialPlan && $0.open }
        if let join {
            _ = try await platform.payPremium(
                PremiumRequest(personNumber: members[1].person.number, kind: .commercialPlan, period: join.period, amount: join.amount),
                payer: members[1].person.number, idempotency: IdempotencyRequest(key: "join-plan", fingerprint: "join-plan"))
        }
        let line = try await platform.applyForCredit(person: members[1].person.number)
        _ = try await platform.signFrictionless(person: members[1].person.number, fundingSourceID: line.line.fundingSourceId, priority: .sourceFirst)
        return SimulationWorld(
            platform: platform, clock: clock, faults: faults, bank: bank, members: members, bindingID: binding.id,
            creditLine: (line.line.id, line.line.fundingSourceId), cleanup: cleanup)
    }

    /// The code member `index`'s phone shows now.
    public func code(_ index: Int) -> String {
        let member = members[index]
        return VoucherCode.make(secret: member.device.secret, deviceNumber: member.device.device.number, at: clock.now())
    }
}

/// Migrated, empty PostgreSQL databases to copy: creating a database from a template takes a fraction
/// of running every migration on a new one. One template per server and schema version, made once per
/// process.
actor Templates {
    static let shared = Templates()
    private var made: [String: Task<String, any Error>] = [:]

    func postgres(url: String) async throws -> String {
        if let task = made[url] { return try await task.value }
        let task = Task { try await Templates.make(url: url) }
        made[url] = task
        return try await task.value
    }

    static func make(url: String) async throws -> String {
        let name = "yibao_sim_template_v\(Migrations.latestVersion)"
        try await PostgresBackend.administer(url: url, statements: ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)", "CREATE DATABASE \(name)"])
        let backend = try Store.openBackend(.postgres(url: PostgresBackend.url(url, database: name), connections: 2))
        do {
            try await Migrations.migrate(backend, now: SimulationWorld.start)
        } catch {
            await backend.close()
            throw error
        }
        await backend.close()
        return name
    }
}
