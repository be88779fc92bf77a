import ArgumentParser
import AsyncHTTPClient
import Foundation
import Histogram
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

/// `yibao loadtest`: seed a synthetic population, drive a mix of requests at a fixed arrival rate or
/// flat out, and check afterwards that nothing acknowledged was lost or charged twice.
struct LoadTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Capacity planning: seed a synthetic population, drive load, verify the outcome (docs/performance.md).",
        subcommands: [LoadSeed.self, LoadHistory.self, LoadRun.self, LoadVerify.self]
    )
}

// MARK: Seed

struct LoadSeed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Bulk-seed people (with phones, sandbox cards, sessions) into a database, and write the population file the run reads."
    )

    @OptionGroup var data: DataOptions

    @Option(help: "How many people.")
    var people = 10_000

    @Option(help: "The first index (populations seeded into one database need disjoint index ranges).")
    var start = 0

    @Option(help: "How many of them get a phone device and a bound sandbox card (default: all).")
    var withDevices: Int?

    @Option(help: "How many of them get a patient session (wallet reads, contributions).")
    var sessions = 1_000

    @Option(help: "employee (310) or resident (390).")
    var insuranceType = "310"

    @Option(help: "Person-number prefix.")
    var prefix = "LT"

    @Option(help: "The population file to write (JSON lines).")
    var out = "population.jsonl"

    func run() async throws {
        guard let type = InsuranceType(rawValue: insuranceType) else { throw ValidationError("--insurance-type is 310 or 390") }
        let platform = try await data.openPlatform(sandbox: true)
        let logger = Logger(label: "yibao.loadtest")
        if let summary = try await DemoData.loadIfEmpty(into: platform, logger: logger) { print("demo reference data loaded: \(summary)") }
        let started = Date()
        let devices = min(withDevices ?? people, people)
        let region = RegionCode("440100")!
        let report: @Sendable (Int) -> Void = { done in
            if done % 20_000 < 500 { FileHandle.standardError.write(Data("  \(done) seeded\n".utf8)) }
        }
        var seeded = try await platform.seedPopulation(
            PopulationSpec(
                prefix: prefix, range: start..<(start + devices), region: region, insuranceType: type, devices: true, sessions: sessions),
            progress: report)
        if devices < people {
            _ = try await platform.seedPopulation(
                PopulationSpec(
                    prefix: prefix, range: (start + devices)..<(start + people), region: region, insuranceType: type, devices: false,
                    cardBalance: nil,
                    sessions: 0, batch: 2_000),
                progress: report)
        }
        await platform.close()
        let lines = try seeded.map { try YibaoJSON.string($0) }.joined(separator: "\n") + "\n"
        try lines.write(toFile: out, atomically: true, encoding: .utf8)
        let seconds = Date().timeIntervalSince(started)
        print(
            "seeded \(people) people (\(devices) with a phone and a card, \(min(sessions, devices)) with a session) in \(String(format: "%.1f", seconds)) s; wrote \(out)"
        )
        seeded.removeAll()
    }
}

struct LoadHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract:
            "Add history before a latency benchmark: synthetic ledger postings (one fen to the population's accounts) and real settlements at a hospital's counter."
    )

    @OptionGroup var data: DataOptions

    @Option(help: "How many postings to add.")
    var postings = 10_000_000

    @Option(help: "How many settlements to add first, settled at the institution's counter for the population's people.")
    var settlements = 0

    @Option(help: "The institution that settles them.")
    var institution = LoadRun.institutionDefault

    @Option(help: "The population file whose people receive them.")
    var population = "population.jsonl"

    func run() async throws {
        let people = try String(contentsOfFile: population, encoding: .utf8).split(separator: "\n").map {
            try YibaoJSON.decode(SeededPatient.self, from: String($0)).personNumber
        }
        let platform = try await data.openPlatform(sandbox: true)
        func seconds(since start: Date) -> String { String(format: "%.1f", Date().timeIntervalSince(start)) }
        if settlements > 0 {
            let started = Date()
            guard let hospital = try await platform.institution(code: institution) else {
                throw ValidationError("no institution \(institution)")
            }
            try await platform.seedSettlementHistory(settlements: settlements, people: people, institution: hospital) { done in
                FileHandle.standardError.write(Data("  \(done) settlements\n".utf8))
            }
            print("added \(settlements) settlements in \(seconds(since: started)) s")
        }
        let started = Date()
        try await platform.seedHistory(postings: postings, people: people, region: RegionCode("440100")!) { done in
            if done % 1_000_000 < 20_000 { FileHandle.standardError.write(Data("  \(done) postings\n".utf8)) }
        }
        await platform.close()
        print("added \(postings) postings in \(seconds(since: started)) s")
    }
}

// MARK: Run

/// What the run does, by share of requests.
enum LoadOperation: String, CaseIterable, Sendable {
    /// One-code settlement: the code and the lines in one call (POST /v1/settlements).
    case settle
    /// Open a visit by person number and pre-settle it (two calls).
    case presettle
    /// A patient reads the wallet.
    case wallet
    /// A patient pays a contribution (one per person and period).
    case premium
    /// Reverse a settlement this run made.
    case reverse
}

struct LoadRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Drive a mix of requests at a fixed arrival rate (open loop) or flat out; report throughput, latency percentiles and problems."
    )

    /// The demo hospital (level 3) the load generator settles at, in `loadtest run` and `loadtest history`.
    static let institutionDefault = "H44010000004"

    @Option(name: .customLong("url"), help: "A server to load (repeat to spread the load over several instances).")
    var urls: [String] = ["http://127.0.0.1:8080"]

    @Option(help: "The population file written by `yibao loadtest seed`.")
    var population = "population.jsonl"

    @Option(help: "Requests started per second (open loop: latency counts from the scheduled start). Omit to run flat out.")
    var rate: Double?

    @Option(help: "Seconds to run.")
    var duration: Double = 30

    @Option(help: "Requests in flight at most (flat out: the number of workers).")
    var concurrency = 64

    @Option(help: "The mix, e.g. settle=90,presettle=4,wallet=3,premium=1,reverse=2.")
    var mix = "settle=100"

    @Option(help: "The institution whose API key is used.")
    var institution = LoadRun.institutionDefault

    @Option(help: "The institution's key, KEYID.SECRET (default: the demo key of --institution).")
    var key: String?

    @Flag(help: "Sign each request (YIBAO-HMAC-SHA256 with a nonce) instead of sending the key as a bearer token.")
    var sign = false

    @Flag(help: "Let the personal account pay its share (default: the cash part is collected from the patient's card).")
    var useAccount = false

    @Option(help: "Give up retrying a request (transport errors, 503, in-progress) after this many seconds.")
    var retrySeconds: Double = 30

    @Option(
        help: """
            Throttle requests here once the server refuses for overload: send about this many times what it \
            accepts (adaptive throttling, as in Google's SRE book, which uses 2); 0, the default, sends everything.
            """)
    var throttle: Double = 0

    @Option(help: "Write the id of every acknowledged settlement here (one per line).")
    var acked: String?

    @Option(help: "Write the report as JSON here.")
    var reportJson: String?

    @Option(help: "The contribution to pay for `premium` requests: KIND:PERIOD (default flexible_monthly:<this month>).")
    var premium: String?

    func validate() throws {
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if duration <= 0 { throw ValidationError("--duration must be positive") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if throttle != 0 && !(throttle >= 1 && throttle <= 100) { throw ValidationError("--throttle is 0 (off) or from 1 to 100") }
        _ = try LoadRun.parseMix(mix)
    }

    static func parseMix(_ text: String) throws -> [(LoadOperation, Int)] {
        var mix: [(LoadOperation, Int)] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: "=")
            guard pieces.count == 2, let operation = LoadOperation(rawValue: String(pieces[0])), let weight = Int(pieces[1]), weight >= 0 else {
                throw ValidationError(
                    "--mix: \(part) is not operation=weight (operations: \(LoadOperation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            mix.append((operation, weight))
        }
        guard mix.reduce(0, { $0 + $1.1 }) > 0 else { throw ValidationError("--mix needs a positive weight") }
        return mix
    }

    func run() async throws {
        let people = try String(contentsOfFile: population, encoding: .utf8).split(separator: "\n").map {
            try YibaoJSON.decode(SeededPatient.self, from: String($0))
        }
        guard !people.isEmpty else { throw ValidationError("the population file is empty") }
        let premiumSpec = premium ?? "flexible_monthly:" + ChinaTime.date(SystemClock().now()).yearMonth
        let parts = premiumSpec.split(separator: ":")
        guard parts.count == 2 else { throw ValidationError("--premium is KIND:PERIOD") }
        let driver = LoadDriver(
            urls: urls, people: people, mix: try LoadRun.parseMix(mix), institutionKey: key ?? DemoData.institutionToken(institution), sign: sign,
            useAccount: useAccount, retrySeconds: retrySeconds, premium: (String(parts[0]), String(parts[1])), concurrency: concurrency,
            throttle: throttle == 0 ? nil : ClientThrottle(multiplier: throttle)
        )
        // The time step each phone last made a code in, kept beside the population file: a code is
        // accepted once, so a run started within 30 s of the previous one (the warm-up before a measured
        // run) must not reuse a phone the previous run used in the same step.
        let stepsFile = population + ".steps"
        driver.loadLastSteps(from: stepsFile)
        defer { driver.saveLastSteps(to: stepsFile) }
        print(
            "load: \(people.count) people, \(urls.count) server(s), mix \(mix), \(rate.map { "\(Int($0))/s offered" } ?? "flat out") for \(Int(duration)) s"
        )
        let cpuBefore = LoadReport.processCPUMilliseconds()
        var report = try await driver.run(rate: rate, duration: duration)
        report.summary.clientCPUMs = LoadReport.processCPUMilliseconds() - cpuBefore
        try await driver.shutdown()
        print(report.text)
        if let acked {
            try (report.acknowledged.joined(separator: "\n") + (report.acknowledged.isEmpty ? "" : "\n")).write(
                toFile: acked, atomically: true, encoding: .utf8)
        }
        if let reportJson { try YibaoJSON.string(report.summary).write(toFile: reportJson, atomically: true, encoding: .utf8) }
    }
}

/// The outcome of a run.
struct LoadReport: Sendable {
    struct Summary: Codable, Sendable {
        var seconds: Double
        var offeredPerSecond: Double?
        var operations: [String: OperationSummary]
        var acknowledgedSettlements: Int
        var settlementsPerSecond: Double
        var retries: Int
        /// Answers 503 `overloaded`, each retried after its Retry-After unless that would pass the deadline.
        var overloaded: Int
        /// The 99th percentile and the longest time to an `overloaded` answer, in milliseconds.
        var overloadedP99Ms: Double
        var overloadedMaxMs: Double
        /// Attempts this client refused itself (`--throttle`) instead of sending them to a server that was
        /// refusing for overload; each waits as a refused one would and tries again.
        var throttled: Int
        /// Requests started while more than 4 × `--concurrency` were outstanding, those waiting out a
        /// Retry-After included (open loop: none waits for a free slot; its latency counts from its due
        /// time either way).
        var notStartedInTime: Int
        /// This load generator's own CPU time over the run (user + system, milliseconds): on a machine it
        /// shares with the server, what it takes per settlement is not the server's to use.
        var clientCPUMs: Double = 0
    }

    struct OperationSummary: Codable, Sendable {
        var ok: Int
        var errors: [String: Int]
        var perSecond: Double
        var p50Ms: Double
        var p90Ms: Double
        var p99Ms: Double
        var p999Ms: Double
        var maxMs: Double
        /// Seconds from the run's start to this operation's last success: when a finite population ran
        /// out before the end (every premium paid), ok ÷ this is the rate it was done at.
        var lastOkSeconds: Double = 0
    }

    var summary: Summary
    var acknowledged: [String]

    /// This process's CPU time so far (user + system, from `getrusage`), in milliseconds.
    static func processCPUMilliseconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func ms(_ time: timeval) -> Double { Double(time.tv_sec) * 1000 + Double(time.tv_usec) / 1000 }
        return ms(usage.ru_utime) + ms(usage.ru_stime)
    }

    var text: String {
        var lines = [
            String(
                format:
                    "%.1f s, %@; settlements acknowledged: %d (%.0f/s); retries: %d; overloaded answers: %d; refused by this client's throttle: %d; starts past 4 × --concurrency outstanding: %d",
                summary.seconds, summary.offeredPerSecond.map { String(format: "%.0f/s offered", $0) } ?? "flat out",
                summary.acknowledgedSettlements, summary.settlementsPerSecond, summary.retries, summary.overloaded, summary.throttled,
                summary.notStartedInTime)
        ]
        if summary.acknowledgedSettlements > 0 {
            lines.append(
                String(
                    format: "load generator CPU: %.0f ms, %.3f ms per settlement acknowledged", summary.clientCPUMs,
                    summary.clientCPUMs / Double(summary.acknowledgedSettlements)))
        }
        if summary.overloaded > 0 {
            lines.append(String(format: "overloaded answers: p99 %.2f ms, max %.2f ms", summary.overloadedP99Ms, summary.overloadedMaxMs))
        }
        lines.append("operation        ok      /s    p50 ms   p90 ms   p99 ms  p99.9 ms   max ms  errors")
        for (name, op) in summary.operations.sorted(by: { $0.key < $1.key }) {
            let errors = op.errors.isEmpty ? "-" : op.errors.sorted { $0.value > $1.value }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            let figures = String(
                format: "%8d %7.0f %9.2f %8.2f %8.2f %9.2f %8.2f", op.ok, op.perSecond, op.p50Ms, op.p90Ms, op.p99Ms, op.p999Ms, op.maxMs)
            lines.append(name.padding(toLength: 10, withPad: " ", startingAt: 0) + figures + "  " + errors)
        }
        return lines.joined(separator: "\n")
    }
}

/// Drives the load: picks operations by weight, makes codes offline, retries with the same
/// Idempotency-Key, records latency from the scheduled start in HdrHistograms.
final class LoadDriver: Sendable {
    struct Person: Sendable {
        let number: String
        let deviceNumber: String?
        let secret: [UInt8]?
        let session: String?
    }

    struct Stats: Sendable {
        var histograms: [LoadOperation: Histogram<UInt64>] = [:]
        var ok: [LoadOperation: Int] = [:]
        var lastOk: [LoadOperation: ContinuousClock.Instant] = [:]
        var errors: [LoadOperation: [String: Int]] = [:]
        var retries = 0
        /// Answers 503 `overloaded` (admission control), each retried after its Retry-After unless that
        /// would pass the request's deadline.
        var overloaded = 0
        /// How long each `overloaded` answer took, from sending the request (microseconds).
        var overloadedAnswer = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        /// Attempts refused here by the throttle, never sent.
        var throttled = 0
        var late = 0
        var acknowledged: [String] = []
    }

    let urls: [String]
    let people: [Person]
    let payers: [Int]
    let patients: [Int]
    let weights: [(LoadOperation, Int)]
    let totalWeight: Int
    let keyID: String
    let secret: String
    let institutionKey: String
    let sign: Bool
    let useAccount: Bool
    let retrySeconds: Double
    let premium: (kind: String, period: String)
    let client: HTTPClient
    let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36).uppercased()
    let stats = Mutex(Stats())
    /// Requests so far (starting at a random point, so that runs one after another use other phones).
    let counter = Atomic<Int>(Int.random(in: 0..<1_000_000_000))
    /// The last time step each person's phone made a code in (a code is accepted once).
    let lastStep: Mutex<[Int64]>
    let reversible = Mutex<[String]>([])
    let premiumNext = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)
    let concurrency: Int
    /// The client's own throttle, on seconds since `epoch`; nil sends every attempt.
    let throttle: Mutex<ClientThrottle?>
    let epoch = ContinuousClock.now
    /// The last Retry-After the server gave, in milliseconds: how long an attempt the throttle refused waits.
    let lastRetryAfter = Atomic<Int>(1000)

    init(
        urls: [String], people: [SeededPatient], mix: [(LoadOperation, Int)], institutionKey: String, sign: Bool, useAccount: Bool,
        retrySeconds: Double, premium: (String, String), concurrency: Int, throttle: ClientThrottle? = nil
    ) {
        self.throttle = Mutex(throttle)
        self.urls = urls
        let mapped = people.map {
            Person(number: $0.personNumber, deviceNumber: $0.deviceNumber, secret: $0.deviceSecret.flatMap(Base32.decode), session: $0.sessionToken)
        }
        self.people = mapped
        self.payers = mapped.indices.filter { mapped[$0].secret != nil }
        self.patients = mapped.indices.filter { mapped[$0].session != nil }
        self.weights = mix.filter { $0.1 > 0 }
        self.totalWeight = mix.reduce(0) { $0 + $1.1 }
        let dot = institutionKey.firstIndex(of: ".") ?? institutionKey.endIndex
        self.keyID = String(institutionKey[..<dot])
        self.secret = dot < institutionKey.endIndex ? String(institutionKey[institutionKey.index(after: dot)...]) : ""
        self.institutionKey = institutionKey
        self.sign = sign
        self.useAccount = useAccount
        self.retrySeconds = retrySeconds
        self.premium = premium
        self.lastStep = Mutex([Int64](repeating: -1, count: people.count))
        self.concurrency = concurrency
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(concurrency, 8))
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(30))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async throws { try await client.shutdown() }

    /// Seconds since the driver was made, the throttle's clock.
    func secondsSinceStart() -> Double { (ContinuousClock.now - epoch) / .seconds(1) }

    /// Reads the steps a previous run left (one number per person, in population order); a missing or
    /// mismatched file is ignored.
    func loadLastSteps(from path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let steps = text.split(separator: "\n").compactMap { Int64($0) }
        guard steps.count == people.count else { return }
        lastStep.withLock { $0 = steps }
    }

    /// Writes the step each phone last made a code in, for the next run.
    func saveLastSteps(to path: String) {
        let text = lastStep.withLock { $0.map(String.init).joined(separator: "\n") }
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func run(rate: Double?, duration: Double) async throws -> LoadReport {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start.advanced(by: .milliseconds(Int64(duration * 1000)))
        let concurrency = self.concurrency
        await withDiscardingTaskGroup { group in
            if let rate {
                // Open loop: request i is due at start + i/rate whatever happened to the others.
                var index = 0
                while true {
                    let due = start.advanced(by: .nanoseconds(Int64(Double(index) * 1e9 / rate)))
                    if due >= end { break }
                    if due > clock.now { try? await clock.sleep(until: due, tolerance: .microseconds(200)) }
                    if inFlight.load(ordering: .relaxed) >= concurrency * 4 {
                        stats.withLock { $0.late += 1 }
                    }
                    inFlight.add(1, ordering: .relaxed)
                    let operation = pick(index)
                    // An unstructured task, not a child of the group: a task group with tens of thousands of
                    // children (requests waiting out a Retry-After) removes each finished child by walking its
                    // list, which took 15 % of the load generator's CPU at 2 × capacity (`perf record -g`).
                    Task {
                        await self.perform(operation, scheduled: due, clock: clock)
                        self.inFlight.subtract(1, ordering: .relaxed)
                    }
                    index += 1
                }
                while inFlight.load(ordering: .relaxed) > 0 { try? await Task.sleep(for: .milliseconds(10)) }
            } else {
                for worker in 0..<concurrency {
                    group.addTask {
                        var index = worker
                        while clock.now < end {
                            await self.perform(self.pick(index), scheduled: clock.now, clock: clock)
                            index += concurrency
                        }
                    }
                }
            }
        }
        let seconds = Double((clock.now - start).components.seconds) + Double((clock.now - start).components.attoseconds) / 1e18
        return stats.withLock { stats in
            var operations: [String: LoadReport.OperationSummary] = [:]
            for operation in LoadOperation.allCases {
                let histogram =
                    stats.histograms[operation] ?? Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
                let ok = stats.ok[operation] ?? 0
                let errors = stats.errors[operation] ?? [:]
                guard ok + errors.values.reduce(0, +) > 0 else { continue }
                func ms(_ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
                operations[operation.rawValue] = LoadReport.OperationSummary(
                    ok: ok, errors: errors, perSecond: Double(ok) / seconds, p50Ms: ms(50), p90Ms: ms(90), p99Ms: ms(99), p999Ms: ms(99.9),
                    maxMs: Double(histogram.max) / 1000, lastOkSeconds: stats.lastOk[operation].map { ($0 - start) / .seconds(1) } ?? 0)
            }
            let settled = stats.acknowledged.count
            return LoadReport(
                summary: .init(
                    seconds: seconds, offeredPerSecond: rate, operations: operations, acknowledgedSettlements: settled,
                    settlementsPerSecond: Double(settled) / seconds, retries: stats.retries, overloaded: stats.overloaded,
                    overloadedP99Ms: Double(stats.overloadedAnswer.valueAtPercentile(99)) / 1000,
                    overloadedMaxMs: Double(stats.overloadedAnswer.max) / 1000, throttled: stats.throttled, notStartedInTime: stats.late),
                acknowledged: stats.acknowledged)
        }
    }

    func pick(_ index: Int) -> LoadOperation {
        var ticket = Int(UInt64(truncatingIfNeeded: index &* 2_654_435_761) % UInt64(totalWeight))
        for (operation, weight) in weights {
            if ticket < weight { return operation }
            ticket -= weight
        }
        return weights[0].0
    }

    // MARK: Operations

    func perform(_ operation: LoadOperation, scheduled: ContinuousClock.Instant, clock: ContinuousClock) async {
        var outcome: String
        var settlementID: String?
        switch operation {
        case .settle:
            (outcome, settlementID) = await settle()
        case .presettle:
            outcome = await presettle()
        case .wallet:
            outcome = await wallet()
        case .premium:
            outcome = await payPremium()
        case .reverse:
            outcome = await reverse()
        }
        let elapsed = clock.now - scheduled
        let micros = UInt64(max(0, elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000))
        stats.withLock { stats in
            if outcome == "ok" {
                stats.ok[operation, default: 0] += 1
                stats.lastOk[operation] = clock.now
                stats.histograms[operation, default: Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)]
                    .record(min(micros, 120_000_000))
                if let settlementID { stats.acknowledged.append(settlementID) }
            } else {
                stats.errors[operation, default: [:]][outcome, default: 0] += 1
            }
        }
        if let settlementID, operation == .settle { reversible.withLock { $0.append(settlementID) } }
    }

    /// A person whose phone has not made a code in this time step (round robin over the population),
    /// or nil when every phone has. The walk goes as far as it must: a run after a warm-up meets the
    /// warm-up's phones as one block, which a walk of 64 took about fifteen calls to cross, each one
    /// reported as `population_exhausted` with most of the population free.
    func payer() -> (Person, String, Int)? {
        let now = SystemClock().now()
        let step = now.secondsSinceEpoch / VoucherCode.stepSeconds
        for _ in 0..<payers.count {
            let ticket = counter.wrappingAdd(1, ordering: .relaxed).oldValue
            let index = payers[ticket % payers.count]
            let fresh = lastStep.withLock { steps in
                guard steps[index] < step else { return false }
                steps[index] = step
                return true
            }
            guard fresh, let secret = people[index].secret, let number = people[index].deviceNumber else { continue }
            return (people[index], VoucherCode.make(secret: secret, deviceNumber: number, at: now), ticket)
        }
        return nil
    }

    /// The population has nothing left for this operation now (every phone paid in this 30-second step —
    /// a flat-out run needs more people than it settles in a step — or everyone paid the premium): waits a little instead of spinning on the CPU the server shares —
    /// a flat-out premium run that outlasted its population asked 82 million times in its last seconds —
    /// and returns `outcome`, counted as that operation's error.
    func ranOut(_ outcome: String) async -> String {
        try? await Task.sleep(for: .milliseconds(50))
        return outcome
    }

    static let items = [("XD00000000003", 2850, 2), ("XD00000000001", 1280, 2), ("S000000000061", 1000, 1)]

    func lines(_ seed: Int) -> String {
        let count = 1 + seed % 3
        return (0..<count).map { offset in
            let (code, price, quantity) = LoadDriver.items[(seed + offset) % LoadDriver.items.count]
            return #"{"line_number":"\#(offset + 1)","item_code":"\#(code)","unit_price":\#(price),"quantity":\#(quantity)}"#
        }.joined(separator: ",")
    }

    func settle() async -> (String, String?) {
        guard let (_, code, sequence) = payer() else { return (await ranOut("population_exhausted"), nil) }
        let visit = "LT\(runID)\(sequence)"
        let body =
            #"{"code":"\#(code)","category":"11","hospital_visit_number":"\#(visit)","use_account":\#(useAccount),"lines":[\#(lines(sequence))]}"#
        let (outcome, object) = await institutionCall("POST", "/v1/settlements", body: body, idempotencyKey: visit, expect: 201)
        return (outcome, object?["id"] as? String)
    }

    func presettle() async -> String {
        let sequence = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        let person = people[sequence % people.count]
        let body =
            #"{"person_number":"\#(person.number)","category":"11","hospital_visit_number":"LP\#(runID)\#(sequence)","lines":[\#(lines(sequence))]}"#
        let (opened, visit) = await institutionCall("POST", "/v1/visits", body: body, idempotencyKey: nil, expect: 201)
        guard opened == "ok", let id = visit?["id"] as? String else { return opened }
        return await institutionCall("POST", "/v1/visits/\(id)/pre-settlement", body: "", idempotencyKey: nil, expect: 200).0
    }

    func wallet() async -> String {
        guard !patients.isEmpty, let token = people[patients[counter.wrappingAdd(1, ordering: .relaxed).oldValue % patients.count]].session else {
            return "no_sessions_in_population"
        }
        return await call("GET", "/v1/patient/wallet", body: nil, headers: [("Authorization", "Bearer " + token)], expect: 200).0
    }

    func payPremium() async -> String {
        let next = premiumNext.wrappingAdd(1, ordering: .relaxed).oldValue
        guard next < patients.count, let token = people[patients[next]].session else { return await ranOut("no_unpaid_sessions_left") }
        let person = people[patients[next]]
        let amount = await premiumAmount(token: token, person: person.number)
        guard let amount else { return "no_premium_option" }
        let body = #"{"person_number":"\#(person.number)","kind":"\#(premium.kind)","period":"\#(premium.period)","amount":\#(amount)}"#
        return await call(
            "POST", "/v1/patient/premiums", body: body,
            headers: [("Authorization", "Bearer " + token), ("Idempotency-Key", "LT\(runID)-premium-\(person.number)")], expect: 201
        ).0
    }

    /// The amount the policy asks (the app shows it; the patient confirms it).
    func premiumAmount(token: String, person: String) async -> Int64? {
        let (outcome, _, array) = await callRaw(
            "GET", "/v1/patient/premiums", body: nil, headers: [("Authorization", "Bearer " + token)], expect: 200, parseBodies: true)
        guard outcome == "ok" else { return nil }
        return (array ?? []).first { ($0["kind"] as? String) == premium.kind && ($0["period"] as? String) == premium.period }?["amount"] as? Int64
            ?? ((array ?? []).first { ($0["kind"] as? String) == premium.kind && ($0["period"] as? String) == premium.period }?["amount"] as? Int)
            .map(Int64.init)
    }

    func reverse() async -> String {
        guard let id = reversible.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { return "nothing_to_reverse_yet" }
        return await institutionCall("POST", "/v1/settlements/\(id)/reversal", body: "", idempotencyKey: "LR\(id)", expect: 201).0
    }

    // MARK: HTTP

    /// The string value of the top-level `id` key of a JSON object body, found by a scan that tracks
    /// nesting and strings: the client needs only the record's id, not a full parse on its CPU.
    static func topLevelID(_ buffer: ByteBuffer) -> String? {
        let bytes = Array(buffer.readableBytesView)
        var depth = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                // A string: find its end; at depth 1 it may be the key "id".
                var end = index + 1
                while end < bytes.count && bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
                if depth == 1, end - index == 3, bytes[index + 1] == UInt8(ascii: "i"), bytes[index + 2] == UInt8(ascii: "d"),
                    end + 2 < bytes.count, bytes[end + 1] == UInt8(ascii: ":"), bytes[end + 2] == UInt8(ascii: "\"")
                {
                    let valueStart = end + 3
                    guard let valueEnd = bytes[valueStart...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                    return String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self)
                }
                index = end + 1
                continue
            }
            if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
            if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") { depth -= 1 }
            index += 1
        }
        return nil
    }

    func institutionCall(_ method: String, _ path: String, body: String, idempotencyKey: String?, expect: Int) async -> (String, [String: Any]?) {
        var headers: [(String, String)] = []
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        if !sign { headers.append(("Authorization", "Bearer " + institutionKey)) }
        return await call(method, path, body: body, headers: headers, expect: expect, signed: sign)
    }

    func call(
        _ method: String, _ path: String, body: String?, headers: [(String, String)], expect: Int, signed: Bool = false
    ) async -> (String, [String: Any]?) {
        let (outcome, object, _) = await callRaw(method, path, body: body, headers: headers, expect: expect, signed: signed)
        return (outcome, object)
    }

    /// One request with retries on what a client should retry (transport errors, 503, settlement in
    /// progress), always with the same Idempotency-Key and body. The outcome is "ok" or a problem code.
    func callRaw(
        _ method: String, _ path: String, body: String?, headers: [(String, String)], expect: Int, signed: Bool = false, parseBodies: Bool = false
    ) async -> (String, [String: Any]?, [[String: Any]]?) {
        let deadline = Date().addingTimeInterval(retrySeconds)
        var attempt = 0
        while true {
            let now = secondsSinceStart()
            if !throttle.withLock({ $0?.send(at: now, draw: Double.random(in: 0..<1)) ?? true }) {
                // Refused here: waits as the server's last refusal asked, and is counted as wanted again.
                let wait = Int(Double(lastRetryAfter.load(ordering: .relaxed)) * Double.random(in: 0.5...1.0))
                stats.withLock { $0.throttled += 1 }
                guard Date().addingTimeInterval(Double(wait) / 1000) < deadline else { return ("throttled", nil, nil) }
                try? await Task.sleep(for: .milliseconds(wait))
                continue
            }
            let url = urls[(attempt + path.count) % urls.count]
            var request = HTTPClientRequest(url: url + path)
            request.method = .init(rawValue: method)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body, !body.isEmpty {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
            }
            if signed {
                let timestamp = SystemClock().now().secondsSinceEpoch
                let nonce = Secrets.randomToken(bytes: 12)
                request.headers.add(
                    name: "Authorization",
                    value: RequestSignature.authorization(
                        keyID: keyID, secret: secret, method: method, pathAndQuery: path, timestamp: timestamp, nonce: nonce,
                        body: Array((body ?? "").utf8))
                )
            }
            var retry = false
            var outcome = "transport_error"
            var object: [String: Any]?
            var array: [[String: Any]]?
            var retryAfter: Double?
            var answered = false
            let sent = ContinuousClock.now
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                answered = true
                // A number of seconds, at most an hour (anything else is no usable wait).
                retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init).flatMap { $0.isFinite && $0 >= 0 ? min($0, 3600) : nil }
                let bytes = try await response.body.collect(upTo: 4 << 20)
                let status = Int(response.status.code)
                if status == expect, let id = LoadDriver.topLevelID(bytes), !parseBodies {
                    // The common case needs only the record's id: no full JSON parse on the client's CPU.
                    object = ["id": id]
                } else {
                    let parsed = try? JSONSerialization.jsonObject(with: Data(buffer: bytes))
                    object = parsed as? [String: Any]
                    array = parsed as? [[String: Any]]
                }
                if status == expect {
                    outcome = "ok"
                } else {
                    outcome = (object?["code"] as? String) ?? "http_\(status)"
                    retry = status == 503 || status == 502 || outcome == "settlement_in_progress" || outcome == "payment_pending"
                }
            } catch {
                outcome = LoadDriver.transportOutcome(error)
                retry = true
            }
            if answered {
                let now = secondsSinceStart()
                throttle.withLock { outcome == "overloaded" ? $0?.refused(at: now) : $0?.accepted(at: now) }
            }
            if outcome == "overloaded" {
                if let retryAfter { lastRetryAfter.store(Int(retryAfter * 1000), ordering: .relaxed) }
                let answered = ContinuousClock.now - sent
                stats.withLock {
                    $0.overloaded += 1
                    $0.overloadedAnswer.record(
                        UInt64(min(120_000_000, answered.components.seconds * 1_000_000 + answered.components.attoseconds / 1_000_000_000_000)))
                }
            }
            // The server's Retry-After when it gave one (an overloaded instance says when to come back;
            // spread over the last half of that time so the retries do not return together), else a
            // backoff. A wait that would end past the deadline is not waited: the caller gives up now.
            let wait = retryAfter.map { Int($0 * 1000 * Double.random(in: 0.5...1.0)) } ?? min(1000, 100 * (attempt + 1))
            if retry && Date().addingTimeInterval(Double(wait) / 1000) < deadline {
                attempt += 1
                stats.withLock { $0.retries += 1 }
                try? await Task.sleep(for: .milliseconds(wait))
                continue
            }
            return (outcome, object, array)
        }
    }
}

extension LoadDriver {
    /// A failure to get an answer, named by where it happened: `client_queue_timeout` is this load
    /// generator's own queue for a pooled connection (the server never saw the request),
    /// `timeout` a request sent and not answered in time, `connect_error` a connection not opened,
    /// `transport_error` anything else.
    static func transportOutcome(_ error: any Error) -> String {
        guard let error = error as? HTTPClientError else { return "transport_error" }
        switch error {
        case .getConnectionFromPoolTimeout: return "client_queue_timeout"
        case .deadlineExceeded, .readTimeout: return "timeout"
        case .connectTimeout: return "connect_error"
        default: return "transport_error"
        }
    }
}

// MARK: Verify

struct LoadVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "After a run (or a crash test): every acknowledged settlement is there and completed, nothing was charged twice, the ledger verifies."
    )

    @OptionGroup var data: DataOptions

    @Option(help: "The acknowledged settlement ids written by `loadtest run --acked`.")
    var acked: [String] = []

    @Option(help: "Fail unless at least this many settlements were acknowledged (and are present): a run that settled nothing proves nothing.")
    var expectAtLeast = 0

    func run() async throws {
        let platform = try await data.openPlatform(sandbox: true)
        // Finish what a crash left pending first, as the server's background work would.
        await platform.resolvePendingPayments(olderThanSeconds: 0)
        await platform.processChannelOperations(limit: 100_000, takeOverLeases: true)
        while await platform.expandDueProjections(limit: 1000, takeOverLeases: true) > 0 {}
        var ids: [String] = []
        for file in acked { ids += try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init) }
        let report = try await platform.loadCheck(acknowledged: ids)
        let ledger = try await platform.verifyLedger()
        await platform.close()
        print(
            "acknowledged: \(ids.count), present and completed: \(report.present), missing: \(report.missing.count), "
                + "double charges: \(report.doubleCharges.count), card balances off: \(report.cardMismatches.count)")
        print("ledger: \(ledger.entries) entries, \(ledger.postings) postings, problems: \(ledger.problems.count)")
        for id in report.missing.prefix(10) { print("MISSING \(id)") }
        for problem in (report.doubleCharges + report.cardMismatches).prefix(10) { print("PROBLEM \(problem)") }
        for problem in ledger.problems.prefix(10) { print("LEDGER \(problem)") }
        if ids.count < expectAtLeast || report.present < expectAtLeast {
            print("TOO FEW: \(ids.count) acknowledged, \(report.present) present; at least \(expectAtLeast) expected")
            throw ExitCode(1)
        }
        if !report.missing.isEmpty || !report.doubleCharges.isEmpty || !report.cardMismatches.isEmpty || !ledger.passed { throw ExitCode(1) }
        print("verified: nothing acknowledged was lost, nothing was charged twice, the ledger balances")
    }
}
