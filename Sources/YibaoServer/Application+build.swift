import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoStore

/// How `yibao serve` runs.
public struct AppConfiguration: Sendable {
    /// The address to listen on.
    public var host = "127.0.0.1"
    /// The port to listen on.
    public var port = 8080
    /// Where the embedded database and key file live.
    public var dataDirectory = "./yibao-data"
    /// A PostgreSQL URL; when set the data directory holds only nothing but logs.
    public var databaseURL: String?
    /// PostgreSQL connections per instance.
    public var postgresConnections = 16
    /// SQLite durability.
    public var durability: SQLiteBackend.Durability = .power
    /// How long a write waits for SQLite's writer, to start and then to commit; nil: as long as it
    /// takes. (PostgreSQL's is `answer_timeout` in its URL.)
    public var writeWait: Duration? = SQLiteBackend.writeWaitDefault
    /// The personal-data key file (default: `<data>/keys.json`, created on first start for SQLite).
    public var keysFile: String?
    /// Load the demo data on the first start of an empty database.
    public var demo = false
    /// Log level.
    public var logLevel: Logger.Level = .info
    /// Accept institution keys as bearer tokens besides signed requests (the demo does).
    public var allowBearerInstitutionKeys = false
    /// Wire in the sandbox bank, SMS gateway and face verifier and their `/v1/sandbox` routes (on with
    /// `demo`). Off, a party with no real adapter refuses with `party_not_configured`.
    public var sandbox = false
    /// Proxies whose `X-Forwarded-For` is believed (their addresses); others' is ignored.
    public var trustedProxies: [String] = []
    /// Accept webhook destinations on private, loopback or link-local addresses and plain http (tests).
    public var allowPrivateWebhooks = false
    /// Manual account adjustments (opening balances included) above this need a second administrator.
    public var adjustmentApprovalThreshold = Money.yuan(10_000)
    /// Requests in flight at most; beyond it a request is answered 503 `overloaded` with `Retry-After`
    /// at once (`AdmissionMiddleware`).
    public var maxInFlight = 256
    /// Once listening, write the port here (with `port` 0 the system picks a free one: scripts and tests
    /// read it back instead of guessing a free port and racing for it).
    public var portFile: String?

    /// Whether the sandbox parties are wired in.
    public var usesSandbox: Bool { sandbox || demo }

    /// Creates a configuration with the defaults.
    public init() {}

    /// Where the database is.
    public var location: Store.Location {
        if let url = databaseURL { return .postgres(url: url, connections: postgresConnections) }
        return .sqlite(path: (dataDirectory as NSString).appendingPathComponent("yibao.sqlite"), durability: durability, writeWait: writeWait)
    }

    /// The key file path.
    public var resolvedKeysFile: String { keysFile ?? (dataDirectory as NSString).appendingPathComponent("keys.json") }
}

/// Everything a router needs: the platform, the parties outside Yibao (SMS, face verification), metrics,
/// the password cost and the security settings.
public struct AppServices: Sendable {
    /// The platform.
    public let platform: Platform
    /// Prometheus metrics.
    public let metrics: PrometheusCollectorRegistry
    /// The SMS gateway: a real adapter, the sandbox, or `UnconfiguredParty`.
    public let messages: any MessageGateway
    /// bcrypt cost of patients' passwords.
    public let passwordCost: UInt8
    /// Whether institutions may authenticate with the key as a bearer token instead of signing.
    public let allowBearerInstitutionKeys: Bool
    /// The face-verification provider: a real adapter, the sandbox, or `UnconfiguredParty`.
    public let verifier: any IdentityVerifier
    /// Whether the sandbox parties and their `/v1/sandbox` routes are on.
    public let sandbox: Bool
    /// Proxies whose `X-Forwarded-For` is believed.
    public let trustedProxies: [String]
    /// Whether webhook destinations may be private addresses or plain http.
    public let allowPrivateWebhooks: Bool
    /// Manual account adjustments above this need a second administrator.
    public let adjustmentApprovalThreshold: Money
    /// Requests in flight at most (`AdmissionMiddleware`).
    public let maxInFlight: Int
    /// Whether this is `serve --demo`: the front door lists the demo's published sign-ins.
    public let demo: Bool
    /// How long a client connection may stay silent — between requests, or in the middle of a request's
    /// head or body — before the server closes it (`AppServices.connectionIdleTimeoutDefault`).
    public let connectionIdleTimeout: Duration

    /// Longer than an HTTP client keeps an idle connection in its pool (60 s in AsyncHTTPClient and the
    /// load generator; nginx's own keep-alive is 75 s), so the client, not the server, closes an idle
    /// one and never sends a request on a connection the server is closing. Without a limit, every
    /// phone that left a counter's network without a goodbye, and every client that opens connections
    /// and says nothing, held a socket and its file descriptor for good.
    public static let connectionIdleTimeoutDefault = Duration.seconds(75)
    /// How long a request's body may take to arrive whole once the application reads it; then the
    /// request is refused (`body_too_slow`). The idle timeout alone lets a client that sends a byte now
    /// and then keep its place among the requests in flight for good.
    public let requestBodyWait: Duration
    /// 60 s: the largest body (8 MiB, a catalogue file) over a link of about 1.1 Mbit/s.
    public static let requestBodyWaitDefault = Duration.seconds(60)

    /// Creates the services. With `sandbox`, missing parties are the sandbox ones; without, they are
    /// `UnconfiguredParty` (refused with 503) — never a sandbox silently.
    public init(
        platform: Platform, metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), messages: (any MessageGateway)? = nil,
        passwordCost: UInt8 = 12, allowBearerInstitutionKeys: Bool = false, verifier: (any IdentityVerifier)? = nil, sandbox: Bool = false,
        trustedProxies: [String] = [], allowPrivateWebhooks: Bool = false, adjustmentApprovalThreshold: Money = .yuan(10_000),
        maxInFlight: Int = 256, demo: Bool = false, connectionIdleTimeout: Duration = AppServices.connectionIdleTimeoutDefault,
        requestBodyWait: Duration = AppServices.requestBodyWaitDefault
    ) {
        self.requestBodyWait = requestBodyWait
        self.maxInFlight = maxInFlight
        self.connectionIdleTimeout = connectionIdleTimeout
        self.demo = demo
        self.platform = platform
        self.metrics = metrics
        self.messages = messages ?? (sandbox ? SandboxMessages(clock: platform.clock) : UnconfiguredParty())
        self.verifier = verifier ?? (sandbox ? SandboxIdentityVerifier() : UnconfiguredParty())
        self.passwordCost = passwordCost
        self.allowBearerInstitutionKeys = allowBearerInstitutionKeys
        self.sandbox = sandbox
        self.trustedProxies = trustedProxies
        self.allowPrivateWebhooks = allowPrivateWebhooks
        self.adjustmentApprovalThreshold = adjustmentApprovalThreshold
    }
}

/// The router and the table of its routes.
public struct YibaoRouter {
    /// The router.
    public let router: Router<AppRequestContext>
    /// Every route with its access rule.
    public let routes: [RouteDescription]
    /// The instance's admission control, shared by the router's middleware and the server's door.
    let admission: Admission
    /// How long a client connection may stay silent (`AppServices.connectionIdleTimeout`).
    let idleTimeout: Duration

    /// The HTTP/1.1 server for this router: each connection's pipeline has the admission door
    /// (`AdmissionDoor`), which refuses a request before it becomes a task while the instance is full,
    /// and a connection silent for `idleTimeout` is closed (Hummingbird's state handler: never while
    /// its request is being answered).
    public var server: HTTPServerBuilder {
        let admission = admission
        return .http1(configuration: .init(additionalChannelHandlers: [AdmissionDoor(admission: admission)], idleTimeout: TimeAmount(idleTimeout)))
    }
}

/// Builds the router: middleware, then one controller per area. Tests drive it without a socket.
public func buildRouter(_ services: AppServices) -> YibaoRouter {
    let router = Router(context: AppRequestContext.self)
    let admission = Admission(limit: services.maxInFlight, metrics: services.metrics)
    router.add(middleware: AdmissionMiddleware(admission: admission, bodyWait: services.requestBodyWait))
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: WebAppMiddleware.load())
    let registry = RouteRegistry(
        router: router, authenticator: Authenticator(platform: services.platform, allowBearerInstitutionKeys: services.allowBearerInstitutionKeys)
    )
    let limiter = RateLimiter(clock: services.platform.clock)
    HealthController(platform: services.platform, metrics: services.metrics).addRoutes(to: registry)
    AdminController(platform: services.platform, adjustmentApprovalThreshold: services.adjustmentApprovalThreshold).addRoutes(to: registry)
    let businessMetrics = BusinessMetrics(registry: services.metrics)
    VisitController(platform: services.platform, limiter: limiter, metrics: businessMetrics).addRoutes(to: registry)
    NationalGateway(platform: services.platform, authenticator: registry.authenticator, metrics: businessMetrics).addRoutes(to: registry)
    ClearingController(platform: services.platform).addRoutes(to: registry)
    PaymentOrderController(platform: services.platform, metrics: businessMetrics).addRoutes(to: registry)
    StaffController(platform: services.platform, auth: PatientAuth(passwordCost: services.passwordCost), limiter: limiter).addRoutes(to: registry)
    PatientController(
        platform: services.platform, messages: services.messages, auth: PatientAuth(passwordCost: services.passwordCost), limiter: limiter,
        trustedProxies: services.trustedProxies
    ).addRoutes(to: registry)
    if services.demo { DemoData.addSignInRoute(to: registry) }
    if services.sandbox { SandboxController(platform: services.platform, messages: services.messages).addRoutes(to: registry) }
    WalletController(platform: services.platform, limiter: limiter, trustedProxies: services.trustedProxies).addRoutes(to: registry)
    FamilyController(platform: services.platform, verifier: services.verifier, auth: PatientAuthCheck(platform: services.platform)).addRoutes(
        to: registry)
    CreditController(platform: services.platform, auth: PatientAuthCheck(platform: services.platform)).addRoutes(to: registry)
    WebhookController(platform: services.platform, allowPrivate: services.allowPrivateWebhooks).addRoutes(to: registry)
    return YibaoRouter(router: router, routes: registry.table, admission: admission, idleTimeout: services.connectionIdleTimeout)
}

/// Opens the platform for a configuration: backend, keys, migrations.
public func openPlatform(_ configuration: AppConfiguration, logger: Logger) async throws -> Platform {
    let backend = try Store.openBackend(configuration.location, logger: logger)
    let keysFile = configuration.resolvedKeysFile
    let keys: PersonalDataCipher.Keys
    if let inline = ProcessInfo.processInfo.environment["YIBAO_KEYS"], !inline.isEmpty {
        keys = try JSONDecoder().decode(PersonalDataCipher.Keys.self, from: Data(inline.utf8))
    } else {
        keys = try PersonalDataCipher.loadKeys(file: keysFile, create: configuration.databaseURL == nil)
    }
    let cipher = try PersonalDataCipher(keys: keys) { try? PersonalDataCipher.loadKeys(file: keysFile, create: false) }
    // The sandbox parties come with the sandbox's test clock, which demos and tests move forward.
    let clock: any WallClock = configuration.usesSandbox ? SandboxClock(system: SystemClock()) : SystemClock()
    let platform = Platform(
        backend: backend, clock: clock, ids: RandomIDGenerator(clock: clock), cipher: cipher,
        channel: configuration.usesSandbox ? SandboxBank(backend: backend, clock: clock) : UnconfiguredParty())
    let applied = try await platform.migrate()
    if !applied.isEmpty { logger.notice("schema migrated", metadata: ["versions": "\(applied)"]) }
    return platform
}

/// Builds the whole application for `yibao serve`.
public func buildApplication(_ configuration: AppConfiguration, metrics: PrometheusCollectorRegistry) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "yibao")
    logger.logLevel = configuration.logLevel
    let platform = try await openPlatform(configuration, logger: logger)
    if configuration.demo, let summary = try await DemoData.loadIfEmpty(into: platform, logger: logger) {
        logger.notice("demo credentials are public: never run --demo in production", metadata: ["loaded": "\(summary)"])
    }
    if configuration.usesSandbox {
        logger.notice("sandbox bank, SMS gateway and face verifier are wired in (--demo / --sandbox): for demos and tests only")
    }
    let built = buildRouter(
        AppServices(
            platform: platform, metrics: metrics, allowBearerInstitutionKeys: configuration.allowBearerInstitutionKeys || configuration.demo,
            sandbox: configuration.usesSandbox, trustedProxies: configuration.trustedProxies,
            allowPrivateWebhooks: configuration.allowPrivateWebhooks, adjustmentApprovalThreshold: configuration.adjustmentApprovalThreshold,
            maxInFlight: configuration.maxInFlight, demo: configuration.demo)
    )
    let portFile = configuration.portFile
    var app = Application(
        router: built.router,
        server: built.server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "yibao"),
        onServerRunning: { channel in
            guard let portFile, let port = channel.localAddress?.port else { return }
            try? "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
        },
        logger: logger
    )
    app.addServices(
        PlatformLifecycle(platform: platform),
        BackgroundWork(platform: platform, logger: logger, webhooks: HTTPWebhookTransport(allowPrivate: configuration.allowPrivateWebhooks)))
    return app
}

/// Work that runs beside the server: channel captures and refunds not yet confirmed, payments
/// whose bank answer was lost, medication reminders whose time has come, webhook deliveries. Every second; idempotent, so several instances may run it at once.
struct BackgroundWork: Service {
    let platform: Platform
    let logger: Logger
    let webhooks: HTTPWebhookTransport

    func run() async throws {
        var tick: Int64 = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await platform.processChannelOperations()
            await platform.expandDueProjections()
            await platform.resolvePendingPayments()
            await platform.resolvePendingPremiums()
            await platform.resolvePendingRepayments()
            await platform.fireDueReminders()
            await platform.deliverWebhooks(transport: webhooks)
            if tick % 60 == 0 {
                _ = try? await platform.purgeNonces()
                platform.cipher.refresh()
                // The daily credit job (bills, penalty interest, suspension): idempotent, so checking each
                // minute costs one indexed query once today's run is done.
                do {
                    let report = try await platform.runCreditDay()
                    if report.lines > 0 {
                        logger.info(
                            "credit day",
                            metadata: [
                                "date": "\(report.date)", "lines": "\(report.lines)", "bills": "\(report.bills)", "suspended": "\(report.suspended)",
                            ])
                    }
                } catch {
                    logger.error("credit day failed", metadata: ["error": "\(error)"])
                }
                // Closing yesterday (channel reconciliation, exception scan, fund report) when it is due
                // (`closeYesterdayIfDue`); otherwise the exception scan alone.
                do {
                    if let close = try await platform.closeYesterdayIfDue() {
                        logger.notice(
                            "day closed",
                            metadata: [
                                "day": "\(close.day)", "channel_breaks": "\(close.channel?.breaks.count ?? 0)",
                                "exceptions_opened": "\(close.exceptionsOpened)",
                                "ledger_verified": "\(close.fundReport.anchor.ledgerVerified ?? false)",
                                "ledger_scope": "\(close.ledger?.day == nil ? "whole ledger" : "the day's entries")",
                                "ledger_entries": "\(close.ledger?.entries ?? 0)",
                                "audit_heads": "\(close.fundReport.anchor.auditHeads.joined(separator: " "))",
                            ])
                    } else {
                        _ = try await platform.scanExceptions()
                    }
                } catch {
                    logger.error("daily close failed", metadata: ["error": "\(error)"])
                }
            }
            tick += 1
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// Closes the platform when the application shuts down.
struct PlatformLifecycle: Service {
    let platform: Platform

    func run() async throws {
        try? await gracefulShutdown()
        await platform.close()
    }
}

/// The system clock.
public struct SystemClock: WallClock {
    /// Creates the system clock.
    public init() {}

    public func now() -> Instant {
        Instant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
