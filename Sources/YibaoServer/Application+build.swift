import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import YibaoCore
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
    /// The personal-data key file (default: `<data>/keys.json`, created on first start for SQLite).
    public var keysFile: String?
    /// Load the demo data on the first start of an empty database.
    public var demo = false
    /// Log level.
    public var logLevel: Logger.Level = .info
    /// Accept institution keys as bearer tokens besides signed requests (the demo does).
    public var allowBearerInstitutionKeys = false

    /// Creates a configuration with the defaults.
    public init() {}

    /// Where the database is.
    public var location: Store.Location {
        if let url = databaseURL { return .postgres(url: url, connections: postgresConnections) }
        return .sqlite(path: (dataDirectory as NSString).appendingPathComponent("yibao.sqlite"), durability: durability)
    }

    /// The key file path.
    public var resolvedKeysFile: String { keysFile ?? (dataDirectory as NSString).appendingPathComponent("keys.json") }
}

/// Everything a router needs: the store, the SMS gateway, metrics and the password cost.
public struct AppServices: Sendable {
    /// The store.
    public let store: Store
    /// Prometheus metrics.
    public let metrics: PrometheusCollectorRegistry
    /// The SMS gateway (the sandbox unless configured).
    public let messages: any MessageGateway
    /// bcrypt cost of patients' passwords.
    public let passwordCost: UInt8
    /// Whether institutions may authenticate with the key as a bearer token instead of signing.
    public let allowBearerInstitutionKeys: Bool
    /// The face-verification provider (the sandbox unless configured).
    public let verifier: any IdentityVerifier

    /// Creates the services.
    public init(
        store: Store, metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), messages: (any MessageGateway)? = nil,
        passwordCost: UInt8 = 12, allowBearerInstitutionKeys: Bool = false, verifier: any IdentityVerifier = SandboxIdentityVerifier()
    ) {
        self.verifier = verifier
        self.store = store
        self.metrics = metrics
        self.messages = messages ?? SandboxMessages(clock: store.clock)
        self.passwordCost = passwordCost
        self.allowBearerInstitutionKeys = allowBearerInstitutionKeys
    }
}

/// The router and the table of its routes.
public struct YibaoRouter {
    /// The router.
    public let router: Router<AppRequestContext>
    /// Every route with its access rule.
    public let routes: [RouteDescription]
}

/// Builds the router: middleware, then one controller per area. Tests drive it without a socket.
public func buildRouter(_ services: AppServices) -> YibaoRouter {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: MetricsMiddleware())
    let registry = RouteRegistry(
        router: router, authenticator: Authenticator(store: services.store, allowBearerInstitutionKeys: services.allowBearerInstitutionKeys)
    )
    let limiter = RateLimiter(clock: services.store.clock)
    HealthController(store: services.store, metrics: services.metrics).addRoutes(to: registry)
    AdminController(store: services.store).addRoutes(to: registry)
    VisitController(store: services.store, limiter: limiter).addRoutes(to: registry)
    PatientController(store: services.store, messages: services.messages, auth: PatientAuth(passwordCost: services.passwordCost), limiter: limiter)
        .addRoutes(to: registry)
    SandboxController(store: services.store, messages: services.messages).addRoutes(to: registry)
    WalletController(store: services.store, limiter: limiter).addRoutes(to: registry)
    FamilyController(store: services.store, verifier: services.verifier, auth: PatientAuthCheck(store: services.store)).addRoutes(to: registry)
    CreditController(store: services.store, auth: PatientAuthCheck(store: services.store)).addRoutes(to: registry)
    WebhookController(store: services.store).addRoutes(to: registry)
    return YibaoRouter(router: router, routes: registry.table)
}

/// Opens the store for a configuration: backend, keys, migrations.
public func openStore(_ configuration: AppConfiguration, logger: Logger) async throws -> Store {
    let backend = try Store.openBackend(configuration.location, logger: logger)
    let keysFile = configuration.resolvedKeysFile
    let keys: PersonalDataCipher.Keys
    if let inline = ProcessInfo.processInfo.environment["YIBAO_KEYS"], !inline.isEmpty {
        keys = try JSONDecoder().decode(PersonalDataCipher.Keys.self, from: Data(inline.utf8))
    } else {
        keys = try PersonalDataCipher.loadKeys(file: keysFile, create: configuration.databaseURL == nil)
    }
    let cipher = try PersonalDataCipher(keys: keys) { try? PersonalDataCipher.loadKeys(file: keysFile, create: false) }
    let clock = SystemClock()
    let store = Store(backend: backend, clock: clock, ids: RandomIDGenerator(clock: clock), cipher: cipher)
    let applied = try await store.migrate()
    if !applied.isEmpty { logger.notice("schema migrated", metadata: ["versions": "\(applied)"]) }
    return store
}

/// Builds the whole application for `yibao serve`.
public func buildApplication(_ configuration: AppConfiguration, metrics: PrometheusCollectorRegistry) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "yibao")
    logger.logLevel = configuration.logLevel
    let store = try await openStore(configuration, logger: logger)
    if configuration.demo, let summary = try await DemoData.loadIfEmpty(into: store, logger: logger) {
        logger.notice("demo credentials are public: never run --demo in production", metadata: ["loaded": "\(summary)"])
    }
    let built = buildRouter(
        AppServices(store: store, metrics: metrics, allowBearerInstitutionKeys: configuration.allowBearerInstitutionKeys || configuration.demo)
    )
    var app = Application(
        router: built.router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "yibao"),
        logger: logger
    )
    app.addServices(StoreLifecycle(store: store), BackgroundWork(store: store, logger: logger))
    return app
}

/// Work that runs beside the server: channel captures and refunds not yet confirmed, and payments
/// whose bank answer was lost. Every second; idempotent, so several instances may run it at once.
struct BackgroundWork: Service {
    let store: Store
    let logger: Logger

    func run() async throws {
        var tick: Int64 = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await store.processChannelOperations()
            await store.resolvePendingPayments()
            await store.resolvePendingPremiums()
            await store.resolvePendingRepayments()
            await store.deliverWebhooks(transport: HTTPWebhookTransport())
            if tick % 60 == 0 {
                _ = try? await store.purgeNonces()
                store.cipher.refresh()
                // The daily credit job (bills, penalty interest, suspension): idempotent, so checking each
                // minute costs one indexed query once today's run is done.
                do {
                    let report = try await store.runCreditDay()
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
            }
            tick += 1
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// Closes the store when the application shuts down.
struct StoreLifecycle: Service {
    let store: Store

    func run() async throws {
        try? await gracefulShutdown()
        await store.backend.close()
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
