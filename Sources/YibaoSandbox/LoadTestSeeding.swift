import YibaoApp
import YibaoCore
import YibaoStore

/// One synthetic patient of a load-test population, as the load generator needs it: who, the phone's
/// device (to make codes offline, as the phone does) and optionally a session token (wallet reads,
/// contributions).
public struct SeededPatient: Sendable, Hashable, Codable {
    /// 人员编号.
    public var personNumber: String
    /// The device number inside every code (nil when seeded without devices).
    public var deviceNumber: String?
    /// The device secret, Base32 (nil when seeded without devices).
    public var deviceSecret: String?
    /// A patient session token (only for the first `sessions` people).
    public var sessionToken: String?
}

/// What a population is made of.
public struct PopulationSpec: Sendable {
    /// Person numbers are `prefix` + a zero-padded index: `LT00000001`.
    public var prefix: String
    /// The indexes to seed (so that seeding can be resumed or split).
    public var range: Range<Int>
    /// The insurance region (a region with a policy for the current year).
    public var region: RegionCode
    /// Employees (with a personal account) or residents.
    public var insuranceType: InsuranceType
    /// Opening personal-account balance (employees).
    public var accountBalance: Money
    /// Each person gets a phone device for e-voucher codes.
    public var devices: Bool
    /// Each person gets a sandbox debit card with this balance, bound as default (nil: no card).
    public var cardBalance: Money?
    /// How many of the first people get a patient session.
    public var sessions: Int
    /// People per transaction.
    public var batch: Int

    /// Creates a spec.
    public init(
        prefix: String = "LT", range: Range<Int>, region: RegionCode, insuranceType: InsuranceType = .employee, accountBalance: Money = .yuan(3000),
        devices: Bool = true, cardBalance: Money? = .yuan(100_000), sessions: Int = 0, batch: Int = 500
    ) {
        self.prefix = prefix
        self.range = range
        self.region = region
        self.insuranceType = insuranceType
        self.accountBalance = insuranceType == .employee ? accountBalance : .zero
        self.devices = devices
        self.cardBalance = cardBalance
        self.sessions = sessions
        self.batch = batch
    }

    /// The person number of an index.
    public func number(_ index: Int) -> String {
        var digits = String(index)
        while digits.count < 8 { digits = "0" + digits }
        return prefix + digits
    }

    /// A synthetic person born between 1950 and 2004 with a valid, unique ID number. The ID numbers are
    /// of 白云区 (440111), a district no demo person comes from, so that seeding beside the demo data
    /// never collides with it.
    public func person(_ index: Int) -> Person {
        let birth = CivilDate(year: 1950, month: 1, day: 1)!.adding(days: Int64(index / 1000) % 20_000)
        var phone = String(index % 100_000_000)
        while phone.count < 8 { phone = "0" + phone }
        return Person(
            number: number(index), name: "压测\(index)", idNumber: IDNumber.make(region: "440111", birthDate: birth, sequence: index % 1000),
            birthDate: birth, region: region, insuranceType: insuranceType, phone: "139" + phone
        )
    }
}

extension Platform {
    /// Bulk-seeds a synthetic population for load tests and benchmarks, `spec.batch` people per
    /// transaction: enrolment (personal data sealed, audit record, opening balance as a journal entry),
    /// a device, a sandbox card bound as the default funding source, a session. The same records the
    /// normal APIs write, without the per-request overhead (and without the notices a real patient would
    /// get). `progress` is called after each batch with the number seeded so far.
    public func seedPopulation(_ spec: PopulationSpec, progress: @Sendable (Int) -> Void = { _ in }) async throws -> [SeededPatient] {
        if spec.cardBalance != nil && sandbox == nil { throw StoreError.configuration("seeding cards needs the sandbox bank") }
        let cipher = self.cipher
        let ids = self.ids
        let channelName = channel.name
        var seeded: [SeededPatient] = []
        seeded.reserveCapacity(spec.range.count)
        var start = spec.range.lowerBound
        while start < spec.range.upperBound {
            let indexes = start..<min(start + spec.batch, spec.range.upperBound)
            let batch: [SeededPatient] = try await write { db, now in
                var out: [SeededPatient] = []
                for index in indexes {
                    let person = spec.person(index)
                    try PeopleRepository.insert(person, cipher: cipher, now: now, in: db)
                    try AuditRepository.append(
                        actor: "system:seed", action: "person.enrol", subject: person.number, value: ["region": person.region.value], now: now, in: db
                    )
                    try LedgerRepository.ensure(.personal(person.number), now: now, in: db)
                    if let entry = JournalEntry(
                        id: ids.next("J"), kind: .accountCredit, reference: "enrol:" + person.number, at: now,
                        movements: [
                            Posting(.contributions(person.region), -spec.accountBalance), Posting(.personal(person.number), spec.accountBalance),
                        ]
                    ) {
                        try LedgerRepository.post(entry, actor: "system:seed", in: db)
                    }
                    var patient = SeededPatient(personNumber: person.number)
                    if spec.devices {
                        var generator = SystemRandomNumberGenerator()
                        let secret = (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
                        let id = ids.next("D")
                        var number = String(7_000_000_000 + Int64(index))
                        while try DeviceRepository.find(number: number, in: db) != nil {
                            number = String(Int64.random(in: 1_000_000_000...9_999_999_999, using: &generator))
                        }
                        let device = Device(id: id, number: number, personNumber: person.number, name: "load", enrolledAt: now, revokedAt: nil)
                        try DeviceRepository.insert(
                            device, secretCipher: cipher.seal(Base32.encode(secret), field: "devices.secret", row: id), in: db)
                        patient.deviceNumber = number
                        patient.deviceSecret = Base32.encode(secret)
                    }
                    if let balance = spec.cardBalance {
                        var digits = String(index % 1_000_000_000)
                        while digits.count < 9 { digits = "0" + digits }
                        let body = "622849" + digits
                        let card = try SandboxBank.insertCard(
                            holderIDNumber: person.idNumber, holderName: person.name, kind: .debit, balance: balance,
                            number: body + String(Luhn.checkDigit(body)), now: now, in: db)
                        try FundingSourceRepository.insert(
                            FundingSource(
                                id: ids.next("F"), personNumber: person.number, channel: channelName, kind: .debit, token: card.token,
                                masked: SandboxBank.mask(card.number), bank: card.bank, isDefault: true
                            ),
                            now: now, in: db
                        )
                    }
                    if index - spec.range.lowerBound < spec.sessions {
                        let token = "ps_" + Secrets.randomToken()
                        try PatientRepository.insertSession(
                            tokenHash: Secrets.sha256Hex(token), id: ids.next("SS"), person: person.number, now: now,
                            expires: now.adding(seconds: Platform.sessionLifetimeSeconds), in: db
                        )
                        patient.sessionToken = token
                    }
                    out.append(patient)
                }
                return out
            }
            seeded += batch
            start = indexes.upperBound
            progress(start - spec.range.lowerBound)
        }
        return seeded
    }
}

/// What `loadCheck` found.
public struct LoadCheckReport: Sendable {
    /// Acknowledged settlements present and completed.
    public var present = 0
    /// Acknowledged settlement ids missing or not completed.
    public var missing: [String] = []
    /// A visit settled twice, a card charged for a settlement that did not complete, or charged a
    /// different amount.
    public var doubleCharges: [String] = []
    /// Cards with money still on hold after everything was resolved.
    public var cardMismatches: [String] = []
}

extension Platform {
    /// Checks the outcome of a load run or crash test against what the client saw: every acknowledged
    /// settlement is present and completed; no visit has two live settlements; every bank charge
    /// belongs to exactly one completed settlement of the same amount; nothing is left on hold.
    public func loadCheck(acknowledged: [String]) async throws -> LoadCheckReport {
        // The bank as it will stand once this instance's queued captures have arrived.
        await flushAfterCommit()
        var report = LoadCheckReport()
        var index = 0
        while index < acknowledged.count {
            let chunk = Array(acknowledged[index..<min(index + 500, acknowledged.count)])
            let found: [String: String] = try await read { db, _ in
                let marks = placeholders(chunk.count)
                var states: [String: String] = [:]
                for row in try db.query("SELECT id, state FROM settlements WHERE id IN (\(marks))", chunk.map { .text($0) }) {
                    states[try row.string("id")] = try row.string("state")
                }
                return states
            }
            for id in chunk {
                if found[id] == "completed" { report.present += 1 } else { report.missing.append(id + " (\(found[id] ?? "absent"))") }
            }
            index += chunk.count
        }
        let (twice, charges, held) = try await read { db, _ in
            let twice = try db.query(
                """
                SELECT visit_id, COUNT(*) AS n FROM settlements WHERE kind = 'settlement' AND state IN ('completed', 'pending') AND reversed_by IS NULL
                GROUP BY visit_id HAVING COUNT(*) > 1 LIMIT 100
                """, []
            ).map { "visit \(try $0.string("visit_id")) has \(try $0.int64("n")) live settlements" }
            let charges = try db.query(
                """
                SELECT o.reference, o.state, o.amount, s.state AS settlement_state, s.cash_paid FROM sandbox_operations o
                JOIN settlements s ON s.id = o.reference
                WHERE (o.state IN ('authorised', 'captured') AND (s.state <> 'completed' OR o.amount <> s.cash_paid))
                OR (s.state = 'completed' AND o.state NOT IN ('authorised', 'captured')) LIMIT 100
                """, []
            ).map {
                "bank \(try $0.string("state")) \(try $0.money("amount")) for settlement \(try $0.string("reference")) that is \(try $0.string("settlement_state")) with cash \(try $0.money("cash_paid"))"
            }
            let held = try db.query("SELECT number, held FROM sandbox_cards WHERE held <> 0 LIMIT 100", []).map {
                "card \(SandboxBank.mask(try $0.string("number"))) has \(try $0.money("held")) on hold"
            }
            return (twice, charges, held)
        }
        report.doubleCharges = twice + charges
        report.cardMismatches = held
        return report
    }
}

extension Platform {
    /// Adds `postings` synthetic ledger postings of history (benchmarks of latency against ledger size):
    /// entries of one fen from the region's contributions to the given people's personal accounts, in
    /// `batch`-posting transactions, balances kept equal to their postings.
    public func seedHistory(
        postings: Int, people: [String], region: RegionCode, batch: Int = 20_000, progress: @Sendable (Int) -> Void = { _ in }
    ) async throws {
        guard !people.isEmpty else { throw StoreError.configuration("history needs people") }
        var done = 0
        let base = UInt64.random(in: 0...UInt64(UInt32.max))
        while done < postings {
            let entries = min(batch, postings - done) / 2
            guard entries > 0 else { break }
            let first = done / 2
            try await write { db, now in
                let contributions = LedgerRepository.storageKey(.contributions(region), entry: "history", dialect: db.dialect)
                try db.execute(
                    "INSERT INTO accounts (id, kind, owner, balance, held, created_at, updated_at) VALUES (?, 'contributions', ?, 0, 0, ?, ?) ON CONFLICT (id) DO NOTHING",
                    [.text(contributions), .text(region.value), .instant(now), .instant(now)])
                var perAccount: [String: Int64] = [:]
                for index in first..<(first + entries) {
                    let id = "JH\(base)-\(index)"
                    let account = AccountID.personal(people[index % people.count]).key
                    try db.execute(
                        "INSERT INTO journal_entries (id, kind, reference, created_at) VALUES (?, 'account_credit', ?, ?)",
                        [.text(id), .text("history:\(base)-\(index)"), .instant(now)])
                    try db.execute(
                        "INSERT INTO postings (entry_id, account_id, amount) VALUES (?, ?, -1), (?, ?, 1)",
                        [.text(id), .text(contributions), .text(id), .text(account)])
                    perAccount[account, default: 0] += 1
                }
                for (account, fen) in perAccount {
                    try db.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", [.integer(fen), .text(account)])
                }
                try db.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", [.integer(Int64(entries)), .text(contributions)])
            }
            done += entries * 2
            progress(done)
        }
    }
}

extension Platform {
    /// Settles `settlements` visits at `institution`'s counter for `people` in turn (fund and cash, the
    /// personal account left alone; one line of catalogue item `item`), `concurrency` at a time, through
    /// the same use cases a hospital calls: real history in every table a settlement writes (visits,
    /// settlements, the ledger, wallets, inboxes, the audit chain), for a latency benchmark on a database
    /// that has lived.
    public func seedSettlementHistory(
        settlements: Int, people: [String], institution: Institution, item: String = "XD00000000001", concurrency: Int = 32,
        progress: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        guard settlements > 0 else { return }
        guard !people.isEmpty else { throw StoreError.configuration("history needs people") }
        let run = UInt32.random(in: 0...UInt32.max)
        let workers = max(1, min(concurrency, settlements))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    for index in stride(from: worker, to: settlements, by: workers) {
                        let line = FeeLine(
                            lineNumber: "1", itemCode: item, unitPrice: Money(fen: 1280), quantity: Quantity(units: Int64(1 + index % 3)))
                        let visit = try await self.openVisit(
                            OpenVisitRequest(
                                personNumber: people[index % people.count], category: .ordinaryOutpatient,
                                hospitalVisitNumber: "HS\(run)-\(index)", lines: [line]),
                            institution: institution)
                        _ = try await self.settle(visitID: visit.id, institution: institution, useAccount: false, idempotency: nil)
                        if (index + 1) % 10_000 == 0 { progress(index + 1) }
                    }
                }
            }
            try await group.waitForAll()
        }
        await flushAfterCommit()
    }
}
