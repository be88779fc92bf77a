import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import YibaoApp
import YibaoCore
import YibaoSandbox
import YibaoServer
import YibaoStore
import YibaoTestSupport

/// An application over a fresh SQLite platform loaded with the demo data, driven through its router
/// without a socket. Time is fixed at `t0` and moved by hand.
struct ServerHarness {
    /// 2026-03-02 10:00 in Beijing.
    static let t0 = Instant(iso8601: "2026-03-02T10:00:00+08:00")!
    /// A level-3 hospital in Guangzhou.
    static let hospital = "H44010000004"
    static let hospitalToken = DemoData.institutionToken(hospital)
    static let otherHospitalToken = DemoData.institutionToken("H44010000005")
    static let adminToken = DemoData.operatorToken

    let platform: Platform
    /// The platform's database (tests that hold its writer).
    let backend: any StoreBackend
    let clock: ManualClock
    let routes: [RouteDescription]
    let messages: SandboxMessages

    /// The harness clock of the running test: institution requests are signed with its time.
    @TaskLocal static var signingClock: ManualClock?

    /// An app whose institutions must sign their requests, as in production (`allowBearer` lets the
    /// few tests about bearer keys send them); `send` signs every institution request itself.
    static func withApp(
        allowBearer: Bool = false, sandbox: Bool = true, trustedProxies: [String] = [], allowPrivateWebhooks: Bool = true,
        adjustmentApprovalThreshold: Money = .yuan(10_000), maxInFlight: Int = 256, start: Instant = t0, logger appLogger: Logger? = nil,
        postgres: Bool = false, live: Bool = false, idleTimeout: Duration = AppServices.connectionIdleTimeoutDefault,
        bodyWait: Duration = AppServices.requestBodyWaitDefault, writeWait: Duration? = nil,
        postgresURL reached: (@Sendable (String) throws -> String)? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol, ServerHarness) async throws -> Void
    ) async throws {
        let clock = ManualClock(start)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("yibao_http_\(UInt32.random(in: 0...UInt32.max))").path
        let backend: any StoreBackend
        var dropDatabase: (@Sendable () async -> Void)?
        if postgres {
            let url = try #require(
                ProcessInfo.processInfo.environment["YIBAO_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 },
                "this test runs on PostgreSQL too: set YIBAO_TEST_POSTGRES_URL (scripts/test does)")
            let name = "yibao_http_\(UInt32.random(in: 0...UInt32.max))"
            try await PostgresBackend.administer(url: url, statements: ["CREATE DATABASE \(name)"])
            // `reached`: the URL the store is given for the test's database (another route to it, parameters).
            let database = PostgresBackend.url(url, database: name)
            backend = try Store.openBackend(.postgres(url: try reached.map { try $0(database) } ?? database, connections: 4))
            dropDatabase = { try? await PostgresBackend.administer(url: url, statements: ["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"]) }
        } else {
            backend = try Store.openBackend(.sqlite(path: directory + "/yibao.sqlite", durability: .process, writeWait: writeWait))
        }
        // As `serve --sandbox`: the sandbox parties come with the sandbox's test clock, here over the
        // harness's manual clock (the tests set that one; the API moves the sandbox's ahead of it).
        let platformClock: any WallClock = sandbox ? SandboxClock(system: clock) : clock
        let platform = Platform(
            backend: backend, clock: platformClock,
            ids: SeededIDGenerator(seed: TestRecord.runSeed &+ UInt64(UInt32.random(in: 0...UInt32.max)), clock: platformClock),
            cipher: try PersonalDataCipher(keys: .generate()),
            channel: sandbox ? SandboxBank(backend: backend, clock: platformClock) : UnconfiguredParty()
        )
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await platform.migrate()
        TestRecord.note("server", postgres ? "postgres" : "sqlite")
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        // Setting up waits as long as it takes, whatever `writeWait` the test gives its requests.
        _ = try await DatabaseWait.unbounded { try await DemoData.loadIfEmpty(into: platform, logger: logger) }
        let messages = SandboxMessages(clock: platformClock)
        let built = buildRouter(
            AppServices(
                platform: platform, messages: sandbox ? messages : nil, passwordCost: 4, allowBearerInstitutionKeys: allowBearer, sandbox: sandbox,
                trustedProxies: trustedProxies, allowPrivateWebhooks: allowPrivateWebhooks, adjustmentApprovalThreshold: adjustmentApprovalThreshold,
                maxInFlight: maxInFlight, connectionIdleTimeout: idleTimeout, requestBodyWait: bodyWait))
        let routes = built.routes
        // `live`: a real socket and the server's own pipeline (its admission door); otherwise the router alone.
        let app = Application(router: built.router, server: built.server, logger: appLogger)
        do {
            try await ServerHarness.$signingClock.withValue(clock) {
                try await app.test(live ? .live : .router) { client in
                    try await body(client, ServerHarness(platform: platform, backend: backend, clock: clock, routes: routes, messages: messages))
                }
            }
        } catch {
            await platform.close()
            await dropDatabase?()
            throw error
        }
        await platform.close()
        await dropDatabase?()
    }

    /// The databases a test that must pass on both runs on: SQLite, and PostgreSQL when its URL is set or
    /// the run requires it (CI).
    static var databases: [Bool] {
        let url = ProcessInfo.processInfo.environment["YIBAO_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
        return url != nil || TestRecord.postgresRequired ? [false, true] : [false]
    }
}

extension TestClientProtocol {
    /// Sends a request signed with an institution key (`YIBAO-HMAC-SHA256`).
    func sendSigned(
        _ method: HTTPRequest.Method, _ path: String, keyID: String, secret: String, json: String = "", timestamp: Int64, nonce: String,
        extra: HTTPFields = [:], bodyOverride: String? = nil
    ) async throws -> TestResponse {
        var headers = extra
        headers[.authorization] = RequestSignature.authorization(
            keyID: keyID, secret: secret, method: method.rawValue, pathAndQuery: path, timestamp: timestamp, nonce: nonce, body: Data(json.utf8)
        )
        headers[.contentType] = "application/json"
        let body = bodyOverride ?? json
        return try await execute(uri: path, method: method, headers: headers, body: body.isEmpty ? nil : ByteBuffer(string: body)) { $0 }
    }

    /// Sends a request with a token and a JSON (or raw) body; returns status, headers and body. An
    /// institution's key (`keyID.secret`) signs the request (YIBAO-HMAC-SHA256, the harness clock's time,
    /// a new nonce) as a hospital's system does; `bearer` sends it as a bearer token instead. Operator and
    /// patient tokens are bearer tokens.
    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil, headers extra: HTTPFields = [:],
        bearer: Bool = false
    ) async throws -> TestResponse {
        var headers = extra
        if let token, !bearer, !token.hasPrefix("op_"), !token.hasPrefix("ps_"), !token.hasPrefix("sf_"), let dot = token.firstIndex(of: ".") {
            let timestamp = (ServerHarness.signingClock?.now() ?? Instant(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)))
                .secondsSinceEpoch
            headers[.authorization] = RequestSignature.authorization(
                keyID: String(token[..<dot]), secret: String(token[token.index(after: dot)...]), method: method.rawValue, pathAndQuery: path,
                timestamp: timestamp, nonce: "n-" + UUID().uuidString, body: Data((json ?? "").utf8))
        } else if let token {
            headers[.authorization] = "Bearer \(token)"
        }
        if json != nil && headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { $0 }
    }
}

extension TestResponse {
    /// The body as text.
    var text: String { String(buffer: body) }

    /// The body decoded with Yibao's JSON settings.
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try YibaoJSON.decode(type, from: Data(body.readableBytesView)) }

    /// The body as a JSON object.
    var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:] }

    /// The problem document of an error response.
    var problem: ProblemDocument? { try? decode(ProblemDocument.self) }
}

/// Builds JSON request bodies.
enum Body {
    static func visit(person: String = "P440100000001", number: String, lines: String) -> String {
        #"{"person_number":"\#(person)","category":"11","hospital_visit_number":"\#(number)","lines":[\#(lines)]}"#
    }

    static func line(_ number: String = "1", code: String = "XD00000000001", price: Int = 1280, quantity: String = "2") -> String {
        #"{"line_number":"\#(number)","item_code":"\#(code)","unit_price":\#(price),"quantity":\#(quantity)}"#
    }
}
