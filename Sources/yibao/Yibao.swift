import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore

@main
struct Yibao: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "yibao",
        abstract: "Medical-insurance payment and settlement platform.",
        subcommands: [
            Serve.self, Migrate.self, Import.self, VerifyLedger.self, VerifyAudit.self, RotateKey.self, OperatorCommand.self, InstitutionCommand.self,
            TOTPCommand.self, CodeCommand.self, CreditDaily.self, CloseDay.self, ReportCommand.self, BackupCommand.self, RestoreCommand.self,
            LoadTest.self, NewKeys.self, SimulateCommand.self,
        ]
    )
}

/// Where the data is: the flags every command that opens the database shares.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data"), help: "Data directory of the embedded SQLite database and key file.")
    var dataDirectory = "./yibao-data"

    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (postgres://user:password@host:port/database) instead of SQLite.")
    var databaseURL: String?

    @Option(name: .customLong("keys-file"), help: "Personal-data key file (default: <data>/keys.json; or set YIBAO_KEYS to its JSON).")
    var keysFile: String?

    @Option(help: "SQLite durability: power (fsync every commit; survives power loss) or process (survives a killed process).")
    var durability: SQLiteBackend.Durability = .power

    @Flag(help: "Wire in the sandbox bank, SMS gateway and face verifier (demos, tests, benchmarks; never production).")
    var sandbox = false

    func configuration() -> AppConfiguration {
        var configuration = AppConfiguration()
        configuration.dataDirectory = dataDirectory
        configuration.databaseURL = databaseURL ?? ProcessInfo.processInfo.environment["YIBAO_DATABASE_URL"]
        configuration.keysFile = keysFile
        configuration.durability = durability
        configuration.sandbox = sandbox
        return configuration
    }

    /// Opens the platform; `sandbox` wires in the sandbox bank whatever the flag says (the load generator's
    /// population pays with sandbox cards).
    func openPlatform(sandbox: Bool = false) async throws -> Platform {
        var configuration = configuration()
        configuration.sandbox = configuration.sandbox || sandbox
        return try await YibaoServer.openPlatform(configuration, logger: Logger(label: "yibao"))
    }
}

extension SQLiteBackend.Durability: ExpressibleByArgument {}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the platform's HTTP server.")

    @OptionGroup var data: DataOptions

    @Option(help: "Port to listen on (0: a free one, written to --port-file).")
    var port = 8080

    @Option(help: "Once listening, write the port to this file.")
    var portFile: String?

    @Option(help: "Address to listen on (0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Flag(help: "Load the demo data (two regions, institutions, catalogue, people) on the first start of an empty database.")
    var demo = false

    @Option(help: "PostgreSQL connections of this instance.")
    var connections = 16

    @Flag(help: "Accept institution API keys as bearer tokens besides signed requests (on with --demo).")
    var allowBearerInstitutionKeys = false

    @Option(name: .customLong("trusted-proxy"), help: "A reverse proxy's address whose X-Forwarded-For is believed (repeatable).")
    var trustedProxies: [String] = []

    @Flag(help: "Accept webhook destinations on private, loopback or link-local addresses and plain http (tests only).")
    var allowPrivateWebhooks = false

    @Option(help: "Manual account adjustments and opening balances above this many yuan need a second administrator.")
    var adjustmentApprovalAbove: Int64 = 10_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "Requests in flight at most; beyond it a request is answered 503 overloaded with Retry-After at once.")
    var maxInFlight = 256

    @Option(
        help:
            "Seconds a write waits for SQLite's writer (to start, then to commit) before it is answered 503 unavailable; 0: no limit. PostgreSQL's is answer_timeout in its URL."
    )
    var writeWait: Double = 20

    func run() async throws {
        // Two malloc arenas, not glibc's eight per core: each thread that allocates in its own arena keeps
        // what it freed (SQLite's page caches, a batch's rows), which held 165 MB of free memory in a
        // server with a million people under load (bench/memory: peak RSS 231 → 147 MiB, latency the
        // same; docs/performance.md, "Memory").
        #if os(Linux)
        _ = glibcMallopt(-8, 2)  // M_ARENA_MAX (malloc.h, which the Glibc module does not bring in)
        #endif
        guard (1...100_000).contains(maxInFlight) else { throw ValidationError("--max-in-flight is 1 to 100000") }
        guard writeWait == 0 || (0.1...86_400).contains(writeWait) else {
            throw ValidationError("--write-wait is 0 (no limit) or 0.1 to 86400 seconds")
        }
        var configuration = data.configuration()
        configuration.maxInFlight = maxInFlight
        configuration.writeWait = writeWait == 0 ? nil : .milliseconds(Int64(writeWait * 1000))
        configuration.port = port
        configuration.portFile = portFile
        configuration.host = host
        configuration.demo = demo
        configuration.postgresConnections = connections
        configuration.allowBearerInstitutionKeys = allowBearerInstitutionKeys
        configuration.trustedProxies = trustedProxies
        configuration.allowPrivateWebhooks = allowPrivateWebhooks
        guard adjustmentApprovalAbove >= 0, adjustmentApprovalAbove <= 10_000_000 else {
            throw ValidationError("--adjustment-approval-above is 0 to 10000000 yuan")
        }
        configuration.adjustmentApprovalThreshold = .yuan(adjustmentApprovalAbove)
        configuration.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let app = try await buildApplication(configuration, metrics: registry)
        if demo {
            FileHandle.standardError.write(
                Data(
                    """
                    Demo credentials (public; demo only):
                      operator:    Authorization: Bearer \(DemoData.operatorToken)
                      institution: Authorization: Bearer \(DemoData.institutionToken("H44010000004"))   (广州示例市第二人民医院, level 3)

                    """.utf8
                )
            )
        }
        try await app.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the database schema up to date.")

    @OptionGroup var data: DataOptions

    func run() async throws {
        let platform = try await data.openPlatform()
        print("schema at version \(try await Migrations.storedVersion(platform.backend))")
        await platform.close()
    }
}

struct VerifyLedger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-ledger",
        abstract: "Recompute every balance from its postings and check every entry and settlement; exit 1 on any discrepancy."
    )

    @OptionGroup var data: DataOptions

    func run() async throws {
        let platform = try await data.openPlatform()
        let report = try await platform.verifyLedger()
        await platform.close()
        print("checked \(report.entries) entries, \(report.postings) postings, \(report.accounts) accounts, \(report.settlements) settlements")
        if report.passed {
            print("ledger verified: every entry sums to zero and every balance equals its postings")
        } else {
            for problem in report.problems { print("DISCREPANCY \(problem)") }
            throw ExitCode(1)
        }
    }
}

struct CreditDaily: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credit-daily",
        abstract: "Run the daily credit job: draw up bills, charge penalty interest and fees, suspend or reinstate lines. Idempotent."
    )

    @OptionGroup var data: DataOptions

    @Option(help: "The day to run for, YYYY-MM-DD (default: today in China; never a later day).")
    var date: String?

    func run() async throws {
        var day: CivilDate?
        if let date {
            guard let parsed = CivilDate(date) else { throw ValidationError("--date is YYYY-MM-DD") }
            day = parsed
        }
        let platform = try await data.openPlatform()
        do {
            let report = try await platform.runCreditDay(date: day)
            await platform.processChannelOperations()
            await platform.close()
            print(
                "credit day \(report.date): \(report.lines) lines brought up to date, \(report.bills) bills drawn up, interest \(report.interest), "
                    + "fees \(report.fees), \(report.suspended) suspended, \(report.reinstated) reinstated")
        } catch let refusal as Refusal {
            await platform.close()
            throw ValidationError(refusal.detail)
        }
    }
}

struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "operator", abstract: "Create an operator and print a token.")

    @OptionGroup var data: DataOptions

    @Option(help: "Login name.")
    var name: String

    @Option(help: "viewer, operator or administrator.")
    var role: String = "viewer"

    @Flag(help: "Issue a new token for an existing operator instead of creating one.")
    var newToken = false

    func run() async throws {
        guard let role = OperatorRole(rawValue: role) else { throw ValidationError("role must be viewer, operator or administrator") }
        let platform = try await data.openPlatform()
        defer { Task { await platform.close() } }
        let credential = newToken ? try await platform.issueOperatorToken(name: name) : try await platform.createOperator(name: name, role: role)
        print("operator \(credential.operatorName) (\(credential.role.rawValue)), token valid until \(credential.expiresAt):")
        print(credential.token)
    }
}

struct InstitutionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "institution-key", abstract: "Issue an API key for an institution and print it.")

    @OptionGroup var data: DataOptions

    @Argument(help: "The institution code.")
    var code: String

    func run() async throws {
        let platform = try await data.openPlatform()
        let credential = try await platform.issueInstitutionKey(code: code)
        await platform.close()
        print("API key for \(code) (earlier keys stop working in 7 days):")
        print(credential.token)
    }
}

#if os(Linux)
/// glibc's `mallopt` (malloc.h).
@_silgen_name("mallopt")
func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
